//! The command-line tool end to end: each test runs the built
//! `knative-traffic` binary and checks its standard output, standard error
//! and exit status. Inputs are in `tests/data`: filter configurations, and
//! Knative Services as `kubectl get ksvc -o json` prints them.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::assert_binomial;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

#[derive(Debug)]
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// Runs the tool in `tests/data` (so messages name files as given).
fn run(args: &[&str]) -> Run {
    run_with_stdin(args, None)
}

fn run_with_stdin(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_knative-traffic"))
        .args(args)
        .current_dir(data())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run knative-traffic");
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    Run {
        status: output.status.code().expect("an exit status"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

// ---------------------------------------------------------------- help

#[test]
fn every_command_has_help_with_the_exit_statuses() {
    for args in [
        &["--help"][..],
        &["validate", "--help"],
        &["simulate", "--help"],
        &["help", "simulate"],
    ] {
        let r = run(args);
        assert_eq!(r.status, 0, "{args:?}: {r:?}");
        assert!(
            r.stdout.contains("Usage: knative-traffic"),
            "{args:?}: {r:?}"
        );
        assert!(
            r.stdout
                .contains("Exit status:\n  0  success\n  1  an input is unreadable"),
            "{args:?}: {r:?}"
        );
        assert_eq!(r.stderr, "");
    }
    let r = run(&["--help"]);
    for command in ["validate", "simulate"] {
        assert!(r.stdout.contains(command), "{r:?}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["validate"],
        &["simulate", "seeds.json"],
        &["simulate", "seeds.json", "--host", "h", "--requests", "0"],
    ] {
        let r = run(args);
        assert_eq!(r.status, 2, "{args:?}: {r:?}");
        assert_eq!(r.stdout, "", "{args:?}");
        // An error naming what is wrong, or the help when nothing is given.
        assert!(r.stderr.contains("--help"), "{args:?}: {r:?}");
    }
}

// ---------------------------------------------------------------- validate

#[test]
fn validate_accepts_valid_configurations() {
    let r = run(&["validate", "seeds.json", "features.json"]);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        "seeds.json: ok (2 services, 5 revisions, 6 tags)\n\
         features.json: ok (1 service, 3 revisions, 3 tags, 1 timed rollout)\n"
    );
    assert_eq!(r.stderr, "");
}

#[test]
fn validate_reports_every_error_with_the_filters_own_message() {
    let r = run(&["validate", "invalid.json"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr_lines(),
        [
            "invalid.json: services[0] (traffic-example): traffic[1]: tag \"V2\" is not a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
            "invalid.json: services[0] (traffic-example): traffic percents sum to 90, want 100",
        ]
    );
    // The very text the filter logs: the library's errors, prefixed by the file.
    let text = std::fs::read(data().join("invalid.json")).unwrap();
    let library: Vec<String> = knative_traffic::compile(&text)
        .unwrap_err()
        .0
        .iter()
        .map(|e| format!("invalid.json: {e}"))
        .collect();
    assert_eq!(r.stderr_lines(), library);
}

#[test]
fn validate_names_the_line_and_column_of_bad_json() {
    let r = run(&["validate", "syntax-error.json"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "syntax-error.json: configuration is not valid JSON: trailing comma at line 3 column 43\n"
    );
    let r = run_with_stdin(&["validate", "-"], Some("{\"services\": [}"));
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "<stdin>: configuration is not valid JSON: expected value at line 1 column 15\n"
    );
}

#[test]
fn validate_checks_every_file_and_fails_if_any_fails() {
    let r = run(&[
        "validate",
        "seeds.json",
        "missing.json",
        "invalid.json",
        ".",
        "features.json",
    ]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(
        r.stdout,
        "seeds.json: ok (2 services, 5 revisions, 6 tags)\n\
         features.json: ok (1 service, 3 revisions, 3 tags, 1 timed rollout)\n"
    );
    let errors = r.stderr_lines();
    assert_eq!(
        errors[0],
        "missing.json: cannot read: No such file or directory (os error 2)"
    );
    assert!(errors[1].starts_with("invalid.json: services[0]"));
    assert!(errors[2].starts_with("invalid.json: services[0]"));
    assert_eq!(errors[3], ".: cannot read: Is a directory (os error 21)");
    assert_eq!(errors.len(), 4);
}

#[test]
fn validate_reads_standard_input() {
    let text = std::fs::read_to_string(data().join("seeds.json")).unwrap();
    let r = run_with_stdin(&["validate", "-"], Some(&text));
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(r.stdout, "<stdin>: ok (2 services, 5 revisions, 6 tags)\n");
    let r = run_with_stdin(&["validate", "-"], Some(""));
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "<stdin>: configuration is empty: expected a JSON object with a \"services\" list\n"
    );
}

// ---------------------------------------------------------------- simulate

/// A row of simulate's table.
#[derive(Debug, PartialEq)]
struct Row {
    revision: String,
    cluster: String,
    requests: u64,
    share: String,
    reason: String,
}

fn rows(stdout: &str) -> Vec<Row> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("revision "))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|line| {
            // The revision column may be "(none: 404 Not Found)".
            let (revision, rest) = match line.strip_prefix('(') {
                Some(rest) => {
                    let (inner, rest) = rest.split_once(')').unwrap();
                    (format!("({inner})"), rest)
                }
                None => line
                    .split_once(' ')
                    .map(|(r, rest)| (r.into(), rest))
                    .unwrap(),
            };
            let mut words = rest.split_whitespace();
            let cluster = words.next().unwrap().to_owned();
            let requests = words.next().unwrap().parse().unwrap();
            let share = words.next().unwrap().to_owned();
            let reason = words.collect::<Vec<_>>().join(" ");
            Row {
                revision,
                cluster,
                requests,
                share,
                reason,
            }
        })
        .collect()
}

fn row(revision: &str, cluster: &str, requests: u64, share: &str, reason: &str) -> Row {
    Row {
        revision: revision.into(),
        cluster: cluster.into(),
        requests,
        share: share.into(),
        reason: reason.into(),
    }
}

fn simulate(args: &[&str]) -> Run {
    let mut all = vec!["simulate"];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(r.stderr, "");
    r
}

#[test]
fn simulate_draws_the_split_and_prints_it() {
    let n = 10_000;
    let r = simulate(&[
        "seeds.json",
        "--host",
        "traffic-example.default.example.com",
        "--requests",
        "10000",
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "host traffic-example.default.example.com: service traffic-example in namespace default",
            "10000 requests, seed 1; headers: none",
            "",
        ]
    );
    assert_eq!(
        lines[3],
        "revision            cluster             requests  share  reason"
    );
    let table = rows(&r.stdout);
    assert_eq!(table.len(), 3, "{}", r.stdout);
    for (row, (revision, p)) in table.iter().zip([
        ("traffic-example-v1", 0.8),
        ("traffic-example-v2", 0.1),
        ("traffic-example-v3", 0.1),
    ]) {
        assert_eq!(row.revision, revision);
        assert_eq!(row.cluster, revision);
        assert_eq!(row.reason, "draw");
        assert_binomial(revision, row.requests, n, p);
        assert_eq!(
            row.share,
            format!("{:.1}%", row.requests as f64 * 100.0 / n as f64)
        );
    }
    assert!(
        r.stdout.ends_with(
            "\nsplit in force: traffic-example-v1 80%, traffic-example-v2 10%, traffic-example-v3 10%\n"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn simulate_is_reproducible_by_seed() {
    let args = ["seeds.json", "--host", "helloworld-go.example.example.com"];
    let first = simulate(&args);
    assert_eq!(simulate(&args).stdout, first.stdout);
    let mut seeded = args.to_vec();
    seeded.extend(["--seed", "1"]);
    assert_eq!(
        simulate(&seeded).stdout,
        first.stdout,
        "the default seed is 1"
    );
    let mut other = args.to_vec();
    other.extend(["--seed", "2"]);
    let other = simulate(&other);
    assert_ne!(rows(&other.stdout), rows(&first.stdout));
    for r in [&first, &other] {
        let table = rows(&r.stdout);
        assert_eq!(table.len(), 2);
        assert_binomial("00001", table[0].requests, 1000, 0.5);
        assert_eq!(table[1].cluster, "helloworld-go-canary");
    }
}

#[test]
fn simulate_tag_hosts_and_tag_headers() {
    // The 0% latest tag is reached on its own host.
    let r = simulate(&[
        "seeds.json",
        "--host",
        "latest-traffic-example.default.example.com",
    ]);
    assert_eq!(
        rows(&r.stdout),
        [row(
            "traffic-example-v3",
            "traffic-example-v3",
            1000,
            "100.0%",
            "tag-host (tag latest)"
        )]
    );
    // The tag header, in any case of its name; the cluster override.
    let r = simulate(&[
        "seeds.json",
        "--host",
        "helloworld-go.example.example.com",
        "--header",
        "Knative-Serving-Tag: b",
        "--requests",
        "50",
    ]);
    assert!(r
        .stdout
        .contains("50 requests, seed 1; headers: knative-serving-tag: b\n"));
    assert_eq!(
        rows(&r.stdout),
        [row(
            "helloworld-go-00002",
            "helloworld-go-canary",
            50,
            "100.0%",
            "tag-header (tag b)"
        )]
    );
    // An unknown tag falls through to the split.
    let r = simulate(&[
        "seeds.json",
        "--host",
        "helloworld-go.example.example.com",
        "--header",
        "knative-serving-tag:c",
    ]);
    let table = rows(&r.stdout);
    assert_eq!(table.len(), 2);
    assert!(table.iter().all(|r| r.reason == "draw"));
}

#[test]
fn simulate_shows_a_404_and_a_pass_through() {
    let r = simulate(&[
        "seeds.json",
        "--host",
        "v9-traffic-example.default.example.com",
        "--requests",
        "5",
    ]);
    assert_eq!(
        r.stdout,
        "host v9-traffic-example.default.example.com: a tag host of service traffic-example in namespace default, which has no such tag: the filter answers 404\n\
         5 requests, seed 1; headers: none\n\
         \n\
         revision               cluster  requests   share  reason\n\
         (none: 404 Not Found)  -               5  100.0%  not-found\n"
    );
    let r = simulate(&["seeds.json", "--host", "elsewhere.example.org:8080"]);
    assert_eq!(
        r.stdout,
        "host elsewhere.example.org:8080: no configured service has this host: the filter passes such requests through untouched\n\
         configured services: default/traffic-example, example/helloworld-go\n\
         1000 requests, seed 1; headers: none\n\
         \n\
         revision                cluster  requests   share  reason\n\
         (none: passes through)  -            1000  100.0%  -\n"
    );
}

#[test]
fn simulate_rules_and_sticky_keys() {
    let at = ["--at", "2026-11-25T15:00:00Z"];
    let mut args = vec![
        "features.json",
        "--host",
        "web.shop.example.com",
        "--header",
        "X-Beta: yes",
    ];
    args.extend(at);
    let r = simulate(&args);
    assert_eq!(
        rows(&r.stdout),
        [row("web-2", "web-2", 1000, "100.0%", "rule (tag canary)")]
    );
    // A key sticks to one revision, whichever it is; cookies make one header.
    let mut args = vec![
        "features.json",
        "--host",
        "web.shop.example.com",
        "--cookie",
        "theme=dark",
        "--cookie",
        "kn-sticky=user-42",
    ];
    args.extend(at);
    let r = simulate(&args);
    assert!(r
        .stdout
        .contains("; headers: cookie: theme=dark; kn-sticky=user-42\n"));
    let table = rows(&r.stdout);
    assert_eq!(table.len(), 1, "{}", r.stdout);
    assert_eq!(table[0].requests, 1000);
    assert_eq!(table[0].reason, "sticky");
    // Without a key the filter hands one out, drawing by the key.
    let mut args = vec!["features.json", "--host", "web.shop.example.com"];
    args.extend(at);
    let r = simulate(&args);
    let table = rows(&r.stdout);
    assert_eq!(table.len(), 2);
    assert_binomial("web-1 at 60%", table[0].requests, 1000, 0.6);
    assert_eq!(table[0].reason, "draw");
    let sticky = r
        .stdout
        .lines()
        .find(|l| l.starts_with("sticky: "))
        .unwrap();
    assert!(
        sticky
            .starts_with("sticky: 1000 responses hand out a new key, e.g. Set-Cookie: kn-sticky=")
            && sticky.ends_with("; Max-Age=86400; Path=/; HttpOnly"),
        "{sticky}"
    );
}

#[test]
fn simulate_a_timed_rollout_at_an_instant() {
    let at = |instant: &str| {
        simulate(&[
            "features.json",
            "--host",
            "web.shop.example.com",
            "--at",
            instant,
            "--requests",
            "2000",
        ])
    };
    let tail = |r: &Run| -> Vec<String> {
        let lines: Vec<&str> = r.stdout.lines().collect();
        let from = lines
            .iter()
            .position(|l| l.starts_with("timed rollout"))
            .unwrap();
        lines[from..from + 3]
            .iter()
            .map(|l| l.to_string())
            .collect()
    };
    let header =
        "timed rollout to web-3: 4 steps from 2026-11-25T16:00:00Z to 2026-11-25T16:10:00Z";

    let before = at("2026-11-25T15:59:59Z");
    assert!(before
        .stdout
        .contains("2000 requests, seed 1, at 2026-11-25T15:59:59Z; headers: none\n"));
    assert_eq!(
        tail(&before),
        [
            header,
            "at 2026-11-25T15:59:59Z: not started: the traffic percents are in force",
            "split in force: web-1 60%, web-2 40%",
        ]
    );

    // Knative's step rule: 1%, 26%, 51%, 76%, 100%, web-2 drained first.
    let during = at("2026-11-25T16:05:00Z");
    assert_eq!(
        tail(&during),
        [
            header,
            "at 2026-11-25T16:05:00Z: step 3 of 4",
            "split in force: web-1 49%, web-3 51%",
        ]
    );
    let table = rows(&during.stdout);
    assert_eq!(table.len(), 2, "{}", during.stdout);
    assert_eq!(table[0].revision, "web-1");
    assert_binomial("web-1 at 49%", table[0].requests, 2000, 0.49);
    assert_eq!(table[1].revision, "web-3");
    assert_binomial("web-3 at 51%", table[1].requests, 2000, 0.51);

    let first = at("2026-11-25T16:00:00.500Z");
    assert_eq!(
        tail(&first)[1..],
        [
            "at 2026-11-25T16:00:00.500Z: step 1 of 4",
            "split in force: web-1 60%, web-2 39%, web-3 1%",
        ]
    );

    let after = at("2026-11-25T16:10:00Z");
    assert_eq!(
        tail(&after)[1..],
        [
            "at 2026-11-25T16:10:00Z: complete: web-3 has everything",
            "split in force: web-3 100%",
        ]
    );
    assert_eq!(
        rows(&after.stdout)[0],
        row("web-3", "web-3", 2000, "100.0%", "draw")
    );

    // A service without a rollout says the instant changes nothing.
    let r = simulate(&[
        "seeds.json",
        "--host",
        "traffic-example.default.example.com",
        "--at",
        "2026-11-25T16:00:00+01:00",
    ]);
    assert!(
        r.stdout.contains(", at 2026-11-25T15:00:00Z;"),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("\nno timed rollout: the time does not change this service's split\n"));
}

#[test]
fn simulate_refuses_an_invalid_configuration_and_bad_arguments() {
    let r = run(&["simulate", "invalid.json", "--host", "x"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr_lines().len(), 2);
    assert!(r.stderr.contains("traffic percents sum to 90, want 100"));

    let r = run(&["simulate", "nope.json", "--host", "x"]);
    assert_eq!(r.status, 1);
    assert_eq!(
        r.stderr,
        "nope.json: cannot read: No such file or directory (os error 2)\n"
    );

    for (args, message) in [
        (
            &["--at", "tomorrow"][..],
            "invalid value 'tomorrow' for '--at <TIME>': not an RFC 3339 instant",
        ),
        (
            &["--header", "x-beta"],
            "invalid value 'x-beta' for '--header <NAME:VALUE>': expected NAME:VALUE",
        ),
        (&["--header", "Host: a"], "the Host is given with --host"),
        (&["--cookie", "kn"], "expected NAME=VALUE"),
    ] {
        let mut all = vec!["simulate", "seeds.json", "--host", "h"];
        all.extend_from_slice(args);
        let r = run(&all);
        assert_eq!(r.status, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains(message), "{args:?}: {r:?}");
    }
}
