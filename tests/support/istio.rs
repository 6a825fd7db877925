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
//! - The virtual hosts are the intersection of the Gateway server's hosts
//!   (`host`, `ns/host`, `*/host`, `./host`) with the VirtualService's: of
//!   two overlapping names the narrower one (pkg/config/host: `Names.Intersection`,
//!   `Name.SubsetOf`; a wildcard covers any number of labels). A wildcard
//!   virtual host gets the domains `{host}` and `{host}:{port}` (Envoy allows
//!   one wildcard per domain), any other `{host}` and `{host}:*`
//!   (pilot/pkg/networking/core/gateway.go, `buildGatewayVirtualHostDomains`).
//! - A route's `mirror` (or each entry of `mirrors`) becomes an entry of the
//!   route action's `request_mirror_policies`: the cluster
//!   `outbound|{port}||{host}` of the mirror destination, a `runtime_fraction`
//!   whose default is `mirrorPercentage` as a fraction per million
//!   (`value * 10000` / MILLION; the deprecated integer `mirrorPercent` per
//!   hundred; 100% when neither is given; none at all for an explicit 0),
//!   and `trace_sampled: false` (route.go: `MirrorPercent`,
//!   `MirrorPercentByPolicy`, `TranslateRequestMirrorPolicy`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

use super::{repo, scratch_dir, static_cluster, Backend, Envoy, EnvoyConfig};

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

/// Every document of a YAML stream (`---` between documents), as JSON.
pub fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| {
            Value::deserialize(document).unwrap_or_else(|e| panic!("not a YAML stream: {e}"))
        })
        .filter(|document| !document.is_null())
        .collect()
}

/// The documents of a YAML stream of this repository, e.g.
/// `istio/examples/helloworld-go.yaml`.
pub fn stream(path: &str) -> Vec<Value> {
    let path = repo().join(path);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    documents(&text)
}

/// The one document of `kind` among `documents`.
pub fn only<'d>(documents: &'d [Value], kind: &str) -> &'d Value {
    let mut found = documents.iter().filter(|d| d["kind"] == kind);
    let first = found
        .next()
        .unwrap_or_else(|| panic!("no {kind} among the documents"));
    assert!(found.next().is_none(), "more than one {kind}");
    first
}

/// Every document of `kind` among `documents`.
pub fn all(documents: &[Value], kind: &str) -> Vec<Value> {
    documents
        .iter()
        .filter(|d| d["kind"] == kind)
        .cloned()
        .collect()
}

/// The CRD files Istio publishes, with their OpenAPI schemas, as the
/// repository keeps them (`tests/data/istio/`, with where they come from).
pub fn crd(file: &str) -> Value {
    let path = repo().join("tests/data/istio").join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The OpenAPI v3 schema Kubernetes applies to `manifest`, from the CRD of its
/// group and kind, for the version its apiVersion names (which must be
/// served).
fn crd_schema(crd_file: &str, manifest: &Value) -> Value {
    let crd = crd(crd_file);
    let api_version = manifest["apiVersion"].as_str().expect("apiVersion");
    let (group, version) = api_version.split_once('/').expect("group/version");
    assert_eq!(crd["spec"]["group"], group, "{crd_file} is not for {group}");
    assert_eq!(
        crd["spec"]["names"]["kind"], manifest["kind"],
        "{crd_file} is not for kind {}",
        manifest["kind"]
    );
    let entry = crd["spec"]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("{crd_file} has no version {version}"));
    assert_eq!(entry["served"], true, "{api_version} is not served");
    entry["schema"]["openAPIV3Schema"].clone()
}

/// The structural schema as `kubectl apply` holds a manifest to it: every
/// object schema that lists its properties refuses others, unless it keeps
/// unknown fields on purpose (`x-kubernetes-preserve-unknown-fields`).
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let preserves = map.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
            if map.contains_key("properties")
                && !map.contains_key("additionalProperties")
                && !preserves
            {
                map.insert("additionalProperties".into(), json!(false));
            }
            for value in map.values_mut() {
                strict(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

/// The API server's rules for a namespaced object's name and namespace
/// (ObjectMeta: a DNS-1123 subdomain and a DNS-1123 label).
fn metadata_schema() -> Value {
    json!({
        "type": "object",
        "required": ["name", "namespace"],
        "properties": {
            "name": {
                "type": "string",
                "maxLength": 253,
                "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
            },
            "namespace": {
                "type": "string",
                "maxLength": 63,
                "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
            },
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}}
        },
        "additionalProperties": false
    })
}

