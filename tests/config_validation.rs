//! Every configuration rule, with the exact message an operator reads in
//! Envoy's log.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::{errors, errors_raw, traffic_example as service};
use serde_json::json;

#[test]
fn the_seed_configuration_is_valid() {
    let config = service(json!([
        {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 80},
        {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 20},
        {"tag": "latest", "latestRevision": true, "percent": 0}
    ]));
    assert_eq!(errors(&config), Vec::<String>::new());
}

#[test]
fn percents_must_sum_to_100() {
    let config = service(json!([
        {"revisionName": "traffic-example-v1", "percent": 80},
        {"revisionName": "traffic-example-v2", "percent": 10}
    ]));
    assert_eq!(
        errors(&config),
        ["services[0] (traffic-example): traffic percents sum to 90, want 100"]
    );
}

#[test]
fn a_missing_percent_is_zero() {
    let config = service(json!([
        {"revisionName": "traffic-example-v1", "percent": 100},
        {"tag": "next", "revisionName": "traffic-example-v2"}
    ]));
    assert_eq!(errors(&config), Vec::<String>::new());
}

#[test]
fn percent_must_be_an_integer_from_0_to_100() {
    for (bad, shown) in [
        (json!(120), "must be an integer from 0 to 100, got 120"),
        (json!(-5), "must be an integer from 0 to 100, got -5"),
        (json!(12.5), "must be an integer from 0 to 100, got 12.5"),
        (
            json!("80"),
            "invalid type: string \"80\", expected an integer percent from 0 to 100",
        ),
    ] {
        let config = service(json!([
            {"revisionName": "traffic-example-v1", "percent": 100},
            {"revisionName": "traffic-example-v2", "percent": bad}
        ]));
        assert_eq!(
            errors(&config),
            [format!(
                "services[0] (traffic-example): traffic[1].percent: {shown}"
            )]
        );
    }
}

#[test]
fn tags_must_be_dns1035_labels() {
    for tag in ["V1", "1v", "v_1", "v1-"] {
        let config = service(json!([
            {"tag": tag, "revisionName": "traffic-example-v1", "percent": 100}
        ]));
        assert_eq!(
            errors(&config),
            [format!(
                "services[0] (traffic-example): traffic[0]: tag {tag:?} is not a DNS-1035 label \
                 (lower-case letters, digits and '-', starting with a letter, at most 63 characters)"
            )]
        );
    }
    // Knative skips an empty tag: the target is untagged, and no tag host exists.
    let config = service(json!([
        {"tag": "", "revisionName": "traffic-example-v1", "percent": 100}
    ]));
    assert_eq!(errors(&config), Vec::<String>::new());
    let table = fixtures::table(&config);
    assert_eq!(table.services()[0].tags().count(), 0);
}

#[test]
fn tags_must_be_unique() {
    let config = service(json!([
        {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 50},
        {"tag": "v1", "revisionName": "traffic-example-v2", "percent": 50}
    ]));
    assert_eq!(
        errors(&config),
        ["services[0] (traffic-example): traffic[1]: tag \"v1\" is already used by traffic[0]"]
    );
}

#[test]
fn a_tag_host_label_fits_a_dns_label() {
    let tag = format!("t{}", "a".repeat(47)); // 48 + 1 + 15 = 64
    let config = service(json!([
        {"tag": tag, "revisionName": "traffic-example-v1", "percent": 100}
    ]));
    assert_eq!(
        errors(&config),
        [format!(
            "services[0] (traffic-example): traffic[0]: tag {tag:?} makes the host label \
             \"{tag}-traffic-example\" longer than a DNS label's 63 characters"
        )]
    );
}

#[test]
fn latest_revision_and_revision_name_exclude_each_other() {
    // route_validation.go validateLatestRevision: in a spec, one or the other.
    let mut config = service(json!([
        {"revisionName": "traffic-example-v1", "latestRevision": true, "percent": 100}
    ]));
    config["services"][0]
        .as_object_mut()
        .unwrap()
        .remove("latestReadyRevisionName");
    assert_eq!(
        errors(&config),
        [
            "services[0] (traffic-example): traffic[0]: latestRevision: true and revisionName \
          \"traffic-example-v1\" exclude each other; set one"
        ]
    );
    // With a latest ready revision that is another one, the message says
    // how Knative's status writes the two.
    let config = service(json!([
        {"revisionName": "traffic-example-v1", "latestRevision": true, "percent": 100}
    ]));
    assert_eq!(
        errors(&config),
        [
            "services[0] (traffic-example): traffic[0]: latestRevision: true and revisionName \
          \"traffic-example-v1\", but the latest ready revision is \"traffic-example-v3\": where \
          Knative's status writes both they name the same revision; in a spec, set one (a status \
          taken during a rollout shows the split in force: write it as a rollout from the earlier \
          revision)"
        ]
    );
    let config = service(json!([{"latestRevision": false, "percent": 100}]));
    assert_eq!(
        errors(&config),
        ["services[0] (traffic-example): traffic[0]: latestRevision: false needs a revisionName"]
    );
}

