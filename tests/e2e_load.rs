//! Load on real Envoy, through the filter: many requests on 64 keep-alive
//! connections with zero unexpected responses; then the same while the
//! configuration is replaced over ECDS every second.
//!
//! Every answer is checked: status 200 from one of the three revisions the
//! configuration can send to. Anything else (another status, a reset
//! connection, a body from nowhere) counts as unexpected, and the test allows
//! none. The request count is bounded (`KT_LOAD_REQUESTS`, default 200,000
//! per Envoy version and test; more for a longer run, e.g.
//! `KT_LOAD_REQUESTS=2000000 cargo test --release --test e2e_load`), and so is
//! the time (a run that takes over 10 minutes fails). Loopback only.

mod support;

use std::collections::BTreeMap;
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

#[derive(Default, Debug)]
struct Tally {
    by_revision: BTreeMap<String, u64>,
    unexpected: Vec<String>,
}

/// One keep-alive HTTP/1.1 exchange; the answer's status and body.
fn exchange(
    stream: &mut TcpStream,
    reader: &mut BufReader<TcpStream>,
) -> std::io::Result<(u16, String)> {
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
        }
    }
    let length = length.ok_or_else(|| std::io::Error::other("no content-length"))?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
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
                let mut unexpected = Vec::new();
                let mut connection: Option<(TcpStream, BufReader<TcpStream>)> = None;
                while sent.fetch_add(1, Ordering::Relaxed) < total {
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
                        Ok((200, body)) => match body
                            .strip_prefix("Welcome to the ")
                            .and_then(|b| b.strip_suffix(" app!\n"))
                        {
                            Some(r @ ("v1" | "v2" | "v3")) => {
                                *local.entry(r.to_owned()).or_default() += 1
                            }
                            _ => unexpected.push(format!("200 {body:?}")),
                        },
                        Ok((status, body)) => unexpected.push(format!("{status} {body:?}")),
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

#[test]
fn load_while_the_configuration_changes_every_second_has_no_failure() {
    let revisions = backends();
    let total = requests();
    for bin in support::envoys() {
        let dir = support::scratch_dir("load-ecds");
        let ecds = Ecds::new(&dir);
        let configuration = ecds.shipped_configuration();
        ecds.publish(&configuration.to_string());
        let mut config = EnvoyConfig::from_repo("envoy/ecds/envoy.yaml");
        config
            .set_ecds_path(&ecds.path)
            .set_clusters(&clusters(&revisions));
        let envoy = Envoy::start(&bin, config);

        let running = Arc::new(AtomicBool::new(true));
        let publisher = {
            let running = running.clone();
            let mut configuration: Value = configuration.clone();
            std::thread::spawn(move || {
                let splits = [[80, 10, 10], [10, 80, 10], [10, 10, 80], [34, 33, 33]];
                let mut published = 0u32;
                while running.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_secs(1));
                    let split = splits[published as usize % splits.len()];
                    for (i, p) in split.iter().enumerate() {
                        configuration["services"][0]["traffic"][i]["percent"] = json!(p);
                    }
                    ecds.publish(&configuration.to_string());
                    published += 1;
                }
                published
            })
        };
        let start = Instant::now();
        let tally = load(envoy.port, total);
        let elapsed = start.elapsed();
        running.store(false, Ordering::SeqCst);
        let published = publisher.join().unwrap();
        check(
            &format!(
                "Envoy {} with {published} configurations published",
                envoy.version
            ),
            &tally,
            total,
            elapsed,
        );
        assert!(published >= 2, "the load ended before two updates");
        let accepted = envoy.counter("wasmcustom.knative_traffic.config.accepted");
        assert!(
            accepted >= u64::from(published),
            "Envoy {}: {accepted} configuration loads counted for {published} updates",
            envoy.version
        );
    }
}
