//! The seeds' scenarios, end to end: real Envoy (every installed version),
//! the built module, and one demo-backend process per revision. Assertions
//! are on what the backends answered and the headers they saw.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{json, Value};
use support::{assert_binomial, Backend, Envoy, EnvoyConfig};

const TRAFFIC_EXAMPLE: &str = "traffic-example.default.example.com";
const HELLOWORLD: &str = "helloworld-go.example.example.com";

/// Starts Envoy with the shipped envoy.yaml, this filter configuration, and
/// one cluster per backend (named after the revision).
fn envoy_with(bin: &Path, config: &Value, backends: &BTreeMap<String, &Backend>) -> Envoy {
    let mut envoy_config = EnvoyConfig::from_repo("envoy/envoy.yaml");
    envoy_config
        .set_plugin_configuration(config)
        .set_clusters(backends);
    Envoy::start(bin, envoy_config)
}

fn traffic_example(traffic: Value, latest: &str) -> Value {
    json!({"services": [{
        "name": "traffic-example", "namespace": "default", "domain": "example.com",
        "latestReadyRevisionName": latest, "traffic": traffic
    }]})
}

/// Sends `n` requests and counts the answers per revision (the backend's
/// RESOURCE), checking on each that the backend saw the Knative headers.
fn split_counts(
    envoy: &Envoy,
    host: &str,
    headers: &[(&str, &str)],
    n: u64,
) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for _ in 0..n {
        let r = envoy.get(host, "/", headers);
        assert_eq!(r.status, 200, "{r:?}");
        let revision = r.revision().unwrap_or_else(|| panic!("{r:?}")).to_owned();
        assert_eq!(
            r.seen("knative-serving-revision"),
            Some(format!("{}-{revision}", host.split('.').next().unwrap()).as_str()),
            "the backend must see its own revision name"
        );
        assert_eq!(r.seen("knative-serving-default-route"), Some("true"));
        *counts.entry(revision).or_insert(0) += 1;
    }
    counts
}

fn count(counts: &HashMap<String, u64>, revision: &str) -> u64 {
    counts.get(revision).copied().unwrap_or(0)
}

