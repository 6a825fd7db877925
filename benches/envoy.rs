//! Envoy side by side, in one run, on the same machine and load:
//!
//! - (a) Envoy's own `weighted_clusters`, the same 80/10/10 split, no Wasm:
//!   the limit without Wasm;
//! - (b) a no-op Wasm filter (`benches/noop-filter`) in front of the same
//!   route: the limit of any Wasm filter;
//! - (c) knative-traffic (`dist/knative_traffic.wasm`) on the draw path, the
//!   tag-header path and the sticky path, and the draw with a 10,000-service
//!   configuration loaded.
//!
//! Every configuration routes to the same three demo-backend processes. Each
//! Envoy runs one worker (`--concurrency 1`); wrk (one thread, keep-alive
//! connections) loads one configuration at a time, and the configurations
//! take turns round by round in a shuffled order, so that the machine's
//! noise falls on all of them alike. Envoy's CPU time per request is the
//! change of utime + stime in `/proc/PID/stat` over a run divided by the
//! requests wrk completed. Figures are medians over rounds; ratios are
//! medians of the per-round ratios (each taken within one round).
//!
//! Then the Wasm VM's memory: resident memory (`VmRSS`) of Envoy with the
//! filter and 1 or 10,000 services, at 1 and 2 workers; one more worker adds
//! one VM, so RSS(2 workers) - RSS(1 worker) is one worker's VM with that
//! configuration.
//!
//! Needs `dist/knative_traffic.wasm`, the no-op module, wrk and Envoy;
//! `scripts/bench.sh` builds and installs them and runs this.
//! Settings: ENVOY_BIN, NOOP_WASM, BENCH_ROUNDS (6), BENCH_SECONDS (4),
//! BENCH_CONNECTIONS (32), BENCH_SEED, BENCH_VARIANTS (other builds of the
//! filter to compare on the draw path: `label=file.wasm;…`).

// Benchmarks report by panicking.
#![allow(clippy::restriction)]

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rand_core::{Rng, SeedableRng};
use rand_xorshift::XorShiftRng;
use serde_json::{json, Value};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const REVISIONS: [&str; 3] = [
    "traffic-example-v1",
    "traffic-example-v2",
    "traffic-example-v3",
];
const HOST: &str = "traffic-example.default.example.com";
const STICKY_HOST: &str = "traffic-sticky.default.example.com";

/// The harness's demo backend, started without request logging (its
/// default logs every request, which would make the backends the bottleneck).
type Backend = support::Backend;

struct Envoy {
    port: u16,
    child: Child,
    /// Its configuration and log, removed with it.
    _dir: support::Scratch,
}

impl Envoy {
    fn start(bin: &Path, name: &str, config: &Value, concurrency: u32) -> Envoy {
        let mut config = config.clone();
        // Port 0: Envoy binds free ports itself and names them.
        support::any_ports(&mut config);
        let dir = support::scratch_dir(&format!("bench-{name}"));
        let file = dir.join("envoy.json");
        fs::write(&file, config.to_string()).expect("write Envoy config");
        let log = dir.join("envoy.log");
        let admin_address = dir.join("admin-address");
        let mut child = Command::new(bin)
            .arg("-c")
            .arg(&file)
            .arg("--admin-address-path")
            .arg(&admin_address)
            .args([
                "--use-dynamic-base-id",
                "--concurrency",
                &concurrency.to_string(),
            ])
            .args(["--log-level", "error"])
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("Envoy log"))
            .spawn()
            .expect("start Envoy");
        let port = match support::wait_until_ready(
            &mut child,
            &admin_address,
            &log,
            Duration::from_secs(120),
        ) {
            Ok(ports) => ports.listener,
            Err(status) => panic!(
                "Envoy {name} exited with {status}:\n{}",
                support::tail(&log)
            ),
        };
        Envoy {
            port,
            child,
            _dir: dir,
        }
    }

    /// utime + stime of every thread, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("stat");
        // Fields after the command name (which is in parentheses).
        let rest = stat.rsplit_once(')').expect("stat format").1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line: 12 and 13
        // after the name.
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    fn rss_kb(&self) -> u64 {
        let status =
            fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cluster_list(backends: &[Backend], names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .zip(backends.iter().cycle())
        .map(|(name, b)| support::static_cluster(name, b.port))
        .collect()
}

fn bootstrap(http_filters: Vec<Value>, route: Value, clusters: Vec<Value>) -> Value {
    let mut filters = http_filters;
    filters.push(
        json!({"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}),
    );
    json!({
        "static_resources": {
            "listeners": [{
                "name": "ingress",
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "ingress",
                        "route_config": {"name": "r", "virtual_hosts": [{
                            "name": "all", "domains": ["*"], "routes": route}]},
                        "http_filters": filters
                    }
                }]}]
            }],
            "clusters": clusters
        }
    })
}

