//! The edit commands (`set-traffic`, `tag`, `untag`, `rollback`, `rollout
//! start|stop|finish`, `guard resume`), run as the built binary on each form a configuration
//! lives in: a JSON file, a YAML file, the Wasm filter's `configuration` in
//! an Envoy bootstrap (`envoy/envoy.yaml`, and `envoy/public-and-internal.yaml`
//! whose two listeners share it through a YAML anchor), an ECDS resource file
//! (`envoy/ecds/knative-traffic.yaml`, and the JSON form), and a WasmPlugin
//! manifest (`istio/wasmplugin.yaml`). After every command the file is read
//! back here, without the tool, and compiled by the filter's own compiler;
//! every line the command did not have to change, comments included, must
//! be as it was.

// Tests report by panicking.
#![allow(clippy::restriction)]

#[path = "../../tests/support/mod.rs"]
mod support;
mod tool;

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};
use support::{repo, scratch_dir};
use tool::{run, run_with_stdin};

/// The Wasm filter configurations found in a value, as the filter receives
/// them.
fn wasm_configurations(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(text) = map
                .get("config")
                .and_then(|c| c.get("configuration"))
                .and_then(|c| c.get("value"))
                .and_then(Value::as_str)
            {
                out.push(text.to_owned());
            }
            map.values().for_each(|v| wasm_configurations(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| wasm_configurations(v, out)),
        _ => {}
    }
}

/// The configuration a file holds, read without the tool: the file itself,
/// a WasmPlugin's pluginConfig (as Istio hands it to the filter: JSON), or
/// every copy of the Wasm filter's configuration string (which must agree).
fn configuration_of(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap();
    let documents: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .collect();
    let configuration = if let [single] = documents.as_slice() {
        if single.get("services").is_some() {
            Some(single.clone())
        } else {
            None
        }
    } else {
        None
    };
    let configuration = configuration.or_else(|| {
        documents
            .iter()
            .find(|d| d["kind"] == "WasmPlugin")
            .map(|d| d["spec"]["pluginConfig"].clone())
    });
    let configuration = configuration.unwrap_or_else(|| {
        let mut found = Vec::new();
        documents
            .iter()
            .for_each(|d| wasm_configurations(d, &mut found));
        assert!(!found.is_empty(), "{}: no configuration", path.display());
        assert!(
            found.iter().all(|f| f == &found[0]),
            "{}: the copies differ: {found:?}",
            path.display()
        );
        serde_json::from_str(&found[0]).unwrap()
    });
    // The filter's own compiler accepts it.
    let json = serde_json::to_vec(&configuration).unwrap();
    if let Err(errors) = knative_traffic::compile(&json) {
        panic!("{}: the filter refuses it: {errors}", path.display());
    }
    configuration
}

fn traffic_of(path: &Path) -> Value {
    configuration_of(path)["services"][0]["traffic"].clone()
}

/// The lines of `before` that `after` no longer has.
fn lost_lines(before: &str, after: &str) -> Vec<String> {
    let after: Vec<&str> = after.lines().collect();
    before
        .lines()
        .filter(|l| !after.contains(l))
        .map(str::to_owned)
        .collect()
}

/// The seed's configuration as `envoy/envoy.yaml` carries it.
fn shipped_configuration() -> Value {
    configuration_of(&repo().join("envoy/envoy.yaml"))
}

