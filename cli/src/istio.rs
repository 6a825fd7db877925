//! `istio FILE`: the Istio manifests for a configuration, as a YAML stream:
//! the WasmPlugin that loads the filter into the ingress gateway with the
//! configuration as its `pluginConfig`, one VirtualService per service, and
//! with `--with-gateway` the Gateway they bind to. The defaults are those of
//! the repository's `istio/` manifests, which this command writes for the
//! demo configuration. With `--kustomize DIR` the same documents, the
//! Gateway always among them, go into a kustomize base for `kubectl apply
//! -k` instead (`deploy/istio/` is the one for the demo configuration).
//!
//! The WasmPlugin's knobs: the image (`url`) and its `sha256`, the
//! `imagePullSecret`, `priority` and `failStrategy`, and where it attaches:
//! the pods its `selector` labels, or the resources of its `targetRefs` (the
//! CRD allows one of the two).
//!
//! A VirtualService lists the service's hosts (its host, its tag hosts, its
//! custom domains and, with `customDomainTags`, their tag hosts) and routes
//! each revision to its Kubernetes Service by two headers the filter writes:
//! `knative-serving-revision` and the cluster header (the revision's cluster,
//! `x-knative-cluster` unless `clusterHeader` says otherwise). Only the
//! cluster header proves that the filter chose the revision: a client can
//! send `knative-serving-revision` on a host the filter passes through (one
//! that Istio's virtual host takes but the filter does not serve, such as
//! two labels in front of a wildcard custom domain, whose `*` covers one
//! label for the filter and any number for Istio), while the filter removes
//! a client's cluster header there and overwrites it on every request it
//! routes. A service with a `mirror` also gets, first, a route per other
//! revision that matches the mirror header as well (the candidate's cluster,
//! as the filter writes it on the requests it chose to copy) and mirrors
//! every request it matches to the candidate's Service: the filter has
//! already chosen the share, so `mirrorPercentage` is 100.
//!
//! Hosts under `svc.{clusterDomain}` (and under `svc.cluster.local`, the
//! filter's default domain) are cluster-local: Knative publishes a Service
//! whose URL is there (its domain is `svc.cluster.local`, or it is labelled
//! `networking.knative.dev/visibility: cluster-local`) on its cluster-local
//! gateway only, never on the public one. The VirtualServices
//! and the Gateway written here face the public ingress gateway, so such
//! hosts are left out of them, with a warning; a service with no other host
//! gets no VirtualService.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use knative_traffic::compile::external_hosts;
use knative_traffic::config::{Document, DEFAULT_CLUSTER_DOMAIN, DEFAULT_DOMAIN};
use knative_traffic::names::{is_dns1035_label, is_dns1123_label, is_label_part, is_object_name};
use knative_traffic::routing::{Destination, Service, REVISION_HEADER};
use knative_traffic::RouteTable;
use serde::Serialize;

