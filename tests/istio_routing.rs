//! The Istio routing pattern without Kubernetes: real Envoy (every installed
//! version) configured as Istio configures its ingress gateway from
//! istio/wasmplugin.yaml and istio/virtualservice.yaml:
//!
//! - the filter comes over ECDS under Istio's filter name, with Istio's
//!   plugin name and root id, and `pluginConfig` as a JSON string;
//! - the routes are the VirtualService's: one per revision, matching the
//!   `knative-serving-revision` header the filter writes, to the cluster
//!   `outbound|80||{revision}.default.svc.cluster.local`; no
//!   `cluster_header`, no catch-all route.
//!
//! Every request starts with no route (it carries no revision header when
//! Envoy first selects one), so each 200 below also shows that Envoy selected
//! the route again after the filter ran.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{json, Value};
use support::istio;
use support::{assert_binomial, scratch_dir, static_cluster, wasm, Backend, Envoy, EnvoyConfig};

const SERVICE: &str = "traffic-example.default.example.com";

/// The gateway's Envoy for these manifests, with each cluster the
/// VirtualService names pointing at the backend of its revision.
fn istio_gateway(bin: &Path, backends: &BTreeMap<String, &Backend>) -> Envoy {
    let plugin = istio::wasm_plugin();
    let vs = istio::virtual_service();
    let dir = scratch_dir("istio-ecds");
    let ecds = istio::write_ecds(&dir, &[istio::wasm_extension_config(&plugin, &wasm())]);
    let clusters: Vec<Value> = istio::header_routes(&vs)
        .iter()
        .map(|route| {
            let (_, revision) = route
                .headers
                .iter()
                .find(|(name, _)| name == "knative-serving-revision")
                .unwrap_or_else(|| panic!("route {route:?} matches no knative-serving-revision"));
            let backend = backends
                .get(revision)
                .unwrap_or_else(|| panic!("no backend for revision {revision}"));
            static_cluster(&route.cluster, backend.port)
        })
        .collect();
    let config = json!({
        "node": {
            "id": "router~127.0.0.1~istio-ingressgateway.istio-system~istio-system.svc.cluster.local",
            "cluster": "istio-ingressgateway.istio-system"
        },
        "admin": {},
        "static_resources": {
            "listeners": [{
                "name": "0.0.0.0_8080",
                "address": {},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "outbound_0.0.0.0_8080",
                        "route_config": istio::gateway_route_config(&vs, 80),
                        "http_filters": [
                            istio::wasm_http_filter(&plugin, &ecds),
                            {
                                "name": "envoy.filters.http.router",
                                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
                            }
                        ]
                    }
                }]}]
            }],
            "clusters": clusters
        }
    });
    Envoy::start(bin, EnvoyConfig(config))
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
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    let backends: BTreeMap<String, &Backend> = revisions
        .iter()
        .map(|b| (format!("traffic-example-{}", b.resource), b))
        .collect();
    let filter_name = istio::filter_name(&istio::wasm_plugin());
    for bin in support::envoys() {
        let envoy = istio_gateway(&bin, &backends);
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
        // the VirtualService does not list: Envoy's 404, even with a
        // revision header.
        let before: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        let r = envoy.get(&format!("v9-{SERVICE}"), "/", &[]);
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");
        assert_eq!(r.body, "service traffic-example.default has no such tag\n");
        let r = envoy.get(
            "elsewhere.example.com",
            "/",
            &[("Knative-Serving-Revision", "traffic-example-v1")],
        );
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");
        let after: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        assert_eq!(before, after, "Envoy {v}: a 404 must reach no revision");
    }
}