/// 100% v1; then v2 at 20% with v3 at 0% behind the `v3` and `latest` tags;
/// then 80/10/10; then rollback to 100% v1 — the seed's whole story.
#[test]
fn traffic_example_from_first_revision_to_rollback() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    let clusters = support::clusters("traffic-example-", &revisions);
    for bin in support::envoys() {
        // Step 1: no traffic block, so 100% to the latest ready revision, v1.
        let envoy = envoy_with(
            &bin,
            &traffic_example(json!([]), "traffic-example-v1"),
            &clusters,
        );
        let counts = split_counts(&envoy, TRAFFIC_EXAMPLE, &[], 100);
        assert_eq!(
            count(&counts, "v1"),
            100,
            "Envoy {}: {counts:?}",
            envoy.version
        );
        let r = envoy.get(TRAFFIC_EXAMPLE, "/", &[]);
        assert_eq!(r.seen("knative-serving-namespace"), Some("default"));
        assert_eq!(r.seen("knative-serving-tag"), None);
        drop(envoy);

        // Step 2: v1 80, v2 20; v3 deployed at 0% and tried on its own hosts.
        let config = traffic_example(
            json!([
                {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 80},
                {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 20},
                {"tag": "v3", "revisionName": "traffic-example-v3", "percent": 0},
                {"tag": "latest", "latestRevision": true, "percent": 0}
            ]),
            "traffic-example-v3",
        );
        let envoy = envoy_with(&bin, &config, &clusters);
        let n = 1000;
        let counts = split_counts(&envoy, TRAFFIC_EXAMPLE, &[], n);
        let v = envoy.version.clone();
        assert_binomial(
            &format!("Envoy {v}: v1 at 80%"),
            count(&counts, "v1"),
            n,
            0.8,
        );
        assert_binomial(
            &format!("Envoy {v}: v2 at 20%"),
            count(&counts, "v2"),
            n,
            0.2,
        );
        assert_eq!(count(&counts, "v3"), 0, "Envoy {v}: v3 is at 0%");
        for tag in ["latest", "v3"] {
            for _ in 0..20 {
                let r = envoy.get(&format!("{tag}-{TRAFFIC_EXAMPLE}"), "/", &[]);
                assert_eq!(r.revision(), Some("v3"), "Envoy {v}: {tag} host: {r:?}");
                assert_eq!(r.seen("knative-serving-tag"), Some(tag));
                assert_eq!(
                    r.seen("knative-serving-revision"),
                    Some("traffic-example-v3")
                );
                assert_eq!(r.seen("knative-serving-default-route"), None);
            }
        }
        // The seed's rest-api paths reach the tagged revision too.
        let r = envoy.get(&format!("v3-{TRAFFIC_EXAMPLE}"), "/v3/aapl", &[]);
        assert_eq!(r.body, "v3 not found for ticker : aapl\n");
        drop(envoy);

        // Step 3: 80/10/10.
        let config = traffic_example(
            json!([
                {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 80},
                {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 10},
                {"tag": "v3", "revisionName": "traffic-example-v3", "percent": 10},
                {"tag": "latest", "latestRevision": true, "percent": 0}
            ]),
            "traffic-example-v3",
        );
        let envoy = envoy_with(&bin, &config, &clusters);
        let counts = split_counts(&envoy, TRAFFIC_EXAMPLE, &[], n);
        assert_binomial(
            &format!("Envoy {v}: v1 at 80%"),
            count(&counts, "v1"),
            n,
            0.8,
        );
        assert_binomial(
            &format!("Envoy {v}: v2 at 10%"),
            count(&counts, "v2"),
            n,
            0.1,
        );
        assert_binomial(
            &format!("Envoy {v}: v3 at 10%"),
            count(&counts, "v3"),
            n,
            0.1,
        );
        drop(envoy);

        // Step 4: rollback is a traffic change.
        let config = traffic_example(
            json!([
                {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 100},
                {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 0},
                {"tag": "v3", "revisionName": "traffic-example-v3", "percent": 0}
            ]),
            "traffic-example-v3",
        );
        let envoy = envoy_with(&bin, &config, &clusters);
        let counts = split_counts(&envoy, TRAFFIC_EXAMPLE, &[], 200);
        assert_eq!(count(&counts, "v1"), 200, "Envoy {v}: {counts:?}");
        // The rolled-back revisions stay reachable on their tag hosts.
        assert_eq!(
            envoy
                .get(&format!("v2-{TRAFFIC_EXAMPLE}"), "/", &[])
                .revision(),
            Some("v2")
        );
    }
}

fn helloworld_config() -> Value {
    json!({"services": [{
        "name": "helloworld-go", "namespace": "example", "domain": "example.com",
        "traffic": [
            {"tag": "a", "revisionName": "helloworld-go-00001", "percent": 50},
            {"tag": "b", "revisionName": "helloworld-go-00002", "percent": 50}
        ]
    }]})
}

