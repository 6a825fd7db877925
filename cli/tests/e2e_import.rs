//! `import-knative`, then real Envoy: the configuration the built tool writes
//! for Knative Services, loaded as it is into every installed Envoy with the
//! built `.wasm` and one demo-backend process per revision, routes as the
//! Knative Services do: the split of `spec.traffic`, every tag's URL from
//! `status.traffic`, the tag header, and 404 for a tag that does not exist.

// Tests report by panicking.
#![allow(clippy::restriction)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{assert_binomial, Backend, Envoy, EnvoyConfig};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The tool's output for a `kubectl get ksvc -o json` document.
fn import(file: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_knative-traffic"))
        .arg("import-knative")
        .arg(data(file))
        .output()
        .expect("run knative-traffic");
    assert!(output.status.success(), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn ksvc(file: &str) -> Value {
    let text = std::fs::read_to_string(data(file)).expect("read the ksvc document");
    serde_json::from_str(&text).expect("ksvc JSON")
}

/// The host of a Knative status URL.
fn host(url: &Value) -> String {
    let url = url.as_str().expect("a URL");
    url.split_once("://").expect("a scheme").1.to_owned()
}

/// Starts Envoy with the shipped envoy.yaml, the imported configuration as the
/// tool wrote it, and one cluster per revision.
fn envoy(bin: &Path, configuration: &str, clusters: &BTreeMap<String, &Backend>) -> Envoy {
    let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
    // Both sides of Knative's gateways: the imported List has a public and
    // a cluster-local Service.
    config
        .set_plugin_configuration_text(configuration)
        .set_clusters(clusters)
        .set_root_id("knative-traffic.both");
    Envoy::start(bin, config)
}

/// Answers per demo revision for `n` requests to `host`.
fn counts(envoy: &Envoy, host: &str, headers: &[(&str, &str)], n: u64) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for _ in 0..n {
        let r = envoy.get(host, "/", headers);
        assert_eq!(r.status, 200, "Envoy {}: {host}: {r:?}", envoy.version);
        let revision = r.revision().unwrap_or_else(|| panic!("{r:?}")).to_owned();
        *counts.entry(revision).or_insert(0) += 1;
    }
    counts
}

fn count(counts: &HashMap<String, u64>, revision: &str) -> u64 {
    counts.get(revision).copied().unwrap_or(0)
}

/// The seed's traffic-example, imported from `kubectl get ksvc -o json`:
/// v1 80%, v2 20%, the 0% `latest` tag on v3, in domain knative.kuberun.com.
#[test]
fn an_imported_service_routes_as_the_knative_service_does() {
    let configuration = import("traffic-example.json");
    let ksvc = ksvc("traffic-example.json");
    let main_host = host(&ksvc["status"]["url"]);
    assert_eq!(main_host, "traffic-example.default.knative.kuberun.com");

    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    let clusters = support::clusters("traffic-example-", &revisions);
    for bin in support::envoys() {
        let envoy = envoy(&bin, &configuration, &clusters);
        let v = envoy.version.clone();

        // spec.traffic's split on the Service's URL.
        let n = 1000;
        let split = counts(&envoy, &main_host, &[], n);
        assert_binomial(
            &format!("Envoy {v}: v1 at 80%"),
            count(&split, "v1"),
            n,
            0.8,
        );
        assert_binomial(
            &format!("Envoy {v}: v2 at 20%"),
            count(&split, "v2"),
            n,
            0.2,
        );
        assert_eq!(count(&split, "v3"), 0, "Envoy {v}: v3 is at 0%: {split:?}");

        // Every tag's URL, as status.traffic reports it, reaches its revision,
        // the 0% latest tag included.
        for target in ksvc["status"]["traffic"]
            .as_array()
            .expect("status.traffic")
        {
            let tag_host = host(&target["url"]);
            let tag = target["tag"].as_str().expect("a tag");
            let revision = target["revisionName"].as_str().expect("a revision");
            let resource = revision
                .strip_prefix("traffic-example-")
                .expect("a seed revision");
            for _ in 0..20 {
                let r = envoy.get(&tag_host, "/", &[]);
                assert_eq!(r.revision(), Some(resource), "Envoy {v}: {tag_host}: {r:?}");
                assert_eq!(r.seen("knative-serving-tag"), Some(tag));
                assert_eq!(r.seen("knative-serving-revision"), Some(revision));
                assert_eq!(r.seen("knative-serving-namespace"), Some("default"));
            }
            // The same tag by header on the main host.
            let r = envoy.get(&main_host, "/", &[("Knative-Serving-Tag", tag)]);
            assert_eq!(
                r.revision(),
                Some(resource),
                "Envoy {v}: header {tag}: {r:?}"
            );
        }

        // A tag the Service does not have: 404, as Knative's gateway answers.
        let before: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        let r = envoy.get("v3-traffic-example.default.knative.kuberun.com", "/", &[]);
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");
        let after: Vec<usize> = revisions.iter().map(|b| b.requests().len()).collect();
        assert_eq!(before, after, "a 404 reaches no revision");
    }
}

/// `kubectl get ksvc -o json` of two namespaces: the seed's helloworld-go
/// (tags a and b at 50/50, domain example.com) and a cluster-local Service
/// reached only on its cluster hosts.
#[test]
fn an_imported_list_routes_each_service() {
    let configuration = import("ksvc-list.json");
    let revisions = ["00001", "00002", "payments"].map(Backend::start);
    let clusters: BTreeMap<String, &Backend> = [
        ("helloworld-go-00001", &revisions[0]),
        ("helloworld-go-00002", &revisions[1]),
        ("payments-00004", &revisions[2]),
    ]
    .into_iter()
    .map(|(name, backend)| (name.to_owned(), backend))
    .collect();
    for bin in support::envoys() {
        let envoy = envoy(&bin, &configuration, &clusters);
        let v = envoy.version.clone();

        let n = 1000;
        let split = counts(&envoy, "helloworld-go.example.example.com", &[], n);
        assert_binomial(
            &format!("Envoy {v}: 00001 at 50%"),
            count(&split, "00001"),
            n,
            0.5,
        );
        assert_eq!(count(&split, "00001") + count(&split, "00002"), n);
        for (tag, resource) in [("a", "00001"), ("b", "00002")] {
            let tag_host = format!("{tag}-helloworld-go.example.example.com");
            let r = envoy.get(&tag_host, "/", &[]);
            assert_eq!(r.revision(), Some(resource), "Envoy {v}: {tag_host}: {r:?}");
        }
        let r = envoy.get("c-helloworld-go.example.example.com", "/", &[]);
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");

        // The cluster-local Service, at its status.url and the shorter
        // in-cluster names; 100% to its latest ready revision.
        for cluster_host in [
            "payments.shop.svc.cluster.local",
            "payments.shop.svc",
            "payments.shop",
        ] {
            let r = envoy.get(cluster_host, "/", &[]);
            assert_eq!(
                r.revision(),
                Some("payments"),
                "Envoy {v}: {cluster_host}: {r:?}"
            );
            assert_eq!(r.seen("knative-serving-revision"), Some("payments-00004"));
        }
        // It has no external host: the filter leaves that host alone.
        let r = envoy.get("payments.shop.example.com", "/", &[]);
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");
        assert_eq!(r.body, "no Knative service is configured at this host\n");
    }
}
