//! `import-knative FILE`: the filter's configuration from Knative Services, as
//! `kubectl get ksvc NAME -o json` (one Service) or `kubectl get ksvc -o json`
//! (a List) prints them.
//!
//! Each Service becomes one service of the configuration: `metadata.name` and
//! `metadata.namespace`; the domain from `status.url`, whose host the
//! cluster's domain template built (Knative's default,
//! `{name}.{namespace}.{domain}`, unless config-network says otherwise);
//! its visibility (cluster-local when its URL is, or its label says so, and
//! per tag when the tag's status URL is); `spec.traffic` as it is (Knative's
//! default, 100% to the latest revision, when it is empty); and
//! `status.latestReadyRevisionName`, which `latestRevision` targets resolve
//! to. A rollout in progress is continued from its split in force
//! ([`rollout`]). The cluster domain comes from `status.address.url`
//! (`{name}.{namespace}.svc.{clusterDomain}`), the templates and the
//! tag-header switch from config-network and config-features
//! ([`cluster`]). The result is checked with the filter's own validation
//! before it is written.

mod cluster;
mod rollout;

use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::time::{format_instant, now_ms};
use crate::{input, EXIT_FAILURE, EXIT_OK};
use cluster::Cluster;

/// Write the filter's configuration for Knative Services.
///
/// Reads what `kubectl get ksvc NAME -o json` (one Service) or `kubectl get
/// ksvc -o json` (a List of them) prints, and writes the filter's
/// configuration JSON on standard output: each Service's name and namespace,
/// the domain from status.url, spec.traffic, and
/// status.latestReadyRevisionName for latestRevision targets. The result is
/// checked with the filter's own validation first; an invalid result is an
/// error with the filter's message. Warnings (a Service not Ready, a status
/// behind its spec, a rollout-duration the import does not carry over) go to
/// standard error.
#[derive(clap::Args)]
pub struct Args {
    /// Knative Services: what `kubectl get ksvc -o json` (or `-o yaml`)
    /// prints, or manifests as kept in git (YAML, several in one file, no
    /// status); `-` reads standard input
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The cluster's domain (config-domain), for Services without status
    /// (manifests from git): their host is then made by the domain template
    /// from it, and the latest revision is the one spec.template names
    #[arg(long, value_name = "DOMAIN")]
    domain: Option<String>,
    /// The configuration's clusterTemplate: how a revision's Envoy cluster is
    /// named, with {revision}, {service} and {namespace} (default: the
    /// filter's, {revision})
    #[arg(long, value_name = "TEMPLATE")]
    cluster_template: Option<String>,
    /// The cluster's config-network ConfigMap (`kubectl get cm -n
    /// knative-serving config-network -o json`): its domain-template,
    /// tag-template and rollout-duration
    #[arg(long, value_name = "FILE")]
    config_network: Option<PathBuf>,
    /// The cluster's config-features ConfigMap: its tag-header-based-routing
    #[arg(long, value_name = "FILE")]
    config_features: Option<PathBuf>,
    /// The cluster's domain-template, e.g. '{{.Name}}-{{.Namespace}}.{{.Domain}}'
    /// (over config-network's)
    #[arg(long, value_name = "TEMPLATE")]
    domain_template: Option<String>,
    /// The cluster's tag-template, e.g. '{{.Name}}-{{.Tag}}' (over
    /// config-network's)
    #[arg(long, value_name = "TEMPLATE")]
    tag_template: Option<String>,
    /// The instant the Services' status was read, an RFC 3339 instant
    /// (default: now); a rollout in progress continues from its split then
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_at)]
    at: Option<u64>,
}

/// Kubernetes' default cluster domain; the filter's too.
const DEFAULT_CLUSTER_DOMAIN: &str = knative_traffic::config::DEFAULT_CLUSTER_DOMAIN;
const ROLLOUT_DURATION: &str = "serving.knative.dev/rollout-duration";

/// The configuration written, in the filter's field names and a readable
/// field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Configuration {
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain_template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag_template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag_header_based_routing: Option<bool>,
    services: Vec<ImportedService>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportedService {
    name: String,
    namespace: String,
    domain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latest_ready_revision_name: Option<String>,
    traffic: Vec<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout: Option<ImportedRollout>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportedRollout {
    from_revision_name: String,
    start: String,
    duration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_step: Option<String>,
}

const CLUSTER_LOCAL: &str = "cluster-local";
const VISIBILITY_LABEL: &str = "networking.knative.dev/visibility";

/// A traffic target with Knative's values as they are, so that the filter's
/// validation judges them (and says so in its own words).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revision_name: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latest_revision: Option<Value>,
    percent: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility: Option<&'static str>,
}

