//! The command-line tool end to end: each test runs the built
//! `knative-traffic` binary and checks its standard output, standard error
//! and exit status. Inputs are in `tests/data`: filter configurations, and
//! Knative Services as `kubectl get ksvc -o json` prints them.

// Tests report by panicking.
#![allow(clippy::restriction)]

#[path = "../../tests/support/mod.rs"]
mod support;
mod tool;

use serde_json::{json, Value};
use support::assert_binomial;
use tool::{data, run, run_with_stdin, Run, ScratchFile};

impl Run {
    fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    fn stdout_json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

fn scratch(name: &str, text: &str) -> ScratchFile {
    ScratchFile::new(name, text)
}

// ---------------------------------------------------------------- help

#[test]
fn every_command_has_help_with_the_exit_statuses() {
    for args in [
        &["--help"][..],
        &["validate", "--help"],
        &["simulate", "--help"],
        &["import-knative", "--help"],
        &["istio", "--help"],
        &["guard", "resume", "--help"],
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
    for command in ["validate", "simulate", "import-knative", "istio"] {
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
        &["import-knative"],
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
fn validate_counts_mirrors() {
    let r = run(&["validate", "shadow.json"]);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        "shadow.json: ok (1 service, 2 revisions, 2 tags, 1 mirror)\n"
    );
}

#[test]
fn validate_counts_guards() {
    let r = run(&["validate", "guard.json"]);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        "guard.json: ok (1 service, 3 revisions, 2 tags, 1 guard)\n"
    );
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
        "syntax-error.json: configuration is not valid JSON: key must be a string at line 3 column 43\n"
    );
    let r = run_with_stdin(&["validate", "-"], "{\"services\": [}");
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
    let r = run_with_stdin(&["validate", "-"], &text);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(r.stdout, "<stdin>: ok (2 services, 5 revisions, 6 tags)\n");
    let r = run_with_stdin(&["validate", "-"], "");
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

/// The `mirrored to` line: copies of the requests to the candidate, on top
/// of the table's requests; none of those the candidate serves itself, nor
/// of those that reached a tag (shadow.json has no `includeTagged`).
#[test]
fn simulate_counts_the_copies_a_mirror_makes() {
    let mirrored = |r: &Run| -> Vec<String> {
        r.stdout
            .lines()
            .filter(|l| l.starts_with("mirrored to "))
            .map(str::to_owned)
            .collect()
    };
    let n = 10_000;
    let r = simulate(&[
        "shadow.json",
        "--host",
        "traffic-example.default.example.com",
        "--requests",
        "10000",
    ]);
    let table = rows(&r.stdout);
    assert_eq!(table.len(), 1, "{}", r.stdout);
    assert_eq!(table[0].revision, "traffic-example-v1");
    assert_eq!(table[0].requests, n);
    let lines = mirrored(&r);
    assert_eq!(lines.len(), 1, "{}", r.stdout);
    let (count, share) = lines[0]
        .strip_prefix("mirrored to traffic-example-v2: ")
        .and_then(|rest| rest.strip_suffix("%)"))
        .and_then(|rest| rest.split_once(" ("))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    let count: u64 = count.parse().unwrap();
    assert_binomial("copies to v2", count, n, 0.1);
    assert_eq!(share, format!("{:.1}", count as f64 * 100.0 / n as f64));
    assert!(
        r.stdout.ends_with(&format!(
            "\nsplit in force: traffic-example-v1 100%\n{}\n",
            lines[0]
        )),
        "{}",
        r.stdout
    );

    // Tagged requests, by host or header, and those v2 serves: no copies.
    for args in [
        &["--host", "v1-traffic-example.default.example.com"][..],
        &["--host", "v2-traffic-example.default.example.com"],
        &[
            "--host",
            "traffic-example.default.example.com",
            "--header",
            "Knative-Serving-Tag: v1",
        ],
    ] {
        let mut all = vec!["shadow.json", "--requests", "200"];
        all.extend_from_slice(args);
        let r = simulate(&all);
        assert_eq!(
            mirrored(&r),
            ["mirrored to traffic-example-v2: 0 (0.0%)"],
            "{args:?}: {}",
            r.stdout
        );
    }

    // No mirror, no line; a 404 or a pass-through, no line either.
    let r = simulate(&[
        "seeds.json",
        "--host",
        "traffic-example.default.example.com",
    ]);
    assert!(mirrored(&r).is_empty(), "{}", r.stdout);
    for host in [
        "v9-traffic-example.default.example.com",
        "elsewhere.example.com",
    ] {
        let r = simulate(&["shadow.json", "--host", host]);
        assert!(mirrored(&r).is_empty(), "{host}: {}", r.stdout);
    }
}

/// A guarded service: the guard's line, then with --tripped the split it
/// falls back to, drawn (web-3's 10% back to web-1 and web-2 in
/// proportion); the candidate's tag host still reaches it.
#[test]
fn simulate_a_guard_and_its_trip() {
    let n = 10_000;
    let host = "web.shop.example.com";
    let r = simulate(&["guard.json", "--host", host, "--requests", "10000"]);
    assert!(
        r.stdout.ends_with(
            "\nguard: judges web-3 on windows of 100 split answers (60s at most): a 5xx or an answer slower than 500 ms fails; trips when significantly above the rest's failure rate + 5 points; \
             a trip would leave web-1 66.67%, web-2 33.33%\n\
             split in force: web-1 60%, web-2 30%, web-3 10%\n"
        ),
        "{}",
        r.stdout
    );
    let table = rows(&r.stdout);
    assert_eq!(table.len(), 3, "{}", r.stdout);
    assert_binomial("web-3 untripped", table[2].requests, n, 0.1);

    let r = simulate(&[
        "guard.json",
        "--host",
        host,
        "--requests",
        "10000",
        "--tripped",
    ]);
    assert!(
        r.stdout.ends_with(
            "\nguard tripped (--tripped): web-3 gets no split requests; the split falls back to web-1 66.67%, web-2 33.33%\n\
             split in force: web-1 66.67%, web-2 33.33%\n"
        ),
        "{}",
        r.stdout
    );
    let table = rows(&r.stdout);
    assert_eq!(table.len(), 2, "{}", r.stdout);
    assert_eq!(
        (table[0].revision.as_str(), table[1].revision.as_str()),
        ("web-1", "web-2")
    );
    assert_binomial("web-1 tripped", table[0].requests, n, 2.0 / 3.0);
    assert!(table.iter().all(|row| row.reason == "draw"));

    let r = simulate(&[
        "guard.json",
        "--host",
        "canary-web.shop.example.com",
        "--requests",
        "100",
        "--tripped",
    ]);
    assert_eq!(
        rows(&r.stdout),
        [row(
            "web-3",
            "web-3",
            100,
            "100.0%",
            "tag-host (tag canary)"
        )]
    );

    // A timed rollout's guard: tripped, the rollout halts at the split
    // before its start, and a rolling tag reaches its own revision.
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(data().join("features.json")).unwrap())
            .unwrap();
    config["services"][0]["guard"] = json!({});
    let file = scratch("rolling-guard.json", &config.to_string());
    let at = ["--at", "2026-11-25T16:05:00Z", "--tripped"];
    let r = simulate(&[&[file.arg(), "--host", host][..], &at].concat());
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(!r.stdout.contains("timed rollout of"), "{}", r.stdout);
    assert_eq!(
        lines[lines.len() - 3..],
        [
            "guard tripped (--tripped): web-3 gets no split requests; the split falls back to web-1 60%, web-2 40%, the timed rollout halted; tags canary and latest reach web-3",
            "split in force: web-1 60%, web-2 40%",
            "sticky: 1000 responses hand out a new key, e.g. Set-Cookie: kn-sticky=7dd3633bb23e99ef; Max-Age=86400; Path=/; HttpOnly",
        ],
        "{}",
        r.stdout
    );
    assert!(rows(&r.stdout).iter().all(|row| row.revision != "web-3"));
    let r = simulate(
        &[
            &[file.arg(), "--host", "canary-web.shop.example.com"][..],
            &at,
        ]
        .concat(),
    );
    assert_eq!(
        rows(&r.stdout),
        [row(
            "web-3",
            "web-3",
            1000,
            "100.0%",
            "tag-host (tag canary)"
        )]
    );

    // Without a guard, --tripped changes nothing, and says so.
    let r = simulate(&[
        "shadow.json",
        "--host",
        "traffic-example.default.example.com",
        "--tripped",
    ]);
    assert!(
        r.stdout.ends_with(
            "\nno guard: --tripped does not change this service's split\nsplit in force: traffic-example-v1 100%\nmirrored to traffic-example-v2: 106 (10.6%)\n"
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
    let at = |host: &str, instant: &str| {
        simulate(&[
            "features.json",
            "--host",
            host,
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
    let main = "web.shop.example.com";
    // The latest-following 40% rolls from web-2 to web-3; web-1's pinned
    // 60% stays (Knative's TestStep "roll, where sum < 100%").
    let header = "timed rollout of the latest-following 40% from web-2 to web-3: 1% at 2026-11-25T16:00:00Z, then 4 steps of 10% (the last 9%), the last at 2026-11-25T16:10:00Z";

    let before = at(main, "2026-11-25T15:59:59Z");
    assert!(before
        .stdout
        .contains("2000 requests, seed 1, at 2026-11-25T15:59:59Z; headers: none\n"));
    assert_eq!(
        tail(&before),
        [
            header,
            "at 2026-11-25T15:59:59Z: not started: web-2 has it; web-3 gets its first 1% at 2026-11-25T16:00:00Z",
            "split in force: web-1 60%, web-2 40%",
        ]
    );

    let during = at(main, "2026-11-25T16:05:00Z");
    assert_eq!(
        tail(&during),
        [
            header,
            "at 2026-11-25T16:05:00Z: web-3 has 21% after step 2 of 4; the next at 2026-11-25T16:07:30Z",
            "split in force: web-1 60%, web-2 19%, web-3 21%",
        ]
    );
    let table = rows(&during.stdout);
    assert_eq!(table.len(), 3, "{}", during.stdout);
    let share = |revision: &str| {
        table
            .iter()
            .find(|r| r.revision == revision)
            .map_or(0, |r| r.requests)
    };
    assert_binomial("web-1 at 60%", share("web-1"), 2000, 0.60);
    assert_binomial("web-2 at 19%", share("web-2"), 2000, 0.19);
    assert_binomial("web-3 at 21%", share("web-3"), 2000, 0.21);

    let first = at(main, "2026-11-25T16:00:00.500Z");
    assert_eq!(
        tail(&first)[1..],
        [
            "at 2026-11-25T16:00:00.500Z: web-3 has its first 1%; the next at 2026-11-25T16:02:30Z",
            "split in force: web-1 60%, web-2 39%, web-3 1%",
        ]
    );

    let after = at(main, "2026-11-25T16:10:00Z");
    assert_eq!(
        tail(&after)[1..],
        [
            "at 2026-11-25T16:10:00Z: complete: web-3 has 40% since 2026-11-25T16:10:00Z",
            "split in force: web-1 60%, web-3 40%",
        ]
    );

    // The canary tag follows the latest revision: its host rolls its own
    // 100% (Knative's TestRoundTrippingWithRollout).
    let canary = at("canary-web.shop.example.com", "2026-11-25T16:05:00Z");
    assert_eq!(
        tail(&canary),
        [
            "timed rollout of tag canary from web-2 to web-3: 1% at 2026-11-25T16:00:00Z, then 4 steps of 25% (the last 24%), the last at 2026-11-25T16:10:00Z",
            "at 2026-11-25T16:05:00Z: web-3 has 51% after step 2 of 4; the next at 2026-11-25T16:07:30Z",
            "split in force: web-2 49%, web-3 51%",
        ]
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

/// The rollout lines of a simulation: the schedule, the state at the
/// instant and the split in force.
fn rollout_lines(r: &Run) -> Vec<&str> {
    let lines: Vec<&str> = r.stdout.lines().collect();
    let from = lines
        .iter()
        .position(|l| l.starts_with("timed rollout"))
        .unwrap_or_else(|| panic!("no rollout: {}", r.stdout));
    lines[from..from + 3].to_vec()
}

/// A request that reaches a rolling tag by the tag header takes the tag's
/// own schedule (its 100%), as one at its host or by a rule does: what is
/// said of the rollout is the split the requests took, not the main route's.
#[test]
fn simulate_a_rolling_tag_by_the_tag_header_shows_the_tags_schedule() {
    let tag = "timed rollout of tag canary from web-2 to web-3: 1% at 2026-11-25T16:00:00Z, then 4 steps of 25% (the last 24%), the last at 2026-11-25T16:10:00Z";
    for reached in [
        vec![
            "--host",
            "web.shop.example.com",
            "--header",
            "Knative-Serving-Tag: canary",
        ],
        vec!["--host", "web.shop.example.com", "--header", "x-beta: yes"],
        vec!["--host", "canary-web.shop.example.com"],
    ] {
        let mut args = vec![
            "features.json",
            "--at",
            "2026-11-25T16:07:30Z",
            "--requests",
            "2000",
        ];
        args.extend(reached);
        let r = simulate(&args);
        assert_eq!(
            rollout_lines(&r),
            [
                tag,
                "at 2026-11-25T16:07:30Z: web-3 has 76% after step 3 of 4; the next at 2026-11-25T16:10:00Z",
                "split in force: web-2 24%, web-3 76%",
            ],
            "{args:?}"
        );
        let table = rows(&r.stdout);
        let web3 = table.iter().find(|r| r.revision == "web-3").unwrap();
        assert_binomial("web-3 at 76%", web3.requests, 2000, 0.76);
    }
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

// ---------------------------------------------------------------- import-knative

#[test]
fn import_the_seeds_traffic_example() {
    let r = run(&["import-knative", "traffic-example.json"]);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout_json(),
        json!({"services": [{
            "name": "traffic-example",
            "namespace": "default",
            "domain": "knative.kuberun.com",
            "latestReadyRevisionName": "traffic-example-v3",
            "traffic": [
                {"tag": "v1", "revisionName": "traffic-example-v1", "latestRevision": false, "percent": 80},
                {"tag": "v2", "revisionName": "traffic-example-v2", "latestRevision": false, "percent": 20},
                {"tag": "latest", "latestRevision": true, "percent": 0}
            ]
        }]})
    );
    // Written for people: pretty, in the filter's field order.
    assert!(r.stdout.starts_with(
        "{\n  \"services\": [\n    {\n      \"name\": \"traffic-example\",\n      \"namespace\": \"default\",\n      \"domain\": \"knative.kuberun.com\","
    ));

    // What it wrote is what the filter loads, and routes as the Service's
    // status.traffic says: each tag's URL reaches its revision.
    let config_file = scratch("traffic-example.config.json", &r.stdout);
    let config = config_file.arg();
    let v = run(&["validate", config]);
    assert_eq!(v.status, 0, "{v:?}");
    let ksvc: Value = serde_json::from_str(
        &std::fs::read_to_string(data().join("traffic-example.json")).unwrap(),
    )
    .unwrap();
    for target in ksvc["status"]["traffic"].as_array().unwrap() {
        let host = target["url"]
            .as_str()
            .unwrap()
            .strip_prefix("http://")
            .unwrap();
        let revision = target["revisionName"].as_str().unwrap();
        let s = simulate(&[config, "--host", host, "--requests", "10"]);
        assert_eq!(rows(&s.stdout)[0].revision, revision, "{host}");
        assert_eq!(rows(&s.stdout)[0].requests, 10, "{host}");
    }
    let s = simulate(&[
        config,
        "--host",
        "traffic-example.default.knative.kuberun.com",
    ]);
    assert!(s
        .stdout
        .ends_with("\nsplit in force: traffic-example-v1 80%, traffic-example-v2 20%\n"));
}

#[test]
fn import_a_list_of_services() {
    let r = run(&["import-knative", "ksvc-list.json"]);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout_json(),
        json!({"services": [
            {
                "name": "helloworld-go",
                "namespace": "example",
                "domain": "example.com",
                "latestReadyRevisionName": "helloworld-go-00002",
                "traffic": [
                    {"tag": "a", "revisionName": "helloworld-go-00001", "latestRevision": false, "percent": 50},
                    {"tag": "b", "revisionName": "helloworld-go-00002", "latestRevision": false, "percent": 50}
                ]
            },
            {
                // A cluster-local Service: its URL is in svc.cluster.local,
                // so it gets no public host.
                "name": "payments",
                "namespace": "shop",
                "domain": "svc.cluster.local",
                "visibility": "cluster-local",
                "latestReadyRevisionName": "payments-00004",
                "traffic": [{"latestRevision": true, "percent": 100}]
            }
        ]})
    );
    // The same from standard input.
    let text = std::fs::read_to_string(data().join("ksvc-list.json")).unwrap();
    let piped = run_with_stdin(&["import-knative", "-"], &text);
    assert_eq!(piped.status, 0, "{piped:?}");
    assert_eq!(piped.stdout, r.stdout);
}

#[test]
fn import_warns_of_a_status_that_may_not_be_served() {
    let r = run(&["import-knative", "not-ready.json"]);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        r.stderr_lines(),
        [
            "warning: not-ready.json: shop/web: the Service is not Ready (RevisionFailed: Revision \"web-00007\" failed with message: Container failed with: exec format error.): Knative may still be serving an earlier traffic split",
            "warning: not-ready.json: shop/web: the status is of generation 6 and the spec of generation 7: Knative has not caught up with the spec yet",
            "warning: not-ready.json: shop/web: serving.knative.dev/rollout-duration is \"380s\": no rollout is in progress, and the filter keeps no history: when a new revision is ready, give the service a `rollout` from the one it replaces",
        ]
    );
    let config = r.stdout_json();
    let service = &config["services"][0];
    assert_eq!(service["domain"], "apps.example.net", "from an https URL");
    // latestRevision follows the latest *ready* revision, not the failed one.
    assert_eq!(service["latestReadyRevisionName"], "web-00006");
}

#[test]
fn import_refuses_what_it_cannot_carry_over() {
    let r = run(&["import-knative", "no-status.json"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "no-status.json: default/traffic-example: status.url is missing: the Service has no status (a manifest from git, or not reconciled yet), so its host and domain are unknown; pass --domain with the cluster's domain, or import what `kubectl get ksvc -o json` prints from the cluster\n"
    );

    // A cluster of another domain template, not given: the import says
    // how to give it (import_follows_the_clusters_host_templates imports it).
    let r = run(&["import-knative", "custom-domain-template.json"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "custom-domain-template.json: default/hello: status.url \"http://hello-default.apps-crc.testing\" is not {name}.{namespace}.{domain} (hello.default.…): the cluster's domain-template is not Knative's default; pass it with --domain-template or --config-network\n"
    );
}

/// Knative's config-network templates (TestDomainNameFromTemplate "Dash"):
/// given as an option or by the cluster's ConfigMap, the domain is read off
/// status.url by them, and the configuration carries them.
#[test]
fn import_follows_the_clusters_host_templates() {
    let dash = "{{.Name}}-{{.Namespace}}.{{.Domain}}";
    let r = run(&[
        "import-knative",
        "custom-domain-template.json",
        "--domain-template",
        dash,
    ]);
    assert_eq!(r.status, 0, "{r:?}");
    let config = r.stdout_json();
    assert_eq!(config["domainTemplate"], dash);
    assert_eq!(config["services"][0]["domain"], "apps-crc.testing");
    let network = scratch(
        "config-network.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "config-network", "namespace": "knative-serving"},
                "data": {"domain-template": dash, "tag-template": "{{.Name}}-{{.Tag}}"}})
        .to_string(),
    );
    let r = run(&[
        "import-knative",
        "custom-domain-template.json",
        "--config-network",
        network.arg(),
    ]);
    assert_eq!(r.status, 0, "{r:?}");
    let config = r.stdout_json();
    assert_eq!(config["domainTemplate"], dash);
    assert_eq!(config["tagTemplate"], "{{.Name}}-{{.Tag}}");
    // The hosts the filter serves are the cluster's.
    let table = knative_traffic::compile(r.stdout.as_bytes()).unwrap();
    let host = knative_traffic::compile::public_hosts(
        &serde_json::from_value(config.clone()).unwrap(),
        &serde_json::from_value(config["services"][0].clone()).unwrap(),
    );
    assert_eq!(host, ["hello-default.apps-crc.testing"]);
    assert_eq!(table.services().len(), 1);
}

/// config-features' tag-header-based-routing (features.go: Enabled turns it
/// on, anything else leaves Knative's default, Disabled).
#[test]
fn import_reads_the_tag_header_switch_from_config_features() {
    let features = |value: &str| {
        scratch(
            "config-features.json",
            &json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "config-features", "namespace": "knative-serving"},
                    "data": {"tag-header-based-routing": value}})
            .to_string(),
        )
    };
    for (value, written) in [
        ("enabled", None),
        ("Enabled", None),
        ("Disabled", Some(false)),
        ("Allowed", Some(false)),
        ("Restricted", Some(false)),
    ] {
        let file = features(value);
        let r = run(&[
            "import-knative",
            "traffic-example.json",
            "--config-features",
            file.arg(),
        ]);
        assert_eq!(r.status, 0, "{r:?}");
        let config = r.stdout_json();
        assert_eq!(
            config.get("tagHeaderBasedRouting").and_then(Value::as_bool),
            written,
            "{value}"
        );
    }
}

/// A Service with a cluster-local tag (its placeholder Service labelled,
/// e2e TestSubrouteVisibilityPublicToPrivate): the tag's status URL is under
/// svc.cluster.local, and the import makes it cluster-local.
#[test]
fn import_reads_a_cluster_local_tag_from_its_status_url() {
    let file = edited_traffic_example(|ksvc| {
        ksvc["status"]["traffic"][1]["url"] =
            json!("http://v2-traffic-example.default.svc.cluster.local");
    });
    let r = run(&["import-knative", file.arg()]);
    assert_eq!(r.status, 0, "{r:?}");
    let config = r.stdout_json();
    let traffic = &config["services"][0]["traffic"];
    assert_eq!(traffic[1]["tag"], "v2");
    assert_eq!(traffic[1]["visibility"], "cluster-local");
    assert!(traffic[0].get("visibility").is_none());
    assert!(config["services"][0].get("visibility").is_none());
}

/// A Service mid-rollout (rollout_test.go TestStep "roll, where sum <
/// 100%"): its status shows the latest-following share split between the
/// previous and the new revision; the import reproduces that split at the
/// instant it was read and continues Knative's steps to the end.
#[test]
fn import_continues_a_rollout_in_progress() {
    let file = edited_traffic_example(|ksvc| {
        ksvc["metadata"]["annotations"]["serving.knative.dev/rollout-duration"] = json!("400s");
        ksvc["spec"]["traffic"] = json!([
            {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 30},
            {"latestRevision": true, "percent": 70}
        ]);
        ksvc["status"]["traffic"] = json!([
            {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 30, "latestRevision": false,
             "url": "http://v1-traffic-example.default.knative.kuberun.com"},
            {"revisionName": "traffic-example-v2", "percent": 33, "latestRevision": true},
            {"revisionName": "traffic-example-v3", "percent": 37, "latestRevision": true}
        ]);
    });
    let at = "2026-11-25T16:05:00Z";
    let r = run(&["import-knative", file.arg(), "--at", at]);
    assert_eq!(r.status, 0, "{r:?}");
    let config = r.stdout_json();
    let rollout = &config["services"][0]["rollout"];
    assert_eq!(rollout["fromRevisionName"], "traffic-example-v2");
    assert_eq!(rollout["duration"], "400s");
    // The filter's own simulation of the imported configuration, at the
    // instant the status was read, shows the split in force.
    let imported = scratch("imported.json", &r.stdout);
    let sim = run(&[
        "simulate",
        imported.arg(),
        "--host",
        "traffic-example.default.knative.kuberun.com",
        "--at",
        at,
    ]);
    assert!(
        sim.stdout.contains(
            "split in force: traffic-example-v1 30%, traffic-example-v2 33%, traffic-example-v3 37%"
        ),
        "{}",
        sim.stdout
    );
    // ... and the rollout goes on to the end: 70% on the new revision.
    let later = run(&[
        "simulate",
        imported.arg(),
        "--host",
        "traffic-example.default.knative.kuberun.com",
        "--at",
        "2026-11-25T17:00:00Z",
    ]);
    assert!(
        later
            .stdout
            .contains("split in force: traffic-example-v1 30%, traffic-example-v3 70%"),
        "{}",
        later.stdout
    );
}

/// The seed's traffic-example, edited by `edit`, as a scratch file.
fn edited_traffic_example(edit: impl FnOnce(&mut Value)) -> ScratchFile {
    let text = std::fs::read_to_string(data().join("traffic-example.json")).unwrap();
    let mut ksvc: Value = serde_json::from_str(&text).unwrap();
    edit(&mut ksvc);
    scratch("ksvc.json", &ksvc.to_string())
}

#[test]
fn import_checks_the_result_with_the_filters_validation() {
    let scratch_file =
        edited_traffic_example(|ksvc| ksvc["spec"]["traffic"][1]["percent"] = json!(10));
    let file = scratch_file.arg();
    let r = run(&["import-knative", file]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr_lines(),
        [
            format!("{file}: the imported configuration is not valid for the filter (services[i] is the i-th Service imported):"),
            format!("{file}: services[0] (traffic-example): traffic percents sum to 90, want 100"),
        ]
    );

    // Two Services whose hosts collide: b-c's host is c's tag host for b.
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        ksvc_shape("b-c", "ns", json!([{"revisionName": "b-c-00001", "percent": 100}])),
        ksvc_shape("c", "ns", json!([
            {"revisionName": "c-00001", "percent": 100},
            {"tag": "b", "revisionName": "c-00001", "percent": 0}
        ]))
    ]});
    let file = scratch("clash.json", &list.to_string());
    let r = run(&["import-knative", file.arg()]);
    assert_eq!(r.status, 1, "{r:?}");
    assert!(
        r.stderr.ends_with(": services[1] (c): traffic[1].tag \"b\": host \"b-c.ns.svc.cluster.local\" is already claimed by services[0] (b-c)\n"),
        "{r:?}"
    );
}