/// Each form, holding the shipped configuration, copied into `dir`.
fn forms(dir: &Path) -> Vec<PathBuf> {
    let configuration = shipped_configuration();
    let json = dir.join("traffic.json");
    fs::write(
        &json,
        serde_json::to_string_pretty(&configuration).unwrap() + "\n",
    )
    .unwrap();
    let yaml = dir.join("traffic.yaml");
    fs::write(
        &yaml,
        format!(
            "# The traffic configuration, as YAML.\n{}",
            serde_yaml::to_string(&configuration).unwrap()
        ),
    )
    .unwrap();
    let mut paths = vec![json, yaml];
    for (from, to) in [
        ("envoy/envoy.yaml", "envoy.yaml"),
        ("istio/wasmplugin.yaml", "wasmplugin.yaml"),
    ] {
        fs::copy(repo().join(from), dir.join(to)).unwrap();
        paths.push(dir.join(to));
    }
    // The shipped ECDS file carries another split: its block scalar gets the
    // bootstrap's, line for line.
    let ecds = fs::read_to_string(repo().join("envoy/ecds/knative-traffic.yaml")).unwrap();
    let (head, _) = ecds.split_once("        value: |\n").unwrap();
    let block: String = serde_json::to_string_pretty(&configuration)
        .unwrap()
        .lines()
        .map(|l| format!("          {l}\n"))
        .collect();
    fs::write(
        dir.join("ecds.yaml"),
        format!("{head}        value: |\n{block}"),
    )
    .unwrap();
    paths.push(dir.join("ecds.yaml"));
    // The JSON form of an ECDS resource file (a JSON string inside JSON).
    let resource: Value =
        serde_yaml::from_str(&fs::read_to_string(dir.join("ecds.yaml")).unwrap()).unwrap();
    fs::write(
        dir.join("ecds.json"),
        serde_json::to_string_pretty(&resource).unwrap(),
    )
    .unwrap();
    paths.push(dir.join("ecds.json"));
    for path in &paths {
        assert_eq!(configuration_of(path), configuration, "{}", path.display());
    }
    paths
}

/// Runs an edit command on `file` and returns its standard output; asserts
/// success, that nothing but the configuration's own lines changed, and
/// that the comments are all still there.
fn edit(file: &Path, args: &[&str]) -> String {
    let before = fs::read_to_string(file).unwrap();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-f", file.to_str().unwrap()]);
    let o = run(&all);
    assert_eq!(o.status, 0, "{all:?}: {}{}", o.stdout, o.stderr);
    let after = fs::read_to_string(file).unwrap();
    for lost in lost_lines(&before, &after) {
        let t = lost.trim();
        assert!(!t.starts_with('#'), "{all:?} lost the comment {lost:?}");
        let edited = [
            "percent",
            "tag",
            "revisionName",
            "latestRevision",
            "latestReadyRevisionName",
            "rollout",
            "fromRevisionName",
            "start",
            "duration",
            "steps",
            "minStep",
            "guard",
            "resumedAt",
            "minAnswers",
            "compare",
        ];
        assert!(
            edited.iter().any(|k| t.contains(k)) || t.chars().all(|c| "{}[],-".contains(c)),
            "{all:?} changed a line outside the traffic: {lost:?}\n{after}"
        );
    }
    o.stdout
}