/// What one Service gave: its configuration, and its cluster domain if its
/// address says.
struct Imported {
    service: ImportedService,
    cluster_domain: Option<String>,
}

pub fn run(args: &Args, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    let input = match input::read(&args.file) {
        Ok(input) => input,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(EXIT_FAILURE);
        }
    };
    let file = &input.name;
    let cluster = match Cluster::read(
        args.config_network.as_deref(),
        args.config_features.as_deref(),
        args.domain_template.as_deref(),
        args.tag_template.as_deref(),
    ) {
        Ok(cluster) => cluster,
        Err(errors) => {
            for error in errors {
                writeln!(err, "{error}")?;
            }
            return Ok(EXIT_FAILURE);
        }
    };
    let mut warnings = Vec::new();
    let settings = Settings {
        domain: args.domain.clone(),
        cluster_template: args.cluster_template.clone(),
        cluster,
        now_ms: args.at.unwrap_or_else(now_ms),
    };
    let result = import(&input.bytes, &settings, &mut warnings);
    for warning in &warnings {
        writeln!(err, "warning: {file}: {warning}")?;
    }
    let configuration = match result {
        Ok(configuration) => configuration,
        Err(errors) => {
            for error in errors {
                writeln!(err, "{file}: {error}")?;
            }
            return Ok(EXIT_FAILURE);
        }
    };
    let text = match serde_json::to_string_pretty(&configuration) {
        Ok(text) => text,
        Err(e) => {
            writeln!(err, "{file}: cannot write the configuration: {e}")?;
            return Ok(EXIT_FAILURE);
        }
    };
    // The filter's own validation: what is written here loads in the proxy.
    if let Err(errors) = knative_traffic::compile(text.as_bytes()) {
        writeln!(
            err,
            "{file}: the imported configuration is not valid for the filter (services[i] is the i-th Service imported):"
        )?;
        for error in &errors.0 {
            writeln!(err, "{file}: {error}")?;
        }
        return Ok(EXIT_FAILURE);
    }
    writeln!(out, "{text}")?;
    Ok(EXIT_OK)
}

/// What the import knows beside the Services.
struct Settings {
    /// `--domain`, for Services without status.
    domain: Option<String>,
    cluster_template: Option<String>,
    cluster: Cluster,
    now_ms: u64,
}

