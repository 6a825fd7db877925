//! Envoy side by side, in one run, on the same machine and load: the cases
//! of `benches/common/envoy.rs` ((a) `weighted_clusters`, (a2) net-istio's
//! routes natively, (b) a no-op Wasm filter, (b2) the least Wasm routing
//! filter, (c) knative-traffic in Wasm on
//! each of its paths, (d) the minimal job in Lua, (n) knative-traffic as a
//! native dynamic module on each path), and the draw with a 10,000-service
//! configuration loaded in both shells.
//!
//! Every configuration routes to the same three demo-backend processes. Each
//! Envoy runs one worker (`--concurrency 1`); wrk (one thread, keep-alive
//! connections) loads one case at a time, and the cases take turns round by
//! round in a shuffled order, so that the machine's noise falls on all of
//! them alike. Envoy's CPU time per request is the change of utime + stime
//! in `/proc/PID/stat` over a run divided by the requests wrk completed.
//! Ratios are taken within each round; the tables give their median and
//! their min–max across rounds.
//!
//! Then memory and scale: resident memory (`VmRSS`) of Envoy with 1 and
//! 10,000 services at 1 and 2 workers, for both shells (one more worker
//! adds one Wasm VM, and nothing of the native module's configuration,
//! which the workers share); and the time to start and the memory of Envoy
//! with 10,000 services in each shell against the same routes written as
//! Envoy routes (a virtual host per service and per tag host).
//!
//! Needs the built modules, wrk and Envoy; `scripts/bench.sh` builds and
//! installs them and runs this. Settings: ENVOY_BIN, NOOP_WASM,
//! NATIVE_MODULE_DIR (the native build for ENVOY_BIN's line; by default
//! `dist/native/LINE` if it was built, and without one the
//! (n) cases are left out), BENCH_ROUNDS (5), BENCH_SECONDS (4),
//! BENCH_CONNECTIONS (16), BENCH_SEED.

// Benchmarks report by panicking.
#![allow(clippy::restriction)]

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

#[path = "common/envoy.rs"]
mod cases;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use cases::{Builds, Case, Config, Envoy, BROWSER_HEADERS, REVISIONS};
use rand_core::{Rng, SeedableRng};
use rand_xorshift::XorShiftRng;
use serde_json::{json, Value};

/// utime + stime of every thread of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').expect("stat format").1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13
    // after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn rss_kb(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
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

/// The 10,000 services of [`large_configuration`] as net-istio would have
/// Envoy route them: per service a virtual host with a route per tag on the
/// tag header and the weighted split, and a virtual host per tag host; each
/// route adds the revision header. Clusters are not checked (the routes
/// name 50,000 revisions; the measurement is of the routes).
fn large_native_routes() -> Value {
    let header = |revision: &str| {
        json!([{"header": {"key": "Knative-Serving-Revision", "value": revision},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}])
    };
    let mut hosts = Vec::new();
    for i in 0..10_000 {
        let name = common::service_name(i);
        let revisions: Vec<String> = (1..=common::PERCENTS.len())
            .map(|r| format!("{name}-0000{r}"))
            .collect();
        let mut routes: Vec<Value> = revisions
            .iter()
            .enumerate()
            .map(|(r, revision)| {
                json!({"match": {"prefix": "/", "headers": [{"name": "knative-serving-tag",
                         "string_match": {"exact": format!("t{}", r + 1)}}]},
                       "route": {"cluster": revision},
                       "request_headers_to_add": header(revision)})
            })
            .collect();
        let split: Vec<Value> = revisions
            .iter()
            .zip(common::PERCENTS)
            .map(|(revision, p)| {
                json!({"name": revision, "weight": p, "request_headers_to_add": header(revision)})
            })
            .collect();
        routes.push(json!({"match": {"prefix": "/"},
                           "route": {"weighted_clusters": {"clusters": split}}}));
        hosts.push(json!({"name": name.clone(), "domains": [common::host(i)], "routes": routes}));
        for (r, revision) in revisions.iter().enumerate() {
            hosts.push(json!({
                "name": format!("{name}-t{}", r + 1),
                "domains": [common::tag_host(i, r + 1)],
                "routes": [{"match": {"prefix": "/"}, "route": {"cluster": revision},
                            "request_headers_to_add": header(revision)}]
            }));
        }
    }
    Value::Array(hosts)
}

struct Load<'c> {
    case: &'c Case,
    envoy: usize,
    rps: Vec<f64>,
    cpu_us: Vec<f64>,
}

