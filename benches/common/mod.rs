//! Configurations and requests shared by the benchmarks: `n` services in 100
//! namespaces, five revisions each split 40/30/15/10/5 with a tag per
//! revision, optionally with a header rule and header stickiness.

#![allow(dead_code)] // each benchmark uses its own part

use serde_json::{json, Value};

pub const DOMAIN: &str = "example.com";
pub const PERCENTS: [u32; 5] = [40, 30, 15, 10, 5];

/// What each generated service configures beyond Knative's own fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Features {
    /// Knative's model only: split and tags.
    Plain,
    /// Plus a header rule (`x-canary: yes` → tag `t5`) and stickiness on the
    /// `x-user-id` header.
    RulesAndSticky,
}

pub fn service_name(i: usize) -> String {
    format!("svc-{i}")
}

pub fn namespace(i: usize) -> String {
    format!("ns-{}", i % 100)
}

/// The service's own host.
pub fn host(i: usize) -> String {
    format!("{}.{}.{DOMAIN}", service_name(i), namespace(i))
}

/// The host of the service's tag `t{t}`.
pub fn tag_host(i: usize, t: usize) -> String {
    format!("t{t}-{}.{}.{DOMAIN}", service_name(i), namespace(i))
}

pub fn service(i: usize, features: Features) -> Value {
    let name = service_name(i);
    let traffic: Vec<Value> = PERCENTS
        .iter()
        .enumerate()
        .map(|(r, p)| {
            json!({"tag": format!("t{}", r + 1), "revisionName": format!("{name}-0000{}", r + 1), "percent": p})
        })
        .collect();
    let mut service = json!({
        "name": name,
        "namespace": namespace(i),
        "traffic": traffic,
    });
    if features == Features::RulesAndSticky {
        service["rules"] = json!([{"header": "x-canary", "exact": "yes", "tag": "t5"}]);
        service["sticky"] = json!({"header": "x-user-id"});
    }
    service
}

/// The filter configuration of `n` services.
pub fn config(n: usize, features: Features) -> Value {
    json!({
        "domain": DOMAIN,
        "services": (0..n).map(|i| service(i, features)).collect::<Vec<_>>(),
    })
}
