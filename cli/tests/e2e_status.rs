//! `status` against real Envoy (every installed version) with the built
//! module and one demo-backend process per revision: the counts it shows
//! are the requests sent between its two samples, exactly, per revision and
//! reason; the shares follow the configured split within binomial bounds;
//! the mirror's copies are the ones the candidate received; configuration
//! loads are Envoy's own counters, an ECDS update and a refused one
//! included; `--watch --count N` prints N frames; a guard's counts are
//! Envoy's, and once it trips the configured split is its fallback; and an
//! Envoy without the filter, or with its counters off, is said so.

// Tests report by panicking.
#![allow(clippy::restriction)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{assert_binomial, Backend, Ecds, Envoy, EnvoyConfig};

const HOST: &str = "traffic-example.default.example.com";
const V3_HOST: &str = "v3-traffic-example.default.example.com";
/// A tag host of a tag the service does not have: 404.
const NO_SUCH_TAG_HOST: &str = "v9-traffic-example.default.example.com";

/// 80/20 between v1 and v2, v3 at 0% reached by its tag, and 10% of the
/// requests copied to v3.
fn configuration() -> Value {
    json!({
        "domain": "example.com",
        "services": [{
            "name": "traffic-example",
            "namespace": "default",
            "traffic": [
                {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 80},
                {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 20},
                {"tag": "v3", "revisionName": "traffic-example-v3", "percent": 0}
            ],
            "mirror": {"tag": "v3", "percent": 10}
        }]
    })
}

fn admin_url(envoy: &Envoy) -> String {
    format!("http://127.0.0.1:{}", envoy.admin)
}

fn status_command(envoy: &Envoy, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_knative-traffic"));
    command
        .args(["status", "--admin", &admin_url(envoy)])
        .args(args);
    command
}

/// Runs `status` to its end.
fn status(envoy: &Envoy, args: &[&str]) -> Output {
    status_command(envoy, args)
        .output()
        .expect("run knative-traffic status")
}

/// One JSON frame of a successful `status -o json`.
fn json_frame(envoy: &Envoy, args: &[&str]) -> Value {
    let output = status(envoy, &[&["-o", "json"], args].concat());
    assert!(
        output.status.success(),
        "Envoy {}: {output:?}",
        envoy.version
    );
    assert!(output.stderr.is_empty(), "{output:?}");
    let text = String::from_utf8(output.stdout).expect("UTF-8 output");
    assert_eq!(text.lines().count(), 1, "one frame, one line: {text}");
    serde_json::from_str(&text).expect("a JSON frame")
}

