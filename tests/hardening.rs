//! What hostile probing found, each as a test that failed before its fix:
//! header names the filter must not own, duplicate keys, numbers parsed the
//! same way by every build, bounded error messages, a non-UTF-8 cluster
//! header on a host passed through, and CONNECT. The end-to-end forms, on
//! real Envoy, are in `tests/e2e_hardening.rs`.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::host::StandIn;
use fixtures::{errors, errors_raw, rng, traffic_example, traffic_example_split, SEED};
use knative_traffic::filter::{Filter, Flow};
use knative_traffic::hosts::Side;
use knative_traffic::metrics::MetricIds;
use serde_json::json;

/// A header the filter writes must not be one that frames, routes, carries
/// state or credentials, or instructs a proxy: `content-length` as the
/// route response header emptied every response body.
#[test]
fn the_filter_owns_no_header_that_breaks_http() {
    for field in ["routeResponseHeader", "clusterHeader", "mirrorHeader"] {
        for (name, why) in [
            ("content-length", "frames the message body"),
            ("Transfer-Encoding", "is a hop-by-hop or framing header"),
            ("te", "is a hop-by-hop or framing header"),
            ("connection", "is a hop-by-hop or framing header"),
            ("keep-alive", "is a hop-by-hop or framing header"),
            ("upgrade", "is a hop-by-hop or framing header"),
            ("trailer", "is a hop-by-hop or framing header"),
            ("proxy-connection", "is a hop-by-hop or framing header"),
            ("host", "names the request's host"),
            ("cookie", "carries cookies"),
            ("set-cookie", "carries cookies"),
            ("authorization", "carries credentials"),
            ("content-type", "describes the message body"),
            (
                "x-envoy-upstream-rq-timeout-ms",
                "is read by Envoy as an instruction",
            ),
            ("x-forwarded-for", "is read by Envoy as an instruction"),
        ] {
            let config = json!({field: name, "services": []});
            let got = errors(&config);
            assert_eq!(got.len(), 1, "{field} {name}: {got:?}");
            assert!(
                got[0].starts_with(&format!("{field}: {:?} {why}", name.to_ascii_lowercase())),
                "{field} {name}: {got:?}"
            );
        }
    }
    // Pseudo-headers are no header names at all.
    assert!(
        errors(&json!({"clusterHeader": ":authority", "services": []}))[0]
            .contains("is not an HTTP header name")
    );
    // Ordinary names stay fine.
    assert!(errors(&json!({"routeResponseHeader": "x-knative-route", "services": []})).is_empty());
}

/// `"clusters": {"web-1": "a", "web-1": "b"}` was accepted, the last value
/// winning, while a duplicate field elsewhere is refused.
#[test]
fn duplicate_keys_are_refused_everywhere() {
    let text = r#"{"services": [{"name": "web", "namespace": "ns",
        "traffic": [{"revisionName": "web-1", "percent": 100}],
        "clusters": {"web-1": "a", "web-1": "b"}}]}"#;
    assert_eq!(
        errors_raw(text),
        ["services[0] (web): clusters: duplicate key \"web-1\""]
    );
    let text = r#"{"services": [{"name": "web", "name": "api", "namespace": "ns",
        "traffic": [{"revisionName": "web-1", "percent": 100}]}]}"#;
    assert_eq!(errors_raw(text), ["services[0]: duplicate field `name`"]);
    let text = r#"{"services": [], "services": []}"#;
    assert_eq!(
        errors_raw(text),
        ["configuration: duplicate field `services` at line 1 column 27"]
    );
}

/// serde reads a struct from a JSON array too, field by field in
/// declaration order: `"traffic": [["web-1", 100]]` was a traffic target.
/// Where the schema has an object, only an object is read.
#[test]
fn an_array_is_not_read_as_an_object() {
    let text = r#"{"services": [{"name": "web", "namespace": "ns",
        "traffic": [["web-1", null, 100]]}]}"#;
    assert_eq!(
        errors_raw(text),
        ["services[0] (web): traffic[0]: invalid type: sequence, expected an object"]
    );
    let text = r#"{"services": [["web", "ns"]]}"#;
    assert_eq!(
        errors_raw(text),
        ["services[0]: invalid type: sequence, expected an object"]
    );
    let text = r#"{"services": [{"name": "web", "namespace": "ns",
        "traffic": [{"revisionName": "web-1", "percent": 100}], "sticky": ["wid"]}]}"#;
    assert_eq!(
        errors_raw(text),
        ["services[0] (web): sticky: invalid type: sequence, expected an object"]
    );
}

