//! The Istio manifests in istio/ (WasmPlugin, VirtualService, Gateway),
//! checked by machine:
//!
//! - against Istio's own CRDs (`tests/data/istio/`, cut from istio/api): the
//!   OpenAPI v3 schema of the version each manifest names, applied by a JSON
//!   Schema validator (the `jsonschema` crate, draft 4, the dialect OpenAPI
//!   v3.0 schemas are based on), with unknown fields refused as
//!   `kubectl apply` refuses them (strict field validation, its default
//!   since Kubernetes 1.27) and `metadata` held to the API server's name
//!   rules. The CRDs' CEL rules (`x-kubernetes-validations`) are Kubernetes
//!   extensions that no JSON Schema validator evaluates;
//! - against each other and against the filter: the WasmPlugin carries the
//!   same demo configuration as envoy/envoy.yaml, that configuration compiles,
//!   the VirtualService lists exactly the hosts the filter serves and routes
//!   each revision, by the revision and cluster headers the filter writes, to
//!   its Service, and the Gateway is the one both select.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::collections::BTreeSet;

use knative_traffic::request::PlainRequest;
use knative_traffic::routing::REVISION_HEADER;
use serde_json::{json, Value};
use support::istio;
use support::EnvoyConfig;

#[test]
fn the_wasm_plugin_passes_istios_schema() {
    let plugin = istio::wasm_plugin();
    assert_eq!(plugin["apiVersion"], "extensions.istio.io/v1alpha1");
    assert_eq!(plugin["kind"], "WasmPlugin");
    let errors = istio::violations("wasmplugin-crd.yaml", &plugin);
    assert!(
        errors.is_empty(),
        "istio/wasmplugin.yaml:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_gateway_passes_istios_schema() {
    let gateway = istio::gateway();
    assert_eq!(gateway["apiVersion"], "networking.istio.io/v1");
    assert_eq!(gateway["kind"], "Gateway");
    let errors = istio::violations("gateway-crd.yaml", &gateway);
    assert!(
        errors.is_empty(),
        "istio/gateway.yaml:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_virtual_service_passes_istios_schema() {
    let vs = istio::virtual_service();
    assert_eq!(vs["kind"], "VirtualService");
    let errors = istio::violations("virtualservice-crd.yaml", &vs);
    assert!(
        errors.is_empty(),
        "istio/virtualservice.yaml:\n{}",
        errors.join("\n")
    );
}

/// Renames a field, as a typo would.
fn rename(object: &mut Value, from: &str, to: &str) {
    let object = object.as_object_mut().expect("an object");
    let value = object.remove(from).expect("the field to rename");
    object.insert(to.to_owned(), value);
}

/// The validation is real: broken copies of the manifests are refused, each
/// for its own fault.
#[test]
fn the_schemas_refuse_broken_manifests() {
    let refused = |crd: &str, manifest: &Value, fault: &str, want: &str| {
        let errors = istio::violations(crd, manifest);
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{fault}: want an error mentioning {want:?}, got {errors:?}"
        );
    };

    let mut plugin = istio::wasm_plugin();
    plugin["spec"]["failStrategy"] = json!("FAIL_CLOSED");
    refused("wasmplugin-crd.yaml", &plugin, "enum value", "FAIL_CLOSED");

    let mut plugin = istio::wasm_plugin();
    plugin["spec"]["phase"] = json!("ROUTING");
    refused("wasmplugin-crd.yaml", &plugin, "enum value", "ROUTING");

    let mut plugin = istio::wasm_plugin();
    rename(&mut plugin["spec"], "pluginConfig", "pluginConfg");
    refused(
        "wasmplugin-crd.yaml",
        &plugin,
        "unknown field",
        "pluginConfg",
    );

    let mut plugin = istio::wasm_plugin();
    plugin["spec"]["match"] = json!([{"mode": "CLIENT", "ports": [{"number": 70000}]}]);
    refused("wasmplugin-crd.yaml", &plugin, "port range", "70000");

    let mut plugin = istio::wasm_plugin();
    plugin["metadata"]["name"] = json!("Knative_Traffic");
    refused(
        "wasmplugin-crd.yaml",
        &plugin,
        "object name",
        "Knative_Traffic",
    );

    let mut vs = istio::virtual_service();
    vs["spec"]["http"][0]["match"][0]["headers"][REVISION_HEADER] =
        json!({"exact": "traffic-example-v1", "prefix": "traffic-example"});
    refused(
        "virtualservice-crd.yaml",
        &vs,
        "two string matches",
        "/spec/http/0/match/0/headers",
    );

    let mut vs = istio::virtual_service();
    vs["spec"]["http"][0]["route"][0]["destination"]["port"]["number"] = json!("80");
    refused("virtualservice-crd.yaml", &vs, "port type", "\"80\"");

    let mut vs = istio::virtual_service();
    rename(
        &mut vs["spec"]["http"][0]["route"][0],
        "destination",
        "destinaton",
    );
    refused(
        "virtualservice-crd.yaml",
        &vs,
        "unknown field",
        "destinaton",
    );

    let mut gateway = istio::gateway();
    gateway["spec"]["servers"][0]["port"]
        .as_object_mut()
        .unwrap()
        .remove("protocol");
    refused("gateway-crd.yaml", &gateway, "required field", "protocol");

    let mut gateway = istio::gateway();
    gateway["spec"]["servers"][0]["port"]["number"] = json!(-80);
    refused("gateway-crd.yaml", &gateway, "port range", "-80");

    let mut gateway = istio::gateway();
    rename(&mut gateway["spec"]["servers"][0], "hosts", "host");
    refused(
        "gateway-crd.yaml",
        &gateway,
        "unknown field",
        "'host' was unexpected",
    );

    let mut gateway = istio::gateway();
    gateway["spec"]["selector"]["istio"] = json!(true);
    refused("gateway-crd.yaml", &gateway, "label type", "true");
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

/// A Gateway server host (`*.example.com`, `ns/host`) covers `host`.
fn covers(server_host: &str, host: &str) -> bool {
    let pattern = server_host.rsplit('/').next().unwrap_or(server_host);
    match pattern.strip_prefix('*') {
        Some(suffix) => host.ends_with(suffix),
        None => pattern == host,
    }
}

#[test]
fn the_manifests_agree_with_each_other_and_with_the_filter() {
    let plugin = istio::wasm_plugin();
    let vs = istio::virtual_service();
    let gateway = istio::gateway();

    // One demo configuration: the WasmPlugin's is envoy/envoy.yaml's.
    let config = plugin["spec"]["pluginConfig"].clone();
    assert_eq!(
        config,
        EnvoyConfig::from_repo("envoy/envoy.yaml").plugin_configuration(),
        "istio/wasmplugin.yaml's pluginConfig and envoy/envoy.yaml's configuration differ"
    );
    let table = knative_traffic::compile(istio::plugin_configuration(&plugin).as_bytes())
        .unwrap_or_else(|e| panic!("pluginConfig is refused: {e:?}"));

    // The hosts the filter serves on the gateway's domain, and one route per
    // revision on the revision and cluster headers the filter writes (the
    // cluster header is the one a client cannot bring through the filter).
    let mut hosts = BTreeSet::new();
    let mut routes = BTreeSet::new();
    for (service, json) in table
        .services()
        .iter()
        .zip(config["services"].as_array().unwrap())
    {
        let domain = json["domain"]
            .as_str()
            .or(config["domain"].as_str())
            .unwrap_or("svc.cluster.local");
        let host = format!("{}.{}.{domain}", service.name, service.namespace);
        for (tag, _) in service.tags() {
            hosts.insert(format!("{tag}-{host}"));
        }
        hosts.insert(host);
        for d in service.destinations.iter() {
            routes.insert(istio::HeaderRoute::new(
                &[
                    (REVISION_HEADER, &d.revision),
                    (table.cluster_header(), d.cluster()),
                ],
                &format!(
                    "outbound|80||{}.{}.svc.cluster.local",
                    d.revision, service.namespace
                ),
            ));
        }
    }
    assert_eq!(strings(&vs["spec"]["hosts"]), hosts, "VirtualService hosts");
    let vs_routes: Vec<istio::HeaderRoute> = istio::header_routes(&vs);
    assert_eq!(
        vs_routes.len(),
        routes.len(),
        "one route per revision: {vs_routes:?}"
    );
    assert_eq!(
        vs_routes.into_iter().collect::<BTreeSet<_>>(),
        routes,
        "VirtualService routes"
    );

    // The VirtualService binds to the Gateway, which selects the pods the
    // WasmPlugin selects and accepts every host of the VirtualService.
    let gateway_ref = format!(
        "{}/{}",
        gateway["metadata"]["namespace"].as_str().unwrap(),
        gateway["metadata"]["name"].as_str().unwrap()
    );
    assert_eq!(
        strings(&vs["spec"]["gateways"]),
        BTreeSet::from([gateway_ref])
    );
    assert_eq!(
        gateway["spec"]["selector"], plugin["spec"]["selector"]["matchLabels"],
        "the Gateway and the WasmPlugin must select the same pods"
    );
    let server_hosts: Vec<String> = gateway["spec"]["servers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| strings(&s["hosts"]))
        .collect();
    for host in &hosts {
        assert!(
            server_hosts.iter().any(|s| covers(s, host)),
            "no Gateway server accepts {host}: {server_hosts:?}"
        );
    }

    // The module image the WasmPlugin pulls is an OCI reference.
    assert!(
        plugin["spec"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("oci://")),
        "spec.url"
    );
}

/// The custom-domain example (istio/examples/helloworld-go.yaml, written by
/// the command-line tool from helloworld-go.json beside it).
const EXAMPLE: &str = "istio/examples/helloworld-go.yaml";
const EXAMPLE_CONFIG: &str = "istio/examples/helloworld-go.json";

#[test]
fn the_custom_domain_example_passes_istios_schemas() {
    let documents = istio::stream(EXAMPLE);
    let kinds: Vec<&str> = documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["WasmPlugin", "VirtualService", "Gateway"]);
    for document in &documents {
        let errors = istio::schema_violations(document);
        assert!(
            errors.is_empty(),
            "{EXAMPLE}: {}:\n{}",
            document["kind"],
            errors.join("\n")
        );
    }
}

#[test]
fn the_custom_domain_example_agrees_with_its_configuration() {
    let documents = istio::stream(EXAMPLE);
    let plugin = istio::only(&documents, "WasmPlugin");
    let vs = istio::only(&documents, "VirtualService");
    let gateway = istio::only(&documents, "Gateway");

    // The configuration is helloworld-go.json, and the filter takes it.
    let text = std::fs::read_to_string(support::repo().join(EXAMPLE_CONFIG)).unwrap();
    let config: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(plugin["spec"]["pluginConfig"], config);
    let table = knative_traffic::compile(istio::plugin_configuration(plugin).as_bytes())
        .unwrap_or_else(|e| panic!("pluginConfig is refused: {e:?}"));

    // The hosts: the service's own and its tags', and its custom domains,
    // each one the filter routes to helloworld-go; the tag hosts of custom
    // domains only with customDomainTags, which the example does not set.
    let hosts: Vec<String> = vs["spec"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        hosts,
        [
            "helloworld-go.example.example.com",
            "a-helloworld-go.example.example.com",
            "b-helloworld-go.example.example.com",
            "helloworld-go.weimob.com",
            "helloworld-go.weimobb.com",
        ]
    );
    let mut rng = <rand_xorshift::XorShiftRng as rand_core::SeedableRng>::seed_from_u64(1);
    for host in &hosts {
        match table.route(host, &PlainRequest::default(), &mut rng) {
            knative_traffic::Decision::Route(r) => assert_eq!(&*r.service.name, "helloworld-go"),
            other => panic!("{host}: {other:?}"),
        }
    }
    assert!(matches!(
        table.route(
            "a-helloworld-go.weimob.com",
            &PlainRequest::default(),
            &mut rng
        ),
        knative_traffic::Decision::PassThrough
    ));

    // The routes, each on the revision and cluster headers: first the one
    // that also matches the mirror header (only the revision that is not the
    // candidate can be copied), mirroring all it matches to the candidate's
    // Service; then one per revision.
    let service = |revision: &str| format!("outbound|80||{revision}.example.svc.cluster.local");
    let cluster = table.cluster_header();
    let mut mirrored = istio::HeaderRoute::new(
        &[
            (REVISION_HEADER, "helloworld-go-00001"),
            (cluster, "helloworld-go-00001"),
            (table.mirror_header(), "helloworld-go-00002"),
        ],
        &service("helloworld-go-00001"),
    );
    mirrored.mirrors = vec![istio::MirrorPolicy {
        cluster: service("helloworld-go-00002"),
        numerator: 1_000_000,
        denominator: "MILLION",
    }];
    assert_eq!(
        istio::header_routes(vs),
        [
            mirrored,
            istio::HeaderRoute::new(
                &[
                    (REVISION_HEADER, "helloworld-go-00001"),
                    (cluster, "helloworld-go-00001")
                ],
                &service("helloworld-go-00001")
            ),
            istio::HeaderRoute::new(
                &[
                    (REVISION_HEADER, "helloworld-go-00002"),
                    (cluster, "helloworld-go-00002")
                ],
                &service("helloworld-go-00002")
            ),
        ]
    );
    let candidate = table.services()[0].mirror_destination().unwrap();
    assert_eq!(candidate.cluster(), "helloworld-go-00002");

    // The Gateway admits every host of the VirtualService, which binds to it,
    // and selects the pods the WasmPlugin selects.
    let server_hosts: Vec<String> = strings(&gateway["spec"]["servers"][0]["hosts"])
        .into_iter()
        .collect();
    let mut admitted = istio::intersection(&server_hosts, &hosts);
    admitted.sort();
    let mut want = hosts.clone();
    want.sort();
    assert_eq!(admitted, want);
    assert_eq!(
        strings(&vs["spec"]["gateways"]),
        BTreeSet::from([istio::namespaced_name(gateway).replacen('.', "/", 1)])
    );
    assert_eq!(
        gateway["spec"]["selector"],
        plugin["spec"]["selector"]["matchLabels"]
    );
}