/// The configuration for a `kubectl get ksvc -o json` document, or every
/// error in it.
fn import(
    json: &[u8],
    settings: &Settings,
    warnings: &mut Vec<String>,
) -> Result<Configuration, Vec<String>> {
    let documents = documents(json)?;
    let mut items: Vec<(String, &Value)> = Vec::new();
    let several = documents.len() > 1;
    for (i, document) in documents.iter().enumerate() {
        let place = if several {
            format!("documents[{i}]")
        } else {
            String::new()
        };
        let kind = document.get("kind").and_then(Value::as_str).unwrap_or("");
        match kind {
            "List" | "ServiceList" => {
                let list = document
                    .get("items")
                    .and_then(Value::as_array)
                    .ok_or_else(|| vec![format!("a {kind} without an items array")])?;
                if list.is_empty() && !several {
                    return Err(vec![format!(
                        "the {kind} has no items: no Knative Service to import"
                    )]);
                }
                items.extend(list.iter().enumerate().map(|(j, item)| {
                    let at = format!("items[{j}]");
                    (if several { format!("{place} {at}") } else { at }, item)
                }));
            }
            // A stream of manifests from git holds more than Services.
            _ if several && !is_knative_service(document) => warnings.push(format!(
                "{place}: {} is not a Knative Service; skipped",
                if kind.is_empty() {
                    "a document without a kind"
                } else {
                    kind
                }
            )),
            _ => items.push((place, document)),
        }
    }
    if items.is_empty() {
        return Err(vec!["no Knative Service to import".to_owned()]);
    }
    let mut errors = Vec::new();
    let mut imported = Vec::new();
    for (place, item) in items {
        match import_service(&place, item, settings, warnings) {
            Ok(service) => imported.push(service),
            Err(mut e) => errors.append(&mut e),
        }
    }

    let mut cluster_domains: Vec<&str> = imported
        .iter()
        .filter_map(|i| i.cluster_domain.as_deref())
        .collect();
    cluster_domains.sort_unstable();
    cluster_domains.dedup();
    let cluster_domain = match cluster_domains.as_slice() {
        [] => None,
        [one] => Some((*one).to_owned()),
        several => {
            errors.push(format!(
                "the Services' status.address.url name different cluster domains ({}); import the Services of one cluster at a time",
                several.join(", ")
            ));
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let cluster = &settings.cluster;
    Ok(Configuration {
        cluster_template: settings.cluster_template.clone(),
        cluster_domain: cluster_domain.filter(|d| d != DEFAULT_CLUSTER_DOMAIN),
        domain_template: cluster.domain_template.clone(),
        tag_template: cluster.tag_template.clone(),
        // Knative ships the switch off; the filter has it on: only the
        // cluster's own setting is written.
        tag_header_based_routing: cluster.tag_header.filter(|on| !on),
        services: imported.into_iter().map(|i| i.service).collect(),
    })
}

/// The documents of a JSON file or a YAML stream.
fn documents(bytes: &[u8]) -> Result<Vec<Value>, Vec<String>> {
    let text = std::str::from_utf8(bytes).map_err(|_| vec!["not UTF-8 text".to_owned()])?;
    match serde_json::from_str::<Value>(text) {
        Ok(value) => return Ok(vec![value]),
        // What looks like JSON gets JSON's message, which says where.
        Err(e) if text.trim_start().starts_with(['{', '[']) => {
            return Err(vec![format!("not valid JSON: {e}")])
        }
        Err(_) => {}
    }
    let mut out = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        match serde::Deserialize::deserialize(document) {
            Ok(Value::Null) => {}
            Ok(value) => out.push(value),
            Err(e) => return Err(vec![format!("neither JSON nor YAML: {e}")]),
        }
    }
    Ok(out)
}

fn is_knative_service(document: &Value) -> bool {
    document.get("kind").and_then(Value::as_str) == Some("Service")
        && document
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("serving.knative.dev/"))
}

