//! `import-knative FILE`: the filter's configuration from Knative Services, as
//! `kubectl get ksvc NAME -o json` (one Service) or `kubectl get ksvc -o json`
//! (a List) prints them.
//!
//! Each Service becomes one service of the configuration: `metadata.name` and
//! `metadata.namespace`; the domain from `status.url`, whose host is
//! `{name}.{namespace}.{domain}` under Knative's default domain template;
//! `spec.traffic` as it is (Knative's default, 100% to the latest revision,
//! when it is empty); and `status.latestReadyRevisionName`, which
//! `latestRevision` targets resolve to. The cluster domain comes from
//! `status.address.url` (`{name}.{namespace}.svc.{clusterDomain}`). The
//! result is checked with the filter's own validation before it is written.

use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{input, EXIT_FAILURE, EXIT_OK};

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
    /// Knative Services as JSON (`kubectl get ksvc -o json`); `-` reads
    /// standard input
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The configuration's clusterTemplate: how a revision's Envoy cluster is
    /// named, with {revision}, {service} and {namespace} (default: the
    /// filter's, {revision})
    #[arg(long, value_name = "TEMPLATE")]
    cluster_template: Option<String>,
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
    services: Vec<ImportedService>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportedService {
    name: String,
    namespace: String,
    domain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    latest_ready_revision_name: Option<String>,
    traffic: Vec<Target>,
}

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
    let mut warnings = Vec::new();
    let result = import(&input.bytes, args.cluster_template.clone(), &mut warnings);
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

/// The configuration for a `kubectl get ksvc -o json` document, or every
/// error in it.
fn import(
    json: &[u8],
    cluster_template: Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Configuration, Vec<String>> {
    let document: Value = serde_json::from_slice(json).map_err(|e| {
        let looks_like_yaml = String::from_utf8_lossy(json)
            .trim_start()
            .starts_with("apiVersion:");
        let hint = if looks_like_yaml {
            " (this looks like YAML: use kubectl's -o json)"
        } else {
            ""
        };
        vec![format!("not valid JSON: {e}{hint}")]
    })?;
    let kind = document.get("kind").and_then(Value::as_str).unwrap_or("");
    let items: Vec<(String, &Value)> = match kind {
        "List" | "ServiceList" => {
            let items = document
                .get("items")
                .and_then(Value::as_array)
                .ok_or_else(|| vec![format!("a {kind} without an items array")])?;
            if items.is_empty() {
                return Err(vec![format!(
                    "the {kind} has no items: no Knative Service to import"
                )]);
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("items[{i}]"), item))
                .collect()
        }
        _ => vec![(String::new(), &document)],
    };

    let mut errors = Vec::new();
    let mut imported = Vec::new();
    for (place, item) in items {
        match import_service(&place, item, warnings) {
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
    Ok(Configuration {
        cluster_template,
        cluster_domain: cluster_domain.filter(|d| d != DEFAULT_CLUSTER_DOMAIN),
        services: imported.into_iter().map(|i| i.service).collect(),
    })
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
    let Some(url) = str_at("/status/url") else {
        return Err(vec![fail(
            "status.url is missing: the Service has not been reconciled (no status), so its host and domain are unknown; import what `kubectl get ksvc -o json` prints from the cluster".into(),
        )]);
    };
    let domain = match url_host(url) {
        Some(host) => match host
            .strip_prefix(&format!("{name}.{namespace}."))
            .filter(|d| !d.is_empty())
        {
            Some(domain) => Some(domain.to_owned()),
            None => {
                errors.push(fail(format!(
                    "status.url {url:?} is not {{name}}.{{namespace}}.{{domain}} ({name}.{namespace}.…): the cluster's domain-template is not Knative's default, and the filter's configuration reaches services only at {{name}}.{{namespace}}.{{domain}}"
                )));
                None
            }
        },
        None => {
            errors.push(fail(format!("status.url {url:?} is not an http(s) URL")));
            None
        }
    };

    let latest_ready = str_at("/status/latestReadyRevisionName")
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
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
                        "spec.traffic[{j}] follows the latest revision, but status.latestReadyRevisionName is missing: no revision is ready yet, and Knative programs no route until one is"
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
            errors.push(fail(
                "spec.traffic is empty (100% to the latest revision), but status.latestReadyRevisionName is missing: no revision is ready yet, and Knative programs no route until one is".into(),
            ));
        }
        targets.push(Target {
            tag: None,
            revision_name: None,
            latest_revision: Some(Value::Bool(true)),
            percent: Value::from(100),
        });
    }

    check_status(item, &fail, warnings);
    let cluster_domain = str_at("/status/address/url")
        .and_then(url_host)
        .and_then(|host| {
            host.strip_prefix(&format!("{name}.{namespace}.svc."))
                .map(str::to_owned)
        })
        .filter(|d| !d.is_empty());

    match domain {
        Some(domain) if errors.is_empty() => Ok(Imported {
            service: ImportedService {
                name: name.to_owned(),
                namespace: namespace.to_owned(),
                domain,
                latest_ready_revision_name: latest_ready,
                traffic: targets,
            },
            cluster_domain,
        }),
        _ => Err(errors),
    }
}

/// One of `spec.traffic`'s targets, and the fields it had that a traffic
/// target has not.
fn import_target(target: &Map<String, Value>) -> Result<(Target, Vec<String>), String> {
    let mut imported = Target {
        tag: None,
        revision_name: None,
        latest_revision: None,
        percent: Value::from(0),
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
    if let Some(duration) = item
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ROLLOUT_DURATION))
        .and_then(Value::as_str)
    {
        warnings.push(fail(format!(
            "{ROLLOUT_DURATION} is {duration:?}: the imported split applies at once; add a `rollout` to the service for a timed rollout"
        )));
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
