//! The filter's life cycle in a proxy (`knative_traffic::filter`), in
//! process against a stand-in for the proxy: what a configuration load logs
//! and counts, which headers a request gets and loses on each path, local
//! replies, response headers, and counters. The same code runs in the Wasm
//! module, whose shell only translates these calls into proxy-wasm's.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::host::StandIn;
use fixtures::{helloworld, rng, traffic_example, traffic_example_split, SEED};
use knative_traffic::filter::host::Level;
use knative_traffic::filter::{Filter, Flow};
use knative_traffic::hosts::Side;
use knative_traffic::metrics::MetricIds;
use rand_xorshift::XorShiftRng;
use serde_json::{json, Value};

const EXAMPLE: &str = "traffic-example.default.example.com";

/// A filter with `config` loaded; panics if it is refused.
fn loaded(config: &Value, host: &mut StandIn, ids: &mut MetricIds<u32>) -> Filter<u32> {
    let mut filter = Filter::default();
    assert!(
        filter.configure(config.to_string().as_bytes(), Side::Both, ids, host),
        "{:?}",
        host.log
    );
    filter
}

/// A filter with the seeds' traffic-example loaded.
fn example(host: &mut StandIn, ids: &mut MetricIds<u32>) -> Filter<u32> {
    loaded(&traffic_example(traffic_example_split()), host, ids)
}

/// Runs one request's headers through `filter`.
fn request(filter: &Filter<u32>, host: &mut StandIn) -> Flow {
    let mut stream = filter.stream();
    let mut rng = rng(SEED);
    let flow = stream.on_request_headers(host, Some(&mut rng));
    if flow == Flow::Continue {
        stream.on_response_headers(host);
    }
    flow
}

#[test]
fn an_accepted_configuration_is_logged_and_counted() {
    let mut host = StandIn::default();
    let mut ids = MetricIds::default();
    let filter = example(&mut host, &mut ids);
    assert!(filter.active().is_some());
    let (level, line) = &host.log[0];
    assert_eq!(*level, Level::Info);
    assert!(
        line.starts_with(
            "configuration accepted: 1 service(s), cluster header \"x-knative-cluster\", "
        ),
        "{line}"
    );
    assert_eq!(host.counter("knative_traffic.config.accepted"), 1);
    assert_eq!(host.counter("knative_traffic.config.rejected"), 0);
}

#[test]
fn a_refused_configuration_logs_each_error_and_the_previous_one_serves() {
    let mut host = StandIn::default();
    let mut ids = MetricIds::default();
    let mut filter = example(&mut host, &mut ids);
    host.log.clear();
    let bad = json!({"services": [
        {"name": "a", "namespace": "ns", "traffic": [{"revisionName": "a-1", "percent": 90}]},
        {"name": "B", "namespace": "ns", "traffic": [{"revisionName": "b-1", "percent": 100}]}
    ]});
    assert!(!filter.configure(bad.to_string().as_bytes(), Side::Both, &mut ids, &mut host));
    assert_eq!(
        host.log,
        [
            (
                Level::Error,
                "configuration refused: services[0] (a): traffic percents sum to 90, want 100"
                    .to_owned()
            ),
            (
                Level::Error,
                "configuration refused: services[1] (B): name: \"B\" is not a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)".to_owned()
            ),
        ]
    );
    assert_eq!(host.counter("knative_traffic.config.rejected"), 1);
    host.next_request(&[(":authority", EXAMPLE), ("knative-serving-tag", "v2")]);
    assert_eq!(request(&filter, &mut host), Flow::Continue);
    assert_eq!(
        host.request_header("x-knative-cluster").as_deref(),
        Some("traffic-example-v2")
    );
}

