//! `istio FILE`: the built binary's manifests for several configurations,
//! each checked against Istio's CRD schemas (as tests/istio_manifests.rs
//! checks the shipped ones) and against the filter itself: the hosts the
//! VirtualServices list are those the filter routes to their service, every
//! revision has its route, a service with a mirror has its mirror routes
//! first, and the Gateway admits every host. For the demo configuration the
//! tool writes the repository's `istio/` manifests, and for the custom-domain
//! example the committed `istio/examples/helloworld-go.yaml`.

// Tests report by panicking.
#![allow(clippy::restriction)]

#[path = "../../tests/support/mod.rs"]
mod support;
mod tool;

use std::path::Path;

use knative_traffic::request::PlainRequest;
use knative_traffic::routing::REVISION_HEADER;
use knative_traffic::{Decision, RouteTable};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;
use serde_json::{json, Value};
use support::istio;
use tool::{data, run, run_with_stdin, Run, ScratchFile};

impl Run {
    /// The manifests written, after checking the run succeeded quietly.
    fn documents(&self) -> Vec<Value> {
        assert_eq!(self.status, 0, "{self:?}");
        assert_eq!(self.stderr, "", "{self:?}");
        istio::documents(&self.stdout)
    }
}

/// A configuration written to a scratch file.
struct Scratch(ScratchFile);

impl Scratch {
    fn new(name: &str, config: &Value) -> Scratch {
        Scratch(ScratchFile::new(
            name,
            &serde_json::to_string_pretty(config).unwrap(),
        ))
    }

    fn path(&self) -> &str {
        self.0.arg()
    }
}

fn kinds(documents: &[Value]) -> Vec<&str> {
    documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap_or("?"))
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// Every WasmPlugin, VirtualService and Gateway passes Istio's schema.
fn assert_schemas(what: &str, documents: &[Value]) {
    for document in documents {
        let errors = istio::schema_violations(document);
        assert!(
            errors.is_empty(),
            "{what}: {} {}:\n{}",
            document["kind"],
            document["metadata"]["name"],
            errors.join("\n")
        );
    }
}

/// The service the filter routes a host to, by its name and namespace (a
/// wildcard host is probed with a label in front).
fn routed_service(table: &RouteTable, host: &str) -> Option<(String, String)> {
    let probe = match host.strip_prefix("*.") {
        Some(suffix) => format!("probe.{suffix}"),
        None => host.to_owned(),
    };
    match table.route(
        &probe,
        &PlainRequest::default(),
        &mut XorShiftRng::seed_from_u64(1),
    ) {
        Decision::Route(r) => Some((r.service.name.to_string(), r.service.namespace.to_string())),
        _ => None,
    }
}

