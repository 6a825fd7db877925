// Tests report by panicking.
#![allow(clippy::restriction)]
//! `describe FILE [SERVICE]`: the built binary's text and JSON for the
//! tool's test documents, checked line for line, and against the filter:
//! every host it lists is one the filter routes to that service (and tag),
//! the sticky cookie's Max-Age is the one the filter hands out, and what it
//! says of a timed rollout is what `simulate` says at the same instant.

#[path = "../../tests/support/mod.rs"]
mod support;
mod tool;

use knative_traffic::request::PlainRequest;
use knative_traffic::time::parse_instant;
use knative_traffic::Decision;
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;
use serde_json::{json, Value};
use tool::{data, run, run_with_stdin, Run, ScratchFile};

fn describe(args: &[&str]) -> Run {
    let mut all = vec!["describe"];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(r.stderr, "");
    r
}

fn describe_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let r = describe(&all);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

/// Lines from the first that starts with `from`, for `count` lines.
fn section<'s>(text: &'s str, from: &str, count: usize) -> Vec<&'s str> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with(from))
        .unwrap_or_else(|| panic!("no {from:?} in:\n{text}"));
    lines[start..start + count].to_vec()
}

// ---------------------------------------------------------------- text

/// Tags, 0% among them, each with its hosts in both zones.
#[test]
fn a_service_with_tags() {
    let expected = r#"default/traffic-example
  visibility: public
  latest ready revision: traffic-example-v3
  hosts:
    external                   traffic-example.default.example.com
    cluster-local              traffic-example.default
                               traffic-example.default.svc
                               traffic-example.default.svc.cluster.local
    tag v1, external           v1-traffic-example.default.example.com
    tag v1, cluster-local      v1-traffic-example.default
                               v1-traffic-example.default.svc
                               v1-traffic-example.default.svc.cluster.local
    tag v2, external           v2-traffic-example.default.example.com
    tag v2, cluster-local      v2-traffic-example.default
                               v2-traffic-example.default.svc
                               v2-traffic-example.default.svc.cluster.local
    tag v3, external           v3-traffic-example.default.example.com
    tag v3, cluster-local      v3-traffic-example.default
                               v3-traffic-example.default.svc
                               v3-traffic-example.default.svc.cluster.local
    tag latest, external       latest-traffic-example.default.example.com
    tag latest, cluster-local  latest-traffic-example.default
                               latest-traffic-example.default.svc
                               latest-traffic-example.default.svc.cluster.local
  traffic:
     80%  ████████████████      traffic-example-v1            #v1
     10%  ██                    traffic-example-v2            #v2
     10%  ██                    traffic-example-v3            #v3
      0%                        @latest (traffic-example-v3)  #latest
  tags:
    v1       80%  traffic-example-v1
    v2       10%  traffic-example-v2
    v3       10%  traffic-example-v3
    latest    0%  traffic-example-v3
"#;
    assert_eq!(
        describe(&["seeds.json", "traffic-example"]).stdout,
        expected
    );
    // By NAMESPACE/NAME too; a file of one service is described whole.
    assert_eq!(
        describe(&["seeds.json", "default/traffic-example"]).stdout,
        expected
    );
    let both = describe(&["seeds.json"]).stdout;
    assert!(
        both.starts_with(&format!("{expected}\nexample/helloworld-go\n")),
        "{both}"
    );
}