#[test]
fn every_command_on_every_form() {
    let dir = scratch_dir("edit-forms");
    for file in forms(&dir) {
        let name = file.display().to_string();
        let configuration = configuration_of(&file);

        // kn's --traffic: named targets get their percents, the others 0%
        // (the tagged v3 stays, at 0%).
        let out = edit(
            &file,
            &[
                "set-traffic",
                "traffic-example",
                "v1=70",
                "v2=20",
                "@latest=10",
            ],
        );
        assert_eq!(
            out,
            format!(
                "{name}: default/traffic-example\n  \
                 traffic-example-v1             80% -> 70%\n  \
                 traffic-example-v2             10% -> 20%\n  \
                 traffic-example-v3             10% -> 0%\n  \
                 @latest (traffic-example-v3)    0% -> 10%\n\
                 wrote {name}\n"
            ),
            "{name}"
        );
        let seed_after = json!([
            {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 70},
            {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 20},
            {"tag": "v3", "revisionName": "traffic-example-v3", "percent": 0},
            {"tag": "latest", "latestRevision": true, "percent": 10}
        ]);
        assert_eq!(traffic_of(&file), seed_after, "{name}");
        // Everything but the traffic is as it was.
        let mut expected = configuration.clone();
        expected["services"][0]["traffic"] = seed_after.clone();
        assert_eq!(configuration_of(&file), expected, "{name}");

        // A tag on a revision that has one already: a new 0% target; then
        // untagged, it goes.
        let out = edit(
            &file,
            &["tag", "traffic-example", "traffic-example-v3=candidate"],
        );
        assert!(
            out.contains("  tag candidate: added, traffic-example-v3\n"),
            "{name}: {out}"
        );
        assert_eq!(
            traffic_of(&file)[4],
            json!({"tag": "candidate", "revisionName": "traffic-example-v3", "percent": 0}),
            "{name}"
        );
        let out = edit(&file, &["untag", "traffic-example", "candidate"]);
        assert!(
            out.contains("  tag candidate: removed (was traffic-example-v3)\n"),
            "{name}: {out}"
        );
        assert_eq!(traffic_of(&file), seed_after, "{name}");

        // A timed rollout to a new revision, then stopped half way: the
        // split in force is kept as revisions' percents.
        let out = edit(
            &file,
            &[
                "rollout",
                "start",
                "traffic-example",
                "--to",
                "traffic-example-v4",
                "--duration",
                "10m",
                "--start",
                "2026-01-01T00:00:00Z",
            ],
        );
        assert!(
            out.contains(
                "  timed rollout: from traffic-example-v3 to traffic-example-v4 over 10m, \
                 starting 2026-01-01T00:00:00Z\n"
            ),
            "{name}: {out}"
        );
        assert!(
            out.contains("note: traffic-example-v4 is new to this service"),
            "{name}: {out}"
        );
        let service = &configuration_of(&file)["services"][0];
        assert_eq!(
            service["latestReadyRevisionName"], "traffic-example-v4",
            "{name}"
        );
        assert_eq!(
            service["rollout"],
            json!({"fromRevisionName": "traffic-example-v3", "start": "2026-01-01T00:00:00Z", "duration": "10m"}),
            "{name}"
        );
        // Knative's steps for the latest-following 10% over 10 minutes: 1%
        // at the start, then 9 steps of 1% every 66.6 s, so at 5:00 the new
        // revision has 5% of it.
        edit(
            &file,
            &[
                "rollout",
                "stop",
                "traffic-example",
                "--at",
                "2026-01-01T00:05:00Z",
            ],
        );
        let service = &configuration_of(&file)["services"][0];
        assert_eq!(service.get("rollout"), None, "{name}");
        assert_eq!(
            service["traffic"],
            json!([
                {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 70},
                {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 20},
                {"tag": "v3", "revisionName": "traffic-example-v3", "percent": 0},
                {"tag": "latest", "latestRevision": true, "percent": 0},
                {"revisionName": "traffic-example-v3", "percent": 5},
                {"revisionName": "traffic-example-v4", "percent": 5}
            ]),
            "{name}"
        );

        // Started again and finished: the rollout goes, latest has its share.
        edit(
            &file,
            &["set-traffic", "traffic-example", "v1=90", "@latest=10"],
        );
        edit(
            &file,
            &[
                "rollout",
                "start",
                "traffic-example",
                "--to",
                "traffic-example-v5",
                "--duration",
                "1h",
                "--steps",
                "5",
            ],
        );
        assert_eq!(
            configuration_of(&file)["services"][0]["rollout"]["steps"],
            5,
            "{name}"
        );
        edit(&file, &["rollout", "finish", "traffic-example"]);
        assert_eq!(
            configuration_of(&file)["services"][0].get("rollout"),
            None,
            "{name}"
        );

        // A rollback: everything to v1, the tags kept at 0%.
        let out = edit(&file, &["rollback", "traffic-example", "v1"]);
        assert!(out.contains("traffic-example-v1"), "{out}");
        assert_eq!(
            traffic_of(&file),
            json!([
                {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 100},
                {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 0},
                {"tag": "v3", "revisionName": "traffic-example-v3", "percent": 0},
                {"tag": "latest", "latestRevision": true, "percent": 0}
            ]),
            "{name}"
        );
    }
}

