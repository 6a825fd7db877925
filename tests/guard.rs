//! A service's `guard`, in process: its configuration rules, the split it
//! falls back to, the answers it counts, and its verdict on the proxy's
//! ticks, shared by two workers (two filters over one stand-in proxy, as
//! two Envoy workers share its counters and shared data).

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::host::StandIn;
use fixtures::{errors, rng, table};
use knative_traffic::filter::host::Level;
use knative_traffic::filter::{Filter, Flow};
use knative_traffic::hosts::Side;
use knative_traffic::metrics::MetricIds;
use knative_traffic::split::BUCKETS_PER_PERCENT;
use serde_json::{json, Value};

const HOST: &str = "web.shop.example.com";

fn service(traffic: Value, extra: Value) -> Value {
    let mut service = json!({
        "name": "web", "namespace": "shop", "domain": "example.com",
        "traffic": traffic
    });
    for (k, v) in extra.as_object().unwrap() {
        service[k] = v.clone();
    }
    json!({"services": [service]})
}

/// A static canary: web-2 at 10% under a guard.
fn canary(guard: Value) -> Value {
    service(
        json!([
            {"tag": "stable", "revisionName": "web-1", "percent": 90},
            {"tag": "canary", "revisionName": "web-2", "percent": 10}
        ]),
        json!({"guard": guard}),
    )
}

/// The split's percents per revision, from a compiled service.
fn percents(split: &knative_traffic::split::Split, config: &Value) -> Vec<(String, f64)> {
    let table = table(config);
    let service = &table.services()[0];
    split
        .shares()
        .into_iter()
        .map(|(d, b)| {
            (
                service.destinations[d.index()].revision.to_string(),
                f64::from(b) / f64::from(BUCKETS_PER_PERCENT),
            )
        })
        .collect()
}

#[test]
fn guard_rules() {
    let prefix = "services[0] (web): ";
    let cases = [
        (json!({}), "guard: name the candidate with revisionName or tag (only a timed rollout has one by default, the revision it rolls to)"),
        (json!({"tag": "canary", "revisionName": "web-2"}), "guard: set at most one of revisionName or tag"),
        (json!({"tag": "nope"}), "guard.tag: tag \"nope\" is not a tag of this service's traffic"),
        (json!({"revisionName": "web-9"}), "guard.revisionName: \"web-9\" is not a revision of this service's traffic"),
        (json!({"tag": "canary", "minAnswers": 5}), "guard.minAnswers must be at least 20, got 5"),
        (json!({"tag": "canary", "tolerance": 0}), "guard.tolerance must be more than 0 and less than 100 percentage points, got 0"),
        (json!({"tag": "canary", "window": "1m30.5s"}), "guard.window: \"1m30.5s\" is not at second precision (Knative's rollout-duration is whole seconds)"),
        (json!({"tag": "canary", "window": "0s"}), "guard.window: must be at least 1s"),
        (json!({"tag": "canary", "latencyMs": 0}), "guard.latencyMs: must be at least 1"),
        (json!({"tag": "canary", "resumedAt": "yesterday"}), "guard.resumedAt: \"yesterday\" is not an RFC 3339 instant"),
        (json!({"tag": "canary", "minanswers": 50}), "guard: unknown field `minanswers`, did you mean `minAnswers`?"),
    ];
    for (guard, message) in cases {
        assert_eq!(
            errors(&canary(guard.clone())),
            [format!("{prefix}{message}")],
            "{guard}"
        );
    }
    // A candidate with no share of the split, or all of it.
    let zero = service(
        json!([{"revisionName": "web-1", "percent": 100}, {"tag": "next", "revisionName": "web-2", "percent": 0}]),
        json!({"guard": {"tag": "next"}}),
    );
    assert_eq!(errors(&zero), [format!("{prefix}guard: the candidate has 0% of the split, and no timed rollout gives it any: there is no share to guard")]);
    let all = service(
        json!([{"tag": "only", "revisionName": "web-1", "percent": 100}]),
        json!({"guard": {"tag": "only"}}),
    );
    assert_eq!(errors(&all), [format!("{prefix}guard: the candidate has the whole split: there is no other revision to give its share back to")]);
    // With a rollout, the guard guards the revision it rolls to.
    let rollout = service(
        json!([{"tag": "stable", "revisionName": "web-1", "percent": 50}, {"latestRevision": true, "percent": 50}]),
        json!({
            "latestReadyRevisionName": "web-3",
            "rollout": {"fromRevisionName": "web-2", "start": "2026-12-01T00:00:00Z", "duration": "10m"},
            "guard": {"tag": "stable"}
        }),
    );
    assert_eq!(errors(&rollout), [format!("{prefix}guard: the service's timed rollout rolls to \"web-3\": a guard on it guards that revision")]);
}