/// The seed's helloworld-go: tags a and b by header and by subdomain, an
/// unknown tag host answered 404, an unknown header tag taking the split.
#[test]
fn helloworld_go_tags_by_header_and_subdomain() {
    let revisions = ["00001", "00002"].map(Backend::start);
    let clusters = support::clusters("helloworld-go-", &revisions);
    for bin in support::envoys() {
        let envoy = envoy_with(&bin, &helloworld_config(), &clusters);
        let v = envoy.version.clone();
        for (tag, revision) in [("a", "00001"), ("b", "00002")] {
            for _ in 0..20 {
                let r = envoy.get(HELLOWORLD, "/", &[("Knative-Serving-Tag", tag)]);
                assert_eq!(
                    r.revision(),
                    Some(revision),
                    "Envoy {v}: header {tag}: {r:?}"
                );
                assert_eq!(r.seen("knative-serving-tag"), Some(tag));
                assert_eq!(r.seen("knative-serving-default-route"), None);
                let r = envoy.get(&format!("{tag}-{HELLOWORLD}"), "/", &[]);
                assert_eq!(r.revision(), Some(revision), "Envoy {v}: host {tag}: {r:?}");
                assert_eq!(r.seen("knative-serving-tag"), Some(tag));
            }
        }
        // On a tag host the host's tag wins over the client's header.
        let r = envoy.get(
            &format!("a-{HELLOWORLD}"),
            "/",
            &[("Knative-Serving-Tag", "b")],
        );
        assert_eq!(r.revision(), Some("00001"));
        assert_eq!(r.seen("knative-serving-tag"), Some("a"));

        let before: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        let r = envoy.get(&format!("c-{HELLOWORLD}"), "/", &[]);
        assert_eq!(r.status, 404, "Envoy {v}: c- host: {r:?}");
        let after: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        assert_eq!(before, after, "a 404 must reach no revision");

        // An unknown header tag takes the 50/50 split, marked as the default
        // route, with the client's tag header left as sent.
        let n = 1000;
        let mut first = 0;
        for _ in 0..n {
            let r = envoy.get(HELLOWORLD, "/", &[("Knative-Serving-Tag", "c")]);
            assert_eq!(r.seen("knative-serving-default-route"), Some("true"));
            assert_eq!(r.seen("knative-serving-tag"), Some("c"));
            if r.revision() == Some("00001") {
                first += 1;
            } else {
                assert_eq!(r.revision(), Some("00002"), "{r:?}");
            }
        }
        assert_binomial(
            &format!("Envoy {v}: unknown tag, 00001 at 50%"),
            first,
            n,
            0.5,
        );
    }
}

/// What a client sends in the Knative-Serving-* headers does not survive:
/// the filter overwrites them, and a client cannot pick a cluster itself.
#[test]
fn client_headers_cannot_steer_or_spoof() {
    let revisions = ["00001", "00002"].map(Backend::start);
    let clusters = support::clusters("helloworld-go-", &revisions);
    for bin in support::envoys() {
        let envoy = envoy_with(&bin, &helloworld_config(), &clusters);
        let r = envoy.get(
            &format!("a-{HELLOWORLD}"),
            "/",
            &[
                ("Knative-Serving-Revision", "spoofed"),
                ("Knative-Serving-Namespace", "spoofed"),
                ("Knative-Serving-Default-Route", "spoofed"),
                ("x-knative-cluster", "helloworld-go-00002"),
            ],
        );
        assert_eq!(r.revision(), Some("00001"));
        assert_eq!(
            r.seen("knative-serving-revision"),
            Some("helloworld-go-00001")
        );
        assert_eq!(r.seen("knative-serving-namespace"), Some("example"));
        assert_eq!(r.seen("knative-serving-default-route"), None);

        // An unknown host passes through the filter; its cluster header is
        // removed, so the route table's fallback answers.
        let before: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        let r = envoy.get(
            "elsewhere.example.org",
            "/",
            &[("x-knative-cluster", "helloworld-go-00001")],
        );
        assert_eq!(r.status, 404, "Envoy {}: {r:?}", envoy.version);
        assert_eq!(r.body, "no Knative service is configured at this host\n");
        let after: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        assert_eq!(before, after);
    }
}