#[test]
fn a_refused_change_writes_nothing() {
    let dir = scratch_dir("edit-refused");
    let file = dir.join("envoy.yaml");
    fs::copy(repo().join("envoy/envoy.yaml"), &file).unwrap();
    let before = fs::read(&file).unwrap();
    let path = file.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "set-traffic",
                "-f",
                path,
                "traffic-example",
                "v1=80",
                "v2=10",
            ],
            "default/traffic-example: given traffic percents sum to 90, want 100\n",
        ),
        (
            &["set-traffic", "-f", path, "nope", "v1=100"],
            ": no service nope; the configuration has default/traffic-example\n",
        ),
        (
            &["untag", "-f", path, "traffic-example", "v9"],
            "tag(s) v9 not present for any revisions of service traffic-example\n",
        ),
        (
            &["rollback", "-f", path, "traffic-example", "v9"],
            "v9 is neither a tag nor a revision of this service's traffic\n",
        ),
        (
            &["rollout", "stop", "-f", path, "traffic-example"],
            "default/traffic-example: has no timed rollout\n",
        ),
        (
            &["guard", "resume", "-f", path, "traffic-example"],
            "default/traffic-example: has no guard\n",
        ),
    ];
    for (args, message) in cases {
        let o = run(args);
        assert_eq!(o.status, 1, "{args:?}: {}", o.stderr);
        assert!(o.stderr.ends_with(message), "{args:?}: {}", o.stderr);
        assert_eq!(
            fs::read(&file).unwrap(),
            before,
            "{args:?} changed the file"
        );
    }
    // The filter's own rules refuse a tag that is no DNS label.
    let o = run(&[
        "tag",
        "-f",
        path,
        "traffic-example",
        "traffic-example-v1=Bad_Tag",
    ]);
    assert_eq!(o.status, 1);
    assert!(
        o.stderr
            .contains("the change is refused, nothing was written"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("Bad_Tag"), "{}", o.stderr);
    assert_eq!(fs::read(&file).unwrap(), before);
    // A dry run shows the change and writes nothing.
    let o = run(&[
        "set-traffic",
        "-f",
        path,
        "--dry-run",
        "traffic-example",
        "v1=100",
    ]);
    assert_eq!(o.status, 0);
    assert!(o.stdout.contains("80% -> 100%"), "{}", o.stdout);
    assert!(o
        .stdout
        .ends_with(&format!("dry run: {path} was not changed\n")));
    assert_eq!(fs::read(&file).unwrap(), before);
    // No temporary file is left beside it.
    assert_eq!(fs::read_dir(&*dir).unwrap().count(), 1);
}

/// Each form of [`forms`], its service given a guard on v3 in the form's
/// own way of writing it, and the configuration they hold.
fn guarded_forms(dir: &Path) -> (Vec<PathBuf>, Value) {
    let paths = forms(dir);
    let mut configuration = shipped_configuration();
    configuration["services"][0]["guard"] = json!({"tag": "v3"});
    let pretty = serde_json::to_string_pretty(&configuration).unwrap();
    for path in &paths {
        let text = fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let guarded = match name {
            "traffic.json" => pretty.clone() + "\n",
            "traffic.yaml" => format!(
                "# The traffic configuration, as YAML.\n{}",
                serde_yaml::to_string(&configuration).unwrap()
            ),
            // The member after `traffic`, in the block's own layout.
            "envoy.yaml" => {
                let traffic = text.find("\"traffic\": [").unwrap();
                let close = traffic + text[traffic..].find("]\n").unwrap();
                let line_start = text[..close].rfind('\n').unwrap() + 1;
                let indent = &text[line_start..close];
                format!(
                    "{}],\n{indent}\"guard\": {{ \"tag\": \"v3\" }}\n{}",
                    &text[..close],
                    &text[close + 2..]
                )
            }
            // The service is the mapping's last, its traffic its last key.
            "wasmplugin.yaml" => {
                assert!(text.ends_with("        percent: 0\n"), "{text}");
                format!("{text}      guard:\n        tag: v3\n")
            }
            "ecds.yaml" => {
                let (head, _) = text.split_once("        value: |\n").unwrap();
                let block: String = pretty.lines().map(|l| format!("          {l}\n")).collect();
                format!("{head}        value: |\n{block}")
            }
            "ecds.json" => {
                let mut resource: Value = serde_json::from_str(&text).unwrap();
                resource["resources"][0]["typed_config"]["config"]["configuration"]["value"] =
                    json!(pretty);
                serde_json::to_string_pretty(&resource).unwrap()
            }
            other => panic!("a form without a guard: {other}"),
        };
        fs::write(path, guarded).unwrap();
        assert_eq!(configuration_of(path), configuration, "{name}");
    }
    (paths, configuration)
}

