//! The Istio routing pattern without Kubernetes: real Envoy (every installed
//! version) configured as Istio configures its ingress gateway from
//! istio/wasmplugin.yaml and istio/virtualservice.yaml:
//!
//! - the filter comes over ECDS under Istio's filter name, with Istio's
//!   plugin name and root id, and `pluginConfig` as a JSON string;
//! - the routes are the VirtualService's: one per revision, matching the
//!   `knative-serving-revision` and `x-knative-cluster` headers the filter
//!   writes, to the cluster
//!   `outbound|80||{revision}.default.svc.cluster.local`; no
//!   `cluster_header`, no catch-all route.
//!
//! Every request starts with no route (it carries no revision header when
//! Envoy first selects one), so each 200 below also shows that Envoy selected
//! the route again after the filter ran.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{json, Value};
use support::istio;
use support::{assert_binomial, settled_requests, Backend, Envoy};

const SERVICE: &str = "traffic-example.default.example.com";

/// Why these tests run on the Wasm shell only.
const ISTIO_IS_WASM: &str =
    "Istio delivers the filter as a WasmPlugin; the dynamic module is for standalone Envoy";

/// The gateway's Envoy for the demo manifests, with each cluster the
/// VirtualService names pointing at the backend of its revision.
fn istio_gateway(bin: &Path, revisions: &[Backend]) -> Envoy {
    let backends: BTreeMap<String, &Backend> = revisions
        .iter()
        .map(|b| {
            let cluster = format!(
                "outbound|80||traffic-example-{}.default.svc.cluster.local",
                b.resource
            );
            (cluster, b)
        })
        .collect();
    istio::gateway_envoy(
        bin,
        &istio::gateway(),
        &istio::wasm_plugin(),
        &[istio::virtual_service()],
        &backends,
    )
}

