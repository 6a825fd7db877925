//! Knative's traffic model where it is more than a split, end to end on
//! every installed Envoy with the built module and one backend process per
//! revision:
//!
//! - a timed rollout of the latest-following share beside a pinned target
//!   (rollout_test.go TestStep "roll, where sum < 100%"), and of a
//!   latest-following tag's host;
//! - a cluster-local tag and a cluster-local service seen from a public and
//!   an internal listener of one Envoy with one configuration
//!   (`envoy/public-and-internal.yaml`);
//! - a non-default tag template, and a custom domain's `K-Original-Host`;
//! - the tag-header switch off.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use knative_traffic::time::format_instant;
use serde_json::{json, Value};
use support::{assert_binomial, Backend, Envoy, EnvoyConfig};

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Envoy with `config` and clusters `web-1` … for these backends, from the
/// repository's `file`, its filter's root id set to `root_id`.
fn envoy(bin: &Path, file: &str, root_id: &str, config: &Value, backends: &[Backend]) -> Envoy {
    let clusters: BTreeMap<String, &Backend> =
        backends.iter().map(|b| (b.resource.clone(), b)).collect();
    let mut envoy_config = EnvoyConfig::from_repo(file);
    envoy_config
        .set_plugin_configuration(config)
        .set_clusters(&clusters)
        .set_root_id(root_id);
    Envoy::start(bin, envoy_config)
}

/// The requests of one host in one phase, and how many each revision
/// answered.
type Answers = (u64, BTreeMap<String, u64>);

/// The latest-following 70% rolls from web-2 to web-3 in two steps over
/// six seconds (35% a step: 1%, 36%, 70%), web-1's pinned 30% stays, and the
/// `latest` tag's host rolls its 100% (1%, 51%, 100%). Each request is
/// judged by the phase it was wholly sent and answered in; requests across
/// a boundary (within a margin, for clock reads) are not judged. Bounds are
/// 4 sigma, with exact binomial tails (6.3e-5 false failures per check, 24
/// checks a run).
#[test]
fn a_latest_following_rollout_beside_a_pinned_target() {
    let backends = ["web-1", "web-2", "web-3"].map(Backend::start);
    for bin in support::envoys() {
        let start = unix_ms() + 8_000;
        let (step, end) = (start + 3_000, start + 6_000);
        let config = json!({"services": [{
            "name": "web", "namespace": "ns", "domain": "example.com",
            "latestReadyRevisionName": "web-3",
            "traffic": [
                {"tag": "pinned", "revisionName": "web-1", "percent": 30},
                {"latestRevision": true, "percent": 70},
                {"tag": "latest", "latestRevision": true, "percent": 0}
            ],
            "rollout": {"fromRevisionName": "web-2", "start": format_instant(start),
                        "duration": "6s", "steps": 2}
        }]});
        let envoy = envoy(
            &bin,
            "envoy/envoy.yaml",
            "knative-traffic",
            &config,
            &backends,
        );
        assert!(
            unix_ms() + 1_000 < start,
            "Envoy took too long to start for this test's schedule"
        );
        let margin = 150;
        let phases = [
            ("before", 0, start),
            ("first", start, step),
            ("step", step, end),
            ("after", end, u64::MAX),
        ];
        let mut seen: BTreeMap<(&str, &str), Answers> = BTreeMap::new();
        let hosts = ["web.ns.example.com", "latest-web.ns.example.com"];
        let mut i = 0usize;
        while unix_ms() < end + 1_500 {
            let host = hosts[i % 2];
            i += 1;
            let sent = unix_ms();
            let r = envoy.get(host, "/", &[]);
            let answered = unix_ms();
            assert_eq!(r.status, 200, "{r:?}");
            let phase = phases
                .iter()
                .find(|(_, from, to)| sent >= from + margin && answered + margin < *to)
                .map(|(name, _, _)| *name);
            if let Some(phase) = phase {
                let entry = seen.entry((host, phase)).or_default();
                entry.0 += 1;
                *entry
                    .1
                    .entry(r.revision().unwrap_or("?").to_owned())
                    .or_insert(0) += 1;
            }
        }
        let v = &envoy.version;
        let check = |host: &str, phase: &str, want: &[(&str, f64)]| {
            let (n, by) = &seen[&(host, phase)];
            assert!(
                *n > 30,
                "Envoy {v}: {n} requests to {host} in phase {phase}"
            );
            for (revision, p) in want {
                let got = by.get(*revision).copied().unwrap_or(0);
                assert_binomial(
                    &format!("Envoy {v}: {host} {phase}: {revision}"),
                    got,
                    *n,
                    *p,
                );
            }
            let known: u64 = want
                .iter()
                .map(|(r, _)| by.get(*r).copied().unwrap_or(0))
                .sum();
            assert_eq!(known, *n, "Envoy {v}: {host} {phase}: {by:?}");
        };
        let main = hosts[0];
        check(
            main,
            "before",
            &[("web-1", 0.30), ("web-2", 0.70), ("web-3", 0.0)],
        );
        check(
            main,
            "first",
            &[("web-1", 0.30), ("web-2", 0.69), ("web-3", 0.01)],
        );
        check(
            main,
            "step",
            &[("web-1", 0.30), ("web-2", 0.34), ("web-3", 0.36)],
        );
        check(
            main,
            "after",
            &[("web-1", 0.30), ("web-2", 0.0), ("web-3", 0.70)],
        );
        let tag = hosts[1];
        check(tag, "before", &[("web-2", 1.0), ("web-3", 0.0)]);
        check(tag, "first", &[("web-2", 0.99), ("web-3", 0.01)]);
        check(tag, "step", &[("web-2", 0.49), ("web-3", 0.51)]);
        check(tag, "after", &[("web-2", 0.0), ("web-3", 1.0)]);
        // The pinned tag is never rolled.
        for _ in 0..20 {
            let r = envoy.get("pinned-web.ns.example.com", "/", &[]);
            assert_eq!(r.revision(), Some("web-1"), "Envoy {v}: {r:?}");
        }
    }
}