/// `status --watch -o json` running, read frame by frame.
struct Watch {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Watch {
    fn start(envoy: &Envoy, args: &[&str]) -> Watch {
        let mut child = status_command(envoy, &[&["--watch", "-o", "json"], args].concat())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start knative-traffic status --watch");
        let stdout = child.stdout.take().expect("stdout");
        Watch {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The next frame; it is written as soon as its second sample is taken,
    /// which is the first sample of the frame after it.
    fn next(&mut self) -> Value {
        let line = self
            .lines
            .next()
            .expect("another frame")
            .expect("read a frame");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Waits for the command to end by itself (`--count`), with no frame
    /// beyond those read.
    fn finish(mut self) {
        let rest: Vec<String> = self.lines.by_ref().map(|l| l.unwrap()).collect();
        assert!(rest.is_empty(), "frames beyond --count: {rest:?}");
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            pipe.read_to_string(&mut stderr).expect("read stderr");
        }
        let status = self.child.wait().expect("status ends");
        assert!(status.success(), "{status}: {stderr}");
        assert!(stderr.is_empty(), "{stderr}");
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What was sent, by revision and reason, as the answers say.
#[derive(Debug, Default)]
struct Sent {
    /// Requests to the service's host, by the revision that answered.
    draws: BTreeMap<String, u64>,
    tag_header: u64,
    tag_host: u64,
    not_found: u64,
}

impl Sent {
    fn draws(&self, revision: &str) -> u64 {
        self.draws.get(revision).copied().unwrap_or(0)
    }

    fn routed(&self) -> u64 {
        self.draws.values().sum::<u64>() + self.tag_header + self.tag_host
    }
}

/// `draws` requests to the split, 15 with the tag header for v2, 10 to v3's
/// tag host and 7 to a tag host of no tag.
fn send(envoy: &Envoy, draws: u64) -> Sent {
    let v = &envoy.version;
    let mut sent = Sent::default();
    for _ in 0..draws {
        let r = envoy.get(HOST, "/", &[]);
        assert_eq!(r.status, 200, "Envoy {v}: {r:?}");
        let revision = format!("traffic-example-{}", r.revision().expect("a revision"));
        *sent.draws.entry(revision).or_insert(0) += 1;
    }
    for _ in 0..15 {
        let r = envoy.get(HOST, "/", &[("Knative-Serving-Tag", "v2")]);
        assert_eq!(r.revision(), Some("v2"), "Envoy {v}: {r:?}");
        sent.tag_header += 1;
    }
    for _ in 0..10 {
        let r = envoy.get(V3_HOST, "/", &[]);
        assert_eq!(r.revision(), Some("v3"), "Envoy {v}: {r:?}");
        sent.tag_host += 1;
    }
    // At once: Envoy closes the connection of a filter's own answer about
    // a second after it (its delayed close), which a client reading to the
    // end waits out.
    std::thread::scope(|scope| {
        let answers: Vec<_> = (0..7)
            .map(|_| scope.spawn(|| envoy.get(NO_SUCH_TAG_HOST, "/", &[])))
            .collect();
        for answer in answers {
            let r = answer.join().expect("a 404 request");
            assert_eq!(r.status, 404, "Envoy {v}: {r:?}");
            sent.not_found += 1;
        }
    });
    sent
}

fn service(frame: &Value) -> &Value {
    let services = frame["services"].as_array().expect("services");
    assert_eq!(services.len(), 1, "{frame}");
    &services[0]
}

fn revision<'f>(frame: &'f Value, name: &str) -> &'f Value {
    service(frame)["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .find(|r| r["revision"] == name)
        .unwrap_or_else(|| panic!("no revision {name} in {frame}"))
}

/// A count of the frame: `[interval, total]`.
fn count(value: &Value) -> [u64; 2] {
    [
        value["interval"]
            .as_u64()
            .unwrap_or_else(|| panic!("{value}")),
        value["total"].as_u64().unwrap_or_else(|| panic!("{value}")),
    ]
}

/// Every reason a revision shows, with its count.
fn reasons(frame: &Value, name: &str) -> BTreeMap<String, [u64; 2]> {
    revision(frame, name)["reasons"]
        .as_object()
        .expect("reasons")
        .iter()
        .map(|(reason, c)| (reason.clone(), count(c)))
        .collect()
}

fn reason_map(pairs: &[(&str, [u64; 2])]) -> BTreeMap<String, [u64; 2]> {
    pairs.iter().map(|(r, c)| ((*r).to_owned(), *c)).collect()
}

/// Asserts a frame's counts: `interval` sent between its samples, `total`
/// since Envoy started.
fn assert_counts(v: &str, frame: &Value, interval: &Sent, total: &Sent) {
    let d = |s: &Sent, r: &str| s.draws(&format!("traffic-example-{r}"));
    assert_eq!(
        reasons(frame, "traffic-example-v1"),
        reason_map(&[
            ("draw", [d(interval, "v1"), d(total, "v1")]),
            ("tag-header", [0, 0]),
            ("tag-host", [0, 0]),
        ]),
        "Envoy {v}: {frame}"
    );
    assert_eq!(
        reasons(frame, "traffic-example-v2"),
        reason_map(&[
            ("draw", [d(interval, "v2"), d(total, "v2")]),
            ("tag-header", [interval.tag_header, total.tag_header]),
            ("tag-host", [0, 0]),
        ]),
        "Envoy {v}: {frame}"
    );
    // v3 is at 0%: never drawn, so it has no draw counter.
    assert_eq!(
        reasons(frame, "traffic-example-v3"),
        reason_map(&[
            ("tag-header", [0, 0]),
            ("tag-host", [interval.tag_host, total.tag_host]),
        ]),
        "Envoy {v}: {frame}"
    );
    assert_eq!(
        count(&service(frame)["notFound"]),
        [interval.not_found, total.not_found],
        "Envoy {v}"
    );
    assert_eq!(
        count(&service(frame)["requests"]),
        [interval.routed(), total.routed()],
        "Envoy {v}"
    );
}

fn configured(frame: &Value) -> Vec<(String, f64)> {
    service(frame)["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .map(|r| {
            (
                r["revision"].as_str().unwrap().to_owned(),
                r["configured"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn split(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
    pairs.iter().map(|(r, p)| ((*r).to_owned(), *p)).collect()
}

fn add(a: &Sent, b: &Sent) -> Sent {
    let mut draws = a.draws.clone();
    for (r, n) in &b.draws {
        *draws.entry(r.clone()).or_insert(0) += n;
    }
    Sent {
        draws,
        tag_header: a.tag_header + b.tag_header,
        tag_host: a.tag_host + b.tag_host,
        not_found: a.not_found + b.not_found,
    }
}

/// Once traffic has been sent, `status` shows it in its totals; traffic sent
/// between two samples of `--watch` is the next frame's interval, exactly.
#[test]
fn status_shows_the_requests_sent_between_its_samples() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start);
    let clusters = support::clusters("traffic-example-", &revisions);
    for bin in support::envoys() {
        let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        config
            .set_plugin_configuration(&configuration())
            .set_clusters(&clusters);
        let envoy = Envoy::start(&bin, config);
        let v = envoy.version.clone();
        let accepted = || envoy.counter("wasmcustom.knative_traffic.config.accepted");

        // Traffic first, then one frame: the totals are what was sent, the
        // interval (no traffic) is empty.
        let before = send(&envoy, 200);
        let frame = json_frame(&envoy, &["--interval", "0.5"]);
        assert_eq!(frame["admin"], admin_url(&envoy));
        assert_eq!(frame["envoy"], v.as_str());
        assert_counts(&v, &frame, &Sent::default(), &before);
        assert_eq!(
            frame["filters"],
            json!([{
                "instances": ["listener ingress (root id knative-traffic)"],
                "services": 1,
                "metrics": true
            }])
        );
        assert_eq!(
            configured(&frame),
            split(&[
                ("traffic-example-v1", 80.0),
                ("traffic-example-v2", 20.0),
                ("traffic-example-v3", 0.0)
            ])
        );
        // Each Wasm VM counts its own load: one configuration, counted by
        // every VM, Envoy's own counter.
        let loads = accepted();
        assert!(loads >= 1, "Envoy {v}: {loads}");
        assert_eq!(count(&frame["config"]["accepted"]), [0, loads], "Envoy {v}");
        assert_eq!(count(&frame["config"]["rejected"]), [0, 0], "Envoy {v}");
        assert_eq!(frame["notes"], json!([]));

        // Mirrored copies trail their requests: let the earlier ones land.
        let v3_before = support::settled_requests(&revisions[2], 0).len();

        // --watch: traffic sent after frame 1 is written, before frame 2's
        // sample (6 s later), is exactly frame 2's interval.
        let interval = Duration::from_secs(6);
        let mut watch = Watch::start(&envoy, &["--interval", "6", "--count", "2"]);
        let first = watch.next();
        let started = Instant::now();
        let n = 400;
        let during = send(&envoy, n);
        let took = started.elapsed();
        assert!(
            took < interval - Duration::from_secs(1),
            "Envoy {v}: the traffic took {took:?}, too long for the interval"
        );
        let second = watch.next();
        watch.finish();
        assert_counts(&v, &first, &Sent::default(), &before);
        let total = add(&before, &during);
        assert_counts(&v, &second, &during, &total);
        let seconds = second["intervalSeconds"].as_f64().unwrap();
        assert!((5.9..7.0).contains(&seconds), "Envoy {v}: {seconds}");

        // The split's share, against the configured 80/20.
        let v1 = during.draws("traffic-example-v1");
        assert_eq!(v1 + during.draws("traffic-example-v2"), n);
        assert_binomial(&format!("Envoy {v}: v1 at 80%"), v1, n, 0.8);
        let share = revision(&second, "traffic-example-v1")["share"]
            .as_f64()
            .unwrap();
        let want = (v1 as f64 * 10_000.0 / n as f64).round() / 100.0;
        assert_eq!(share, want, "Envoy {v}");
        assert_eq!(revision(&second, "traffic-example-v3")["share"], 0.0);

        // The mirror: only requests drawn to v1 and v2 are copied (tagged
        // ones are not, nor v3's own), each with 10%; the copies counted are
        // the ones v3 received, beside its tag host's requests.
        let mirror = &service(&second)["mirror"];
        assert_eq!(mirror["revision"], "traffic-example-v3");
        assert_eq!(mirror["configured"], 10.0);
        assert_eq!(count(&mirror["eligible"])[0], n, "Envoy {v}");
        let copies = count(&mirror["copies"])[0];
        assert_binomial(&format!("Envoy {v}: copies to v3 at 10%"), copies, n, 0.1);
        let v3_received = support::settled_requests(&revisions[2], v3_before).len() as u64;
        assert_eq!(
            v3_received,
            during.tag_host + copies,
            "Envoy {v}: v3 received its tag host's requests and the copies"
        );
        assert_eq!(count(&second["config"]["accepted"]), [0, accepted()]);
        eprintln!(
            "Envoy {v}: {} requests sent in {took:?} between two samples {seconds} s apart, all counted; v1 drew {v1} of {n} (share {share}%, configured 80%); {copies} copies to v3; configuration loads counted: {loads}",
            during.routed() + during.not_found
        );

        // Text, not to a terminal: frames separated by one blank line, and
        // none inside a frame.
        let output = status(&envoy, &["--watch", "--count", "2", "--interval", "0.5"]);
        assert!(output.status.success(), "Envoy {v}: {output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(!text.contains('\x1b'), "no terminal control: {text:?}");
        let frames: Vec<&str> = text.split("\n\n").collect();
        assert_eq!(frames.len(), 2, "Envoy {v}: {text}");
        for frame in &frames {
            let heading = format!("Envoy {v} at {}, ", admin_url(&envoy));
            assert!(frame.starts_with(&heading), "Envoy {v}: {frame}");
            assert!(frame.contains("\nservice default/traffic-example: 0 requests (0.0/s), "));
            let header = frame
                .lines()
                .find(|l| l.trim_start().starts_with("revision"))
                .unwrap();
            assert_eq!(
                header.split_whitespace().collect::<Vec<_>>(),
                [
                    "revision",
                    "requests",
                    "share",
                    "configured",
                    "draw",
                    "tag-header",
                    "tag-host",
                    "total"
                ]
            );
            let v3_row: Vec<&str> = frame
                .lines()
                .find(|l| l.trim_start().starts_with("traffic-example-v3"))
                .unwrap()
                .split_whitespace()
                .collect();
            let v3_total = total.tag_host.to_string();
            assert_eq!(
                v3_row,
                [
                    "traffic-example-v3",
                    "0",
                    "-",
                    "0%",
                    "-",
                    "0",
                    "0",
                    v3_total.as_str()
                ],
                "Envoy {v}"
            );
        }
    }
}

/// Over ECDS the configuration is in the dump's ECDS part: `status` finds
/// it, follows an update (its new split is the configured one), and counts
/// a refused update as Envoy does.
#[test]
fn status_follows_ecds_updates_and_counts_a_refused_one() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start_quiet);
    let clusters = support::clusters("traffic-example-", &revisions);
    let mut configuration = configuration();
    configuration["services"][0]
        .as_object_mut()
        .unwrap()
        .remove("mirror");
    let percents = |c: &mut Value, p: [u32; 3]| {
        for (i, p) in p.iter().enumerate() {
            c["services"][0]["traffic"][i]["percent"] = json!(p);
        }
    };
    for bin in support::envoys() {
        let dir = support::scratch_dir("ecds");
        let ecds = Ecds::new(&dir);
        percents(&mut configuration, [50, 50, 0]);
        ecds.publish(&configuration.to_string());
        let mut config = EnvoyConfig::from_repo("envoy/ecds/envoy.yaml");
        config.set_ecds_path(&ecds.path).set_clusters(&clusters);
        let envoy = Envoy::start(&bin, config).hold(dir);
        let v = envoy.version.clone();
        let counter =
            |name: &str| envoy.counter(&format!("wasmcustom.knative_traffic.config.{name}"));

        let frame = json_frame(&envoy, &["--interval", "0.5"]);
        assert_eq!(
            frame["filters"][0]["instances"],
            json!(["ECDS knative-traffic (root id knative-traffic)"]),
            "Envoy {v}"
        );
        assert_eq!(
            configured(&frame),
            split(&[
                ("traffic-example-v1", 50.0),
                ("traffic-example-v2", 50.0),
                ("traffic-example-v3", 0.0)
            ])
        );

        // Between two frames: a refused update, then one to 90/10, then
        // traffic under it.
        let mut watch = Watch::start(&envoy, &["--interval", "8", "--count", "2"]);
        let first = watch.next();
        let started = Instant::now();
        let accepted_before = counter("accepted");
        let mut refused = configuration.clone();
        percents(&mut refused, [50, 40, 0]);
        ecds.publish(&refused.to_string());
        wait_until(&v, "the refused update is counted", || {
            counter("rejected") == 1
        });
        percents(&mut configuration, [90, 10, 0]);
        ecds.publish(&configuration.to_string());
        // Every VM loads it; its count holds still once they all have.
        wait_until(&v, "the update is loaded", || {
            counter("accepted") > accepted_before
        });
        let mut loads = counter("accepted");
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = counter("accepted");
            if now == loads {
                break;
            }
            loads = now;
        }
        let n = 200;
        let during = send_draws(&envoy, n);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(7),
            "Envoy {v}: the updates and traffic took {took:?}, too long for the interval"
        );
        let second = watch.next();
        watch.finish();

        assert_eq!(count(&first["config"]["rejected"]), [0, 0], "Envoy {v}");
        assert_eq!(count(&second["config"]["rejected"]), [1, 1], "Envoy {v}");
        assert_eq!(
            count(&second["config"]["accepted"]),
            [loads - accepted_before, loads],
            "Envoy {v}"
        );
        assert_eq!(
            configured(&second),
            split(&[
                ("traffic-example-v1", 90.0),
                ("traffic-example-v2", 10.0),
                ("traffic-example-v3", 0.0)
            ]),
            "Envoy {v}"
        );
        let v1 = during.draws("traffic-example-v1");
        assert_binomial(&format!("Envoy {v}: v1 at 90%"), v1, n, 0.9);
        assert_eq!(
            count(&revision(&second, "traffic-example-v1")["reasons"]["draw"])[0],
            v1,
            "Envoy {v}"
        );
        assert_eq!(
            count(&revision(&second, "traffic-example-v2")["reasons"]["draw"])[0],
            n - v1,
            "Envoy {v}"
        );
        eprintln!(
            "Envoy {v}: over ECDS, one refused update and one accepted counted as rejected +1, accepted +{}; then v1 drew {v1} of {n} (configured 90%); all in {took:?} of an 8 s interval",
            loads - accepted_before
        );
    }
}

/// `n` requests to the split only.
fn send_draws(envoy: &Envoy, n: u64) -> Sent {
    let mut sent = Sent::default();
    for _ in 0..n {
        let r = envoy.get(HOST, "/", &[]);
        assert_eq!(r.status, 200, "Envoy {}: {r:?}", envoy.version);
        let revision = format!("traffic-example-{}", r.revision().expect("a revision"));
        *sent.draws.entry(revision).or_insert(0) += 1;
    }
    sent
}

fn wait_until(v: &str, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "Envoy {v}: {what}: not within 5 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An Envoy without the filter: one line naming the URL, exit status 1. A
/// configuration with `"metrics": false`: the configured split, and that
/// nothing is counted.
#[test]
fn no_filter_and_counters_off_are_said_plainly() {
    let revisions = ["v1", "v2", "v3"].map(Backend::start_quiet);
    let clusters = support::clusters("traffic-example-", &revisions);
    for bin in support::envoys() {
        let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        config.set_clusters(&clusters);
        let filters = config.0["static_resources"]["listeners"][0]["filter_chains"][0]["filters"]
            [0]["typed_config"]["http_filters"]
            .as_array_mut()
            .unwrap();
        filters.retain(|f| f["name"] != "knative-traffic");
        let envoy = Envoy::start(&bin, config);
        let v = envoy.version.clone();
        let started = Instant::now();
        let output = status(&envoy, &["--interval", "5"]);
        assert_eq!(output.status.code(), Some(1), "Envoy {v}: {output:?}");
        assert!(output.stdout.is_empty(), "{output:?}");
        assert_eq!(
            String::from_utf8(output.stderr).unwrap(),
            format!(
                "error: {}/config_dump: no knative-traffic filter: Envoy runs no Wasm HTTP filter\n",
                admin_url(&envoy)
            )
        );
        // Said at once, not after the interval.
        assert!(started.elapsed() < Duration::from_secs(4), "Envoy {v}");
        drop(envoy);

        let mut off = configuration();
        off["metrics"] = json!(false);
        let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        config
            .set_plugin_configuration(&off)
            .set_clusters(&clusters);
        let envoy = Envoy::start(&bin, config);
        send(&envoy, 20);
        let frame = json_frame(&envoy, &["--interval", "0.5"]);
        assert_eq!(frame["filters"][0]["metrics"], false, "Envoy {v}");
        assert_eq!(service(&frame)["metrics"], false);
        assert_eq!(service(&frame)["requests"], Value::Null);
        assert_eq!(
            configured(&frame),
            split(&[
                ("traffic-example-v1", 80.0),
                ("traffic-example-v2", 20.0),
                ("traffic-example-v3", 0.0)
            ])
        );
        assert_eq!(
            frame["notes"],
            json!(["the configuration of listener ingress (root id knative-traffic) turns the filter's counters off (\"metrics\": false): its requests are not counted"])
        );
        let output = status(&envoy, &["--interval", "0.5"]);
        assert!(output.status.success(), "Envoy {v}: {output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(
            text.contains("\nservice default/traffic-example: not counted (\"metrics\": false)\n"),
            "Envoy {v}: {text}"
        );
    }
}

/// A static canary under a guard, its candidate failing half its answers:
/// once Envoy's gauge says the guard tripped, `status` says so, the
/// candidate's configured share is 0 and the rest's is all, and the
/// guard's counts are Envoy's counters.
#[test]
fn status_shows_a_guard_and_its_trip() {
    let revisions = ["v1", "v2"].map(Backend::start_quiet);
    revisions[1].fail(50);
    let clusters = support::clusters("traffic-example-", &revisions);
    let guarded = json!({
        "domain": "example.com",
        "services": [{
            "name": "traffic-example",
            "namespace": "default",
            "traffic": [
                {"tag": "v1", "revisionName": "traffic-example-v1", "percent": 80},
                {"tag": "v2", "revisionName": "traffic-example-v2", "percent": 20}
            ],
            "guard": {"tag": "v2"}
        }]
    });
    let counters = "wasmcustom.knative_traffic.guard.namespace.default.service.traffic-example";
    let candidate = |what: &str| format!("{counters}.revision.traffic-example-v2.{what}");
    for bin in support::envoys() {
        let mut config = EnvoyConfig::from_repo("envoy/envoy.yaml");
        config
            .set_plugin_configuration(&guarded)
            .set_clusters(&clusters);
        let envoy = Envoy::start(&bin, config);
        let v = envoy.version.clone();

        // Not tripped yet: the configured split, and the gauge at 0.
        let frame = json_frame(&envoy, &["--interval", "0.5"]);
        assert_eq!(
            service(&frame)["guard"]["tripped"],
            false,
            "Envoy {v}: {frame}"
        );
        assert_eq!(
            configured(&frame),
            split(&[("traffic-example-v1", 80.0), ("traffic-example-v2", 20.0)])
        );

        // Traffic until the gauge says it tripped (the first window of 100
        // candidate answers, judged on the next tick), then two more ticks
        // for every worker to adopt the verdict.
        let started = Instant::now();
        let mut sent = 0;
        while envoy.counter(&candidate("tripped")) == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Envoy {v}: not tripped after {sent} requests\n{}",
                envoy.log()
            );
            for _ in 0..50 {
                let r = envoy.get(HOST, "/", &[]);
                assert!(matches!(r.status, 200 | 503), "Envoy {v}: {r:?}");
                sent += 1;
            }
        }
        let tripped_after = started.elapsed();
        std::thread::sleep(Duration::from_millis(2200));

        let frame = json_frame(&envoy, &["--interval", "0.5"]);
        let guard = &service(&frame)["guard"];
        assert_eq!(
            guard["revision"], "traffic-example-v2",
            "Envoy {v}: {frame}"
        );
        assert_eq!(guard["tripped"], true, "Envoy {v}: {frame}");
        assert_eq!(
            configured(&frame),
            split(&[("traffic-example-v1", 100.0), ("traffic-example-v2", 0.0)]),
            "Envoy {v}"
        );
        let total = |side: &str, what: &str| count(&guard[side][what])[1];
        assert_eq!(
            total("candidate", "answers"),
            envoy.counter(&candidate("answers")),
            "Envoy {v}"
        );
        assert_eq!(
            total("candidate", "failures"),
            envoy.counter(&candidate("failures")),
            "Envoy {v}"
        );
        assert_eq!(
            total("rest", "answers"),
            envoy.counter(&format!("{counters}.base.answers")),
            "Envoy {v}"
        );
        assert!(total("candidate", "answers") >= 100, "Envoy {v}: {guard}");
        assert!(total("candidate", "failures") > 0, "Envoy {v}: {guard}");
        // Every request sent was answered by one side, and the guard's
        // counters are not requests: these are the draws.
        assert_eq!(
            total("candidate", "answers") + total("rest", "answers"),
            sent,
            "Envoy {v}: {guard}"
        );
        assert_eq!(count(&service(&frame)["requests"])[1], sent, "Envoy {v}");
        assert_eq!(frame["notes"], json!([]), "Envoy {v}");

        // No split request reaches v2 now; the text says it tripped.
        for _ in 0..50 {
            let r = envoy.get(HOST, "/", &[]);
            assert_eq!(r.revision(), Some("v1"), "Envoy {v}: {r:?}");
        }
        let output = status(&envoy, &["--interval", "0.5"]);
        assert!(output.status.success(), "Envoy {v}: {output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(
            text.contains(
                "\n  guard on traffic-example-v2: tripped, the split falls back; 0 answers; "
            ),
            "Envoy {v}: {text}"
        );
        eprintln!(
            "Envoy {v}: tripped after {sent} requests in {:.1} s, {} candidate answers ({} failed); status shows v2 configured 0%",
            tripped_after.as_secs_f64(),
            total("candidate", "answers"),
            total("candidate", "failures")
        );
    }
}