/// Rules in order, stickiness, and a timed rollout of the main route and of
/// the two tags that follow the latest revision, at an instant mid-way.
#[test]
fn rules_sticky_and_a_rollout_mid_way() {
    let expected = r#"shop/web
  visibility: public
  latest ready revision: web-3
  hosts:
    external                   web.shop.example.com
    cluster-local              web.shop
                               web.shop.svc
                               web.shop.svc.cluster.local
    tag stable, external       stable-web.shop.example.com
    tag stable, cluster-local  stable-web.shop
                               stable-web.shop.svc
                               stable-web.shop.svc.cluster.local
    tag canary, external       canary-web.shop.example.com
    tag canary, cluster-local  canary-web.shop
                               canary-web.shop.svc
                               canary-web.shop.svc.cluster.local
    tag latest, external       latest-web.shop.example.com
    tag latest, cluster-local  latest-web.shop
                               latest-web.shop.svc
                               latest-web.shop.svc.cluster.local
  traffic:
     60%  ████████████          web-1            #stable
     40%  ████████              @latest (web-3)  #canary
      0%                        @latest (web-3)  #latest
  tags:
    stable   60%  web-1
    canary   40%  web-2 49%, web-3 51% (timed rollout)
    latest    0%  web-2 49%, web-3 51% (timed rollout)
  rules (the first that matches wins):
    1. header x-beta exact "yes": tag canary
  sticky: cookie kn-sticky, setCookie, maxAge 86400
  rollout: start 2026-11-25T16:00:00Z, duration 10m, 4 equal steps
    timed rollout of the latest-following 40% from web-2 to web-3: 1% at 2026-11-25T16:00:00Z, then 4 steps of 10% (the last 9%), the last at 2026-11-25T16:10:00Z
       before the start                   web-1 60%, web-2 40%
       2026-11-25T16:00:00Z  first 1%     web-1 60%, web-2 39%, web-3 1%
       2026-11-25T16:02:30Z  step 1 of 4  web-1 60%, web-2 29%, web-3 11%
    >  2026-11-25T16:05:00Z  step 2 of 4  web-1 60%, web-2 19%, web-3 21%
       2026-11-25T16:07:30Z  step 3 of 4  web-1 60%, web-2 9%, web-3 31%
       2026-11-25T16:10:00Z  step 4 of 4  web-1 60%, web-3 40%
    at 2026-11-25T16:05:00Z: web-3 has 21% after step 2 of 4; the next at 2026-11-25T16:07:30Z
    timed rollout of tags canary and latest from web-2 to web-3: 1% at 2026-11-25T16:00:00Z, then 4 steps of 25% (the last 24%), the last at 2026-11-25T16:10:00Z
       before the start                   web-2 100%
       2026-11-25T16:00:00Z  first 1%     web-2 99%, web-3 1%
       2026-11-25T16:02:30Z  step 1 of 4  web-2 74%, web-3 26%
    >  2026-11-25T16:05:00Z  step 2 of 4  web-2 49%, web-3 51%
       2026-11-25T16:07:30Z  step 3 of 4  web-2 24%, web-3 76%
       2026-11-25T16:10:00Z  step 4 of 4  web-3 100%
    at 2026-11-25T16:05:00Z: web-3 has 51% after step 2 of 4; the next at 2026-11-25T16:07:30Z
"#;
    assert_eq!(
        describe(&["features.json", "web", "--at", "2026-11-25T16:05:00Z"]).stdout,
        expected
    );
}

/// Before the start the previous revision has the share and the first 1%
/// is next; after the last move the rollout is complete.
#[test]
fn a_rollout_before_its_start_and_after_its_end() {
    let at = |instant: &str| describe(&["features.json", "--at", instant]).stdout;
    let before = at("2026-11-25T15:59:59Z");
    assert_eq!(
        section(&before, "tags:", 4),
        [
            "  tags:",
            "    stable   60%  web-1",
            "    canary   40%  web-2 100% (timed rollout)",
            "    latest    0%  web-2 100% (timed rollout)",
        ]
    );
    assert_eq!(
        section(&before, "timed rollout of the latest-following", 9),
        [
            "    timed rollout of the latest-following 40% from web-2 to web-3: 1% at 2026-11-25T16:00:00Z, then 4 steps of 10% (the last 9%), the last at 2026-11-25T16:10:00Z",
            "    >  before the start                   web-1 60%, web-2 40%",
            "       2026-11-25T16:00:00Z  first 1%     web-1 60%, web-2 39%, web-3 1%",
            "       2026-11-25T16:02:30Z  step 1 of 4  web-1 60%, web-2 29%, web-3 11%",
            "       2026-11-25T16:05:00Z  step 2 of 4  web-1 60%, web-2 19%, web-3 21%",
            "       2026-11-25T16:07:30Z  step 3 of 4  web-1 60%, web-2 9%, web-3 31%",
            "       2026-11-25T16:10:00Z  step 4 of 4  web-1 60%, web-3 40%",
            "    at 2026-11-25T15:59:59Z: not started: web-2 has it; web-3 gets its first 1% at 2026-11-25T16:00:00Z",
            "    timed rollout of tags canary and latest from web-2 to web-3: 1% at 2026-11-25T16:00:00Z, then 4 steps of 25% (the last 24%), the last at 2026-11-25T16:10:00Z",
        ]
    );

    let first = at("2026-11-25T16:00:00.500Z");
    assert_eq!(
        section(&first, "at 2026", 1),
        ["    at 2026-11-25T16:00:00.500Z: web-3 has its first 1%; the next at 2026-11-25T16:02:30Z"]
    );
    assert_eq!(
        section(&first, ">", 1),
        ["    >  2026-11-25T16:00:00Z  first 1%     web-1 60%, web-2 39%, web-3 1%"]
    );

    // The last step: 24% was still on web-2 at step 3 of 4; now none is.
    let last_but_one = at("2026-11-25T16:09:59.999Z");
    assert_eq!(
        section(&last_but_one, "canary   40%", 1),
        ["    canary   40%  web-2 24%, web-3 76% (timed rollout)"]
    );
    let after = at("2026-11-25T16:10:00Z");
    assert_eq!(
        section(&after, "tags:", 4)[2..],
        [
            "    canary   40%  web-3 100% (timed rollout)",
            "    latest    0%  web-3 100% (timed rollout)",
        ]
    );
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(
        lines[lines.len() - 2..],
        [
            "    >  2026-11-25T16:10:00Z  step 4 of 4  web-3 100%",
            "    at 2026-11-25T16:10:00Z: complete: web-3 has 100% since 2026-11-25T16:10:00Z",
        ]
    );
    assert_eq!(
        section(&after, "at 2026", 1),
        ["    at 2026-11-25T16:10:00Z: complete: web-3 has 40% since 2026-11-25T16:10:00Z"]
    );
}

