//! The guard on real Envoy (every installed version, `--concurrency 2`, so
//! two workers each judge and route), with demo backends made to fail on
//! demand: a timed rollout to a candidate answering 30% 503 is stopped
//! within the stated number of answers, once for both workers, and the
//! candidate then gets no split traffic while its tag host still reaches
//! it; a healthy candidate rolls to the end; an outage of every revision
//! trips nothing; a new configuration resumes.
//!
//! The stated bound: the defaults judge windows of 100 candidate answers,
//! and a candidate failing 30% against a healthy rest is tripped within five
//! windows with probability above 1 − 10⁻⁶ (`src/guard/verdict.rs`); a
//! window is judged on the tick (1 s) after it fills, and the other worker
//! adopts the verdict on its next tick. So the candidate answers at most
//! 500 split requests plus two seconds of its traffic.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::{assert_binomial, http, Backend, Ecds, Envoy, EnvoyConfig};

const HOST: &str = "traffic-example.default.example.com";
const COUNTERS: &str = "wasmcustom.knative_traffic.guard.namespace.default.service.traffic-example";

/// An instant as the configuration takes it, in whole seconds.
fn rfc3339(ms: u64) -> String {
    knative_traffic::time::format_instant(ms / 1000 * 1000)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// traffic-example with v1 pinned at 50% (tag `v1`) and the other 50%
/// following the latest revision (tag `latest`), rolling from v2 to v3 from
/// `start`, in Knative's steps over `duration`, under a default guard.
fn rolling(start_ms: u64, duration: &str) -> Value {
    json!({"services": [{
        "name": "traffic-example", "namespace": "default", "domain": "example.com",
        "latestReadyRevisionName": "traffic-example-v3",
        "traffic": [
            {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 50},
            {"tag": "latest", "latestRevision": true, "percent": 50}
        ],
        "rollout": {"fromRevisionName": "traffic-example-v2", "start": rfc3339(start_ms), "duration": duration},
        "guard": {}
    }]})
}

/// Envoy with `config` and the three revisions.
fn envoy(bin: &std::path::Path, config: &Value, revisions: &[Backend]) -> Envoy {
    let clusters = support::clusters("traffic-example-", revisions);
    let mut envoy_config = EnvoyConfig::from_repo("envoy/envoy.yaml");
    envoy_config
        .set_plugin_configuration(config)
        .set_clusters(&clusters);
    Envoy::start(bin, envoy_config)
}

/// Requests to `host` from a few threads until `stop`, counted per
/// revision that answered (by the header it echoes).
struct Load {
    stop: Arc<AtomicBool>,
    counts: Arc<[AtomicU64; 4]>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16, host: &'static str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let counts: Arc<[AtomicU64; 4]> = Arc::new(Default::default());
        let threads = (0..4)
            .map(|_| {
                let (stop, counts) = (stop.clone(), counts.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(r) = http(port, "GET", "/", &[("host", host)]) else {
                            continue;
                        };
                        let index = match r.seen("knative-serving-revision") {
                            Some("traffic-example-v1") => 1,
                            Some("traffic-example-v2") => 2,
                            Some("traffic-example-v3") => 3,
                            _ => 0,
                        };
                        counts[index].fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Load {
            stop,
            counts,
            threads,
        }
    }

    fn finish(self) -> [u64; 4] {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        [0, 1, 2, 3].map(|i| self.counts[i].load(Ordering::Relaxed))
    }
}

/// Requests to `host`, per revision that answered: [none, v1, v2, v3].
fn tally(envoy: &Envoy, host: &str, n: u64) -> [u64; 4] {
    let mut counts = [0; 4];
    for _ in 0..n {
        let r = envoy.get(host, "/", &[]);
        let index = match r.seen("knative-serving-revision") {
            Some("traffic-example-v1") => 1,
            Some("traffic-example-v2") => 2,
            Some("traffic-example-v3") => 3,
            _ => 0,
        };
        counts[index] += 1;
    }
    counts
}

fn trips(envoy: &Envoy) -> usize {
    envoy
        .log()
        .lines()
        .filter(|l| l.contains("guard tripped"))
        .count()
}

#[test]
fn a_rollout_to_a_failing_candidate_is_stopped() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    revisions[2].fail(30);
    for bin in support::envoys() {
        // Started ten seconds ago: the candidate already has about a
        // quarter of the requests.
        let config = rolling(now_ms() - 10_000, "10m");
        let envoy = envoy(&bin, &config, &revisions);
        let v = envoy.version.clone();
        let load = Load::start(envoy.port, HOST);
        let started = Instant::now();
        let tripped = format!("{COUNTERS}.revision.traffic-example-v3.tripped");
        while envoy.counter(&tripped) == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Envoy {v}: not tripped in 60 s\n{}",
                envoy.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let answers_at_trip =
            envoy.counter(&format!("{COUNTERS}.revision.traffic-example-v3.answers"));
        // Two more ticks: every worker has adopted the verdict.
        std::thread::sleep(Duration::from_millis(2200));
        let at_adoption = envoy.counter(&format!("{COUNTERS}.revision.traffic-example-v3.answers"));
        let counts = load.finish();
        let per_second = counts[3] as f64 / started.elapsed().as_secs_f64();
        let bound = 500.0 + 2.0 * per_second;
        assert!(
            (at_adoption as f64) <= bound,
            "Envoy {v}: the candidate answered {at_adoption} split requests, bound {bound:.0}"
        );
        assert_eq!(
            trips(&envoy),
            1,
            "Envoy {v}: one trip logged\n{}",
            envoy.log()
        );
        // No split request reaches the candidate on either worker (each
        // request is a new connection, spread over both).
        let after = tally(&envoy, HOST, 400);
        assert_eq!(after[3], 0, "Envoy {v}: {after:?}");
        assert_binomial(&format!("Envoy {v}: v1 after the trip"), after[1], 400, 0.5);
        assert_eq!(
            envoy.counter(&format!("{COUNTERS}.revision.traffic-example-v3.answers")),
            at_adoption,
            "Envoy {v}"
        );
        // Its tag host still reaches it.
        let tagged = tally(&envoy, "latest-traffic-example.default.example.com", 50);
        assert_eq!(tagged[3], 50, "Envoy {v}: {tagged:?}");
        let line = envoy
            .log()
            .lines()
            .find(|l| l.contains("guard tripped"))
            .unwrap_or_default()
            .to_owned();
        assert!(
            line.contains("guard tripped: default/traffic-example: traffic-example-v3 failed ")
                && line.ends_with(
                    "the split is now traffic-example-v1 50.0%, traffic-example-v2 50.0%"
                ),
            "Envoy {v}: {line}"
        );
        eprintln!(
            "Envoy {v}: tripped after {:.1} s at {answers_at_trip} candidate answers ({at_adoption} once adopted, bound {bound:.0})",
            started.elapsed().as_secs_f64() - 2.2
        );
    }
}

#[test]
fn a_healthy_candidate_rolls_to_the_end() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    for bin in support::envoys() {
        let config = rolling(now_ms() - 1_000, "8s");
        let envoy = envoy(&bin, &config, &revisions);
        let v = envoy.version.clone();
        let load = Load::start(envoy.port, HOST);
        std::thread::sleep(Duration::from_secs(9));
        let counts = load.finish();
        assert!(counts[3] > 100, "Envoy {v}: {counts:?}");
        assert_eq!(trips(&envoy), 0, "Envoy {v}\n{}", envoy.log());
        let after = tally(&envoy, HOST, 400);
        assert_binomial(&format!("Envoy {v}: v3 at the end"), after[3], 400, 0.5);
        assert_eq!(
            envoy.counter(&format!("{COUNTERS}.revision.traffic-example-v3.tripped")),
            0
        );
    }
}

#[test]
fn an_outage_of_every_revision_trips_nothing() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    for r in &revisions {
        r.fail(60);
    }
    for bin in support::envoys() {
        let config = rolling(now_ms() - 10_000, "10m");
        let envoy = envoy(&bin, &config, &revisions);
        let v = envoy.version.clone();
        let load = Load::start(envoy.port, HOST);
        let started = Instant::now();
        let answers = format!("{COUNTERS}.revision.traffic-example-v3.answers");
        // Ten windows of the candidate's answers.
        while envoy.counter(&answers) < 1000 {
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "Envoy {v}: too slow"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_millis(1200));
        load.finish();
        assert_eq!(trips(&envoy), 0, "Envoy {v}\n{}", envoy.log());
        let failures = envoy.counter(&format!("{COUNTERS}.revision.traffic-example-v3.failures"));
        let base = envoy.counter(&format!("{COUNTERS}.base.failures"));
        assert!(
            failures > 0 && base > 0,
            "Envoy {v}: failures counted: {failures}, {base}"
        );
    }
}

