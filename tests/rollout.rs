//! Timed rollouts as Knative rolls them (serving
//! `pkg/reconciler/route/traffic/rollout.go`): the share of the targets that
//! follow the latest revision moves from the previous latest ready revision
//! to the new one, pinned targets keep their percent, and a latest-following
//! tag's host is itself split during the rollout; on exact instants; and the
//! configuration errors.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use std::collections::HashMap;

use fixtures::{errors, request, rng, routed, table, SEED};
use knative_traffic::request::PlainRequest;
use knative_traffic::{Decision, Reason, RouteTable};
use serde_json::{json, Value};

const T0: u64 = 1_795_622_400_000; // 2026-11-25T16:00:00Z

/// web in ns: web-1 pinned at 30% (tag `pinned`), and 70% following the
/// latest revision, web-3, rolled from web-2; tag `latest` follows it too.
fn rolling(rollout: Value) -> RouteTable {
    let mut spec =
        json!({"fromRevisionName": "web-2", "start": "2026-11-25T16:00:00Z", "duration": "400s"});
    for (k, v) in rollout.as_object().unwrap() {
        spec[k] = v.clone();
    }
    table(&json!({"services": [{
        "name": "web", "namespace": "ns", "latestReadyRevisionName": "web-3",
        "traffic": [
            {"tag": "pinned", "revisionName": "web-1", "percent": 30},
            {"latestRevision": true, "percent": 70},
            {"tag": "latest", "latestRevision": true, "percent": 0}
        ],
        "rollout": spec,
        "sticky": {"header": "x-user"}
    }]}))
}

/// Each revision's share of 20,000 keys at `host`: sticky routing by key
/// reads a split exactly (to within the keys' spread over the buckets).
fn shares_at(t: &RouteTable, host: &str, now_ms: u64) -> Vec<(String, u32)> {
    let mut counts: HashMap<String, u32> = HashMap::new();
    for i in 0..20_000 {
        let req = PlainRequest::default()
            .with_header("x-user", &format!("k{i}"))
            .at(now_ms);
        let revision = match t.route(host, &req, &mut rng(SEED)) {
            Decision::Route(r) => r.destination.revision.to_string(),
            other => panic!("{other:?}"),
        };
        *counts.entry(revision).or_insert(0) += 1;
    }
    let mut v: Vec<(String, u32)> = counts
        .into_iter()
        .map(|(r, c)| (r, (c + 100) / 200)) // in percent, rounded
        .collect();
    v.sort();
    v
}

fn percents(pairs: &[(&str, u32)]) -> Vec<(String, u32)> {
    pairs.iter().map(|(r, p)| ((*r).to_owned(), *p)).collect()
}

/// rollout_test.go TestStep "roll, where sum < 100% (one route targets a
/// revision, e.g.)": the latest-following 70% rolls, the pinned 30% stays,
/// and the rollout ends with the new revision at 70%, not 100%.
#[test]
fn knatives_test_step_roll_where_sum_is_below_100_percent() {
    let t = rolling(json!({"steps": 4}));
    let rollout = t.services()[0].rollout().unwrap();
    let route = rollout.route().unwrap();
    assert_eq!(route.share(), 70);
    assert_eq!(route.start_ms(), T0);
    assert_eq!(route.end_ms(), T0 + 400_000);
    let percent = |k| -> Vec<(usize, u32)> {
        let shares = route.step_shares(k).unwrap();
        shares.into_iter().map(|(d, p)| (d.index(), p)).collect()
    };
    // Destinations: web-1 (0), web-3 (1, the latest), web-2 (2, the
    // previous). "want: 70: [exile 69, let-it-bleed 1]".
    assert_eq!(
        route
            .shares_before()
            .into_iter()
            .map(|(d, p)| (d.index(), p))
            .collect::<Vec<_>>(),
        [(0, 30), (2, 70)]
    );
    // round(69 / 4) = 17: 1%, 18%, 35%, 52%, 69%, then the last 1%.
    assert_eq!(route.steps(), 5);
    assert_eq!(percent(0), [(0, 30), (2, 69), (1, 1)]);
    assert_eq!(percent(1), [(0, 30), (2, 52), (1, 18)]);
    assert_eq!(percent(4), [(0, 30), (2, 1), (1, 69)]);
    assert_eq!(percent(5), [(0, 30), (1, 70)]);
    // The request path takes the split of its instant.
    let main = |now| shares_at(&t, "web.ns", now);
    assert_eq!(main(T0 - 1), percents(&[("web-1", 30), ("web-2", 70)]));
    assert_eq!(
        main(T0),
        percents(&[("web-1", 30), ("web-2", 69), ("web-3", 1)])
    );
    assert_eq!(
        main(T0 + 100_000),
        percents(&[("web-1", 30), ("web-2", 52), ("web-3", 18)])
    );
    assert_eq!(
        main(T0 + 400_000),
        percents(&[("web-1", 30), ("web-3", 70)])
    );
    assert_eq!(
        main(T0 + 10_000_000),
        percents(&[("web-1", 30), ("web-3", 70)])
    );
}

