//! Knative's host templates (config-network's `domain-template` and
//! `tag-template`): every host built by them, compiled once into the host
//! table, and a tag host whose tag does not exist still told apart where
//! the template allows.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::{decided, errors, request, table};
use knative_traffic::Reason;
use serde_json::{json, Value};

/// route `myroute` in `default`, domain example.com, tags target-1 and
/// target-2 (as Knative's TestGetAllDomainsAndTags has them).
fn config(domain_template: Option<&str>, tag_template: Option<&str>) -> Value {
    let mut config = json!({"domain": "example.com", "services": [
        {"name": "myroute", "namespace": "default", "traffic": [
            {"tag": "target-1", "revisionName": "myroute-1", "percent": 50},
            {"tag": "target-2", "revisionName": "myroute-2", "percent": 50}
        ]}
    ]});
    if let Some(t) = domain_template {
        config["domainTemplate"] = json!(t);
    }
    if let Some(t) = tag_template {
        config["tagTemplate"] = json!(t);
    }
    config
}

fn at(config: &Value, host: &str) -> Option<(String, Reason)> {
    decided(&table(config), host, &request(&[]), 1)
}

fn tag_host(revision: &str) -> Option<(String, Reason)> {
    Some((revision.to_owned(), Reason::TagHost))
}

/// TestGetAllDomainsAndTags: "happy case", "another happy case", "or
/// appengine style".
#[test]
fn tag_templates_make_the_tag_hosts() {
    for (template, host, unknown) in [
        (
            "{{.Name}}-{{.Tag}}",
            "myroute-target-1.default.example.com",
            "myroute-target-9.default.example.com",
        ),
        (
            "{{.Tag}}-{{.Name}}",
            "target-1-myroute.default.example.com",
            "target-9-myroute.default.example.com",
        ),
        (
            "{{.Tag}}-dot-{{.Name}}",
            "target-1-dot-myroute.default.example.com",
            "target-9-dot-myroute.default.example.com",
        ),
    ] {
        let c = config(None, Some(template));
        assert_eq!(at(&c, host), tag_host("myroute-1"), "{template}");
        assert_eq!(
            at(&c, unknown),
            Some(("404".into(), Reason::NotFound)),
            "{template}"
        );
        // The cluster-local forms take the tag template too.
        let local = host.replace(".example.com", ".svc.cluster.local");
        assert_eq!(at(&c, &local), tag_host("myroute-1"), "{template}");
        // The default's shape is no tag host under another template.
        if template != "{{.Tag}}-{{.Name}}" {
            assert_eq!(at(&c, "target-1-myroute.default.example.com"), None);
        }
    }
}

/// TestDomainNameFromTemplate: "Dash" and "Short", the templates of
/// clusters that use one wildcard certificate.
#[test]
fn domain_templates_make_the_external_hosts() {
    let dash = config(Some("{{.Name}}-{{.Namespace}}.{{.Domain}}"), None);
    let (_, reason) = at(&dash, "myroute-default.example.com").unwrap();
    assert_eq!(reason, Reason::Draw);
    assert_eq!(
        at(&dash, "target-2-myroute-default.example.com"),
        tag_host("myroute-2")
    );
    // Knative's own form is not this cluster's host; the cluster-local
    // forms are always Knative's.
    assert_eq!(at(&dash, "myroute.default.example.com"), None);
    assert_eq!(
        at(&dash, "target-2-myroute.default.svc"),
        tag_host("myroute-2")
    );
    let short = config(Some("{{.Name}}.{{.Domain}}"), Some("{{.Name}}-{{.Tag}}"));
    assert_eq!(
        at(&short, "myroute-target-1.example.com"),
        tag_host("myroute-1")
    );
    assert!(at(&short, "myroute.example.com").is_some());
    // The public hosts the tool lists come from the same templates.
    let document: knative_traffic::config::Document = serde_json::from_value(dash).unwrap();
    assert_eq!(
        knative_traffic::compile::public_hosts(&document, &document.services[0]),
        [
            "myroute-default.example.com",
            "target-1-myroute-default.example.com",
            "target-2-myroute-default.example.com"
        ]
    );
}

#[test]
fn template_errors() {
    // TestDomainNameFromTemplate "Too Short": one label is no host.
    assert_eq!(
        errors(&config(Some("{{.Name}}"), None)),
        [
            "services[0] (myroute): name \"myroute\": host \"myroute\" (by domainTemplate) has one label: a host needs at least two",
            "services[0] (myroute): traffic[0].tag \"target-1\": host \"target-1-myroute\" (by domainTemplate) has one label: a host needs at least two",
            "services[0] (myroute): traffic[1].tag \"target-2\": host \"target-2-myroute\" (by domainTemplate) has one label: a host needs at least two",
        ]
    );
    // "Invalid domain name": upper case.
    assert!(errors(&config(
        Some("{{.Name}}.{{.Namespace}}.{{.Domain}}.Foo"),
        None
    ))
    .iter()
    .all(|e| e.contains("is not a lower-case DNS name")));
    assert_eq!(
        errors(&config(Some("{{.Name}}.{{.NNNamespace}}.{{.Domain}}"), None)),
        ["domainTemplate: \"{{.Name}}.{{.NNNamespace}}.{{.Domain}}\" uses {{.NNNamespace}}, which is none of the fields Knative gives it: use {{.Name}}, {{.Namespace}} and {{.Domain}}"]
    );
    assert_eq!(
        errors(&config(None, Some("{{.NNName}}-{{.Tag}}"))),
        ["tagTemplate: \"{{.NNName}}-{{.Tag}}\" uses {{.NNName}}, which is none of the fields Knative gives it: use {{.Tag}} and {{.Name}}"]
    );
    // "bad domain name" of a tag template: Foo. makes more than one label,
    // and upper case.
    assert!(errors(&config(None, Some("Foo.{{.Name}}-{{.Tag}}")))[0]
        .starts_with("tagTemplate: \"Foo.{{.Name}}-{{.Tag}}\" gives \"Foo.foo-v2\""));
    // Templates without the name or the tag make hosts clash.
    assert_eq!(
        errors(&config(None, Some("x-{{.Name}}"))),
        ["services[0] (myroute): traffic[1].tag \"target-2\": host \"x-myroute.default.svc.cluster.local\" is already one of this service's hosts"]
    );
}