#[test]
fn a_routed_request_gets_knatives_headers_and_a_new_route() {
    let mut host = StandIn::request(&[
        (":authority", EXAMPLE),
        ("knative-serving-tag", "v2"),
        ("knative-serving-revision", "forged"),
        ("knative-serving-default-route", "true"),
        ("x-knative-mirror-cluster", "forged"),
    ]);
    let mut ids = MetricIds::default();
    let filter = example(&mut host, &mut ids);
    assert_eq!(request(&filter, &mut host), Flow::Continue);
    assert_eq!(
        host.request_header("x-knative-cluster").as_deref(),
        Some("traffic-example-v2")
    );
    assert_eq!(
        host.request_header("knative-serving-revision").as_deref(),
        Some("traffic-example-v2")
    );
    assert_eq!(
        host.request_header("knative-serving-namespace").as_deref(),
        Some("default")
    );
    // The tag header path: not the split, and the client's tag stays.
    assert_eq!(host.request_header("knative-serving-default-route"), None);
    assert_eq!(
        host.request_header("knative-serving-tag").as_deref(),
        Some("v2")
    );
    assert_eq!(host.request_header("x-knative-mirror-cluster"), None);
    assert_eq!(host.route_cache_clears, 1);
    assert_eq!(
        host.counter(
            "knative_traffic.requests.namespace.default.service.traffic-example.revision.traffic-example-v2.reason.tag-header"
        ),
        1
    );
    // No response header is written unless asked for.
    assert!(host.response.is_empty(), "{:?}", host.response);
}

#[test]
fn a_tag_host_writes_its_tag_and_the_split_its_default_route() {
    let mut host = StandIn::request(&[
        (
            ":authority",
            "latest-traffic-example.default.example.com:80",
        ),
        ("knative-serving-tag", "v1"),
    ]);
    let mut ids = MetricIds::default();
    let filter = example(&mut host, &mut ids);
    request(&filter, &mut host);
    assert_eq!(
        host.request_header("x-knative-cluster").as_deref(),
        Some("traffic-example-v3")
    );
    assert_eq!(
        host.request_header("knative-serving-tag").as_deref(),
        Some("latest")
    );
    host.next_request(&[(":authority", EXAMPLE)]);
    request(&filter, &mut host);
    assert_eq!(
        host.request_header("knative-serving-default-route")
            .as_deref(),
        Some("true")
    );
    assert_eq!(host.request_header("knative-serving-tag"), None);
}

#[test]
fn a_host_it_does_not_serve_passes_through_without_a_client_chosen_cluster() {
    let mut host = StandIn::request(&[
        (":authority", "elsewhere.example.org"),
        ("x-knative-cluster", "traffic-example-v3"),
        ("x-knative-mirror-cluster", "traffic-example-v3"),
        ("knative-serving-tag", "v3"),
    ]);
    let mut ids = MetricIds::default();
    let filter = example(&mut host, &mut ids);
    assert_eq!(request(&filter, &mut host), Flow::Continue);
    assert_eq!(host.request_header("x-knative-cluster"), None);
    assert_eq!(host.request_header("x-knative-mirror-cluster"), None);
    assert_eq!(
        host.request_header("knative-serving-tag").as_deref(),
        Some("v3"),
        "the rest is left as sent"
    );
    assert_eq!(host.route_cache_clears, 1);
    // Nothing to remove, nothing to re-route.
    host.next_request(&[(":authority", "elsewhere.example.org")]);
    request(&filter, &mut host);
    assert_eq!(host.route_cache_clears, 0);
    assert_eq!(host.request.len(), 1);
}

#[test]
fn an_unknown_tag_host_is_answered_404_by_the_filter() {
    let mut host = StandIn::request(&[(":authority", "v9-traffic-example.default.example.com")]);
    let mut ids = MetricIds::default();
    let filter = example(&mut host, &mut ids);
    assert_eq!(request(&filter, &mut host), Flow::Pause);
    let reply = host.local_reply.clone().unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.headers,
        [(
            "content-type".to_owned(),
            "text/plain; charset=utf-8".to_owned()
        )]
    );
    assert_eq!(
        reply.body,
        "service traffic-example.default has no such tag\n"
    );
    assert_eq!(
        host.counter(
            "knative_traffic.requests.namespace.default.service.traffic-example.reason.not-found"
        ),
        1
    );
    // A proxy that cannot answer: the request goes on, and a client's
    // cluster header is still removed.
    host.next_request(&[
        (":authority", "v9-traffic-example.default.example.com"),
        ("x-knative-cluster", "traffic-example-v1"),
    ]);
    host.refuse_local_reply = true;
    assert_eq!(request(&filter, &mut host), Flow::Continue);
    assert_eq!(host.request_header("x-knative-cluster"), None);
}