fn wasm_filter(name: &str, module: &Path, configuration: &str) -> Value {
    json!({"name": name, "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": {
            "name": name, "root_id": name,
            "vm_config": {"runtime": "envoy.wasm.runtime.v8",
                          "code": {"local": {"filename": module.to_str().unwrap()}}},
            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                              "value": configuration}
        }
    }})
}

fn weighted_route() -> Value {
    json!([{"match": {"prefix": "/"}, "route": {"weighted_clusters": {"clusters": [
        {"name": REVISIONS[0], "weight": 80},
        {"name": REVISIONS[1], "weight": 10},
        {"name": REVISIONS[2], "weight": 10}
    ]}}}])
}

fn cluster_header_route() -> Value {
    json!([
        {"match": {"prefix": "/", "headers": [{"name": "x-knative-cluster", "present_match": true}]},
         "route": {"cluster_header": "x-knative-cluster"}},
        {"match": {"prefix": "/"}, "direct_response": {"status": 404}}
    ])
}

/// The filter's configuration: the split service, and a sticky twin on the
/// same clusters.
fn filter_configuration() -> String {
    let traffic = |name: &str| {
        json!([
            {"tag": "v1", "revisionName": format!("{name}-v1"), "percent": 80},
            {"tag": "v2", "revisionName": format!("{name}-v2"), "percent": 10},
            {"tag": "v3", "revisionName": format!("{name}-v3"), "percent": 10}
        ])
    };
    json!({"domain": "example.com", "services": [
        {"name": "traffic-example", "namespace": "default", "traffic": traffic("traffic-example")},
        {"name": "traffic-sticky", "namespace": "default", "traffic": traffic("traffic-sticky"),
         "sticky": {"header": "x-user-id"},
         "clusters": {"traffic-sticky-v1": REVISIONS[0], "traffic-sticky-v2": REVISIONS[1],
                      "traffic-sticky-v3": REVISIONS[2]}}
    ]})
    .to_string()
}

/// 10,000 services (five revisions each); service 0's revisions map to the
/// benchmark's clusters, the others to a cluster never reached.
fn large_configuration() -> String {
    let mut config = common::config(10_000, common::Features::Plain);
    config["clusterTemplate"] = json!("unused");
    config["services"][0]["clusters"] = json!({
        "svc-0-00001": REVISIONS[0], "svc-0-00002": REVISIONS[1], "svc-0-00003": REVISIONS[2],
        "svc-0-00004": REVISIONS[0], "svc-0-00005": REVISIONS[1]});
    config.to_string()
}

struct Load {
    label: &'static str,
    envoy: usize,
    host: String,
    headers: Vec<(&'static str, &'static str)>,
    rps: Vec<f64>,
    cpu_us: Vec<f64>,
    p50_ms: Vec<f64>,
    p99_ms: Vec<f64>,
}

struct WrkResult {
    requests: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn duration_ms(text: &str) -> f64 {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => number / 1e3,
        "ms" => number,
        "s" => number * 1e3,
        "m" => number * 60e3,
        _ => f64::NAN,
    }
}

