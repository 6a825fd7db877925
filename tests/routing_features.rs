//! Routing beyond Knative: header and cookie rules, sticky canaries (with a
//! property test of stability and monotone ramps), timed rollouts on exact
//! instants, response headers and metric slots; and their configuration
//! errors.

use std::collections::HashMap;

use knative_traffic::request::PlainRequest;
use knative_traffic::{compile, Decision, Reason, RouteTable};
use rand_core::{Rng, SeedableRng};
use rand_xorshift::XorShiftRng;
use serde_json::{json, Value};

type Req = PlainRequest;

fn table(config: Value) -> RouteTable {
    compile(config.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(config: Value) -> Vec<String> {
    match compile(config.to_string().as_bytes()) {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

/// helloworld-go with tags a and b, plus whatever `extra` adds to the service.
fn helloworld(percent_a: u32, extra: Value) -> Value {
    let mut service = json!({
        "name": "helloworld-go", "namespace": "example", "domain": "example.com",
        "traffic": [
            {"tag": "a", "revisionName": "helloworld-go-00001", "percent": percent_a},
            {"tag": "b", "revisionName": "helloworld-go-00002", "percent": 100 - percent_a}
        ]
    });
    for (k, v) in extra.as_object().unwrap() {
        service[k] = v.clone();
    }
    json!({"services": [service]})
}

const HOST: &str = "helloworld-go.example.example.com";

fn rng() -> XorShiftRng {
    XorShiftRng::seed_from_u64(11)
}

fn route(t: &RouteTable, host: &str, req: &Req) -> (String, Reason) {
    match t.route(host, req, &mut rng()) {
        Decision::Route(r) => (r.destination.revision.to_string(), r.reason),
        other => panic!("{other:?}"),
    }
}

fn revision(t: &RouteTable, req: &Req) -> String {
    route(t, HOST, req).0
}

// ---- header and cookie rules ----

fn seed_003_rules() -> Value {
    json!({"rules": [
        {"header": "wid", "prefix": "a", "tag": "a"},
        {"header": "wid", "prefix": "b", "tag": "b"},
        {"cookie": "beta", "exact": "yes", "tag": "b"},
        {"header": "x-canary", "present": true, "tag": "b"},
        {"cookie": "pin-a", "present": true, "tag": "a"}
    ]})
}

#[test]
fn rules_route_by_header_prefix_as_seed_003_does() {
    let t = table(helloworld(50, seed_003_rules()));
    for wid in ["a", "a1", "abc"] {
        assert_eq!(
            route(&t, HOST, &Req::default().with_header("wid", wid)),
            ("helloworld-go-00001".into(), Reason::Rule),
            "wid {wid}"
        );
    }
    for wid in ["b", "b-7"] {
        assert_eq!(
            route(&t, HOST, &Req::default().with_header("wid", wid)),
            ("helloworld-go-00002".into(), Reason::Rule)
        );
    }
    // No rule matches: the draw.
    assert_eq!(
        route(&t, HOST, &Req::default().with_header("wid", "c")).1,
        Reason::Draw
    );
    assert_eq!(
        route(&t, HOST, &Req::default().with_header("wid", "A")).1,
        Reason::Draw
    );
}

#[test]
fn rules_match_cookies_exactly_and_by_presence() {
    let t = table(helloworld(50, seed_003_rules()));
    let cookie = |c: &str| Req::default().with_header("cookie", c);
    assert_eq!(
        route(&t, HOST, &cookie("theme=dark; beta=yes")),
        ("helloworld-go-00002".into(), Reason::Rule)
    );
    assert_eq!(route(&t, HOST, &cookie("beta=no")).1, Reason::Draw);
    assert_eq!(route(&t, HOST, &cookie("Beta=yes")).1, Reason::Draw);
    assert_eq!(
        route(&t, HOST, &cookie("pin-a=")),
        ("helloworld-go-00001".into(), Reason::Rule)
    );
    assert_eq!(
        route(&t, HOST, &Req::default().with_header("x-canary", "")),
        ("helloworld-go-00002".into(), Reason::Rule)
    );
    // A cookie in a second Cookie header (HTTP/1.1 allows several).
    let two = |a: &str, b: &str| {
        Req::default()
            .with_header("cookie", a)
            .with_header("cookie", b)
    };
    assert_eq!(
        route(&t, HOST, &two("theme=dark", "beta=yes")),
        ("helloworld-go-00002".into(), Reason::Rule)
    );
    assert_eq!(
        route(&t, HOST, &two("theme=dark", "x=1; pin-a=1")),
        ("helloworld-go-00001".into(), Reason::Rule)
    );
    assert_eq!(
        route(&t, HOST, &two("theme=dark", "beta=no")).1,
        Reason::Draw
    );
}

#[test]
fn a_host_rule_reads_the_host_as_hosts_match() {
    let t = table(helloworld(
        50,
        json!({
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
            route(&t, host, &Req::default()),
            ("helloworld-go-00002".into(), Reason::Rule),
            "{host}"
        );
    }
    assert_eq!(
        route(&t, "A.weimoba.com:443", &Req::default()),
        ("helloworld-go-00001".into(), Reason::Rule)
    );
    // The host is the one the request was routed by, not a header a client
    // could add beside it.
    assert_eq!(
        route(
            &t,
            HOST,
            &Req::default().with_header("host", "beta.weimob.com")
        )
        .1,
        Reason::Draw
    );
    assert_eq!(route(&t, "b.weimoba.com", &Req::default()).1, Reason::Draw);
}

#[test]
fn the_first_matching_rule_wins_and_tags_win_over_rules() {
    let t = table(helloworld(50, seed_003_rules()));
    // wid=a (rule 0, tag a) before x-canary (rule 3, tag b).
    let req = Req::default()
        .with_header("wid", "a")
        .with_header("x-canary", "1");
    assert_eq!(revision(&t, &req), "helloworld-go-00001");
    // The tag header wins over a rule; the tag host wins over both.
    let req = Req::default()
        .with_header("wid", "a")
        .with_header("knative-serving-tag", "b");
    assert_eq!(
        route(&t, HOST, &req),
        ("helloworld-go-00002".into(), Reason::TagHeader)
    );
    let req = Req::default().with_header("wid", "b");
    assert_eq!(
        route(&t, "a-helloworld-go.example.example.com", &req),
        ("helloworld-go-00001".into(), Reason::TagHost)
    );
}

#[test]
fn a_rule_writes_its_tag() {
    let t = table(helloworld(50, seed_003_rules()));
    let req = Req::default().with_header("wid", "b1");
    match t.route(HOST, &req, &mut rng()) {
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
    let bad = |rule: Value| errors(helloworld(50, json!({"rules": [rule]})));
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

// ---- sticky canaries ----

fn sticky_header(percent_a: u32) -> RouteTable {
    table(helloworld(
        percent_a,
        json!({"sticky": {"header": "x-user"}}),
    ))
}

#[test]
fn a_key_sticks_to_one_revision() {
    let t = sticky_header(50);
    let mut seen = HashMap::new();
    for i in 0..1000 {
        let req = Req::default().with_header("x-user", &format!("user-{i}"));
        let (first, reason) = route(&t, HOST, &req);
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
    let t = table(helloworld(
        50,
        json!({"sticky": {"header": "x-user"}, "rules": [{"header": "wid", "prefix": "b", "tag": "b"}]}),
    ));
    // Find a key that sticks to 00001, then override it.
    let key = (0..)
        .map(|i| format!("user-{i}"))
        .find(|k| revision(&t, &Req::default().with_header("x-user", k)) == "helloworld-go-00001")
        .unwrap();
    let req = Req::default().with_header("x-user", &key);
    assert_eq!(
        route(
            &t,
            HOST,
            &req.clone().with_header("knative-serving-tag", "b")
        ),
        ("helloworld-go-00002".into(), Reason::TagHeader)
    );
    assert_eq!(
        route(&t, "b-helloworld-go.example.example.com", &req),
        ("helloworld-go-00002".into(), Reason::TagHost)
    );
    assert_eq!(
        route(&t, HOST, &req.clone().with_header("wid", "b2")),
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
            let req = Req::default().with_header("x-user", key);
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
    table(json!({"services": [{
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
            &Req::default().with_header("x-user", key),
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
    let t = table(helloworld(
        50,
        json!({"sticky": {"cookie": "kn-key", "setCookie": true, "maxAge": 3600}}),
    ));
    let mut rng = rng();
    let mut spread = HashMap::new();
    for _ in 0..200 {
        let (first, cookie) = match t.route(HOST, &Req::default(), &mut rng) {
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
        let req = Req::default().with_header("cookie", &format!("other=1; {pair}"));
        assert_eq!(route(&t, HOST, &req), (first.clone(), Reason::Sticky));
        // The key in a later Cookie header counts too, and gets no new one.
        let later = Req::default()
            .with_header("cookie", "other=1")
            .with_header("cookie", pair);
        match t.route(HOST, &later, &mut rng) {
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
        if let Decision::Route(r) = t.route(HOST, &req, &mut rng) {
            assert!(r.response_headers().is_empty());
        }
        *spread.entry(first).or_insert(0) += 1;
    }
    assert_eq!(spread.len(), 2, "{spread:?}");
}

#[test]
fn sticky_errors() {
    let bad = |sticky: Value| errors(helloworld(50, json!({"sticky": sticky})));
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

// ---- timed rollouts ----

const T0: u64 = 1_795_622_400_000; // 2026-11-25T16:00:00Z

fn rolling(steps: Option<u32>) -> RouteTable {
    let mut rollout =
        json!({"revisionName": "web-3", "start": "2026-11-25T16:00:00Z", "duration": "400s"});
    if let Some(steps) = steps {
        rollout["steps"] = json!(steps);
    }
    table(json!({"services": [{
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
            let req = Req::default()
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

fn revision_ws(t: &RouteTable, req: &Req) -> String {
    match t.route("web.ns", req, &mut rng()) {
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
    let percents = |k| rollout.step_shares(k).unwrap();
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
            let r = revision_ws(&t, &Req::default().with_header("x-user", key).at(now));
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
    let req = Req::default().at(T0 + 250_000);
    assert_eq!(
        route(&t, "old-web.ns", &req),
        ("web-1".into(), Reason::TagHost)
    );
    assert_eq!(
        route(&t, "prev-web.ns", &req),
        ("web-2".into(), Reason::TagHost)
    );
    assert_eq!(
        route(&t, "latest-web.ns", &req),
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
        errors(service(json!({"revisionName": "web-3", "start": "2026-11-25T16:00:00Z", "duration": "10m"}), 30)),
        [format!("{prefix}rollout: revision \"web-3\" already has 30% of the traffic; a rollout starts from 0%")]
    );
    assert_eq!(
        errors(service(
            json!({"start": "2026-11-25T16:00:00Z", "duration": "10m"}),
            0
        )),
        [format!(
            "{prefix}rollout: no revisionName, and no latestReadyRevisionName to roll to"
        )]
    );
    assert_eq!(
        errors(service(json!({"revisionName": "web-4", "start": "tomorrow", "duration": "10 minutes"}), 0)),
        [
            format!("{prefix}rollout.start: \"tomorrow\" is not an RFC 3339 instant (e.g. 2026-11-25T16:00:00Z)"),
            format!("{prefix}rollout.duration: \"10 minutes\" is not a positive duration (e.g. 10m, 1h30m, 380s)"),
        ]
    );
    assert_eq!(
        errors(service(
            json!({"revisionName": "web-4", "start": "2026-11-25T16:00:00Z", "duration": "0s"}),
            0
        )),
        [format!(
            "{prefix}rollout.duration: \"0s\" is not a positive duration (e.g. 10m, 1h30m, 380s)"
        )]
    );
    assert_eq!(
        errors(service(
            json!({"revisionName": "web-4", "start": "2026-11-25T16:00:00Z", "duration": "10m", "steps": 100}),
            0
        )),
        [format!(
            "{prefix}rollout.steps must be from 1 to 99, got 100"
        )]
    );
    // A revision outside traffic is fine: it gets a cluster like any other.
    assert!(errors(service(
        json!({"revisionName": "web-4", "start": "2026-11-25T16:00:00Z", "duration": "10m"}),
        0
    ))
    .is_empty());
}

// ---- response headers and metrics ----

#[test]
fn the_route_response_header_is_opt_in() {
    let t = table(helloworld(50, json!({})));
    if let Decision::Route(r) = t.route(HOST, &Req::default(), &mut rng()) {
        assert!(r.response_headers().is_empty());
    }
    let mut config = helloworld(50, json!({}));
    config["routeResponseHeader"] = json!("X-Knative-Route");
    let t = table(config);
    match t.route(
        "b-helloworld-go.example.example.com",
        &Req::default(),
        &mut rng(),
    ) {
        Decision::Route(r) => assert_eq!(
            r.response_headers(),
            vec![(
                "x-knative-route",
                "revision=helloworld-go-00002; reason=tag-host".to_string()
            )]
        ),
        other => panic!("{other:?}"),
    }
    // Built with the table, one per revision and reason: every request
    // shares it.
    let header = |host: &str, req: &Req| match t.route(host, req, &mut rng()) {
        Decision::Route(r) => r
            .route_response_header()
            .map(|(name, value)| (name, value.clone()))
            .unwrap(),
        other => panic!("{other:?}"),
    };
    let by_tag = Req::default().with_header("knative-serving-tag", "a");
    let (name, first) = header(HOST, &by_tag);
    let (_, second) = header(HOST, &by_tag);
    assert_eq!(name, "x-knative-route");
    assert_eq!(&*first, "revision=helloworld-go-00001; reason=tag-header");
    assert!(std::sync::Arc::ptr_eq(&first, &second));
    assert_eq!(
        &*header("a-helloworld-go.example.example.com", &Req::default()).1,
        "revision=helloworld-go-00001; reason=tag-host"
    );
    let (_, drawn) = header(HOST, &Req::default());
    assert!(
        [
            "revision=helloworld-go-00001; reason=draw",
            "revision=helloworld-go-00002; reason=draw"
        ]
        .contains(&&*drawn),
        "{drawn}"
    );
}

#[test]
fn metric_slots_cover_what_can_happen_and_nothing_else() {
    let t = table(helloworld(100, seed_003_rules()));
    let names: HashMap<u32, String> = t.metrics().collect();
    let prefix = "knative_traffic.requests.namespace.example.service.helloworld-go";
    let mut listed: Vec<&str> = names
        .values()
        .map(|n| n.strip_prefix(prefix).unwrap())
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            ".reason.not-found",
            ".revision.helloworld-go-00001.reason.draw",
            ".revision.helloworld-go-00001.reason.rule",
            ".revision.helloworld-go-00001.reason.tag-header",
            ".revision.helloworld-go-00001.reason.tag-host",
            ".revision.helloworld-go-00002.reason.rule",
            ".revision.helloworld-go-00002.reason.tag-header",
            ".revision.helloworld-go-00002.reason.tag-host",
        ],
        "00002 is at 0%: it is never drawn"
    );
    // Slots are dense, and every decision's slot names its own route.
    let mut slots: Vec<u32> = names.keys().copied().collect();
    slots.sort();
    assert_eq!(slots, (0..names.len() as u32).collect::<Vec<_>>());
    for (host, req) in [
        (HOST, Req::default()),
        (HOST, Req::default().with_header("wid", "b")),
        (HOST, Req::default().with_header("knative-serving-tag", "a")),
        ("b-helloworld-go.example.example.com", Req::default()),
        ("z-helloworld-go.example.example.com", Req::default()),
    ] {
        let decision = t.route(host, &req, &mut rng());
        let name = &names[&decision.metric_slot().unwrap()];
        match &decision {
            Decision::Route(r) => assert_eq!(
                name,
                &format!(
                    "{prefix}.revision.{}.reason.{}",
                    r.destination.revision,
                    r.reason.as_str()
                )
            ),
            Decision::NoSuchTag(_) => assert!(name.ends_with(".reason.not-found")),
            Decision::PassThrough => unreachable!(),
        }
    }
    let mut off = helloworld(50, json!({}));
    off["metrics"] = json!(false);
    let t = table(off);
    assert_eq!(t.metrics().count(), 0);
    assert_eq!(
        t.route(HOST, &Req::default(), &mut rng()).metric_slot(),
        None
    );
}

// ---- mirroring ----

fn mirrored(extra_mirror: Value) -> Value {
    let mut mirror = json!({"tag": "b", "percent": 10});
    for (k, v) in extra_mirror.as_object().unwrap() {
        mirror[k] = v.clone();
    }
    helloworld(100, json!({"mirror": mirror}))
}

/// (served, mirrored to) per request over `n` requests.
fn mirror_counts(
    t: &RouteTable,
    host: &str,
    req: &Req,
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
    let t = table(mirrored(json!({})));
    let n = 100_000;
    let counts = mirror_counts(&t, HOST, &Req::default(), n);
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
        if let Decision::Route(r) = t.route(HOST, &Req::default(), &mut rng) {
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
    let t = table(mirrored(json!({"percent": 0.05})));
    let n = 400_000;
    let copied: u32 = mirror_counts(&t, HOST, &Req::default(), n)
        .iter()
        .filter(|((_, m), _)| m.is_some())
        .map(|(_, c)| c)
        .sum();
    // 0.05% of 400,000 = 200 ± 4·sqrt(200·0.9995) ≈ 56.6
    assert!((143..=257).contains(&copied), "{copied}");
}

#[test]
fn never_mirrored_to_the_serving_revision_nor_tagged_requests_unless_asked() {
    let t = table(mirrored(json!({"percent": 100})));
    let only = |host: &str, req: &Req| {
        mirror_counts(&t, host, req, 50)
            .into_keys()
            .collect::<Vec<_>>()
    };
    // Served by 00002 itself: no copy.
    assert_eq!(
        only("b-helloworld-go.example.example.com", &Req::default()),
        [("helloworld-go-00002".into(), None)]
    );
    // A tag host or tag header reaching 00001: no copy by default...
    assert_eq!(
        only("a-helloworld-go.example.example.com", &Req::default()),
        [("helloworld-go-00001".into(), None)]
    );
    assert_eq!(
        only(
            HOST,
            &Req::default().with_header("knative-serving-tag", "a")
        ),
        [("helloworld-go-00001".into(), None)]
    );
    // ...and with includeTagged, a copy.
    let t = table(mirrored(json!({"percent": 100, "includeTagged": true})));
    let only = |host: &str| {
        mirror_counts(&t, host, &Req::default(), 50)
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
    let t = table(helloworld(
        100,
        json!({"mirror": {"revisionName": "helloworld-go-00003", "percent": 100}}),
    ));
    let counts = mirror_counts(&t, HOST, &Req::default(), 10);
    assert_eq!(
        counts.into_keys().collect::<Vec<_>>(),
        [(
            "helloworld-go-00001".into(),
            Some("helloworld-go-00003".into())
        )]
    );
    let names: HashMap<u32, String> = t.metrics().collect();
    let decision = t.route(HOST, &Req::default(), &mut rng());
    assert_eq!(
        names[&decision.mirrored_slot().unwrap()],
        "knative_traffic.mirrored.namespace.example.service.helloworld-go.revision.helloworld-go-00003"
    );
}

/// The candidate a service mirrors to, with the cluster the filter writes
/// into the mirror header, whether named by tag or by revision.
#[test]
fn the_mirror_destination_is_the_candidate() {
    let t = table(mirrored(json!({})));
    let d = t.services()[0].mirror_destination().unwrap();
    assert_eq!(
        (&*d.revision, &*d.cluster),
        ("helloworld-go-00002", "helloworld-go-00002")
    );
    let mut config = helloworld(
        100,
        json!({"mirror": {"revisionName": "helloworld-go-00003", "percent": 5}}),
    );
    config["clusterTemplate"] = json!("{service}-{revision}");
    let t = table(config);
    let d = t.services()[0].mirror_destination().unwrap();
    assert_eq!(
        (&*d.revision, &*d.cluster),
        ("helloworld-go-00003", "helloworld-go-helloworld-go-00003")
    );
    assert_eq!(
        table(helloworld(50, json!({}))).services()[0].mirror_destination(),
        None
    );
}

#[test]
fn mirror_errors() {
    let bad = |mirror: Value| errors(helloworld(50, json!({"mirror": mirror})));
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
    let mut config = helloworld(50, json!({}));
    config["mirrorHeader"] = json!("X-Knative-Cluster");
    assert_eq!(
        errors(config),
        ["mirrorHeader: \"x-knative-cluster\" is the clusterHeader too; they must differ"]
    );
}