/// The schema violations of `manifest` against the CRD in `crd_file`, one
/// line each: what `kubectl apply` would refuse, short of the CEL rules.
pub fn violations(crd_file: &str, manifest: &Value) -> Vec<String> {
    let mut schema = crd_schema(crd_file, manifest);
    strict(&mut schema);
    // The API server's own part of every object: the type it was sent to and
    // its ObjectMeta.
    schema["properties"]["apiVersion"] = json!({"enum": [manifest["apiVersion"]]});
    schema["properties"]["kind"] = json!({"enum": [manifest["kind"]]});
    schema["properties"]["metadata"] = metadata_schema();
    let required = schema["required"].as_array().cloned().unwrap_or_default();
    schema["required"] = json!(required
        .into_iter()
        .chain([json!("apiVersion"), json!("kind"), json!("metadata")])
        .collect::<Vec<_>>());
    let validator = jsonschema::draft4::new(&schema)
        .unwrap_or_else(|e| panic!("{crd_file}: the schema does not compile: {e}"));
    validator
        .iter_errors(manifest)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The CRD file of Istio's own schema for a manifest's kind, if
/// `tests/data/istio/` has one (it holds WasmPlugin's, VirtualService's and
/// Gateway's, networking.istio.io's).
pub fn crd_file(kind: &str) -> Option<&'static str> {
    match kind {
        "WasmPlugin" => Some("wasmplugin-crd.yaml"),
        "VirtualService" => Some("virtualservice-crd.yaml"),
        "Gateway" => Some("gateway-crd.yaml"),
        _ => None,
    }
}

/// The schema violations of a WasmPlugin, VirtualService or Gateway, by its
/// kind.
pub fn schema_violations(manifest: &Value) -> Vec<String> {
    let kind = manifest["kind"].as_str().unwrap_or_default();
    let file = crd_file(kind).unwrap_or_else(|| panic!("no CRD schema for kind {kind:?}"));
    violations(file, manifest)
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

/// A request mirror policy of a translated route: the cluster that gets the
/// copies, and the share copied as Envoy's fractional percent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MirrorPolicy {
    pub cluster: String,
    pub numerator: u64,
    /// `HUNDRED` or `MILLION`.
    pub denominator: &'static str,
}

/// One translated HTTP route of a VirtualService: its header matches (name,
/// exact value), the cluster it sends to, and its mirror policies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HeaderRoute {
    pub headers: Vec<(String, String)>,
    pub cluster: String,
    pub mirrors: Vec<MirrorPolicy>,
}

impl HeaderRoute {
    /// A route on exact header matches to `cluster`, mirroring nothing.
    pub fn new(headers: &[(&str, &str)], cluster: &str) -> HeaderRoute {
        let mut headers: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        headers.sort();
        HeaderRoute {
            headers,
            cluster: cluster.to_owned(),
            mirrors: Vec::new(),
        }
    }
}

/// Istio's mirror share (route.go `MirrorPercent`, `MirrorPercentByPolicy`):
/// a `Percent` message's double as a fraction per million (truncated), the
/// deprecated integer per hundred, 100% when neither is given, and no
/// mirroring at all for an explicit 0.
fn mirror_fraction(percentage: &Value, integer: &Value) -> Option<(u64, &'static str)> {
    if !percentage.is_null() {
        let value = percentage["value"].as_f64().unwrap_or(0.0);
        return (value > 0.0).then_some(((value * 10000.0) as u64, "MILLION"));
    }
    if !integer.is_null() {
        let value = integer.as_u64().expect("mirrorPercent is an integer");
        return (value > 0).then_some((value, "HUNDRED"));
    }
    Some((100, "HUNDRED"))
}

/// The fields of an HTTP route this translation knows; a manifest using
/// others would be translated wrongly, so it is refused.
const HTTP_ROUTE_FIELDS: [&str; 8] = [
    "name",
    "match",
    "route",
    "mirror",
    "mirrorPercentage",
    "mirrorPercent",
    "mirror_percent",
    "mirrors",
];

