//! The routing rules and their precedence, on the seeds' services.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::Recorded;
use knative_traffic::request::PlainRequest;
use knative_traffic::routing::{
    DEFAULT_ROUTE_HEADER, NAMESPACE_HEADER, REVISION_HEADER, TAG_HEADER,
};
use knative_traffic::{Decision, Reason, Request, RouteTable};
use serde_json::json;

/// Headers of a request (and a clock the rules here never read).
type Headers = PlainRequest;

fn tag_header(tag: &str) -> Headers {
    PlainRequest::default().with_header(TAG_HEADER, tag)
}

/// The seed's helloworld-go with tags a and b at 50/50, and traffic-example
/// at 80/20 with v3 at 0% behind `latest`.
fn table() -> RouteTable {
    let config = json!({
        "domain": "example.com",
        "services": [
            {"name": "helloworld-go", "namespace": "example",
             "traffic": [
                {"tag": "a", "revisionName": "helloworld-go-00001", "percent": 50},
                {"tag": "b", "revisionName": "helloworld-go-00002", "percent": 50}
             ]},
            {"name": "traffic-example", "namespace": "default", "domain": "knative.kuberun.com",
             "latestReadyRevisionName": "traffic-example-v3",
             "traffic": [
                {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 80},
                {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 20},
                {"tag": "latest", "latestRevision": true, "percent": 0}
             ]}
        ]
    });
    fixtures::table(&config)
}

fn rng() -> rand_xorshift::XorShiftRng {
    fixtures::rng(7)
}

/// (revision, reason) of a routed request; panics on any other decision.
fn routed(table: &RouteTable, host: &str, headers: &impl Request) -> (String, Reason) {
    fixtures::routed_seeded(table, host, headers, 7)
}

#[test]
fn tag_hosts_reach_their_revision_in_every_zone_form() {
    let t = table();
    for zone in [
        "example.example.com",
        "example",
        "example.svc",
        "example.svc.cluster.local",
    ] {
        assert_eq!(
            routed(&t, &format!("a-helloworld-go.{zone}"), &Headers::default()),
            ("helloworld-go-00001".into(), Reason::TagHost)
        );
        assert_eq!(
            routed(&t, &format!("b-helloworld-go.{zone}"), &Headers::default()),
            ("helloworld-go-00002".into(), Reason::TagHost)
        );
    }
}

#[test]
fn a_zero_percent_tag_is_reachable_on_its_host() {
    let t = table();
    for _ in 0..100 {
        assert_eq!(
            routed(
                &t,
                "latest-traffic-example.default.knative.kuberun.com",
                &Headers::default()
            ),
            ("traffic-example-v3".into(), Reason::TagHost)
        );
    }
}

#[test]
fn an_unknown_tag_host_is_not_found() {
    let t = table();
    match t.route(
        "c-helloworld-go.example.example.com",
        &Headers::default(),
        &mut rng(),
    ) {
        Decision::NoSuchTag(service) => assert_eq!(&*service.name, "helloworld-go"),
        other => panic!("expected NoSuchTag, got {other:?}"),
    }
    // Also in a cluster-local form, and with the v3 tag that does not exist yet.
    assert!(matches!(
        t.route(
            "v3-traffic-example.default.svc.cluster.local",
            &Headers::default(),
            &mut rng()
        ),
        Decision::NoSuchTag(_)
    ));
}

#[test]
fn the_tag_header_reaches_its_revision_on_the_main_host() {
    let t = table();
    for _ in 0..50 {
        assert_eq!(
            routed(&t, "helloworld-go.example.example.com", &tag_header("a")),
            ("helloworld-go-00001".into(), Reason::TagHeader)
        );
        assert_eq!(
            routed(&t, "helloworld-go.example.example.com", &tag_header("b")),
            ("helloworld-go-00002".into(), Reason::TagHeader)
        );
        assert_eq!(
            routed(
                &t,
                "traffic-example.default.knative.kuberun.com",
                &tag_header("latest")
            ),
            ("traffic-example-v3".into(), Reason::TagHeader)
        );
    }
}

