//! What each path of a request costs in host calls, which dominate the
//! filter's cost in a proxy (a read of a present header copies it into the
//! VM: about 10,800 instructions in Envoy's Wasm host; a write about 3,900;
//! see BENCHMARKS.md). Each path's calls are listed exactly, so that a
//! change that adds one is seen here before a benchmark shows it.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::host::StandIn;
use fixtures::{rng, SEED};
use knative_traffic::filter::Filter;
use knative_traffic::hosts::Side;
use knative_traffic::metrics::MetricIds;
use serde_json::json;

/// The benchmarks' configuration: a split service with tags and a header
/// rule, and a sticky one.
fn filter(host: &mut StandIn) -> Filter<u32> {
    let traffic = |name: &str| {
        json!([
            {"tag": "v1", "revisionName": format!("{name}-v1"), "percent": 80},
            {"tag": "v2", "revisionName": format!("{name}-v2"), "percent": 10},
            {"tag": "v3", "revisionName": format!("{name}-v3"), "percent": 10}
        ])
    };
    let config = json!({"domain": "example.com", "services": [
        {"name": "traffic-example", "namespace": "default", "traffic": traffic("traffic-example"),
         "rules": [{"header": "x-canary", "exact": "yes", "tag": "v3"}]},
        {"name": "traffic-sticky", "namespace": "default", "traffic": traffic("traffic-sticky"),
         "sticky": {"header": "x-user-id"}}
    ]});
    let mut filter = Filter::default();
    assert!(filter.configure(
        config.to_string().as_bytes(),
        Side::Both,
        &mut MetricIds::default(),
        host
    ));
    filter
}

fn calls(headers: &[(&str, &str)]) -> Vec<String> {
    let mut host = StandIn::default();
    let filter = filter(&mut host);
    host.next_request(headers);
    let mut stream = filter.stream();
    stream.on_request_headers(&mut host, Some(&mut rng(SEED)));
    stream.on_response_headers(&mut host);
    host.calls.take()
}

const ROUTED: [&str; 6] = [
    "set x-knative-cluster",
    "remove x-knative-mirror-cluster",
    "set knative-serving-revision",
    "set knative-serving-namespace",
    "set knative-serving-default-route",
    "increment",
];

#[test]
fn the_draw() {
    let got = calls(&[(":authority", "traffic-example.default.example.com")]);
    let mut want = vec![
        "get :authority",
        "get knative-serving-tag",
        "get x-canary",
        "increment",
    ];
    want.extend(&ROUTED[..5]);
    want.push("clear route cache");
    assert_eq!(got, want);
}

#[test]
fn the_tag_header_and_a_rule() {
    let got = calls(&[
        (":authority", "traffic-example.default.example.com"),
        ("knative-serving-tag", "v2"),
    ]);
    assert_eq!(
        got,
        [
            "get :authority",
            "get knative-serving-tag",
            "increment",
            "set x-knative-cluster",
            "remove x-knative-mirror-cluster",
            "set knative-serving-revision",
            "set knative-serving-namespace",
            "remove knative-serving-default-route",
            "clear route cache"
        ]
    );
    let got = calls(&[
        (":authority", "traffic-example.default.example.com"),
        ("x-canary", "yes"),
    ]);
    assert_eq!(
        got[..3],
        ["get :authority", "get knative-serving-tag", "get x-canary"]
    );
    assert_eq!(got.len(), 11, "{got:?}");
}

#[test]
fn a_tag_host_reads_nothing_but_its_host() {
    let got = calls(&[(":authority", "v2-traffic-example.default.example.com")]);
    assert_eq!(got[0], "get :authority");
    assert!(got[1..].iter().all(|c| !c.starts_with("get ")), "{got:?}");
    assert_eq!(got.len(), 9, "{got:?}");
}

#[test]
fn a_sticky_key_is_one_more_read() {
    let got = calls(&[
        (":authority", "traffic-sticky.default.example.com"),
        ("x-user-id", "u"),
    ]);
    assert_eq!(
        got[..3],
        ["get :authority", "get knative-serving-tag", "get x-user-id"]
    );
    assert_eq!(got.len(), 10, "{got:?}");
}

/// A host the configuration does not have: its host, and whether the
/// client sent the filter's own headers (to remove them).
#[test]
fn a_pass_through_is_three_reads() {
    let got = calls(&[(":authority", "elsewhere.example.org")]);
    assert_eq!(
        got,
        [
            "get :authority",
            "get x-knative-cluster",
            "get x-knative-mirror-cluster"
        ]
    );
}

/// Only an authority with a port can be a CONNECT's: only such a request
/// reads its method.
#[test]
fn the_method_is_read_only_with_a_port() {
    let got = calls(&[
        (":authority", "traffic-example.default.example.com:8080"),
        (":method", "GET"),
    ]);
    assert!(got.contains(&"get :method".to_owned()), "{got:?}");
    let got = calls(&[(":authority", "[::1]"), (":method", "GET")]);
    assert!(!got.contains(&"get :method".to_owned()), "{got:?}");
}
