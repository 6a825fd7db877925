//! An edit command on a live Envoy's ECDS resource file: `set-traffic`
//! rewrites `envoy/ecds/knative-traffic.yaml` (a copy, in its own
//! directory) while requests flow, and every installed Envoy routes by the
//! new split within a bound, with no request failing on the way.

// Tests report by panicking.
#![allow(clippy::restriction)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{assert_binomial, http, Backend, Envoy, EnvoyConfig};

/// How long Envoy may take to apply a replaced ECDS file: it watches the
/// file's directory and reloads on the rename, which takes well under a
/// second here; the bound leaves room for a loaded machine.
const PICKED_UP_WITHIN: Duration = Duration::from_secs(10);

const HOST: &str = "traffic-example.default.example.com";

fn revision(port: u16) -> String {
    let r = http(port, "GET", "/", &[("host", HOST)]).expect("request through Envoy");
    assert_eq!(r.status, 200, "{r:?}");
    r.revision().unwrap_or_else(|| panic!("{r:?}")).to_owned()
}

#[test]
fn set_traffic_on_the_ecds_file_reroutes_a_live_envoy() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    let clusters = support::clusters("traffic-example-", &revisions);
    for bin in support::envoys() {
        let dir = support::scratch_dir("edit-ecds");
        // The shipped resource file, its module path made absolute.
        let shipped = fs::read_to_string(support::repo().join("envoy/ecds/knative-traffic.yaml"))
            .expect("the ECDS resource file");
        let wasm = support::wasm();
        let text = shipped.replace(
            "filename: dist/knative_traffic.wasm",
            &format!("filename: {}", wasm.display()),
        );
        assert_ne!(
            text, shipped,
            "the ECDS file no longer names dist/knative_traffic.wasm"
        );
        let file = dir.join("knative-traffic.yaml");
        fs::write(&file, &text).unwrap();
        let mut config = EnvoyConfig::from_repo("envoy/ecds/envoy.yaml");
        config.set_ecds_path(&file).set_clusters(&clusters);
        let envoy = Envoy::start(&bin, config);
        let v = envoy.version.clone();

        // The shipped file sends everything to v1.
        for _ in 0..20 {
            assert_eq!(revision(envoy.port), "v1", "Envoy {v}");
        }

        let out = Command::new(env!("CARGO_BIN_EXE_knative-traffic"))
            .args(["set-traffic", "-f"])
            .arg(&file)
            .args(["traffic-example", "v1=50", "v2=50"])
            .output()
            .expect("run knative-traffic");
        assert!(out.status.success(), "{out:?}");
        let edited = Instant::now();

        // Every request answers on the way, and v2 starts answering.
        let mut first_v2 = None;
        while first_v2.is_none() && edited.elapsed() < PICKED_UP_WITHIN {
            if revision(envoy.port) == "v2" {
                first_v2 = Some(edited.elapsed());
            }
        }
        let picked_up = first_v2.unwrap_or_else(|| {
            panic!(
                "Envoy {v}: no request reached v2 within {PICKED_UP_WITHIN:?} of the edit\n{}",
                envoy.log()
            )
        });
        // Once in force, the new split: v1 and v2 at 50% each.
        std::thread::sleep(Duration::from_millis(500));
        let n = 600;
        let v2 = (0..n).filter(|_| revision(envoy.port) == "v2").count() as u64;
        assert_binomial(&format!("Envoy {v}: v2 after the edit (50/50)"), v2, n, 0.5);
        assert!(
            envoy.log().contains("configuration accepted"),
            "Envoy {v}: {}",
            envoy.log()
        );
        eprintln!(
            "Envoy {v}: the edited ECDS file was in force {:.0} ms after the command returned; \
             v2 {v2}/{n} after it",
            picked_up.as_secs_f64() * 1000.0
        );
    }
}