/// The VirtualService's HTTP routes, as Istio translates them; only what
/// this project's manifests use (header `exact` matches, one destination,
/// mirrors).
pub fn header_routes(vs: &Value) -> Vec<HeaderRoute> {
    let mut routes = Vec::new();
    for http in vs["spec"]["http"].as_array().expect("spec.http") {
        for field in http.as_object().expect("an HTTP route").keys() {
            assert!(
                HTTP_ROUTE_FIELDS.contains(&field.as_str()),
                "the test translation does not know the HTTP route field {field}: {http}"
            );
        }
        let destinations = http["route"].as_array().expect("http route");
        assert_eq!(destinations.len(), 1, "one destination per route: {http}");
        let cluster = cluster_name(&destinations[0]["destination"]);
        let mut mirrors = Vec::new();
        if !http["mirror"].is_null() {
            let integer = if http["mirrorPercent"].is_null() {
                &http["mirror_percent"]
            } else {
                &http["mirrorPercent"]
            };
            if let Some((numerator, denominator)) =
                mirror_fraction(&http["mirrorPercentage"], integer)
            {
                mirrors.push(MirrorPolicy {
                    cluster: cluster_name(&http["mirror"]),
                    numerator,
                    denominator,
                });
            }
        }
        for mirror in http["mirrors"].as_array().into_iter().flatten() {
            if let Some((numerator, denominator)) =
                mirror_fraction(&mirror["percentage"], &Value::Null)
            {
                mirrors.push(MirrorPolicy {
                    cluster: cluster_name(&mirror["destination"]),
                    numerator,
                    denominator,
                });
            }
        }
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
                mirrors: mirrors.clone(),
            });
        }
    }
    routes
}

/// The Envoy route for a translated HTTP route.
fn envoy_route(r: &HeaderRoute) -> Value {
    let mut action = json!({"cluster": r.cluster, "timeout": "0s"});
    if !r.mirrors.is_empty() {
        action["request_mirror_policies"] = r
            .mirrors
            .iter()
            .map(|m| {
                json!({
                    "cluster": m.cluster,
                    "runtime_fraction": {"default_value": {
                        "numerator": m.numerator,
                        "denominator": m.denominator
                    }},
                    "trace_sampled": false
                })
            })
            .collect();
    }
    json!({
        "match": {
            "prefix": "/",
            "case_sensitive": true,
            "headers": r.headers.iter().map(|(name, exact)| json!({
                "name": name,
                "string_match": {"exact": exact}
            })).collect::<Vec<_>>()
        },
        "route": action
    })
}

/// `n` is covered by `o` (pkg/config/host `Name.SubsetOf`): a wildcard
/// `*.x` covers any name ending in `.x`, whatever the number of labels.
fn subset_of(n: &str, o: &str) -> bool {
    match (n.strip_prefix('*'), o.strip_prefix('*')) {
        (Some(n_suffix), Some(o_suffix)) => n.len() >= o.len() && n_suffix.ends_with(o_suffix),
        (Some(_), None) => false,
        (None, Some(o_suffix)) => n.ends_with(o_suffix),
        (None, None) => n == o,
    }
}

/// Istio's `Names.Intersection` of a Gateway server's hosts with a
/// VirtualService's: of two overlapping names, the narrower.
pub fn intersection(server_hosts: &[String], vs_hosts: &[String]) -> Vec<String> {
    let mut result: Vec<String> = Vec::new();
    for h in server_hosts {
        for o in vs_hosts {
            let narrower = if subset_of(h, o) {
                h
            } else if subset_of(o, h) {
                o
            } else {
                continue;
            };
            if !result.contains(narrower) {
                result.push(narrower.clone());
            }
        }
    }
    result
}

/// A Gateway server's hosts that apply to a VirtualService in `vs_namespace`
/// (pkg/config/host `NamesForNamespace`; `./` is the Gateway's namespace).
fn server_hosts_for(server: &Value, gateway_namespace: &str, vs_namespace: &str) -> Vec<String> {
    server["hosts"]
        .as_array()
        .expect("server hosts")
        .iter()
        .filter_map(|h| {
            let h = text(h, "server host");
            match h.split_once('/') {
                Some((ns, host)) => {
                    let ns = if ns == "." { gateway_namespace } else { ns };
                    (ns == vs_namespace || ns == "*").then(|| host.to_owned())
                }
                None => Some(h.to_owned()),
            }
        })
        .collect()
}

/// Whether a VirtualService binds to the Gateway (`ns/name`, or a bare name
/// in the VirtualService's own namespace).
fn binds_to(vs: &Value, gateway: &Value) -> bool {
    let gw_namespace = text(&gateway["metadata"]["namespace"], "gateway namespace");
    let gw_name = text(&gateway["metadata"]["name"], "gateway name");
    let vs_namespace = text(&vs["metadata"]["namespace"], "metadata.namespace");
    vs["spec"]["gateways"]
        .as_array()
        .expect("spec.gateways")
        .iter()
        .any(|g| {
            let g = text(g, "gateway");
            match g.split_once('/') {
                Some((ns, name)) => ns == gw_namespace && name == gw_name,
                None => g == gw_name && vs_namespace == gw_namespace,
            }
        })
}

