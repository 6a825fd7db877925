//! Bad input on real Envoy, each with a defined answer: odd Hosts (not UTF-8,
//! 64 KB, Unicode, an IPv6 literal, a port), repeated tag headers, header
//! names that are not UTF-8, and a configuration naming a cluster Envoy does
//! not have.

mod support;

use std::collections::BTreeMap;

use serde_json::json;
use support::{raw_http, Backend, Envoy, EnvoyConfig, Response};

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

    fn envoy(&self, bin: &std::path::Path, configure: impl FnOnce(&mut EnvoyConfig)) -> Envoy {
        let clusters: BTreeMap<String, &Backend> = self
            .revisions
            .iter()
            .map(|b| (format!("traffic-example-{}", b.resource), b))
            .collect();
        let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        config.set_clusters(&clusters);
        configure(&mut config);
        Envoy::start(bin, config)
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
        let envoy = setup.envoy(&bin, |config| {
            let mut plugin = config.plugin_configuration();
            plugin["services"][0]["clusters"] = json!({"traffic-example-v2": "no-such-cluster"});
            config.set_plugin_configuration(&plugin);
        });
        let v = envoy.version.clone();
        let r = send(&envoy, HOST.as_bytes(), b"knative-serving-tag: v2\r\n");
        assert_eq!(r.status, 503, "Envoy {v}: unknown cluster: {r:?}");
        assert_eq!(r.body, "", "Envoy {v}: {r:?}");
        // Envoy counts it; its log says nothing at the default level.
        assert_eq!(envoy.counter("http.ingress.no_cluster"), 1, "Envoy {v}");
        // The other revisions keep serving.
        let r = send(&envoy, HOST.as_bytes(), b"knative-serving-tag: v1\r\n");
        assert_eq!(
            (r.status, r.revision()),
            (200, Some("v1")),
            "Envoy {v}: {r:?}"
        );
        eprintln!(
            "Envoy {v}: unknown cluster answer: {r:?}\nlog:\n{}",
            envoy.log()
        );
    }
}