/// A mirror to a 0% tag.
#[test]
fn a_service_with_a_mirror() {
    let expected = r#"default/traffic-example
  visibility: public
  hosts:
    external               traffic-example.default.example.com
    cluster-local          traffic-example.default
                           traffic-example.default.svc
                           traffic-example.default.svc.cluster.local
    tag v1, external       v1-traffic-example.default.example.com
    tag v1, cluster-local  v1-traffic-example.default
                           v1-traffic-example.default.svc
                           v1-traffic-example.default.svc.cluster.local
    tag v2, external       v2-traffic-example.default.example.com
    tag v2, cluster-local  v2-traffic-example.default
                           v2-traffic-example.default.svc
                           v2-traffic-example.default.svc.cluster.local
  traffic:
    100%  ████████████████████  traffic-example-v1  #v1
      0%                        traffic-example-v2  #v2
  tags:
    v1  100%  traffic-example-v1
    v2    0%  traffic-example-v2
  mirror: copies 10% of the requests other revisions serve to traffic-example-v2 (tag v2), not those that reached a tag
"#;
    assert_eq!(describe(&["shadow.json"]).stdout, expected);
}

/// A static canary under a guard: its candidate, its policy, and the split a
/// trip leaves (web-3's 10% back to the others in proportion).
#[test]
fn a_service_with_a_guard() {
    let text = describe(&["guard.json"]).stdout;
    assert!(
        text.ends_with(
            "  tags:\n    stable   60%  web-1\n    canary   10%  web-3\n  \
             guard: web-3 (tag canary)\n    \
             policy: minAnswers 100, window 60s, tolerance 5 points, compare on, latency 500 ms\n    \
             judges web-3 on windows of 100 split answers (60s at most): a 5xx or an answer slower than 500 ms fails; trips when significantly above the rest's failure rate + 5 points\n    \
             a trip leaves: web-1 66.67%, web-2 33.33%\n"
        ),
        "{text}"
    );
    let d = describe_json(&["guard.json"]);
    assert_eq!(
        d["services"][0]["guard"],
        json!({
            "revisionName": "web-3",
            "tag": "canary",
            "minAnswers": 100,
            "window": "60s",
            "windowSeconds": 60,
            "tolerance": 5.0,
            "compare": true,
            "latencyMs": 500,
            "resumedAt": null,
            "judges": "web-3 on windows of 100 split answers (60s at most): a 5xx or an answer slower than 500 ms fails; trips when significantly above the rest's failure rate + 5 points",
            "fallback": [
                {"revisionName": "web-1", "percent": 66.67},
                {"revisionName": "web-2", "percent": 33.33}
            ],
            "tripLeaves": "web-1 66.67%, web-2 33.33%"
        })
    );
    // Every other service says it has none.
    assert_eq!(
        describe_json(&["shadow.json"])["services"][0]["guard"],
        Value::Null
    );
    assert!(!describe(&["shadow.json"]).stdout.contains("guard"));
}

/// A timed rollout's guard, by default on the revision it rolls to, with
/// its policy as configured: a trip halts the rollout at the split before
/// its start, and the rolling tags reach their own revision.
#[test]
fn a_rollouts_guard() {
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(data().join("features.json")).unwrap())
            .unwrap();
    config["services"][0]["guard"] = json!({
        "window": "2m", "tolerance": 2.5, "compare": false, "minAnswers": 50,
        "resumedAt": "2026-11-25T16:03:00Z"
    });
    let file = ScratchFile::new("rolling-guard.json", &config.to_string());
    let text = describe(&[file.arg(), "--at", "2026-11-25T16:05:00Z"]).stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[lines.len() - 4..],
        [
            "  guard: web-3, resumed at 2026-11-25T16:03:00Z",
            "    policy: minAnswers 50, window 2m, tolerance 2.5 points, compare off, latency off",
            "    judges web-3 on windows of 50 split answers (120s at most): a 5xx fails; trips when significantly above a failure rate of 2.5%",
            "    a trip leaves: web-1 60%, web-2 40%, the timed rollout halted; tags canary and latest reach web-3",
        ],
        "{text}"
    );
    let d = describe_json(&[file.arg()]);
    let guard = &d["services"][0]["guard"];
    assert_eq!(guard["tag"], Value::Null);
    assert_eq!(guard["window"], "2m");
    assert_eq!(guard["windowSeconds"], 120);
    assert_eq!(guard["resumedAt"], "2026-11-25T16:03:00Z");
    assert_eq!(
        guard["fallback"],
        json!([{"revisionName": "web-1", "percent": 60.0}, {"revisionName": "web-2", "percent": 40.0}])
    );
}

