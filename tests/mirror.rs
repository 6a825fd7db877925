//! Shadow traffic: the share of requests mirrored to a candidate, and never
//! to the revision that serves them; and its configuration errors.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::{errors, helloworld, rng, table, HELLOWORLD, SEED};

use std::collections::HashMap;

use knative_traffic::request::PlainRequest;
use knative_traffic::{Decision, RouteTable};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;
use serde_json::{json, Value};

fn mirrored(extra_mirror: Value) -> Value {
    let mut mirror = json!({"tag": "b", "percent": 10});
    for (k, v) in extra_mirror.as_object().unwrap() {
        mirror[k] = v.clone();
    }
    helloworld(100, &json!({"mirror": mirror}))
}

/// (served, mirrored to) per request over `n` requests.
fn mirror_counts(
    t: &RouteTable,
    host: &str,
    req: &PlainRequest,
    n: u32,
) -> HashMap<(String, Option<String>), u32> {
    let mut rng = XorShiftRng::seed_from_u64(99);
    let mut counts = HashMap::new();
    for _ in 0..n {
        match t.route(host, req, &mut rng) {
            Decision::Route(r) => {
                let key = (
                    r.destination.revision.to_string(),
                    r.mirror.map(|m| m.revision.to_string()),
                );
                *counts.entry(key).or_insert(0) += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    counts
}

#[test]
fn a_share_of_requests_is_mirrored_to_the_candidate() {
    let t = table(&mirrored(json!({})));
    let n = 100_000;
    let counts = mirror_counts(&t, HELLOWORLD, &PlainRequest::default(), n);
    let copied = counts
        .get(&(
            "helloworld-go-00001".into(),
            Some("helloworld-go-00002".into()),
        ))
        .copied()
        .unwrap_or(0);
    // Binomial, 4 sigma: 10,000 ± 379.
    assert!((9_621..=10_379).contains(&copied), "{counts:?}");
    assert_eq!(counts.values().sum::<u32>(), n);
    // The primary decision is unchanged: everything served by 00001.
    assert!(counts
        .keys()
        .all(|(served, _)| served == "helloworld-go-00001"));
    // The header goes on mirrored requests only.
    let mut rng = XorShiftRng::seed_from_u64(1);
    for _ in 0..200 {
        if let Decision::Route(r) = t.route(HELLOWORLD, &PlainRequest::default(), &mut rng) {
            let header: Vec<_> = r
                .request_headers()
                .filter(|(k, _)| *k == "x-knative-mirror-cluster")
                .collect();
            let want = r.mirror.map(|_| "helloworld-go-00002");
            assert_eq!(header, vec![("x-knative-mirror-cluster", want)]);
        }
    }
}

#[test]
fn fractions_down_to_a_hundredth_of_a_percent() {
    let t = table(&mirrored(json!({"percent": 0.05})));
    let n = 400_000;
    let copied: u32 = mirror_counts(&t, HELLOWORLD, &PlainRequest::default(), n)
        .iter()
        .filter(|((_, m), _)| m.is_some())
        .map(|(_, c)| c)
        .sum();
    // 0.05% of 400,000 = 200 ± 4·sqrt(200·0.9995) ≈ 56.6
    assert!((143..=257).contains(&copied), "{copied}");
}

#[test]
fn never_mirrored_to_the_serving_revision_nor_tagged_requests_unless_asked() {
    let t = table(&mirrored(json!({"percent": 100})));
    let only = |host: &str, req: &PlainRequest| {
        mirror_counts(&t, host, req, 50)
            .into_keys()
            .collect::<Vec<_>>()
    };
    // Served by 00002 itself: no copy.
    assert_eq!(
        only(
            "b-helloworld-go.example.example.com",
            &PlainRequest::default()
        ),
        [("helloworld-go-00002".into(), None)]
    );
    // A tag host or tag header reaching 00001: no copy by default...
    assert_eq!(
        only(
            "a-helloworld-go.example.example.com",
            &PlainRequest::default()
        ),
        [("helloworld-go-00001".into(), None)]
    );
    assert_eq!(
        only(
            HELLOWORLD,
            &PlainRequest::default().with_header("knative-serving-tag", "a")
        ),
        [("helloworld-go-00001".into(), None)]
    );
    // ...and with includeTagged, a copy.
    let t = table(&mirrored(json!({"percent": 100, "includeTagged": true})));
    let only = |host: &str| {
        mirror_counts(&t, host, &PlainRequest::default(), 50)
            .into_keys()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        only("a-helloworld-go.example.example.com"),
        [(
            "helloworld-go-00001".into(),
            Some("helloworld-go-00002".into())
        )]
    );
}

#[test]
fn mirror_to_a_revision_outside_traffic_and_count_copies() {
    let t = table(&helloworld(
        100,
        &json!({"mirror": {"revisionName": "helloworld-go-00003", "percent": 100}}),
    ));
    let counts = mirror_counts(&t, HELLOWORLD, &PlainRequest::default(), 10);
    assert_eq!(
        counts.into_keys().collect::<Vec<_>>(),
        [(
            "helloworld-go-00001".into(),
            Some("helloworld-go-00003".into())
        )]
    );
    let names: HashMap<_, String> = t.metrics().collect();
    let decision = t.route(HELLOWORLD, &PlainRequest::default(), &mut rng(SEED));
    assert_eq!(
        names[&decision.mirrored_slot().unwrap()],
        "knative_traffic.mirrored.namespace.example.service.helloworld-go.revision.helloworld-go-00003"
    );
}

/// The candidate a service mirrors to, with the cluster the filter writes
/// into the mirror header, whether named by tag or by revision.
#[test]
fn the_mirror_destination_is_the_candidate() {
    let t = table(&mirrored(json!({})));
    let d = t.services()[0].mirror_destination().unwrap();
    assert_eq!(
        (&*d.revision, d.cluster()),
        ("helloworld-go-00002", "helloworld-go-00002")
    );
    let mut config = helloworld(
        100,
        &json!({"mirror": {"revisionName": "helloworld-go-00003", "percent": 5}}),
    );
    config["clusterTemplate"] = json!("{service}-{revision}");
    let t = table(&config);
    let d = t.services()[0].mirror_destination().unwrap();
    assert_eq!(
        (&*d.revision, d.cluster()),
        ("helloworld-go-00003", "helloworld-go-helloworld-go-00003")
    );
    assert_eq!(
        table(&helloworld(50, &json!({}))).services()[0].mirror_destination(),
        None
    );
}

#[test]
fn mirror_errors() {
    let bad = |mirror: Value| errors(&helloworld(50, &json!({"mirror": mirror})));
    let prefix = "services[0] (helloworld-go): ";
    assert_eq!(
        bad(json!({"tag": "c", "percent": 10})),
        [format!(
            "{prefix}mirror: tag \"c\" is not a tag of this service's traffic"
        )]
    );
    assert_eq!(
        bad(json!({"percent": 10})),
        [format!("{prefix}mirror: set one of tag or revisionName")]
    );
    assert_eq!(
        bad(json!({"tag": "b", "revisionName": "x", "percent": 10})),
        [format!("{prefix}mirror: set one of tag or revisionName")]
    );
    for p in [json!(0.001), json!(-1), json!(100.5)] {
        assert_eq!(
            bad(json!({"tag": "b", "percent": p})),
            [format!(
                "{prefix}mirror.percent must be from 0 to 100 in steps of 0.01, got {p}"
            )]
        );
    }
    let mut config = helloworld(50, &json!({}));
    config["mirrorHeader"] = json!("X-Knative-Cluster");
    assert_eq!(
        errors(&config),
        ["mirrorHeader: \"x-knative-cluster\" is the clusterHeader too; they must differ"]
    );
}