/// envoy/envoy.yaml as shipped (only its ports and file paths moved):
/// the 80/10/10 demo with its tags. Under the native shell, the harness's
/// form of it is envoy/native/envoy.yaml, so that file is what runs.
#[test]
fn the_shipped_envoy_yaml_routes_as_documented() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    let clusters = support::clusters("traffic-example-", &revisions);
    if support::shell() == support::Shell::Native {
        let mut converted = EnvoyConfig::from_repo("envoy/envoy.yaml");
        converted.use_native_filter();
        assert!(
            converted.0 == EnvoyConfig::from_repo("envoy/native/envoy.yaml").0,
            "envoy/native/envoy.yaml is no longer envoy/envoy.yaml with the dynamic module"
        );
    }
    for bin in support::envoys() {
        let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        let shipped_clusters: Vec<String> = config.0["static_resources"]["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            shipped_clusters,
            clusters.keys().cloned().collect::<Vec<_>>()
        );
        config.set_clusters(&clusters);
        let envoy = Envoy::start(&bin, config);
        let n = 1000;
        let counts = split_counts(&envoy, TRAFFIC_EXAMPLE, &[], n);
        let v = &envoy.version;
        assert_binomial(&format!("Envoy {v}: v1"), count(&counts, "v1"), n, 0.8);
        assert_binomial(&format!("Envoy {v}: v2"), count(&counts, "v2"), n, 0.1);
        assert_binomial(&format!("Envoy {v}: v3"), count(&counts, "v3"), n, 0.1);
        for (tag, revision) in [("v1", "v1"), ("v2", "v2"), ("v3", "v3"), ("latest", "v3")] {
            let host = format!("{tag}-{TRAFFIC_EXAMPLE}");
            assert_eq!(
                envoy.get(&host, "/", &[]).revision(),
                Some(revision),
                "{host}"
            );
            let by_header = envoy.get(TRAFFIC_EXAMPLE, "/", &[("Knative-Serving-Tag", tag)]);
            assert_eq!(by_header.revision(), Some(revision), "tag header {tag}");
        }
        // Port, case and trailing dot in the Host.
        for host in [
            "traffic-example.default.example.com:8080",
            "Traffic-Example.Default.Example.com",
            "v2-traffic-example.default.example.com.",
        ] {
            assert_eq!(envoy.get(host, "/", &[]).status, 200, "{host}");
        }
        assert_eq!(
            envoy
                .get("v9-traffic-example.default.example.com", "/", &[])
                .status,
            404
        );
    }
}

/// A configuration with an error keeps Envoy from starting, and the log names
/// the service, the field and the rule.
#[test]
fn a_bad_configuration_is_refused_with_its_error_in_the_log() {
    for bin in support::envoys() {
        let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        config.set_plugin_configuration(&traffic_example(
            json!([
                {"revisionName": "traffic-example-v1", "percent": 80},
                {"revisionName": "traffic-example-v2", "percent": 10}
            ]),
            "traffic-example-v2",
        ));
        match Envoy::try_start(&bin, &mut config) {
            Ok(envoy) => panic!("Envoy {} started on a bad configuration", envoy.version),
            Err((status, log)) => {
                assert!(
                    log.contains("configuration refused: services[0] (traffic-example): traffic percents sum to 90, want 100"),
                    "exit {status}, log:\n{log}"
                );
            }
        }
    }
}

/// Seed 003 §3: helloworld-go behind its own public domains, routed by a
/// `wid` header prefix — by the filter's custom domains and rules instead of
/// a hand-written VirtualService.
#[test]
fn helloworld_go_behind_custom_domains_as_seed_003_section_3() {
    let revisions = ["00001", "00002"].map(Backend::start);
    let clusters = support::clusters("helloworld-go-", &revisions);
    let mut config = helloworld_config();
    config["services"][0]["customDomains"] = json!([
        "helloworld-go.weimob.com",
        "helloworld-go.weimobb.com",
        "*.weimoba.com"
    ]);
    config["services"][0]["rules"] = json!([
        {"header": "wid", "prefix": "a", "tag": "a"},
        {"header": "wid", "prefix": "b", "tag": "b"}
    ]);
    for bin in support::envoys() {
        let envoy = envoy_with(&bin, &config, &clusters);
        let v = envoy.version.clone();
        for host in [
            "helloworld-go.weimob.com",
            "helloworld-go.weimobb.com",
            "hello.weimoba.com",
        ] {
            support::assert_seed_003_wid_routing(&envoy, host);
            // Without a wid the custom domain takes the split like the main host.
            let n = 400;
            let first = (0..n)
                .filter(|_| envoy.get(host, "/", &[]).revision() == Some("00001"))
                .count() as u64;
            assert_binomial(&format!("Envoy {v}: {host} 00001 at 50%"), first, n, 0.5);
        }
        // Tag subdomains are not derived from custom domains unless asked.
        let r = envoy.get("a-helloworld-go.weimob.com", "/", &[]);
        assert_eq!(r.status, 404);
        assert_eq!(r.body, "no Knative service is configured at this host\n");
    }
}