/// `items[2] default/web` or `default/web`: where an error is.
fn label(place: &str, namespace: Option<&str>, name: Option<&str>) -> String {
    let who = match (namespace, name) {
        (Some(ns), Some(name)) => format!("{ns}/{name}"),
        (None, Some(name)) => name.to_owned(),
        _ => String::new(),
    };
    [place, who.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

fn import_service(
    place: &str,
    item: &Value,
    settings: &Settings,
    warnings: &mut Vec<String>,
) -> Result<Imported, Vec<String>> {
    let str_at = |pointer: &str| item.pointer(pointer).and_then(Value::as_str);
    let name = str_at("/metadata/name");
    let namespace = str_at("/metadata/namespace");
    let here = label(place, namespace, name);
    let fail = |message: String| {
        if here.is_empty() {
            message
        } else {
            format!("{here}: {message}")
        }
    };

    let api_version = str_at("/apiVersion").unwrap_or("");
    let kind = str_at("/kind").unwrap_or("");
    // v1beta1 has v1's shape; v1alpha1's (runLatest, release, …) is gone.
    let knative = ["serving.knative.dev/v1", "serving.knative.dev/v1beta1"].contains(&api_version);
    if kind != "Service" || !knative {
        let got = if kind.is_empty() {
            "no kind".to_owned()
        } else {
            format!("apiVersion {api_version:?}, kind {kind:?}")
        };
        return Err(vec![fail(format!(
            "not a Knative Service (apiVersion serving.knative.dev/v1, kind Service) or a List of them, as `kubectl get ksvc -o json` prints: got {got}"
        ))]);
    }
    let (Some(name), Some(namespace)) = (name, namespace) else {
        let missing = if name.is_none() {
            "metadata.name"
        } else {
            "metadata.namespace"
        };
        return Err(vec![fail(format!(
            "{missing} is missing (import what `kubectl get ksvc -o json` prints)"
        ))]);
    };

    let mut errors = Vec::new();
    // Without status (a manifest from git), the host is --domain's and the
    // latest revision the one the template names.
    let url = str_at("/status/url");
    if url.is_none() && settings.domain.is_none() {
        return Err(vec![fail(
            "status.url is missing: the Service has no status (a manifest from git, or not reconciled yet), so its host and domain are unknown; pass --domain with the cluster's domain, or import what `kubectl get ksvc -o json` prints from the cluster".into(),
        )]);
    }
    let cluster_domain = str_at("/status/address/url")
        .and_then(url_host)
        .and_then(|host| {
            host.strip_prefix(&format!("{name}.{namespace}.svc."))
                .map(str::to_owned)
        })
        .filter(|d| !d.is_empty());
    let local_suffix = format!(
        ".svc.{}",
        cluster_domain.as_deref().unwrap_or(DEFAULT_CLUSTER_DOMAIN)
    );
    let host = url.and_then(url_host);
    // Knative gives a cluster-local Service (by its label, or a cluster
    // without a domain) a URL under svc.{clusterDomain}.
    let labelled_local = item
        .pointer("/metadata/labels")
        .and_then(|l| l.get(VISIBILITY_LABEL))
        .and_then(Value::as_str)
        == Some(CLUSTER_LOCAL);
    let local = labelled_local || host.as_deref().is_some_and(|h| h.ends_with(&local_suffix));
    let template = settings.cluster.domain_template();
    let url_text = url.unwrap_or("");
    let domain = match host {
        // No status: the domain given, or a cluster-local Service's.
        None if url.is_none() && local => Some(local_suffix.trim_start_matches('.').to_owned()),
        None if url.is_none() => settings.domain.clone(),
        // A cluster-local URL is always Knative's default form under svc.
        Some(host) if local => host
            .strip_prefix(&format!("{name}.{namespace}."))
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .or_else(|| Some(local_suffix.trim_start_matches('.').to_owned())),
        Some(host) => {
            match knative_traffic::compile::domain_of_host(template, name, namespace, &host) {
                Ok(Some(domain)) => Some(domain),
                Ok(None) if settings.cluster.domain_template.is_none() => {
                    errors.push(fail(format!(
                    "status.url {url_text:?} is not {{name}}.{{namespace}}.{{domain}} ({name}.{namespace}.…): the cluster's domain-template is not Knative's default; pass it with --domain-template or --config-network"
                )));
                    None
                }
                Ok(None) => {
                    errors.push(fail(format!(
                    "status.url {url_text:?} is not the host the domain template {template:?} makes for {name} in {namespace}"
                )));
                    None
                }
                Err(message) => {
                    errors.push(fail(format!("the domain template {template:?} {message}")));
                    None
                }
            }
        }
        None => {
            errors.push(fail(format!(
                "status.url {:?} is not an http(s) URL",
                url.unwrap_or("")
            )));
            None
        }
    };

    // The latest ready revision: the status's, or without status the one
    // the template names (Knative names it itself otherwise, unknowably).
    let (latest_ready, latest_from) = if url.is_some() {
        (
            str_at("/status/latestReadyRevisionName"),
            "status.latestReadyRevisionName is missing: no revision is ready yet, and Knative programs no route until one is",
        )
    } else {
        (
            str_at("/spec/template/metadata/name"),
            "the Service has no status and spec.template.metadata.name is not set: Knative names the revision itself ({name}-00001, …), so the manifest does not say which revision is the latest; name it in spec.template.metadata.name, or name every target's revisionName",
        )
    };
    let latest_ready = latest_ready.filter(|r| !r.is_empty()).map(str::to_owned);
    let traffic = match item.pointer("/spec/traffic") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(targets)) => targets.iter().collect(),
        Some(_) => {
            errors.push(fail("spec.traffic is not a list".into()));
            Vec::new()
        }
    };
    let mut targets = Vec::with_capacity(traffic.len().max(1));
    for (j, target) in traffic.into_iter().enumerate() {
        let Some(target) = target.as_object() else {
            errors.push(fail(format!("spec.traffic[{j}] is not an object")));
            continue;
        };
        match import_target(target) {
            Ok((target, ignored)) => {
                if target_follows_latest(&target) && latest_ready.is_none() {
                    errors.push(fail(format!(
                        "spec.traffic[{j}] follows the latest revision, but {latest_from}"
                    )));
                }
                for field in ignored {
                    warnings.push(fail(format!(
                        "spec.traffic[{j}].{field} is not part of Knative's traffic target and was left out"
                    )));
                }
                targets.push(target);
            }
            Err(message) => errors.push(fail(format!("spec.traffic[{j}]: {message}"))),
        }
    }
    if targets.is_empty() && errors.is_empty() {
        // Knative's default route: everything to the latest ready revision.
        if latest_ready.is_none() {
            errors.push(fail(format!(
                "spec.traffic is empty (100% to the latest revision), but {latest_from}"
            )));
        }
        targets.push(Target {
            tag: None,
            revision_name: None,
            latest_revision: Some(Value::Bool(true)),
            percent: Value::from(100),
            visibility: None,
        });
    }

    check_status(item, &fail, warnings);
    let status_traffic: Vec<Value> = item
        .pointer("/status/traffic")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // A tag whose status URL is cluster-local while its Service is not:
    // Knative's label on the tag's placeholder Service.
    if !local {
        for target in &mut targets {
            let tag = target.tag.as_ref().and_then(Value::as_str).unwrap_or("");
            let tag_local = !tag.is_empty()
                && status_traffic.iter().any(|t| {
                    t.get("tag").and_then(Value::as_str) == Some(tag)
                        && t.get("url")
                            .and_then(Value::as_str)
                            .and_then(url_host)
                            .is_some_and(|h| h.ends_with(&local_suffix))
                });
            if tag_local {
                target.visibility = Some(CLUSTER_LOCAL);
            }
        }
    }
    let rollout = match latest_ready.as_deref() {
        Some(latest) => {
            let duration = rollout_duration(item, &settings.cluster, &fail, &mut errors);
            let mut notes = Vec::new();
            let continued = rollout::continued(
                &status_traffic,
                latest,
                duration,
                settings.now_ms,
                &mut notes,
            );
            warnings.extend(notes.into_iter().map(&fail));
            match continued {
                Ok(continued) => continued.map(|c| ImportedRollout {
                    from_revision_name: c.from,
                    start: format_instant(c.start_ms),
                    duration: format!("{}s", c.duration_s),
                    min_step: (c.min_step_s != 1).then(|| format!("{}s", c.min_step_s)),
                }),
                Err(message) => {
                    errors.push(fail(message));
                    None
                }
            }
        }
        None => None,
    };
    if rollout.is_none() {
        if let Some(duration) = item
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(ROLLOUT_DURATION))
            .and_then(Value::as_str)
        {
            warnings.push(fail(format!(
                "{ROLLOUT_DURATION} is {duration:?}: no rollout is in progress, and the filter keeps no history: when a new revision is ready, give the service a `rollout` from the one it replaces"
            )));
        }
    }

    match domain {
        Some(domain) if errors.is_empty() => Ok(Imported {
            service: ImportedService {
                name: name.to_owned(),
                namespace: namespace.to_owned(),
                domain,
                visibility: local.then_some(CLUSTER_LOCAL),
                latest_ready_revision_name: latest_ready,
                traffic: targets,
                rollout,
            },
            cluster_domain,
        }),
        _ => Err(errors),
    }
}