/// What the manifests must be for a configuration, checked with the filter's
/// own compiled table: the WasmPlugin carries the configuration; each
/// service has one VirtualService bound to `gateway`, whose hosts include
/// the service's host and tag hosts on `domain` and all its custom domains
/// and are all routed by the filter to that service; whose routes are, for a
/// service with a mirror, one per other revision matching the mirror header
/// too and mirroring to the candidate's Service, then one per revision,
/// to `{revision}.{namespace}.svc.{cluster_domain}` on `port`, each matching
/// the revision header and the cluster header (the revision's cluster, as the
/// filter writes it); and a Gateway,
/// if written, admits every host.
fn assert_agrees(what: &str, config: &Value, documents: &[Value], expect: &Expect) {
    let table = knative_traffic::compile(config.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("{what}: the configuration is refused: {e}"));
    let plugin = istio::only(documents, "WasmPlugin");
    assert_eq!(
        &plugin["spec"]["pluginConfig"], config,
        "{what}: pluginConfig"
    );
    let virtual_services = istio::all(documents, "VirtualService");
    let mut all_hosts = Vec::new();
    let mut written = 0;
    for (service, json) in table
        .services()
        .iter()
        .zip(config["services"].as_array().unwrap())
    {
        let id = (service.name.to_string(), service.namespace.to_string());
        let domain = json["domain"]
            .as_str()
            .or(config["domain"].as_str())
            .unwrap_or("svc.cluster.local");
        let own = format!("{}.{}.{domain}", service.name, service.namespace);
        let mut want = vec![own.clone()];
        want.extend(service.tags().map(|(tag, _)| format!("{tag}-{own}")));
        want.extend(strings(&json["customDomains"].clone().or_empty()));
        // Cluster-local hosts never face the public gateway.
        want.retain(|h| !expect.cluster_local(h));
        let vs = virtual_services.iter().find(|vs| {
            vs["metadata"]["name"] == *service.name
                && vs["metadata"]["namespace"] == *service.namespace
        });
        let Some(vs) = vs else {
            assert!(
                want.is_empty(),
                "{what}: no VirtualService for {id:?}, which has public hosts {want:?}"
            );
            continue;
        };
        written += 1;
        assert_eq!(
            strings(&vs["spec"]["gateways"]),
            [expect.gateway.as_str()],
            "{what}"
        );
        let hosts = strings(&vs["spec"]["hosts"]);
        for host in &want {
            assert!(
                hosts.contains(host),
                "{what}: {id:?} lacks host {host}: {hosts:?}"
            );
        }
        for host in &hosts {
            assert_eq!(
                routed_service(&table, host).as_ref(),
                Some(&id),
                "{what}: the filter does not route {host} to {id:?}"
            );
            assert!(
                !expect.cluster_local(host),
                "{what}: {id:?} exposes the cluster-local host {host}"
            );
        }
        let unique: std::collections::BTreeSet<&String> = hosts.iter().collect();
        assert_eq!(
            unique.len(),
            hosts.len(),
            "{what}: hosts listed twice: {hosts:?}"
        );
        all_hosts.extend(hosts);

        let service_cluster = |revision: &str| {
            format!(
                "outbound|{}||{revision}.{}.svc.{}",
                expect.port, service.namespace, expect.cluster_domain
            )
        };
        let mut routes = Vec::new();
        if let Some(candidate) = service.mirror_destination() {
            for d in service
                .destinations
                .iter()
                .filter(|d| d.revision != candidate.revision)
            {
                let mut route = istio::HeaderRoute::new(
                    &[
                        (REVISION_HEADER, &d.revision),
                        (table.cluster_header(), d.cluster()),
                        (
                            &table.mirror_header().to_ascii_lowercase(),
                            candidate.cluster(),
                        ),
                    ],
                    &service_cluster(&d.revision),
                );
                route.mirrors = vec![istio::MirrorPolicy {
                    cluster: service_cluster(&candidate.revision),
                    numerator: 1_000_000,
                    denominator: "MILLION",
                }];
                routes.push(route);
            }
        }
        for d in service.destinations.iter() {
            routes.push(istio::HeaderRoute::new(
                &[
                    (REVISION_HEADER, &d.revision),
                    (table.cluster_header(), d.cluster()),
                ],
                &service_cluster(&d.revision),
            ));
        }
        assert_eq!(istio::header_routes(vs), routes, "{what}: {id:?} routes");
    }
    assert_eq!(
        virtual_services.len(),
        written,
        "{what}: one VirtualService per service with public hosts"
    );

    let gateways = istio::all(documents, "Gateway");
    if expect.with_gateway {
        assert_eq!(gateways.len(), 1, "{what}");
        let gateway = &gateways[0];
        assert_eq!(
            istio::namespaced_name(gateway).replacen('.', "/", 1),
            expect.gateway,
            "{what}"
        );
        assert_eq!(
            gateway["spec"]["selector"], plugin["spec"]["selector"]["matchLabels"],
            "{what}: the Gateway and the WasmPlugin select the same pods"
        );
        for vs in &virtual_services {
            let hosts = strings(&vs["spec"]["hosts"]);
            let server_hosts = strings(&gateway["spec"]["servers"][0]["hosts"]);
            let mut admitted = istio::intersection(&server_hosts, &hosts);
            admitted.sort();
            let mut want = hosts.clone();
            want.sort();
            assert_eq!(admitted, want, "{what}: the Gateway admits every host");
        }
    } else {
        assert!(gateways.is_empty(), "{what}");
    }
}

