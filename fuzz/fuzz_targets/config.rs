//! Any bytes as a configuration: compile must return a table or errors,
//! never panic, and an accepted table must route its own hosts.
#![no_main]

use knative_traffic::{compile, Request};
use libfuzzer_sys::fuzz_target;
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

struct NoHeaders;

impl Request for NoHeaders {
    fn header(&self, _: &str) -> Option<String> {
        None
    }
    fn now_ms(&self) -> u64 {
        1_764_086_400_000
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = compile(data) {
        let mut rng = XorShiftRng::seed_from_u64(1);
        for service in table.services() {
            let host = format!("{}.{}", service.name, service.namespace);
            let _ = table.route(&host, &NoHeaders, &mut rng);
            for (tag, _) in service.tags() {
                let _ = table.route(&format!("{tag}-{host}"), &NoHeaders, &mut rng);
            }
        }
    }
});
