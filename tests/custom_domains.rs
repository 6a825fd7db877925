//! Custom domains: a service served at hosts its owners choose, exactly as at
//! its own host; exact names win over wildcards; collisions name both
//! services.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::{errors, request as req, table, with_fields};
use knative_traffic::request::PlainRequest;
use knative_traffic::{Decision, Reason, RouteTable};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;
use serde_json::{json, Value};

fn helloworld(extra: Value) -> Value {
    let service = with_fields(
        json!({
            "name": "helloworld-go", "namespace": "example", "domain": "example.com",
            "traffic": [
                {"tag": "a", "revisionName": "helloworld-go-00001", "percent": 50},
                {"tag": "b", "revisionName": "helloworld-go-00002", "percent": 50}
            ],
            "rules": [
                {"header": "wid", "prefix": "a", "tag": "a"},
                {"header": "wid", "prefix": "b", "tag": "b"}
            ]
        }),
        &extra,
    );
    json!({"services": [service, {
        "name": "web", "namespace": "example", "domain": "example.com",
        "traffic": [{"revisionName": "web-1", "percent": 100}],
        "customDomains": ["www.weimob.com", "*.apps.weimob.com"]
    }]})
}

fn routed(t: &RouteTable, host: &str, r: &PlainRequest) -> Option<(String, Reason)> {
    fixtures::decided(t, host, r, 3)
}

#[test]
fn a_custom_domain_is_served_like_the_main_host() {
    let t = table(&helloworld(json!({
        "customDomains": ["helloworld-go.weimob.com", "helloworld-go.weimobb.com"]
    })));
    for host in [
        "helloworld-go.weimob.com",
        "Helloworld-Go.Weimobb.com:80",
        "helloworld-go.weimob.com.",
    ] {
        // Seed 003 §3: wid a… to tag a, wid b… to tag b.
        assert_eq!(
            routed(&t, host, &req(&[("wid", "a123")])),
            Some(("helloworld-go-00001".into(), Reason::Rule)),
            "{host}"
        );
        assert_eq!(
            routed(&t, host, &req(&[("wid", "b7")])),
            Some(("helloworld-go-00002".into(), Reason::Rule))
        );
        assert_eq!(
            routed(&t, host, &req(&[("knative-serving-tag", "b")])),
            Some(("helloworld-go-00002".into(), Reason::TagHeader))
        );
        assert_eq!(routed(&t, host, &req(&[])).unwrap().1, Reason::Draw);
    }
}

#[test]
fn tag_hosts_are_derived_from_custom_domains_only_when_asked() {
    let t = table(&helloworld(
        json!({"customDomains": ["helloworld-go.weimob.com"]}),
    ));
    assert_eq!(routed(&t, "a-helloworld-go.weimob.com", &req(&[])), None);
    let t = table(&helloworld(json!({
        "customDomains": ["helloworld-go.weimob.com"], "customDomainTags": true
    })));
    assert_eq!(
        routed(&t, "a-helloworld-go.weimob.com", &req(&[])),
        Some(("helloworld-go-00001".into(), Reason::TagHost))
    );
    assert_eq!(
        routed(&t, "b-helloworld-go.weimob.com", &req(&[])),
        Some(("helloworld-go-00002".into(), Reason::TagHost))
    );
    // An unknown tag on a custom domain is a host nobody configured.
    assert_eq!(routed(&t, "c-helloworld-go.weimob.com", &req(&[])), None);
}

#[test]
fn wildcards_cover_one_label_and_give_way_to_exact_hosts() {
    let t = table(&helloworld(json!({
        "customDomains": ["*.weimob.com", "helloworld-go.weimob.net"]
    })));
    assert_eq!(
        routed(&t, "anything.weimob.com", &req(&[("wid", "a")])),
        Some(("helloworld-go-00001".into(), Reason::Rule))
    );
    assert_eq!(
        routed(&t, "weimob.com", &req(&[])),
        None,
        "the wildcard needs a label"
    );
    assert_eq!(
        routed(&t, "a.b.weimob.com", &req(&[])),
        None,
        "exactly one label"
    );
    // web's exact www.weimob.com wins over helloworld-go's *.weimob.com...
    assert_eq!(
        routed(&t, "www.weimob.com", &req(&[])),
        Some(("web-1".into(), Reason::Draw))
    );
    // ...and web's own *.apps.weimob.com is a different suffix.
    assert_eq!(
        routed(&t, "x.apps.weimob.com", &req(&[])),
        Some(("web-1".into(), Reason::Draw))
    );
}

#[test]
fn a_wildcard_over_a_namespace_zone_gives_way_to_generated_hosts() {
    let t = table(&helloworld(
        json!({"customDomains": ["*.example.example.com"]}),
    ));
    // web's own host and a tag host of helloworld-go stay theirs.
    assert_eq!(
        routed(&t, "web.example.example.com", &req(&[])),
        Some(("web-1".into(), Reason::Draw))
    );
    assert_eq!(
        routed(&t, "a-helloworld-go.example.example.com", &req(&[])),
        Some(("helloworld-go-00001".into(), Reason::TagHost))
    );
    // Any other label of the zone is helloworld-go's, even a tag-host shape.
    assert_eq!(
        routed(&t, "zz-web.example.example.com", &req(&[("wid", "b")])),
        Some(("helloworld-go-00002".into(), Reason::Rule))
    );
}