/// The rollout duration in force for a Service, in whole seconds: its
/// annotation, else (when it is missing, empty, unparseable or 0, as
/// Knative's reconciler reads it) the cluster's config-network.
fn rollout_duration(
    item: &Value,
    cluster: &Cluster,
    fail: &impl Fn(String) -> String,
    errors: &mut Vec<String>,
) -> Option<u64> {
    let annotated = item
        .pointer("/metadata/annotations")
        .and_then(|a| {
            a.get(ROLLOUT_DURATION)
                .or_else(|| a.get("serving.knative.dev/rolloutDuration"))
        })
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty());
    let seconds = annotated.and_then(|text| {
        let ns = knative_traffic::time::parse_go_duration(text);
        if ns.is_none() {
            errors.push(fail(format!(
                "{ROLLOUT_DURATION} {text:?} is not a duration (Go's syntax)"
            )));
        }
        u64::try_from(ns? / knative_traffic::time::SECOND_NS).ok()
    });
    seconds.filter(|s| *s > 0).or(cluster.rollout_duration_s)
}

/// One of `spec.traffic`'s targets, and the fields it had that a traffic
/// target has not.
fn import_target(target: &Map<String, Value>) -> Result<(Target, Vec<String>), String> {
    let mut imported = Target {
        tag: None,
        revision_name: None,
        latest_revision: None,
        percent: Value::from(0),
        visibility: None,
    };
    let mut ignored = Vec::new();
    for (field, value) in target {
        match field.as_str() {
            "tag" => imported.tag = Some(value.clone()),
            "revisionName" => imported.revision_name = Some(value.clone()),
            "latestRevision" => imported.latest_revision = Some(value.clone()),
            // Knative: a missing percent is 0.
            "percent" if value.is_null() => {}
            "percent" => imported.percent = value.clone(),
            "configurationName" => {
                return Err(format!(
                    "configurationName {value} is not supported: a Knative Service's traffic names a revisionName or the latestRevision (Knative refuses configurationName in a Service)"
                ))
            }
            // Only status.traffic reports URLs; derived, not configured.
            "url" => {}
            _ => ignored.push(field.clone()),
        }
    }
    Ok((imported, ignored))
}