/// What the options given make of the manifests.
struct Expect {
    gateway: String,
    port: u16,
    cluster_domain: String,
    with_gateway: bool,
}

impl Expect {
    /// A host under `svc.{cluster_domain}` or `svc.cluster.local`.
    fn cluster_local(&self, host: &str) -> bool {
        [
            format!("svc.{}", self.cluster_domain),
            "svc.cluster.local".into(),
        ]
        .iter()
        .any(|zone| host == zone || host.ends_with(&format!(".{zone}")))
    }
}

impl Default for Expect {
    fn default() -> Expect {
        Expect {
            gateway: "istio-system/knative-traffic".into(),
            port: 80,
            cluster_domain: "cluster.local".into(),
            with_gateway: false,
        }
    }
}

trait OrEmpty {
    fn or_empty(self) -> Value;
}

impl OrEmpty for Value {
    fn or_empty(self) -> Value {
        if self.is_null() {
            json!([])
        } else {
            self
        }
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

// ------------------------------------------------------------------- tests

/// The demo configuration gives the repository's istio/wasmplugin.yaml and
/// istio/virtualservice.yaml, value for value; the Gateway it writes is
/// istio/gateway.yaml's, listing the hosts that one's `*.example.com` covers.
#[test]
fn the_demo_configuration_writes_the_shipped_manifests() {
    let shipped_plugin = istio::wasm_plugin();
    let config = Scratch::new("demo.json", &shipped_plugin["spec"]["pluginConfig"]);
    let documents = run(&["istio", config.path()]).documents();
    assert_eq!(kinds(&documents), ["WasmPlugin", "VirtualService"]);
    assert_eq!(documents[0], shipped_plugin);
    assert_eq!(documents[1], istio::virtual_service());

    let documents = run(&["istio", config.path(), "--with-gateway"]).documents();
    assert_eq!(
        kinds(&documents),
        ["WasmPlugin", "VirtualService", "Gateway"]
    );
    let (written, shipped) = (&documents[2], istio::gateway());
    assert_eq!(written["apiVersion"], shipped["apiVersion"]);
    assert_eq!(written["metadata"], shipped["metadata"]);
    assert_eq!(written["spec"]["selector"], shipped["spec"]["selector"]);
    let (server, shipped_server) = (
        &written["spec"]["servers"][0],
        &shipped["spec"]["servers"][0],
    );
    assert_eq!(server["port"], shipped_server["port"]);
    let hosts = strings(&documents[1]["spec"]["hosts"]);
    assert_eq!(strings(&server["hosts"]), hosts);
    assert_eq!(
        istio::intersection(&strings(&shipped_server["hosts"]), &hosts),
        hosts
    );
}

/// istio/examples/helloworld-go.yaml is, below its header comment, what the
/// tool writes for helloworld-go.json beside it.
#[test]
fn the_custom_domain_example_is_what_the_tool_writes() {
    let examples = support::repo().join("istio/examples");
    let committed = std::fs::read_to_string(examples.join("helloworld-go.yaml")).unwrap();
    let (header, body) = committed
        .split_once("\n\n")
        .expect("a header comment, a blank line, then the manifests");
    assert!(
        header.lines().all(|l| l.starts_with('#')),
        "the header is comments only:\n{header}"
    );
    let config = examples.join("helloworld-go.json");
    let r = run(&["istio", config.to_str().unwrap(), "--with-gateway"]);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        body, r.stdout,
        "istio/examples/helloworld-go.yaml is stale: regenerate it as its header says"
    );
}

/// Every document for a range of configurations passes Istio's schemas and
/// agrees with the filter.
#[test]
fn the_manifests_pass_istios_schemas_and_agree_with_the_filter() {
    let example = support::repo().join("istio/examples/helloworld-go.json");
    for (file, config) in [
        ("seeds.json", read_json(&data().join("seeds.json"))),
        ("features.json", read_json(&data().join("features.json"))),
        ("helloworld-go.json", read_json(&example)),
    ] {
        let path = Scratch::new(file, &config);
        for with_gateway in [false, true] {
            let mut args = vec!["istio", path.path()];
            if with_gateway {
                args.push("--with-gateway");
            }
            let documents = run(&args).documents();
            let what = format!("{args:?}");
            assert_schemas(&what, &documents);
            let expect = Expect {
                with_gateway,
                ..Expect::default()
            };
            assert_agrees(&what, &config, &documents, &expect);
        }
    }
}

/// Custom domains exact and wildcard, their tag hosts, a mirror by
/// revisionName, cluster and mirror headers of the configuration's choosing,
/// a cluster template and domain of its own, and every option away from its default.
#[test]
fn options_and_the_configurations_own_names_reach_the_manifests() {
    let config = json!({
        "clusterTemplate": "{service}--{revision}",
        "clusterDomain": "corp.internal",
        "clusterHeader": "X-Route-Cluster",
        "mirrorHeader": "X-Shadow-Cluster",
        "services": [
            {
                "name": "helloworld-go", "namespace": "example", "domain": "example.com",
                "traffic": [
                    {"tag": "a", "revisionName": "helloworld-go-00001", "percent": 70},
                    {"tag": "b", "revisionName": "helloworld-go-00002", "percent": 30}
                ],
                "customDomains": ["helloworld-go.weimob.com", "*.weimoba.com"],
                "customDomainTags": true,
                "rules": [{"header": "wid", "prefix": "b", "tag": "b"}],
                "mirror": {"revisionName": "helloworld-go-00003", "percent": 2.5}
            },
            {
                "name": "web", "namespace": "shop", "domain": "example.org",
                "traffic": [{"revisionName": "web-1", "percent": 100}]
            }
        ]
    });
    let file = Scratch::new("everything.json", &config);
    let args = [
        "istio",
        file.path(),
        "--image",
        "registry.corp.internal/traffic/knative-traffic:2.0",
        "--plugin-namespace",
        "edge",
        "--selector",
        "app=edge-gateway",
        "--selector",
        "tier=public",
        "--gateway",
        "edge/public",
        "--port",
        "8080",
        "--with-gateway",
    ];
    let documents = run(&args).documents();
    assert_eq!(
        kinds(&documents),
        ["WasmPlugin", "VirtualService", "VirtualService", "Gateway"]
    );
    assert_schemas("options", &documents);
    let expect = Expect {
        gateway: "edge/public".into(),
        port: 8080,
        cluster_domain: "corp.internal".into(),
        with_gateway: true,
    };
    assert_agrees("options", &config, &documents, &expect);

    let plugin = &documents[0];
    assert_eq!(
        plugin["metadata"],
        json!({"name": "knative-traffic", "namespace": "edge"})
    );
    assert_eq!(
        plugin["spec"]["url"],
        "oci://registry.corp.internal/traffic/knative-traffic:2.0"
    );
    let labels = json!({"app": "edge-gateway", "tier": "public"});
    assert_eq!(plugin["spec"]["selector"]["matchLabels"], labels);
    let gateway = &documents[3];
    assert_eq!(
        gateway["metadata"],
        json!({"name": "public", "namespace": "edge"})
    );
    assert_eq!(gateway["spec"]["selector"], labels);

    // The custom domains' hosts: exact, wildcard, and the exact one's tag
    // hosts (a wildcard derives none); the own hosts first.
    let vs = &documents[1];
    assert_eq!(
        strings(&vs["spec"]["hosts"]),
        [
            "helloworld-go.example.example.com",
            "a-helloworld-go.example.example.com",
            "b-helloworld-go.example.example.com",
            "helloworld-go.weimob.com",
            "*.weimoba.com",
            "a-helloworld-go.weimob.com",
            "b-helloworld-go.weimob.com",
        ]
    );
    // The cluster and mirror headers in lower case, matched on the clusters
    // as the clusterTemplate names them; the candidate has a route of its own.
    let http = vs["spec"]["http"].as_array().unwrap();
    let names: Vec<&str> = http.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "helloworld-go-00001-mirror",
            "helloworld-go-00002-mirror",
            "helloworld-go-00001",
            "helloworld-go-00002",
            "helloworld-go-00003",
        ]
    );
    assert_eq!(
        http[0]["match"][0]["headers"]["x-shadow-cluster"],
        json!({"exact": "helloworld-go--helloworld-go-00003"})
    );
    assert_eq!(
        http[0]["match"][0]["headers"]["x-route-cluster"],
        json!({"exact": "helloworld-go--helloworld-go-00001"})
    );
    assert_eq!(
        http[4]["match"][0]["headers"]["x-route-cluster"],
        json!({"exact": "helloworld-go--helloworld-go-00003"})
    );
    assert_eq!(
        http[0]["mirror"],
        json!({"host": "helloworld-go-00003.example.svc.corp.internal", "port": {"number": 8080}})
    );
    assert_eq!(http[0]["mirrorPercentage"], json!({"value": 100.0}));
    assert_eq!(
        strings(&documents[2]["spec"]["hosts"]),
        ["web.shop.example.org"]
    );
}