/// traffic_test.go TestRoundTrippingWithRollout: a tag that follows the
/// latest revision has its own rollout, of its host's 100%, while a pinned
/// tag keeps its revision.
#[test]
fn knatives_round_tripping_with_rollout_a_latest_tag_host_is_split_too() {
    let t = rolling(json!({"steps": 4}));
    let tag = |now| shares_at(&t, "latest-web.ns", now);
    assert_eq!(tag(T0 - 1), percents(&[("web-2", 100)]));
    assert_eq!(tag(T0), percents(&[("web-2", 99), ("web-3", 1)]));
    assert_eq!(tag(T0 + 100_000), percents(&[("web-2", 74), ("web-3", 26)]));
    assert_eq!(tag(T0 + 400_000), percents(&[("web-3", 100)]));
    // The pinned tag is not rolled.
    for now in [T0, T0 + 200_000, T0 + 400_000] {
        assert_eq!(
            shares_at(&t, "pinned-web.ns", now),
            percents(&[("web-1", 100)])
        );
    }
    // The tag header reaches the same split as the tag's host.
    let req = request(&[("knative-serving-tag", "latest")]).at(T0 + 100_000);
    let (revision, reason) = routed(&t, "web.ns", &req);
    assert!(["web-2", "web-3"].contains(&revision.as_str()));
    assert_eq!(reason, Reason::TagHeader);
}

/// Without `steps`, Knative's timing (computeProperties with the minimum
/// step of 1 s): 400 s, 70%: 69 steps of 1% every 399 s / 69.
#[test]
fn knatives_timing_without_steps() {
    let t = rolling(json!({}));
    let route = t.services()[0].rollout().unwrap().route().unwrap();
    assert_eq!((route.steps(), route.step_size()), (69, 1));
    assert_eq!(route.step_start_ms(0), Some(T0));
    // 1 s + 5.7826 s, rounded up to the millisecond.
    assert_eq!(route.step_start_ms(1), Some(T0 + 6_783));
    assert_eq!(route.end_ms(), T0 + 400_000);
    // The tag's host, 100%: 99 steps of 1% every 399 s / 99.
    let main = shares_at(&t, "latest-web.ns", T0 + 200_500);
    assert_eq!(main, percents(&[("web-2", 50), ("web-3", 50)]));
    // A minimum step measured by Knative's controller, 3 s: the step size
    // grows where the steps would be shorter (38 s: round(69 / 11.67) = 6).
    let t = rolling(json!({"duration": "38s", "minStep": "3s"}));
    let route = t.services()[0].rollout().unwrap().route().unwrap();
    assert_eq!((route.steps(), route.step_size()), (12, 6));
    assert_eq!(route.step_start_ms(1), Some(T0 + 6_000));
}

#[test]
fn a_rollout_moves_no_key_away_from_the_new_revision() {
    let t = rolling(json!({})); // Knative's timing: 69 steps of 1%
    let keys: Vec<String> = (0..3000).map(|i| format!("key-{i}")).collect();
    let mut previous: HashMap<&str, String> = HashMap::new();
    for second in (0..=400).step_by(4) {
        let now = T0 + second * 1000;
        for key in &keys {
            let req = PlainRequest::default().with_header("x-user", key).at(now);
            let (r, _) = fixtures::routed(&t, "web.ns", &req);
            if let Some(before) = previous.get(key.as_str()) {
                if before == "web-3" {
                    assert_eq!(r, "web-3", "{key} left web-3 at +{second}s");
                }
                // Pinned keys never move; the previous revision's go only to
                // the new one.
                if before == "web-1" {
                    assert_eq!(r, "web-1", "{key} left the pinned web-1");
                }
                if before == "web-2" && r != "web-2" {
                    assert_eq!(r, "web-3");
                }
            }
            previous.insert(key, r);
        }
    }
    assert!(previous.values().all(|r| r == "web-3" || r == "web-1"));
}