/// `guard resume` writes the guard's resumedAt, to the second, and only
/// that: the file reads back as the configuration with it, and compiles.
#[test]
fn guard_resume_on_every_form() {
    let dir = scratch_dir("edit-guard");
    let (paths, configuration) = guarded_forms(&dir);
    for file in paths {
        let name = file.display().to_string();
        let split = "  traffic-example-v1             80%\n  \
                     traffic-example-v2             10%\n  \
                     traffic-example-v3             10%\n  \
                     @latest (traffic-example-v3)    0%\n";
        let out = edit(
            &file,
            &[
                "guard",
                "resume",
                "traffic-example",
                "--at",
                "2026-12-02T12:00:00.750Z",
            ],
        );
        assert_eq!(
            out,
            format!(
                "{name}: default/traffic-example\n{split}  \
                 guard: resumed at 2026-12-02T12:00:00Z\nwrote {name}\n"
            )
        );
        let mut expected = configuration.clone();
        expected["services"][0]["guard"]["resumedAt"] = json!("2026-12-02T12:00:00Z");
        assert_eq!(configuration_of(&file), expected, "{name}");

        // Again, later: the earlier instant is replaced.
        let out = edit(
            &file,
            &[
                "guard",
                "resume",
                "default/traffic-example",
                "--at",
                "2026-12-02T13:30:00Z",
            ],
        );
        assert!(
            out.contains("  guard: resumed at 2026-12-02T13:30:00Z (was 2026-12-02T12:00:00Z)\n"),
            "{name}: {out}"
        );
        expected["services"][0]["guard"]["resumedAt"] = json!("2026-12-02T13:30:00Z");
        assert_eq!(configuration_of(&file), expected, "{name}");

        // The same instant again would leave the text, and so the verdict,
        // as it is: refused, nothing written.
        let before = fs::read(&file).unwrap();
        let o = run(&[
            "guard",
            "resume",
            "-f",
            file.to_str().unwrap(),
            "traffic-example",
            "--at",
            "2026-12-02T13:30:00Z",
        ]);
        assert_eq!(o.status, 1, "{name}: {o:?}");
        assert_eq!(
            o.stderr,
            format!(
                "{name}: default/traffic-example: its guard was already resumed at 2026-12-02T13:30:00Z: the configuration would not change, and a verdict holds until it does; give a later --at\n"
            )
        );
        assert_eq!(fs::read(&file).unwrap(), before, "{name}");
    }
}

