//! The configuration parser and the routing decision under arbitrary input:
//! the short, deterministic form of the fuzzing (the long form is cargo-fuzz,
//! in `fuzz/`). Fixed seeds, so a failure reproduces; `KT_FUZZ_ITERATIONS`
//! and `KT_FUZZ_SEED` run longer or other sequences.
//!
//! What must hold: `compile` returns (a table or errors, never a panic) for
//! any bytes; `route` returns for any authority and headers; a routed
//! request's revision belongs to its service; a decision reads each header
//! at most once, so its work grows with the request's size and not faster.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::Recorded;
use knative_traffic::request::PlainRequest;
use knative_traffic::{compile, Decision};
use rand_core::{Rng, SeedableRng};
use rand_xorshift::XorShiftRng;
use serde_json::{json, Value};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn below(rng: &mut XorShiftRng, n: u64) -> u64 {
    rng.next_u64() % n.max(1)
}

fn pick<'a, T>(rng: &mut XorShiftRng, items: &'a [T]) -> &'a T {
    &items[below(rng, items.len() as u64) as usize]
}

const NAMES: &[&str] = &[
    "web",
    "api",
    "traffic-example",
    "a",
    "b-c",
    "v1",
    "v2",
    "latest",
    "",
    "Web",
    "-x",
    "x-",
    "wéb",
    "a.b",
    "has space",
    "0abc",
    "\u{0}",
    "very-long-name-that-goes-on-and-on-and-on-past-sixty-three-chars-x",
];

fn name(rng: &mut XorShiftRng) -> String {
    if below(rng, 8) == 0 {
        // Random bytes as a string, printable or not.
        let len = below(rng, 12);
        (0..len)
            .map(|_| char::from_u32(below(rng, 0x250) as u32).unwrap_or('x'))
            .collect()
    } else {
        (*pick(rng, NAMES)).to_owned()
    }
}

/// Any JSON value, small, for fields given the wrong type.
fn junk(rng: &mut XorShiftRng) -> Value {
    match below(rng, 9) {
        0 => Value::Null,
        1 => json!(below(rng, 2) == 0),
        2 => json!(below(rng, 250) as i64 - 100),
        3 => json!((below(rng, 20000) as f64) / 100.0 - 50.0),
        4 => json!(name(rng)),
        5 => json!([]),
        6 => json!({}),
        7 => json!(1e300),
        _ => json!(u64::MAX),
    }
}

fn percent(rng: &mut XorShiftRng) -> Value {
    match below(rng, 10) {
        0..=5 => json!(pick(rng, &[0, 10, 20, 25, 50, 80, 100])),
        6 => json!(12.5),
        7 => json!(-5),
        8 => json!("80"),
        _ => junk(rng),
    }
}

fn maybe(
    rng: &mut XorShiftRng,
    object: &mut Value,
    key: &str,
    value: impl FnOnce(&mut XorShiftRng) -> Value,
) {
    if below(rng, 3) == 0 {
        object[key] = value(rng);
    }
}