/// Requests completed and requests per second.
fn wrk(port: u16, case: &Case, seconds: u64, connections: u64) -> (u64, f64) {
    let mut command = Command::new("wrk");
    command
        .args(["-t1", "--timeout", "5s"])
        .args(["-c", &connections.to_string(), "-d", &format!("{seconds}s")])
        .args(["-H", &format!("Host: {}", case.host)]);
    for (name, value) in BROWSER_HEADERS.iter().chain(&case.headers) {
        command.args(["-H", &format!("{name}: {value}")]);
    }
    let output = command
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "wrk failed: {text}");
    // The pass-through case is answered 404 by the route, as intended.
    let expect_errors = case.host == cases::OTHER_HOST;
    assert!(
        expect_errors || !text.contains("Non-2xx"),
        "{}: unexpected responses:\n{text}",
        case.label
    );
    assert!(
        !text.contains("Socket errors"),
        "{}: errors:\n{text}",
        case.label
    );
    let mut requests = 0;
    let mut rps = 0.0;
    for line in text.lines() {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["Requests/sec:", v] => rps = v.parse().unwrap_or(0.0),
            [n, "requests", "in", ..] => requests = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    assert!(requests > 0, "wrk reported no requests:\n{text}");
    (requests, rps)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Median and min–max of the per-round ratios `base / value` (an
/// efficiency: above 1 is cheaper than the base).
fn efficiency(value: &[f64], base: &[f64]) -> String {
    let r: Vec<f64> = value.iter().zip(base).map(|(v, b)| b / v).collect();
    let min = r.iter().copied().fold(f64::INFINITY, f64::min);
    let max = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.3} ({min:.2}–{max:.2})", median(&r))
}

/// The path a case measures: "draw", "tag header", … (after the colon).
fn path(label: &str) -> &str {
    label.rsplit_once(": ").map_or("draw", |(_, p)| p)
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = cases::setting("BENCH_ROUNDS", if quick { 1 } else { 5 }) as usize;
    let seconds = cases::setting("BENCH_SECONDS", if quick { 1 } else { 4 });
    let connections = cases::setting("BENCH_CONNECTIONS", 16);
    let bin = cases::envoy_bin();
    let builds = Builds::find(&bin);
    let (_backends, clusters) = cases::backends();
    let mut configs = cases::configs(&builds, &clusters);
    let mut all = cases::cases(&configs);
    // The draw with 10,000 services loaded, in each shell.
    let large = large_configuration();
    let bootstrap = |filter| {
        cases::bootstrap(
            vec![filter],
            cases::cluster_header_route(),
            clusters.clone(),
        )
    };
    configs.push(Config {
        name: "c10k",
        bootstrap: bootstrap(cases::wasm_filter(
            "knative-traffic",
            &builds.module,
            &large,
        )),
        search_path: None,
    });
    all.push(Case {
        label: "(c) knative-traffic, Wasm: draw, 10,000 services",
        config: "c10k",
        host: "svc-0.ns-0.example.com",
        headers: vec![],
    });
    if let Some(dir) = &builds.native {
        configs.push(Config {
            name: "n10k",
            bootstrap: bootstrap(cases::native_filter(&large)),
            search_path: Some(dir.clone()),
        });
        all.push(Case {
            label: "(n) knative-traffic, native module: draw, 10,000 services",
            config: "n10k",
            host: "svc-0.ns-0.example.com",
            headers: vec![],
        });
    }
    let envoys: Vec<Envoy> = configs
        .iter()
        .map(|c| Envoy::start(&bin, c, 1, &[]))
        .collect();
    let mut loads: Vec<Load> = all
        .iter()
        .map(|case| Load {
            case,
            envoy: configs
                .iter()
                .position(|c| c.name == case.config)
                .expect("the case's configuration"),
            rps: vec![],
            cpu_us: vec![],
        })
        .collect();
    // Warm up every case (connections, VM code, caches).
    for l in &loads {
        wrk(envoys[l.envoy].port, l.case, 1, connections);
    }
    let mut rng = XorShiftRng::seed_from_u64(cases::setting("BENCH_SEED", 5));
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
            let pid = envoy.child.id();
            let before = cpu_ticks(pid);
            let (requests, rps) = wrk(envoy.port, l.case, seconds, connections);
            let ticks = cpu_ticks(pid) - before;
            // Clock ticks are 1/100 s on Linux (USER_HZ).
            l.cpu_us.push(ticks as f64 * 1e4 / requests as f64);
            l.rps.push(rps);
        }
    }
    drop(envoys);

    println!("### Envoy side by side\n");
    println!(
        "{}. One worker per Envoy, wrk -t1 -c{connections}, {rounds} rounds of {seconds} s per case, interleaved in a shuffled order each round. CPU: Envoy's utime+stime per request, median over rounds. Efficiency: the base's CPU per request over the case's, taken within each round; median (min–max across rounds). The Lua column compares each path with Lua's same path (its draw for the paths Lua does not implement).\n",
        cases::envoy_version(&bin)
    );
    println!(
        "| case | req/s | Envoy CPU µs/req | efficiency vs (a) | vs (b) | vs (d), same path |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let find = |prefix: &str, path_of: &str| {
        loads
            .iter()
            .find(|l| l.case.label.starts_with(prefix) && path(l.case.label) == path_of)
    };
    let a = find("(a) ", "draw").expect("case (a)");
    let b = find("(b) ", "draw").expect("case (b)");
    for l in &loads {
        let lua = if l.case.label.starts_with("(c)") || l.case.label.starts_with("(n)") {
            find("(d) ", path(l.case.label))
                .or_else(|| find("(d) ", "draw"))
                .map_or(String::new(), |d| efficiency(&l.cpu_us, &d.cpu_us))
        } else {
            String::new()
        };
        println!(
            "| {} | {:.0} | {:.1} | {} | {} | {lua} |",
            l.case.label,
            median(&l.rps),
            median(&l.cpu_us),
            efficiency(&l.cpu_us, &a.cpu_us),
            efficiency(&l.cpu_us, &b.cpu_us),
        );
    }

    // Memory per worker, both shells.
    let mut shells = vec![(
        "Wasm",
        None,
        Box::new(|c: &str| cases::wasm_filter("knative-traffic", &builds.module, c))
            as Box<dyn Fn(&str) -> Value>,
    )];
    if let Some(dir) = &builds.native {
        shells.push((
            "native module",
            Some(dir.clone()),
            Box::new(|c: &str| cases::native_filter(c)),
        ));
    }
    let small = cases::filter_configuration();
    println!("\n### Envoy's memory per worker\n");
    println!("Resident memory (VmRSS) of Envoy with the filter at 1 and 2 workers, 2 s after it is ready and 20 requests later. A Wasm worker holds a VM with its own copy of the compiled configuration; the native module's workers share one.\n");
    println!("| shell | configuration | JSON | RSS, 1 worker | RSS, 2 workers | one more worker |");
    println!("|---|---|---:|---:|---:|---:|");
    for (shell, search_path, filter) in &shells {
        for (name, configuration) in [("1 service", &small), ("10,000 services", &large)] {
            let config = Config {
                name: "memory",
                bootstrap: bootstrap(filter(configuration)),
                search_path: search_path.clone(),
            };
            let mut rss = Vec::new();
            for workers in [1, 2] {
                let envoy = Envoy::start(&bin, &config, workers, &[]);
                std::thread::sleep(Duration::from_secs(2));
                for _ in 0..20 {
                    let _ = support::http(envoy.port, "GET", "/", &[("host", cases::HOST)]);
                }
                rss.push(rss_kb(envoy.child.id()) as f64 / 1e3);
            }
            println!(
                "| {shell} | {name} | {:.2} MB | {:.1} MB | {:.1} MB | {:.1} MB |",
                configuration.len() as f64 / 1e6,
                rss[0],
                rss[1],
                rss[1] - rss[0]
            );
        }
    }

    // Scale: 10,000 services in the filter against the same routes in Envoy.
    let routes = large_native_routes();
    let virtual_hosts = routes.as_array().map_or(0, Vec::len);
    let mut native_routes = cases::bootstrap(vec![], routes, clusters.clone());
    native_routes["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["route_config"]["validate_clusters"] = json!(false);
    let mut scale = vec![(
        format!("Envoy routes: {virtual_hosts} virtual hosts, no filter"),
        Config {
            name: "scale-routes",
            bootstrap: native_routes,
            search_path: None,
        },
    )];
    // Envoy's own share of a large filter configuration: the same string
    // given to the no-op Wasm filter, which ignores it.
    scale.push((
        "the no-op Wasm filter given the 10,000 services' configuration".to_owned(),
        Config {
            name: "scale-noop",
            bootstrap: cases::bootstrap(
                vec![cases::wasm_filter("noop", &builds.noop, &large)],
                cases::weighted_route(),
                clusters.clone(),
            ),
            search_path: None,
        },
    ));
    for (shell, search_path, filter) in &shells {
        scale.push((
            format!("knative-traffic, {shell}: 10,000 services"),
            Config {
                name: "scale-filter",
                bootstrap: bootstrap(filter(&large)),
                search_path: search_path.clone(),
            },
        ));
    }
    println!("\n### 10,000 services: the filter against the same routes in Envoy\n");
    println!("Time from starting Envoy (one worker) to its listener being ready, and its resident memory (VmRSS) then, once per configuration.\n");
    println!("| configuration | bootstrap JSON | time to ready | RSS |");
    println!("|---|---:|---:|---:|");
    for (label, config) in &scale {
        let start = Instant::now();
        let envoy = Envoy::start(&bin, config, 1, &[]);
        let ready = start.elapsed();
        let rss = rss_kb(envoy.child.id()) as f64 / 1e3;
        println!(
            "| {label} | {:.1} MB | {:.2} s | {rss:.0} MB |",
            config.bootstrap.to_string().len() as f64 / 1e6,
            ready.as_secs_f64()
        );
    }
}
