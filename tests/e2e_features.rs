//! Routing beyond Knative, end to end on every installed Envoy: sticky
//! canaries, header rules, a short timed rollout, metrics read from the admin
//! endpoint, the opt-in route header, and live reconfiguration over ECDS
//! under a steady stream of requests.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use knative_traffic::time::format_instant;
use serde_json::{json, Value};
use support::{assert_binomial, http, Backend, Ecds, Envoy, EnvoyConfig};

const HELLOWORLD: &str = "helloworld-go.example.example.com";

fn helloworld(extra: Value) -> Value {
    let mut service = json!({
        "name": "helloworld-go", "namespace": "example", "domain": "example.com",
        "traffic": [
            {"tag": "a", "revisionName": "helloworld-go-00001", "percent": 50},
            {"tag": "b", "revisionName": "helloworld-go-00002", "percent": 50}
        ]
    });
    for (k, v) in extra.as_object().unwrap() {
        service[k] = v.clone();
    }
    json!({"routeResponseHeader": "x-knative-route", "services": [service]})
}

struct Helloworld {
    revisions: [Backend; 2],
}

impl Helloworld {
    fn start() -> Helloworld {
        Helloworld {
            revisions: ["00001", "00002"].map(Backend::start),
        }
    }

    fn envoy(&self, bin: &Path, config: &Value) -> Envoy {
        let clusters = support::clusters("helloworld-go-", &self.revisions);
        let mut envoy_config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        envoy_config
            .set_plugin_configuration(config)
            .set_clusters(&clusters);
        Envoy::start(bin, envoy_config)
    }
}

/// A client without a key gets a cookie; with it, every request lands on the
/// revision its first one did; the tag header still wins.
#[test]
fn sticky_cookies_keep_a_client_on_one_revision() {
    let backends = Helloworld::start();
    let config = helloworld(json!({
        "sticky": {"cookie": "kn-sticky", "setCookie": true, "maxAge": 600}
    }));
    for bin in support::envoys() {
        let envoy = backends.envoy(&bin, &config);
        let v = envoy.version.clone();
        let mut firsts = HashMap::new();
        for client in 0..40 {
            let first = envoy.get(HELLOWORLD, "/", &[]);
            let cookie = first
                .header("set-cookie")
                .unwrap_or_else(|| panic!("Envoy {v}: no cookie handed out: {first:?}"));
            let (pair, attributes) = cookie.split_once("; ").unwrap();
            assert!(pair.starts_with("kn-sticky="), "{cookie}");
            assert_eq!(attributes, "Max-Age=600; Path=/; HttpOnly");
            let revision = first.revision().unwrap().to_owned();
            assert_eq!(
                first.header("x-knative-route"),
                Some(format!("revision=helloworld-go-{revision}; reason=draw").as_str())
            );
            for _ in 0..5 {
                let r = envoy.get(HELLOWORLD, "/", &[("cookie", pair)]);
                assert_eq!(
                    r.revision(),
                    Some(revision.as_str()),
                    "Envoy {v}: client {client} moved"
                );
                assert_eq!(r.header("set-cookie"), None);
                assert_eq!(
                    r.header("x-knative-route"),
                    Some(format!("revision=helloworld-go-{revision}; reason=sticky").as_str())
                );
                assert_eq!(r.seen("knative-serving-default-route"), Some("true"));
            }
            // The key in a second Cookie header (HTTP/1.1, one line each).
            let r = envoy.get(
                HELLOWORLD,
                "/",
                &[("cookie", "theme=dark"), ("cookie", pair)],
            );
            assert_eq!(
                (r.revision(), r.header("set-cookie")),
                (Some(revision.as_str()), None),
                "Envoy {v}: client {client}'s key in a second Cookie header"
            );
            assert_eq!(
                r.header("x-knative-route"),
                Some(format!("revision=helloworld-go-{revision}; reason=sticky").as_str())
            );
            let other = if revision == "00001" { "b" } else { "a" };
            let r = envoy.get(
                HELLOWORLD,
                "/",
                &[("cookie", pair), ("knative-serving-tag", other)],
            );
            assert_ne!(r.revision(), Some(revision.as_str()), "the tag header wins");
            *firsts.entry(revision).or_insert(0) += 1;
        }
        // 40 clients at 50/50: both revisions (all on one has probability 2^-39).
        assert_eq!(firsts.len(), 2, "Envoy {v}: {firsts:?}");
    }
}