fn service(rng: &mut XorShiftRng) -> Value {
    let mut s =
        json!({"name": name(rng), "namespace": pick(rng, &["default", "ns", "example", "-bad"])});
    let targets = below(rng, 6);
    let traffic: Vec<Value> = (0..targets)
        .map(|i| {
            let mut t = json!({});
            maybe(rng, &mut t, "tag", |r| {
                json!(format!("{}{}", pick(r, &["v", "t", "", "V"]), i))
            });
            maybe(rng, &mut t, "revisionName", |r| {
                json!(format!("rev-{}", below(r, 4)))
            });
            maybe(rng, &mut t, "latestRevision", |r| json!(below(r, 2) == 0));
            maybe(rng, &mut t, "visibility", |r| {
                json!(pick(r, &["cluster-local", "public", "internal"]))
            });
            if below(rng, 6) != 0 {
                t["percent"] = percent(rng);
            }
            maybe(rng, &mut t, "bogus", junk);
            t
        })
        .collect();
    s["traffic"] = json!(traffic);
    maybe(rng, &mut s, "latestReadyRevisionName", |r| {
        json!(format!("rev-{}", below(r, 4)))
    });
    maybe(rng, &mut s, "domain", |r| {
        json!(pick(r, &["example.com", "Example.com", "x", ""]))
    });
    maybe(rng, &mut s, "visibility", |r| {
        json!(pick(r, &["cluster-local", "public"]))
    });
    maybe(
        rng,
        &mut s,
        "clusters",
        |r| json!({"rev-0": name(r), "rev-9": "c"}),
    );
    maybe(rng, &mut s, "customDomains", |r| {
        json!([pick(
            r,
            &[
                "www.example.org",
                "*.example.org",
                "*.com",
                "a-web.default.example.com"
            ]
        )])
    });
    maybe(rng, &mut s, "customDomainTags", |r| json!(below(r, 2) == 0));
    maybe(rng, &mut s, "rules", |r| {
        json!([{"header": pick(r, &["wid", "x-canary", "w id"]), "prefix": name(r), "tag": "v0"},
               {"cookie": "beta", "exact": "yes", "tag": "v1"},
               {"header": "x", "present": below(r, 2) == 0, "tag": name(r)}])
    });
    maybe(rng, &mut s, "sticky", |r| match below(r, 3) {
        0 => json!({"cookie": "kn", "setCookie": true, "maxAge": below(r, 100_000)}),
        1 => json!({"header": "x-user-id"}),
        _ => json!({"header": "x", "cookie": "y"}),
    });
    maybe(rng, &mut s, "rollout", |r| {
        let mut rollout = json!({"fromRevisionName": format!("rev-{}", below(r, 4)),
               "start": pick(r, &["2026-11-25T16:00:00Z", "2026-11-25T16:00:00+01:00", "tomorrow", "9999-99-99T99:99:99Z"]),
               "duration": pick(r, &["10m", "1h30m", "0s", "-1s", "1.5m", "211s44ms", "99999999999999h"])});
        maybe(r, &mut rollout, "steps", junk);
        maybe(r, &mut rollout, "minStep", |r| {
            json!(pick(r, &["1s", "3s", "0s", "1ms"]))
        });
        rollout
    });
    maybe(
        rng,
        &mut s,
        "mirror",
        |r| json!({"tag": "v1", "percent": percent(r), "includeTagged": true}),
    );
    s
}

fn document(rng: &mut XorShiftRng) -> Value {
    let services: Vec<Value> = (0..below(rng, 5)).map(|_| service(rng)).collect();
    let mut d = json!({"domain": "example.com", "services": services});
    maybe(rng, &mut d, "clusterHeader", |r| {
        json!(pick(
            r,
            &["x-knative-cluster", "bad header", "knative-serving-tag"]
        ))
    });
    maybe(rng, &mut d, "clusterTemplate", |r| {
        json!(pick(
            r,
            &[
                "{revision}",
                "{revison}",
                "",
                "out|80||{revision}.{namespace}"
            ]
        ))
    });
    maybe(rng, &mut d, "routeResponseHeader", |r| {
        json!(pick(r, &["x-route", "set-cookie"]))
    });
    maybe(rng, &mut d, "metrics", junk);
    maybe(rng, &mut d, "tagTemplate", |r| {
        json!(pick(
            r,
            &[
                "{{.Tag}}-{{.Name}}",
                "{{.Name}}-{{.Tag}}",
                "{{.Tag}}",
                "{{.Bad}}",
                "{{"
            ]
        ))
    });
    maybe(rng, &mut d, "domainTemplate", |r| {
        json!(pick(
            r,
            &[
                "{{.Name}}.{{.Namespace}}.{{.Domain}}",
                "{{.Name}}-{{.Namespace}}.{{.Domain}}",
                "{{.Name}}",
                ""
            ]
        ))
    });
    maybe(rng, &mut d, "tagHeaderBasedRouting", junk);
    d
}

/// A few byte-level edits of a document's text.
fn mutate(rng: &mut XorShiftRng, text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=below(rng, 8) {
        let at = below(rng, bytes.len() as u64 + 1) as usize;
        match below(rng, 4) {
            0 if at < bytes.len() => {
                bytes.remove(at);
            }
            1 => bytes.insert(at, *pick(rng, b"{}[]\",:0123456789-.eE \\\xff\xc3nulltrue")),
            2 if at < bytes.len() => bytes[at] ^= 1 << below(rng, 8),
            _ => {
                let end = (at + below(rng, 40) as usize).min(bytes.len());
                let span = bytes[at..end].to_vec();
                bytes.splice(at..at, span);
            }
        }
    }
    bytes
}

