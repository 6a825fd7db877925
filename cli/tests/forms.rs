//! Every command that reads a configuration reads it where it lives: a JSON
//! or YAML file, the Wasm filter's `configuration` in an Envoy config or an
//! ECDS resource file, or a WasmPlugin's `pluginConfig` (alone, or in a
//! stream of manifests). The files are the repository's own.

// Tests report by panicking.
#![allow(clippy::restriction)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knative-traffic"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run knative-traffic")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "knative-traffic-forms-{}-{label}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn validate_reads_every_form() {
    for (file, summary) in [
        ("envoy/envoy.yaml", "1 service, 3 revisions, 4 tags"),
        (
            "envoy/public-and-internal.yaml",
            "1 service, 3 revisions, 3 tags",
        ),
        (
            "envoy/ecds/knative-traffic.yaml",
            "1 service, 3 revisions, 3 tags",
        ),
        ("istio/wasmplugin.yaml", "1 service, 3 revisions, 4 tags"),
        (
            "istio/examples/helloworld-go.yaml",
            "1 service, 2 revisions, 2 tags, 1 mirror",
        ),
        (
            "deploy/istio/wasmplugin.yaml",
            "1 service, 3 revisions, 4 tags",
        ),
        (
            "istio/examples/helloworld-go.json",
            "1 service, 2 revisions, 2 tags, 1 mirror",
        ),
    ] {
        let o = tool(&["validate", file]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            format!("{file}: ok ({summary})\n"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn a_yaml_configuration_is_read_as_its_json() {
    let dir = scratch("yaml");
    let yaml = dir.join("traffic.yaml");
    fs::write(
        &yaml,
        "# comments are fine\n\
         services:\n\
         - name: web\n  namespace: ns\n  traffic:\n  - revisionName: web-1\n    percent: 100\n",
    )
    .unwrap();
    let o = tool(&["validate", yaml.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Its errors are the filter's, with the suggestions.
    fs::write(
        &yaml,
        "services:\n- name: web\n  namespace: ns\n  trafic: []\n",
    )
    .unwrap();
    let o = tool(&["validate", yaml.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "{}: services[0] (web): unknown field `trafic`, did you mean `traffic`?\n",
            yaml.display()
        )
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_envoy_config_with_a_bad_configuration_gets_the_filters_message() {
    let dir = scratch("bad-envoy");
    let file = dir.join("envoy.yaml");
    let text = fs::read_to_string(repo().join("envoy/envoy.yaml")).unwrap();
    fs::write(
        &file,
        text.replacen("\"percent\": 80", "\"percent\": 70", 1),
    )
    .unwrap();
    let o = tool(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "{}: services[0] (traffic-example): traffic percents sum to 90, want 100\n",
            file.display()
        )
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_without_a_configuration_says_what_was_looked_for() {
    let o = tool(&["validate", "istio/virtualservice.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with(
            "istio/virtualservice.yaml: no knative-traffic configuration found: expected"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn two_different_configurations_in_one_file_are_refused() {
    let dir = scratch("two");
    let file = dir.join("envoy.yaml");
    let text = fs::read_to_string(repo().join("envoy/public-and-internal.yaml")).unwrap();
    // The internal listener gets a configuration of its own.
    let own = text.replace(
        "configuration: *configuration",
        "configuration:\n                  \"@type\": type.googleapis.com/google.protobuf.StringValue\n                  value: '{\"services\": []}'",
    );
    assert_ne!(own, text);
    fs::write(&file, own).unwrap();
    let o = tool(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "{}: 2 Wasm filters with different configurations; keep one per file\n",
            file.display()
        )
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn simulate_and_istio_read_an_envoy_config() {
    let o = tool(&[
        "simulate",
        "envoy/envoy.yaml",
        "--host",
        "v2-traffic-example.default.example.com",
        "--requests",
        "10",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("traffic-example-v2"));
    let from_bootstrap = tool(&["istio", "envoy/envoy.yaml"]);
    let from_plugin = tool(&["istio", "istio/wasmplugin.yaml"]);
    assert!(
        from_bootstrap.status.success(),
        "{}",
        stderr(&from_bootstrap)
    );
    assert_eq!(
        String::from_utf8_lossy(&from_bootstrap.stdout),
        String::from_utf8_lossy(&from_plugin.stdout)
    );
}
