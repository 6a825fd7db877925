//! Bad input on real Envoy, each with a defined answer: odd Hosts (not UTF-8,
//! 64 KB, Unicode, an IPv6 literal, a port), repeated tag headers, header
//! names that are not UTF-8, a configuration naming a cluster Envoy does not
//! have, and a module Envoy cannot load.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{raw_http, Backend, Envoy, EnvoyConfig, EnvoyOptions, Response};

const HOST: &str = "traffic-example.default.example.com";
/// The fallback route's answer in envoy/envoy.yaml: a host the filter does
/// not route.
const NOT_CONFIGURED: &str = "no Knative service is configured at this host\n";

fn request(host: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut r = b"GET / HTTP/1.1\r\nhost: ".to_vec();
    r.extend_from_slice(host);
    r.extend_from_slice(b"\r\n");
    r.extend_from_slice(extra);
    r.extend_from_slice(b"connection: close\r\n\r\n");
    r
}

fn send(envoy: &Envoy, host: &[u8], extra: &[u8]) -> Response {
    raw_http(envoy.port, &request(host, extra)).unwrap_or_else(|e| {
        panic!(
            "Envoy {}: request failed: {e}\n{}",
            envoy.version,
            envoy.log()
        )
    })
}

struct Setup {
    revisions: [Backend; 3],
}

impl Setup {
    fn new() -> Setup {
        Setup {
            revisions: ["v1", "v2", "v3"].map(Backend::start),
        }
    }

    fn envoy(&self, bin: &Path, configure: impl FnOnce(&mut EnvoyConfig)) -> Envoy {
        self.envoy_with(bin, &EnvoyOptions::default(), configure)
    }

    fn envoy_with(
        &self,
        bin: &Path,
        options: &EnvoyOptions,
        configure: impl FnOnce(&mut EnvoyConfig),
    ) -> Envoy {
        let clusters: BTreeMap<String, &Backend> = self
            .revisions
            .iter()
            .map(|b| (format!("traffic-example-{}", b.resource), b))
            .collect();
        let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        config.set_clusters(&clusters);
        configure(&mut config);
        match Envoy::try_start_with(bin, &mut config, options) {
            Ok(envoy) => envoy,
            Err((status, log)) => panic!("Envoy exited with {status}:\n{log}"),
        }
    }
}

#[test]
fn odd_hosts_get_defined_answers() {
    let setup = Setup::new();
    for bin in support::envoys() {
        let envoy = setup.envoy(&bin, |_| {});
        let v = envoy.version.clone();
        let not_routed = |what: &str, r: &Response| {
            assert_eq!(
                (r.status, r.body.as_str()),
                (404, NOT_CONFIGURED),
                "Envoy {v}: {what}: {r:?}"
            );
        };

        // Not UTF-8: Envoy's HTTP/1 codec refuses a Host that is not a valid
        // authority (400) before any filter runs. (Should one reach the
        // filter, it reads no host and passes the request through.)
        for host in [
            &b"traffic-\xff\xfe.default.example.com"[..],
            b"traffic-example.default.example.com\xff",
        ] {
            let r = send(&envoy, host, b"");
            assert_eq!(r.status, 400, "Envoy {v}: non-UTF-8 Host: {r:?}");
        }

        // 64 KB: over Envoy's default header limit (60 KB), so Envoy answers
        // 431 before any filter runs.
        let huge = "a".repeat(64 * 1024);
        let r = send(&envoy, huge.as_bytes(), b"");
        assert_eq!(r.status, 431, "Envoy {v}: 64 KB Host: {r:?}");
        // Just under the limit, shaped like a tag host (every label split
        // tried): passes through, in time linear in its length.
        let long = format!(
            "{}-traffic-example.default.example.com",
            "-a".repeat(25_000)
        );
        let r = send(&envoy, long.as_bytes(), b"");
        assert_eq!(
            (r.status, r.body.as_str()),
            (404, "service traffic-example.default has no such tag\n"),
            "Envoy {v}: 50 KB tag-host-shaped Host: {r:?}"
        );

        // Unicode: raw UTF-8 is not a valid authority either (400 from
        // Envoy); its ASCII form (punycode) is simply a host the
        // configuration does not name (Knative names are ASCII labels).
        let r = send(
            &envoy,
            "traffic-éxample.default.example.com".as_bytes(),
            b"",
        );
        assert_eq!(r.status, 400, "Envoy {v}: raw UTF-8 Host: {r:?}");
        let r = send(&envoy, b"xn--traffic-xmple-9hb.default.example.com", b"");
        not_routed("punycode Host", &r);
        let r = send(
            &envoy,
            "TRAFFIC-EXAMPLE.DEFAULT.EXAMPLE.COM".as_bytes(),
            b"",
        );
        assert_eq!(r.status, 200, "Envoy {v}: upper-case Host: {r:?}");

        // IPv6 literals, with and without a port.
        for host in ["[::1]", "[::1]:8080", "[2001:db8::1]:80"] {
            let r = send(&envoy, host.as_bytes(), b"");
            not_routed(host, &r);
        }

        // A port is ignored, whatever it is (Knative's hosts carry none).
        for host in [
            format!("{HOST}:8080"),
            format!("{HOST}:65535"),
            format!("{HOST}.:1"),
        ] {
            let r = send(&envoy, host.as_bytes(), b"");
            assert_eq!(r.status, 200, "Envoy {v}: {host}: {r:?}");
            assert!(r.revision().is_some(), "Envoy {v}: {host}: {r:?}");
        }
        // A port that is not a number makes it another host.
        let r = send(&envoy, format!("{HOST}:http").as_bytes(), b"");
        assert_ne!(r.status, 200, "Envoy {v}: non-numeric port: {r:?}");
    }
}