/// The names of the HTTP filters Envoy received over ECDS (admin
/// `/config_dump`).
fn ecds_filter_names(envoy: &Envoy) -> Vec<String> {
    let dump = support::http(
        envoy.admin,
        "GET",
        "/config_dump?resource=ecds_filters",
        &[("host", "admin")],
    )
    .expect("admin /config_dump");
    let dump: Value = serde_json::from_str(&dump.body)
        .unwrap_or_else(|e| panic!("config dump is not JSON ({e}): {}", dump.body));
    dump["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .filter_map(|c| c["ecds_filter"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_virtual_service_routes_on_the_header_the_filter_writes() {
    if support::wasm_only(ISTIO_IS_WASM) {
        return;
    }
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    let filter_name = istio::filter_name(&istio::wasm_plugin());
    for bin in support::envoys() {
        let envoy = istio_gateway(&bin, &revisions);
        let v = envoy.version.clone();
        assert!(
            envoy.log().contains("configuration accepted"),
            "Envoy {v}: the plugin did not load its configuration:\n{}",
            envoy.log()
        );
        assert_eq!(
            ecds_filter_names(&envoy),
            vec![filter_name.clone()],
            "Envoy {v}: the filter must come over ECDS under Istio's name"
        );

        // The draw: 80/10/10, through the header-match routes.
        let n = 1000;
        let mut counts: HashMap<String, u64> = HashMap::new();
        for _ in 0..n {
            let r = envoy.get(SERVICE, "/", &[]);
            assert_eq!(r.status, 200, "Envoy {v}: {r:?}");
            let revision = r.revision().unwrap_or_else(|| panic!("{r:?}")).to_owned();
            assert_eq!(
                r.seen("knative-serving-revision"),
                Some(format!("traffic-example-{revision}").as_str())
            );
            assert_eq!(r.seen("knative-serving-default-route"), Some("true"));
            *counts.entry(revision).or_insert(0) += 1;
        }
        let count = |rev: &str| counts.get(rev).copied().unwrap_or(0);
        assert_binomial(&format!("Envoy {v}: v1"), count("v1"), n, 0.8);
        assert_binomial(&format!("Envoy {v}: v2"), count("v2"), n, 0.1);
        assert_binomial(&format!("Envoy {v}: v3"), count("v3"), n, 0.1);
        eprintln!(
            "Istio-shaped Envoy {v}: v1 {}, v2 {}, v3 {} of {n}",
            count("v1"),
            count("v2"),
            count("v3")
        );

        // Tags, by header and by subdomain (with the port a load balancer
        // may leave in the Host), the 0% `latest` among them.
        for (tag, revision) in [("v1", "v1"), ("v2", "v2"), ("v3", "v3"), ("latest", "v3")] {
            let r = envoy.get(SERVICE, "/", &[("Knative-Serving-Tag", tag)]);
            assert_eq!(
                r.revision(),
                Some(revision),
                "Envoy {v}: header {tag}: {r:?}"
            );
            for host in [format!("{tag}-{SERVICE}"), format!("{tag}-{SERVICE}:80")] {
                let r = envoy.get(&host, "/", &[]);
                assert_eq!(
                    r.revision(),
                    Some(revision),
                    "Envoy {v}: host {host}: {r:?}"
                );
                assert_eq!(r.seen("knative-serving-tag"), Some(tag));
                assert_eq!(r.seen("knative-serving-default-route"), None);
            }
        }
        let r = envoy.get(&format!("v3-{SERVICE}"), "/v3/aapl", &[]);
        assert_eq!(r.body, "v3 not found for ticker : aapl\n");

        // A client cannot pick a revision by sending the header the routes
        // match: the filter overwrites it.
        for _ in 0..20 {
            let r = envoy.get(
                SERVICE,
                "/",
                &[
                    ("Knative-Serving-Revision", "traffic-example-v2"),
                    ("Knative-Serving-Tag", "v1"),
                ],
            );
            assert_eq!(r.revision(), Some("v1"), "Envoy {v}: {r:?}");
        }

        // An unknown tag host: the filter's 404, no revision reached; a host
        // the VirtualService does not list: Envoy's 404, even with the
        // revision and cluster headers.
        let before: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        let r = envoy.get(&format!("v9-{SERVICE}"), "/", &[]);
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");
        assert_eq!(r.body, "service traffic-example.default has no such tag\n");
        let r = envoy.get(
            "elsewhere.example.com",
            "/",
            &[
                ("Knative-Serving-Revision", "traffic-example-v1"),
                ("X-Knative-Cluster", "traffic-example-v1"),
            ],
        );
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");
        let after: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        assert_eq!(before, after, "Envoy {v}: a 404 must reach no revision");
    }
}

/// Where Istio's virtual host takes a host that the filter does not route,
/// the filter passes the request through, and a client's own headers reach
/// the VirtualService's routes: the shipped routes must not let them pick a
/// revision. Two such hosts, on the shipped manifests with a wildcard custom
/// domain added: two labels in front of the wildcard (Istio's `*` covers any
/// number of labels, the filter's one), and a host the VirtualService lists
/// but the filter's configuration does not (a VirtualService left behind, or
/// written by hand).
#[test]
fn a_client_cannot_pick_a_revision_on_a_host_the_filter_passes_through() {
    if support::wasm_only(ISTIO_IS_WASM) {
        return;
    }
    let mut plugin = istio::wasm_plugin();
    plugin["spec"]["pluginConfig"]["services"][0]["customDomains"] = json!(["*.weimoba.com"]);
    let mut vs = istio::virtual_service();
    for host in ["*.weimoba.com", "stale.example.com"] {
        vs["spec"]["hosts"]
            .as_array_mut()
            .unwrap()
            .push(json!(host));
    }
    let mut gateway = istio::gateway();
    gateway["spec"]["servers"][0]["hosts"]
        .as_array_mut()
        .unwrap()
        .push(json!("*.weimoba.com"));
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    let backends: BTreeMap<String, &Backend> =
        support::clusters("outbound|80||traffic-example-", &revisions)
            .into_iter()
            .map(|(name, b)| (format!("{name}.default.svc.cluster.local"), b))
            .collect();
    for bin in support::envoys() {
        let envoy = istio::gateway_envoy(&bin, &gateway, &plugin, &[vs.clone()], &backends);
        let v = envoy.version.clone();

        // One label in front of the wildcard: the filter routes it, and
        // overwrites what the client sent.
        for _ in 0..20 {
            let r = envoy.get(
                "hello.weimoba.com",
                "/",
                &[
                    ("Knative-Serving-Revision", "traffic-example-v2"),
                    ("X-Knative-Cluster", "traffic-example-v2"),
                    ("Knative-Serving-Tag", "v1"),
                ],
            );
            assert_eq!(r.revision(), Some("v1"), "Envoy {v}: {r:?}");
        }

        let before: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        for host in ["a.b.weimoba.com", "stale.example.com"] {
            for forged in [
                &[("Knative-Serving-Revision", "traffic-example-v2")][..],
                &[
                    ("Knative-Serving-Revision", "traffic-example-v2"),
                    ("X-Knative-Cluster", "traffic-example-v2"),
                ],
                &[
                    ("Knative-Serving-Revision", "traffic-example-v2"),
                    ("X-Knative-Cluster", "traffic-example-v2"),
                    ("X-Knative-Mirror-Cluster", "traffic-example-v3"),
                    ("Knative-Serving-Tag", "v2"),
                ],
            ] {
                let r = envoy.get(host, "/", forged);
                assert_eq!(r.status, 404, "Envoy {v}: {host} {forged:?}: {r:?}");
            }
        }
        let after: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        assert_eq!(
            before, after,
            "Envoy {v}: a request the filter passed through reached a revision"
        );
    }
}

/// The custom-domain example (seed 003's helloworld-go behind
/// helloworld-go.weimob.com and helloworld-go.weimobb.com, wid rules, 10%
/// shadow traffic to 00002) on the gateway's Envoy as Istio configures it
/// from the example's WasmPlugin, VirtualService and Gateway.
#[test]
fn the_custom_domain_example_routes_by_wid_and_mirrors_through_istio() {
    if support::wasm_only(ISTIO_IS_WASM) {
        return;
    }
    let documents = istio::stream("istio/examples/helloworld-go.yaml");
    let plugin = istio::only(&documents, "WasmPlugin");
    let gateway = istio::only(&documents, "Gateway");
    let virtual_services = istio::all(&documents, "VirtualService");
    let revisions = ["00001", "00002"].map(Backend::start);
    let [first, second] = &revisions;
    let backends: BTreeMap<String, &Backend> = revisions
        .iter()
        .map(|b| {
            let cluster = format!(
                "outbound|80||helloworld-go-{}.example.svc.cluster.local",
                b.resource
            );
            (cluster, b)
        })
        .collect();
    for bin in support::envoys() {
        let envoy = istio::gateway_envoy(&bin, gateway, plugin, &virtual_services, &backends);
        let v = envoy.version.clone();

        // Seed 003 section 3: the custom domains (and the service's own host)
        // by the wid prefix, with the port a load balancer may leave.
        for host in [
            "helloworld-go.weimob.com",
            "helloworld-go.weimobb.com",
            "helloworld-go.weimob.com:80",
            "helloworld-go.example.example.com",
        ] {
            support::assert_seed_003_wid_routing(&envoy, host);
        }
        for (tag, revision) in [("a", "00001"), ("b", "00002")] {
            let r = envoy.get(
                &format!("{tag}-helloworld-go.example.example.com"),
                "/",
                &[],
            );
            assert_eq!(r.revision(), Some(revision), "Envoy {v}: tag {tag}: {r:?}");
        }
        // No tag hosts are derived from the custom domains (customDomainTags
        // is not set): the gateway has no such host.
        let before = (first.requests().len(), second.requests().len());
        let r = envoy.get("a-helloworld-go.weimob.com", "/", &[("wid", "a")]);
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");

        // Shadow traffic: without a wid, every answer is 00001's, and 10% of
        // those requests are copied to 00002, marked by Envoy's -shadow host.
        let n = 2000;
        for i in 0..n {
            let r = envoy.get("helloworld-go.weimob.com", &format!("/orders/{i}"), &[]);
            assert_eq!(r.status, 200, "Envoy {v}: {r:?}");
            assert_eq!(
                r.revision(),
                Some("00001"),
                "Envoy {v}: clients see only 00001: {r:?}"
            );
        }
        let copies = settled_requests(second, before.1);
        assert_eq!(first.requests().len() - before.0, n as usize, "Envoy {v}");
        assert_binomial(
            &format!("Envoy {v}: copies at 00002"),
            copies.len() as u64,
            n,
            0.1,
        );
        for line in &copies {
            assert!(line.starts_with("GET /orders/"), "Envoy {v}: {line}");
            assert!(
                line.contains(" host=helloworld-go.weimob.com-shadow")
                    || line.contains(" :authority=helloworld-go.weimob.com-shadow"),
                "Envoy {v}: {line}"
            );
            assert!(
                line.contains(" knative-serving-revision=helloworld-go-00001"),
                "{line}"
            );
        }
        eprintln!(
            "Istio-shaped Envoy {v}: {} of {n} requests to helloworld-go.weimob.com copied to 00002",
            copies.len()
        );

        // Requests 00002 serves itself (wid b) are never copied to it.
        let before = second.requests().len();
        for _ in 0..50 {
            let r = envoy.get("helloworld-go.weimobb.com", "/", &[("wid", "b")]);
            assert_eq!(r.revision(), Some("00002"), "Envoy {v}: {r:?}");
        }
        let received = settled_requests(second, before);
        assert_eq!(received.len(), 50, "Envoy {v}: {received:?}");
        assert!(received.iter().all(|l| !l.contains("-shadow")), "Envoy {v}");
    }
}

/// The harness translates a route's mirror fields as Istio does: the
/// cluster of the mirror destination, and the share as Envoy's fractional
/// percent (per million for `mirrorPercentage`, per hundred for the
/// integer forms and the default, none for an explicit 0).
#[test]
fn mirrors_translate_as_istio_translates_them() {
    if support::wasm_only(ISTIO_IS_WASM) {
        return;
    }
    let destination = |host: &str| json!({"host": host, "port": {"number": 80}});
    let translated = |extra: Value| {
        let mut http = json!({
            "match": [{"headers": {"knative-serving-revision": {"exact": "a"}}}],
            "route": [{"destination": destination("a.ns.svc.cluster.local")}]
        });
        for (k, v) in extra.as_object().unwrap() {
            http[k] = v.clone();
        }
        let vs = json!({"spec": {"http": [http]}});
        istio::header_routes(&vs)[0]
            .mirrors
            .iter()
            .map(|m| (m.cluster.clone(), m.numerator, m.denominator))
            .collect::<Vec<_>>()
    };
    let b = "outbound|80||b.ns.svc.cluster.local".to_owned();
    let mirror = destination("b.ns.svc.cluster.local");
    assert_eq!(translated(json!({})), []);
    assert_eq!(
        translated(json!({"mirror": mirror})),
        [(b.clone(), 100, "HUNDRED")]
    );
    assert_eq!(
        translated(json!({"mirror": mirror, "mirrorPercentage": {"value": 100.0}})),
        [(b.clone(), 1_000_000, "MILLION")]
    );
    assert_eq!(
        translated(json!({"mirror": mirror, "mirrorPercentage": {"value": 12.5}})),
        [(b.clone(), 125_000, "MILLION")]
    );
    assert_eq!(
        translated(json!({"mirror": mirror, "mirrorPercentage": {"value": 0}})),
        []
    );
    assert_eq!(
        translated(json!({"mirror": mirror, "mirrorPercent": 7})),
        [(b.clone(), 7, "HUNDRED")]
    );
    assert_eq!(
        translated(json!({"mirrors": [
            {"destination": mirror, "percentage": {"value": 50}},
            {"destination": destination("c.ns.svc.cluster.local")}
        ]})),
        [
            (b, 500_000, "MILLION"),
            (
                "outbound|80||c.ns.svc.cluster.local".to_owned(),
                100,
                "HUNDRED"
            )
        ]
    );
}

/// Gateway server hosts meet VirtualService hosts as Istio intersects them:
/// the narrower of two overlapping names.
#[test]
fn gateway_hosts_intersect_as_istio_intersects_them() {
    if support::wasm_only(ISTIO_IS_WASM) {
        return;
    }
    let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    for (server, vs, want) in [
        (
            &["*.example.com"][..],
            &["a.example.com", "a.b.example.com", "example.com"][..],
            &["a.example.com", "a.b.example.com"][..],
        ),
        (
            &["a.example.com", "*.net"],
            &["*.com", "b.net"],
            &["a.example.com", "b.net"],
        ),
        (
            &["*.example.com"],
            &["*.b.example.com"],
            &["*.b.example.com"],
        ),
        (
            &["*.b.example.com"],
            &["*.example.com"],
            &["*.b.example.com"],
        ),
        (&["*"], &["x.y", "*.z"], &["x.y", "*.z"]),
        (&["a.com"], &["b.com"], &[]),
    ] {
        assert_eq!(
            istio::intersection(&names(server), &names(vs)),
            names(want),
            "{server:?} ∩ {vs:?}"
        );
    }
}
