//! Visibility, as Knative's `networking.knative.dev/visibility` label gives
//! it: a cluster-local service, or tag, has only its cluster-local hosts;
//! and a filter instance serves one side of Knative's two gateways (or
//! both), so that a public listener routes no cluster-local name.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::{decided, errors, request};
use knative_traffic::compile::compile_for;
use knative_traffic::hosts::Side;
use knative_traffic::{Reason, RouteTable};
use serde_json::{json, Value};

/// web (public) with tags `blue` (public) and `green` (cluster-local), and
/// api (cluster-local), in default, domain example.com.
fn config() -> Value {
    json!({"domain": "example.com", "services": [
        {"name": "web", "namespace": "default", "traffic": [
            {"tag": "blue", "revisionName": "web-1", "percent": 50},
            {"tag": "green", "revisionName": "web-2", "percent": 50, "visibility": "cluster-local"}
        ]},
        {"name": "api", "namespace": "default", "visibility": "cluster-local", "traffic": [
            {"tag": "v1", "revisionName": "api-1", "percent": 100}
        ]}
    ]})
}

fn table(side: Side) -> RouteTable {
    compile_for(config().to_string().as_bytes(), side).unwrap()
}

fn at(t: &RouteTable, host: &str) -> Option<(String, Reason)> {
    decided(t, host, &request(&[]), 1)
}

fn routed(revision: &str, reason: Reason) -> Option<(String, Reason)> {
    Some((revision.to_owned(), reason))
}

/// visibility_test.go TestVisibility "two tags blue marked local": the
/// default target and the other tag stay public; and e2e
/// TestSubrouteVisibilityPublicToPrivate: the cluster-local tag is reached
/// at its cluster-local hosts only.
#[test]
fn a_cluster_local_tag_has_no_public_host() {
    let public = table(Side::Public);
    assert_eq!(
        at(&public, "blue-web.default.example.com"),
        routed("web-1", Reason::TagHost)
    );
    // The green tag's external host has the shape of an unknown tag's host.
    assert_eq!(
        at(&public, "green-web.default.example.com"),
        Some(("404".into(), Reason::NotFound))
    );
    let local = table(Side::ClusterLocal);
    for host in [
        "green-web.default",
        "green-web.default.svc",
        "green-web.default.svc.cluster.local",
    ] {
        assert_eq!(at(&local, host), routed("web-2", Reason::TagHost), "{host}");
    }
    assert_eq!(at(&local, "green-web.default.example.com"), None);
}

/// TestVisibility "no tag, route marked local": the service and every tag
/// of it are cluster-local.
#[test]
fn a_cluster_local_service_has_no_public_host() {
    let public = table(Side::Public);
    for host in ["api.default.example.com", "v1-api.default.example.com"] {
        assert_eq!(at(&public, host), None, "{host}");
    }
    let local = table(Side::ClusterLocal);
    assert_eq!(
        at(&local, "api.default.svc.cluster.local"),
        routed("api-1", Reason::Draw)
    );
    assert_eq!(
        at(&local, "v1-api.default"),
        routed("api-1", Reason::TagHost)
    );
}

/// Knative serves every target's cluster-local names on its cluster-local
/// gateway only (net-istio's knative-local-gateway): a public side routes
/// none of them, a cluster-local side no external host, and both sides
/// everything.
#[test]
fn a_side_serves_only_its_gateways_hosts() {
    let public = table(Side::Public);
    for host in [
        "web.default",
        "web.default.svc",
        "web.default.svc.cluster.local",
        "blue-web.default.svc.cluster.local",
    ] {
        assert_eq!(at(&public, host), None, "{host}");
    }
    let local = table(Side::ClusterLocal);
    assert_eq!(at(&local, "web.default.example.com"), None);
    let (_, reason) = at(&local, "web.default.svc").unwrap();
    assert_eq!(reason, Reason::Draw);
    let both = table(Side::Both);
    assert!(at(&both, "web.default.example.com").is_some());
    assert!(at(&both, "green-web.default.svc").is_some());
    assert!(at(&both, "api.default").is_some());
    assert_eq!(at(&both, "api.default.example.com"), None);
}

#[test]
fn the_tag_header_and_rules_reach_no_cluster_local_tag_on_the_public_side() {
    let mut config = config();
    config["services"][0]["rules"] =
        json!([{"header": "x-green", "present": true, "tag": "green"}]);
    let public = compile_for(config.to_string().as_bytes(), Side::Public).unwrap();
    for headers in [[("knative-serving-tag", "green")], [("x-green", "yes")]] {
        let (_, reason) =
            decided(&public, "web.default.example.com", &request(&headers), 1).unwrap();
        assert_eq!(reason, Reason::Draw, "{headers:?}");
    }
    let local = compile_for(config.to_string().as_bytes(), Side::ClusterLocal).unwrap();
    assert_eq!(
        decided(
            &local,
            "web.default",
            &request(&[("knative-serving-tag", "green")]),
            1
        ),
        routed("web-2", Reason::TagHeader)
    );
}

#[test]
fn an_instance_names_its_side() {
    assert_eq!(Side::from_instance_name("knative-traffic"), Side::Public);
    assert_eq!(
        Side::from_instance_name("knative-traffic.public"),
        Side::Public
    );
    assert_eq!(
        Side::from_instance_name("knative-traffic.cluster-local"),
        Side::ClusterLocal
    );
    assert_eq!(Side::from_instance_name("knative-traffic.both"), Side::Both);
    assert_eq!(Side::from_instance_name(""), Side::Public);
}

#[test]
fn visibility_errors() {
    let prefix = "services[0] (web): ";
    let untagged = json!({"services": [{"name": "web", "namespace": "ns", "traffic": [
        {"revisionName": "web-1", "percent": 100, "visibility": "cluster-local"}
    ]}]});
    assert_eq!(
        errors(&untagged),
        [format!("{prefix}traffic[0]: visibility applies to a tag's hosts: give the target a tag, or set the service's visibility")]
    );
    let custom = json!({"services": [{"name": "web", "namespace": "ns", "visibility": "cluster-local",
        "traffic": [{"revisionName": "web-1", "percent": 100}],
        "customDomains": ["www.example.org"]}]});
    assert_eq!(
        errors(&custom),
        [format!("{prefix}customDomains[0]: \"www.example.org\": a cluster-local service has no public hosts (its visibility); a custom domain is one")]
    );
    let bad = json!({"services": [{"name": "web", "namespace": "ns", "visibility": "internal",
        "traffic": [{"revisionName": "web-1", "percent": 100}]}]});
    assert_eq!(
        errors(&bad),
        [format!(
            "{prefix}visibility: unknown variant `internal`, expected `public` or `cluster-local`"
        )]
    );
}

/// What the tool lists as public hosts leaves cluster-local services and
/// tags out, as the table does.
#[test]
fn public_hosts_leave_cluster_local_names_out() {
    let document: knative_traffic::config::Document = serde_json::from_value(config()).unwrap();
    let hosts = |i: usize| knative_traffic::compile::public_hosts(&document, &document.services[i]);
    assert_eq!(
        hosts(0),
        ["web.default.example.com", "blue-web.default.example.com"]
    );
    assert!(hosts(1).is_empty());
}