/// A user id header as the key: each user stays put, and users spread by the
/// percents.
#[test]
fn sticky_header_keys_spread_users_by_the_percents() {
    let backends = Helloworld::start();
    let config = helloworld(json!({"sticky": {"header": "x-user-id"}}));
    for bin in support::envoys() {
        let envoy = backends.envoy(&bin, &config);
        let n = 400;
        let mut on_first = 0;
        for user in 0..n {
            let id = format!("user-{user}");
            let first = envoy.get(HELLOWORLD, "/", &[("x-user-id", &id)]);
            for _ in 0..2 {
                let again = envoy.get(HELLOWORLD, "/", &[("x-user-id", &id)]);
                assert_eq!(again.revision(), first.revision(), "{id} moved");
            }
            if first.revision() == Some("00001") {
                on_first += 1;
            }
        }
        assert_binomial(
            &format!("Envoy {}: users on 00001", envoy.version),
            on_first,
            n,
            0.5,
        );
    }
}

/// Seed 003 §3 by the filter instead of a hand-written VirtualService: `wid`
/// starting with a goes to tag a, with b to tag b; anything else draws.
#[test]
fn header_rules_route_like_seed_003() {
    let backends = Helloworld::start();
    let config = helloworld(json!({"rules": [
        {"header": "wid", "prefix": "a", "tag": "a"},
        {"header": "wid", "prefix": "b", "tag": "b"}
    ]}));
    for bin in support::envoys() {
        let envoy = backends.envoy(&bin, &config);
        for (wid, revision, tag) in [
            ("a", "00001", "a"),
            ("a42", "00001", "a"),
            ("b", "00002", "b"),
            ("b9", "00002", "b"),
        ] {
            for _ in 0..10 {
                let r = envoy.get(HELLOWORLD, "/", &[("wid", wid)]);
                assert_eq!(
                    r.revision(),
                    Some(revision),
                    "Envoy {}: wid {wid}: {r:?}",
                    envoy.version
                );
                assert_eq!(r.seen("knative-serving-tag"), Some(tag));
                assert_eq!(r.seen("knative-serving-default-route"), None);
                assert_eq!(
                    r.header("x-knative-route"),
                    Some(format!("revision=helloworld-go-{revision}; reason=rule").as_str())
                );
            }
        }
        let drawn = envoy.get(HELLOWORLD, "/", &[("wid", "c")]);
        assert_eq!(drawn.seen("knative-serving-default-route"), Some("true"));
    }
}

/// A rule on `host` sees the Host header, which Envoy keeps as `:authority`:
/// a custom domain's requests go to a tag, whatever case or port the client
/// sent, while the service's own host still draws.
#[test]
fn a_host_rule_reads_the_authority() {
    let backends = Helloworld::start();
    let config = helloworld(json!({
        "customDomains": ["beta.weimob.com"],
        "rules": [{"header": "Host", "exact": "beta.weimob.com", "tag": "b"}]
    }));
    for bin in support::envoys() {
        let envoy = backends.envoy(&bin, &config);
        let v = &envoy.version;
        for host in [
            "beta.weimob.com",
            "Beta.Weimob.com:8080",
            "beta.weimob.com.",
        ] {
            let r = envoy.get(host, "/", &[]);
            assert_eq!(
                r.header("x-knative-route"),
                Some("revision=helloworld-go-00002; reason=rule"),
                "Envoy {v}: Host {host}: {r:?}"
            );
        }
        let r = envoy.get(HELLOWORLD, "/", &[]);
        let route = r.header("x-knative-route").unwrap_or_default();
        assert!(route.ends_with("; reason=draw"), "Envoy {v}: {route}");
    }
}

/// Request headers, and the revision a rule sends them to (`None`: no rule
/// matches, the split draws).
type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);