#[test]
fn a_static_canarys_share_goes_back_in_proportion() {
    let config = service(
        json!([
            {"revisionName": "web-1", "percent": 60},
            {"revisionName": "web-2", "percent": 30},
            {"tag": "canary", "revisionName": "web-3", "percent": 10}
        ]),
        json!({"guard": {"tag": "canary"}}),
    );
    let table = table(&config);
    let guard = table.services()[0].guard.as_ref().unwrap();
    let shares = percents(&guard.fallback, &config);
    assert_eq!(shares[0].0, "web-1");
    assert!((shares[0].1 - 66.67).abs() < 0.01, "{shares:?}");
    assert!((shares[1].1 - 33.33).abs() < 0.01, "{shares:?}");
    assert_eq!(shares.len(), 2);
}

#[test]
fn a_rollouts_fallback_is_the_split_before_it_started() {
    let config = service(
        json!([
            {"tag": "stable", "revisionName": "web-1", "percent": 50},
            {"tag": "latest", "latestRevision": true, "percent": 50}
        ]),
        json!({
            "latestReadyRevisionName": "web-3",
            "rollout": {"fromRevisionName": "web-2", "start": "2026-12-01T00:00:00Z", "duration": "10m"},
            "guard": {}
        }),
    );
    let table = table(&config);
    let guard = table.services()[0].guard.as_ref().unwrap();
    assert_eq!(
        percents(&guard.fallback, &config),
        [("web-1".to_owned(), 50.0), ("web-2".to_owned(), 50.0)]
    );
}

/// One worker: a filter over the shared stand-in.
struct Worker {
    filter: Filter<u32>,
    ids: MetricIds<u32>,
}

fn worker(config: &Value, proxy: &mut StandIn) -> Worker {
    let mut ids = MetricIds::default();
    let mut filter = Filter::default();
    assert!(
        filter.configure(config.to_string().as_bytes(), Side::Both, &mut ids, proxy),
        "{:?}",
        proxy.log
    );
    Worker { filter, ids }
}

/// Sends `n` requests to `host` through `worker`, each revision answering
/// with the status `status(revision)`; returns the revisions that answered.
fn send(
    worker: &Worker,
    proxy: &mut StandIn,
    host: &str,
    n: usize,
    seed: u64,
    status: impl Fn(&str) -> u32,
) -> Vec<String> {
    let mut rng = rng(seed);
    (0..n)
        .map(|_| {
            proxy.next_request(&[(":authority", host)]);
            let mut stream = worker.filter.stream();
            assert_eq!(
                stream.on_request_headers(proxy, Some(&mut rng)),
                Flow::Continue
            );
            let revision = proxy.request_header("knative-serving-revision").unwrap();
            proxy.status = Some(status(&revision));
            stream.on_response_headers(proxy);
            revision
        })
        .collect()
}

/// Candidate answers with 503 every `k`-th time; others 200.
fn failing_every(k: usize) -> impl Fn(&str) -> u32 {
    let count = std::cell::Cell::new(0usize);
    move |revision: &str| {
        if revision != "web-2" {
            return 200;
        }
        count.set(count.get() + 1);
        if count.get() % k == 0 {
            503
        } else {
            200
        }
    }
}

const GUARD_PREFIX: &str = "knative_traffic.guard.namespace.shop.service.web";

