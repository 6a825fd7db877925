//! The sessions of `docs/cli.md` are real: every `$ …` line of the page's
//! text blocks is run with `sh` (the built `knative-traffic` first on PATH, in
//! a directory holding the documents the session names), and what it prints
//! must be the lines that follow it.

// Tests report by panicking.
#![allow(clippy::restriction)]

use std::fs;
use std::path::Path;
use std::process::Command;

/// The text blocks of `docs/cli.md`.
fn sessions() -> Vec<Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository");
    let page = fs::read_to_string(root.join("docs/cli.md")).expect("docs/cli.md");
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in page.lines() {
        match (&mut current, line) {
            (None, "```text") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), line) => block.push(line.to_owned()),
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_docs_sessions_print_what_the_docs_show() {
    let dir = std::env::temp_dir().join(format!(
        "knative-traffic-docs-sessions-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for file in [
        "traffic-example.json",
        "features.json",
        "shadow.json",
        "guard.json",
    ] {
        fs::copy(data.join(file), dir.join(file)).unwrap();
    }
    // The forms the edit commands change, as the repository ships them.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for (from, to) in [
        ("envoy/envoy.yaml", "envoy.yaml"),
        ("istio/wasmplugin.yaml", "wasmplugin.yaml"),
        ("cli/tests/data/git/services.yaml", "services.yaml"),
    ] {
        fs::copy(root.join(from), dir.join(to)).unwrap();
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_knative-traffic"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let blocks = sessions();
    assert!(blocks.len() >= 2, "{blocks:?}");
    let mut commands = 0;
    for block in blocks {
        let mut lines = block.iter().peekable();
        while let Some(line) = lines.next() {
            let command = line.strip_prefix("$ ").unwrap_or_else(|| {
                panic!(
                    "a docs/cli.md session line that is neither a command nor its output: {line:?}"
                )
            });
            let mut shown = Vec::new();
            while let Some(output) = lines.next_if(|l| !l.starts_with("$ ")) {
                shown.push(output.as_str());
            }
            // The cluster is not here; the document it printed is.
            if command.starts_with("kubectl ") {
                continue;
            }
            let output = Command::new("sh")
                .arg("-c")
                .arg(format!("{{ {command}\n}} 2>&1"))
                .current_dir(&dir)
                .env("PATH", &path)
                .output()
                .unwrap();
            let printed = String::from_utf8(output.stdout).unwrap();
            assert_eq!(
                printed.lines().collect::<Vec<_>>(),
                shown,
                "docs/cli.md command: {command}"
            );
            commands += 1;
        }
    }
    assert!(commands >= 15, "only {commands} commands ran");
    let _ = fs::remove_dir_all(&dir);
}