#[test]
fn repeated_tag_headers_use_the_first() {
    let setup = Setup::new();
    for bin in support::envoys() {
        let envoy = setup.envoy(&bin, |_| {});
        let v = envoy.version.clone();
        for _ in 0..20 {
            let r = send(
                &envoy,
                HOST.as_bytes(),
                b"knative-serving-tag: v2\r\nknative-serving-tag: v3\r\n",
            );
            assert_eq!(
                (r.status, r.revision()),
                (200, Some("v2")),
                "Envoy {v}: two tag headers: {r:?}"
            );
            // An unknown first value falls through to the split, as one
            // unknown tag does, even if a later one is known.
            let r = send(
                &envoy,
                HOST.as_bytes(),
                b"knative-serving-tag: nope\r\nknative-serving-tag: v3\r\n",
            );
            assert_eq!(r.status, 200, "Envoy {v}: {r:?}");
            assert_eq!(
                r.seen("knative-serving-default-route"),
                Some("true"),
                "Envoy {v}: unknown first tag takes the split: {r:?}"
            );
        }
    }
}

/// On a request it routes the filter owns the Knative-Serving-Revision,
/// -Namespace and -Default-Route headers: a client's copies are replaced or
/// removed whatever their bytes.
#[test]
fn a_clients_knative_headers_are_replaced_whatever_their_bytes() {
    let setup = Setup::new();
    let spoofed: &[u8] = b"knative-serving-revision: \xff\xfe\r\nknative-serving-namespace: x\xff\r\nknative-serving-default-route: \xfe\r\n";
    for bin in support::envoys() {
        let envoy = setup.envoy(&bin, |_| {});
        let v = envoy.version.clone();
        for _ in 0..5 {
            let r = send(&envoy, HOST.as_bytes(), spoofed);
            assert_eq!(r.status, 200, "Envoy {v}: {r:?}");
            let revision = r.revision().expect("a revision answered");
            assert_eq!(
                r.seen("knative-serving-revision"),
                Some(format!("traffic-example-{revision}").as_str()),
                "Envoy {v}: {r:?}"
            );
            assert_eq!(r.seen("knative-serving-namespace"), Some("default"));
            assert_eq!(r.seen("knative-serving-default-route"), Some("true"));
        }
        // By tag, the request is not on the default route: the client's
        // copy is removed, not kept.
        let mut tagged = spoofed.to_vec();
        tagged.extend_from_slice(b"knative-serving-tag: v2\r\n");
        let r = send(&envoy, HOST.as_bytes(), &tagged);
        assert_eq!(
            (r.status, r.revision()),
            (200, Some("v2")),
            "Envoy {v}: {r:?}"
        );
        assert_eq!(
            r.seen("knative-serving-revision"),
            Some("traffic-example-v2")
        );
        assert_eq!(
            r.seen("knative-serving-default-route"),
            None,
            "Envoy {v}: {r:?}"
        );
    }
}

