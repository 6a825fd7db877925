//! The per-request routing decision, in process: `RouteTable::route` for
//! configurations of 1, 100 and 10,000 services, on every path a request can
//! take. Prints a Markdown table of nanoseconds per decision.
//!
//! Method: for each case, batches of `BATCH` decisions over 1,024 requests to
//! services spread over the whole table (so a large table is not served from
//! a few hot cache lines), the batch timed as a whole; the figure is the
//! median of `ROUNDS` batches, with the cases interleaved round by round so
//! that noise from other processes falls on all of them alike. The request's
//! headers come from a small list, as Wasm host calls hand them over: each
//! read allocates its value, as `get_map_value_bytes` does in the filter.
//!
//! `cargo bench --bench routing` (or `scripts/bench.sh`, which runs all).

// Benchmarks report by panicking.
#![allow(clippy::restriction)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{Features, DOMAIN};
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
    table: std::rc::Rc<RouteTable>,
    requests: Vec<(String, PlainRequest)>,
    samples: Vec<f64>,
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
                table: table.clone(),
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
    }
    // `ROUTING_BENCH_ONLY=10000/draw` runs the cases whose "services/path"
    // starts so, and not the Host-length table (for profiling one path).
    if let Ok(only) = std::env::var("ROUTING_BENCH_ONLY") {
        cases.retain(|c| format!("{}/{}", c.services, c.path).starts_with(&only));
    }
    for case in &cases {
        expect(&case.table, &case.requests, case.path);
    }

    let mut rng = XorShiftRng::seed_from_u64(7);
    for _ in 0..rounds {
        for case in &mut cases {
            let start = Instant::now();
            let mut routed = 0usize;
            for k in 0..batch {
                // 1,024 requests: a mask, not a division, picks the next one.
                let (host, headers) = &case.requests[k & 1023];
                let decision = case.table.route(black_box(host), headers, &mut rng);
                routed += usize::from(matches!(black_box(&decision), Decision::Route(_)));
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
        "| services | path | configuration | ns per decision (median) | min | max | vs target |"
    );
    println!("|---:|---|---|---:|---:|---:|---|");
    for case in &cases {
        let mut s = case.samples.clone();
        s.sort_by(f64::total_cmp);
        let median = s[s.len() / 2];
        let verdict = if case.services == 10_000 {
            if median <= TARGET_NS {
                "met"
            } else {
                "**missed**"
            }
        } else {
            ""
        };
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {} |",
            case.services,
            case.path,
            case.configuration,
            median,
            s[0],
            s[s.len() - 1],
            verdict
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