#[test]
fn latest_revision_needs_a_latest_ready_revision() {
    let config = json!({"services": [{
        "name": "web", "namespace": "default",
        "traffic": [{"latestRevision": true, "percent": 100}]
    }]});
    assert_eq!(
        errors(&config),
        ["services[0] (web): traffic[0]: follows the latest revision, but latestReadyRevisionName is not set"]
    );
    // An empty traffic block means 100% to the latest revision, which needs it too.
    let config = json!({"services": [{"name": "web", "namespace": "default"}]});
    assert_eq!(
        errors(&config),
        ["services[0] (web): traffic: none given, which sends 100% to the latest revision, but latestReadyRevisionName is not set"]
    );
    let config = json!({"services": [{
        "name": "web", "namespace": "default", "latestReadyRevisionName": "web-00001"
    }]});
    assert_eq!(errors(&config), Vec::<String>::new());
}

#[test]
fn names_namespaces_and_domains_are_dns_names() {
    let config = json!({"services": [{
        "name": "Web", "namespace": "-ns", "domain": "Example.com",
        "traffic": [{"revisionName": "web-1", "percent": 100}]
    }]});
    assert_eq!(
        errors(&config),
        [
            "services[0] (Web): name: \"Web\" is not a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
            "services[0] (Web): namespace: \"-ns\" is not a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)",
            "services[0] (Web): domain: \"Example.com\" is not a lower-case DNS name",
        ]
    );
}

#[test]
fn two_services_cannot_claim_one_host() {
    // Service "b-c" and tag "b" of service "c" both want b-c.ns.example.com.
    let config = json!({"services": [
        {"name": "b-c", "namespace": "ns", "domain": "example.com",
         "traffic": [{"revisionName": "bc-1", "percent": 100}]},
        {"name": "c", "namespace": "ns", "domain": "example.com",
         "traffic": [{"tag": "b", "revisionName": "c-1", "percent": 100}]}
    ]});
    assert_eq!(
        errors(&config),
        ["services[1] (c): traffic[0].tag \"b\": host \"b-c.ns.svc.cluster.local\" is already claimed by services[0] (b-c)"]
    );
    // The same service twice.
    let twice = json!({"name": "web", "namespace": "ns",
                       "traffic": [{"revisionName": "web-1", "percent": 100}]});
    let config = json!({"services": [twice, twice]});
    assert_eq!(
        errors(&config),
        ["services[1] (web): name \"web\": host \"web.ns.svc.cluster.local\" is already claimed by services[0] (web)"]
    );
}

#[test]
fn cluster_overrides_must_name_a_revision_in_traffic() {
    let config = json!({"services": [{
        "name": "web", "namespace": "ns",
        "traffic": [{"revisionName": "web-1", "percent": 100}],
        "clusters": {"web-2": "outbound|80||web-2.ns.svc.cluster.local"}
    }]});
    assert_eq!(
        errors(&config),
        ["services[0] (web): clusters: revision \"web-2\" is not in this service's traffic"]
    );
    let config = json!({"services": [{
        "name": "web", "namespace": "ns",
        "traffic": [{"revisionName": "web-1", "percent": 100}],
        "clusters": {"web-1": "has space"}
    }]});
    assert_eq!(
        errors(&config),
        ["services[0] (web): clusters: cluster \"has space\" of revision \"web-1\" is not a cluster name (printable ASCII, no spaces)"]
    );
}