fn authority(rng: &mut XorShiftRng, document: &Value) -> String {
    let services = document["services"].as_array().cloned().unwrap_or_default();
    let base = match (services.is_empty(), below(rng, 4)) {
        (false, 0..=2) => {
            let s = pick(rng, &services);
            let name = s["name"].as_str().unwrap_or("x");
            let ns = s["namespace"].as_str().unwrap_or("x");
            let label = if below(rng, 2) == 0 {
                name.to_owned()
            } else {
                format!("{}-{name}", pick(rng, &["v0", "v1", "v9", "latest", ""]))
            };
            let zone = pick(rng, &["example.com", "svc", "svc.cluster.local", ""]);
            format!("{label}.{ns}.{zone}")
        }
        _ => name(rng),
    };
    match below(rng, 8) {
        0 => base.to_uppercase(),
        1 => format!("{base}:{}", below(rng, 70_000)),
        2 => format!("{base}."),
        3 => format!("[{base}]:80"),
        4 => format!("{}{base}", "-a".repeat(below(rng, 3000) as usize)),
        _ => base,
    }
}

/// A request with some of the headers the generated configurations read,
/// some of them long, and the total size of its header values.
fn headers(rng: &mut XorShiftRng) -> (Recorded<PlainRequest>, usize) {
    let mut request = PlainRequest::default().at(1_764_086_400_000);
    let mut size = 0;
    let long = "x".repeat(below(rng, 5000) as usize);
    for (name, options) in [
        ("knative-serving-tag", &["v0", "v1", "v9", "", "V1"][..]),
        (
            "cookie",
            &["kn=abc; beta=yes", "beta", ";;;=", "kn=\"quoted\"", "kn="][..],
        ),
        ("x-user-id", &["alice", "", "bob"][..]),
        ("wid", &["a1", "b2", ""][..]),
        ("x-canary", &["yes"][..]),
    ] {
        if below(rng, 2) == 0 {
            let mut v = (*pick(rng, options)).to_owned();
            if below(rng, 4) == 0 {
                v.push_str(&long);
            }
            size += v.len();
            request = request.with_header(name, &v);
        }
    }
    (Recorded::new(request), size)
}

/// Routes requests through a table compiled from `document` and checks the
/// decisions' invariants.
fn exercise(rng: &mut XorShiftRng, document: &Value, table: &knative_traffic::RouteTable) {
    for _ in 0..20 {
        let host = authority(rng, document);
        let (request, size) = headers(rng);
        let decision = table.route(&host, &request, rng);
        if let Decision::Route(route) = &decision {
            assert!(
                route
                    .service
                    .destinations
                    .iter()
                    .any(|d| std::ptr::eq(d, route.destination)),
                "{host}: destination outside its service"
            );
            let written: Vec<_> = route.request_headers().collect();
            assert_eq!(
                written[0],
                (table.cluster_header(), Some(route.destination.cluster()))
            );
            let _ = route.response_headers();
        }
        let _ = (decision.metric_slot(), decision.mirrored_slot());
        // Each header is read at most once, so the work is bounded by the
        // request's size (every read is linear in its value).
        let mut reads = request.reads.borrow().clone();
        let total = reads.len();
        reads.sort();
        reads.dedup();
        assert_eq!(
            reads.len(),
            total,
            "{host}: a header read twice: {:?}",
            request.reads
        );
        let read = *request.bytes_read.borrow();
        assert!(
            read <= size,
            "{host}: {read} bytes of header values read from a request of {size}"
        );
    }
}

#[test]
fn generated_configurations_never_panic_and_route_soundly() {
    let iterations = setting("KT_FUZZ_ITERATIONS", 3000);
    let mut rng = XorShiftRng::seed_from_u64(setting("KT_FUZZ_SEED", 2026));
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..iterations {
        let document = document(&mut rng);
        match compile(document.to_string().as_bytes()) {
            Ok(table) => {
                accepted += 1;
                exercise(&mut rng, &document, &table);
            }
            Err(errors) => {
                refused += 1;
                assert!(!errors.0.is_empty(), "refused without a reason: {document}");
            }
        }
    }
    eprintln!("{iterations} generated configurations: {accepted} accepted, {refused} refused");
    // The generator must reach both sides, or it tests too little.
    assert!(accepted > iterations / 20 && refused > iterations / 20);
}

