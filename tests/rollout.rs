//! Timed rollouts on exact instants; and their configuration errors.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::{errors, rng, routed, table, SEED};

use std::collections::HashMap;

use knative_traffic::request::PlainRequest;
use knative_traffic::{Decision, Reason, RouteTable};
use serde_json::{json, Value};

const T0: u64 = 1_795_622_400_000; // 2026-11-25T16:00:00Z

fn rolling(steps: Option<u32>) -> RouteTable {
    let mut rollout =
        json!({"revisionName": "web-3", "start": "2026-11-25T16:00:00Z", "duration": "400s"});
    if let Some(steps) = steps {
        rollout["steps"] = json!(steps);
    }
    table(&json!({"services": [{
        "name": "web", "namespace": "ns", "latestReadyRevisionName": "web-3",
        "traffic": [
            {"tag": "old", "revisionName": "web-1", "percent": 60},
            {"tag": "prev", "revisionName": "web-2", "percent": 40},
            {"tag": "latest", "latestRevision": true, "percent": 0}
        ],
        "rollout": rollout,
        "sticky": {"header": "x-user"}
    }]}))
}

/// Share of each revision among 10,000 keys spread evenly over the buckets:
/// sticky routing by key reads the split exactly.
fn split_at(t: &RouteTable, now_ms: u64) -> Vec<(String, u32)> {
    let shares = |now| {
        let mut counts: HashMap<String, u32> = HashMap::new();
        for i in 0..20_000 {
            let req = PlainRequest::default()
                .with_header("x-user", &format!("k{i}"))
                .at(now);
            *counts.entry(revision_ws(t, &req)).or_insert(0) += 1;
        }
        counts
    };
    let mut v: Vec<(String, u32)> = shares(now_ms).into_iter().collect();
    v.sort();
    v
}

fn revision_ws(t: &RouteTable, req: &PlainRequest) -> String {
    match t.route("web.ns", req, &mut rng(SEED)) {
        Decision::Route(r) => r.destination.revision.to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rollout_steps_on_exact_instants() {
    let t = rolling(Some(4));
    let rollout = t.services()[0].rollout().unwrap();
    assert_eq!(rollout.start_ms(), T0);
    assert_eq!(rollout.end_ms(), T0 + 400_000);
    // Layout: web-1, web-2, then web-3; web-2 (the newest older one) drains first.
    let percents = |k| -> Vec<(usize, u32)> {
        let shares = rollout.step_shares(k).unwrap();
        shares.into_iter().map(|(d, p)| (d.index(), p)).collect()
    };
    assert_eq!(percents(0), vec![(0, 60), (1, 39), (2, 1)]);
    assert_eq!(percents(1), vec![(0, 60), (1, 14), (2, 26)]);
    assert_eq!(percents(2), vec![(0, 49), (2, 51)]);
    assert_eq!(percents(3), vec![(0, 24), (2, 76)]);
    assert_eq!(percents(4), vec![(2, 100)]);
    // The request path uses the step of its instant.
    let web3 = |now| {
        let counts = split_at(&t, now);
        counts
            .iter()
            .find(|(r, _)| r == "web-3")
            .map_or(0, |(_, c)| *c)
    };
    assert_eq!(web3(T0 - 1), 0);
    let one_percent = web3(T0);
    assert!(
        (100..=300).contains(&one_percent),
        "{one_percent} of 20000 at 1%"
    );
    assert_eq!(web3(T0 + 400_000), 20_000);
    assert_eq!(web3(T0 + 10_000_000), 20_000);
}

#[test]
fn a_rollout_moves_no_key_away_from_the_new_revision() {
    let t = rolling(None); // default: 99 moves of 1%, about 4 s apart
    let keys: Vec<String> = (0..3000).map(|i| format!("key-{i}")).collect();
    let mut previous: HashMap<&str, String> = HashMap::new();
    for second in (0..=400).step_by(4) {
        let now = T0 + second * 1000;
        for key in &keys {
            let r = revision_ws(
                &t,
                &PlainRequest::default().with_header("x-user", key).at(now),
            );
            if let Some(before) = previous.get(key.as_str()) {
                if before == "web-3" {
                    assert_eq!(r, "web-3", "{key} left web-3 at +{second}s");
                }
                if before == "web-1" && r != "web-1" {
                    assert_eq!(r, "web-3");
                }
            }
            previous.insert(key, r);
        }
    }
    assert!(previous.values().all(|r| r == "web-3"));
}

#[test]
fn tags_still_reach_their_revisions_during_a_rollout() {
    let t = rolling(Some(4));
    let req = PlainRequest::default().at(T0 + 250_000);
    assert_eq!(
        routed(&t, "old-web.ns", &req),
        ("web-1".into(), Reason::TagHost)
    );
    assert_eq!(
        routed(&t, "prev-web.ns", &req),
        ("web-2".into(), Reason::TagHost)
    );
    assert_eq!(
        routed(&t, "latest-web.ns", &req),
        ("web-3".into(), Reason::TagHost)
    );
}

#[test]
fn rollout_errors() {
    let service = |rollout: Value, percent3: u32| {
        json!({"services": [{
            "name": "web", "namespace": "ns",
            "traffic": [
                {"revisionName": "web-1", "percent": 100 - percent3},
                {"revisionName": "web-3", "percent": percent3}
            ],
            "rollout": rollout
        }]})
    };
    let prefix = "services[0] (web): ";
    assert_eq!(
        errors(&service(json!({"revisionName": "web-3", "start": "2026-11-25T16:00:00Z", "duration": "10m"}), 30)),
        [format!("{prefix}rollout: revision \"web-3\" already has 30% of the traffic; a rollout starts from 0%")]
    );
    assert_eq!(
        errors(&service(
            json!({"start": "2026-11-25T16:00:00Z", "duration": "10m"}),
            0
        )),
        [format!(
            "{prefix}rollout: no revisionName, and no latestReadyRevisionName to roll to"
        )]
    );
    assert_eq!(
        errors(&service(json!({"revisionName": "web-4", "start": "tomorrow", "duration": "10 minutes"}), 0)),
        [
            format!("{prefix}rollout.start: \"tomorrow\" is not an RFC 3339 instant (e.g. 2026-11-25T16:00:00Z)"),
            format!("{prefix}rollout.duration: \"10 minutes\" is not a positive duration (e.g. 10m, 1h30m, 380s)"),
        ]
    );
    assert_eq!(
        errors(&service(
            json!({"revisionName": "web-4", "start": "2026-11-25T16:00:00Z", "duration": "0s"}),
            0
        )),
        [format!(
            "{prefix}rollout.duration: \"0s\" is not a positive duration (e.g. 10m, 1h30m, 380s)"
        )]
    );
    assert_eq!(
        errors(&service(
            json!({"revisionName": "web-4", "start": "2026-11-25T16:00:00Z", "duration": "10m", "steps": 100}),
            0
        )),
        [format!(
            "{prefix}rollout.steps must be from 1 to 99, got 100"
        )]
    );
    // A revision outside traffic is fine: it gets a cluster like any other.
    assert!(errors(&service(
        json!({"revisionName": "web-4", "start": "2026-11-25T16:00:00Z", "duration": "10m"}),
        0
    ))
    .is_empty());
}