/// Whether a target follows the latest revision, as Knative reads it: when
/// latestRevision says so, or by default when it names no revision.
fn target_follows_latest(target: &Target) -> bool {
    let named = target
        .revision_name
        .as_ref()
        .and_then(Value::as_str)
        .is_some_and(|r| !r.is_empty());
    match target.latest_revision.as_ref().and_then(Value::as_bool) {
        Some(latest) => latest,
        None => !named,
    }
}

/// Warnings about a status that may not describe what Knative serves.
fn check_status(item: &Value, fail: &impl Fn(String) -> String, warnings: &mut Vec<String>) {
    let ready = item
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"));
    if let Some(ready) = ready {
        let status = ready.get("status").and_then(Value::as_str).unwrap_or("");
        if status != "True" {
            let why: Vec<&str> = ["reason", "message"]
                .iter()
                .filter_map(|k| ready.get(*k).and_then(Value::as_str))
                .collect();
            let why = if why.is_empty() {
                format!("status {status:?}")
            } else {
                why.join(": ")
            };
            warnings.push(fail(format!(
                "the Service is not Ready ({why}): Knative may still be serving an earlier traffic split"
            )));
        }
    }
    let generation = item.pointer("/metadata/generation").and_then(Value::as_u64);
    let observed = item
        .pointer("/status/observedGeneration")
        .and_then(Value::as_u64);
    if let (Some(generation), Some(observed)) = (generation, observed) {
        if generation != observed {
            warnings.push(fail(format!(
                "the status is of generation {observed} and the spec of generation {generation}: Knative has not caught up with the spec yet"
            )));
        }
    }
}

/// The lower-case host of an `http://` or `https://` URL, without port,
/// path or trailing dot.
fn url_host(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') {
        return None;
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    let host = host.strip_suffix('.').unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            url_host("http://traffic-example.default.example.com").as_deref(),
            Some("traffic-example.default.example.com")
        );
        assert_eq!(
            url_host("HTTPS://Web.NS.Example.com:8443/path?q#f").as_deref(),
            Some("web.ns.example.com")
        );
        assert_eq!(
            url_host("http://web.ns.example.com./").as_deref(),
            Some("web.ns.example.com")
        );
        assert_eq!(url_host("web.ns.example.com"), None);
        assert_eq!(url_host("ftp://web.ns.example.com"), None);
        assert_eq!(url_host("http://user@web.ns.example.com"), None);
        assert_eq!(url_host("http://"), None);
    }

    #[test]
    fn labels_say_where() {
        assert_eq!(label("", Some("default"), Some("web")), "default/web");
        assert_eq!(
            label("items[2]", Some("default"), Some("web")),
            "items[2] default/web"
        );
        assert_eq!(label("items[2]", None, None), "items[2]");
        assert_eq!(label("", None, None), "");
    }

    #[test]
    fn latest_as_knative_reads_it() {
        let target = |revision: Option<&str>, latest: Option<bool>| Target {
            tag: None,
            revision_name: revision.map(Value::from),
            latest_revision: latest.map(Value::Bool),
            percent: Value::from(0),
            visibility: None,
        };
        assert!(target_follows_latest(&target(None, None)));
        assert!(target_follows_latest(&target(Some(""), None)));
        assert!(target_follows_latest(&target(None, Some(true))));
        assert!(!target_follows_latest(&target(Some("web-1"), None)));
        assert!(!target_follows_latest(&target(Some("web-1"), Some(false))));
        // Contradictions are the filter's validation's to report.
        assert!(!target_follows_latest(&target(None, Some(false))));
    }
}