#[test]
fn a_failing_canary_is_stopped_once_for_every_worker() {
    let config = canary(json!({"tag": "canary", "minAnswers": 50}));
    let mut proxy = StandIn::default();
    let first = worker(&config, &mut proxy);
    let second = worker(&config, &mut proxy);
    proxy.now_ms = 1_000;
    first.filter.on_tick(&mut proxy);
    second.filter.on_tick(&mut proxy);
    // Half the canary's answers fail: 40 of its answers are no verdict
    // yet, 50 are.
    let status = failing_every(2);
    let mut answered = 0;
    let mut seed = 1;
    while proxy.counter(&format!("{GUARD_PREFIX}.revision.web-2.answers")) < 40 {
        answered += send(&first, &mut proxy, HOST, 10, seed, &status).len();
        answered += send(&second, &mut proxy, HOST, 10, seed + 1, &status).len();
        seed += 2;
    }
    proxy.now_ms += 1_000;
    first.filter.on_tick(&mut proxy);
    second.filter.on_tick(&mut proxy);
    let canary_share = |worker: &Worker, proxy: &mut StandIn, seed| {
        send(worker, proxy, HOST, 1000, seed, |_| 200)
            .iter()
            .filter(|r| *r == "web-2")
            .count()
    };
    assert!(proxy
        .log
        .iter()
        .all(|(_, l)| !l.starts_with("guard tripped")));
    while proxy.counter(&format!("{GUARD_PREFIX}.revision.web-2.answers")) < 50 {
        send(&first, &mut proxy, HOST, 10, seed, &status);
        seed += 1;
    }
    proxy.now_ms += 1_000;
    first.filter.on_tick(&mut proxy);
    let trips: Vec<&String> = proxy
        .log
        .iter()
        .filter(|(level, l)| *level == Level::Warn && l.starts_with("guard tripped"))
        .map(|(_, l)| l)
        .collect();
    assert_eq!(trips.len(), 1, "{:?}", proxy.log);
    assert!(
        trips[0].starts_with("guard tripped: shop/web: web-2 failed "),
        "{}",
        trips[0]
    );
    assert!(
        trips[0].ends_with("; the split is now web-1 100.0%"),
        "{}",
        trips[0]
    );
    // The first worker routes no split request to the canary from now on;
    // the second learns it on its next tick, and does not log it again.
    assert_eq!(canary_share(&first, &mut proxy, 7), 0);
    assert!(canary_share(&second, &mut proxy, 8) > 50);
    proxy.now_ms += 1_000;
    second.filter.on_tick(&mut proxy);
    assert_eq!(canary_share(&second, &mut proxy, 9), 0);
    assert_eq!(
        proxy
            .log
            .iter()
            .filter(|(_, l)| l.starts_with("guard tripped"))
            .count(),
        1
    );
    assert_eq!(
        proxy.counter(&format!("{GUARD_PREFIX}.revision.web-2.tripped")),
        1
    );
    // Its tag host and the tag header still reach it.
    let tagged = send(
        &first,
        &mut proxy,
        "canary-web.shop.example.com",
        5,
        1,
        |_| 200,
    );
    assert!(tagged.iter().all(|r| r == "web-2"), "{tagged:?}");
    for seed in 0..5 {
        proxy.next_request(&[(":authority", HOST), ("knative-serving-tag", "canary")]);
        let mut stream = first.filter.stream();
        stream.on_request_headers(&mut proxy, Some(&mut rng(seed)));
        assert_eq!(
            proxy.request_header("knative-serving-revision").as_deref(),
            Some("web-2")
        );
    }
    let _ = answered;

    // The same configuration again (an ECDS update that changes nothing)
    // keeps the verdict; a changed one starts afresh.
    let again = worker(&config, &mut proxy);
    again.filter.on_tick(&mut proxy);
    assert_eq!(canary_share(&again, &mut proxy, 10), 0);
    let resumed =
        canary(json!({"tag": "canary", "minAnswers": 50, "resumedAt": "2026-12-02T00:00:00Z"}));
    let fresh = worker(&resumed, &mut proxy);
    fresh.filter.on_tick(&mut proxy);
    assert!(canary_share(&fresh, &mut proxy, 11) > 50);
    assert_eq!(
        proxy.counter(&format!("{GUARD_PREFIX}.revision.web-2.tripped")),
        0
    );
}

#[test]
fn a_healthy_canary_and_an_outage_of_every_revision_trip_nothing() {
    for (what, status) in [
        (
            "healthy",
            Box::new(|_: &str| 200u32) as Box<dyn Fn(&str) -> u32>,
        ),
        ("outage", Box::new(|_: &str| 503)),
        (
            "both at 2%",
            Box::new({
                let n = std::cell::Cell::new(0u32);
                move |_: &str| {
                    n.set(n.get() + 1);
                    if n.get() % 50 == 0 {
                        500
                    } else {
                        200
                    }
                }
            }),
        ),
    ] {
        let config = canary(json!({"tag": "canary", "minAnswers": 50}));
        let mut proxy = StandIn::default();
        let worker = worker(&config, &mut proxy);
        for seed in 0..40 {
            proxy.now_ms += 1_000;
            worker.filter.on_tick(&mut proxy);
            send(&worker, &mut proxy, HOST, 200, seed, &status);
        }
        assert!(
            proxy
                .log
                .iter()
                .all(|(_, l)| !l.starts_with("guard tripped")),
            "{what}: {:?}",
            proxy.log
        );
        assert!(
            proxy.counter(&format!("{GUARD_PREFIX}.revision.web-2.answers")) > 500,
            "{what}"
        );
    }
    // Without the comparison, the outage is the canary's.
    let config = canary(json!({"tag": "canary", "minAnswers": 50, "compare": false}));
    let mut proxy = StandIn::default();
    let worker = worker(&config, &mut proxy);
    for seed in 0..40 {
        proxy.now_ms += 1_000;
        worker.filter.on_tick(&mut proxy);
        send(&worker, &mut proxy, HOST, 200, seed, |_| 503);
    }
    assert_eq!(
        proxy
            .log
            .iter()
            .filter(|(_, l)| l.starts_with("guard tripped"))
            .count(),
        1
    );
}