#[test]
fn mutated_documents_never_panic() {
    let iterations = setting("KT_FUZZ_ITERATIONS", 3000);
    let mut rng = XorShiftRng::seed_from_u64(setting("KT_FUZZ_SEED", 2026) + 1);
    let readme_example = json!({
        "clusterHeader": "x-knative-cluster", "domain": "example.com",
        "services": [
            {"name": "traffic-example", "namespace": "default",
             "latestReadyRevisionName": "traffic-example-v3",
             "traffic": [
                {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 80},
                {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 10},
                {"tag": "v3", "revisionName": "traffic-example-v3", "percent": 10},
                {"tag": "latest", "latestRevision": true, "percent": 0}],
             "rules": [{"header": "wid", "prefix": "a", "tag": "v1"}],
             "sticky": {"cookie": "kn", "setCookie": true},
             "mirror": {"tag": "v3", "percent": 5}},
            {"name": "helloworld-go", "namespace": "example",
             "traffic": [
                {"tag": "a", "revisionName": "helloworld-go-00001", "percent": 50},
                {"tag": "b", "revisionName": "helloworld-go-00002", "percent": 50}],
             "customDomains": ["helloworld-go.weimob.com", "*.weimoba.com"]}
        ]
    })
    .to_string();
    let mut accepted = 0;
    for _ in 0..iterations {
        let bytes = mutate(&mut rng, &readme_example);
        if let Ok(table) = compile(&bytes) {
            accepted += 1;
            let document = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            exercise(&mut rng, &document, &table);
        }
    }
    eprintln!("{iterations} mutated documents: {accepted} still valid");
    // Routing is exercised only on documents that still compile: most
    // mutations break the document, but a test that routes nothing proves
    // nothing about routing. About 3.4% still compile (102 of the default
    // 3,000); 1% is 7 standard deviations below that, and too few
    // iterations to judge are not judged.
    if iterations >= 1000 {
        assert!(
            accepted >= iterations / 100,
            "only {accepted} of {iterations} mutated documents compiled"
        );
    }
}

#[test]
fn empty_huge_and_deep_documents_are_refused_or_accepted_whole() {
    let message = |bytes: &[u8]| match compile(bytes) {
        Ok(_) => "accepted".to_owned(),
        Err(e) => e.0[0].to_string(),
    };
    let empty = "configuration is empty: expected a JSON object with a \"services\" list";
    assert_eq!(message(b""), empty);
    assert_eq!(message(b" \n\t "), empty);
    // 1 MB of whitespace, and 1 MB of JSON that is not a configuration.
    assert_eq!(message(&vec![b' '; 1 << 20]), empty);
    let junk = format!("[{}0]", "0,".repeat(1 << 19));
    assert_eq!(
        message(junk.as_bytes()),
        "configuration must be a JSON object with a \"services\" list, got an array"
    );
    // Nesting 100,000 deep is refused with an error, not a stack overflow:
    // the typed parse stops at serde_json's depth limit (128), and locating
    // the error skips values without recursion.
    let deep = |inner: &str| {
        format!(
            "{{\"services\": [{{\"name\": \"web\", \"namespace\": {}{}{}}}]}}",
            "[".repeat(100_000),
            inner,
            "]".repeat(100_000)
        )
    };
    assert_eq!(
        message(deep("").as_bytes()),
        "services[0] (web): namespace: invalid type: sequence, expected a string"
    );
    assert_eq!(
        message(deep("{").as_bytes()),
        "configuration is not valid JSON: key must be a string at line 1 column 100045"
    );
    assert_eq!(
        message(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).as_bytes()),
        "configuration must be a JSON object with a \"services\" list, got an array"
    );
    // A valid configuration of over 1 MiB (7,000 services) is accepted.
    let services: Vec<Value> = (0..7000)
        .map(|i| {
            json!({"name": format!("svc-{i}"), "namespace": "ns", "traffic": [
                {"tag": "a", "revisionName": format!("svc-{i}-1"), "percent": 60},
                {"tag": "b", "revisionName": format!("svc-{i}-2"), "percent": 40}]})
        })
        .collect();
    let big = json!({"domain": "example.com", "services": services}).to_string();
    assert!(big.len() >= 1 << 20, "{}", big.len());
    let table = compile(big.as_bytes()).expect("a large valid configuration");
    assert_eq!(table.services().len(), 7000);
    // One bad service among them refuses the whole document.
    let bad = big.replacen("\"percent\":40", "\"percent\":41", 1);
    let errors = compile(bad.as_bytes()).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert_eq!(
        errors.0[0].to_string(),
        "services[0] (svc-0): traffic percents sum to 101, want 100"
    );
}