/// A static canary on ECDS: tripped, then a new configuration (what
/// `knative-traffic guard resume` writes) puts it back in the split.
#[test]
fn a_new_configuration_resumes() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    revisions[1].fail(50);
    let canary = |resumed: Option<&str>| {
        let mut guard = json!({"tag": "v2"});
        if let Some(at) = resumed {
            guard["resumedAt"] = json!(at);
        }
        json!({"services": [{
            "name": "traffic-example", "namespace": "default", "domain": "example.com",
            "traffic": [
                {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 80},
                {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 20}
            ],
            "guard": guard
        }]})
    };
    for bin in support::envoys() {
        let dir = support::scratch_dir("guard-ecds");
        let ecds = Ecds::new(&dir);
        ecds.publish(&canary(None).to_string());
        let clusters = support::clusters("traffic-example-", &revisions);
        let mut config = EnvoyConfig::from_repo("envoy/ecds/envoy.yaml");
        config.set_ecds_path(&ecds.path).set_clusters(&clusters);
        let envoy = Envoy::start(&bin, config);
        let v = envoy.version.clone();
        let load = Load::start(envoy.port, HOST);
        let started = Instant::now();
        let tripped = format!("{COUNTERS}.revision.traffic-example-v2.tripped");
        while envoy.counter(&tripped) == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Envoy {v}: not tripped\n{}",
                envoy.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_millis(2200));
        load.finish();
        assert_eq!(tally(&envoy, HOST, 200)[2], 0, "Envoy {v}");
        // Fixed, and resumed.
        revisions[1].fail(0);
        ecds.publish(&canary(Some("2026-12-02T12:00:00Z")).to_string());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let counts = tally(&envoy, HOST, 100);
            if counts[2] > 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Envoy {v}: not resumed\n{}",
                envoy.log()
            );
        }
        std::thread::sleep(Duration::from_millis(1500));
        let after = tally(&envoy, HOST, 500);
        assert_binomial(
            &format!("Envoy {v}: v2 after the resume"),
            after[2],
            500,
            0.2,
        );
        assert_eq!(
            envoy.counter(&tripped),
            0,
            "Envoy {v}: the gauge is back at 0"
        );
        revisions[1].fail(50);
    }
}
