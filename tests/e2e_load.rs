//! Load on real Envoy, through the filter: many requests on 64 keep-alive
//! connections with zero unexpected responses; then the same while the
//! configuration is replaced over ECDS every second.
//!
//! Every answer is checked: status 200 from one of the three revisions the
//! configuration can send to. Anything else (another status, a reset
//! connection, a body from nowhere) counts as unexpected, and the test allows
//! none. Under ECDS each published configuration names its own route
//! response header, so every answer says which configuration decided it:
//! each configuration's split must hold over the answers it decided, and
//! every connection (so every worker's VM) must move on to new ones.
//!
//! The request count is bounded (`KT_LOAD_REQUESTS`, default 200,000 per
//! Envoy version and test; more for a longer run, e.g.
//! `KT_LOAD_REQUESTS=2000000 cargo test --release --test e2e_load`), and so is
//! the time (a run that takes over 10 minutes fails). Loopback only.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{Backend, Ecds, Envoy, EnvoyConfig};

const HOST: &str = "traffic-example.default.example.com";
const CONNECTIONS: u64 = 64;
const TIME_LIMIT: Duration = Duration::from_secs(600);

fn requests() -> u64 {
    std::env::var("KT_LOAD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

/// The route response header of published configuration N is
/// `x-config-N`: its name tells which configuration decided a request.
const CONFIG_HEADER: &str = "x-config-";

#[derive(Default, Debug)]
struct Tally {
    by_revision: BTreeMap<String, u64>,
    /// Answers per configuration (the N of `x-config-N`) and revision.
    by_config: BTreeMap<u32, BTreeMap<String, u64>>,
    /// Per connection: the configuration of its last answer, and when that
    /// request was sent.
    last_config: Vec<(u32, Instant)>,
    unexpected: Vec<String>,
}

/// One answer: status, body, and the configuration that decided it with
/// the value of its header, if the answer names one.
struct Answer {
    status: u16,
    body: String,
    config: Option<(u32, String)>,
}

/// One keep-alive HTTP/1.1 exchange.
fn exchange(stream: &mut TcpStream, reader: &mut BufReader<TcpStream>) -> std::io::Result<Answer> {
    stream.write_all(
        format!("GET / HTTP/1.1\r\nhost: {HOST}\r\nuser-agent: load\r\n\r\n").as_bytes(),
    )?;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = None;
    let mut config = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("connection closed in the head"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse::<usize>().ok();
            }
            if let Some(n) = k.to_ascii_lowercase().strip_prefix(CONFIG_HEADER) {
                let n = n
                    .parse()
                    .map_err(|_| std::io::Error::other(format!("bad header {l:?}")))?;
                if config.replace((n, v.trim().to_owned())).is_some() {
                    return Err(std::io::Error::other("two configuration headers"));
                }
            }
        }
    }
    let length = length.ok_or_else(|| std::io::Error::other("no content-length"))?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        config,
    })
}

/// Sends `total` requests over `CONNECTIONS` keep-alive connections and
/// tallies the answers. A connection that fails is counted and replaced.
fn load(port: u16, total: u64) -> Tally {
    let sent = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let deadline = Instant::now() + TIME_LIMIT;
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (sent, tally) = (sent.clone(), tally.clone());
            std::thread::spawn(move || {
                let mut local: BTreeMap<String, u64> = BTreeMap::new();
                let mut by_config: BTreeMap<u32, BTreeMap<String, u64>> = BTreeMap::new();
                let mut last_config: Option<(u32, Instant)> = None;
                let mut unexpected = Vec::new();
                let mut connection: Option<(TcpStream, BufReader<TcpStream>)> = None;
                while sent.fetch_add(1, Ordering::Relaxed) < total {
                    let sent_at = Instant::now();
                    assert!(Instant::now() < deadline, "load ran past {TIME_LIMIT:?}");
                    if connection.is_none() {
                        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                        stream
                            .set_read_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        let reader = BufReader::new(stream.try_clone().unwrap());
                        connection = Some((stream, reader));
                    }
                    let (stream, reader) = connection.as_mut().unwrap();
                    match exchange(stream, reader) {
                        Ok(Answer {
                            status: 200,
                            body,
                            config,
                        }) => match body
                            .strip_prefix("Welcome to the ")
                            .and_then(|b| b.strip_suffix(" app!\n"))
                        {
                            Some(r @ ("v1" | "v2" | "v3")) => {
                                *local.entry(r.to_owned()).or_default() += 1;
                                let Some((n, value)) = config else { continue };
                                // The header names the revision that answered.
                                let want = format!("revision=traffic-example-{r}; reason=draw");
                                if value != want {
                                    unexpected
                                        .push(format!("{r} answered, {CONFIG_HEADER}{n}: {value}"));
                                }
                                *by_config
                                    .entry(n)
                                    .or_default()
                                    .entry(r.to_owned())
                                    .or_default() += 1;
                                // One connection is one worker's: its VM
                                // never goes back to an older configuration.
                                if let Some((previous, _)) = last_config {
                                    if n < previous {
                                        unexpected
                                            .push(format!("configuration {n} after {previous}"));
                                    }
                                }
                                last_config = Some((n, sent_at));
                            }
                            _ => unexpected.push(format!("200 {body:?}")),
                        },
                        Ok(Answer { status, body, .. }) => {
                            unexpected.push(format!("{status} {body:?}"))
                        }
                        Err(e) => {
                            unexpected.push(format!("error: {e}"));
                            connection = None;
                        }
                    }
                }
                let mut t = tally.lock().unwrap();
                for (r, n) in local {
                    *t.by_revision.entry(r).or_default() += n;
                }
                for (config, revisions) in by_config {
                    let counts = t.by_config.entry(config).or_default();
                    for (r, n) in revisions {
                        *counts.entry(r).or_default() += n;
                    }
                }
                t.last_config.extend(last_config);
                t.unexpected.extend(unexpected);
            })
        })
        .collect();
    for w in workers {
        w.join().expect("load worker");
    }
    Arc::try_unwrap(tally).unwrap().into_inner().unwrap()
}