#[test]
fn percents_must_be_integers_from_0_to_100() {
    for (percent, error) in [
        ("12.5", "must be an integer from 0 to 100, got 12.5"),
        ("-5", "must be an integer from 0 to 100, got -5"),
        (
            "\"80\"",
            "invalid type: string \"80\", expected an integer percent from 0 to 100",
        ),
        ("1e3", "must be an integer from 0 to 100, got 1000"),
        // null is an absent percent, which is 0 (Knative's rule).
        ("null", "traffic percents sum to 0, want 100"),
    ] {
        let document = format!(
            r#"{{"services": [{{"name": "web", "namespace": "ns", "traffic": [
                {{"revisionName": "web-1", "percent": {percent}}}]}}]}}"#
        );
        let errors = compile(document.as_bytes()).unwrap_err();
        assert_eq!(
            errors.0[0].to_string(),
            if error.starts_with("traffic percents") {
                format!("services[0] (web): {error}")
            } else {
                format!("services[0] (web): traffic[0].percent: {error}")
            },
            "percent {percent}"
        );
    }
    // An integral float is an integer (Istio hands numbers over as doubles).
    let document = r#"{"services": [{"name": "web", "namespace": "ns", "traffic": [
        {"revisionName": "web-1", "percent": 100.0}]}]}"#;
    assert!(compile(document.as_bytes()).is_ok());
}

#[test]
fn odd_hosts_have_defined_decisions() {
    let table = compile(
        br#"{"domain": "example.com", "services": [{"name": "web", "namespace": "ns",
            "traffic": [{"tag": "v1", "revisionName": "web-1", "percent": 100}]}]}"#,
    )
    .unwrap();
    let request = PlainRequest::default();
    let mut rng = XorShiftRng::seed_from_u64(1);
    let mut decide = |host: &str| match table.route(host, &request, &mut rng) {
        Decision::Route(r) => format!("{}", r.destination.revision),
        Decision::NoSuchTag(_) => "404".to_owned(),
        Decision::PassThrough => "pass".to_owned(),
    };
    for (host, want) in [
        ("web.ns.example.com", "web-1"),
        ("web.ns.example.com:8080", "web-1"),
        ("web.ns.example.com.:1", "web-1"),
        ("WEB.NS.EXAMPLE.COM", "web-1"),
        ("web.ns.example.com:http", "pass"),
        ("web.ns.example.com:80:80", "pass"),
        ("v1-web.ns.example.com", "web-1"),
        ("v9-web.ns.example.com", "404"),
        ("wéb.ns.example.com", "pass"),
        ("web.ns.example.com\u{0}", "pass"),
        ("[::1]", "pass"),
        ("[::1]:8080", "pass"),
        ("[web.ns.example.com]", "pass"),
        ("::1", "pass"),
        ("", "pass"),
        (".", "pass"),
        (":", "pass"),
    ] {
        assert_eq!(decide(host), want, "{host:?}");
    }
    // 64 KB hosts: every shape is answered (and in linear time: see
    // hosts::tests::long_labels_still_find_a_missing_tag_of_a_63_byte_name).
    assert_eq!(decide(&"a".repeat(65_536)), "pass");
    assert_eq!(
        decide(&format!("{}web.ns.example.com", "-".repeat(65_536))),
        "404"
    );
    assert_eq!(
        decide(&format!("{}.ns.example.com", "a-".repeat(32_768))),
        "pass"
    );
}