/// What a browser sends besides the Host (about 600 bytes), on every
/// request of every configuration: the filter reads a request's headers,
/// so a bare request would flatter it.
const BROWSER_HEADERS: [(&str, &str); 8] = [
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
    ("Accept-Language", "en-US,en;q=0.9,de;q=0.8"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Referer", "https://traffic-example.default.example.com/portfolio/overview"),
    ("Cookie", "session=6f1c2e9a0b7d4c3e8f5a1b2c3d4e5f60; theme=dark; consent=analytics%3Dfalse%26ads%3Dfalse; _ga=GA1.2.1234567890.1700000000"),
    ("Cache-Control", "no-cache"),
    ("X-Request-Id", "3f2b9c7e-1d4a-4e6b-9a8c-5d7e2f1a0b3c"),
];

fn wrk(port: u16, load: &Load, seconds: u64, connections: u64) -> WrkResult {
    let mut command = Command::new("wrk");
    command
        .args(["-t1", "--latency", "--timeout", "5s"])
        .args(["-c", &connections.to_string(), "-d", &format!("{seconds}s")])
        .args(["-H", &format!("Host: {}", load.host)]);
    for (name, value) in BROWSER_HEADERS.iter().chain(&load.headers) {
        command.args(["-H", &format!("{name}: {value}")]);
    }
    let output = command
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "{}: unexpected responses or errors:\n{text}",
        load.label
    );
    let mut result = WrkResult {
        requests: 0,
        rps: 0.0,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
    };
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => result.p50_ms = duration_ms(v),
            ["99%", v] => result.p99_ms = duration_ms(v),
            ["Requests/sec:", v] => result.rps = v.parse().unwrap_or(0.0),
            [n, "requests", "in", ..] => result.requests = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    assert!(result.requests > 0, "wrk reported no requests:\n{text}");
    result
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = setting("BENCH_ROUNDS", if quick { 1 } else { 6 }) as usize;
    let seconds = setting("BENCH_SECONDS", if quick { 1 } else { 4 });
    let connections = setting("BENCH_CONNECTIONS", 32);
    let bin = std::env::var("ENVOY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| support::envoys().pop().expect("an Envoy"));
    let module = support::wasm();
    let noop = std::env::var("NOOP_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            support::repo().join("target/noop-filter/wasm32-wasip1/release/noop_filter.wasm")
        });
    assert!(
        noop.exists(),
        "{} is missing: scripts/bench.sh builds it",
        noop.display()
    );

    let backends: Vec<Backend> = ["v1", "v2", "v3"]
        .into_iter()
        .map(Backend::start_quiet)
        .collect();
    let clusters = cluster_list(&backends, &REVISIONS);
    let configs = [
        (
            "a-weighted",
            bootstrap(vec![], weighted_route(), clusters.clone()),
        ),
        (
            "b-noop",
            bootstrap(
                vec![wasm_filter("noop", &noop, "")],
                weighted_route(),
                clusters.clone(),
            ),
        ),
        // The same route as (c), the cluster header sent by the client:
        // what the route style itself costs, with and without Wasm.
        (
            "a2-header-route",
            bootstrap(vec![], cluster_header_route(), clusters.clone()),
        ),
        (
            "b2-noop-header-route",
            bootstrap(
                vec![wasm_filter("noop", &noop, "")],
                cluster_header_route(),
                clusters.clone(),
            ),
        ),
        (
            "c-filter",
            bootstrap(
                vec![wasm_filter(
                    "knative-traffic",
                    &module,
                    &filter_configuration(),
                )],
                cluster_header_route(),
                clusters.clone(),
            ),
        ),
        (
            "c-filter-10k",
            bootstrap(
                vec![wasm_filter(
                    "knative-traffic",
                    &module,
                    &large_configuration(),
                )],
                cluster_header_route(),
                clusters.clone(),
            ),
        ),
    ];
    // BENCH_VARIANTS="label=module.wasm;…": other builds of the filter on
    // the draw path, for finding where its cost goes.
    let variants: Vec<(String, PathBuf)> = std::env::var("BENCH_VARIANTS")
        .unwrap_or_default()
        .split(';')
        .filter_map(|v| v.split_once('='))
        .map(|(label, path)| (label.to_owned(), PathBuf::from(path)))
        .collect();
    let mut envoys: Vec<Envoy> = configs
        .iter()
        .map(|(name, config)| Envoy::start(&bin, name, config, 1))
        .collect();
    for (label, path) in &variants {
        let config = bootstrap(
            vec![wasm_filter(
                "knative-traffic",
                path,
                &filter_configuration(),
            )],
            cluster_header_route(),
            clusters.clone(),
        );
        envoys.push(Envoy::start(&bin, label, &config, 1));
    }
    let load = |label, envoy, host: &str, headers: Vec<(&'static str, &'static str)>| Load {
        label,
        envoy,
        host: host.to_owned(),
        headers,
        rps: vec![],
        cpu_us: vec![],
        p50_ms: vec![],
        p99_ms: vec![],
    };
    let mut loads = vec![
        load("(a) weighted_clusters, no Wasm", 0, HOST, vec![]),
        load("(b) no-op Wasm filter", 1, HOST, vec![]),
        load(
            "(a') cluster_header route, header sent by the client, no Wasm",
            2,
            HOST,
            vec![("x-knative-cluster", REVISIONS[0])],
        ),
        load(
            "(b') no-op Wasm filter, cluster_header route, header sent by the client",
            3,
            HOST,
            vec![("x-knative-cluster", REVISIONS[0])],
        ),
        load("(c) knative-traffic: draw", 4, HOST, vec![]),
        load(
            "(c) knative-traffic: tag header",
            4,
            HOST,
            vec![("Knative-Serving-Tag", "v2")],
        ),
        load(
            "(c) knative-traffic: sticky",
            4,
            STICKY_HOST,
            vec![("x-user-id", "user-42")],
        ),
        load(
            "(c) knative-traffic: draw, 10,000 services",
            5,
            "svc-0.ns-0.example.com",
            vec![],
        ),
    ];
    for (i, (label, _)) in variants.iter().enumerate() {
        let label: &'static str = Box::leak(format!("(c) variant {label}: draw").into_boxed_str());
        loads.push(load(label, configs.len() + i, HOST, vec![]));
    }
    // Warm up every configuration (connections, VM code, caches).
    for l in &loads {
        wrk(envoys[l.envoy].port, l, 1, connections);
    }
    let mut rng = XorShiftRng::seed_from_u64(setting("BENCH_SEED", 5));
    let mut order: Vec<usize> = (0..loads.len()).collect();
    for round in 0..rounds {
        // Fisher-Yates: a new order every round.
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        eprintln!("envoy bench: round {} of {rounds}", round + 1);
        for &i in &order {
            let l = &mut loads[i];
            let envoy = &envoys[l.envoy];
            let before = envoy.cpu_ticks();
            let r = wrk(envoy.port, l, seconds, connections);
            let ticks = envoy.cpu_ticks() - before;
            // Clock ticks are 1/100 s on Linux (USER_HZ).
            l.cpu_us.push(ticks as f64 * 1e4 / r.requests as f64);
            l.rps.push(r.rps);
            l.p50_ms.push(r.p50_ms);
            l.p99_ms.push(r.p99_ms);
        }
    }

    // "PATH/envoy  version: HASH/1.40.0/Clean/RELEASE/BoringSSL": the number
    // (the binary's path comes first and has slashes of its own).
    let output = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let version = output
        .split("version: ")
        .nth(1)
        .and_then(|v| v.split('/').nth(1))
        .map_or_else(|| "Envoy".to_owned(), |v| format!("Envoy {v}"));
    println!("### Envoy side by side\n");
    println!(
        "{version}. One worker per Envoy, wrk -t1 -c{connections}, {rounds} rounds of {seconds} s per configuration, interleaved in a shuffled order each round. Medians over rounds; ratios are medians of per-round ratios. CPU: Envoy's utime+stime per request. Targets: (c) at least 0.97 of (b) and 0.85 of (a) in throughput and CPU efficiency.\n"
    );
    println!("| configuration | req/s | Envoy CPU µs/req | p50 ms | p99 ms | req/s vs (a) | req/s vs (b) | CPU efficiency vs (a) | CPU efficiency vs (b) | p50 vs (a) | p99 vs (a) | p50 vs (b) | p99 vs (b) | req/s vs (b') | CPU efficiency vs (b') |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let ratio = |l: &Load, base: &Load, f: fn(&Load) -> &Vec<f64>, inverse: bool| {
        let r: Vec<f64> = f(l)
            .iter()
            .zip(f(base))
            .map(|(x, b)| if inverse { b / x } else { x / b })
            .collect();
        median(&r)
    };
    let (a, b, b2) = (&loads[0], &loads[1], &loads[3]);
    for l in &loads {
        println!(
            "| {} | {:.0} | {:.1} | {:.2} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} |",
            l.label,
            median(&l.rps),
            median(&l.cpu_us),
            median(&l.p50_ms),
            median(&l.p99_ms),
            ratio(l, a, |l| &l.rps, false),
            ratio(l, b, |l| &l.rps, false),
            ratio(l, a, |l| &l.cpu_us, true),
            ratio(l, b, |l| &l.cpu_us, true),
            ratio(l, a, |l| &l.p50_ms, false),
            ratio(l, a, |l| &l.p99_ms, false),
            ratio(l, b, |l| &l.p50_ms, false),
            ratio(l, b, |l| &l.p99_ms, false),
            ratio(l, b2, |l| &l.rps, false),
            ratio(l, b2, |l| &l.cpu_us, true),
        );
    }
    drop(envoys);

    // The Wasm VM's memory per worker.
    let mut rss = Vec::new();
    for (name, configuration) in [
        ("1 service", filter_configuration()),
        ("10,000 services", large_configuration()),
    ] {
        let config = bootstrap(
            vec![wasm_filter("knative-traffic", &module, &configuration)],
            cluster_header_route(),
            clusters.clone(),
        );
        let mut per_workers = Vec::new();
        for workers in [1, 2] {
            let envoy = Envoy::start(&bin, "memory", &config, workers);
            // Let the workers' VMs finish loading the configuration.
            std::thread::sleep(Duration::from_secs(2));
            for _ in 0..20 {
                let _ = support::http(envoy.port, "GET", "/", &[("host", HOST)]);
            }
            per_workers.push(envoy.rss_kb());
        }
        rss.push((name, configuration.len(), per_workers));
    }
    println!("\n### Wasm VM memory per worker\n");
    println!("Resident memory (VmRSS) of Envoy with the filter at 1 and 2 workers; the second worker adds one VM with the configuration loaded.\n");
    println!("| configuration | JSON | RSS, 1 worker | RSS, 2 workers | one more worker's VM |");
    println!("|---|---:|---:|---:|---:|");
    for (name, json_len, r) in &rss {
        println!(
            "| {name} | {:.2} MB | {:.1} MB | {:.1} MB | {:.1} MB |",
            *json_len as f64 / 1e6,
            r[0] as f64 / 1e3,
            r[1] as f64 / 1e3,
            (r[1] as f64 - r[0] as f64) / 1e3
        );
    }
}