/// `envoy/public-and-internal.yaml`'s two listeners with one configuration:
/// web is public with a cluster-local tag `green`; api is cluster-local
/// (visibility_test.go "two tags blue marked local", "no tag, route marked
/// local"). The public listener routes none of the cluster-local names nor
/// the cluster-local tag and service; the internal one routes exactly
/// those.
#[test]
fn cluster_local_names_stay_off_the_public_listener() {
    let backends = ["web-1", "web-2", "api-1"].map(Backend::start);
    let config = json!({"services": [
        {"name": "web", "namespace": "default", "domain": "example.com", "traffic": [
            {"tag": "blue", "revisionName": "web-1", "percent": 100},
            {"tag": "green", "revisionName": "web-2", "percent": 0, "visibility": "cluster-local"}
        ]},
        {"name": "api", "namespace": "default", "domain": "example.com", "visibility": "cluster-local",
         "traffic": [{"revisionName": "api-1", "percent": 100}]}
    ]});
    for bin in support::envoys() {
        let clusters: BTreeMap<String, &Backend> =
            backends.iter().map(|b| (b.resource.clone(), b)).collect();
        let mut envoy_config = EnvoyConfig::from_repo("envoy/public-and-internal.yaml");
        envoy_config
            .set_plugin_configuration(&config)
            .set_clusters(&clusters);
        let envoy = Envoy::start(&bin, envoy_config);
        let v = &envoy.version;
        let public =
            |host: &str, headers: &[(&str, &str)]| envoy.get_on("public", host, "/", headers);
        let internal =
            |host: &str, headers: &[(&str, &str)]| envoy.get_on("internal", host, "/", headers);
        let no_route = "no Knative service is configured at this host\n";
        // Public: the external hosts of public services and tags only.
        assert_eq!(
            public("web.default.example.com", &[]).revision(),
            Some("web-1")
        );
        assert_eq!(
            public("blue-web.default.example.com", &[]).revision(),
            Some("web-1")
        );
        for host in [
            "web.default",
            "web.default.svc",
            "web.default.svc.cluster.local",
            "green-web.default.svc.cluster.local",
            "api.default.svc.cluster.local",
            "api.default.example.com",
        ] {
            let r = public(host, &[]);
            assert_eq!(
                (r.status, r.body.as_str()),
                (404, no_route),
                "Envoy {v}: public {host}"
            );
        }
        // The cluster-local tag's external host is no tag's: the filter's
        // 404 for an unknown tag.
        let r = public("green-web.default.example.com", &[]);
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");
        assert_eq!(r.body, "service web.default has no such tag\n");
        // Nor does its tag header reach it from outside: the 0% revision
        // stays dark.
        for _ in 0..20 {
            let r = public(
                "web.default.example.com",
                &[("knative-serving-tag", "green")],
            );
            assert_eq!(r.revision(), Some("web-1"), "Envoy {v}: {r:?}");
        }
        // Internal: every cluster-local name, no external host.
        for (host, revision) in [
            ("web.default", "web-1"),
            ("web.default.svc.cluster.local", "web-1"),
            ("green-web.default", "web-2"),
            ("green-web.default.svc", "web-2"),
            ("green-web.default.svc.cluster.local", "web-2"),
            ("api.default.svc", "api-1"),
            ("api.default.svc.cluster.local", "api-1"),
        ] {
            let r = internal(host, &[]);
            assert_eq!(
                r.revision(),
                Some(revision),
                "Envoy {v}: internal {host}: {r:?}"
            );
        }
        let r = internal("web.default.svc", &[("knative-serving-tag", "green")]);
        assert_eq!(r.revision(), Some("web-2"), "Envoy {v}: {r:?}");
        let r = internal("web.default.example.com", &[]);
        assert_eq!((r.status, r.body.as_str()), (404, no_route), "Envoy {v}");
        assert!(
            envoy.log().contains("side cluster-local") && envoy.log().contains("side public"),
            "Envoy {v}: {}",
            envoy.log()
        );
    }
}

