//! Configuration → [`RouteTable`]: parsing, Knative's validation rules, and
//! the one-time work that keeps the per-request path to lookups and a draw.
//!
//! A configuration with any error is refused whole; every error names the
//! service (index and name), the field and the rule.

use serde_json::Value;

use crate::config::{
    Document, ServiceSpec, TrafficTarget, DEFAULT_CLUSTER_DOMAIN, DEFAULT_CLUSTER_HEADER,
    DEFAULT_CLUSTER_TEMPLATE, DEFAULT_DOMAIN,
};
use crate::error::{ConfigError, ConfigErrors};
use crate::hosts::{is_dns1035_label, is_dns1123_label, is_dns_name, HostTableBuilder};
use crate::routing::{
    Destination, RouteTable, Service, Tag, DEFAULT_ROUTE_HEADER, NAMESPACE_HEADER, REVISION_HEADER,
    TAG_HEADER,
};
use crate::split::{DestinationId, Split, SplitError, BUCKETS_PER_PERCENT};

/// Parses and compiles a configuration document.
pub fn compile(json: &[u8]) -> Result<RouteTable, ConfigErrors> {
    compile_document(&parse(json)?)
}

/// Parses a configuration document. Errors name the service and the traffic
/// target they are in where the document is valid JSON.
pub fn parse(json: &[u8]) -> Result<Document, ConfigErrors> {
    if json.iter().all(u8::is_ascii_whitespace) {
        return Err(ConfigErrors::one(ConfigError::document(
            "configuration is empty: expected a JSON object with a \"services\" list",
        )));
    }
    // The typed parse is the fast path; only a failure pays for locating the
    // error within the document.
    serde_json::from_slice::<Document>(json).map_err(|error| locate(json, error))
}

/// Re-reads a document that failed the typed parse to say which service and
/// traffic target the error is in.
fn locate(json: &[u8], error: serde_json::Error) -> ConfigErrors {
    let document = match serde_json::from_slice::<Value>(json) {
        Ok(Value::Object(document)) => document,
        Ok(other) => {
            return ConfigErrors::one(ConfigError::document(format!(
                "configuration must be a JSON object with a \"services\" list, got {}",
                kind(&other)
            )))
        }
        Err(syntax) => {
            return ConfigErrors::one(ConfigError::document(format!(
                "configuration is not valid JSON: {syntax}"
            )))
        }
    };
    let services = document.get("services").and_then(Value::as_array);
    let errors: Vec<ConfigError> = services
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, service)| {
            let typed = serde_json::from_value::<ServiceSpec>(service.clone()).err()?;
            let name = service.get("name").and_then(Value::as_str);
            let in_target = service
                .get("traffic")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .find_map(|(j, target)| {
                    let e = serde_json::from_value::<TrafficTarget>(target.clone()).err()?;
                    Some(format!("traffic[{j}]: {e}"))
                });
            Some(ConfigError::service(
                index,
                name,
                in_target.unwrap_or_else(|| typed.to_string()),
            ))
        })
        .collect();
    if errors.is_empty() {
        ConfigErrors::one(ConfigError::document(format!("configuration: {error}")))
    } else {
        ConfigErrors(errors)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Validates a parsed document and compiles it.
pub fn compile_document(document: &Document) -> Result<RouteTable, ConfigErrors> {
    let mut errors = Vec::new();
    let defaults = Defaults::new(document, &mut errors);
    let mut hosts = HostTableBuilder::default();
    let mut services = Vec::with_capacity(document.services.len());
    for (index, spec) in document.services.iter().enumerate() {
        let mut report = |message: String| {
            errors.push(ConfigError::service(index, Some(&spec.name), message));
        };
        if let Some(service) = compile_service(spec, &defaults, &mut report) {
            register_hosts(
                index,
                &service,
                spec,
                &defaults,
                &document.services,
                &mut hosts,
                &mut report,
            );
            services.push(service);
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(RouteTable {
        cluster_header: defaults.cluster_header.into(),
        hosts: hosts.build(),
        services: services.into(),
    })
}

/// Document-wide settings with their defaults applied.
struct Defaults<'d> {
    cluster_header: String,
    cluster_template: &'d str,
    domain: &'d str,
    cluster_domain: &'d str,
}

impl<'d> Defaults<'d> {
    fn new(document: &'d Document, errors: &mut Vec<ConfigError>) -> Defaults<'d> {
        let mut error = |message: String| errors.push(ConfigError::document(message));
        let cluster_header = document
            .cluster_header
            .as_deref()
            .unwrap_or(DEFAULT_CLUSTER_HEADER)
            .to_ascii_lowercase();
        if !is_header_name(&cluster_header) {
            error(format!(
                "clusterHeader: {cluster_header:?} is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"
            ));
        } else if [
            TAG_HEADER,
            REVISION_HEADER,
            NAMESPACE_HEADER,
            DEFAULT_ROUTE_HEADER,
            "host",
        ]
        .contains(&cluster_header.as_str())
        {
            error(format!(
                "clusterHeader: {cluster_header:?} is a header the filter writes for another purpose"
            ));
        }
        let cluster_template = document
            .cluster_template
            .as_deref()
            .unwrap_or(DEFAULT_CLUSTER_TEMPLATE);
        if let Err(message) = check_cluster_template(cluster_template) {
            error(format!("clusterTemplate: {message}"));
        }
        let domain = document.domain.as_deref().unwrap_or(DEFAULT_DOMAIN);
        if !is_dns_name(domain) {
            error(format!("domain: {domain:?} is not a lower-case DNS name"));
        }
        let cluster_domain = document
            .cluster_domain
            .as_deref()
            .unwrap_or(DEFAULT_CLUSTER_DOMAIN);
        if !is_dns_name(cluster_domain) {
            error(format!(
                "clusterDomain: {cluster_domain:?} is not a lower-case DNS name"
            ));
        }
        Defaults {
            cluster_header,
            cluster_template,
            domain,
            cluster_domain,
        }
    }
}

const PLACEHOLDERS: [&str; 3] = ["{revision}", "{service}", "{namespace}"];

fn check_cluster_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let tail = rest.get(start..).unwrap_or_default();
        match PLACEHOLDERS.iter().find(|p| tail.starts_with(**p)) {
            Some(p) => rest = tail.get(p.len()..).unwrap_or_default(),
            None => {
                return Err(format!(
                    "{template:?} has an unknown placeholder; use {}",
                    PLACEHOLDERS.join(", ")
                ))
            }
        }
    }
    if template.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(())
}

fn cluster_name(template: &str, revision: &str, service: &str, namespace: &str) -> String {
    template
        .replace("{revision}", revision)
        .replace("{service}", service)
        .replace("{namespace}", namespace)
}

/// A token as RFC 9110 defines header names.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Printable ASCII without spaces: safe as a header value and as an Envoy
/// cluster name.
fn is_plain_value(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic())
}

