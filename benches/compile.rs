//! Configuration compile time and memory: `compile` of 10,000 services with
//! five targets each (and 1 and 100 for scale). Prints a Markdown table.
//!
//! Time: median of `ROUNDS` compiles of the same bytes. Memory: in one more
//! compile, a counting global allocator records the bytes live after it
//! (the table the filter keeps: what a configuration costs each Wasm VM)
//! and the peak while compiling (parse tree plus table), both beside the
//! JSON's size. The timed compiles do not count: the counter's two atomic
//! operations per allocation added about a tenth to the time. Allocator
//! bookkeeping (malloc headers, free lists) is not counted; Wasm's allocator
//! has its own, similar overhead.
//!
//! `cargo bench --bench compile` (or `scripts/bench.sh`, which runs all).

// Benchmarks report by panicking.
#![allow(clippy::restriction)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use common::Features;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// On only around the compile whose memory is measured.
static COUNTING: AtomicBool = AtomicBool::new(false);

fn added(bytes: usize) {
    if COUNTING.load(Relaxed) {
        let live = LIVE.fetch_add(bytes, Relaxed) + bytes;
        PEAK.fetch_max(live, Relaxed);
    }
}

fn removed(bytes: usize) {
    if COUNTING.load(Relaxed) {
        LIVE.fetch_sub(bytes, Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        added(layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        removed(layout.size());
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        removed(layout.size());
        added(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TARGET_MS: f64 = 50.0;
const TARGET_MEMORY_RATIO: f64 = 2.0;

fn mb(bytes: usize) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn main() {
    // `cargo test --all-targets` runs this without `--bench`: a smoke run.
    let rounds = if std::env::args().any(|a| a == "--bench") {
        9
    } else {
        1
    };
    println!("### Configuration compile, in process (native, release build)\n");
    println!(
        "Median of {rounds} compiles; memory from a counting allocator. Targets at 10,000 services: at most {TARGET_MS} ms, retained memory at most {TARGET_MEMORY_RATIO}x the JSON.\n"
    );
    println!("| services | features | JSON | compile ms (median) | min | max | retained | retained / JSON | peak while compiling | vs target |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for (n, features) in [
        (1, Features::Plain),
        (100, Features::Plain),
        (10_000, Features::Plain),
        (10_000, Features::RulesAndSticky),
    ] {
        let json = common::config(n, features).to_string().into_bytes();
        let mut times = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            let table = knative_traffic::compile(&json).expect("generated configuration compiles");
            times.push(start.elapsed().as_secs_f64() * 1e3);
            drop(table);
        }
        let before = LIVE.load(Relaxed);
        PEAK.store(before, Relaxed);
        COUNTING.store(true, Relaxed);
        let table = knative_traffic::compile(&json).expect("generated configuration compiles");
        let retained = LIVE.load(Relaxed).wrapping_sub(before);
        let peak = PEAK.load(Relaxed).wrapping_sub(before);
        drop(table);
        COUNTING.store(false, Relaxed);
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let ratio = retained as f64 / json.len() as f64;
        // The target is set for the plain configuration; the other row shows
        // what rules and stickiness add, and where that stands.
        let within = |ok: bool| if ok { "within" } else { "over" };
        let verdict = if n == 10_000 && features == Features::Plain {
            match (median <= TARGET_MS, ratio <= TARGET_MEMORY_RATIO) {
                (true, true) => "met",
                (false, true) => "**time missed**",
                (true, false) => "**memory missed**",
                (false, false) => "**both missed**",
            }
            .to_owned()
        } else if n == 10_000 {
            format!(
                "not judged (the targets are set for split and tags): time {} {TARGET_MS} ms, memory {} {TARGET_MEMORY_RATIO}x",
                within(median <= TARGET_MS),
                within(ratio <= TARGET_MEMORY_RATIO),
            )
        } else {
            String::new()
        };
        let features = match features {
            Features::Plain => "split and tags",
            Features::RulesAndSticky => "+ rule and sticky header",
        };
        println!(
            "| {n} | {features} | {} | {median:.2} | {:.2} | {:.2} | {} | {ratio:.2} | {} | {verdict} |",
            mb(json.len()),
            times[0],
            times[times.len() - 1],
            mb(retained),
            mb(peak),
        );
    }
    parse_floor(rounds);
}

/// The least a compile does: read the document into its typed services
/// (`compile::parse`, serde and the error-locating read), timed in the same
/// rounds as the whole compile, interleaved. What is left is the compile's
/// own work (checks, hosts, splits, tables).
fn parse_floor(rounds: usize) {
    let json = common::config(10_000, Features::Plain)
        .to_string()
        .into_bytes();
    let (mut parse, mut whole) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        let document =
            knative_traffic::compile::parse(&json).expect("generated configuration parses");
        parse.push(start.elapsed().as_secs_f64() * 1e3);
        drop(document);
        let start = Instant::now();
        let table = knative_traffic::compile(&json).expect("generated configuration compiles");
        whole.push(start.elapsed().as_secs_f64() * 1e3);
        drop(table);
    }
    parse.sort_by(f64::total_cmp);
    whole.sort_by(f64::total_cmp);
    let (parse, whole) = (parse[parse.len() / 2], whole[whole.len() / 2]);
    println!("\n### Where the compile's time goes, 10,000 services (split and tags)\n");
    println!("Medians of {rounds} rounds, the two interleaved in each.\n");
    println!("| step | ms (median) | share of the compile |");
    println!("|---|---:|---:|");
    println!(
        "| parse: the document read into typed services (`compile::parse`) | {parse:.2} | {:.2} |",
        parse / whole
    );
    println!("| the whole compile | {whole:.2} | 1.00 |");
}