/// The warning `istio` gives for a service's cluster-local hosts.
fn cluster_local_warning(file: &str, index: usize, name: &str, hosts: &str, rest: &str) -> String {
    let verb = if hosts.contains(", ") { "are" } else { "is" };
    format!(
        "warning: {file}: services[{index}] ({name}): {hosts} {verb} cluster-local: Knative serves such hosts on its cluster-local gateway only, so they are left out of the VirtualService and the Gateway, which face the public ingress gateway; {rest}\n"
    )
}

/// import-knative's output, through a pipe, for a List of Services: the
/// public one gets its VirtualService, the cluster-local one (labelled
/// `networking.knative.dev/visibility: cluster-local`, its status.url under
/// svc.cluster.local) none, and the Gateway on the public ingress does not
/// list its host; a warning says so.
#[test]
fn an_imported_list_of_services() {
    let imported = run(&["import-knative", "ksvc-list.json"]);
    assert_eq!(imported.status, 0, "{imported:?}");
    let config: Value = serde_json::from_str(&imported.stdout).unwrap();
    assert_eq!(config["services"][1]["domain"], "svc.cluster.local");
    let r = run_with_stdin(&["istio", "-", "--with-gateway"], &imported.stdout);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        r.stderr,
        cluster_local_warning(
            "<stdin>",
            1,
            "payments",
            "payments.shop.svc.cluster.local",
            "no VirtualService is written for the service"
        )
    );
    let documents = istio::documents(&r.stdout);
    assert_eq!(
        kinds(&documents),
        ["WasmPlugin", "VirtualService", "Gateway"]
    );
    assert_eq!(documents[1]["metadata"]["name"], "helloworld-go");
    assert!(
        !r.stdout.contains("payments.shop.svc"),
        "a cluster-local host is exposed:\n{}",
        r.stdout
    );
    assert_schemas("imported list", &documents);
    let expect = Expect {
        with_gateway: true,
        ..Expect::default()
    };
    assert_agrees("imported list", &config, &documents, &expect);
}