/// Without --at, now, to the second; --dry-run writes nothing.
#[test]
fn guard_resume_now_and_dry_run() {
    let dir = scratch_dir("edit-guard-now");
    let (paths, _) = guarded_forms(&dir);
    let file = &paths[0];
    let before = fs::read(file).unwrap();
    let o = run(&[
        "guard",
        "resume",
        "--dry-run",
        "-f",
        file.to_str().unwrap(),
        "traffic-example",
        "--at",
        "2026-12-02T12:00:00Z",
    ]);
    assert_eq!(o.status, 0, "{o:?}");
    assert!(
        o.stdout
            .contains("  guard: resumed at 2026-12-02T12:00:00Z\ndry run: "),
        "{}",
        o.stdout
    );
    assert_eq!(fs::read(file).unwrap(), before);

    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    edit(file, &["guard", "resume", "traffic-example"]);
    let resumed = configuration_of(file)["services"][0]["guard"]["resumedAt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!resumed.contains('.'), "whole seconds: {resumed}");
    let at = knative_traffic::time::parse_instant(&resumed).unwrap();
    assert!(
        at <= start + 5_000 && at + 1_000 > start,
        "{resumed} is not now"
    );
}

/// The bootstrap whose two listeners share one configuration through a YAML
/// anchor: the anchored block is edited, and both listeners have the change.
#[test]
fn a_configuration_shared_by_an_anchor_is_edited_once() {
    let dir = scratch_dir("edit-anchor");
    let file = dir.join("public-and-internal.yaml");
    fs::copy(repo().join("envoy/public-and-internal.yaml"), &file).unwrap();
    let out = edit(&file, &["set-traffic", "traffic-example", "v2=100"]);
    assert!(out.contains("20% -> 100%"), "{out}");
    let text = fs::read_to_string(&file).unwrap();
    assert_eq!(text.matches("*configuration").count(), 1);
    assert_eq!(traffic_of(&file)[1]["percent"], 100);
}

#[test]
fn standard_input_in_standard_output_out() {
    let text = fs::read_to_string(repo().join("istio/wasmplugin.yaml")).unwrap();
    let o = run_with_stdin(
        &[
            "set-traffic",
            "-f",
            "-",
            "default/traffic-example",
            "v1=100",
        ],
        &text,
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert!(
        o.stderr.starts_with("<stdin>: default/traffic-example\n"),
        "{}",
        o.stderr
    );
    assert_eq!(lost_lines(&text, &o.stdout).len(), 3, "{}", o.stdout);
    assert!(o.stdout.contains("        percent: 100\n"), "{}", o.stdout);
}

#[test]
fn the_file_may_be_named_by_the_environment() {
    let dir = scratch_dir("edit-env");
    let file = dir.join("envoy.yaml");
    fs::copy(repo().join("envoy/envoy.yaml"), &file).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_knative-traffic"))
        .args(["set-traffic", "traffic-example", "v2=100"])
        .env("KNATIVE_TRAFFIC_FILE", &file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(traffic_of(&file)[1]["percent"], 100);
}

/// A guard without a candidate guards the timed rollout: ending the rollout
/// (stop, finish, rollback) ends that guard too, with a note.
#[test]
fn ending_a_rollout_ends_its_default_guard() {
    for command in [
        vec!["rollout", "finish", "traffic-example"],
        vec![
            "rollout",
            "stop",
            "traffic-example",
            "--at",
            "2026-01-01T00:05:00Z",
        ],
        vec!["rollback", "traffic-example", "v1"],
    ] {
        let dir = scratch_dir("edit-default-guard");
        let file = dir.join("traffic.json");
        let mut configuration = shipped_configuration();
        let service = &mut configuration["services"][0];
        service["traffic"][3]["percent"] = json!(10);
        service["traffic"][0]["percent"] = json!(70);
        service["latestReadyRevisionName"] = json!("traffic-example-v4");
        service["rollout"] = json!({"fromRevisionName": "traffic-example-v3", "start": "2026-01-01T00:00:00Z", "duration": "10m"});
        service["guard"] = json!({});
        fs::write(&file, serde_json::to_string_pretty(&configuration).unwrap()).unwrap();
        let out = edit(&file, &command);
        assert!(
            out.contains("note: the guard of the timed rollout went with it"),
            "{command:?}: {out}"
        );
        assert_eq!(
            configuration_of(&file)["services"][0].get("guard"),
            None,
            "{command:?}"
        );
    }
}

#[test]
fn guard_set_and_remove() {
    let dir = scratch_dir("edit-guard-set");
    for form in ["envoy/envoy.yaml", "istio/wasmplugin.yaml"] {
        let file = dir.join(Path::new(form).file_name().unwrap());
        fs::copy(repo().join(form), &file).unwrap();
        let out = edit(
            &file,
            &[
                "guard",
                "set",
                "traffic-example",
                "--tag",
                "v3",
                "--min-answers",
                "50",
                "--no-compare",
            ],
        );
        assert!(out.contains("  guard: added\n"), "{out}");
        assert_eq!(
            configuration_of(&file)["services"][0]["guard"],
            json!({"tag": "v3", "minAnswers": 50, "compare": false})
        );
        let out = edit(&file, &["guard", "remove", "traffic-example"]);
        assert!(out.contains("  guard: removed\n"), "{out}");
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            fs::read_to_string(repo().join(form)).unwrap()
        );
        let o = run(&[
            "guard",
            "remove",
            "-f",
            file.to_str().unwrap(),
            "traffic-example",
        ]);
        assert_eq!(o.status, 1);
        assert!(
            o.stderr
                .ends_with("default/traffic-example: has no guard\n"),
            "{}",
            o.stderr
        );
    }
    // A guard the filter refuses is not written.
    let file = dir.join("envoy.yaml");
    let o = run(&[
        "guard",
        "set",
        "-f",
        file.to_str().unwrap(),
        "traffic-example",
        "--tag",
        "nope",
    ]);
    assert_eq!(o.status, 1);
    assert!(
        o.stderr.contains("guard.tag: tag \"nope\" is not a tag"),
        "{}",
        o.stderr
    );
}