#[test]
fn collisions_name_both_services() {
    let e = errors(&helloworld(json!({"customDomains": ["www.weimob.com"]})));
    assert_eq!(
        e,
        ["services[1] (web): customDomains[0]: host \"www.weimob.com\" is already claimed by services[0] (helloworld-go)"]
    );
    let e = errors(&helloworld(json!({"customDomains": ["*.apps.weimob.com"]})));
    assert_eq!(
        e,
        ["services[1] (web): customDomains[1]: host \"*.apps.weimob.com\" is already claimed by services[0] (helloworld-go)"]
    );
    // A custom domain that is another service's generated host.
    let e = errors(&helloworld(
        json!({"customDomains": ["web.example.svc.cluster.local"]}),
    ));
    assert_eq!(
        e,
        ["services[0] (helloworld-go): customDomains[0]: host \"web.example.svc.cluster.local\" is already claimed by services[1] (web)"]
    );
    // ...or this service's own, or listed twice.
    let e = errors(&helloworld(
        json!({"customDomains": ["a-helloworld-go.example.example.com", "x.org", "x.org"]}),
    ));
    assert_eq!(
        e,
        [
            "services[0] (helloworld-go): customDomains[0]: host \"a-helloworld-go.example.example.com\" is already one of this service's hosts",
            "services[0] (helloworld-go): customDomains[2]: host \"x.org\" is already one of this service's hosts",
        ]
    );
    // A derived tag host that is another service's custom domain.
    let mut config = helloworld(json!({"customDomains": ["weimob.com"], "customDomainTags": true}));
    config["services"][1]["customDomains"] = json!(["a-weimob.com"]);
    assert_eq!(
        errors(&config),
        ["services[1] (web): customDomains[0]: host \"a-weimob.com\" is already claimed by services[0] (helloworld-go)"]
    );
}

#[test]
fn malformed_custom_domains() {
    let e = errors(&helloworld(
        json!({"customDomains": ["Weimob.com", "*.com", "a.*.com", "*"]}),
    ));
    assert_eq!(
        e,
        [
            "services[0] (helloworld-go): customDomains[0]: \"Weimob.com\" is not a lower-case DNS name (or *. and one)",
            "services[0] (helloworld-go): customDomains[1]: \"*.com\" is not *. followed by a lower-case DNS name of two or more labels",
            "services[0] (helloworld-go): customDomains[2]: \"a.*.com\" is not a lower-case DNS name (or *. and one)",
            "services[0] (helloworld-go): customDomains[3]: \"*\" is not a lower-case DNS name (or *. and one)",
        ]
    );
}

#[test]
fn public_hosts_are_the_hosts_the_filter_routes() {
    let config = helloworld(json!({
        "customDomains": ["helloworld-go.weimob.com", "*.weimoba.com"],
        "customDomainTags": true
    }));
    let document: knative_traffic::config::Document =
        serde_json::from_value(config.clone()).unwrap();
    let hosts = knative_traffic::compile::public_hosts(&document, &document.services[0]);
    assert_eq!(
        hosts,
        [
            "helloworld-go.example.example.com",
            "a-helloworld-go.example.example.com",
            "b-helloworld-go.example.example.com",
            "helloworld-go.weimob.com",
            "*.weimoba.com",
            "a-helloworld-go.weimob.com",
            "b-helloworld-go.weimob.com",
        ]
    );
    // Each of them (a wildcard through one of its names) reaches the service.
    let table = table(&config);
    let mut rng = XorShiftRng::seed_from_u64(1);
    for host in &hosts {
        let host = host.replace("*.", "any.");
        match table.route(&host, &req(&[]), &mut rng) {
            Decision::Route(route) => assert_eq!(&*route.service.name, "helloworld-go", "{host}"),
            other => panic!("{host}: {other:?}"),
        }
    }
}

/// DomainMapping's ingress (domainmapping/resources/ingress.go MakeIngress,
/// TestMakeIngress "basic") adds `K-Original-Host: <the mapped domain>` to
/// every request of the mapping; a custom domain is this filter's
/// DomainMapping. The service's own hosts get none.
#[test]
fn a_custom_domains_requests_carry_k_original_host() {
    let t = table(&helloworld(json!({
        "customDomains": ["helloworld-go.weimob.com", "*.weimoba.com"],
        "customDomainTags": true
    })));
    let original = |host: &str| -> Option<String> {
        match t.route(host, &req(&[]), &mut XorShiftRng::seed_from_u64(3)) {
            Decision::Route(r) => r
                .request_headers()
                .find(|(name, _)| *name == "k-original-host")
                .and_then(|(_, v)| v.map(str::to_owned)),
            other => panic!("{host}: {other:?}"),
        }
    };
    assert_eq!(
        original("Helloworld-Go.weimob.com:443").as_deref(),
        Some("helloworld-go.weimob.com")
    );
    assert_eq!(
        original("a-helloworld-go.weimob.com").as_deref(),
        Some("a-helloworld-go.weimob.com")
    );
    assert_eq!(
        original("shop.weimoba.com").as_deref(),
        Some("shop.weimoba.com")
    );
    assert_eq!(original("helloworld-go.example.example.com"), None);
    assert_eq!(original("a-helloworld-go.example.svc"), None);
}