/// Hosts under svc.{clusterDomain}, or under the filter's default domain
/// svc.cluster.local, never reach the VirtualServices and the Gateway, which
/// face the public ingress: whether the service names no domain, names the
/// cluster-local one, or has a public custom domain besides (which stays).
#[test]
fn cluster_local_hosts_stay_off_the_public_gateway() {
    let config = json!({
        "clusterDomain": "corp.internal",
        "services": [
            {"name": "web", "namespace": "shop", "domain": "example.com",
             "traffic": [{"revisionName": "web-1", "percent": 100}]},
            {"name": "ledger", "namespace": "shop",
             "traffic": [{"revisionName": "ledger-1", "percent": 100}]},
            {"name": "stock", "namespace": "shop", "domain": "svc.corp.internal",
             "traffic": [{"tag": "next", "revisionName": "stock-2", "percent": 100}]},
            {"name": "orders", "namespace": "shop", "domain": "svc.corp.internal",
             "customDomains": ["orders.example.com"],
             "traffic": [{"revisionName": "orders-1", "percent": 100}]}
        ]
    });
    let file = Scratch::new("local.json", &config);
    let r = run(&["istio", file.path(), "--with-gateway"]);
    assert_eq!(r.status, 0, "{r:?}");
    let none = "no VirtualService is written for the service";
    assert_eq!(
        r.stderr,
        [
            cluster_local_warning(
                file.path(),
                1,
                "ledger",
                "ledger.shop.svc.cluster.local",
                none
            ),
            cluster_local_warning(
                file.path(),
                2,
                "stock",
                "stock.shop.svc.corp.internal, next-stock.shop.svc.corp.internal",
                none
            ),
            cluster_local_warning(
                file.path(),
                3,
                "orders",
                "orders.shop.svc.corp.internal",
                "its other hosts are written"
            ),
        ]
        .concat()
    );
    let documents = istio::documents(&r.stdout);
    assert_eq!(
        kinds(&documents),
        ["WasmPlugin", "VirtualService", "VirtualService", "Gateway"]
    );
    assert_eq!(
        strings(&documents[1]["spec"]["hosts"]),
        ["web.shop.example.com"]
    );
    assert_eq!(
        strings(&documents[2]["spec"]["hosts"]),
        ["orders.example.com"]
    );
    assert_eq!(
        strings(&documents[3]["spec"]["servers"][0]["hosts"]),
        ["web.shop.example.com", "orders.example.com"]
    );
    assert_schemas("cluster-local", &documents);
    let expect = Expect {
        cluster_domain: "corp.internal".into(),
        with_gateway: true,
        ..Expect::default()
    };
    assert_agrees("cluster-local", &config, &documents, &expect);
    // The filter's configuration is whole: the gateway's filter still knows
    // every service.
    assert_eq!(documents[0]["spec"]["pluginConfig"], config);

    // Only cluster-local hosts: no Gateway can be written.
    let only_local = json!({"services": [
        {"name": "ledger", "namespace": "shop",
         "traffic": [{"revisionName": "ledger-1", "percent": 100}]}
    ]});
    let file = Scratch::new("only-local.json", &only_local);
    let r = run(&["istio", file.path()]);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(kinds(&istio::documents(&r.stdout)), ["WasmPlugin"]);
    let r = run(&["istio", file.path(), "--with-gateway"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.ends_with(&format!(
            "{}: --with-gateway: every host of the configuration is cluster-local, so the Gateway would accept no host (Istio refuses a server without hosts)\n",
            file.path()
        )),
        "{r:?}"
    );
}

#[test]
fn an_invalid_configuration_fails_with_the_filters_messages() {
    let r = run(&["istio", "invalid.json"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    let validate = run(&["validate", "invalid.json"]);
    assert_eq!(r.stderr, validate.stderr);

    let r = run(&["istio", "missing.json"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "missing.json: cannot read: No such file or directory (os error 2)\n"
    );
    let r = run_with_stdin(&["istio", "-"], "{\"services\": [}");
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "<stdin>: configuration is not valid JSON: expected value at line 1 column 15\n"
    );
}

/// The filter takes any printable revision name; a Kubernetes Service, which
/// the VirtualService routes to, cannot have one that is not a DNS-1035
/// label.
#[test]
fn a_revision_that_cannot_name_a_kubernetes_service_is_refused() {
    let config = json!({"services": [{
        "name": "web", "namespace": "shop", "domain": "example.com",
        "traffic": [
            {"revisionName": "web_1", "percent": 50},
            {"revisionName": "Web-2", "percent": 50}
        ]
    }]});
    let file = Scratch::new("names.json", &config);
    assert_eq!(run(&["validate", file.path()]).status, 0);
    let r = run(&["istio", file.path()]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    let rule = "cannot name the Kubernetes Service the VirtualService routes to (a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, at most 63 characters)";
    assert_eq!(
        r.stderr,
        format!(
            "{0}: services[0] (web): revision \"web_1\" {rule}\n\
             {0}: services[0] (web): revision \"Web-2\" {rule}\n",
            file.path()
        )
    );
}

/// Without services there is no host for a Gateway to accept: only the
/// WasmPlugin can be written.
#[test]
fn no_services_no_gateway() {
    let file = Scratch::new("empty.json", &json!({"services": []}));
    let documents = run(&["istio", file.path()]).documents();
    assert_eq!(kinds(&documents), ["WasmPlugin"]);
    assert_schemas("no services", &documents);
    let r = run(&["istio", file.path(), "--with-gateway"]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        format!(
            "{}: --with-gateway: the configuration has no services, so the Gateway would accept no host (Istio refuses a server without hosts)\n",
            file.path()
        )
    );
}

#[test]
fn bad_options_are_usage_errors() {
    for (args, message) in [
        (&["istio"][..], "required"),
        (
            &["istio", "seeds.json", "--gateway", "knative-traffic"],
            "is not NAMESPACE/NAME",
        ),
        (
            &["istio", "seeds.json", "--gateway", "Istio/gw"],
            "is not a namespace",
        ),
        (
            &["istio", "seeds.json", "--plugin-namespace", "Istio_System"],
            "is not a namespace",
        ),
        (
            &["istio", "seeds.json", "--selector", "istio"],
            "is not KEY=VALUE",
        ),
        (
            &["istio", "seeds.json", "--selector", "a=b c"],
            "is not a label value",
        ),
        (&["istio", "seeds.json", "--port", "0"], "0"),
        (&["istio", "seeds.json", "--port", "65536"], "65536"),
        (&["istio", "seeds.json", "--image", ""], "without spaces"),
        (&["istio", "seeds.json", "--frobnicate"], "--frobnicate"),
    ] {
        let r = run(args);
        assert_eq!(r.status, 2, "{args:?}: {r:?}");
        assert_eq!(r.stdout, "", "{args:?}");
        assert!(r.stderr.contains(message), "{args:?}: {r:?}");
        assert!(r.stderr.contains("--help"), "{args:?}: {r:?}");
    }
}

#[test]
fn help_names_every_option_and_its_default() {
    let r = run(&["istio", "--help"]);
    assert_eq!(r.status, 0, "{r:?}");
    for text in [
        "Usage: knative-traffic istio [OPTIONS] <FILE>",
        "--image <IMAGE>",
        "[default: oci://registry.example.com/knative-traffic:0.1.0]",
        "--plugin-namespace <NAMESPACE>",
        "[default: istio-system]",
        "--selector <KEY=VALUE>",
        "[default: istio=ingressgateway]",
        "--gateway <NAMESPACE/NAME>",
        "[default: istio-system/knative-traffic]",
        "--with-gateway",
        "--port <PORT>",
        "[default: 80]",
        "--sha256 <HEX>",
        "--image-pull-secret <NAME>",
        "--priority <N>",
        "--fail-strategy <STRATEGY>",
        "[default: FAIL_CLOSE]",
        "[possible values: FAIL_CLOSE, FAIL_OPEN]",
        "--target-ref <KIND/NAME>",
        "--kustomize <DIR>",
        "Exit status:",
    ] {
        assert!(r.stdout.contains(text), "{text:?} not in:\n{}", r.stdout);
    }
    let r = run(&["--help"]);
    assert!(r.stdout.contains("istio"), "{r:?}");
}
