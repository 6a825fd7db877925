//! The per-request routing decision, in process: `RouteTable::route` for
//! configurations of 1, 100 and 10,000 services, on every path a request can
//! take. Prints a Markdown table of nanoseconds per decision.
//!
//! Method: for each case, batches of `BATCH` decisions over 1,024 requests to
//! services spread over the whole table (so a large table is not served from
//! a few hot cache lines), the batch timed as a whole; the figure is the
//! median of `ROUNDS` batches, with the cases interleaved round by round so
//! that noise from other processes falls on all of them alike. The request's
//! headers come from a small list, searched by name, and each value is
//! lent as it is, as the dynamic module reads Envoy's (the Wasm shell's
//! host calls copy each value into the VM; `benches/instructions.rs`
//! counts that in Envoy).
//!
//! Beside each table size runs a floor: the least a table-driven router
//! does per request, one lookup of the whole Host in a std `HashMap` (with
//! the filter's hash) and a read of the cluster name it maps to. No router
//! over the same hosts decides faster on the same machine, so at 10,000
//! services the floor says how much of a decision's time is the table's
//! size (memory) rather than the routing rules.
//!
//! `cargo bench --bench routing` (or `scripts/bench.sh`, which runs all).

// Benchmarks report by panicking.
#![allow(clippy::restriction)]

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use common::{Features, DOMAIN};
use knative_traffic::fasthash::BuildHostHasher;
use knative_traffic::request::PlainRequest;
use knative_traffic::{Decision, RouteTable};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

/// Decisions per timed batch, and batches per case; `ROUTING_BENCH_BATCH`
/// and `ROUTING_BENCH_ROUNDS` override them (e.g. for a run under callgrind).
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
const TARGET_NS: f64 = 100.0;

struct Case {
    services: usize,
    path: &'static str,
    configuration: &'static str,
    router: Router,
    requests: Vec<(String, PlainRequest)>,
    samples: Vec<f64>,
}

enum Router {
    Table(std::rc::Rc<RouteTable>),
    Floor(Floor),
}

/// The floor: each service's host mapped to its first revision's cluster
/// name, each name its own allocation as in the compiled table.
struct Floor {
    hosts: HashMap<Box<str>, usize, BuildHostHasher>,
    clusters: Vec<Box<str>>,
}

impl Floor {
    fn new(n: usize) -> Floor {
        let clusters: Vec<Box<str>> = (0..n)
            .map(|i| format!("{}-00001", common::service_name(i)).into())
            .collect();
        let hosts = (0..n).map(|i| (common::host(i).into(), i)).collect();
        Floor { hosts, clusters }
    }

    /// The cluster for `host`, if it is a service's.
    fn route(&self, host: &str) -> Option<&str> {
        let &i = self.hosts.get(host)?;
        self.clusters.get(i).map(|c| &**c)
    }
}

