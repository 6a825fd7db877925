//! Instructions per request under callgrind: the stable figure beside the
//! CPU times of `benches/envoy.rs`. Each configuration of
//! `benches/common/envoy.rs` runs in one Envoy worker (`--concurrency 1`)
//! under `valgrind --tool=callgrind`. For each case the counters are zeroed,
//! `BENCH_REQUESTS` requests are sent on one keep-alive connection with the
//! case's headers, and the counts are dumped. Instructions per request are
//! the dump's total over the requests: Envoy's every thread, user space
//! only. They repeat within about 0.5% from run to run on this machine,
//! where wall-clock figures swing by 20%.
//!
//! Needs valgrind (`callgrind_control` beside it), Envoy, the built modules
//! and the demo backend; `scripts/bench.sh` installs and builds them.
//! Settings: ENVOY_BIN, NOOP_WASM, NATIVE_MODULE_DIR, BENCH_REQUESTS (300),
//! BENCH_ONLY (configurations to run, e.g. `b,c`; all by default),
//! BENCH_DUMPS (a directory to keep the dumps in, for `callgrind_annotate`). Run as a
//! test (`cargo test`, without `--bench`), it measures only (c) and (n) with 5
//! requests per case, so that the harness cannot rot.

// Benchmarks report by panicking.
#![allow(clippy::restriction)]

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "common/envoy.rs"]
mod cases;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;

use cases::{Builds, Case, Envoy, BROWSER_HEADERS};

/// `n` requests of `case` on one keep-alive connection; each answer read
/// whole.
fn send(port: u16, case: &Case, n: u64) {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to Envoy");
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut request = format!("GET / HTTP/1.1\r\nHost: {}\r\n", case.host);
    for (name, value) in BROWSER_HEADERS.iter().chain(&case.headers) {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    for _ in 0..n {
        writer.write_all(request.as_bytes()).unwrap();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
    }
}

/// The newest dump's total instructions.
fn dumped_total(dir: &std::path::Path, pid: u32) -> u64 {
    let prefix = format!("callgrind.out.{pid}.");
    let newest = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .max_by_key(|e| {
            e.file_name()
                .to_string_lossy()
                .rsplit('.')
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0)
        })
        .expect("a callgrind dump");
    let text = fs::read_to_string(newest.path()).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("summary: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a summary line")
}

fn control(args: &[&str]) {
    let status = Command::new("callgrind_control")
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("callgrind_control (valgrind)");
    assert!(status.success(), "callgrind_control {args:?}");
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let requests = cases::setting("BENCH_REQUESTS", if quick { 5 } else { 300 });
    let bin = cases::envoy_bin();
    let binary = cases::envoy_binary(&bin);
    let builds = Builds::find(&bin);
    let (_backends, clusters) = cases::backends();
    let configs = cases::configs(&builds, &clusters);
    let all = cases::cases(&configs);
    // BENCH_DUMPS keeps the dumps, for callgrind_annotate.
    let scratch = support::scratch_dir("callgrind");
    let dumps = std::env::var("BENCH_DUMPS").map_or_else(
        |_| scratch.to_path_buf(),
        |d| {
            fs::create_dir_all(&d).expect("BENCH_DUMPS directory");
            std::path::PathBuf::from(d)
        },
    );
    let mut results: Vec<(&'static str, f64)> = Vec::new();
    let only = std::env::var("BENCH_ONLY").unwrap_or_else(|_| {
        if quick {
            "c,n".to_owned()
        } else {
            String::new()
        }
    });
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    for config in configs.iter().filter(|c| wanted(c.name)) {
        let out = dumps.join("callgrind.out.%p");
        let wrapper = vec![
            "valgrind".to_owned(),
            "--tool=callgrind".to_owned(),
            // V8 compiles Wasm at run time.
            "--smc-check=all-non-file".to_owned(),
            format!("--callgrind-out-file={}", out.display()),
        ];
        eprintln!("instructions: configuration {}", config.name);
        let envoy = Envoy::start(&binary, config, 1, &wrapper);
        let pid = envoy.child.id();
        for case in all.iter().filter(|c| c.config == config.name) {
            // Warm: connections, VM code, caches.
            send(envoy.port, case, 50);
            control(&["-z", &pid.to_string()]);
            send(envoy.port, case, requests);
            control(&["-d", &pid.to_string()]);
            let total = dumped_total(&dumps, pid);
            results.push((case.label, total as f64 / requests as f64));
        }
    }
    let find = |label: &str| {
        results
            .iter()
            .find(|(l, _)| l.starts_with(label))
            .map_or(f64::NAN, |(_, i)| *i)
    };
    let (a, b) = (find("(a) "), find("(b) "));
    println!("### Instructions per request (callgrind)\n");
    println!(
        "Envoy's user-space instructions per request, every thread, one worker, {requests} keep-alive requests per case after 50 to warm up. Efficiency is the inverse ratio: (a)'s instructions over the case's.\n"
    );
    println!("| case | instructions/req | efficiency vs (a) | efficiency vs (b) |");
    println!("|---|---:|---:|---:|");
    for (label, per) in &results {
        println!("| {label} | {:.0} | {:.3} | {:.3} |", per, a / per, b / per);
    }
}