/// A minimal reconciled Knative Service in domain example.com.
fn ksvc_shape(name: &str, namespace: &str, traffic: Value) -> Value {
    json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {"template": {"spec": {"containers": [{"image": "example.com/app"}]}}, "traffic": traffic},
        "status": {
            "url": format!("http://{name}.{namespace}.example.com"),
            "address": {"url": format!("http://{name}.{namespace}.svc.cluster.local")},
            "latestReadyRevisionName": format!("{name}-00001"),
            "observedGeneration": 1
        }
    })
}

#[test]
fn import_edge_cases() {
    // An empty traffic block is Knative's default: 100% to the latest.
    let mut ksvc = ksvc_shape("web", "shop", json!(null));
    ksvc["spec"].as_object_mut().unwrap().remove("traffic");
    let file = scratch("web.json", &ksvc.to_string());
    let r = run(&["import-knative", file.arg()]);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        r.stdout_json()["services"][0]["traffic"],
        json!([{"latestRevision": true, "percent": 100}])
    );

    // ... which needs a ready revision.
    ksvc["status"]
        .as_object_mut()
        .unwrap()
        .remove("latestReadyRevisionName");
    let file = scratch("web.json", &ksvc.to_string());
    let r = run(&["import-knative", file.arg()]);
    assert_eq!(r.status, 1, "{r:?}");
    assert!(r.stderr.ends_with(": shop/web: spec.traffic is empty (100% to the latest revision), but status.latestReadyRevisionName is missing: no revision is ready yet, and Knative programs no route until one is\n"), "{r:?}");

    // The cluster domain comes from status.address.url; a cluster template
    // can be given.
    let mut ksvc = ksvc_shape(
        "web",
        "shop",
        json!([{"revisionName": "web-00001", "percent": 100}]),
    );
    ksvc["status"]["address"]["url"] = json!("http://web.shop.svc.corp.internal");
    let file = scratch("web.json", &ksvc.to_string());
    let r = run(&[
        "import-knative",
        file.arg(),
        "--cluster-template",
        "outbound|80||{revision}.{namespace}.svc.corp.internal",
    ]);
    assert_eq!(r.status, 0, "{r:?}");
    let config = r.stdout_json();
    assert_eq!(config["clusterDomain"], "corp.internal");
    assert_eq!(
        config["clusterTemplate"],
        "outbound|80||{revision}.{namespace}.svc.corp.internal"
    );
    let r = run(&[
        "import-knative",
        file.arg(),
        "--cluster-template",
        "{revison}",
    ]);
    assert_eq!(r.status, 1, "{r:?}");
    assert!(r.stderr.ends_with(": clusterTemplate: \"{revison}\" has an unknown placeholder; use {revision}, {service}, {namespace}\n"), "{r:?}");

    // configurationName: Knative refuses it in a Service; so does the import.
    let ksvc = ksvc_shape(
        "web",
        "shop",
        json!([{"configurationName": "web", "percent": 100}]),
    );
    let file = scratch("web.json", &ksvc.to_string());
    let r = run(&["import-knative", file.arg()]);
    assert_eq!(r.status, 1, "{r:?}");
    assert!(r.stderr.ends_with(": shop/web: spec.traffic[0]: configurationName \"web\" is not supported: a Knative Service's traffic names a revisionName or the latestRevision (Knative refuses configurationName in a Service)\n"), "{r:?}");
}