fn check(what: &str, tally: &Tally, total: u64, elapsed: Duration) {
    let answered: u64 = tally.by_revision.values().sum();
    eprintln!(
        "{what}: {answered} answers in {:.1} s ({:.0}/s) at {CONNECTIONS} connections: {:?}, {} unexpected",
        elapsed.as_secs_f64(),
        answered as f64 / elapsed.as_secs_f64(),
        tally.by_revision,
        tally.unexpected.len()
    );
    assert!(
        tally.unexpected.is_empty(),
        "{what}: {} unexpected answers of {total}, e.g. {:?}",
        tally.unexpected.len(),
        &tally.unexpected[..tally.unexpected.len().min(5)]
    );
    assert_eq!(answered, total, "{what}: answers");
}

fn backends() -> [Backend; 3] {
    ["v1", "v2", "v3"].map(Backend::start_quiet)
}

fn clusters(revisions: &[Backend; 3]) -> BTreeMap<String, &Backend> {
    revisions
        .iter()
        .map(|b| (format!("traffic-example-{}", b.resource), b))
        .collect()
}

#[test]
fn load_through_the_filter_has_no_unexpected_answer() {
    let revisions = backends();
    let total = requests();
    for bin in support::envoys() {
        let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        config.set_clusters(&clusters(&revisions));
        let envoy = Envoy::start(&bin, config);
        let start = Instant::now();
        let tally = load(envoy.port, total);
        check(
            &format!("Envoy {} static", envoy.version),
            &tally,
            total,
            start.elapsed(),
        );
        // The 80/10/10 split held under load (4 sigma each).
        let n = tally.by_revision.values().sum::<u64>();
        for (revision, p) in [("v1", 0.8), ("v2", 0.1), ("v3", 0.1)] {
            let count = tally.by_revision.get(revision).copied().unwrap_or(0);
            support::assert_binomial(revision, count, n, p);
        }
    }
}

/// The splits published over ECDS, one a second, in turn: each revision in
/// turn gets most of the traffic.
const SPLITS: [[u64; 3]; 4] = [[80, 10, 10], [10, 80, 10], [10, 10, 80], [34, 33, 33]];

/// How long a worker may take to apply a published configuration, for the
/// check that every connection moved on. Envoy applies a file update well
/// within a second; the margin is for a loaded machine.
const APPLY_MARGIN: Duration = Duration::from_secs(3);

