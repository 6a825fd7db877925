//! The command-line tool end to end: each test runs the built
//! `knative-traffic` binary and checks its standard output, standard error
//! and exit status. Inputs are in `tests/data`: filter configurations, and
//! Knative Services as `kubectl get ksvc -o json` prints them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
        &["help", "validate"],
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
    assert!(r.stdout.contains("validate"), "{r:?}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [&[][..], &["frobnicate"], &["validate"]] {
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
