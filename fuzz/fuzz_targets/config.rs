//! Any bytes as a configuration: compile must return a table or errors,
//! never panic, and an accepted table must route its own hosts.
#![no_main]

use knative_traffic::compile;
use knative_traffic::request::PlainRequest;
use libfuzzer_sys::fuzz_target;
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = compile(data) {
        let mut rng = XorShiftRng::seed_from_u64(1);
        let no_headers = PlainRequest::default().at(1_764_086_400_000);
        for service in table.services() {
            let host = format!("{}.{}", service.name, service.namespace);
            let _ = table.route(&host, &no_headers, &mut rng);
            for (tag, _) in service.tags() {
                let _ = table.route(&format!("{tag}-{host}"), &no_headers, &mut rng);
            }
        }
    }
});