#[test]
fn import_refuses_what_is_not_a_knative_service() {
    let cases = [
        (
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}}),
            ": shop/web: not a Knative Service (apiVersion serving.knative.dev/v1, kind Service) or a List of them, as `kubectl get ksvc -o json` prints: got apiVersion \"v1\", kind \"Service\"\n",
        ),
        (
            json!({"apiVersion": "serving.knative.dev/v1alpha1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"runLatest": {}}}),
            ": shop/web: not a Knative Service (apiVersion serving.knative.dev/v1, kind Service) or a List of them, as `kubectl get ksvc -o json` prints: got apiVersion \"serving.knative.dev/v1alpha1\", kind \"Service\"\n",
        ),
        (
            json!({"apiVersion": "v1", "kind": "List", "items": []}),
            ": the List has no items: no Knative Service to import\n",
        ),
        (
            json!({"services": []}),
            ": not a Knative Service (apiVersion serving.knative.dev/v1, kind Service) or a List of them, as `kubectl get ksvc -o json` prints: got no kind\n",
        ),
        (
            json!({"apiVersion": "v1", "kind": "List", "items": [
                ksvc_shape("web", "shop", json!([{"revisionName": "web-00001", "percent": 100}])),
                {"apiVersion": "serving.knative.dev/v1", "kind": "Route", "metadata": {"name": "web", "namespace": "shop"}}
            ]}),
            ": items[1] shop/web: not a Knative Service (apiVersion serving.knative.dev/v1, kind Service) or a List of them, as `kubectl get ksvc -o json` prints: got apiVersion \"serving.knative.dev/v1\", kind \"Route\"\n",
        ),
    ];
    for (document, message) in cases {
        let file = scratch("doc.json", &document.to_string());
        let r = run(&["import-knative", file.arg()]);
        assert_eq!(r.status, 1, "{r:?}");
        assert_eq!(r.stdout, "");
        assert!(r.stderr.ends_with(message), "{r:?}");
    }

    let r = run_with_stdin(
        &["import-knative", "-"],
        "{\n  \"kind\": \"Service\"\n  \"x\": 1\n}",
    );
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "<stdin>: not valid JSON: expected `,` or `}` at line 3 column 3\n"
    );
    let r = run_with_stdin(
        &["import-knative", "-"],
        "apiVersion: serving.knative.dev/v1\nkind: Service\n",
    );
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "<stdin>: metadata.name is missing (import what `kubectl get ksvc -o json` prints)\n"
    );
    let r = run(&["import-knative", "missing.json"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "missing.json: cannot read: No such file or directory (os error 2)\n"
    );
}

/// `validate` refuses what the filter refuses of hostile probing
/// (tests/hardening.rs): header names that break HTTP, duplicate keys.
#[test]
fn validate_refuses_what_hostile_probing_found() {
    let header = scratch(
        "header.json",
        r#"{"routeResponseHeader": "content-length", "services": []}"#,
    );
    let r = run(&["validate", header.arg()]);
    assert_eq!(r.status, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("routeResponseHeader: \"content-length\" frames the message body"),
        "{r:?}"
    );
    let keys = scratch(
        "keys.json",
        r#"{"services": [{"name": "web", "namespace": "ns",
            "traffic": [{"revisionName": "web-1", "percent": 100}],
            "clusters": {"web-1": "a", "web-1": "b"}}]}"#,
    );
    let r = run(&["validate", keys.arg()]);
    assert_eq!(r.status, 1, "{r:?}");
    assert!(
        r.stderr
            .ends_with("services[0] (web): clusters: duplicate key \"web-1\"\n"),
        "{r:?}"
    );
}
