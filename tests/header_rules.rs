//! Header and cookie rules: route on what a client already sends, not only on
//! `Knative-Serving-Tag` (knative/serving#4736), as seed 003 does by hand
//! with a `wid` header prefix; and their configuration errors.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::{
    errors, helloworld, revision, rng, routed, seed_003_rules, table, HELLOWORLD, SEED,
};

use knative_traffic::request::PlainRequest;
use knative_traffic::{Decision, Reason};
use serde_json::{json, Value};

#[test]
fn rules_route_by_header_prefix_as_seed_003_does() {
    let t = table(&helloworld(50, &seed_003_rules()));
    for wid in ["a", "a1", "abc"] {
        assert_eq!(
            routed(
                &t,
                HELLOWORLD,
                &PlainRequest::default().with_header("wid", wid)
            ),
            ("helloworld-go-00001".into(), Reason::Rule),
            "wid {wid}"
        );
    }
    for wid in ["b", "b-7"] {
        assert_eq!(
            routed(
                &t,
                HELLOWORLD,
                &PlainRequest::default().with_header("wid", wid)
            ),
            ("helloworld-go-00002".into(), Reason::Rule)
        );
    }
    // No rule matches: the draw.
    assert_eq!(
        routed(
            &t,
            HELLOWORLD,
            &PlainRequest::default().with_header("wid", "c")
        )
        .1,
        Reason::Draw
    );
    assert_eq!(
        routed(
            &t,
            HELLOWORLD,
            &PlainRequest::default().with_header("wid", "A")
        )
        .1,
        Reason::Draw
    );
}

#[test]
fn rules_match_cookies_exactly_and_by_presence() {
    let t = table(&helloworld(50, &seed_003_rules()));
    let cookie = |c: &str| PlainRequest::default().with_header("cookie", c);
    assert_eq!(
        routed(&t, HELLOWORLD, &cookie("theme=dark; beta=yes")),
        ("helloworld-go-00002".into(), Reason::Rule)
    );
    assert_eq!(routed(&t, HELLOWORLD, &cookie("beta=no")).1, Reason::Draw);
    assert_eq!(routed(&t, HELLOWORLD, &cookie("Beta=yes")).1, Reason::Draw);
    assert_eq!(
        routed(&t, HELLOWORLD, &cookie("pin-a=")),
        ("helloworld-go-00001".into(), Reason::Rule)
    );
    assert_eq!(
        routed(
            &t,
            HELLOWORLD,
            &PlainRequest::default().with_header("x-canary", "")
        ),
        ("helloworld-go-00002".into(), Reason::Rule)
    );
    // A cookie in a second Cookie header (HTTP/1.1 allows several).
    let two = |a: &str, b: &str| {
        PlainRequest::default()
            .with_header("cookie", a)
            .with_header("cookie", b)
    };
    assert_eq!(
        routed(&t, HELLOWORLD, &two("theme=dark", "beta=yes")),
        ("helloworld-go-00002".into(), Reason::Rule)
    );
    assert_eq!(
        routed(&t, HELLOWORLD, &two("theme=dark", "x=1; pin-a=1")),
        ("helloworld-go-00001".into(), Reason::Rule)
    );
    assert_eq!(
        routed(&t, HELLOWORLD, &two("theme=dark", "beta=no")).1,
        Reason::Draw
    );
}

#[test]
fn a_host_rule_reads_the_host_as_hosts_match() {
    let t = table(&helloworld(
        50,
        &json!({
            "customDomains": ["beta.weimob.com", "*.weimoba.com"],
            "rules": [
                {"header": "Host", "exact": "Beta.Weimob.com", "tag": "b"},
                {"header": "host", "prefix": "a.", "tag": "a"}
            ]
        }),
    ));
    for host in [
        "beta.weimob.com",
        "BETA.weimob.com:8080",
        "beta.weimob.com.",
    ] {
        assert_eq!(
            routed(&t, host, &PlainRequest::default()),
            ("helloworld-go-00002".into(), Reason::Rule),
            "{host}"
        );
    }
    assert_eq!(
        routed(&t, "A.weimoba.com:443", &PlainRequest::default()),
        ("helloworld-go-00001".into(), Reason::Rule)
    );
    // The host is the one the request was routed by, not a header a client
    // could add beside it.
    assert_eq!(
        routed(
            &t,
            HELLOWORLD,
            &PlainRequest::default().with_header("host", "beta.weimob.com")
        )
        .1,
        Reason::Draw
    );
    assert_eq!(
        routed(&t, "b.weimoba.com", &PlainRequest::default()).1,
        Reason::Draw
    );
}

#[test]
fn the_first_matching_rule_wins_and_tags_win_over_rules() {
    let t = table(&helloworld(50, &seed_003_rules()));
    // wid=a (rule 0, tag a) before x-canary (rule 3, tag b).
    let req = PlainRequest::default()
        .with_header("wid", "a")
        .with_header("x-canary", "1");
    assert_eq!(revision(&t, &req), "helloworld-go-00001");
    // The tag header wins over a rule; the tag host wins over both.
    let req = PlainRequest::default()
        .with_header("wid", "a")
        .with_header("knative-serving-tag", "b");
    assert_eq!(
        routed(&t, HELLOWORLD, &req),
        ("helloworld-go-00002".into(), Reason::TagHeader)
    );
    let req = PlainRequest::default().with_header("wid", "b");
    assert_eq!(
        routed(&t, "a-helloworld-go.example.example.com", &req),
        ("helloworld-go-00001".into(), Reason::TagHost)
    );
}

#[test]
fn a_rule_writes_its_tag() {
    let t = table(&helloworld(50, &seed_003_rules()));
    let req = PlainRequest::default().with_header("wid", "b1");
    match t.route(HELLOWORLD, &req, &mut rng(SEED)) {
        Decision::Route(r) => {
            let headers: Vec<_> = r.request_headers().collect();
            assert!(headers.contains(&("knative-serving-tag", Some("b"))));
            assert!(headers.contains(&("knative-serving-default-route", None)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rule_errors() {
    let bad = |rule: Value| errors(&helloworld(50, &json!({"rules": [rule]})));
    let prefix = "services[0] (helloworld-go): rules[0]: ";
    assert_eq!(
        bad(json!({"header": "wid", "prefix": "a", "tag": "c"})),
        [format!(
            "{prefix}tag \"c\" is not a tag of this service's traffic"
        )]
    );
    assert_eq!(
        bad(json!({"header": "wid", "cookie": "w", "exact": "a", "tag": "a"})),
        [format!("{prefix}set one of header or cookie")]
    );
    assert_eq!(
        bad(json!({"exact": "a", "tag": "a"})),
        [format!("{prefix}set one of header or cookie")]
    );
    assert_eq!(
        bad(json!({"header": "wid", "exact": "a", "prefix": "a", "tag": "a"})),
        [format!("{prefix}set one of exact, prefix or present")]
    );
    assert_eq!(
        bad(json!({"header": "wid", "tag": "a"})),
        [format!("{prefix}set one of exact, prefix or present")]
    );
    assert_eq!(
        bad(json!({"header": "wid", "present": false, "tag": "a"})),
        [format!(
            "{prefix}present must be true (a rule matches what a request has)"
        )]
    );
    assert_eq!(
        bad(json!({"header": "w id", "present": true, "tag": "a"})),
        [format!("{prefix}\"w id\" is not a header or cookie name")]
    );
}