#[test]
fn document_settings_are_checked() {
    let config = json!({
        "clusterHeader": "bad header",
        "clusterTemplate": "{revison}",
        "domain": "x..y",
        "clusterDomain": "",
        "services": []
    });
    assert_eq!(
        errors(&config),
        [
            "clusterHeader: \"bad header\" is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)",
            "clusterTemplate: \"{revison}\" has an unknown placeholder; use {revision}, {service}, {namespace}",
            "domain: \"x..y\" is not a lower-case DNS name",
            "clusterDomain: \"\" is not a lower-case DNS name",
        ]
    );
    let config = json!({"clusterHeader": "Knative-Serving-Revision", "services": []});
    assert_eq!(
        errors(&config),
        ["clusterHeader: \"knative-serving-revision\" is a header the filter writes for another purpose"]
    );
}

#[test]
fn unknown_fields_are_refused_where_they_are() {
    let config = service(json!([{"revisionName": "traffic-example-v1", "percnt": 100}]));
    assert_eq!(
        errors(&config),
        ["services[0] (traffic-example): traffic[0]: unknown field `percnt`, did you mean `percent`?"]
    );
    let config = json!({"services": [{"name": "web", "namespace": "ns", "trafic": []}]});
    assert_eq!(
        errors(&config),
        ["services[0] (web): unknown field `trafic`, did you mean `traffic`?"]
    );
    let config = json!({"service": []});
    let e = errors(&config);
    assert!(
        e[0].starts_with("configuration: unknown field `service`, did you mean `services`?"),
        "{e:?}"
    );
}

#[test]
fn an_unknown_field_far_from_every_name_lists_them() {
    let config = service(json!([{"revisionName": "traffic-example-v1", "weight": 100}]));
    assert_eq!(
        errors(&config),
        [
            "services[0] (traffic-example): traffic[0]: unknown field `weight`, expected one of \
          `tag`, `revisionName`, `latestRevision`, `percent`, `url`, `visibility`"
        ]
    );
}

#[test]
fn a_suggestion_ignores_case_and_word_separators() {
    let config = service(json!([{"revision_name": "traffic-example-v1", "percent": 100}]));
    assert_eq!(
        errors(&config),
        [
            "services[0] (traffic-example): traffic[0]: unknown field `revision_name`, \
          did you mean `revisionName`?"
        ]
    );
    let config = json!({"services": [{"name": "web", "namespace": "ns", "visibility": "clusterlocal",
        "traffic": [{"revisionName": "web-1", "percent": 100}]}]});
    assert_eq!(
        errors(&config),
        ["services[0] (web): visibility: unknown variant `clusterlocal`, did you mean `cluster-local`?"]
    );
}

/// A service that fails to parse must not hide the rules the others break.
#[test]
fn a_shape_error_in_one_service_does_not_hide_the_others_errors() {
    let config = json!({"services": [
        {"name": "web", "namespace": "ns",
         "traffic": [{"revisionName": "web-1", "percent": 100}]},
        {"name": "api", "namespace": "ns", "trafic": []},
        {"name": "Shop", "namespace": "ns",
         "traffic": [{"revisionName": "shop-1", "percent": 100}]},
        {"name": "web", "namespace": "ns",
         "traffic": [{"revisionName": "web-2", "percent": 100}]},
        {"name": "cart", "namespace": "ns",
         "traffic": [{"revisionName": "cart-1", "percent": 90}]}
    ]});
    assert_eq!(
        errors(&config),
        [
            "services[1] (api): unknown field `trafic`, did you mean `traffic`?",
            "services[2] (Shop): name: \"Shop\" is not a DNS-1035 label \
             (lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
            "services[3] (web): name \"web\": host \"web.ns.svc.cluster.local\" is already \
             claimed by services[0] (web)",
            "services[4] (cart): traffic percents sum to 90, want 100",
        ]
    );
}

/// The document's own settings are checked too when a service fails to
/// parse; a document whose own fields fail to parse has only its shape
/// errors reported (its services cannot be judged without its settings).
#[test]
fn a_shape_error_keeps_the_documents_own_errors() {
    let config = json!({"clusterHeader": "host", "services": [
        {"name": "api", "namespace": "ns", "trafic": []}
    ]});
    let e = errors(&config);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].starts_with("clusterHeader: "), "{e:?}");
    assert_eq!(
        e[1],
        "services[0] (api): unknown field `trafic`, did you mean `traffic`?"
    );
}