/// The literals whose verdict used to depend on the build: the test build
/// had serde_json's float_roundtrip (through a dev-dependency) and the
/// module and the release tool did not. Every build now parses numbers the
/// same, correctly rounded; `tests/e2e_hardening.rs` holds the module and
/// the release tool to the same verdicts.
pub const PERCENT_LITERALS: &[(&str, bool)] = &[
    ("80", true),
    ("80.0", true),
    ("8e1", true),
    ("800e-1", true),
    ("0.8e2", true),
    // Within half an ulp of 80: the double is 80 exactly.
    ("80.0000000000000070", true),
    ("79.99999999999999", false),
    ("80.00000000000001", false),
    ("80.5", false),
];

#[test]
fn percents_parse_the_same_in_every_build() {
    for (literal, accepted) in PERCENT_LITERALS {
        let text = format!(
            r#"{{"services": [{{"name": "web", "namespace": "ns", "traffic": [
                {{"revisionName": "web-1", "percent": {literal}}},
                {{"revisionName": "web-2", "percent": 20}}]}}]}}"#
        );
        assert_eq!(
            errors_raw(&text).is_empty(),
            *accepted,
            "{literal}: {:?}",
            errors_raw(&text)
        );
    }
}

/// A refused configuration with a 10 MB string wrote two 20 MB lines into
/// Envoy's log. Every value an error quotes is cut to 100 characters, with
/// its length.
#[test]
fn errors_quote_a_bounded_prefix_of_any_value() {
    let huge = "x".repeat(10 << 20);
    for config in [
        json!({"services": [{"name": huge, "namespace": "ns", "traffic": [{"revisionName": "a", "percent": 100}]}]}),
        json!({"services": [{"name": "web", "namespace": huge, "traffic": [{"revisionName": "a", "percent": 100}]}]}),
        json!({"services": [{"name": "web", "namespace": "ns", "traffic": [{"revisionName": "a", "percent": 100, "tag": huge}]}]}),
        json!({"services": [{"name": "web", "namespace": "ns", "traffic": [{"revisionName": "a", "percent": huge}]}]}),
        json!({"services": [{"name": "web", "namespace": "ns", huge.clone(): 1, "traffic": []}]}),
        json!({"routeResponseHeader": format!("{huge} "), "services": []}),
    ] {
        let messages = errors(&config);
        assert!(!messages.is_empty());
        for message in &messages {
            assert!(
                message.len() < 1000,
                "{} bytes: {}…",
                message.len(),
                &message[..200]
            );
            assert!(
                message.contains(" characters)"),
                "{}",
                &message[..message.len().min(400)]
            );
        }
    }
}

fn example(host: &mut StandIn) -> Filter<u32> {
    let mut filter = Filter::default();
    let config = traffic_example(traffic_example_split());
    assert!(filter.configure(
        config.to_string().as_bytes(),
        Side::Both,
        &mut MetricIds::default(),
        host
    ));
    filter
}

/// A client's cluster header whose value is not UTF-8, on a host the
/// filter does not route, was left in place: the request took the
/// cluster-header route (503 NC) instead of the fallback.
#[test]
fn a_cluster_header_that_is_not_utf8_is_removed_too() {
    let mut host = StandIn::request(&[(":authority", "elsewhere.example.org")]);
    for name in ["x-knative-cluster", "x-knative-mirror-cluster"] {
        host.request.push((name.to_owned(), vec![0xff, 0xfe]));
    }
    let filter = example(&mut host);
    let mut stream = filter.stream();
    assert_eq!(
        stream.on_request_headers(&mut host, Some(&mut rng(SEED))),
        Flow::Continue
    );
    assert!(
        host.request_values("x-knative-cluster").is_empty(),
        "{:?}",
        host.request
    );
    assert!(host.request_values("x-knative-mirror-cluster").is_empty());
    assert_eq!(host.route_cache_clears, 1);
}

/// A CONNECT to a service's host was counted as a draw and got the route
/// response header. It asks for a tunnel, not a revision: it passes
/// through, uncounted, as to an unknown host.
#[test]
fn connect_passes_through_uncounted() {
    let mut host = StandIn::request(&[
        (":method", "CONNECT"),
        (":authority", "traffic-example.default.example.com:443"),
        ("x-knative-cluster", "traffic-example-v2"),
    ]);
    let filter = example(&mut host);
    let before = host.increments.len();
    let mut stream = filter.stream();
    assert_eq!(
        stream.on_request_headers(&mut host, Some(&mut rng(SEED))),
        Flow::Continue
    );
    stream.on_response_headers(&mut host);
    assert_eq!(
        host.increments.len(),
        before,
        "counted: {:?}",
        host.increments
    );
    assert!(host.request_values("x-knative-cluster").is_empty());
    assert!(host.request_values("knative-serving-revision").is_empty());
    assert!(host.response.is_empty());
    // Other methods are routed.
    host.next_request(&[
        (":method", "POST"),
        (":authority", "traffic-example.default.example.com"),
    ]);
    let mut stream = filter.stream();
    stream.on_request_headers(&mut host, Some(&mut rng(SEED)));
    assert_eq!(
        host.request_values("knative-serving-namespace"),
        ["default"]
    );
}