/// Requests to 1,024 services picked evenly over the table.
fn requests(
    n: usize,
    make: impl Fn(usize, usize) -> (String, Vec<(&'static str, String)>),
) -> Vec<(String, PlainRequest)> {
    (0..1024)
        .map(|k| {
            let i = (k * 7919) % n;
            let (host, headers) = make(i, k);
            let request = headers
                .iter()
                .fold(PlainRequest::default(), |r, (name, value)| {
                    r.with_header(name, value)
                });
            (host, request)
        })
        .collect()
}

fn expect(table: &RouteTable, requests: &[(String, PlainRequest)], path: &str) {
    let mut rng = XorShiftRng::seed_from_u64(1);
    for (host, headers) in requests {
        let reason = match table.route(host, headers, &mut rng) {
            Decision::Route(r) => r.reason.as_str(),
            Decision::NoSuchTag(_) => "not-found",
            Decision::PassThrough => "pass-through",
        };
        assert_eq!(reason, path, "{host}");
    }
}

fn main() {
    // `cargo test --all-targets` runs this without `--bench`: a smoke run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let batch = setting("ROUTING_BENCH_BATCH", if quick { 1_024 } else { 200_000 });
    let rounds = setting("ROUTING_BENCH_ROUNDS", if quick { 1 } else { 15 });
    let mut cases = Vec::new();
    for n in [1, 100, 10_000] {
        let plain = std::rc::Rc::new(
            knative_traffic::compile(common::config(n, Features::Plain).to_string().as_bytes())
                .expect("generated configuration compiles"),
        );
        let full = std::rc::Rc::new(
            knative_traffic::compile(
                common::config(n, Features::RulesAndSticky)
                    .to_string()
                    .as_bytes(),
            )
            .expect("generated configuration compiles"),
        );
        let mut add = |path: &'static str, table: &std::rc::Rc<RouteTable>, requests| {
            let configuration = if std::rc::Rc::ptr_eq(table, &plain) {
                "split and tags"
            } else {
                "+ rule and sticky header"
            };
            cases.push(Case {
                services: n,
                path,
                configuration,
                router: Router::Table(table.clone()),
                requests,
                samples: Vec::new(),
            })
        };
        add(
            "draw",
            &plain,
            requests(n, |i, _| (common::host(i), vec![])),
        );
        add(
            "tag-header",
            &plain,
            requests(n, |i, k| {
                (
                    common::host(i),
                    vec![("knative-serving-tag", format!("t{}", k % 5 + 1))],
                )
            }),
        );
        add(
            "tag-host",
            &plain,
            requests(n, |i, k| (common::tag_host(i, k % 5 + 1), vec![])),
        );
        add(
            "not-found",
            &plain,
            requests(n, |i, _| (common::tag_host(i, 9), vec![])),
        );
        add(
            "pass-through",
            &plain,
            requests(n, |i, _| (format!("svc-{i}.elsewhere.{DOMAIN}"), vec![])),
        );
        add(
            "rule",
            &full,
            requests(n, |i, _| {
                (common::host(i), vec![("x-canary", "yes".to_owned())])
            }),
        );
        add(
            "sticky",
            &full,
            requests(n, |i, k| {
                (common::host(i), vec![("x-user-id", format!("user-{k}"))])
            }),
        );
        // The draw of a service with rules and stickiness: both are read
        // (and absent) before the draw.
        add("draw", &full, requests(n, |i, _| (common::host(i), vec![])));
        cases.push(Case {
            services: n,
            path: "floor",
            configuration: "one lookup of the Host, no rules",
            router: Router::Floor(Floor::new(n)),
            requests: requests(n, |i, _| (common::host(i), vec![])),
            samples: Vec::new(),
        });
    }
    // `ROUTING_BENCH_ONLY=10000/draw` runs the cases whose
    // "services/path/configuration" starts so (`10000/draw/split` is the
    // plain draw alone), and not the Host-length table (for profiling one
    // path).
    if let Ok(only) = std::env::var("ROUTING_BENCH_ONLY") {
        cases.retain(|c| {
            format!("{}/{}/{}", c.services, c.path, c.configuration).starts_with(&only)
        });
    }
    for case in &cases {
        match &case.router {
            Router::Table(table) => expect(table, &case.requests, case.path),
            Router::Floor(floor) => {
                for (host, _) in &case.requests {
                    assert!(floor.route(host).is_some(), "{host}");
                }
            }
        }
    }

    let mut rng = XorShiftRng::seed_from_u64(7);
    for _ in 0..rounds {
        for case in &mut cases {
            let start = Instant::now();
            let mut routed = 0usize;
            // 1,024 requests: a mask, not a division, picks the next one.
            match &case.router {
                Router::Table(table) => {
                    for k in 0..batch {
                        let (host, headers) = &case.requests[k & 1023];
                        let decision = table.route(black_box(host), headers, &mut rng);
                        routed += usize::from(matches!(black_box(&decision), Decision::Route(_)));
                    }
                }
                Router::Floor(floor) => {
                    for k in 0..batch {
                        let (host, _) = &case.requests[k & 1023];
                        let cluster = floor.route(black_box(host));
                        routed += black_box(cluster).map_or(0, str::len);
                    }
                }
            }
            black_box(routed);
            case.samples
                .push(start.elapsed().as_nanos() as f64 / batch as f64);
        }
    }

    println!("### Routing decision, in process (native, release build)\n");
    println!(
        "Median of {rounds} interleaved batches of {batch} decisions; target at most {TARGET_NS} ns at 10,000 services.\n"
    );
    println!(
        "| services | path | configuration | ns per decision (median) | min | max | × floor | vs target |"
    );
    println!("|---:|---|---|---:|---:|---:|---:|---|");
    let median = |case: &Case| {
        let mut s = case.samples.clone();
        s.sort_by(f64::total_cmp);
        (s[s.len() / 2], s[0], s[s.len() - 1])
    };
    for case in &cases {
        let (median_ns, min, max) = median(case);
        let floor = cases
            .iter()
            .find(|c| c.services == case.services && matches!(c.router, Router::Floor(_)))
            .map(|c| median(c).0);
        let is_floor = matches!(case.router, Router::Floor(_));
        let times_floor = match floor {
            Some(f) if !is_floor => format!("{:.2}", median_ns / f),
            _ => String::new(),
        };
        let verdict = match (case.services, is_floor) {
            (10_000, false) if median_ns <= TARGET_NS => "met",
            (10_000, false) => "**missed**",
            _ => "",
        };
        println!(
            "| {} | {} | {} | {median_ns:.1} | {min:.1} | {max:.1} | {times_floor} | {verdict} |",
            case.services, case.path, case.configuration,
        );
    }

    // A profile of one path is not to be drowned by the long hosts.
    if std::env::var_os("ROUTING_BENCH_ONLY").is_none() {
        host_size_table(quick);
    }
}

/// The decision's time against the Host's length, for the two shapes that
/// read all of it: a label of dashes shaped like a tag host of a known
/// service (every split of the label is a candidate service name) and a
/// plain unknown label. Linear growth shows as a steady ns per KB.
fn host_size_table(quick: bool) {
    let table =
        knative_traffic::compile(common::config(100, Features::Plain).to_string().as_bytes())
            .expect("generated configuration compiles");
    let request = PlainRequest::default();
    let mut rng = XorShiftRng::seed_from_u64(3);
    println!("\n### Decision time against Host length (100 services)\n");
    println!("| Host | bytes | ns per decision (median) | ns per KB |");
    println!("|---|---:|---:|---:|");
    for size in [64usize, 1024, 8192, 61_440] {
        let suffix = format!("-{}", common::host(1));
        let dashes = "a-".repeat(size.saturating_sub(suffix.len()) / 2);
        for (shape, host) in [
            (
                "tag-host shape, unknown tag (answered 404)",
                format!("{dashes}{}", &suffix[1..]),
            ),
            (
                "unknown label",
                format!(
                    "{}.{}",
                    "a".repeat(size.saturating_sub(16)),
                    "ns-1.example.com"
                ),
            ),
        ] {
            let iterations = if quick {
                10
            } else {
                (20_000_000 / size).max(200)
            };
            let mut samples = Vec::new();
            for _ in 0..if quick { 1 } else { 9 } {
                let start = Instant::now();
                for _ in 0..iterations {
                    black_box(table.route(black_box(&host), &request, &mut rng));
                }
                samples.push(start.elapsed().as_nanos() as f64 / iterations as f64);
            }
            samples.sort_by(f64::total_cmp);
            let median = samples[samples.len() / 2];
            println!(
                "| {shape} | {} | {median:.0} | {:.0} |",
                host.len(),
                median * 1024.0 / host.len() as f64
            );
        }
    }
}
