//! Shadow traffic end to end: 10% of requests copied to v2 while v1 serves
//! everything, through the shipped envoy.yaml's mirror policy; and a client
//! cannot add copies, or pick a cluster, by sending the filter's headers.

// Tests report by panicking.
#![allow(clippy::restriction)]

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

        // Every odd request forges the mirror header: the filter removes it
        // from the requests it did not choose, so those are copied no more
        // often than the others.
        let n = 2000;
        for i in 0..n {
            let path = format!("/orders/{i}?probe=mirror");
            let probe = format!("p{i}");
            let mut headers = vec![("x-probe", probe.as_str()), ("x-mirror-test", "1")];
            if i % 2 == 1 {
                headers.push(("x-knative-mirror-cluster", "traffic-example-v2"));
            }
            let r = envoy.get(HOST, &path, &headers);
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(
                r.revision(),
                Some("v1"),
                "Envoy {v}: clients see only v1: {r:?}"
            );
        }
        // Tag requests are not mirrored by default, forged header or not.
        for i in 0..100 {
            let forged = [("x-knative-mirror-cluster", "traffic-example-v2")];
            let headers = if i % 2 == 1 { &forged[..] } else { &[] };
            assert_eq!(
                envoy
                    .get(&format!("v1-{HOST}"), "/tagged", headers)
                    .revision(),
                Some("v1")
            );
        }
        // On a host the filter does not route, a client's cluster and mirror
        // headers are removed: the fallback route's 404, no copy, and no
        // revision reached.
        let v1_before = revisions[0].requests().len();
        for forged in [
            &[("x-knative-mirror-cluster", "traffic-example-v2")][..],
            &[
                ("x-knative-cluster", "traffic-example-v1"),
                ("x-knative-mirror-cluster", "traffic-example-v2"),
            ],
        ] {
            let r = envoy.get("elsewhere.example.org", "/sneak", forged);
            assert_eq!(r.status, 404, "Envoy {v}: {forged:?}: {r:?}");
        }

        // Copies are fire-and-forget: wait until v2's count stops moving.
        let copies = support::settled_requests(&revisions[1], v2_before);
        assert_binomial(
            &format!("Envoy {v}: copies at v2"),
            copies.len() as u64,
            n,
            0.1,
        );
        let mut forged_copies = 0;
        for line in &copies {
            // GET /orders/{i}?probe=mirror with the original headers, and
            // Envoy's -shadow suffix on the host.
            let i: u64 = line
                .strip_prefix("GET /orders/")
                .and_then(|rest| rest.split('?').next())
                .and_then(|i| i.parse().ok())
                .unwrap_or_else(|| panic!("Envoy {v}: unexpected copy {line:?}"));
            assert!(line.contains("?probe=mirror "), "{line}");
            forged_copies += i % 2;
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
        // Half the requests forged the header; their copies are the
        // filter's draw too.
        assert_binomial(
            &format!("Envoy {v}: copies of requests with a forged mirror header"),
            forged_copies,
            n / 2,
            0.1,
        );
        let v1_sneaked: Vec<String> = support::settled_requests(&revisions[0], v1_before)
            .into_iter()
            .filter(|l| l.contains("/sneak"))
            .collect();
        assert!(
            v1_sneaked.is_empty(),
            "Envoy {v}: an unrouted host reached v1: {v1_sneaked:?}"
        );
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