#[test]
fn load_while_the_configuration_changes_every_second_has_no_failure() {
    let revisions = backends();
    let total = requests();
    for bin in support::envoys() {
        let dir = support::scratch_dir("load-ecds");
        let ecds = Ecds::new(&dir);
        let mut configuration = ecds.shipped_configuration();
        let shipped_split: Vec<u64> = (0..3)
            .map(|i| {
                configuration["services"][0]["traffic"][i]["percent"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        configuration["routeResponseHeader"] = json!(format!("{CONFIG_HEADER}0"));
        ecds.publish(&configuration.to_string());
        let mut config = EnvoyConfig::from_repo("envoy/ecds/envoy.yaml");
        config
            .set_ecds_path(&ecds.path)
            .set_clusters(&clusters(&revisions));
        let envoy = Envoy::start(&bin, config);
        let v = envoy.version.clone();

        // Configuration N (from 1) has split SPLITS[(N - 1) % 4]; the
        // publisher returns when each was in place (after its rename).
        let running = Arc::new(AtomicBool::new(true));
        let publisher = {
            let running = running.clone();
            let mut configuration: Value = configuration.clone();
            std::thread::spawn(move || {
                let mut published: Vec<Instant> = Vec::new();
                while running.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_secs(1));
                    let n = published.len() + 1;
                    for (i, p) in SPLITS[(n - 1) % SPLITS.len()].iter().enumerate() {
                        configuration["services"][0]["traffic"][i]["percent"] = json!(p);
                    }
                    configuration["routeResponseHeader"] = json!(format!("{CONFIG_HEADER}{n}"));
                    ecds.publish(&configuration.to_string());
                    published.push(Instant::now());
                }
                published
            })
        };
        let start = Instant::now();
        let tally = load(envoy.port, total);
        let elapsed = start.elapsed();
        running.store(false, Ordering::SeqCst);
        let published_at = publisher.join().unwrap();
        let published = published_at.len();
        check(
            &format!("Envoy {v} with {published} configurations published"),
            &tally,
            total,
            elapsed,
        );
        // At least one of each split, the v2- and v3-heavy ones included.
        assert!(
            published >= SPLITS.len(),
            "Envoy {v}: the load ended after {published} updates; it needs {} (more requests)",
            SPLITS.len()
        );
        // The last update can land after the load has ended: wait until it
        // is in force. (The dynamic module on Envoy 1.36 can count a load
        // only during a request, so a load is counted at the next one.)
        let last = format!("{CONFIG_HEADER}{published}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while envoy.get(HOST, "/", &[]).header(&last).is_none() {
            assert!(
                Instant::now() < deadline,
                "Envoy {v}: configuration {published} not in force within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Every configuration seen in force was loaded, and each load is
        // counted. Not one load per update: two updates that land within one
        // read of the file (a busy main thread) load once, as Envoy skips a
        // filter configuration whose hash equals the one it just applied
        // (`FilterConfigSubscription::onConfigUpdate`, Envoy's
        // source/common/filter/config_discovery_impl.cc).
        let mut in_force: BTreeSet<u32> = tally.by_config.keys().copied().collect();
        in_force.insert(published as u32);
        let accepted = envoy.counter("wasmcustom.knative_traffic.config.accepted");
        assert!(
            accepted >= in_force.len() as u64,
            "Envoy {v}: {accepted} configuration loads counted for {} configurations seen in force ({published} published)",
            in_force.len()
        );

        // Every answer names the configuration that decided it.
        let decided: u64 = tally.by_config.values().flat_map(|r| r.values()).sum();
        assert_eq!(
            decided, total,
            "Envoy {v}: answers naming their configuration"
        );
        eprintln!(
            "Envoy {v}: answers per configuration: {:?}",
            tally.by_config
        );
        // The shares moved as each configuration says: over the answers of
        // all configurations with one split, each revision's count is
        // binomial with that split's percent (4 sigma). So v2 and v3, 0 %
        // in the shipped configuration, take 80 % under their own.
        let mut by_split: BTreeMap<Vec<u64>, [u64; 3]> = BTreeMap::new();
        for (&n, counts) in &tally.by_config {
            let split = match n {
                0 => shipped_split.clone(),
                _ => SPLITS[(n as usize - 1) % SPLITS.len()].to_vec(),
            };
            assert!(
                n as usize <= published,
                "Envoy {v}: configuration {n} was not published"
            );
            let sums = by_split.entry(split).or_default();
            for (i, r) in ["v1", "v2", "v3"].iter().enumerate() {
                sums[i] += counts.get(*r).copied().unwrap_or(0);
            }
        }
        for (split, counts) in &by_split {
            let n: u64 = counts.iter().sum();
            for (i, r) in ["v1", "v2", "v3"].iter().enumerate() {
                support::assert_binomial(
                    &format!("Envoy {v}: {r} under split {split:?}"),
                    counts[i],
                    n,
                    split[i] as f64 / 100.0,
                );
            }
        }
        // The configurations that favour v2 and v3 decided a real part of
        // the load (each was in force for about a second).
        for heavy in [&SPLITS[1], &SPLITS[2]] {
            let n: u64 = by_split.get(heavy.as_slice()).map_or(0, |c| c.iter().sum());
            assert!(
                n >= total / 1000,
                "Envoy {v}: only {n} answers under split {heavy:?}"
            );
        }
        // Every connection, so every worker's VM, moved on: its last
        // answer came from a configuration no older than the newest one
        // published APPLY_MARGIN before that request.
        assert_eq!(tally.last_config.len() as u64, CONNECTIONS, "Envoy {v}");
        for &(last, sent_at) in &tally.last_config {
            let due = published_at
                .iter()
                .filter(|&&at| at + APPLY_MARGIN <= sent_at)
                .count() as u32;
            assert!(
                last >= due,
                "Envoy {v}: a connection was still on configuration {last} when {due} was due"
            );
        }
    }
}
