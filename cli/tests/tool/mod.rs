//! Running the built `knative-traffic` binary, for the tool's tests.

#![allow(dead_code)] // each test binary uses its own part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support;

/// The tool's test documents.
pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// What a run of the tool did.
#[derive(Debug)]
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the tool in `tests/data` (so messages name files as given).
pub fn run(args: &[&str]) -> Run {
    run_with_stdin(args, "")
}

pub fn run_with_stdin(args: &[&str], stdin: &str) -> Run {
    run_in(&data(), args, stdin)
}

/// Runs the tool in `dir`, with `stdin` as its standard input, and without
/// a `KNATIVE_TRAFFIC_FILE` from the environment the tests run in.
pub fn run_in(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_knative-traffic"))
        .args(args)
        .current_dir(dir)
        .env_remove("KNATIVE_TRAFFIC_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run knative-traffic");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    Run {
        status: output.status.code().expect("an exit status"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// An input file made by a test, removed with its directory.
pub struct ScratchFile {
    _dir: support::Scratch,
    pub path: PathBuf,
}

impl ScratchFile {
    pub fn new(name: &str, text: &str) -> ScratchFile {
        let dir = support::scratch_dir("cli");
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        ScratchFile { _dir: dir, path }
    }

    /// The file's path as an argument.
    pub fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }
}