#[test]
fn slow_answers_fail_with_a_latency_threshold() {
    let config = canary(json!({"tag": "canary", "minAnswers": 50, "latencyMs": 100}));
    let mut proxy = StandIn::default();
    let w = worker(&config, &mut proxy);
    let mut rng = rng(3);
    w.filter.on_tick(&mut proxy);
    for _ in 0..2000 {
        proxy.next_request(&[(":authority", HOST)]);
        let mut stream = w.filter.stream();
        stream.on_request_headers(&mut proxy, Some(&mut rng));
        let revision = proxy.request_header("knative-serving-revision").unwrap();
        // The canary takes 250 ms, the stable revision 20 ms; both 200.
        let start = proxy.now_ms;
        proxy.now_ms += if revision == "web-2" { 250 } else { 20 };
        proxy.status = Some(200);
        stream.on_response_headers(&mut proxy);
        proxy.now_ms = start + 1;
        if proxy.now_ms % 1000 == 0 {
            w.filter.on_tick(&mut proxy);
        }
    }
    proxy.now_ms += 1000;
    w.filter.on_tick(&mut proxy);
    assert_eq!(
        proxy
            .log
            .iter()
            .filter(|(_, l)| l.starts_with("guard tripped"))
            .count(),
        1,
        "{:?}",
        proxy.log
    );
    assert_eq!(
        proxy.counter(&format!("{GUARD_PREFIX}.revision.web-2.failures")),
        proxy.counter(&format!("{GUARD_PREFIX}.revision.web-2.answers"))
    );
    let _ = w.ids.len();
}

/// Only the split's answers are judged: the canary reached by its tag host
/// is not counted.
#[test]
fn tagged_requests_are_not_counted() {
    let config = canary(json!({"tag": "canary"}));
    let mut proxy = StandIn::default();
    let w = worker(&config, &mut proxy);
    send(&w, &mut proxy, "canary-web.shop.example.com", 30, 1, |_| {
        503
    });
    assert_eq!(
        proxy.counter(&format!("{GUARD_PREFIX}.revision.web-2.answers")),
        0
    );
    send(&w, &mut proxy, HOST, 300, 2, |_| 200);
    let candidate = proxy.counter(&format!("{GUARD_PREFIX}.revision.web-2.answers"));
    let base = proxy.counter(&format!("{GUARD_PREFIX}.base.answers"));
    assert_eq!(candidate + base, 300);
    assert!(candidate > 0 && base > candidate);
}

/// A sticky service's keys on a tripped candidate move back to the rest of
/// the split, and stay there.
#[test]
fn sticky_keys_on_a_tripped_candidate_move_back() {
    let config = service(
        json!([
            {"tag": "stable", "revisionName": "web-1", "percent": 80},
            {"tag": "canary", "revisionName": "web-2", "percent": 20}
        ]),
        json!({"guard": {"tag": "canary", "minAnswers": 20}, "sticky": {"header": "x-user-id"}}),
    );
    let mut proxy = StandIn::default();
    let w = worker(&config, &mut proxy);
    proxy.now_ms = 1_000;
    w.filter.on_tick(&mut proxy);
    let route = |proxy: &mut StandIn, user: &str| {
        proxy.next_request(&[(":authority", HOST), ("x-user-id", user)]);
        let mut stream = w.filter.stream();
        stream.on_request_headers(proxy, Some(&mut rng(1)));
        let revision = proxy.request_header("knative-serving-revision").unwrap();
        // The candidate fails every answer.
        proxy.status = Some(if revision == "web-2" { 503 } else { 200 });
        stream.on_response_headers(proxy);
        revision
    };
    let users: Vec<String> = (0..400).map(|i| format!("user-{i}")).collect();
    let before: Vec<String> = users.iter().map(|u| route(&mut proxy, u)).collect();
    let on_candidate: Vec<&String> = users
        .iter()
        .zip(&before)
        .filter(|(_, r)| *r == "web-2")
        .map(|(u, _)| u)
        .collect();
    // 20% of 400 keys: 80 expected, far from none (the key hash is fixed).
    assert!(on_candidate.len() > 40, "{}", on_candidate.len());
    for _ in 0..3 {
        proxy.now_ms += 1_000;
        w.filter.on_tick(&mut proxy);
    }
    assert_eq!(
        proxy.counter(&format!("{GUARD_PREFIX}.revision.web-2.tripped")),
        1,
        "{:?}",
        proxy.log
    );
    for user in &on_candidate {
        assert_eq!(route(&mut proxy, user), "web-1", "{user}");
    }
    // The others keep their revision.
    for (user, revision) in users.iter().zip(&before) {
        if revision == "web-1" {
            assert_eq!(&route(&mut proxy, user), revision, "{user}");
        }
    }
}
