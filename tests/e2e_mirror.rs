//! Shadow traffic end to end: 10% of requests copied to v2 while v1 serves
//! everything, through the shipped envoy.yaml's mirror policy.

mod support;

use serde_json::json;
use support::{assert_binomial, Backend, Envoy, EnvoyConfig};

const HOST: &str = "traffic-example.default.example.com";

#[test]
fn ten_percent_mirrored_to_v2_while_v1_answers() {
    let revisions = ["v1", "v2"].map(Backend::start);
    let clusters = support::clusters("traffic-example-", &revisions);
    let config = json!({"services": [{
        "name": "traffic-example", "namespace": "default", "domain": "example.com",
        "traffic": [
            {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 100},
            {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 0}
        ],
        "mirror": {"tag": "v2", "percent": 10}
    }]});
    for bin in support::envoys() {
        let mut envoy_config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        envoy_config
            .set_plugin_configuration(&config)
            .set_clusters(&clusters);
        let envoy = Envoy::start(&bin, envoy_config);
        let v = envoy.version.clone();
        let v2_before = revisions[1].requests().len();

        let n = 2000;
        for i in 0..n {
            let path = format!("/orders/{i}?probe=mirror");
            let r = envoy.get(
                HOST,
                &path,
                &[("x-probe", &format!("p{i}")), ("x-mirror-test", "1")],
            );
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(
                r.revision(),
                Some("v1"),
                "Envoy {v}: clients see only v1: {r:?}"
            );
        }
        // Tag requests are not mirrored by default.
        for _ in 0..100 {
            assert_eq!(
                envoy.get(&format!("v1-{HOST}"), "/tagged", &[]).revision(),
                Some("v1")
            );
        }
        // A client cannot mirror by itself on an unrouted host.
        envoy.get(
            "elsewhere.example.org",
            "/sneak",
            &[("x-knative-mirror-cluster", "traffic-example-v2")],
        );

        // Copies are fire-and-forget: wait until v2's count stops moving.
        let copies = support::settled_requests(&revisions[1], v2_before);
        assert_binomial(
            &format!("Envoy {v}: copies at v2"),
            copies.len() as u64,
            n,
            0.1,
        );
        for line in &copies {
            // GET /orders/{i}?probe=mirror with the original headers, and
            // Envoy's -shadow suffix on the host.
            let i: u64 = line
                .strip_prefix("GET /orders/")
                .and_then(|rest| rest.split('?').next())
                .and_then(|i| i.parse().ok())
                .unwrap_or_else(|| panic!("Envoy {v}: unexpected copy {line:?}"));
            assert!(line.contains("?probe=mirror "), "{line}");
            assert!(line.contains(&format!(" x-probe=p{i}")), "{line}");
            assert!(line.contains(" x-mirror-test=1"), "{line}");
            assert!(
                line.contains(&format!(" host={HOST}-shadow"))
                    || line.contains(&format!(" :authority={HOST}-shadow")),
                "Envoy {v}: {line}"
            );
            assert!(
                line.contains(" knative-serving-revision=traffic-example-v1"),
                "{line}"
            );
        }
        let counter = envoy.counter(
            "wasmcustom.knative_traffic.mirrored.namespace.default.service.traffic-example.revision.traffic-example-v2",
        );
        assert_eq!(
            counter,
            copies.len() as u64,
            "Envoy {v}: the counter matches the copies"
        );
    }
}