/// Header and cookie rules by exact value and by presence, as Envoy hands
/// the headers over. Over HTTP/1.1 a client may send several `Cookie`
/// headers (the harness speaks HTTP/1.1, one line per header given): a
/// cookie in a later one counts as one in the first.
#[test]
fn header_and_cookie_rules_match_exactly_and_by_presence() {
    let backends = Helloworld::start();
    let config = helloworld(json!({"rules": [
        {"header": "x-canary", "exact": "on", "tag": "b"},
        {"header": "x-pin-a", "present": true, "tag": "a"},
        {"cookie": "beta", "exact": "yes", "tag": "b"},
        {"cookie": "pin-a", "present": true, "tag": "a"}
    ]}));
    for bin in support::envoys() {
        let envoy = backends.envoy(&bin, &config);
        let v = &envoy.version;
        let cases: [Case; 12] = [
            (&[("x-canary", "on")], Some("00002")),
            (&[("X-Canary", "on")], Some("00002")),
            (&[("x-pin-a", "")], Some("00001")),
            (&[("x-pin-a", "anything")], Some("00001")),
            (&[("cookie", "theme=dark; beta=yes")], Some("00002")),
            (&[("cookie", "pin-a=")], Some("00001")),
            (
                &[("cookie", "theme=dark"), ("cookie", "beta=yes")],
                Some("00002"),
            ),
            (
                &[("cookie", "theme=dark"), ("cookie", "x=1; pin-a=1")],
                Some("00001"),
            ),
            // Not matched: the split draws.
            (&[("x-canary", "On")], None),
            (&[("x-canary", "on1")], None),
            (&[("cookie", "beta=no; Beta=yes")], None),
            (&[("cookie", "theme=dark"), ("cookie", "beta=no")], None),
        ];
        for (headers, want) in cases {
            for _ in 0..10 {
                let r = envoy.get(HELLOWORLD, "/", headers);
                assert_eq!(r.status, 200, "Envoy {v}: {headers:?}: {r:?}");
                let route = r.header("x-knative-route").unwrap_or_default();
                match want {
                    Some(revision) => assert_eq!(
                        route,
                        format!("revision=helloworld-go-{revision}; reason=rule"),
                        "Envoy {v}: {headers:?}"
                    ),
                    None => assert!(
                        route.ends_with("; reason=draw"),
                        "Envoy {v}: {headers:?}: {route}"
                    ),
                }
            }
        }
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A rollout of the latest-following target from 00001 to 00002 a few
/// seconds after Envoy starts: 100% 00001 before, 1% then 51% during (2
/// steps), 100% 00002 after. Each request is
/// judged by the phase it was wholly sent and answered in; requests across a
/// phase boundary (within a margin, for clock reads) are not judged.
#[test]
fn a_short_timed_rollout_follows_the_clock() {
    let backends = Helloworld::start();
    for bin in support::envoys() {
        let start = unix_ms(SystemTime::now()) + 8_000;
        let (step, end) = (start + 3_000, start + 6_000);
        let config = json!({"services": [{
            "name": "helloworld-go", "namespace": "example", "domain": "example.com",
            "latestReadyRevisionName": "helloworld-go-00002",
            "traffic": [{"tag": "a", "latestRevision": true, "percent": 100}],
            "rollout": {"fromRevisionName": "helloworld-go-00001", "start": format_instant(start), "duration": "6s", "steps": 2}
        }]});
        let envoy = backends.envoy(&bin, &config);
        assert!(
            unix_ms(SystemTime::now()) + 1_000 < start,
            "Envoy took too long to start for this test's schedule"
        );
        let margin = 150;
        // phase → (requests, answered by 00002)
        let mut phases: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        while unix_ms(SystemTime::now()) < end + 1_500 {
            let sent = unix_ms(SystemTime::now());
            let r = envoy.get(HELLOWORLD, "/", &[]);
            let answered = unix_ms(SystemTime::now());
            assert_eq!(r.status, 200, "{r:?}");
            let phase = [
                ("before", 0, start),
                ("1%", start, step),
                ("51%", step, end),
                ("after", end, u64::MAX),
            ]
            .into_iter()
            .find(|(_, from, to)| sent >= from + margin && answered + margin < *to)
            .map(|(name, _, _)| name);
            if let Some(phase) = phase {
                let entry = phases.entry(phase).or_insert((0, 0));
                entry.0 += 1;
                entry.1 += u64::from(r.revision() == Some("00002"));
            }
        }
        let v = &envoy.version;
        let (n, second) = phases["before"];
        assert!(n > 50, "Envoy {v}: {n} requests before the start");
        assert_eq!(second, 0, "Envoy {v}: 00002 before the start");
        let (n, second) = phases["1%"];
        assert_binomial(&format!("Envoy {v}: 00002 at 1%"), second, n, 0.01);
        let (n, second) = phases["51%"];
        assert_binomial(&format!("Envoy {v}: 00002 at 51%"), second, n, 0.51);
        let (n, second) = phases["after"];
        assert!(n > 50);
        assert_eq!(second, n, "Envoy {v}: after the end 00002 has everything");
    }
}

/// Counters per service, revision and reason match the requests sent, in
/// /stats and with labels in /stats/prometheus.
#[test]
fn metrics_count_every_request_by_revision_and_reason() {
    let backends = Helloworld::start();
    let config = helloworld(json!({
        "rules": [{"header": "wid", "prefix": "b", "tag": "b"}],
        "sticky": {"header": "x-user-id"}
    }));
    for bin in support::envoys() {
        let envoy = backends.envoy(&bin, &config);
        let mut drawn: HashMap<String, u64> = HashMap::new();
        for _ in 0..200 {
            let r = envoy.get(HELLOWORLD, "/", &[]);
            *drawn.entry(r.revision().unwrap().to_owned()).or_insert(0) += 1;
        }
        // 60 users, 3 requests each, by their key.
        let mut sticky: HashMap<String, u64> = HashMap::new();
        for user in 0..60 {
            let id = format!("user-{user}");
            for _ in 0..3 {
                let r = envoy.get(HELLOWORLD, "/", &[("x-user-id", &id)]);
                *sticky.entry(r.revision().unwrap().to_owned()).or_insert(0) += 1;
            }
        }
        for _ in 0..30 {
            envoy.get("b-helloworld-go.example.example.com", "/", &[]);
        }
        for _ in 0..20 {
            envoy.get(HELLOWORLD, "/", &[("knative-serving-tag", "a")]);
        }
        for _ in 0..10 {
            envoy.get(HELLOWORLD, "/", &[("wid", "b1")]);
        }
        for _ in 0..7 {
            assert_eq!(
                envoy
                    .get("zz-helloworld-go.example.example.com", "/", &[])
                    .status,
                404
            );
        }
        envoy.get("unrelated.example.org", "/", &[]);

        let name = |revision: Option<&str>, reason: &str| {
            let revision = revision
                .map(|r| format!(".revision.helloworld-go-{r}"))
                .unwrap_or_default();
            format!("wasmcustom.knative_traffic.requests.namespace.example.service.helloworld-go{revision}.reason.{reason}")
        };
        let v = &envoy.version;
        for r in ["00001", "00002"] {
            assert_eq!(
                envoy.counter(&name(Some(r), "draw")),
                drawn[r],
                "Envoy {v}: draws of {r}"
            );
            assert_eq!(
                envoy.counter(&name(Some(r), "sticky")),
                sticky.get(r).copied().unwrap_or(0),
                "Envoy {v}: sticky requests to {r}"
            );
        }
        assert_eq!(sticky.values().sum::<u64>(), 180);
        assert_eq!(
            envoy.counter(&name(Some("00002"), "tag-host")),
            30,
            "Envoy {v}"
        );
        assert_eq!(
            envoy.counter(&name(Some("00001"), "tag-header")),
            20,
            "Envoy {v}"
        );
        assert_eq!(envoy.counter(&name(Some("00002"), "rule")), 10, "Envoy {v}");
        assert_eq!(envoy.counter(&name(None, "not-found")), 7, "Envoy {v}");
        assert_eq!(envoy.counter(&name(Some("00001"), "tag-host")), 0);
        assert!(envoy.counter("wasmcustom.knative_traffic.config.accepted") >= 1);
        assert_eq!(
            envoy.counter("wasmcustom.knative_traffic.config.rejected"),
            0
        );

        let prometheus = envoy.prometheus();
        let line = "knative_traffic_requests{namespace=\"example\",service=\"helloworld-go\",revision=\"helloworld-go-00002\",reason=\"tag-host\"} 30";
        assert!(
            prometheus.lines().any(|l| l == line),
            "Envoy {v}: no {line:?} in\n{prometheus}"
        );
        let line = "knative_traffic_requests{namespace=\"example\",service=\"helloworld-go\",reason=\"not-found\"} 7";
        assert!(
            prometheus.lines().any(|l| l == line),
            "Envoy {v}: no {line:?}"
        );
    }
}

/// What the steady stream saw: every answer, in order.
#[derive(Default)]
struct Stream {
    answers: Vec<Result<String, String>>,
}

/// ECDS from a file while requests keep flowing: several valid updates each
/// in force within seconds with no failed request (one of them a 50/50
/// split, checked by its share), then an invalid one refused with its error
/// logged and counted while the previous split keeps serving.
#[test]
fn live_reconfiguration_drops_no_request_and_refuses_a_bad_update() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    let clusters = support::clusters("traffic-example-", &revisions);
    for bin in support::envoys() {
        let dir = support::scratch_dir("ecds");
        let ecds = Ecds::new(&dir);
        let mut configuration = ecds.shipped_configuration();
        ecds.publish(&configuration.to_string());
        let mut envoy_config = EnvoyConfig::from_repo("envoy/ecds/envoy.yaml");
        envoy_config
            .set_ecds_path(&ecds.path)
            .set_clusters(&clusters);
        let envoy = Envoy::start(&bin, envoy_config);
        let v = envoy.version.clone();

        let stream = Arc::new(Mutex::new(Stream::default()));
        let running = Arc::new(AtomicBool::new(true));
        let worker = {
            let (stream, running, port) = (stream.clone(), running.clone(), envoy.port);
            std::thread::spawn(move || {
                while running.load(Ordering::SeqCst) {
                    let answer = match http(
                        port,
                        "GET",
                        "/",
                        &[("host", "traffic-example.default.example.com")],
                    ) {
                        Ok(r) if r.status == 200 => r.revision().map(str::to_owned).ok_or(r.body),
                        Ok(r) => Err(format!("{} {}", r.status, r.body)),
                        Err(e) => Err(e.to_string()),
                    };
                    stream.lock().unwrap().answers.push(answer);
                }
            })
        };
        // Waits until 30 answers in a row are `what` (`ok` says which are),
        // and returns how many answers there were then: every later one is
        // from the new configuration.
        let settle = |what: &str, ok: &dyn Fn(&str) -> bool| -> usize {
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let seen = stream.lock().unwrap().answers.len();
                std::thread::sleep(Duration::from_millis(300));
                let s = stream.lock().unwrap();
                let recent = &s.answers[seen.min(s.answers.len())..];
                if recent.len() >= 30
                    && recent
                        .iter()
                        .rev()
                        .take(30)
                        .all(|a| a.as_deref().is_ok_and(ok))
                {
                    return s.answers.len();
                }
                drop(s);
                assert!(
                    Instant::now() < deadline,
                    "Envoy {v}: the answers never became {what}"
                );
            }
        };
        let wait_for = |revision: &str| settle(revision, &|r| r == revision);
        let percents = |c: &mut Value, p: [u32; 3]| {
            for (i, p) in p.iter().enumerate() {
                c["services"][0]["traffic"][i]["percent"] = json!(p);
            }
        };
        // The filter's log lines since `mark` (a length of the log).
        let log_since = |mark: usize| envoy.log().get(mark..).unwrap_or_default().to_owned();

        wait_for("v1");
        percents(&mut configuration, [0, 100, 0]);
        ecds.publish(&configuration.to_string());
        wait_for("v2");
        percents(&mut configuration, [0, 0, 100]);
        ecds.publish(&configuration.to_string());
        wait_for("v3");

        // A partial split: once no v3 answers, the next 400 answers split
        // 50/50 between v1 and v2.
        let mark = envoy.log().len();
        percents(&mut configuration, [50, 50, 0]);
        ecds.publish(&configuration.to_string());
        let from = settle("v1 or v2", &|r| r == "v1" || r == "v2");
        let n = 400;
        let half: Vec<String> = loop {
            std::thread::sleep(Duration::from_millis(200));
            let s = stream.lock().unwrap();
            if s.answers.len() >= from + n {
                break s.answers[from..from + n]
                    .iter()
                    .map(|a| a.clone().unwrap_or_else(|e| e))
                    .collect();
            }
        };
        let on_v1 = half.iter().filter(|r| *r == "v1").count() as u64;
        let on_v2 = half.iter().filter(|r| *r == "v2").count() as u64;
        assert_eq!(on_v1 + on_v2, n as u64, "Envoy {v}: {half:?}");
        assert_binomial(&format!("Envoy {v}: v1 at 50%"), on_v1, n as u64, 0.5);
        // Its counters (draws of v1 and v2) were defined by earlier
        // configurations, so the VMs that ran them (the main thread's and
        // the two workers') define none again. Envoy first tries a new
        // configuration in a fresh VM, which starts with no ids. A dynamic
        // module has no VMs: Envoy's ids are per configuration, so each one
        // defines its counters anew (Envoy keeps their values by name).
        let log = log_since(mark);
        let loads: Vec<&str> = log
            .lines()
            .filter_map(|l| l.split_once("configuration accepted: 1 service(s), "))
            .map(|(_, counts)| counts)
            .collect();
        let fresh =
            "cluster header \"x-knative-cluster\", 9 counter(s), 9 newly defined, side public";
        let reused =
            "cluster header \"x-knative-cluster\", 9 counter(s), 0 newly defined, side public";
        let reloaded = match support::shell() {
            support::Shell::Wasm => loads.iter().filter(|l| **l == reused).count() >= 3,
            support::Shell::Native => loads == [fresh],
        };
        assert!(
            loads.iter().all(|l| *l == fresh || *l == reused) && reloaded,
            "Envoy {v}: {log}"
        );

        percents(&mut configuration, [100, 0, 0]);
        ecds.publish(&configuration.to_string());
        wait_for("v1");

        // An invalid update: refused, logged, counted once per VM that
        // tried it, and v1 keeps serving.
        let counter =
            |name: &str| envoy.counter(&format!("wasmcustom.knative_traffic.config.{name}"));
        let (accepted_before, rejected_before) = (counter("accepted"), counter("rejected"));
        let mark = envoy.log().len();
        let mut bad = configuration.clone();
        percents(&mut bad, [80, 10, 0]);
        ecds.publish(&bad.to_string());
        let expected = "configuration refused: services[0] (traffic-example): traffic percents sum to 90, want 100";
        let deadline = Instant::now() + Duration::from_secs(15);
        while !envoy.log().contains(expected) {
            assert!(
                Instant::now() < deadline,
                "Envoy {v}: no refusal logged:\n{}",
                envoy.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let after_refusal = stream.lock().unwrap().answers.len();
        std::thread::sleep(Duration::from_secs(2));
        running.store(false, Ordering::SeqCst);
        worker.join().unwrap();
        // Envoy tries the update in one VM and hands a refused one to no
        // worker: one refusal, counted once, and no load.
        assert_eq!(
            (
                counter("accepted") - accepted_before,
                counter("rejected") - rejected_before
            ),
            (0, 1),
            "Envoy {v}: (accepted, rejected) by the refused update\n{}",
            log_since(mark)
        );
        assert_eq!(log_since(mark).matches(expected).count(), 1, "Envoy {v}");

        let s = stream.lock().unwrap();
        let failed: Vec<&String> = s.answers.iter().filter_map(|a| a.as_ref().err()).collect();
        assert!(
            failed.is_empty(),
            "Envoy {v}: {} of {} requests failed: {failed:?}",
            failed.len(),
            s.answers.len()
        );
        assert!(
            s.answers[after_refusal..]
                .iter()
                .all(|a| a.as_deref() == Ok("v1")),
            "Envoy {v}: the refused update changed the split"
        );
        assert!(
            s.answers.len() > 200,
            "Envoy {v}: only {} requests in the stream",
            s.answers.len()
        );
        // The example's stats tags label the counters, as envoy/envoy.yaml's do.
        let prometheus = envoy.prometheus();
        let labelled = "knative_traffic_requests{namespace=\"default\",service=\"traffic-example\",revision=\"traffic-example-v1\",reason=\"draw\"} ";
        assert!(
            prometheus.lines().any(|l| l.starts_with(labelled)),
            "Envoy {v}: no {labelled:?} in\n{prometheus}"
        );
        eprintln!(
            "Envoy {v}: {} requests across 4 updates and 1 refusal, 0 failed",
            s.answers.len()
        );
    }
}
