//! Sticky canaries: a key sticks to one revision, with property tests of
//! stability and monotone ramps; and their configuration errors.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::{errors, helloworld, revision, rng, routed, table, HELLOWORLD, SEED};

use std::collections::HashMap;

use knative_traffic::request::PlainRequest;
use knative_traffic::{Decision, Reason, RouteTable};
use rand_core::{Rng, SeedableRng};
use rand_xorshift::XorShiftRng;
use serde_json::{json, Value};

fn sticky_header(percent_a: u32) -> RouteTable {
    table(&helloworld(
        percent_a,
        &json!({"sticky": {"header": "x-user"}}),
    ))
}

#[test]
fn a_key_sticks_to_one_revision() {
    let t = sticky_header(50);
    let mut seen = HashMap::new();
    for i in 0..1000 {
        let req = PlainRequest::default().with_header("x-user", &format!("user-{i}"));
        let (first, reason) = routed(&t, HELLOWORLD, &req);
        assert_eq!(reason, Reason::Sticky);
        for _ in 0..5 {
            assert_eq!(revision(&t, &req), first, "user-{i} flipped");
        }
        // The same on another "replica": a table compiled anew.
        assert_eq!(revision(&sticky_header(50), &req), first);
        *seen.entry(first).or_insert(0u32) += 1;
    }
    // Keys spread over both revisions by the percents (binomial, 4 sigma: 500 ± 63).
    let a = seen["helloworld-go-00001"];
    assert!((437..=563).contains(&a), "{seen:?}");
}

#[test]
fn tags_and_rules_win_over_stickiness() {
    let t = table(&helloworld(
        50,
        &json!({"sticky": {"header": "x-user"}, "rules": [{"header": "wid", "prefix": "b", "tag": "b"}]}),
    ));
    // Find a key that sticks to 00001, then override it.
    let key = (0..)
        .map(|i| format!("user-{i}"))
        .find(|k| {
            revision(&t, &PlainRequest::default().with_header("x-user", k)) == "helloworld-go-00001"
        })
        .unwrap();
    let req = PlainRequest::default().with_header("x-user", &key);
    assert_eq!(
        routed(
            &t,
            HELLOWORLD,
            &req.clone().with_header("knative-serving-tag", "b")
        ),
        ("helloworld-go-00002".into(), Reason::TagHeader)
    );
    assert_eq!(
        routed(&t, "b-helloworld-go.example.example.com", &req),
        ("helloworld-go-00002".into(), Reason::TagHost)
    );
    assert_eq!(
        routed(&t, HELLOWORLD, &req.clone().with_header("wid", "b2")),
        ("helloworld-go-00002".into(), Reason::Rule)
    );
}

/// For many random keys and random ramps between two revisions: no key ever
/// leaves the revision that grows, and keys only move from the one that
/// shrinks.
#[test]
fn property_two_revision_ramps_are_monotone() {
    let mut rng = XorShiftRng::seed_from_u64(2024);
    let keys: Vec<String> = (0..2000).map(|_| format!("{:x}", rng.next_u64())).collect();
    for _ in 0..200 {
        let from = rng.next_u32() % 101;
        let to = rng.next_u32() % 101;
        let (before, after) = (sticky_header(from), sticky_header(to));
        for key in &keys {
            let req = PlainRequest::default().with_header("x-user", key);
            let (b, a) = (revision(&before, &req), revision(&after, &req));
            if b == a {
                continue;
            }
            // A key moved: only from the revision whose share fell.
            let b_is_a = b == "helloworld-go-00001";
            let a_share_fell = to < from;
            assert_eq!(
                b_is_a, a_share_fell,
                "key {key} moved {b} -> {a} when a went {from}% -> {to}%"
            );
        }
    }
}

fn three(shares: [u32; 3]) -> RouteTable {
    table(&json!({"services": [{
        "name": "web", "namespace": "ns",
        "sticky": {"header": "x-user"},
        "traffic": [
            {"revisionName": "web-1", "percent": shares[0]},
            {"revisionName": "web-2", "percent": shares[1]},
            {"revisionName": "web-3", "percent": shares[2]}
        ]
    }]}))
}