#[test]
fn a_zero_second_rollout_is_none() {
    // Knative's annotation `0s`: no rollout; the latest ready revision has
    // its share at once.
    let t = rolling(json!({"duration": "0s"}));
    assert!(t.services()[0].rollout().is_none());
    assert_eq!(
        shares_at(&t, "web.ns", T0 + 1),
        percents(&[("web-1", 30), ("web-3", 70)])
    );
}

#[test]
fn rollout_errors() {
    let service = |rollout: Value, traffic: Value| {
        json!({"services": [{
            "name": "web", "namespace": "ns", "latestReadyRevisionName": "web-3",
            "traffic": traffic,
            "rollout": rollout
        }]})
    };
    let latest = json!([
        {"revisionName": "web-1", "percent": 30},
        {"latestRevision": true, "percent": 70}
    ]);
    let prefix = "services[0] (web): ";
    let at = |fields: Value| {
        let mut spec = json!({"start": "2026-11-25T16:00:00Z", "duration": "10m"});
        for (k, v) in fields.as_object().unwrap() {
            spec[k] = v.clone();
        }
        spec
    };
    // The earlier form, which drained every revision to the one named.
    assert_eq!(
        errors(&service(at(json!({"revisionName": "web-3"})), latest.clone())),
        [format!("{prefix}rollout.revisionName: a rollout rolls to latestReadyRevisionName, as Knative's does: make the revision to roll to the latestReadyRevisionName, give the share it should end with to targets with \"latestRevision\": true, and name the revision those targets followed before in rollout.fromRevisionName")]
    );
    assert_eq!(
        errors(&service(at(json!({})), latest.clone())),
        [format!("{prefix}rollout.fromRevisionName: missing: name the revision the latest-following targets move from (Knative's previous latest ready revision; the filter keeps no history)")]
    );
    assert_eq!(
        errors(&service(at(json!({"fromRevisionName": "web-3"})), latest.clone())),
        [format!("{prefix}rollout.fromRevisionName: \"web-3\" is the latest ready revision already: a rollout moves the latest-following share from another revision to it")]
    );
    // Only pinned targets, and a 1% latest share: nothing Knative rolls.
    for traffic in [
        json!([{"revisionName": "web-1", "percent": 100}]),
        json!([{"revisionName": "web-1", "percent": 99}, {"latestRevision": true, "percent": 1}]),
    ] {
        assert_eq!(
            errors(&service(at(json!({"fromRevisionName": "web-2"})), traffic)),
            [format!("{prefix}rollout: no target follows the latest revision with more than 1% (Knative rolls neither 0% nor 1%), and no tag follows it, so there is nothing to roll")]
        );
    }
    assert_eq!(
        errors(&service(
            json!({"fromRevisionName": "web-2", "start": "tomorrow", "duration": "10 minutes"}),
            latest.clone()
        )),
        [
            format!("{prefix}rollout.start: \"tomorrow\" is not an RFC 3339 instant (e.g. 2026-11-25T16:00:00Z)"),
            format!("{prefix}rollout.duration: \"10 minutes\" is not a duration (Go's syntax, e.g. 10m, 1h30m, 1.5m, 380s)"),
        ]
    );
    assert_eq!(
        errors(&service(
            at(json!({"fromRevisionName": "web-2", "duration": "211s44ms"})),
            latest.clone()
        )),
        [format!("{prefix}rollout.duration: \"211s44ms\" is not at second precision (Knative's rollout-duration is whole seconds)")]
    );
    assert_eq!(
        errors(&service(
            at(json!({"fromRevisionName": "web-2", "steps": 100})),
            latest.clone()
        )),
        [format!(
            "{prefix}rollout.steps must be from 1 to 99, got 100"
        )]
    );
    assert_eq!(
        errors(&service(
            at(json!({"fromRevisionName": "web-2", "steps": 4, "minStep": "2s"})),
            latest.clone()
        )),
        [format!("{prefix}rollout: set one of steps (equal steps ending at start + duration) or minStep (Knative's timing)")]
    );
    assert_eq!(
        errors(&service(
            at(json!({"fromRevisionName": "web-2", "minStep": "0s"})),
            latest.clone()
        )),
        [format!(
            "{prefix}rollout.minStep: must be at least 1s (Knative's least)"
        )]
    );
    // A previous revision outside traffic is fine: it gets a cluster like
    // any other.
    assert!(errors(&service(at(json!({"fromRevisionName": "web-2"})), latest)).is_empty());
}