#[test]
fn response_headers_come_from_the_route() {
    let mut config = helloworld(
        50,
        &json!({"sticky": {"cookie": "kn", "setCookie": true, "maxAge": 60}}),
    );
    config["routeResponseHeader"] = json!("x-knative-route");
    let mut host = StandIn::request(&[(":authority", "a-helloworld-go.example.example.com")]);
    let mut ids = MetricIds::default();
    let filter = loaded(&config, &mut host, &mut ids);
    request(&filter, &mut host);
    assert_eq!(
        host.response_values("x-knative-route"),
        ["revision=helloworld-go-00001; reason=tag-host"]
    );
    assert!(host.response_values("set-cookie").is_empty());
    // A request without a key is given one; the revision's own cookie stays.
    host.next_request(&[(":authority", "helloworld-go.example.example.com")]);
    host.response
        .push(("set-cookie".to_owned(), "theirs=1".to_owned()));
    request(&filter, &mut host);
    let cookies = host.response_values("set-cookie");
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert_eq!(cookies[0], "theirs=1");
    assert!(
        cookies[1].starts_with("kn=") && cookies[1].ends_with("; Max-Age=60; Path=/; HttpOnly"),
        "{cookies:?}"
    );
}

#[test]
fn a_counter_the_proxy_refused_is_never_incremented() {
    let drawn = "knative_traffic.requests.namespace.example.service.helloworld-go.revision.helloworld-go-00001.reason.draw";
    let mut host = StandIn {
        refuse_counters: vec![drawn.to_owned()],
        ..StandIn::default()
    };
    let mut ids = MetricIds::default();
    let filter = loaded(&helloworld(100, &json!({})), &mut host, &mut ids);
    let defined: Vec<u32> = host.counters.keys().copied().collect();
    for _ in 0..3 {
        host.next_request(&[(":authority", "helloworld-go.example.example.com")]);
        request(&filter, &mut host);
        assert_eq!(
            host.request_header("x-knative-cluster").as_deref(),
            Some("helloworld-go-00001"),
            "an uncounted request is still routed"
        );
    }
    host.next_request(&[(":authority", "a-helloworld-go.example.example.com")]);
    request(&filter, &mut host);
    // Only ids the proxy handed out are incremented: the drawn requests are
    // not counted, the tag host's is.
    assert!(
        host.increments.iter().all(|id| defined.contains(id)),
        "{:?} not all in {defined:?}",
        host.increments
    );
    assert_eq!(
        host.counter(
            "knative_traffic.requests.namespace.example.service.helloworld-go.revision.helloworld-go-00001.reason.tag-host"
        ),
        1
    );
}

#[test]
fn counters_are_defined_once_across_configurations() {
    let mut host = StandIn::default();
    let mut ids = MetricIds::default();
    let mut filter = loaded(&helloworld(50, &json!({})), &mut host, &mut ids);
    let first = host.definitions.len();
    assert!(filter.configure(
        helloworld(30, &json!({})).to_string().as_bytes(),
        Side::Both,
        &mut ids,
        &mut host
    ));
    assert_eq!(host.definitions.len(), first, "{:?}", host.definitions);
    assert!(
        host.log[1].1.ends_with(", 0 newly defined, side both"),
        "{:?}",
        host.log
    );
}

#[test]
fn without_a_configuration_or_a_generator_requests_pass_untouched() {
    let mut host = StandIn::request(&[
        (":authority", EXAMPLE),
        ("x-knative-cluster", "traffic-example-v3"),
    ]);
    let filter = Filter::<u32>::default();
    assert_eq!(request(&filter, &mut host), Flow::Continue);
    assert_eq!(
        host.request_header("x-knative-cluster").as_deref(),
        Some("traffic-example-v3"),
        "no configuration: the filter is not in force"
    );
    // A configuration, but no generator to draw with: the request passes,
    // and a client's cluster header is removed as on any passed request.
    let mut ids = MetricIds::default();
    let filter = example(&mut host, &mut ids);
    let mut stream = filter.stream();
    assert_eq!(
        stream.on_request_headers(&mut host, None::<&mut XorShiftRng>),
        Flow::Continue
    );
    assert_eq!(host.request_header("x-knative-cluster"), None);
    assert_eq!(host.request_header("knative-serving-revision"), None);
}
