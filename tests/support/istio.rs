//! The Istio manifests in `istio/`, and what Istio makes of them for the
//! gateway's Envoy, so that a test can run real Envoy the way Istio would
//! configure it, without Kubernetes.
//!
//! What Istio does, and where (istio/istio):
//! - A WasmPlugin becomes an HTTP filter named
//!   `extensions.istio.io/wasmplugin/{namespace}.{name}` whose configuration
//!   comes over ECDS (`config_discovery`, type URLs of the Wasm and RBAC
//!   filters), as a Wasm `PluginConfig` with `name: {namespace}.{name}`,
//!   `root_id: {pluginName}`, runtime V8, the plugin's `pluginConfig`
//!   serialised to JSON as a `google.protobuf.StringValue` configuration, and
//!   `failStrategy` as the failure policy
//!   (pilot/pkg/model/extensions.go, pilot/pkg/networking/core/extension/wasmplugin.go).
//!   The agent fetches the module and hands Envoy a local file (pkg/wasm).
//! - A VirtualService bound to a gateway becomes, for each of its hosts, a
//!   virtual host `{host}:{port}` with domains `{host}` and `{host}:*`
//!   (pilot/pkg/networking/core/gateway.go), and each HTTP route a route
//!   matching prefix `/` with its header matches sorted by name, sending to
//!   the cluster `outbound|{port}||{host}` of a single destination
//!   (pilot/pkg/networking/core/route/route.go). A request that matches no
//!   route gets Envoy's 404.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::repo;

/// A manifest of `istio/`, as JSON.
pub fn manifest(file: &str) -> Value {
    let path = repo().join("istio").join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn wasm_plugin() -> Value {
    manifest("wasmplugin.yaml")
}

pub fn virtual_service() -> Value {
    manifest("virtualservice.yaml")
}

pub fn gateway() -> Value {
    manifest("gateway.yaml")
}

/// The CRD files Istio publishes, with their OpenAPI schemas: `../shared/istio/`
/// beside the repository.
pub fn crd(file: &str) -> Value {
    let dir = repo().join("../shared/istio");
    assert!(
        dir.is_dir(),
        "{} is missing: the Istio CRDs (with their OpenAPI schemas) are read from ../shared/istio beside the repository",
        dir.display()
    );
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text<'v>(value: &'v Value, what: &str) -> &'v str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"))
}

/// `{namespace}.{name}` of a resource.
pub fn namespaced_name(resource: &Value) -> String {
    format!(
        "{}.{}",
        text(&resource["metadata"]["namespace"], "metadata.namespace"),
        text(&resource["metadata"]["name"], "metadata.name")
    )
}

/// The name of the HTTP filter (and of its ECDS resource) Istio creates for a
/// WasmPlugin.
pub fn filter_name(plugin: &Value) -> String {
    format!("extensions.istio.io/wasmplugin/{}", namespaced_name(plugin))
}

/// The plugin configuration string Istio hands the filter: `pluginConfig`
/// as compact JSON.
pub fn plugin_configuration(plugin: &Value) -> String {
    let config = &plugin["spec"]["pluginConfig"];
    assert!(config.is_object(), "spec.pluginConfig is not an object");
    config.to_string()
}

/// The ECDS resource Istio serves for a WasmPlugin, with the module already
/// fetched to `module` (as Istio's agent does).
pub fn wasm_extension_config(plugin: &Value, module: &Path) -> Value {
    let spec = &plugin["spec"];
    let failure_policy = match spec["failStrategy"].as_str().unwrap_or("FAIL_CLOSE") {
        "FAIL_CLOSE" => "FAIL_CLOSED",
        "FAIL_OPEN" => "FAIL_OPEN",
        "FAIL_RELOAD" => "FAIL_RELOAD",
        other => panic!("unknown failStrategy {other}"),
    };
    json!({
        "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "name": filter_name(plugin),
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": namespaced_name(plugin),
                "root_id": spec["pluginName"].as_str().unwrap_or(""),
                "vm_config": {
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": module.to_str().expect("utf-8 path")}},
                    "environment_variables": {"key_values": {
                        "ISTIO_META_WASM_IMAGE_PULL_POLICY": spec["imagePullPolicy"].as_str().unwrap_or("UNSPECIFIED_POLICY"),
                        "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION": "1"
                    }}
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": plugin_configuration(plugin)
                },
                "failure_policy": failure_policy
            }
        }
    })
}