#[test]
fn an_unknown_or_differently_cased_tag_header_falls_through_to_the_draw() {
    let t = table();
    for tag in ["c", "A", " a", ""] {
        let (_, reason) = routed(&t, "helloworld-go.example.example.com", &tag_header(tag));
        assert_eq!(reason, Reason::Draw, "tag header {tag:?}");
    }
}

#[test]
fn the_tag_host_wins_over_the_tag_header() {
    let t = table();
    assert_eq!(
        routed(&t, "a-helloworld-go.example.example.com", &tag_header("b")),
        ("helloworld-go-00001".into(), Reason::TagHost)
    );
}

#[test]
fn the_draw_never_picks_a_zero_percent_revision() {
    let t = table();
    let mut rng = rng();
    for _ in 0..10_000 {
        match t.route(
            "traffic-example.default.knative.kuberun.com",
            &Headers::default(),
            &mut rng,
        ) {
            Decision::Route(r) => {
                assert_ne!(&*r.destination.revision, "traffic-example-v3");
                assert_eq!(r.reason, Reason::Draw);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn hosts_tolerate_port_case_and_trailing_dot() {
    let t = table();
    for host in [
        "a-helloworld-go.example.example.com:80",
        "A-HelloWorld-Go.Example.Example.COM",
        "a-helloworld-go.example.example.com.",
        "a-helloworld-go.example.example.com.:8080",
    ] {
        assert_eq!(
            routed(&t, host, &Headers::default()),
            ("helloworld-go-00001".into(), Reason::TagHost),
            "{host}"
        );
    }
}

#[test]
fn unknown_hosts_pass_through() {
    let t = table();
    for host in [
        "",
        "example.com",
        "helloworld-go.other.example.com",
        "helloworld-go.example.example.org",
        "helloworld-go",
        "[::1]:8080",
        "127.0.0.1:8080",
        "hëllo.example.example.com",
        "a-other.example.example.com",
    ] {
        assert_eq!(
            t.route(host, &tag_header("a"), &mut rng()),
            Decision::PassThrough,
            "{host}"
        );
    }
}

#[test]
fn headers_written_on_each_path() {
    let t = table();
    let headers = |host: &str, h: &Headers| -> Vec<(String, Option<String>)> {
        match t.route(host, h, &mut rng()) {
            Decision::Route(r) => r
                .request_headers()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        headers("a-helloworld-go.example.example.com", &Headers::default()),
        vec![
            ("x-knative-cluster".into(), s("helloworld-go-00001")),
            ("x-knative-mirror-cluster".into(), None),
            (REVISION_HEADER.into(), s("helloworld-go-00001")),
            (NAMESPACE_HEADER.into(), s("example")),
            (DEFAULT_ROUTE_HEADER.into(), None),
            (TAG_HEADER.into(), s("a")),
        ]
    );
    assert_eq!(
        headers("helloworld-go.example.example.com", &tag_header("b")),
        vec![
            ("x-knative-cluster".into(), s("helloworld-go-00002")),
            ("x-knative-mirror-cluster".into(), None),
            (REVISION_HEADER.into(), s("helloworld-go-00002")),
            (NAMESPACE_HEADER.into(), s("example")),
            (DEFAULT_ROUTE_HEADER.into(), None),
        ]
    );
    let drawn = headers("helloworld-go.example.example.com", &tag_header("zzz"));
    assert_eq!(drawn[4], (DEFAULT_ROUTE_HEADER.into(), s("true")));
    assert_eq!(drawn.len(), 5);
}

#[test]
fn clusters_follow_the_template_and_overrides() {
    let config = json!({
        "clusterHeader": "X-Upstream",
        "clusterTemplate": "outbound|80||{revision}.{namespace}.svc.cluster.local",
        "services": [{"name": "web", "namespace": "prod",
            "traffic": [
                {"tag": "old", "revisionName": "web-1", "percent": 0},
                {"tag": "new", "revisionName": "web-2", "percent": 100}
            ],
            "clusters": {"web-2": "web-canary"}}]
    });
    let t = fixtures::table(&config);
    assert_eq!(t.cluster_header(), "x-upstream");
    let cluster = |host: &str| match t.route(host, &Headers::default(), &mut rng()) {
        Decision::Route(r) => r.destination.cluster().to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        cluster("old-web.prod"),
        "outbound|80||web-1.prod.svc.cluster.local"
    );
    assert_eq!(cluster("new-web.prod"), "web-canary");
}

#[test]
fn targets_naming_one_revision_are_merged() {
    let config = json!({"services": [{"name": "web", "namespace": "ns",
    "latestReadyRevisionName": "web-2",
    "traffic": [
        {"tag": "current", "revisionName": "web-2", "percent": 30},
        {"revisionName": "web-1", "percent": 40},
        {"tag": "latest", "latestRevision": true, "percent": 30}
    ]}]});
    let t = fixtures::table(&config);
    let service = &t.services()[0];
    assert_eq!(service.destinations.len(), 2);
    let shares: Vec<(usize, u32)> = service
        .split
        .shares()
        .into_iter()
        .map(|(d, buckets)| (d.index(), buckets))
        .collect();
    assert_eq!(
        shares,
        vec![(0, 6_000), (1, 4_000)],
        "web-2 gets 30 + 30 in its first position"
    );
}

#[test]
fn a_service_without_tags_never_reads_the_tag_header() {
    let config = json!({"services": [
        {"name": "plain", "namespace": "ns", "traffic": [
            {"revisionName": "plain-1", "percent": 70},
            {"revisionName": "plain-2", "percent": 30}
        ]},
        {"name": "tagged", "namespace": "ns", "traffic": [
            {"tag": "a", "revisionName": "tagged-1", "percent": 100}
        ]}
    ]});
    let t = fixtures::table(&config);
    let plain = Recorded::new(PlainRequest::default());
    assert_eq!(routed(&t, "plain.ns", &plain).1, Reason::Draw);
    assert!(
        plain.reads.borrow().is_empty(),
        "{:?}",
        plain.reads.borrow()
    );
    let tagged = Recorded::new(PlainRequest::default());
    routed(&t, "tagged.ns", &tagged);
    assert_eq!(*tagged.reads.borrow(), [TAG_HEADER]);
}

/// config-features `tag-header-based-routing` (features.go; Knative ships it
/// Disabled): off, `Knative-Serving-Tag` routes nothing, and neither it nor
/// `Knative-Serving-Default-Route` is written (resources/ingress.go writes
/// them only when the feature is Enabled; route_test.go
/// TestCreateRouteWithNamedTargets has none of them). Tag hosts still work.
#[test]
fn with_tag_header_routing_off_the_header_routes_nothing_and_is_not_written() {
    let config = json!({"tagHeaderBasedRouting": false, "services": [
        {"name": "web", "namespace": "ns", "traffic": [
            {"tag": "current", "revisionName": "web-1", "percent": 100},
            {"tag": "candidate", "revisionName": "web-2", "percent": 0}
        ]}
    ]});
    let t = fixtures::table(&config);
    assert!(!t.tag_header_routing());
    for _ in 0..50 {
        assert_eq!(
            routed(&t, "web.ns", &tag_header("candidate")),
            ("web-1".into(), Reason::Draw),
            "a client cannot reach the 0% revision by guessing its tag"
        );
    }
    let written = |host: &str| -> Vec<String> {
        match t.route(host, &tag_header("candidate"), &mut rng()) {
            Decision::Route(r) => r.request_headers().map(|(k, _)| k.to_owned()).collect(),
            other => panic!("{other:?}"),
        }
    };
    for host in ["web.ns", "candidate-web.ns"] {
        let names = written(host);
        assert!(!names.iter().any(|n| n == TAG_HEADER), "{host}: {names:?}");
        assert!(
            !names.iter().any(|n| n == DEFAULT_ROUTE_HEADER),
            "{host}: {names:?}"
        );
    }
    assert_eq!(
        routed(&t, "candidate-web.ns", &Headers::default()),
        ("web-2".into(), Reason::TagHost)
    );
    // On by default, as the seeds use it.
    assert!(table().tag_header_routing());
}