/// A service reading cookies reads every request header when a request has
/// a Cookie header, through an SDK call that needs UTF-8 header names: Envoy
/// answers 400 to a name that is not, before the filter sees it.
#[test]
fn a_header_name_that_is_not_utf8_never_reaches_the_filter() {
    let setup = Setup::new();
    for bin in support::envoys() {
        let envoy = setup.envoy(&bin, |config| {
            let mut plugin = config.plugin_configuration();
            plugin["services"][0]["sticky"] = json!({"cookie": "kn", "setCookie": true});
            config.set_plugin_configuration(&plugin);
        });
        let v = envoy.version.clone();
        for name in [&b"x-\xff\xfe"[..], b"x-\xc3\xa9"] {
            let mut extra = b"cookie: a=1\r\ncookie: kn=abc\r\n".to_vec();
            extra.extend_from_slice(name);
            extra.extend_from_slice(b": 1\r\n");
            let r = send(&envoy, HOST.as_bytes(), &extra);
            assert_eq!(r.status, 400, "Envoy {v}: header name {name:?}: {r:?}");
        }
        // The same request with a valid name is routed by its key.
        let r = send(
            &envoy,
            HOST.as_bytes(),
            b"cookie: a=1\r\ncookie: kn=abc\r\nx-ok: 1\r\n",
        );
        assert_eq!(r.status, 200, "Envoy {v}: {r:?}");
        assert_eq!(r.header("set-cookie"), None, "Envoy {v}: {r:?}");
    }
}