use crate::{input, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

/// The module image of `istio/wasmplugin.yaml`.
const DEFAULT_IMAGE: &str = "oci://registry.example.com/knative-traffic:0.1.0";
/// Istio's root namespace, where the ingress gateway runs.
const DEFAULT_PLUGIN_NAMESPACE: &str = "istio-system";
/// The label of Istio's default ingress gateway pods.
const DEFAULT_SELECTOR: &str = "istio=ingressgateway";
/// The Gateway of `istio/gateway.yaml`.
const DEFAULT_GATEWAY: &str = "istio-system/knative-traffic";
/// The port of each revision's Service in `istio/virtualservice.yaml`.
const DEFAULT_PORT: u16 = 80;
/// The WasmPlugin's name and `pluginName` (the filter's root id).
const PLUGIN_NAME: &str = "knative-traffic";
/// The `failStrategy` of `istio/wasmplugin.yaml`: deny if the module cannot
/// be loaded.
const FAIL_CLOSE: &str = "FAIL_CLOSE";
const FAIL_OPEN: &str = "FAIL_OPEN";
/// At most this many `targetRefs` (the CRD's `maxItems`).
const MAX_TARGET_REFS: usize = 16;
/// The group of the Kubernetes Gateway API's kinds.
const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";

/// Write the Istio manifests for a configuration.
///
/// Checks the configuration with the filter's own validation, then writes a
/// YAML stream for `kubectl apply -f -`: the WasmPlugin that loads the
/// filter into the gateway pods with the configuration as pluginConfig, and
/// one VirtualService per service listing its hosts (own, tag, custom
/// domains) and routing each revision, by the Knative-Serving-Revision and
/// cluster headers the filter writes, to its Kubernetes Service
/// {revision}.{namespace}.svc;
/// for a service with a mirror, routes that also match the mirror header
/// come first and copy the request to the candidate's Service. With
/// --with-gateway, also the Gateway, accepting exactly those hosts. Hosts
/// under svc.{clusterDomain} are cluster-local (Knative publishes them on its
/// cluster-local gateway only) and are left out, with a warning on standard
/// error. The defaults are those of the repository's istio/ manifests.
///
/// With --kustomize DIR, the same manifests, the Gateway always among them,
/// are written as a kustomize base into DIR (kustomization.yaml,
/// wasmplugin.yaml, gateway.yaml, virtualservices.yaml) for
/// `kubectl apply -k DIR`; change the image and the like per cluster in an
/// overlay.
#[derive(clap::Args)]
pub struct Args {
    /// The filter's configuration: JSON or YAML, an Envoy config or ECDS
    /// resource with the filter, or a WasmPlugin; `-` reads standard input
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The module image the WasmPlugin pulls (its url): an OCI image
    /// reference, or a URL with its scheme (oci://, https://, file://)
    #[arg(long, value_name = "IMAGE", default_value = DEFAULT_IMAGE, value_parser = parse_image)]
    image: String,
    /// The WasmPlugin's namespace: the gateway pods' namespace, or Istio's
    /// root namespace
    #[arg(long, value_name = "NAMESPACE", default_value = DEFAULT_PLUGIN_NAMESPACE, value_parser = parse_namespace)]
    plugin_namespace: String,
    /// A label of the gateway pods the filter is loaded into (the
    /// WasmPlugin's and the Gateway's selector); repeat for several
    #[arg(long = "selector", value_name = "KEY=VALUE", default_value = DEFAULT_SELECTOR, value_parser = parse_label)]
    selectors: Vec<Label>,
    /// The Gateway the VirtualServices bind to
    #[arg(long, value_name = "NAMESPACE/NAME", default_value = DEFAULT_GATEWAY, value_parser = parse_gateway)]
    gateway: GatewayRef,
    /// Also write that Gateway: an HTTP server on port 80 accepting every host
    /// of the VirtualServices
    #[arg(long)]
    with_gateway: bool,
    /// The port of each revision's Kubernetes Service
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
    /// The module's SHA-256, which Istio checks after pulling it (the
    /// WasmPlugin's sha256): for an oci:// image the digest of the image
    /// manifest Istio pulls, for an http(s):// URL the file's; 64 hex digits,
    /// `sha256:` in front allowed
    #[arg(long, value_name = "HEX", value_parser = parse_sha256)]
    sha256: Option<String>,
    /// The Secret, in the WasmPlugin's namespace, holding the registry
    /// credentials to pull the image with (imagePullSecret)
    #[arg(long, value_name = "NAME", value_parser = parse_secret)]
    image_pull_secret: Option<String>,
    /// The WasmPlugin's priority among those in the same phase (higher runs
    /// first; Istio's default is 0)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    priority: Option<i32>,
    /// What the gateway does when it cannot load the module: FAIL_CLOSE
    /// denies the requests, FAIL_OPEN lets them through unfiltered (where a
    /// client's own revision and cluster headers pick the route)
    #[arg(long, value_name = "STRATEGY", default_value = FAIL_CLOSE, value_parser = [FAIL_CLOSE, FAIL_OPEN])]
    fail_strategy: String,
    /// A resource in the WasmPlugin's namespace whose proxies get the filter
    /// (the WasmPlugin's targetRefs, in place of its selector): Gateway/NAME
    /// or GatewayClass/NAME (gateway.networking.k8s.io), Service/NAME or
    /// ServiceEntry/NAME (for waypoints); repeat for several
    #[arg(long = "target-ref", value_name = "KIND/NAME", value_parser = parse_target_ref, conflicts_with = "selectors")]
    target_refs: Vec<TargetRef>,
    /// Write a kustomize base into DIR for `kubectl apply -k DIR` instead
    /// of a YAML stream on standard output: kustomization.yaml,
    /// wasmplugin.yaml, gateway.yaml (the Gateway is always written) and
    /// virtualservices.yaml
    #[arg(long, value_name = "DIR")]
    kustomize: Option<PathBuf>,
}

/// A pod label, `key=value`.
#[derive(Clone)]
struct Label {
    key: String,
    value: String,
}

/// A Gateway, `namespace/name`.
#[derive(Clone)]
struct GatewayRef {
    namespace: String,
    name: String,
}

/// A resource the WasmPlugin attaches to: an entry of its `targetRefs`
/// (Istio's `PolicyTargetReference`, with no namespace: the CRD refuses
/// cross-namespace references, so the target is in the WasmPlugin's).
#[derive(Clone, PartialEq, Serialize)]
struct TargetRef {
    group: &'static str,
    kind: &'static str,
    name: String,
}

impl GatewayRef {
    fn reference(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

fn parse_image(value: &str) -> Result<String, String> {
    if value.is_empty() || value.chars().any(char::is_whitespace) {
        return Err("an image reference or URL, without spaces".into());
    }
    Ok(if value.contains("://") {
        value.to_owned()
    } else {
        format!("oci://{value}")
    })
}

fn parse_namespace(value: &str) -> Result<String, String> {
    if is_dns1123_label(value) {
        Ok(value.to_owned())
    } else {
        Err(format!("{value:?} is not a namespace (a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters)"))
    }
}

fn parse_gateway(value: &str) -> Result<GatewayRef, String> {
    let Some((namespace, name)) = value.split_once('/') else {
        return Err(format!("{value:?} is not NAMESPACE/NAME"));
    };
    let namespace = parse_namespace(namespace)?;
    if !is_object_name(name) {
        return Err(format!(
            "{name:?} is not a Gateway name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.')"
        ));
    }
    Ok(GatewayRef {
        namespace,
        name: name.to_owned(),
    })
}

fn parse_label(value: &str) -> Result<Label, String> {
    let Some((key, label_value)) = value.split_once('=') else {
        return Err(format!("{value:?} is not KEY=VALUE"));
    };
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let key_ok = !name.is_empty() && is_label_part(name) && prefix.is_none_or(is_object_name);
    if !key_ok {
        return Err(format!("{key:?} is not a label key"));
    }
    if !is_label_part(label_value) {
        return Err(format!("{label_value:?} is not a label value"));
    }
    Ok(Label {
        key: key.to_owned(),
        value: label_value.to_owned(),
    })
}

fn parse_sha256(value: &str) -> Result<String, String> {
    let hex = value.strip_prefix("sha256:").unwrap_or(value);
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex.to_ascii_lowercase())
    } else {
        Err(format!(
            "{value:?} is not a SHA-256 checksum (64 hex digits, optionally after sha256:)"
        ))
    }
}

fn parse_secret(value: &str) -> Result<String, String> {
    if is_object_name(value) {
        Ok(value.to_owned())
    } else {
        Err(format!("{value:?} is not a Secret name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.')"))
    }
}

/// The kinds Istio attaches a WasmPlugin to, with their groups (istio/api
/// `extensions/v1alpha1/wasm.proto`, `targetRefs`).
const TARGET_KINDS: [(&str, &str); 4] = [
    ("Gateway", GATEWAY_API_GROUP),
    ("GatewayClass", GATEWAY_API_GROUP),
    ("Service", ""),
    ("ServiceEntry", "networking.istio.io"),
];

fn parse_target_ref(value: &str) -> Result<TargetRef, String> {
    let kinds = "Gateway, GatewayClass, Service or ServiceEntry";
    let Some((kind, name)) = value.split_once('/') else {
        return Err(format!("{value:?} is not KIND/NAME (KIND: {kinds})"));
    };
    let Some(&(kind, group)) = TARGET_KINDS.iter().find(|(k, _)| *k == kind) else {
        return Err(format!(
            "{kind:?} is not a kind a WasmPlugin attaches to ({kinds})"
        ));
    };
    // A Service's name is a DNS-1035 label; the others' a DNS-1123
    // subdomain.
    let name_ok = if kind == "Service" {
        is_dns1035_label(name)
    } else {
        is_object_name(name)
    };
    if !name_ok {
        let rule = if kind == "Service" {
            "a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, at most 63 characters"
        } else {
            "a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'"
        };
        return Err(format!("{name:?} is not a {kind} name ({rule})"));
    }
    Ok(TargetRef {
        group,
        kind,
        name: name.to_owned(),
    })
}

// ------------------------------------------------------------ the manifests

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<S> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: S,
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    namespace: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmPluginSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<Selector>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    target_refs: Vec<TargetRef>,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    image_pull_policy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_pull_secret: Option<String>,
    plugin_name: &'static str,
    phase: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<i32>,
    fail_strategy: String,
    #[serde(rename = "match")]
    match_: Vec<TrafficSelector>,
    plugin_config: serde_yaml::Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct TrafficSelector {
    mode: &'static str,
}

#[derive(Serialize)]
struct VirtualServiceSpec {
    gateways: Vec<String>,
    hosts: Vec<String>,
    http: Vec<HttpRoute>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HttpRoute {
    name: String,
    #[serde(rename = "match")]
    match_: Vec<MatchRequest>,
    route: Vec<RouteDestination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirror: Option<ServiceDestination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirror_percentage: Option<Percent>,
}

#[derive(Serialize)]
struct MatchRequest {
    headers: BTreeMap<String, StringMatch>,
}

#[derive(Serialize)]
struct StringMatch {
    exact: String,
}

#[derive(Serialize)]
struct RouteDestination {
    destination: ServiceDestination,
}

#[derive(Serialize, Clone)]
struct ServiceDestination {
    host: String,
    port: PortSelector,
}

#[derive(Serialize, Clone)]
struct PortSelector {
    number: u16,
}

#[derive(Serialize)]
struct Percent {
    value: f64,
}

#[derive(Serialize)]
struct GatewaySpec {
    selector: BTreeMap<String, String>,
    servers: Vec<Server>,
}

#[derive(Serialize)]
struct Server {
    port: ServerPort,
    hosts: Vec<String>,
}

#[derive(Serialize)]
struct ServerPort {
    number: u16,
    name: &'static str,
    protocol: &'static str,
}

/// One document of the stream: its kind, the comment above it and its
/// YAML.
struct Written {
    kind: &'static str,
    comment: String,
    yaml: String,
}

/// Documents as a YAML stream, `---` between them.
fn stream<'w>(documents: impl IntoIterator<Item = &'w Written>) -> String {
    let mut text = String::new();
    for document in documents {
        if !text.is_empty() {
            text.push_str("---\n");
        }
        text.push_str(&document.comment);
        text.push_str(&document.yaml);
    }
    text
}

pub fn run(args: &Args, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    let targets = target_refs(args);
    if targets.len() > MAX_TARGET_REFS {
        writeln!(
            err,
            "error: --target-ref: at most {MAX_TARGET_REFS} targets (the WasmPlugin's targetRefs holds {MAX_TARGET_REFS}), got {}\n\nFor more information, try '--help'.",
            targets.len()
        )?;
        return Ok(EXIT_USAGE);
    }
    let (located, table) = match input::read_located(&args.file) {
        Ok(read) => read,
        Err(errors) => {
            for error in errors {
                writeln!(err, "{error}")?;
            }
            return Ok(EXIT_FAILURE);
        }
    };
    let file = &located.input.name;
    let mut warnings = Vec::new();
    let result = manifests(args, &located.json, &table, &mut warnings);
    for warning in &warnings {
        writeln!(err, "warning: {file}: {warning}")?;
    }
    match result {
        Ok(documents) => match &args.kustomize {
            None => {
                write!(out, "{}", stream(&documents))?;
                Ok(EXIT_OK)
            }
            Some(dir) => write_kustomize(args, dir, &documents, out, err),
        },
        Err(errors) => {
            for error in errors {
                writeln!(err, "{file}: {error}")?;
            }
            Ok(EXIT_FAILURE)
        }
    }
}

/// The documents for a configuration the filter accepts, or why it cannot
/// be written as Istio manifests; what is left out goes to `warnings`.
fn manifests(
    args: &Args,
    json: &[u8],
    table: &RouteTable,
    warnings: &mut Vec<String>,
) -> Result<Vec<Written>, Vec<String>> {
    // The document's own fields that the compiled table does not keep (the
    // domains), and the configuration as written, in its own field order.
    let document = knative_traffic::compile::parse(json)
        .map_err(|e| e.0.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    let plugin_config: serde_yaml::Value = serde_json::from_slice(json)
        .map_err(|e| vec![format!("configuration is not valid JSON: {e}")])?;
    if document.services.len() != table.services().len() {
        return Err(vec![
            "the configuration's services and the compiled table differ".into(),
        ]);
    }

    let selector: BTreeMap<String, String> = args
        .selectors
        .iter()
        .map(|l| (l.key.clone(), l.value.clone()))
        .collect();
    // The WasmPlugin attaches to the pods the selector labels, or, with
    // targetRefs, to the proxies of those resources (never both: the CRD
    // allows one of the two).
    let targets = target_refs(args);
    let (plugin_selector, proxies) = if targets.is_empty() {
        let labels = selector
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(", ");
        (
            Some(Selector {
                match_labels: selector.clone(),
            }),
            format!("the gateway pods labelled {labels}"),
        )
    } else {
        let named = targets
            .iter()
            .map(|t| format!("{} {}", t.kind, t.name))
            .collect::<Vec<_>>()
            .join(", ");
        (None, format!("the proxies of {named} (targetRefs)"))
    };
    let failure = if args.fail_strategy == FAIL_OPEN {
        format!(
            "and if it cannot be loaded, requests pass without it (FAIL_OPEN): \
             nothing then removes a client's knative-serving-revision and {} \
             headers, so a client can pick the route.",
            table.cluster_header()
        )
    } else {
        "and requests are denied if it cannot be loaded (FAIL_CLOSE): the \
         routes trust the headers it writes."
            .to_owned()
    };
    let mut text = format!(
        "The knative-traffic filter in {proxies}, with the configuration as \
         pluginConfig. It runs after Istio's authentication and authorization \
         (phase STATS), {failure}"
    );
    if let Some(priority) = args.priority {
        text.push_str(&format!(
            " Among the WasmPlugins of its phase it has priority {priority} (higher runs first)."
        ));
    }
    if let Some(secret) = &args.image_pull_secret {
        text.push_str(&format!(
            " The image is pulled with the credentials in the Secret {secret} of {}.",
            args.plugin_namespace
        ));
    }
    if args.sha256.is_some() {
        text.push_str(" Istio refuses a module whose checksum differs from sha256.");
    }

    let mut documents = Vec::new();
    let plugin = Manifest {
        api_version: "extensions.istio.io/v1alpha1",
        kind: "WasmPlugin",
        metadata: Metadata {
            name: PLUGIN_NAME.into(),
            namespace: args.plugin_namespace.clone(),
        },
        spec: WasmPluginSpec {
            selector: plugin_selector,
            target_refs: targets,
            url: args.image.clone(),
            sha256: args.sha256.clone(),
            image_pull_policy: "IfNotPresent",
            image_pull_secret: args.image_pull_secret.clone(),
            plugin_name: PLUGIN_NAME,
            phase: "STATS",
            priority: args.priority,
            fail_strategy: args.fail_strategy.clone(),
            match_: vec![TrafficSelector { mode: "CLIENT" }],
            plugin_config,
        },
    };
    documents.push(Written {
        kind: "WasmPlugin",
        comment: comment(&text),
        yaml: to_yaml(&plugin)?,
    });

    let mut errors = Vec::new();
    let mut all_hosts: Vec<String> = Vec::new();
    let cluster_domain = document
        .cluster_domain
        .as_deref()
        .unwrap_or(DEFAULT_CLUSTER_DOMAIN);
    for (index, (spec, service)) in document.services.iter().zip(table.services()).enumerate() {
        // Hosts under svc.{clusterDomain}, and those the visibility keeps
        // off public names, stay off the public gateway.
        let (public, private) = external_hosts(&document, spec);
        let (mut local, public): (Vec<String>, Vec<String>) = public
            .into_iter()
            .partition(|h| is_cluster_local(h, cluster_domain));
        local.extend(private);
        if !local.is_empty() {
            let outcome = if public.is_empty() {
                "no VirtualService is written for the service"
            } else {
                "its other hosts are written"
            };
            warnings.push(format!(
                "services[{index}] ({}): {} {} cluster-local: Knative serves such hosts on its cluster-local gateway only, so they are left out of the VirtualService and the Gateway, which face the public ingress gateway; {outcome}",
                spec.name,
                local.join(", "),
                if local.len() == 1 { "is" } else { "are" },
            ));
        }
        if public.is_empty() {
            continue;
        }
        match virtual_service(args, &document, table, public, service) {
            Ok((vs, comment)) => {
                for host in &vs.spec.hosts {
                    push_unique(&mut all_hosts, host);
                }
                documents.push(Written {
                    kind: "VirtualService",
                    comment,
                    yaml: to_yaml(&vs)?,
                });
            }
            Err(messages) => errors.extend(
                messages
                    .into_iter()
                    .map(|m| format!("services[{index}] ({}): {m}", spec.name)),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // A kustomize base always has the Gateway.
    let gateway_option = if args.kustomize.is_some() {
        Some("--kustomize")
    } else if args.with_gateway {
        Some("--with-gateway")
    } else {
        None
    };
    if let Some(option) = gateway_option {
        if all_hosts.is_empty() {
            let why = if document.services.is_empty() {
                "the configuration has no services"
            } else {
                "every host of the configuration is cluster-local"
            };
            return Err(vec![format!(
                "{option}: {why}, so the Gateway would accept no host (Istio refuses a server without hosts)"
            )]);
        }
        let gateway = Manifest {
            api_version: "networking.istio.io/v1",
            kind: "Gateway",
            metadata: Metadata {
                name: args.gateway.name.clone(),
                namespace: args.gateway.namespace.clone(),
            },
            spec: GatewaySpec {
                selector,
                servers: vec![Server {
                    port: ServerPort {
                        number: 80,
                        name: "http",
                        protocol: "HTTP",
                    },
                    hosts: all_hosts,
                }],
            },
        };
        documents.push(Written {
            kind: "Gateway",
            comment: comment(
                "The ingress gateway's HTTP server for every host of the VirtualServices.",
            ),
            yaml: to_yaml(&gateway)?,
        });
    }
    Ok(documents)
}

/// The `--target-ref` targets, each once, in the order given.
fn target_refs(args: &Args) -> Vec<TargetRef> {
    let mut targets: Vec<TargetRef> = Vec::new();
    for target in &args.target_refs {
        if !targets.contains(target) {
            targets.push(target.clone());
        }
    }
    targets
}

/// The files of a kustomize base, in the order `kustomization.yaml` lists
/// them, with the kind each holds.
const KUSTOMIZE_FILES: [(&str, &str); 3] = [
    ("wasmplugin.yaml", "WasmPlugin"),
    ("gateway.yaml", "Gateway"),
    ("virtualservices.yaml", "VirtualService"),
];

/// Writes the documents as a kustomize base into `dir`: a file per kind,
/// then `kustomization.yaml` listing them.
fn write_kustomize(
    args: &Args,
    dir: &Path,
    documents: &[Written],
    out: &mut impl Write,
    err: &mut impl Write,
) -> io::Result<u8> {
    let mut files: Vec<(&str, String)> = Vec::new();
    for (file, kind) in KUSTOMIZE_FILES {
        let text = stream(documents.iter().filter(|d| d.kind == kind));
        if !text.is_empty() {
            files.push((file, text));
        }
    }
    let resources: Vec<&str> = files.iter().map(|(file, _)| *file).collect();
    let kustomization = kustomization(args, &resources);
    files.push(("kustomization.yaml", kustomization));
    if let Err(e) = fs::create_dir_all(dir) {
        writeln!(err, "{}: cannot create the directory: {e}", dir.display())?;
        return Ok(EXIT_FAILURE);
    }
    for (file, text) in &files {
        let path = dir.join(file);
        if let Err(e) = fs::write(&path, text) {
            writeln!(err, "{}: cannot write: {e}", path.display())?;
            return Ok(EXIT_FAILURE);
        }
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(EXIT_OK)
}

/// The base's `kustomization.yaml`: a header saying where it comes from and
/// how to write it again, and the resources.
fn kustomization(args: &Args, resources: &[&str]) -> String {
    let mut text = comment(
        "A kustomize base for `kubectl apply -k DIR`, written by `knative-traffic \
         istio --kustomize`: the WasmPlugin that loads the knative-traffic filter \
         with the configuration as pluginConfig, the Gateway, and a \
         VirtualService per service. Regenerate it rather than edit it:",
    );
    text.push_str("#\n#   knative-traffic istio FILE --kustomize DIR");
    for option in options_given(args) {
        text.push_str(" \\\n#     ");
        text.push_str(&option);
    }
    text.push_str("\n#\n");
    text.push_str(&comment(
        "with FILE the configuration (wasmplugin.yaml's pluginConfig, as JSON). \
         Set what differs between clusters (the image, its sha256, the pull \
         secret, the priority) in an overlay that has this directory among its \
         resources.",
    ));
    text.push_str("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n");
    for resource in resources {
        text.push_str(&format!("- {resource}\n"));
    }
    text
}

/// The options of `args` that differ from their defaults, as they are
/// written on the command line.
fn options_given(args: &Args) -> Vec<String> {
    let mut options = Vec::new();
    let mut push =
        |name: &str, value: &str| options.push(format!("--{name} {}", shell_word(value)));
    if args.image != DEFAULT_IMAGE {
        push("image", &args.image);
    }
    if args.plugin_namespace != DEFAULT_PLUGIN_NAMESPACE {
        push("plugin-namespace", &args.plugin_namespace);
    }
    let labels: Vec<String> = args
        .selectors
        .iter()
        .map(|l| format!("{}={}", l.key, l.value))
        .collect();
    if labels != [DEFAULT_SELECTOR] {
        for label in &labels {
            push("selector", label);
        }
    }
    if args.gateway.reference() != DEFAULT_GATEWAY {
        push("gateway", &args.gateway.reference());
    }
    if args.port != DEFAULT_PORT {
        push("port", &args.port.to_string());
    }
    if let Some(sha256) = &args.sha256 {
        push("sha256", sha256);
    }
    if let Some(secret) = &args.image_pull_secret {
        push("image-pull-secret", secret);
    }
    if let Some(priority) = args.priority {
        push("priority", &priority.to_string());
    }
    if args.fail_strategy != FAIL_CLOSE {
        push("fail-strategy", &args.fail_strategy);
    }
    for target in target_refs(args) {
        push("target-ref", &format!("{}/{}", target.kind, target.name));
    }
    options
}

/// `word` as one word for a POSIX shell: as it is when that is safe, else in
/// single quotes.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@+,%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn to_yaml(value: &impl Serialize) -> Result<String, Vec<String>> {
    serde_yaml::to_string(value).map_err(|e| vec![format!("cannot write the manifests: {e}")])
}

/// `text` as YAML comment lines of at most 78 characters (longer words
/// stay whole).
fn comment(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > 78 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// A host under `svc.{cluster_domain}` or under the filter's default domain
/// `svc.cluster.local` (a wildcard included): one that Knative serves on its
/// cluster-local gateway only, and that is no public name.
fn is_cluster_local(host: &str, cluster_domain: &str) -> bool {
    let under = |zone: &str| {
        host == zone
            || host
                .strip_suffix(zone)
                .is_some_and(|rest| rest.ends_with('.'))
    };
    under(&format!("svc.{cluster_domain}")) || under(DEFAULT_DOMAIN)
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_owned());
    }
}

/// A service's VirtualService and the comment above it, or what stops it.
fn virtual_service(
    args: &Args,
    document: &Document,
    table: &RouteTable,
    hosts: Vec<String>,
    service: &Service,
) -> Result<(Manifest<VirtualServiceSpec>, String), Vec<String>> {
    let cluster_domain = document
        .cluster_domain
        .as_deref()
        .unwrap_or(DEFAULT_CLUSTER_DOMAIN);
    let errors: Vec<String> = service
        .destinations
        .iter()
        .filter(|d| !is_dns1035_label(&d.revision))
        .map(|d| {
            format!(
                "revision {:?} cannot name the Kubernetes Service the VirtualService routes to (a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
                d.revision
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let destination = |d: &Destination| ServiceDestination {
        host: format!("{}.{}.svc.{cluster_domain}", d.revision, service.namespace),
        port: PortSelector { number: args.port },
    };
    // The table's header names are in lower case, as Istio wants them
    // (header names match in any case).
    let cluster_header = table.cluster_header();
    let revision_match = |d: &Destination| {
        BTreeMap::from([
            (
                REVISION_HEADER.to_owned(),
                StringMatch {
                    exact: d.revision.to_string(),
                },
            ),
            (
                cluster_header.to_owned(),
                StringMatch {
                    exact: d.cluster().to_string(),
                },
            ),
        ])
    };

    let mut http = Vec::new();
    let mut text = format!(
        "{} in {}: its hosts, and a route per revision, to the revision's \
         Kubernetes Service, on the knative-serving-revision and \
         {cluster_header} headers the filter writes. A client can send the \
         first on a host the filter passes through; the filter removes a \
         client's {cluster_header} there, so such a request matches no route.",
        service.name, service.namespace
    );
    if let Some(candidate) = service.mirror_destination() {
        let mirror_header = table.mirror_header();
        text.push_str(&format!(
            " The -mirror routes come first: they also match {mirror_header}, \
             which the filter writes on the requests it chose to copy, and Istio \
             copies those to {} as well, discarding its answers.",
            candidate.revision
        ));
        for d in service
            .destinations
            .iter()
            .filter(|d| d.revision != candidate.revision)
        {
            let mut headers = revision_match(d);
            headers.insert(
                mirror_header.to_owned(),
                StringMatch {
                    exact: candidate.cluster().to_string(),
                },
            );
            http.push(HttpRoute {
                name: format!("{}-mirror", d.revision),
                match_: vec![MatchRequest { headers }],
                route: vec![RouteDestination {
                    destination: destination(d),
                }],
                mirror: Some(destination(candidate)),
                mirror_percentage: Some(Percent { value: 100.0 }),
            });
        }
    }
    for d in service.destinations.iter() {
        http.push(HttpRoute {
            name: d.revision.to_string(),
            match_: vec![MatchRequest {
                headers: revision_match(d),
            }],
            route: vec![RouteDestination {
                destination: destination(d),
            }],
            mirror: None,
            mirror_percentage: None,
        });
    }
    let vs = Manifest {
        api_version: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: Metadata {
            name: service.name.to_string(),
            namespace: service.namespace.to_string(),
        },
        spec: VirtualServiceSpec {
            gateways: vec![args.gateway.reference()],
            hosts,
            http,
        },
    };
    Ok((vs, comment(&text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values() {
        assert_eq!(
            parse_image("registry.example.com/kt:1").unwrap(),
            "oci://registry.example.com/kt:1"
        );
        assert_eq!(
            parse_image("https://example.com/plugin.wasm").unwrap(),
            "https://example.com/plugin.wasm"
        );
        assert!(parse_image("").is_err());
        assert!(parse_image("a b").is_err());
        let g = parse_gateway("istio-system/my.gateway").unwrap();
        assert_eq!(g.reference(), "istio-system/my.gateway");
        for bad in ["knative-traffic", "Istio/gw", "ns/", "/gw", "ns/Gw"] {
            assert!(parse_gateway(bad).is_err(), "{bad}");
        }
        let l = parse_label("app.kubernetes.io/name=gw-1").unwrap();
        assert_eq!(
            (l.key.as_str(), l.value.as_str()),
            ("app.kubernetes.io/name", "gw-1")
        );
        assert!(parse_label("istio=").is_ok());
        for bad in ["istio", "=x", "-a=b", "a=b c", "Bad_/x=y"] {
            assert!(parse_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cluster_local_hosts() {
        for host in [
            "web.shop.svc.cluster.local",
            "v1-web.shop.svc.cluster.local",
            "*.svc.cluster.local",
            "svc.cluster.local",
        ] {
            assert!(is_cluster_local(host, "cluster.local"), "{host}");
        }
        for host in [
            "web.shop.example.com",
            "web.shop.svc.corp.internal",
            "web.shopsvc.cluster.local",
            "cluster.local",
        ] {
            assert!(!is_cluster_local(host, "cluster.local"), "{host}");
        }
        for host in ["web.shop.svc.corp.internal", "web.shop.svc.cluster.local"] {
            assert!(is_cluster_local(host, "corp.internal"), "{host}");
        }
        assert!(!is_cluster_local("web.shop.example.com", "corp.internal"));
    }
}