#[test]
fn a_value_of_the_wrong_type_is_reported_at_its_field() {
    let config = service(json!([{"tag": 5, "revisionName": "traffic-example-v1", "percent": 100}]));
    assert_eq!(
        errors(&config),
        ["services[0] (traffic-example): traffic[0].tag: invalid type: integer `5`, expected a string"]
    );
    let config = json!({"services": [
        {"name": "web", "namespace": "ns", "domain": 5,
         "traffic": [{"revisionName": "web-1", "percent": 100}]},
        {"name": "api", "namespace": "ns", "sticky": {"cookie": ["a"]},
         "traffic": [{"revisionName": "api-1", "percent": 100}]},
        {"name": "db", "namespace": "ns", "clusters": {"db-1": 7},
         "traffic": {"revisionName": "db-1", "percent": 100}}
    ]});
    assert_eq!(
        errors(&config),
        [
            "services[0] (web): domain: invalid type: integer `5`, expected a string",
            "services[1] (api): sticky.cookie: invalid type: sequence, expected a string",
            "services[2] (db): clusters.db-1: invalid type: integer `7`, expected a string",
        ]
    );
    let config = json!({"clusterHeader": 5, "services": []});
    assert_eq!(
        errors(&config),
        ["clusterHeader: invalid type: integer `5`, expected a string"]
    );
    // A bad top-level field is reported beside the bad services.
    let config = json!({"services": [{"name": 5}], "metrics": "yes"});
    assert_eq!(
        errors(&config),
        [
            "metrics: invalid type: string \"yes\", expected a boolean",
            "services[0]: name: invalid type: integer `5`, expected a string",
        ]
    );
    assert_eq!(
        errors(&json!({"services": {}})),
        ["services: invalid type: map, expected a sequence"]
    );
    assert_eq!(
        errors(&json!({"services": [5]})),
        ["services[0]: invalid type: integer `5`, expected an object"]
    );
}

#[test]
fn malformed_documents_have_a_defined_error() {
    assert_eq!(
        errors_raw(""),
        ["configuration is empty: expected a JSON object with a \"services\" list"]
    );
    assert_eq!(
        errors_raw("  \n"),
        ["configuration is empty: expected a JSON object with a \"services\" list"]
    );
    assert_eq!(
        errors_raw("{\"services\": [}"),
        ["configuration is not valid JSON: expected value at line 1 column 15"]
    );
    assert_eq!(
        errors_raw("[1, 2]"),
        ["configuration must be a JSON object with a \"services\" list, got an array"]
    );
    assert_eq!(
        errors_raw("{}"),
        ["configuration: missing field `services` at line 1 column 2"]
    );
}

#[test]
fn every_error_of_a_document_is_reported() {
    let config = json!({"services": [
        {"name": "a", "namespace": "ns", "traffic": [{"revisionName": "a-1", "percent": 90}]},
        {"name": "b", "namespace": "ns", "traffic": [{"tag": "X", "revisionName": "b-1", "percent": 100}]}
    ]});
    assert_eq!(
        errors(&config),
        [
            "services[0] (a): traffic percents sum to 90, want 100",
            "services[1] (b): traffic[0]: tag \"X\" is not a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
        ]
    );
}

#[test]
fn a_status_traffic_block_can_be_pasted() {
    // `kubectl get ksvc -o yaml` reports each target's url; it is ignored.
    let config = service(json!([
        {"latestRevision": false, "percent": 80, "revisionName": "traffic-example-v1",
         "tag": "v1", "url": "http://v1-traffic-example.default.example.com"},
        {"latestRevision": true, "percent": 20, "tag": "latest",
         "url": "http://latest-traffic-example.default.example.com"}
    ]));
    assert_eq!(errors(&config), Vec::<String>::new());
    // Knative's status names the revision a latest-following target
    // resolved to (route_validation_test.go, "valid with revisionName and
    // latestRevision (status)"): it follows the latest revision.
    let config = service(json!([
        {"latestRevision": false, "percent": 80, "revisionName": "traffic-example-v1"},
        {"latestRevision": true, "percent": 20, "revisionName": "traffic-example-v3",
         "tag": "latest", "url": "http://latest-traffic-example.default.example.com"}
    ]));
    assert_eq!(errors(&config), Vec::<String>::new());
    let table = fixtures::table(&config);
    let latest = table.services()[0]
        .tags()
        .find(|(tag, _)| *tag == "latest")
        .map(|(_, d)| d.revision.to_string());
    assert_eq!(latest.as_deref(), Some("traffic-example-v3"));
}
