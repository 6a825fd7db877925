//! `istio`, then real Envoy: the manifests the built tool writes for a List
//! of two services, loaded into every installed Envoy the way Istio
//! configures its ingress gateway from them (tests/support/istio.rs: the
//! filter over ECDS, the virtual hosts where the Gateway's and the
//! VirtualServices' hosts meet, header-match routes, mirror policies), with
//! the built `.wasm` and one demo-backend process per revision:
//!
//! - traffic-example, v1 at 100% and `mirror: {tag: v2, percent: 10}`:
//!   clients only ever see v1 while v2 receives a binomially bounded tenth of
//!   the requests as copies;
//! - helloworld-go behind a wildcard custom domain and an exact one with
//!   `customDomainTags`, routed by the seed's `wid` rules.

// Tests report by panicking.
#![allow(clippy::restriction)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::json;
use support::{assert_binomial, istio, settled_requests, Backend};

const TRAFFIC_EXAMPLE: &str = "traffic-example.default.example.com";

#[test]
fn the_tools_manifests_route_and_mirror_on_istios_envoy() {
    let config = json!({
        "domain": "example.com",
        "services": [
            {
                "name": "traffic-example", "namespace": "default",
                "traffic": [
                    {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 100},
                    {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 0}
                ],
                "mirror": {"tag": "v2", "percent": 10}
            },
            {
                "name": "helloworld-go", "namespace": "example",
                "traffic": [
                    {"tag": "a", "revisionName": "helloworld-go-00001", "percent": 50},
                    {"tag": "b", "revisionName": "helloworld-go-00002", "percent": 50}
                ],
                "customDomains": ["helloworld-go.weimob.com", "*.weimoba.com"],
                "customDomainTags": true,
                "rules": [
                    {"header": "wid", "prefix": "a", "tag": "a"},
                    {"header": "wid", "prefix": "b", "tag": "b"}
                ]
            }
        ]
    });
    let dir = support::scratch_dir("cli-e2e-istio");
    let file = dir.join("traffic.json");
    std::fs::write(&file, config.to_string()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_knative-traffic"))
        .arg("istio")
        .arg(&file)
        .arg("--with-gateway")
        .output()
        .expect("run knative-traffic");
    assert!(output.status.success(), "{output:?}");
    let documents = istio::documents(&String::from_utf8(output.stdout).unwrap());
    drop(dir);
    let plugin = istio::only(&documents, "WasmPlugin");
    let gateway = istio::only(&documents, "Gateway");
    let virtual_services = istio::all(&documents, "VirtualService");

    let v1 = Backend::start("v1");
    let v2 = Backend::start("v2");
    let first = Backend::start("00001");
    let second = Backend::start("00002");
    let backends: BTreeMap<String, &Backend> = [
        ("traffic-example-v1.default", &v1),
        ("traffic-example-v2.default", &v2),
        ("helloworld-go-00001.example", &first),
        ("helloworld-go-00002.example", &second),
    ]
    .into_iter()
    .map(|(service, b)| (format!("outbound|80||{service}.svc.cluster.local"), b))
    .collect();

    for bin in support::envoys() {
        let envoy = istio::gateway_envoy(&bin, gateway, plugin, &virtual_services, &backends);
        let v = envoy.version.clone();

        // Shadow traffic: clients see only v1; v2 gets copies of a tenth.
        let before = v2.requests().len();
        let n = 2000;
        for i in 0..n {
            let r = envoy.get(TRAFFIC_EXAMPLE, &format!("/orders/{i}"), &[]);
            assert_eq!(r.status, 200, "Envoy {v}: {r:?}");
            assert_eq!(
                r.revision(),
                Some("v1"),
                "Envoy {v}: clients see only v1: {r:?}"
            );
        }
        let copies = settled_requests(&v2, before);
        assert_binomial(
            &format!("Envoy {v}: copies at v2"),
            copies.len() as u64,
            n,
            0.1,
        );
        for line in &copies {
            assert!(line.starts_with("GET /orders/"), "Envoy {v}: {line}");
            assert!(
                line.contains(&format!(" host={TRAFFIC_EXAMPLE}-shadow"))
                    || line.contains(&format!(" :authority={TRAFFIC_EXAMPLE}-shadow")),
                "Envoy {v}: {line}"
            );
        }
        eprintln!(
            "Istio-shaped Envoy {v} from the tool's manifests: {} of {n} requests copied to v2",
            copies.len()
        );
        // v2's own tag host reaches it, and is not copied.
        let before = v2.requests().len();
        let r = envoy.get(&format!("v2-{TRAFFIC_EXAMPLE}"), "/", &[]);
        assert_eq!(r.revision(), Some("v2"), "Envoy {v}: {r:?}");
        assert_eq!(settled_requests(&v2, before).len(), 1, "Envoy {v}");

        // Custom domains: the wildcard's one label, the exact one, and the
        // exact one's tag hosts, which the Gateway admits by name.
        for host in ["hello.weimoba.com", "helloworld-go.weimob.com"] {
            for (wid, revision) in [("a", "00001"), ("b7", "00002")] {
                let r = envoy.get(host, "/", &[("wid", wid)]);
                assert_eq!(
                    r.revision(),
                    Some(revision),
                    "Envoy {v}: {host} wid {wid}: {r:?}"
                );
            }
        }
        for (tag, revision) in [("a", "00001"), ("b", "00002")] {
            let host = format!("{tag}-helloworld-go.weimob.com");
            let r = envoy.get(&host, "/", &[]);
            assert_eq!(r.revision(), Some(revision), "Envoy {v}: {host}: {r:?}");
            assert_eq!(r.seen("knative-serving-tag"), Some(tag));
        }
        // Two labels in front of the wildcard: Istio's virtual host takes
        // the host (its wildcard covers any depth), but the filter's covers
        // one label, so it passes the request through. A client that forges
        // every header the routes could match on must still reach no
        // revision: the filter removes its cluster and mirror headers, and
        // every route matches the cluster header too. A host the gateway
        // does not list is refused the same.
        let before = [&v1, &v2, &first, &second].map(|b| b.requests().len());
        for host in ["a.b.weimoba.com", "elsewhere.weimob.com"] {
            let r = envoy.get(host, "/", &[("wid", "a")]);
            assert_eq!(r.status, 404, "Envoy {v}: {host}: {r:?}");
            for (revision, cluster, mirror) in [
                ("helloworld-go-00002", None, None),
                ("helloworld-go-00002", Some("helloworld-go-00002"), None),
                (
                    "traffic-example-v1",
                    Some("traffic-example-v1"),
                    Some("traffic-example-v2"),
                ),
            ] {
                let mut forged = vec![("knative-serving-revision", revision)];
                forged.extend(cluster.map(|c| ("x-knative-cluster", c)));
                forged.extend(mirror.map(|m| ("x-knative-mirror-cluster", m)));
                let r = envoy.get(host, "/", &forged);
                assert_eq!(r.status, 404, "Envoy {v}: {host} {forged:?}: {r:?}");
            }
        }
        let after = [&v1, &v2, &first, &second].map(|b| b.requests().len());
        assert_eq!(
            before, after,
            "Envoy {v}: a forged request reached a revision"
        );
    }
}