/// With three revisions, moving share between neighbours in the layout (the
/// order of `traffic`) moves no key of the third revision, as documented.
#[test]
fn property_three_revision_neighbour_ramps_keep_the_third() {
    let mut rng = XorShiftRng::seed_from_u64(7);
    let keys: Vec<String> = (0..1000).map(|_| format!("{:x}", rng.next_u64())).collect();
    let revision_of = |t: &RouteTable, key: &str| -> String {
        match t.route(
            "web.ns",
            &PlainRequest::default().with_header("x-user", key),
            &mut XorShiftRng::seed_from_u64(0),
        ) {
            Decision::Route(r) => r.destination.revision.to_string(),
            other => panic!("{other:?}"),
        }
    };
    for _ in 0..100 {
        let fixed = rng.next_u32() % 101;
        let rest = 100 - fixed;
        let (x, y) = (rng.next_u32() % (rest + 1), rng.next_u32() % (rest + 1));
        // Trade between web-2 and web-3 (neighbours), web-1 fixed...
        let (before, after) = (three([fixed, x, rest - x]), three([fixed, y, rest - y]));
        // ...and between web-1 and web-2, web-3 fixed.
        let (before2, after2) = (three([x, rest - x, fixed]), three([y, rest - y, fixed]));
        for key in &keys {
            let (b, a) = (revision_of(&before, key), revision_of(&after, key));
            assert_eq!(
                b == "web-1",
                a == "web-1",
                "web-1 fixed at {fixed}%: {key} {b} -> {a}"
            );
            let (b, a) = (revision_of(&before2, key), revision_of(&after2, key));
            assert_eq!(
                b == "web-3",
                a == "web-3",
                "web-3 fixed at {fixed}%: {key} {b} -> {a}"
            );
        }
    }
}

#[test]
fn a_handed_out_cookie_routes_the_next_request_where_the_first_went() {
    let t = table(&helloworld(
        50,
        &json!({"sticky": {"cookie": "kn-key", "setCookie": true, "maxAge": 3600}}),
    ));
    let mut rng = rng(SEED);
    let mut spread = HashMap::new();
    for _ in 0..200 {
        let (first, cookie) = match t.route(HELLOWORLD, &PlainRequest::default(), &mut rng) {
            Decision::Route(r) => {
                assert_eq!(r.reason, Reason::Draw);
                let headers = r.response_headers();
                assert_eq!(headers.len(), 1);
                assert_eq!(headers[0].0, "set-cookie");
                (r.destination.revision.to_string(), headers[0].1.clone())
            }
            other => panic!("{other:?}"),
        };
        let (pair, attributes) = cookie.split_once("; ").unwrap();
        assert_eq!(attributes, "Max-Age=3600; Path=/; HttpOnly");
        let req = PlainRequest::default().with_header("cookie", &format!("other=1; {pair}"));
        assert_eq!(
            routed(&t, HELLOWORLD, &req),
            (first.clone(), Reason::Sticky)
        );
        // The key in a later Cookie header counts too, and gets no new one.
        let later = PlainRequest::default()
            .with_header("cookie", "other=1")
            .with_header("cookie", pair);
        match t.route(HELLOWORLD, &later, &mut rng) {
            Decision::Route(r) => {
                assert_eq!(
                    (&*r.destination.revision, r.reason),
                    (&*first, Reason::Sticky)
                );
                assert!(r.response_headers().is_empty());
            }
            other => panic!("{other:?}"),
        }
        // With the cookie, no new one is handed out.
        if let Decision::Route(r) = t.route(HELLOWORLD, &req, &mut rng) {
            assert!(r.response_headers().is_empty());
        }
        *spread.entry(first).or_insert(0) += 1;
    }
    assert_eq!(spread.len(), 2, "{spread:?}");
}

#[test]
fn sticky_errors() {
    let bad = |sticky: Value| errors(&helloworld(50, &json!({"sticky": sticky})));
    let prefix = "services[0] (helloworld-go): sticky: ";
    assert_eq!(
        bad(json!({})),
        [format!("{prefix}set one of cookie or header")]
    );
    assert_eq!(
        bad(json!({"cookie": "a", "header": "b"})),
        [format!("{prefix}set one of cookie or header")]
    );
    assert_eq!(
        bad(json!({"header": "x-user", "setCookie": true})),
        [format!("{prefix}setCookie needs a cookie key")]
    );
    assert_eq!(
        bad(json!({"cookie": "k", "maxAge": 60})),
        [format!("{prefix}maxAge applies only with setCookie: true")]
    );
    assert_eq!(
        bad(json!({"cookie": "a b"})),
        [format!("{prefix}\"a b\" is not a header or cookie name")]
    );
}
