//! `./native-build.sh && docker compose -f docker-compose.native.yaml up`,
//! for real: the demo with the filter as an Envoy dynamic module, on the
//! Envoy image the tests build from PyPI's Envoy (`scripts/envoy-image.sh`,
//! FROM scratch with only the libraries Envoy links, so the module must need
//! nothing more), for each Envoy line with its own build (`ENVOY_LINE`);
//! and the build for the other line refused with Envoy's reason.
//!
//! As in tests/compose.rs, project names, image tags and host ports are
//! unique to the run, and everything is removed afterwards.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::docker::{self, ComposeProject, ImageTag};
use support::{assert_binomial, free_port, http, repo, Response};

const SERVICE: &str = "traffic-example.default.example.com";
const COMPOSE_FILE: &str = "docker-compose.native.yaml";

fn get(port: u16, host: &str) -> std::io::Result<Response> {
    http(port, "GET", "/", &[("host", host)])
}

#[test]
fn docker_compose_native_up_serves_the_demo_on_each_envoy_line() {
    for line in ["1.36", "1.40"] {
        assert!(
            repo()
                .join(format!("dist/native/{line}/libknative_traffic.so"))
                .exists(),
            "dist/native/{line}/libknative_traffic.so is missing: run ./native-build.sh first"
        );
    }
    assert!(
        repo().join("dist/demo-backend").exists(),
        "dist/demo-backend is missing: run ./wasm-build.sh first"
    );
    docker::engine();
    for (version, line) in [("1.40.0", "1.40"), ("1.36.4", "1.36")] {
        let envoy_image = ImageTag::adopt(format!("{}:{version}", docker::unique_name("envoy")));
        let backend_image = ImageTag::adopt(format!("{}:latest", docker::unique_name("backend")));
        docker::run(
            std::process::Command::new(repo().join("scripts/envoy-image.sh"))
                .args([version, &envoy_image.0]),
            "scripts/envoy-image.sh",
        );
        let (port, admin) = (free_port(), free_port());
        let (port_text, admin_text) = (port.to_string(), admin.to_string());
        let env = |line: &'static str| {
            [
                ("COMPOSE_FILE", COMPOSE_FILE),
                ("ENVOY_LINE", line),
                ("ENVOY_IMAGE", envoy_image.0.as_str()),
                ("DEMO_BACKEND_IMAGE", backend_image.0.as_str()),
                ("KNATIVE_TRAFFIC_PORT", port_text.as_str()),
                ("ENVOY_ADMIN_PORT", admin_text.as_str()),
            ]
        };

        // The build for the other line: `up` stops at check-config with
        // Envoy's reason (a callback this Envoy does not export).
        let other = if line == "1.40" { "1.36" } else { "1.40" };
        let refused = ComposeProject::create(
            repo().to_path_buf(),
            docker::unique_name("compose-native-wrong"),
            &env(other),
        );
        let (up, output) = refused.try_run(&["up", "--detach", "--quiet-pull", "--no-color"]);
        assert!(
            !up,
            "Envoy {version}: up succeeded with the {other} build:\n{output}"
        );
        let logs = docker::stdout(&docker::run(
            &mut refused.command(&["logs", "--no-color", "check-config"]),
            "docker compose logs check-config",
        ));
        assert!(
            logs.contains("Failed to load dynamic module")
                && logs.contains("undefined symbol: envoy_dynamic_module_callback_http_"),
            "Envoy {version}: check-config's log lacks the reason:\n{logs}"
        );
        let name = refused.name.clone();
        let left = refused.down();
        assert!(left.is_empty(), "compose project {name} left {left:?}");

        // Its own build serves the demo.
        let project = ComposeProject::up(docker::unique_name("compose-native"), &env(line));
        let deadline = Instant::now() + Duration::from_secs(90);
        while !["v1", "v2", "v3"].iter().all(|rev| {
            get(port, &format!("{rev}-{SERVICE}")).is_ok_and(|r| r.revision() == Some(rev))
        }) {
            assert!(
                Instant::now() < deadline,
                "Envoy {version}: the stack did not serve within 90 s:\n{}",
                project.logs()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        let n = 500;
        let mut counts: HashMap<String, u64> = HashMap::new();
        for _ in 0..n {
            let r = get(port, SERVICE).expect("request through compose");
            assert_eq!(r.status, 200, "Envoy {version}: {r:?}");
            *counts
                .entry(r.revision().unwrap_or_default().to_owned())
                .or_insert(0) += 1;
        }
        let count = |rev: &str| counts.get(rev).copied().unwrap_or(0);
        assert_binomial(&format!("Envoy {version}: v1"), count("v1"), n, 0.8);
        assert_binomial(&format!("Envoy {version}: v2"), count("v2"), n, 0.1);
        // Envoy's counter of the draws to v1.
        let stats = http(
            admin,
            "GET",
            "/stats?filter=traffic-example-v1.reason.draw",
            &[("host", "admin")],
        )
        .expect("admin /stats");
        assert!(
            stats.body.contains(&format!(
                "dynamicmodulescustom.knative_traffic.requests.namespace.default.service.traffic-example.revision.traffic-example-v1.reason.draw: {}",
                count("v1")
            )),
            "Envoy {version}: {counts:?}\n{}",
            stats.body
        );
        let logs = docker::stdout(&docker::run(
            &mut project.command(&["logs", "--no-color", "envoy"]),
            "docker compose logs envoy",
        ));
        assert!(
            logs.contains("knative-traffic: configuration accepted: 1 service(s)"),
            "Envoy {version}:\n{logs}"
        );
        let name = project.name.clone();
        let left = project.down();
        assert!(left.is_empty(), "compose project {name} left {left:?}");
        eprintln!("compose native, Envoy {version} with the {line} build: {counts:?}");
    }
}