/// The domains of a gateway virtual host (gateway.go
/// `buildGatewayVirtualHostDomains`).
fn virtual_host_domains(host: &str, port: u64) -> Vec<String> {
    if host == "*" {
        vec![host.to_owned()]
    } else if host.starts_with('*') {
        vec![host.to_owned(), format!("{host}:{port}")]
    } else {
        vec![host.to_owned(), format!("{host}:*")]
    }
}

/// The gateway's route configuration for the Gateway's HTTP servers (all on
/// one port) and the VirtualServices bound to it: one virtual host per host
/// in both a server's and a VirtualService's hosts, with the routes of every
/// VirtualService that has it, in order.
pub fn gateway_route_config(gateway: &Value, virtual_services: &[Value]) -> Value {
    let gw_namespace = text(&gateway["metadata"]["namespace"], "gateway namespace");
    let servers = gateway["spec"]["servers"]
        .as_array()
        .expect("gateway servers");
    let port = servers[0]["port"]["number"]
        .as_u64()
        .expect("server port number");
    for server in servers {
        assert_eq!(server["port"]["number"], port, "one server port: {server}");
        assert_eq!(server["port"]["protocol"], "HTTP", "HTTP servers: {server}");
    }
    let mut virtual_hosts: Vec<(String, Vec<Value>)> = Vec::new();
    for vs in virtual_services.iter().filter(|vs| binds_to(vs, gateway)) {
        let vs_namespace = text(&vs["metadata"]["namespace"], "metadata.namespace");
        let vs_hosts: Vec<String> = vs["spec"]["hosts"]
            .as_array()
            .expect("spec.hosts")
            .iter()
            .map(|h| text(h, "host").to_owned())
            .collect();
        let routes: Vec<Value> = header_routes(vs).iter().map(envoy_route).collect();
        let mut hosts: Vec<String> = Vec::new();
        for server in servers {
            let server_hosts = server_hosts_for(server, gw_namespace, vs_namespace);
            for host in intersection(&server_hosts, &vs_hosts) {
                if !hosts.contains(&host) {
                    hosts.push(host);
                }
            }
        }
        for host in hosts {
            match virtual_hosts.iter_mut().find(|(h, _)| *h == host) {
                Some((_, existing)) => existing.extend(routes.iter().cloned()),
                None => virtual_hosts.push((host, routes.clone())),
            }
        }
    }
    let virtual_hosts: Vec<Value> = virtual_hosts
        .into_iter()
        .map(|(host, routes)| {
            json!({
                "name": format!("{host}:{port}"),
                "domains": virtual_host_domains(&host, port),
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

/// The ingress gateway's Envoy as Istio configures it from these manifests:
/// the WasmPlugin's filter over ECDS under Istio's name, and the routes of
/// the VirtualServices bound to the Gateway; every cluster a route or a
/// mirror policy names points at the backend `backends` has for it.
pub fn gateway_envoy(
    bin: &Path,
    gateway: &Value,
    plugin: &Value,
    virtual_services: &[Value],
    backends: &BTreeMap<String, &Backend>,
) -> Envoy {
    let dir = scratch_dir("istio-ecds");
    let ecds = write_ecds(&dir, &[wasm_extension_config(plugin, &super::wasm())]);
    let mut names: Vec<String> = Vec::new();
    for vs in virtual_services {
        for route in header_routes(vs) {
            let mirrors = route.mirrors.into_iter().map(|m| m.cluster);
            for name in std::iter::once(route.cluster).chain(mirrors) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    let clusters: Vec<Value> = names
        .iter()
        .map(|name| {
            let backend = backends
                .get(name)
                .unwrap_or_else(|| panic!("no backend for cluster {name}"));
            static_cluster(name, backend.port)
        })
        .collect();
    let config = json!({
        "node": {
            "id": "router~127.0.0.1~istio-ingressgateway.istio-system~istio-system.svc.cluster.local",
            "cluster": "istio-ingressgateway.istio-system"
        },
        "admin": {},
        "static_resources": {
            "listeners": [{
                "name": "0.0.0.0_8080",
                "address": {},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "outbound_0.0.0.0_8080",
                        "route_config": gateway_route_config(gateway, virtual_services),
                        "http_filters": [
                            wasm_http_filter(plugin, &ecds),
                            {
                                "name": "envoy.filters.http.router",
                                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
                            }
                        ]
                    }
                }]}]
            }],
            "clusters": clusters
        }
    });
    Envoy::start(bin, EnvoyConfig(config)).hold(dir)
}

/// Writes an ECDS file holding `resources`.
pub fn write_ecds(dir: &Path, resources: &[Value]) -> PathBuf {
    let path = dir.join("ecds.json");
    fs::write(&path, json!({ "resources": resources }).to_string()).expect("write ECDS file");
    path
}