#[test]
fn a_cluster_envoy_does_not_have_answers_503() {
    let setup = Setup::new();
    for bin in support::envoys() {
        let dir = support::scratch_dir("access-log");
        let access_log = dir.join("access.log");
        // Envoy's default log level (info), and an access log with the
        // response flags, which is where an operator sees the cause.
        let options = EnvoyOptions {
            log_level: "info",
            ..EnvoyOptions::default()
        };
        let envoy = setup
            .envoy_with(&bin, &options, |config| {
                let mut plugin = config.plugin_configuration();
                plugin["services"][0]["clusters"] =
                    json!({"traffic-example-v2": "no-such-cluster"});
                config.set_plugin_configuration(&plugin);
                config.0["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
                    ["typed_config"]["access_log"] = json!([{
                    "name": "envoy.access_loggers.file",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                        "path": access_log.to_str().expect("utf-8 path"),
                        "log_format": {"text_format_source": {"inline_string":
                            "%RESPONSE_CODE% %RESPONSE_FLAGS% %REQ(KNATIVE-SERVING-TAG)%\n"}}
                    }
                }]);
            })
            .hold(dir);
        let v = envoy.version.clone();
        let logged_before = envoy.log().len();
        let r = send(&envoy, HOST.as_bytes(), b"knative-serving-tag: v2\r\n");
        assert_eq!(r.status, 503, "Envoy {v}: unknown cluster: {r:?}");
        assert_eq!(r.body, "", "Envoy {v}: {r:?}");
        // Envoy counts it.
        assert_eq!(envoy.counter("http.ingress.no_cluster"), 1, "Envoy {v}");
        // The other revisions keep serving.
        let r = send(&envoy, HOST.as_bytes(), b"knative-serving-tag: v1\r\n");
        assert_eq!(
            (r.status, r.revision()),
            (200, Some("v1")),
            "Envoy {v}: {r:?}"
        );
        // The access log flags it NC (no cluster found); Envoy writes the
        // file about once a second.
        let deadline = Instant::now() + Duration::from_secs(10);
        let lines = loop {
            let text = fs::read_to_string(&access_log).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            if lines.len() >= 2 || Instant::now() > deadline {
                break lines;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(lines, ["503 NC v2", "200 - v1"], "Envoy {v}: access log");
        // Envoy's own log says nothing at its default level (the router
        // reports an unknown cluster at debug level): not a line since the
        // requests, read after the access log was written.
        let log = envoy.log();
        let since = log.get(logged_before..).unwrap_or_default();
        assert!(
            since.trim().is_empty(),
            "Envoy {v}: logged at level info:\n{since}"
        );
    }
}

/// A module Envoy cannot load stops a static configuration at start: Envoy
/// exits with an error, and its log says why.
#[test]
fn a_module_envoy_cannot_load_keeps_it_from_starting() {
    if support::wasm_only(
        "missing and corrupt .wasm files; the dynamic module's case is \
         a_dynamic_module_envoy_cannot_load_keeps_it_from_starting",
    ) {
        return;
    }
    let dir = support::scratch_dir("bad-module");
    let missing = dir.join("missing.wasm");
    let corrupt = dir.join("corrupt.wasm");
    // The Wasm magic number and version, then bytes that are not a module.
    fs::write(&corrupt, b"\0asm\x01\0\0\0this is not a Wasm module").expect("write module");
    // A missing file is refused while Envoy reads the configuration; a
    // corrupt one when the Wasm VM cannot parse it, which fails the plugin.
    let cases = [
        (
            &missing,
            vec![format!("Invalid path: {}", missing.display())],
        ),
        (
            &corrupt,
            vec![
                "Wasm VM failed Failed to parse corrupted Wasm module".to_owned(),
                "Unable to create Wasm plugin knative-traffic".to_owned(),
            ],
        ),
    ];
    for bin in support::envoys() {
        let envoy = bin.display();
        for (module, messages) in &cases {
            let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
            let options = EnvoyOptions {
                module: module.to_path_buf(),
                ..EnvoyOptions::default()
            };
            match Envoy::try_start_with(&bin, &mut config, &options) {
                Ok(started) => panic!(
                    "Envoy {} started with {}",
                    started.version,
                    module.display()
                ),
                Err((status, log)) => {
                    assert_eq!(
                        status,
                        "exit status: 1",
                        "{envoy}: {}\n{log}",
                        module.display()
                    );
                    for message in messages {
                        assert!(
                            log.contains(message.as_str()),
                            "{envoy}: no {message:?} in the log:\n{log}"
                        );
                    }
                }
            }
        }
    }
}

/// The native shell's counterpart: no module on the search path, or the
/// build for the other Envoy line (whose callbacks this Envoy does not
/// export, so loading it fails before its ABI version is asked for).
#[test]
fn a_dynamic_module_envoy_cannot_load_keeps_it_from_starting() {
    if support::shell() != support::Shell::Native {
        eprintln!("skipped: a test of the native shell (KNATIVE_TRAFFIC_SHELL=native)");
        return;
    }
    let empty = support::scratch_dir("no-module");
    for bin in support::envoys() {
        let envoy = bin.display();
        let line = support::envoy_line(&bin);
        let (other, missing_symbol) = match line.as_str() {
            "1.36" => ("1.40", "envoy_dynamic_module_callback_http_get_header"),
            "1.40" => (
                "1.36",
                "envoy_dynamic_module_callback_http_get_request_header",
            ),
            _ => panic!("{envoy}: no dynamic module build for Envoy {line}"),
        };
        let wrong = support::repo().join("dist/native").join(other);
        let cases = [
            (
                empty.to_path_buf(),
                "libknative_traffic.so: cannot open shared object file".to_owned(),
            ),
            (wrong, format!("undefined symbol: {missing_symbol}")),
        ];
        for (dir, message) in cases {
            let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
            let options = EnvoyOptions {
                native_dir: Some(dir.clone()),
                ..EnvoyOptions::default()
            };
            match Envoy::try_start_with(&bin, &mut config, &options) {
                Ok(started) => panic!("Envoy {} started with {}", started.version, dir.display()),
                Err((status, log)) => {
                    assert_eq!(
                        status,
                        "exit status: 1",
                        "{envoy}: {}\n{log}",
                        dir.display()
                    );
                    for expected in ["Failed to load dynamic module", message.as_str()] {
                        assert!(
                            log.contains(expected),
                            "{envoy}: no {expected:?} in the log:\n{log}"
                        );
                    }
                }
            }
        }
    }
}

/// Starts Envoy with the filter configuration `plugin`; `Err` with its log
/// if it refuses it.
fn try_plugin(setup: &Setup, bin: &Path, plugin: &str) -> Result<Envoy, String> {
    let clusters: BTreeMap<String, &Backend> = setup
        .revisions
        .iter()
        .map(|b| (format!("traffic-example-{}", b.resource), b))
        .collect();
    let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
    config
        .set_clusters(&clusters)
        .set_plugin_configuration_text(plugin);
    Envoy::try_start(bin, &mut config).map_err(|(_, log)| log)
}

/// `"routeResponseHeader": "content-length"` loaded, and every routed
/// response then came with an empty body; `clusterHeader: cookie` loaded
/// too. Now Envoy refuses such a configuration, saying why.
#[test]
fn a_header_that_breaks_http_is_refused() {
    let setup = Setup::new();
    for bin in support::envoys() {
        for (field, name, why) in [
            (
                "routeResponseHeader",
                "content-length",
                "frames the message body",
            ),
            ("clusterHeader", "content-length", "frames the message body"),
            ("clusterHeader", "cookie", "carries cookies"),
            (
                "mirrorHeader",
                "transfer-encoding",
                "is a hop-by-hop or framing header",
            ),
        ] {
            let plugin = json!({field: name, "services": [{
                "name": "traffic-example", "namespace": "default", "domain": "example.com",
                "traffic": [{"revisionName": "traffic-example-v1", "percent": 100}]}]});
            let log = match try_plugin(&setup, &bin, &plugin.to_string()) {
                Ok(envoy) => panic!("Envoy {} loaded {field}: {name}", envoy.version),
                Err(log) => log,
            };
            assert!(
                log.contains(&format!("configuration refused: {field}: \"{name}\" {why}")),
                "{}: {field} {name}:\n{log}",
                bin.display()
            );
        }
    }
}

/// A client's `x-knative-cluster` (or mirror header) whose bytes are not
/// UTF-8, on a host the filter does not route, was left in place: the
/// request took the cluster-header route and got 503 NC. Now it is removed
/// whatever its bytes, over HTTP/1.1 and HTTP/2.
#[test]
fn a_cluster_header_that_is_not_utf8_is_removed_over_http1_and_http2() {
    let setup = Setup::new();
    for bin in support::envoys() {
        let envoy = setup.envoy(&bin, |_| {});
        let v = envoy.version.clone();
        for header in ["x-knative-cluster", "x-knative-mirror-cluster"] {
            let extra = [header.as_bytes(), b": traffic-example-v1\xff\xfe\r\n"].concat();
            let r = send(&envoy, b"elsewhere.example.org", &extra);
            assert_eq!(
                (r.status, r.body.as_str()),
                (404, NOT_CONFIGURED),
                "Envoy {v}: HTTP/1.1 {header}"
            );
            // HTTP/2 with prior knowledge, from curl (nghttp2).
            let out = std::process::Command::new("curl")
                .args([
                    "-sS",
                    "--http2-prior-knowledge",
                    "-w",
                    "\n%{http_code} %{http_version}",
                ])
                .args(["-H", "host: elsewhere.example.org"])
                .arg("-H")
                .arg(std::ffi::OsStr::from_bytes(
                    &[header.as_bytes(), b": traffic-example-v1\xff\xfe"].concat(),
                ))
                .arg(format!("http://127.0.0.1:{}/", envoy.port))
                .output()
                .expect("run curl");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.ends_with(&format!("{NOT_CONFIGURED}\n404 2")),
                "Envoy {v}: HTTP/2 {header}: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(envoy.counter("http.ingress.no_cluster"), 0, "Envoy {v}");
    }
}

/// A CONNECT to a service's host was counted as a draw and given the route
/// response header. It asks for a tunnel: it now passes through, uncounted,
/// and Envoy answers it as it answers any CONNECT its routes do not match.
#[test]
fn connect_passes_through_uncounted() {
    let setup = Setup::new();
    for bin in support::envoys() {
        let envoy = setup.envoy(&bin, |config| {
            let mut plugin = config.plugin_configuration();
            plugin["routeResponseHeader"] = json!("x-knative-route");
            config.set_plugin_configuration(&plugin);
        });
        let v = envoy.version.clone();
        let drawn = |envoy: &Envoy| -> u64 {
            ["v1", "v2", "v3"]
                .iter()
                .map(|r| {
                    envoy.counter(&format!(
                        "wasmcustom.knative_traffic.requests.namespace.default.service.traffic-example.revision.traffic-example-{r}.reason.draw"
                    ))
                })
                .sum()
        };
        let before = drawn(&envoy);
        let connect = format!(
            "CONNECT {HOST}:443 HTTP/1.1\r\nhost: {HOST}:443\r\nx-knative-cluster: traffic-example-v3\r\n\r\n"
        );
        let r = raw_http(envoy.port, connect.as_bytes()).expect("CONNECT");
        assert_eq!(r.status, 404, "Envoy {v}: {r:?}");
        assert_eq!(r.header("x-knative-route"), None, "Envoy {v}: {r:?}");
        assert_eq!(drawn(&envoy), before, "Envoy {v}: a CONNECT was counted");
        // A GET to the same host is routed and counted.
        let r = envoy.get(HOST, "/", &[]);
        assert_eq!(r.status, 200);
        assert!(r.header("x-knative-route").is_some());
        assert_eq!(drawn(&envoy), before + 1, "Envoy {v}");
    }
}

/// A refused configuration with a 10 MB string wrote two error lines of
/// about 20 MB into Envoy's log. Now every value an error quotes is cut.
#[test]
fn a_huge_value_in_a_refused_configuration_does_not_flood_the_log() {
    let setup = Setup::new();
    let huge = "x".repeat(10 << 20);
    let plugin = json!({"services": [{"name": huge, "namespace": "default",
        "traffic": [{"revisionName": "traffic-example-v1", "percent": 100}]}]});
    for bin in support::envoys() {
        let log = match try_plugin(&setup, &bin, &plugin.to_string()) {
            Ok(envoy) => panic!("Envoy {} loaded it", envoy.version),
            Err(log) => log,
        };
        let refused: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("configuration refused"))
            .collect();
        assert!(!refused.is_empty(), "{log}");
        for line in refused {
            assert!(line.len() < 1_000, "{} bytes: {}", line.len(), &line[..300]);
            assert!(line.contains("(10485760 characters)"), "{line}");
        }
    }
}

/// The boundary literals of `tests/hardening.rs` get the same verdict from
/// the tests' build, the shipped module (in Envoy) and the release tool:
/// every build reads numbers the same, correctly rounded.
#[test]
fn numbers_parse_the_same_in_the_module_the_release_tool_and_the_tests() {
    let setup = Setup::new();
    let tool = support::repo().join("target/release/knative-traffic");
    assert!(
        tool.exists(),
        "{} is missing: cargo build --release -p knative-traffic-cli (scripts/test.sh does)",
        tool.display()
    );
    let dir = support::scratch_dir("literals");
    let literals = [
        ("80", true),
        ("8e1", true),
        ("80.0000000000000070", true),
        ("79.99999999999999", false),
        ("80.00000000000001", false),
    ];
    for (literal, accepted) in literals {
        let plugin = format!(
            r#"{{"services": [{{"name": "traffic-example", "namespace": "default", "domain": "example.com",
                "traffic": [{{"revisionName": "traffic-example-v1", "percent": {literal}}},
                            {{"revisionName": "traffic-example-v2", "percent": 20}}]}}]}}"#
        );
        assert_eq!(
            knative_traffic::compile(plugin.as_bytes()).is_ok(),
            accepted,
            "the tests' build: {literal}"
        );
        let file = dir.join("literal.json");
        fs::write(&file, &plugin).unwrap();
        let status = std::process::Command::new(&tool)
            .arg("validate")
            .arg(&file)
            .output()
            .expect("run the release tool")
            .status;
        assert_eq!(status.success(), accepted, "the release tool: {literal}");
        for bin in support::envoys() {
            let loaded = try_plugin(&setup, &bin, &plugin).is_ok();
            assert_eq!(
                loaded,
                accepted,
                "the module in {}: {literal}",
                bin.display()
            );
        }
    }
}