/// The HTTP filter Istio puts in the gateway's listener for a WasmPlugin: its
/// configuration comes over ECDS, here from `ecds_file`.
pub fn wasm_http_filter(plugin: &Value, ecds_file: &Path) -> Value {
    json!({
        "name": filter_name(plugin),
        "config_discovery": {
            "config_source": {
                "path_config_source": {"path": ecds_file.to_str().expect("utf-8 path")},
                "resource_api_version": "V3"
            },
            "type_urls": [
                "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"
            ]
        }
    })
}

/// Istio's cluster name for a destination: `outbound|{port}||{host}`.
pub fn cluster_name(destination: &Value) -> String {
    format!(
        "outbound|{}||{}",
        destination["port"]["number"]
            .as_u64()
            .expect("destination port number"),
        text(&destination["host"], "destination host")
    )
}

/// One translated HTTP route of a VirtualService: its header matches (name,
/// exact value) and the cluster it sends to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HeaderRoute {
    pub headers: Vec<(String, String)>,
    pub cluster: String,
}

/// The VirtualService's HTTP routes, as Istio translates them; only what
/// this project's manifests use (header `exact` matches, one destination).
pub fn header_routes(vs: &Value) -> Vec<HeaderRoute> {
    let mut routes = Vec::new();
    for http in vs["spec"]["http"].as_array().expect("spec.http") {
        let destinations = http["route"].as_array().expect("http route");
        assert_eq!(destinations.len(), 1, "one destination per route: {http}");
        let cluster = cluster_name(&destinations[0]["destination"]);
        for m in http["match"].as_array().expect("http match") {
            let mut headers: Vec<(String, String)> = m["headers"]
                .as_object()
                .expect("match headers")
                .iter()
                .map(|(name, matcher)| {
                    let exact = text(&matcher["exact"], "header match exact");
                    (name.clone(), exact.to_owned())
                })
                .collect();
            headers.sort();
            routes.push(HeaderRoute {
                headers,
                cluster: cluster.clone(),
            });
        }
    }
    routes
}

/// The gateway's route configuration for the VirtualService on the Gateway
/// server port `port`.
pub fn gateway_route_config(vs: &Value, port: u16) -> Value {
    let routes: Vec<Value> = header_routes(vs)
        .into_iter()
        .map(|r| {
            json!({
                "match": {
                    "prefix": "/",
                    "case_sensitive": true,
                    "headers": r.headers.iter().map(|(name, exact)| json!({
                        "name": name,
                        "string_match": {"exact": exact}
                    })).collect::<Vec<_>>()
                },
                "route": {"cluster": r.cluster, "timeout": "0s"}
            })
        })
        .collect();
    let virtual_hosts: Vec<Value> = vs["spec"]["hosts"]
        .as_array()
        .expect("spec.hosts")
        .iter()
        .map(|host| {
            let host = text(host, "host");
            json!({
                "name": format!("{host}:{port}"),
                "domains": [host, format!("{host}:*")],
                "routes": routes,
                "include_request_attempt_count": true
            })
        })
        .collect();
    json!({
        "name": format!("http.{port}"),
        "virtual_hosts": virtual_hosts,
        "validate_clusters": false
    })
}

/// Writes an ECDS file holding `resources`.
pub fn write_ecds(dir: &Path, resources: &[Value]) -> PathBuf {
    let path = dir.join("ecds.json");
    fs::write(&path, json!({ "resources": resources }).to_string()).expect("write ECDS file");
    path
}