/// config-network's `tag-template: {{.Name}}-{{.Tag}}` (Knative's
/// TestGetAllDomainsAndTags "happy case"): tag hosts by it, in every zone,
/// a 404 for an unknown tag of that shape; and a custom domain's requests
/// carry `K-Original-Host` (DomainMapping's TestMakeIngress "basic").
#[test]
fn a_non_default_tag_template_and_a_custom_domain() {
    let backends = ["myroute-1", "myroute-2"].map(Backend::start);
    let config = json!({"tagTemplate": "{{.Name}}-{{.Tag}}", "services": [
        {"name": "myroute", "namespace": "default", "domain": "example.com",
         "customDomains": ["www.example.org"],
         "traffic": [
            {"tag": "target-1", "revisionName": "myroute-1", "percent": 100},
            {"tag": "target-2", "revisionName": "myroute-2", "percent": 0}
         ]}
    ]});
    for bin in support::envoys() {
        let envoy = envoy(
            &bin,
            "envoy/envoy.yaml",
            "knative-traffic.both",
            &config,
            &backends,
        );
        let v = &envoy.version;
        for host in [
            "myroute-target-2.default.example.com",
            "myroute-target-2.default.svc.cluster.local",
            "myroute-target-2.default",
        ] {
            let r = envoy.get(host, "/", &[]);
            assert_eq!(r.revision(), Some("myroute-2"), "Envoy {v}: {host}: {r:?}");
            assert_eq!(r.seen("knative-serving-tag"), Some("target-2"));
        }
        let r = envoy.get("myroute-target-9.default.example.com", "/", &[]);
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");
        assert_eq!(r.body, "service myroute.default has no such tag\n");
        // Knative's default shape is no tag host here.
        let r = envoy.get("target-2-myroute.default.example.com", "/", &[]);
        assert_eq!(
            r.body, "no Knative service is configured at this host\n",
            "Envoy {v}"
        );
        let r = envoy.get("www.example.org", "/", &[]);
        assert_eq!(r.revision(), Some("myroute-1"), "Envoy {v}: {r:?}");
        assert_eq!(r.seen("k-original-host"), Some("www.example.org"));
        let r = envoy.get(
            "myroute.default.example.com",
            "/",
            &[("k-original-host", "forged")],
        );
        assert_eq!(
            r.seen("k-original-host"),
            Some("forged"),
            "left as sent, as Knative does"
        );
    }
}

/// config-features' `tag-header-based-routing` off, as Knative ships it: the
/// tag header reaches no revision, and neither it nor
/// `Knative-Serving-Default-Route` is written (a client's own tag header
/// passes as sent).
#[test]
fn the_tag_header_switch_off() {
    let backends = ["web-1", "web-2"].map(Backend::start);
    let config = json!({"tagHeaderBasedRouting": false, "services": [
        {"name": "web", "namespace": "ns", "domain": "example.com", "traffic": [
            {"tag": "current", "revisionName": "web-1", "percent": 100},
            {"tag": "candidate", "revisionName": "web-2", "percent": 0}
        ]}
    ]});
    for bin in support::envoys() {
        let envoy = envoy(
            &bin,
            "envoy/envoy.yaml",
            "knative-traffic",
            &config,
            &backends,
        );
        let v = &envoy.version;
        for _ in 0..50 {
            let r = envoy.get(
                "web.ns.example.com",
                "/",
                &[("knative-serving-tag", "candidate")],
            );
            assert_eq!(r.revision(), Some("web-1"), "Envoy {v}: {r:?}");
            assert_eq!(r.seen("knative-serving-default-route"), None);
            assert_eq!(r.seen("knative-serving-tag"), Some("candidate"));
        }
        let r = envoy.get("candidate-web.ns.example.com", "/", &[]);
        assert_eq!(r.revision(), Some("web-2"), "Envoy {v}: {r:?}");
        assert_eq!(r.seen("knative-serving-tag"), None);
        assert_eq!(r.seen("knative-serving-revision"), Some("web-2"));
    }
}