/// What `describe` says a trip leaves is what the filter routes once the
/// guard has tripped: the fallback's shares, within binomial bounds, and
/// never the candidate.
#[test]
fn a_trip_leaves_what_the_filter_routes_once_tripped() {
    let d = describe_json(&["guard.json"]);
    let fallback = d["services"][0]["guard"]["fallback"].as_array().unwrap();
    let table =
        knative_traffic::compile(&std::fs::read(data().join("guard.json")).unwrap()).unwrap();
    table.services()[0].guard.as_ref().unwrap().trip();
    let mut rng = XorShiftRng::seed_from_u64(7);
    let n = 20_000;
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for _ in 0..n {
        match table.route("web.shop.example.com", &PlainRequest::default(), &mut rng) {
            Decision::Route(route) => {
                *counts
                    .entry(route.destination.revision.to_string())
                    .or_default() += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(counts.len(), fallback.len(), "{counts:?}");
    for share in fallback {
        let revision = share["revisionName"].as_str().unwrap();
        let p = share["percent"].as_f64().unwrap() / 100.0;
        support::assert_binomial(revision, counts[revision], n, p);
    }
}

/// Custom domains and their tag hosts, a cluster-local tag, a cluster
/// domain of its own, rules of every test, a header key, a mirror of
/// tagged requests too by revision name; a cluster-local service with
/// Knative's default traffic rolling by Knative's timing.
#[test]
fn custom_domains_visibility_and_knatives_timing() {
    let expected = r#"example/helloworld-go
  visibility: public
  hosts:
    external                 helloworld-go.example.example.com
    cluster-local            helloworld-go.example
                             helloworld-go.example.svc
                             helloworld-go.example.svc.corp.internal
    tag a, external          a-helloworld-go.example.example.com
    tag a, cluster-local     a-helloworld-go.example
                             a-helloworld-go.example.svc
                             a-helloworld-go.example.svc.corp.internal
    tag b, external          b-helloworld-go.example.example.com
    tag b, cluster-local     b-helloworld-go.example
                             b-helloworld-go.example.svc
                             b-helloworld-go.example.svc.corp.internal
    tag next, cluster-local  next-helloworld-go.example
                             next-helloworld-go.example.svc
                             next-helloworld-go.example.svc.corp.internal
    custom domain            helloworld-go.weimob.com
                             *.weimoba.com
    tag a, custom domain     a-helloworld-go.weimob.com
    tag b, custom domain     b-helloworld-go.weimob.com
  traffic:
     87%  █████████████████▌    helloworld-go-00001  #a
     13%  ██▌                   helloworld-go-00002  #b
      0%                        helloworld-go-00003  #next
  tags:
    a      87%  helloworld-go-00001
    b      13%  helloworld-go-00002
    next    0%  helloworld-go-00003, cluster-local
  rules (the first that matches wins):
    1. header wid prefix "a": tag a
    2. cookie beta exact "yes": tag b
    3. header x-canary present: tag b
  sticky: header x-user-id
  mirror: copies 0.5% of the requests other revisions serve to helloworld-go-00003, those that reached a tag too

shop/payments
  visibility: cluster-local
  latest ready revision: payments-00002
  hosts:
    cluster-local  payments.shop
                   payments.shop.svc
                   payments.shop.svc.corp.internal
  traffic:
    100%  ████████████████████  @latest (payments-00002)
  rollout: start 2026-11-25T16:00:00Z, duration 10s, Knative's timing, minimum step 1s
    timed rollout of the latest-following 100% from payments-00001 to payments-00002: 1% at 2026-11-25T16:00:00Z, then 9 steps of 11%, the last at 2026-11-25T16:00:10Z
       before the start                   payments-00001 100%
       2026-11-25T16:00:00Z  first 1%     payments-00001 99%, payments-00002 1%
       2026-11-25T16:00:02Z  step 1 of 9  payments-00001 88%, payments-00002 12%
       2026-11-25T16:00:03Z  step 2 of 9  payments-00001 77%, payments-00002 23%
    >  2026-11-25T16:00:04Z  step 3 of 9  payments-00001 66%, payments-00002 34%
       2026-11-25T16:00:05Z  step 4 of 9  payments-00001 55%, payments-00002 45%
       2026-11-25T16:00:06Z  step 5 of 9  payments-00001 44%, payments-00002 56%
       2026-11-25T16:00:07Z  step 6 of 9  payments-00001 33%, payments-00002 67%
       2026-11-25T16:00:08Z  step 7 of 9  payments-00001 22%, payments-00002 78%
       2026-11-25T16:00:09Z  step 8 of 9  payments-00001 11%, payments-00002 89%
       2026-11-25T16:00:10Z  step 9 of 9  payments-00002 100%
    at 2026-11-25T16:00:04.500Z: payments-00002 has 34% after step 3 of 9; the next at 2026-11-25T16:00:05Z
"#;
    assert_eq!(
        describe(&["domains.json", "--at", "2026-11-25T16:00:04.500Z"]).stdout,
        expected
    );
}

#[test]
fn ascii_bars() {
    let r = describe(&["domains.json", "helloworld-go", "--ascii"]);
    assert_eq!(
        section(&r.stdout, "traffic:", 4),
        [
            "  traffic:",
            "     87%  #################+    helloworld-go-00001  #a",
            "     13%  ##+                   helloworld-go-00002  #b",
            "      0%                        helloworld-go-00003  #next",
        ]
    );
    assert!(!r.stdout.contains('█'), "{}", r.stdout);
}

// ---------------------------------------------------------------- json

#[test]
fn the_json_document() {
    let d = describe_json(&["features.json", "--at", "2026-11-25T16:05:00Z"]);
    assert_eq!(d["at"], "2026-11-25T16:05:00Z");
    let web = &d["services"][0];
    assert_eq!(d["services"].as_array().unwrap().len(), 1);
    assert_eq!(web["namespace"], "shop");
    assert_eq!(web["name"], "web");
    assert_eq!(web["visibility"], "public");
    assert_eq!(web["latestReadyRevisionName"], "web-3");
    assert_eq!(
        web["hosts"][0],
        json!({"host": "web.shop.example.com", "zone": "external", "tag": null})
    );
    assert_eq!(
        web["hosts"][5],
        json!({"host": "stable-web.shop", "zone": "cluster-local", "tag": "stable"})
    );
    assert_eq!(web["hosts"].as_array().unwrap().len(), 16);
    assert_eq!(
        web["traffic"],
        json!([
            {"percent": 60, "revisionName": "web-1", "latestRevision": false, "tag": "stable"},
            {"percent": 40, "revisionName": "web-3", "latestRevision": true, "tag": "canary"},
            {"percent": 0, "revisionName": "web-3", "latestRevision": true, "tag": "latest"}
        ])
    );
    assert_eq!(
        web["tags"][1],
        json!({
            "tag": "canary", "percent": 40, "visibility": "public", "revisionName": "web-3",
            "split": [{"revisionName": "web-2", "percent": 49}, {"revisionName": "web-3", "percent": 51}],
            "rolling": true
        })
    );
    assert_eq!(
        web["tags"][0]["split"],
        json!([{"revisionName": "web-1", "percent": 100}])
    );
    assert_eq!(
        web["rules"],
        json!([{"source": "header", "name": "x-beta", "test": "exact", "value": "yes", "tag": "canary"}])
    );
    assert_eq!(
        web["sticky"],
        json!({"source": "cookie", "name": "kn-sticky", "setCookie": true, "maxAge": 86400})
    );
    assert_eq!(web["mirror"], Value::Null);

    let rollout = &web["rollout"];
    assert_eq!(rollout["fromRevisionName"], "web-2");
    assert_eq!(rollout["toRevisionName"], "web-3");
    assert_eq!(rollout["start"], "2026-11-25T16:00:00Z");
    assert_eq!(rollout["duration"], "10m");
    assert_eq!(rollout["durationSeconds"], 600);
    assert_eq!(rollout["timing"], json!({"kind": "steps", "steps": 4}));
    let groups = rollout["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let main = &groups[0];
    assert_eq!(main["tags"], json!([]));
    assert_eq!(
        (&main["share"], &main["stepSize"], &main["steps"]),
        (&json!(40), &json!(10), &json!(4))
    );
    assert_eq!(main["start"], "2026-11-25T16:00:00Z");
    assert_eq!(main["end"], "2026-11-25T16:10:00Z");
    assert_eq!(
        main["heading"],
        "timed rollout of the latest-following 40% from web-2 to web-3: 1% at 2026-11-25T16:00:00Z, then 4 steps of 10% (the last 9%), the last at 2026-11-25T16:10:00Z"
    );
    assert_eq!(
        main["before"],
        json!([{"revisionName": "web-1", "percent": 60}, {"revisionName": "web-2", "percent": 40}])
    );
    let moves = main["moves"].as_array().unwrap();
    assert_eq!(moves.len(), 5);
    assert_eq!(
        moves[2],
        json!({
            "step": 2, "label": "step 2 of 4", "at": "2026-11-25T16:05:00Z",
            "split": [
                {"revisionName": "web-1", "percent": 60},
                {"revisionName": "web-2", "percent": 19},
                {"revisionName": "web-3", "percent": 21}
            ],
            "inForce": true
        })
    );
    let in_force: Vec<bool> = moves
        .iter()
        .map(|m| m["inForce"].as_bool().unwrap())
        .collect();
    assert_eq!(in_force, [false, false, true, false, false]);
    assert_eq!(moves[0]["label"], "first 1%");
    assert_eq!(main["phase"], "rolling");
    assert_eq!(main["step"], 2);
    assert_eq!(main["next"], "2026-11-25T16:07:30Z");
    assert_eq!(main["split"], moves[2]["split"]);
    assert_eq!(
        main["state"],
        "web-3 has 21% after step 2 of 4; the next at 2026-11-25T16:07:30Z"
    );
    assert_eq!(groups[1]["tags"], json!(["canary", "latest"]));
    assert_eq!(groups[1]["share"], 100);

    let before = describe_json(&["features.json", "--at", "2026-11-25T15:00:00Z"]);
    let main = &before["services"][0]["rollout"]["groups"][0];
    assert_eq!(main["phase"], "not-started");
    assert_eq!(main["step"], Value::Null);
    assert_eq!(main["next"], "2026-11-25T16:00:00Z");
    assert_eq!(main["split"], main["before"]);
    let after = describe_json(&["features.json", "--at", "2026-12-01T00:00:00Z"]);
    let main = &after["services"][0]["rollout"]["groups"][0];
    assert_eq!(main["phase"], "complete");
    assert_eq!(main["step"], 4);
    assert_eq!(main["next"], Value::Null);
    assert_eq!(
        main["split"],
        json!([{"revisionName": "web-1", "percent": 60}, {"revisionName": "web-3", "percent": 40}])
    );

    let shadow = describe_json(&["shadow.json"]);
    let service = &shadow["services"][0];
    assert_eq!(
        service["mirror"],
        json!({"revisionName": "traffic-example-v2", "tag": "v2", "percent": 10.0, "includeTagged": false})
    );
    assert_eq!(service["sticky"], Value::Null);
    assert_eq!(service["rollout"], Value::Null);
    assert_eq!(service["rules"], json!([]));
    assert_eq!(service["latestReadyRevisionName"], Value::Null);

    let domains = describe_json(&["domains.json", "--at", "2026-11-25T16:00:04.500Z"]);
    let payments = &domains["services"][1];
    assert_eq!(payments["visibility"], "cluster-local");
    assert_eq!(
        payments["traffic"],
        json!([{"percent": 100, "revisionName": "payments-00002", "latestRevision": true, "tag": null}])
    );
    assert_eq!(payments["tags"], json!([]));
    assert_eq!(
        payments["rollout"]["timing"],
        json!({"kind": "knative", "minStepSeconds": 1})
    );
    let hello = &domains["services"][0];
    assert_eq!(hello["tags"][2]["visibility"], "cluster-local");
    assert_eq!(
        hello["sticky"],
        json!({"source": "header", "name": "x-user-id", "setCookie": false, "maxAge": null})
    );
    assert_eq!(
        hello["rules"][2],
        json!({"source": "header", "name": "x-canary", "test": "present", "value": null, "tag": "b"})
    );
    assert_eq!(
        hello["mirror"],
        json!({"revisionName": "helloworld-go-00003", "tag": null, "percent": 0.5, "includeTagged": true})
    );
}

/// A tag of a cluster-local service is cluster-local whatever it says, as
/// the filter reads it: no external host.
#[test]
fn a_cluster_local_services_tags_are_cluster_local() {
    let file = ScratchFile::new(
        "local.json",
        r#"{"domain": "example.com", "services": [{
            "name": "db", "namespace": "data", "visibility": "cluster-local",
            "traffic": [{"tag": "v1", "revisionName": "db-1", "percent": 100, "visibility": "public"}]
        }]}"#,
    );
    let d = describe_json(&[file.arg()]);
    let db = &d["services"][0];
    assert_eq!(db["tags"][0]["visibility"], "cluster-local");
    let zones: Vec<&str> = db["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["zone"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["cluster-local"; 6]);
}

// ---------------------------------------------------------------- the filter

/// Every host `describe` lists is one the filter, compiled from the same
/// file, routes to that service: to the listed tag at a tag's host (by the
/// tag-host rule), to the service's own routing elsewhere. A wildcard
/// custom domain is tried with a label in front.
#[test]
fn every_host_listed_is_one_the_filter_routes_to_its_service() {
    for file in ["seeds.json", "features.json", "shadow.json", "domains.json"] {
        let table = knative_traffic::compile(&std::fs::read(data().join(file)).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        let d = describe_json(&[file, "--at", "2026-11-25T16:05:00Z"]);
        let mut checked = 0;
        for service in d["services"].as_array().unwrap() {
            for host in service["hosts"].as_array().unwrap() {
                let name = host["host"].as_str().unwrap();
                let tried = name.replace("*.", "any.");
                let request =
                    PlainRequest::default().at(parse_instant("2026-11-25T16:05:00Z").unwrap());
                match table.route(&tried, &request, &mut XorShiftRng::seed_from_u64(1)) {
                    Decision::Route(route) => {
                        assert_eq!(
                            *route.service.name,
                            *service["name"].as_str().unwrap(),
                            "{file}: {name}"
                        );
                        assert_eq!(
                            *route.service.namespace,
                            *service["namespace"].as_str().unwrap(),
                            "{file}: {name}"
                        );
                        assert_eq!(route.tag(), host["tag"].as_str(), "{file}: {name}");
                        assert_eq!(
                            route.reason == knative_traffic::Reason::TagHost,
                            !host["tag"].is_null(),
                            "{file}: {name}"
                        );
                        assert_eq!(
                            route.original_host.is_some(),
                            host["zone"] == "custom-domain",
                            "{file}: {name}"
                        );
                    }
                    other => panic!("{file}: {name}: {other:?}"),
                }
                checked += 1;
            }
        }
        assert!(checked >= 12, "{file}: {checked} hosts");
    }
}

/// The Max-Age shown for a handed-out cookie is the one the filter writes.
#[test]
fn the_sticky_max_age_is_the_filters() {
    let d = describe_json(&["features.json"]);
    let max_age = d["services"][0]["sticky"]["maxAge"].as_u64().unwrap();
    let table =
        knative_traffic::compile(&std::fs::read(data().join("features.json")).unwrap()).unwrap();
    let Decision::Route(route) = table.route(
        "web.shop.example.com",
        &PlainRequest::default(),
        &mut XorShiftRng::seed_from_u64(1),
    ) else {
        panic!("not routed");
    };
    let cookie = route.set_cookie().unwrap();
    assert!(
        cookie.contains(&format!("; Max-Age={max_age};")),
        "{cookie}"
    );
}

/// What `describe` says of a rollout at an instant is what `simulate` says
/// of the traffic it routes then: the same schedule, the same state, the
/// same split in force, for the main route and for a rolling tag.
#[test]
fn describe_and_simulate_word_a_rollout_alike() {
    for at in [
        "2026-11-25T15:59:59Z",
        "2026-11-25T16:00:00Z",
        "2026-11-25T16:02:29.999Z",
        "2026-11-25T16:05:00Z",
        "2026-11-25T16:07:30Z",
        "2026-11-25T16:10:00Z",
        "2026-11-26T00:00:00Z",
    ] {
        let d = describe_json(&["features.json", "--at", at]);
        let groups = d["services"][0]["rollout"]["groups"]
            .as_array()
            .unwrap()
            .clone();
        for (host, group) in [
            ("web.shop.example.com", &groups[0]),
            ("canary-web.shop.example.com", &groups[1]),
        ] {
            let r = run(&[
                "simulate",
                "features.json",
                "--host",
                host,
                "--at",
                at,
                "--requests",
                "10",
            ]);
            assert_eq!(r.status, 0, "{r:?}");
            let split: Vec<String> = group["split"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| format!("{} {}%", s["revisionName"].as_str().unwrap(), s["percent"]))
                .collect();
            let lines: Vec<&str> = r.stdout.lines().collect();
            let from = lines
                .iter()
                .position(|l| l.starts_with("timed rollout"))
                .unwrap();
            assert_eq!(
                lines[from..from + 3],
                [
                    // describe groups the tags whose moves are the same;
                    // simulate names the one its requests reached.
                    group["heading"]
                        .as_str()
                        .unwrap()
                        .replace("tags canary and latest", "tag canary"),
                    format!("at {at}: {}", group["state"].as_str().unwrap()),
                    format!("split in force: {}", split.join(", ")),
                ],
                "{host} at {at}"
            );
        }
    }
}

/// For every share a route can roll and both timings, the words add up:
/// 1%, then n steps of the step size, the last (if named) giving the rest,
/// each move's percent the schedule's, and the share at the end.
#[test]
fn the_schedule_is_worded_as_it_moves() {
    for timing in [
        json!({"steps": 4}),
        json!({"steps": 7}),
        json!({"minStep": "1s"}),
        json!({"minStep": "3s"}),
    ] {
        let services: Vec<Value> = (2..=100)
            .map(|p| {
                let mut rollout = json!({"fromRevisionName": format!("s{p}-b"), "start": "2026-11-25T16:00:00Z", "duration": "120s"});
                for (k, v) in timing.as_object().unwrap() {
                    rollout[k] = v.clone();
                }
                json!({
                    "name": format!("s{p}"), "namespace": "ns",
                    "latestReadyRevisionName": format!("s{p}-c"),
                    "traffic": [
                        {"revisionName": format!("s{p}-a"), "percent": 100 - p},
                        {"latestRevision": true, "percent": p}
                    ],
                    "rollout": rollout
                })
            })
            .collect();
        let file = ScratchFile::new(
            "shares.json",
            &json!({"domain": "example.com", "services": services}).to_string(),
        );
        let d = describe_json(&[file.arg(), "--at", "2026-11-25T16:00:00Z"]);
        for (p, service) in (2..=100u64).zip(d["services"].as_array().unwrap()) {
            let group = &service["rollout"]["groups"][0];
            let to = format!("s{p}-c");
            let size = group["stepSize"].as_u64().unwrap();
            let steps = group["steps"].as_u64().unwrap();
            let percents: Vec<u64> = group["moves"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    m["split"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|s| s["revisionName"] == to.as_str())
                        .map_or(0, |s| s["percent"].as_u64().unwrap())
                })
                .collect();
            let what = format!("{p}% {timing}: {percents:?}");
            assert_eq!(group["share"], p, "{what}");
            assert_eq!(percents.len() as u64, steps + 1, "{what}");
            for (k, percent) in percents.iter().enumerate() {
                let k = k as u64;
                if k < steps {
                    assert_eq!(*percent, 1 + k * size, "{what}");
                }
            }
            assert_eq!(percents.last(), Some(&p), "{what}");
            let last = p - 1 - size * (steps - 1);
            assert!(last > 0 && last <= size, "{what}");
            let heading = group["heading"].as_str().unwrap();
            let plural = if steps == 1 { "" } else { "s" };
            let mut moves = format!("then {steps} step{plural} of {size}%");
            if steps > 1 && last != size {
                moves.push_str(&format!(" (the last {last}%)"));
            }
            assert!(
                heading.contains(&format!("{moves}, the last at ")),
                "{what}: {heading}"
            );
            assert_eq!(
                group["state"],
                format!(
                    "s{p}-c has its first 1%; the next at {}",
                    group["moves"][1]["at"].as_str().unwrap()
                ),
                "{what}"
            );
        }
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn an_unknown_service_lists_the_known_ones() {
    let r = run(&["describe", "seeds.json", "web"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "seeds.json: no service \"web\"; the services are default/traffic-example, example/helloworld-go\n"
    );
    let r = run(&["describe", "seeds.json", "example/traffic-example"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert!(r
        .stderr
        .starts_with("seeds.json: no service \"example/traffic-example\";"));

    let two = ScratchFile::new(
        "two.json",
        r#"{"domain": "example.com", "services": [
            {"name": "web", "namespace": "a", "traffic": [{"revisionName": "web-1", "percent": 100}]},
            {"name": "web", "namespace": "b", "traffic": [{"revisionName": "web-1", "percent": 100}]}
        ]}"#,
    );
    let r = run(&["describe", two.arg(), "web"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        format!(
            "{}: \"web\" names a service in more than one namespace (a/web, b/web): give NAMESPACE/NAME\n",
            two.arg()
        )
    );
    assert!(describe(&[two.arg(), "b/web"])
        .stdout
        .starts_with("b/web\n"));
}

#[test]
fn an_invalid_configuration_or_bad_arguments() {
    let r = run(&["describe", "invalid.json"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("traffic percents sum to 90, want 100"),
        "{r:?}"
    );

    let r = run(&["describe", "shadow.json", "-o", "yaml"]);
    assert_eq!(r.status, 2, "{r:?}");
    let r = run(&["describe", "shadow.json", "--at", "tomorrow"]);
    assert_eq!(r.status, 2, "{r:?}");
}

#[test]
fn reads_standard_input() {
    let text = std::fs::read_to_string(data().join("shadow.json")).unwrap();
    let r = run_with_stdin(&["describe", "-"], &text);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(r.stdout, describe(&["shadow.json"]).stdout);
}
