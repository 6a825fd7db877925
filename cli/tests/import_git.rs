//! `import-knative` on Service manifests as kept in git: YAML, several
//! objects in one file, no status. `--domain` gives the host's domain and
//! the template's revision name is the latest revision.

// Tests report by panicking.
#![allow(clippy::restriction)]

#[path = "../../tests/support/mod.rs"]
mod support;
mod tool;

use serde_json::{json, Value};
use tool::{run, run_with_stdin};

#[test]
fn manifests_from_git_import_with_the_domain_given() {
    let file = "git/services.yaml";
    let o = run(&["import-knative", file, "--domain", "example.com"]);
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        format!(
            "warning: {file}: documents[1]: ConfigMap is not a Knative Service; skipped\n\
             warning: {file}: documents[0] default/traffic-example: serving.knative.dev/rollout-duration is \"10m\": \
             no rollout is in progress, and the filter keeps no history: when a new revision is ready, give the \
             service a `rollout` from the one it replaces\n"
        )
    );
    let configuration: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        configuration,
        json!({"services": [
            {
                "name": "traffic-example",
                "namespace": "default",
                "domain": "example.com",
                "latestReadyRevisionName": "traffic-example-v3",
                "traffic": [
                    {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 80},
                    {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 20},
                    {"tag": "latest", "latestRevision": true, "percent": 0}
                ]
            },
            {
                "name": "backend",
                "namespace": "default",
                "domain": "svc.cluster.local",
                "visibility": "cluster-local",
                "latestReadyRevisionName": "backend-00007",
                "traffic": [{"latestRevision": true, "percent": 100}]
            }
        ]})
    );
    // The filter takes it.
    let table = knative_traffic::compile(o.stdout.as_bytes()).unwrap();
    assert_eq!(table.services().len(), 2);
}

#[test]
fn without_status_the_domain_and_the_revision_must_be_known() {
    let o = run(&["import-knative", "git/services.yaml"]);
    assert_eq!(o.status, 1);
    assert!(
        o.stderr.contains(
            "documents[0] default/traffic-example: status.url is missing: the Service has no \
             status (a manifest from git, or not reconciled yet), so its host and domain are \
             unknown; pass --domain"
        ),
        "{}",
        o.stderr
    );
    // A template without a name: Knative names the revision, so the
    // manifest does not say which is the latest.
    let manifest = "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: web\n  \
                    namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n      - image: web\n";
    let o = run_with_stdin(
        &["import-knative", "-", "--domain", "example.com"],
        manifest,
    );
    assert_eq!(o.status, 1);
    assert_eq!(
        o.stderr,
        "<stdin>: shop/web: spec.traffic is empty (100% to the latest revision), but the Service \
         has no status and spec.template.metadata.name is not set: Knative names the revision \
         itself ({name}-00001, …), so the manifest does not say which revision is the latest; \
         name it in spec.template.metadata.name, or name every target's revisionName\n"
    );
}
