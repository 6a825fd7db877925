//! Every command that reads a configuration reads it where it lives: a JSON
//! or YAML file, the Wasm filter's `configuration` in an Envoy config or an
//! ECDS resource file, or a WasmPlugin's `pluginConfig` (alone, or in a
//! stream of manifests). The files are the repository's own.

// Tests report by panicking.
#![allow(clippy::restriction)]

#[path = "../../tests/support/mod.rs"]
mod support;
mod tool;

use std::fs;

use support::{repo, scratch_dir};
use tool::Run;

/// Runs the tool in the repository, so messages name its files as given.
fn tool(args: &[&str]) -> Run {
    tool::run_in(repo(), args, "")
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
            o.stdout,
            format!("{file}: ok ({summary})\n"),
            "{}",
            o.stderr
        );
    }
}

#[test]
fn a_yaml_configuration_is_read_as_its_json() {
    let dir = scratch_dir("forms-yaml");
    let yaml = dir.join("traffic.yaml");
    fs::write(
        &yaml,
        "# comments are fine\n\
         services:\n\
         - name: web\n  namespace: ns\n  traffic:\n  - revisionName: web-1\n    percent: 100\n",
    )
    .unwrap();
    let o = tool(&["validate", yaml.to_str().unwrap()]);
    assert_eq!(o.status, 0, "{}", o.stderr);
    // Its errors are the filter's, with the suggestions.
    fs::write(
        &yaml,
        "services:\n- name: web\n  namespace: ns\n  trafic: []\n",
    )
    .unwrap();
    let o = tool(&["validate", yaml.to_str().unwrap()]);
    assert_eq!(o.status, 1);
    assert_eq!(
        o.stderr,
        format!(
            "{}: services[0] (web): unknown field `trafic`, did you mean `traffic`?\n",
            yaml.display()
        )
    );
}

#[test]
fn an_envoy_config_with_a_bad_configuration_gets_the_filters_message() {
    let dir = scratch_dir("forms-bad-envoy");
    let file = dir.join("envoy.yaml");
    let text = fs::read_to_string(repo().join("envoy/envoy.yaml")).unwrap();
    fs::write(
        &file,
        text.replacen("\"percent\": 80", "\"percent\": 70", 1),
    )
    .unwrap();
    let o = tool(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status, 1);
    assert_eq!(
        o.stderr,
        format!(
            "{}: services[0] (traffic-example): traffic percents sum to 90, want 100\n",
            file.display()
        )
    );
}

#[test]
fn a_file_without_a_configuration_says_what_was_looked_for() {
    let o = tool(&["validate", "istio/virtualservice.yaml"]);
    assert_eq!(o.status, 1);
    assert!(
        o.stderr.starts_with(
            "istio/virtualservice.yaml: no knative-traffic configuration found: expected"
        ),
        "{}",
        o.stderr
    );
}

#[test]
fn two_different_configurations_in_one_file_are_refused() {
    let dir = scratch_dir("forms-two");
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
    assert_eq!(o.status, 1);
    assert_eq!(
        o.stderr,
        format!(
            "{}: 2 Wasm filters with different configurations; keep one per file\n",
            file.display()
        )
    );
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
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert!(o.stdout.contains("traffic-example-v2"));
    let from_bootstrap = tool(&["istio", "envoy/envoy.yaml"]);
    let from_plugin = tool(&["istio", "istio/wasmplugin.yaml"]);
    assert_eq!(from_bootstrap.status, 0, "{}", from_bootstrap.stderr);
    assert_eq!(from_bootstrap.stdout, from_plugin.stdout);
}
