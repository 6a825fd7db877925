//! Any request against a configuration with every feature: the input is
//! split into an authority and header values; route must return, never
//! panic, and a routed revision must belong to its service. The host lookups'
//! work is counted (the `count-work` feature) and must stay within
//! `hosts::resolve_work_limit`, linear in the authority's length; a count
//! catches a slow shape that libFuzzer's -timeout would let through.
#![no_main]

use std::sync::OnceLock;

use knative_traffic::fasthash::work;
use knative_traffic::hosts::resolve_work_limit;
use knative_traffic::request::PlainRequest;
use knative_traffic::{compile, Decision, RouteTable};
use libfuzzer_sys::fuzz_target;
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

const CONFIG: &str = r#"{
  "domain": "example.com",
  "routeResponseHeader": "x-route",
  "services": [
    {"name": "traffic-example", "namespace": "default",
     "latestReadyRevisionName": "traffic-example-v3",
     "traffic": [
       {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 80},
       {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 10},
       {"tag": "v3", "revisionName": "traffic-example-v3", "percent": 10},
       {"tag": "latest", "latestRevision": true, "percent": 0}],
     "rules": [{"header": "wid", "prefix": "a", "tag": "v1"},
               {"cookie": "beta", "exact": "yes", "tag": "v2"}],
     "sticky": {"cookie": "kn", "setCookie": true},
     "mirror": {"tag": "v3", "percent": 10}},
    {"name": "a-b", "namespace": "x-y", "latestReadyRevisionName": "a-b-3",
     "traffic": [{"tag": "c-d", "revisionName": "a-b-1", "percent": 50},
                 {"tag": "e", "latestRevision": true, "percent": 50}],
     "sticky": {"header": "x-user-id"},
     "rollout": {"fromRevisionName": "a-b-2", "start": "2026-11-25T16:00:00Z", "duration": "10m"},
     "customDomains": ["www.example.org", "*.example.net"], "customDomainTags": true}
  ]
}"#;

fn table() -> &'static RouteTable {
    static TABLE: OnceLock<RouteTable> = OnceLock::new();
    TABLE.get_or_init(|| compile(CONFIG.as_bytes()).expect("the fuzz configuration"))
}

/// The headers the configuration reads, in the order the input's lines
/// after the first give their values.
const HEADERS: [&str; 4] = ["knative-serving-tag", "cookie", "wid", "x-user-id"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\n');
    let authority = parts.next().unwrap_or_default();
    let now = 1_764_086_400_000 + (data.len() as u64 % 1_000) * 1_000;
    let mut rng = XorShiftRng::seed_from_u64(data.len() as u64);
    let request = HEADERS
        .iter()
        .zip(parts)
        .fold(PlainRequest::default().at(now), |r, (name, value)| {
            r.with_header(name, value)
        });
    let table = table();
    let (decision, work) = work::measure(|| table.route(authority, &request, &mut rng));
    let limit = resolve_work_limit(authority.len());
    assert!(
        work.within(&limit),
        "a {}-byte authority took {work:?}, over {limit:?}",
        authority.len()
    );
    if let Decision::Route(route) = decision {
        assert!(route
            .service
            .destinations
            .iter()
            .any(|d| std::ptr::eq(d, route.destination)));
        let _ = route.request_headers().count();
        let _ = route.response_headers();
    }
});