const DNS1035: &str =
    "a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)";
const DNS1123: &str =
    "a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)";

/// Validates one service and builds its routing state. Returns `None` if it
/// has errors (all reported).
fn compile_service(
    spec: &ServiceSpec,
    defaults: &Defaults,
    report: &mut impl FnMut(String),
) -> Option<Service> {
    let mut ok = true;
    let mut fail = |message: String| {
        ok = false;
        report(message);
    };
    if !is_dns1035_label(&spec.name) {
        fail(format!("name: {:?} is not {DNS1035}", spec.name));
    }
    if !is_dns1123_label(&spec.namespace) {
        fail(format!("namespace: {:?} is not {DNS1123}", spec.namespace));
    }
    if let Some(domain) = &spec.domain {
        if !is_dns_name(domain) {
            fail(format!("domain: {domain:?} is not a lower-case DNS name"));
        }
    }
    let latest_ready = spec
        .latest_ready_revision_name
        .as_deref()
        .filter(|r| !r.is_empty());
    if let Some(latest) = latest_ready {
        if !is_plain_value(latest) {
            fail(format!(
                "latestReadyRevisionName: {latest:?} is not a revision name"
            ));
        }
    }

    // Knative's default: no traffic block means everything to the latest.
    let default_traffic;
    let traffic: &[TrafficTarget] = if spec.traffic.is_empty() {
        default_traffic = [TrafficTarget {
            latest_revision: Some(true),
            percent: crate::config::Percent::new(100),
            ..TrafficTarget::default()
        }];
        &default_traffic
    } else {
        &spec.traffic
    };

    let mut revisions: Vec<&str> = Vec::new();
    let mut shares: Vec<(DestinationId, u32)> = Vec::with_capacity(traffic.len());
    let mut tags: Vec<(&str, usize, DestinationId)> = Vec::new();
    let mut sum: u32 = 0;
    for (j, target) in traffic.iter().enumerate() {
        let named = target.revision_name.as_deref().filter(|r| !r.is_empty());
        let latest = target.latest_revision.unwrap_or(named.is_none());
        let revision = match (latest, named) {
            (true, Some(name)) => {
                fail(format!(
                    "traffic[{j}]: latestRevision: true and revisionName {name:?} exclude each other; set one"
                ));
                None
            }
            (false, None) => {
                fail(format!(
                    "traffic[{j}]: latestRevision: false needs a revisionName"
                ));
                None
            }
            (true, None) => {
                if latest_ready.is_none() {
                    fail(format!(
                        "traffic[{j}]: follows the latest revision, but latestReadyRevisionName is not set"
                    ));
                }
                latest_ready
            }
            (false, Some(name)) => {
                if !is_plain_value(name) {
                    fail(format!(
                        "traffic[{j}]: revisionName {name:?} is not a revision name"
                    ));
                }
                Some(name)
            }
        };
        let percent = target.percent.map_or(0, |p| u32::from(p.get()));
        sum += percent;
        let destination = revision.map(|revision| {
            let id = revisions
                .iter()
                .position(|r| *r == revision)
                .unwrap_or_else(|| {
                    revisions.push(revision);
                    revisions.len() - 1
                });
            u32::try_from(id).unwrap_or(u32::MAX)
        });
        if let Some(destination) = destination {
            shares.push((destination, percent * BUCKETS_PER_PERCENT));
        }
        if let Some(tag) = &target.tag {
            if !is_dns1035_label(tag) {
                fail(format!("traffic[{j}]: tag {tag:?} is not {DNS1035}"));
            } else if let Some((_, first, _)) = tags.iter().find(|(t, _, _)| t == tag) {
                fail(format!(
                    "traffic[{j}]: tag {tag:?} is already used by traffic[{first}]"
                ));
            } else if tag.len() + 1 + spec.name.len() > 63 {
                fail(format!(
                    "traffic[{j}]: tag {tag:?} makes the host label \"{tag}-{}\" longer than a DNS label's 63 characters",
                    spec.name
                ));
            } else if let Some(destination) = destination {
                tags.push((tag, j, destination));
            }
        }
    }
    if sum != 100 {
        fail(format!("traffic percents sum to {sum}, want 100"));
    }
    for revision in spec.clusters.keys() {
        if !revisions.contains(&revision.as_str()) {
            fail(format!(
                "clusters: revision {revision:?} is not in this service's traffic"
            ));
        }
    }
    let destinations: Vec<Destination> = revisions
        .iter()
        .map(|&revision| Destination {
            revision: revision.into(),
            cluster: match spec.clusters.get(revision) {
                Some(cluster) => cluster.as_str().into(),
                None => cluster_name(
                    defaults.cluster_template,
                    revision,
                    &spec.name,
                    &spec.namespace,
                )
                .into(),
            },
        })
        .collect();
    for destination in &destinations {
        if !is_plain_value(&destination.cluster) {
            fail(format!(
                "clusters: cluster {:?} of revision {:?} is not a cluster name (printable ASCII, no spaces)",
                destination.cluster, destination.revision
            ));
        }
    }
    if !ok {
        return None;
    }
    let split = match Split::new(shares) {
        Ok(split) => split,
        Err(SplitError::Sum { .. }) => return None,
    };
    let mut tags: Vec<Tag> = tags
        .into_iter()
        .map(|(name, _, destination)| Tag {
            name: name.into(),
            destination,
        })
        .collect();
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    Some(Service {
        name: spec.name.as_str().into(),
        namespace: spec.namespace.as_str().into(),
        destinations: destinations.into(),
        tags: tags.into(),
        split,
    })
}

/// Adds a service's host and its tags' hosts to the table, reporting hosts
/// another service already holds.
fn register_hosts(
    index: usize,
    service: &Service,
    spec: &ServiceSpec,
    defaults: &Defaults,
    all: &[ServiceSpec],
    hosts: &mut HostTableBuilder,
    report: &mut impl FnMut(String),
) {
    let domain = spec.domain.as_deref().unwrap_or(defaults.domain);
    let id = u32::try_from(index).unwrap_or(u32::MAX);
    let labels = std::iter::once((service.name.to_string(), None)).chain(
        service
            .tags
            .iter()
            .enumerate()
            .map(|(t, tag)| (format!("{}-{}", tag.name, service.name), Some(t as u32))),
    );
    for (label, tag) in labels {
        if let Err(clash) = hosts.add(
            &service.namespace,
            domain,
            defaults.cluster_domain,
            &label,
            id,
            tag,
        ) {
            let holder = clash.holder as usize;
            let holder_name = all.get(holder).map_or("?", |s| s.name.as_str());
            report(format!(
                "host {:?} is already claimed by services[{holder}] ({holder_name})",
                clash.host
            ));
        }
    }
}
