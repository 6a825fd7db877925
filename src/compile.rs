//! Configuration → [`RouteTable`]: parsing, Knative's validation rules, and
//! the one-time work that keeps the per-request path to lookups and a draw.
//!
//! A configuration with any error is refused whole; every error names the
//! service (index and name), the field and the rule.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::{
    Document, MirrorSpec, Percent, RolloutSpec, RuleSpec, ServiceSpec, StickySpec, TrafficTarget,
    DEFAULT_CLUSTER_DOMAIN, DEFAULT_CLUSTER_HEADER, DEFAULT_CLUSTER_TEMPLATE, DEFAULT_DOMAIN,
    DEFAULT_MIRROR_HEADER,
};
use crate::error::{ConfigError, ConfigErrors};
use crate::hosts::{
    is_dns1035_label, is_dns1123_label, is_dns_name, HostClash, HostTable, HostTableBuilder,
};
use crate::metrics::NO_SLOT;
use crate::mirror::Mirror;
use crate::request::{Source, COOKIE};
use crate::rollout::{default_steps, parse_duration, parse_instant, Rollout};
use crate::routing::{
    Destination, HeaderNames, Reason, RouteTable, Service, Tag, DEFAULT_ROUTE_HEADER,
    NAMESPACE_HEADER, REVISION_HEADER, TAG_HEADER,
};
use crate::rules::{Rule, Test};
use crate::split::{DestinationId, Split, SplitError, BUCKETS_PER_PERCENT};
use crate::sticky::Sticky;

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

/// The `services` list of a document, left unparsed; every other field is
/// skipped. Reading parts as [`RawValue`]s instead of a `serde_json::Value`
/// tree keeps a second instance of every `Deserialize` impl out of the module
/// (37 KB of Wasm).
#[derive(Deserialize)]
struct DocumentParts<'a> {
    #[serde(borrow, default)]
    services: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ServiceParts<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
}

/// The elements of a JSON array, unparsed; `None` if it is not an array.
fn elements(raw: Option<&RawValue>) -> Option<Vec<&RawValue>> {
    serde_json::from_slice(raw?.get().as_bytes()).ok()
}

/// A serde error's message without its position, and the byte offset in
/// `text` that the position points at (the last byte serde read).
fn split_position(text: &str, error: &serde_json::Error) -> (String, usize) {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let mut message = message
        .strip_suffix(&suffix)
        .map_or(message.clone(), str::to_owned);
    // serde names the Rust type where a JSON object was expected.
    if let Some(start) = message.find("expected struct ") {
        message.truncate(start);
        message.push_str("expected an object");
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(error.line().saturating_sub(1))
        .map(str::len)
        .sum();
    (message, (line_start + error.column()).saturating_sub(1))
}

/// Where `inner` starts within `outer`, if it is a part of it.
fn offset_within(outer: &str, inner: &str) -> Option<usize> {
    let offset = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (offset + inner.len() <= outer.len()).then_some(offset)
}

/// Deep enough for every field of the document's schema; bounds the walk
/// over a hostile, deeply nested document.
const MAX_PATH_DEPTH: usize = 8;

/// The path (`traffic[1].percent`) of the innermost value of the JSON `text`
/// that holds byte `offset`: the field a serde error at that offset is about.
/// Empty when the offset is in `text`'s own value (a missing or unknown field
/// of an object is reported at the object).
fn path_at(text: &str, offset: usize) -> String {
    let mut path = String::new();
    let mut value = text;
    let mut offset = offset;
    for _ in 0..MAX_PATH_DEPTH {
        let children: Vec<(String, &RawValue)> = match value.as_bytes().first() {
            Some(b'{') => serde_json::from_slice::<std::collections::BTreeMap<String, &RawValue>>(
                value.as_bytes(),
            )
            .map(|fields| fields.into_iter().collect())
            .unwrap_or_default(),
            Some(b'[') => serde_json::from_slice::<Vec<&RawValue>>(value.as_bytes())
                .map(|items| {
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, item)| (format!("[{i}]"), item))
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let Some((key, child, start)) = children.into_iter().find_map(|(key, child)| {
            let start = offset_within(value, child.get())?;
            // serde reports a value of the wrong kind of container at the
            // byte before it (it peeked at the bracket without reading it).
            (start <= offset + 1 && offset < start + child.get().len())
                .then_some((key, child, start))
        }) else {
            break;
        };
        if !(path.is_empty() || key.starts_with('[')) {
            path.push('.');
        }
        path.push_str(&key);
        let Some(inner) = offset.checked_sub(start) else {
            break;
        };
        value = child.get();
        offset = inner;
    }
    path
}

/// `path: message`, or the message alone for an empty path.
fn at_path(path: &str, message: String) -> String {
    if path.is_empty() {
        message
    } else {
        format!("{path}: {message}")
    }
}

/// Re-reads a document that failed the typed parse to say which service and
/// which field each error is in (serde's own messages name neither).
fn locate(json: &[u8], error: serde_json::Error) -> ConfigErrors {
    let document = match serde_json::from_slice::<&RawValue>(json) {
        Ok(document) => document,
        Err(syntax) => {
            return ConfigErrors::one(ConfigError::document(format!(
                "configuration is not valid JSON: {syntax}"
            )))
        }
    };
    let text = document.get();
    if !text.starts_with('{') {
        return ConfigErrors::one(ConfigError::document(format!(
            "configuration must be a JSON object with a \"services\" list, got {}",
            kind(text)
        )));
    }
    // Each service on its own, so that every bad service is reported.
    let services = serde_json::from_slice::<DocumentParts>(text.as_bytes())
        .ok()
        .and_then(|parts| elements(parts.services));
    let mut errors: Vec<ConfigError> = services
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, service)| {
            let service = service.get();
            let error = serde_json::from_slice::<ServiceSpec>(service.as_bytes()).err()?;
            let (message, offset) = split_position(service, &error);
            let name = serde_json::from_slice::<ServiceParts>(service.as_bytes())
                .ok()
                .and_then(|p| p.name)
                .and_then(|n| serde_json::from_slice::<String>(n.get().as_bytes()).ok());
            Some(ConfigError::service(
                index,
                name.as_deref(),
                at_path(&path_at(service, offset), message),
            ))
        })
        .collect();
    // An error outside the services (the typed parse stops at the first).
    // `json` holds `text`, which the parse above borrowed from it.
    let whole = std::str::from_utf8(json).unwrap_or(text);
    let (message, offset) = split_position(whole, &error);
    let path = offset_within(whole, text)
        .and_then(|start| offset.checked_sub(start))
        .map(|offset| path_at(text, offset))
        .unwrap_or_default();
    if errors.is_empty() || !path.starts_with("services") {
        let message = if path.is_empty() {
            format!("configuration: {error}")
        } else {
            format!("{path}: {message}")
        };
        errors.insert(0, ConfigError::document(message));
    }
    ConfigErrors(errors)
}

/// What a JSON value is, from its first character.
fn kind(json: &str) -> &'static str {
    match json.bytes().next() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

/// Validates a parsed document and compiles it.
pub fn compile_document(document: &Document) -> Result<RouteTable, ConfigErrors> {
    let mut errors = Vec::new();
    let defaults = Defaults::new(document, &mut errors);
    let mut hosts = HostTableBuilder::default();
    let mut services = Vec::with_capacity(document.services.len());
    let mut next_slot = 0u32;
    for (index, spec) in document.services.iter().enumerate() {
        let mut report = |message: String| {
            errors.push(ConfigError::service(index, Some(&spec.name), message));
        };
        if let Some(mut service) = compile_service(spec, &defaults, &mut report) {
            register_hosts(
                index,
                &service,
                spec,
                &defaults,
                &document.services,
                &mut hosts,
                &mut report,
            );
            if defaults.metrics {
                assign_metric_slots(&mut service, &mut next_slot);
            }
            services.push((index, service));
        }
    }
    // Custom domains go in once every service's own hosts are known, so a
    // clash is found whichever service comes first.
    let mut hosts = hosts.build();
    for (index, service) in &services {
        let spec = document.services.get(*index);
        if let Some(spec) = spec {
            let mut report = |message: String| {
                errors.push(ConfigError::service(*index, Some(&spec.name), message));
            };
            register_custom_domains(
                *index,
                service,
                spec,
                &document.services,
                &mut hosts,
                &mut report,
            );
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(RouteTable {
        headers: HeaderNames {
            cluster: defaults.cluster_header.into(),
            mirror: defaults.mirror_header.into(),
            route_response: defaults.route_response_header.map(Into::into),
        },
        hosts,
        services: services.into_iter().map(|(_, s)| s).collect(),
    })
}

/// Document-wide settings with their defaults applied.
struct Defaults<'d> {
    cluster_header: String,
    mirror_header: String,
    cluster_template: &'d str,
    domain: &'d str,
    cluster_domain: &'d str,
    route_response_header: Option<String>,
    metrics: bool,
}

impl<'d> Defaults<'d> {
    fn new(document: &'d Document, errors: &mut Vec<ConfigError>) -> Defaults<'d> {
        let mut error = |message: String| errors.push(ConfigError::document(message));
        let cluster_header = document
            .cluster_header
            .as_deref()
            .unwrap_or(DEFAULT_CLUSTER_HEADER)
            .to_ascii_lowercase();
        if let Err(message) = check_own_header(&cluster_header) {
            error(format!("clusterHeader: {message}"));
        }
        let mirror_header = document
            .mirror_header
            .as_deref()
            .unwrap_or(DEFAULT_MIRROR_HEADER)
            .to_ascii_lowercase();
        if let Err(message) = check_own_header(&mirror_header) {
            error(format!("mirrorHeader: {message}"));
        } else if mirror_header == cluster_header {
            error(format!(
                "mirrorHeader: {mirror_header:?} is the clusterHeader too; they must differ"
            ));
        }
        let route_response_header = document
            .route_response_header
            .as_deref()
            .map(str::to_ascii_lowercase);
        if let Some(header) = &route_response_header {
            if let Err(message) = check_own_header(header) {
                error(format!("routeResponseHeader: {message}"));
            }
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
            mirror_header,
            cluster_template,
            domain,
            cluster_domain,
            route_response_header,
            metrics: document.metrics.unwrap_or(true),
        }
    }
}

/// A header the filter itself writes: a valid name, and not one of the
/// headers it writes for another purpose.
fn check_own_header(name: &str) -> Result<(), String> {
    if !is_header_name(name) {
        return Err(format!(
            "{name:?} is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"
        ));
    }
    if [
        TAG_HEADER,
        REVISION_HEADER,
        NAMESPACE_HEADER,
        DEFAULT_ROUTE_HEADER,
        "host",
        "set-cookie",
    ]
    .contains(&name)
    {
        return Err(format!(
            "{name:?} is a header the filter writes for another purpose"
        ));
    }
    Ok(())
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
    if template == DEFAULT_CLUSTER_TEMPLATE {
        // The default, and the common case: one copy instead of three
        // replace passes.
        return revision.to_owned();
    }
    template
        .replace("{revision}", revision)
        .replace("{service}", service)
        .replace("{namespace}", namespace)
}

/// A token as RFC 9110 defines header names (and RFC 6265 cookie names).
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

/// Collects a service's errors; `ok` stays true while there are none.
struct Checks<'r, F: FnMut(String)> {
    report: &'r mut F,
    ok: bool,
}

impl<F: FnMut(String)> Checks<'_, F> {
    fn fail(&mut self, message: String) {
        self.ok = false;
        (self.report)(message);
    }
}

/// The headers a service's rules and stickiness read, each given one slot.
#[derive(Default)]
struct HeaderSlots(Vec<Box<str>>);

/// The header Envoy keeps the Host in (HTTP/1.1's `Host`, HTTP/2's
/// `:authority`); a `host` lookup reaches it too.
const HOST: &str = "host";

impl HeaderSlots {
    /// Where a header named in the configuration (any case) is read from.
    /// `host` is the host the request was matched by, already read and
    /// normalised: lower case, without port or trailing dot, as a service's
    /// own hosts match.
    fn source(&mut self, name: &str) -> Source {
        let name = name.to_ascii_lowercase();
        if name == HOST {
            Source::Host
        } else {
            Source::Header {
                slot: self.slot(&name),
            }
        }
    }

    fn slot(&mut self, name: &str) -> u32 {
        let index = match self.0.iter().position(|n| &**n == name) {
            Some(i) => i,
            None => {
                self.0.push(name.into());
                self.0.len() - 1
            }
        };
        u32::try_from(index).unwrap_or(u32::MAX)
    }
}

/// Validates one service and builds its routing state. Returns `None` if it
/// has errors (all reported).
fn compile_service(
    spec: &ServiceSpec,
    defaults: &Defaults,
    report: &mut impl FnMut(String),
) -> Option<Service> {
    let mut checks = Checks { report, ok: true };
    if !is_dns1035_label(&spec.name) {
        checks.fail(format!("name: {:?} is not {DNS1035}", spec.name));
    }
    if !is_dns1123_label(&spec.namespace) {
        checks.fail(format!("namespace: {:?} is not {DNS1123}", spec.namespace));
    }
    if let Some(domain) = &spec.domain {
        if !is_dns_name(domain) {
            checks.fail(format!("domain: {domain:?} is not a lower-case DNS name"));
        }
    }
    let latest_ready = spec
        .latest_ready_revision_name
        .as_deref()
        .filter(|r| !r.is_empty());
    if let Some(latest) = latest_ready {
        if !is_plain_value(latest) {
            checks.fail(format!(
                "latestReadyRevisionName: {latest:?} is not a revision name"
            ));
        }
    }

    let traffic = compile_traffic(spec, latest_ready, &mut checks);
    let mut revisions = traffic.revisions;
    let rollout_target = spec.rollout.as_ref().and_then(|rollout| {
        rollout_revision(
            rollout,
            latest_ready,
            &traffic.percents,
            &revisions,
            &mut checks,
        )
    });
    let rollout_destination =
        rollout_target.map(|revision| position_or_push(&mut revisions, revision));
    let mirror = spec
        .mirror
        .as_ref()
        .and_then(|m| compile_mirror(m, &traffic.tags, &mut revisions, &mut checks));
    let destinations = compile_destinations(spec, defaults, &revisions, &mut checks);
    let mut tags: Vec<Tag> = traffic
        .tags
        .into_iter()
        .map(|(name, destination)| Tag {
            name: name.into(),
            destination,
        })
        .collect();
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    let mut header_names = HeaderSlots::default();
    let rules = compile_rules(&spec.rules, &tags, &mut header_names, &mut checks);
    let sticky = spec
        .sticky
        .as_ref()
        .and_then(|s| compile_sticky(s, spec, &mut header_names, &mut checks));
    let split = Split::new(
        traffic
            .percents
            .iter()
            .map(|&(d, p)| (d, p * BUCKETS_PER_PERCENT)),
    )
    .ok();
    let rollout = match (&spec.rollout, rollout_destination, &split) {
        (Some(rollout), Some(target), Some(split)) => {
            compile_rollout(rollout, split, target, &mut checks)
        }
        _ => None,
    };
    if !checks.ok {
        return None;
    }
    let route_values = match defaults.route_response_header {
        Some(_) => destinations
            .iter()
            .map(|d| {
                Reason::ROUTED.map(|reason| {
                    format!("revision={}; reason={}", d.revision, reason.as_str()).into()
                })
            })
            .collect(),
        None => Box::default(),
    };
    Some(Service {
        route_values,
        name: spec.name.as_str().into(),
        namespace: spec.namespace.as_str().into(),
        metric_slots: vec![[NO_SLOT; Reason::ROUTED.len()]; destinations.len()].into(),
        not_found_slot: NO_SLOT,
        destinations: destinations.into(),
        tags: tags.into(),
        split: split?,
        rollout,
        rules: rules.into(),
        sticky,
        header_names: header_names.0.into(),
        mirror,
        mirrored_slot: NO_SLOT,
    })
}

fn compile_mirror<'s>(
    spec: &'s MirrorSpec,
    tags: &[(&str, DestinationId)],
    revisions: &mut Vec<&'s str>,
    checks: &mut Checks<impl FnMut(String)>,
) -> Option<Mirror> {
    let hundredths = spec.percent * 100.0;
    let buckets = (spec.percent.is_finite()
        && (0.0..=100.0).contains(&spec.percent)
        && (hundredths - hundredths.round()).abs() < 1e-6)
        .then(|| hundredths.round() as u32);
    if buckets.is_none() {
        checks.fail(format!(
            "mirror.percent must be from 0 to 100 in steps of 0.01, got {}",
            spec.percent
        ));
    }
    let destination = match (spec.tag.as_deref(), spec.revision_name.as_deref()) {
        (Some(tag), None) => {
            let found = tags.iter().find(|(t, _)| *t == tag).map(|(_, d)| *d);
            if found.is_none() {
                checks.fail(format!(
                    "mirror: tag {tag:?} is not a tag of this service's traffic"
                ));
            }
            found
        }
        (None, Some(revision)) if is_plain_value(revision) => {
            Some(position_or_push(revisions, revision))
        }
        (None, Some(revision)) => {
            checks.fail(format!(
                "mirror: revisionName {revision:?} is not a revision name"
            ));
            None
        }
        _ => {
            checks.fail("mirror: set one of tag or revisionName".into());
            None
        }
    };
    Some(Mirror {
        destination: destination?,
        buckets: buckets?,
        include_tagged: spec.include_tagged.unwrap_or(false),
    })
}

fn position_or_push<'a>(revisions: &mut Vec<&'a str>, revision: &'a str) -> DestinationId {
    let index = revisions
        .iter()
        .position(|r| *r == revision)
        .unwrap_or_else(|| {
            revisions.push(revision);
            revisions.len() - 1
        });
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// A service's `traffic` block, resolved.
struct Traffic<'s> {
    /// Distinct revisions, in order of first appearance.
    revisions: Vec<&'s str>,
    /// `(destination, percent)` per target with a revision, in order.
    percents: Vec<(DestinationId, u32)>,
    /// `(tag, destination)`, in order.
    tags: Vec<(&'s str, DestinationId)>,
}

fn compile_traffic<'s>(
    spec: &'s ServiceSpec,
    latest_ready: Option<&'s str>,
    checks: &mut Checks<impl FnMut(String)>,
) -> Traffic<'s> {
    // Knative's default: no traffic block means everything to the latest.
    const LATEST: &[TrafficTarget] = &[TrafficTarget {
        tag: None,
        revision_name: None,
        latest_revision: Some(true),
        percent: Percent::HUNDRED,
        url: None,
    }];
    let targets: &[TrafficTarget] = if spec.traffic.is_empty() {
        LATEST
    } else {
        &spec.traffic
    };
    let mut traffic = Traffic {
        revisions: Vec::new(),
        percents: Vec::with_capacity(targets.len()),
        tags: Vec::new(),
    };
    let mut first_use: Vec<(&str, usize)> = Vec::new();
    let mut sum: u32 = 0;
    for (j, target) in targets.iter().enumerate() {
        let named = target.revision_name.as_deref().filter(|r| !r.is_empty());
        let latest = target.latest_revision.unwrap_or(named.is_none());
        let revision = match (latest, named) {
            (true, Some(name)) => {
                checks.fail(format!(
                    "traffic[{j}]: latestRevision: true and revisionName {name:?} exclude each other; set one"
                ));
                None
            }
            (false, None) => {
                checks.fail(format!(
                    "traffic[{j}]: latestRevision: false needs a revisionName"
                ));
                None
            }
            (true, None) => {
                if latest_ready.is_none() {
                    checks.fail(if spec.traffic.is_empty() {
                        "traffic: none given, which sends 100% to the latest revision, but latestReadyRevisionName is not set".to_owned()
                    } else {
                        format!("traffic[{j}]: follows the latest revision, but latestReadyRevisionName is not set")
                    });
                }
                latest_ready
            }
            (false, Some(name)) => {
                if !is_plain_value(name) {
                    checks.fail(format!(
                        "traffic[{j}]: revisionName {name:?} is not a revision name"
                    ));
                }
                Some(name)
            }
        };
        let percent = target.percent.map_or(0, |p| u32::from(p.get()));
        sum += percent;
        let destination = revision.map(|r| position_or_push(&mut traffic.revisions, r));
        if let Some(destination) = destination {
            traffic.percents.push((destination, percent));
        }
        // Knative's validation skips an empty tag: the target is untagged.
        if let Some(tag) = target.tag.as_deref().filter(|t| !t.is_empty()) {
            if !is_dns1035_label(tag) {
                checks.fail(format!("traffic[{j}]: tag {tag:?} is not {DNS1035}"));
            } else if let Some((_, first)) = first_use.iter().find(|(t, _)| *t == tag) {
                checks.fail(format!(
                    "traffic[{j}]: tag {tag:?} is already used by traffic[{first}]"
                ));
            } else if tag.len() + 1 + spec.name.len() > 63 {
                checks.fail(format!(
                    "traffic[{j}]: tag {tag:?} makes the host label \"{tag}-{}\" longer than a DNS label's 63 characters",
                    spec.name
                ));
            } else {
                first_use.push((tag, j));
                if let Some(destination) = destination {
                    traffic.tags.push((tag, destination));
                }
            }
        }
    }
    if sum != 100 {
        checks.fail(format!("traffic percents sum to {sum}, want 100"));
    }
    traffic
}

fn compile_destinations(
    spec: &ServiceSpec,
    defaults: &Defaults,
    revisions: &[&str],
    checks: &mut Checks<impl FnMut(String)>,
) -> Vec<Destination> {
    for revision in spec.clusters.keys() {
        if !revisions.contains(&revision.as_str()) {
            checks.fail(format!(
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
            checks.fail(format!(
                "clusters: cluster {:?} of revision {:?} is not a cluster name (printable ASCII, no spaces)",
                destination.cluster, destination.revision
            ));
        }
    }
    destinations
}

fn compile_rules(
    specs: &[RuleSpec],
    tags: &[Tag],
    headers: &mut HeaderSlots,
    checks: &mut Checks<impl FnMut(String)>,
) -> Vec<Rule> {
    let mut rules = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let source = match (&spec.header, &spec.cookie) {
            (Some(header), None) if is_header_name(header) => Some(headers.source(header)),
            (None, Some(cookie)) if is_header_name(cookie) => Some(Source::Cookie {
                slot: headers.slot(COOKIE),
                name: cookie.as_str().into(),
            }),
            (Some(name), None) | (None, Some(name)) => {
                checks.fail(format!(
                    "rules[{i}]: {name:?} is not a header or cookie name"
                ));
                None
            }
            _ => {
                checks.fail(format!("rules[{i}]: set one of header or cookie"));
                None
            }
        };
        // Hosts compare in lower case, as the host is read.
        let value = |v: &str| -> Box<str> {
            if source == Some(Source::Host) {
                v.to_ascii_lowercase().into()
            } else {
                v.into()
            }
        };
        let test = match (&spec.exact, &spec.prefix, spec.present) {
            (Some(v), None, None) => Some(Test::Exact(value(v))),
            (None, Some(v), None) => Some(Test::Prefix(value(v))),
            (None, None, Some(true)) => Some(Test::Present),
            (None, None, Some(false)) => {
                checks.fail(format!(
                    "rules[{i}]: present must be true (a rule matches what a request has)"
                ));
                None
            }
            _ => {
                checks.fail(format!("rules[{i}]: set one of exact, prefix or present"));
                None
            }
        };
        let tag = tags.iter().position(|t| *t.name == *spec.tag);
        if tag.is_none() {
            checks.fail(format!(
                "rules[{i}]: tag {:?} is not a tag of this service's traffic",
                spec.tag
            ));
        }
        if let (Some(source), Some(test), Some(tag)) = (source, test, tag) {
            rules.push(Rule {
                source,
                test,
                tag: u32::try_from(tag).unwrap_or(u32::MAX),
            });
        }
    }
    rules
}

/// Max-Age of a handed-out sticky cookie when `maxAge` is not given: a day.
const DEFAULT_STICKY_MAX_AGE: u64 = 86_400;

fn compile_sticky(
    spec: &StickySpec,
    service: &ServiceSpec,
    headers: &mut HeaderSlots,
    checks: &mut Checks<impl FnMut(String)>,
) -> Option<Sticky> {
    let source = match (&spec.cookie, &spec.header) {
        (Some(cookie), None) if is_header_name(cookie) => Source::Cookie {
            slot: headers.slot(COOKIE),
            name: cookie.as_str().into(),
        },
        (None, Some(header)) if is_header_name(header) => headers.source(header),
        (Some(name), None) | (None, Some(name)) => {
            checks.fail(format!("sticky: {name:?} is not a header or cookie name"));
            return None;
        }
        _ => {
            checks.fail("sticky: set one of cookie or header".into());
            return None;
        }
    };
    let set_cookie = spec.set_cookie.unwrap_or(false);
    if set_cookie && spec.cookie.is_none() {
        checks.fail("sticky: setCookie needs a cookie key".into());
    }
    if spec.max_age.is_some() && !set_cookie {
        checks.fail("sticky: maxAge applies only with setCookie: true".into());
    }
    let max_age = set_cookie.then(|| spec.max_age.unwrap_or(DEFAULT_STICKY_MAX_AGE));
    Some(Sticky::new(
        source,
        &service.namespace,
        &service.name,
        max_age,
    ))
}

/// The revision a rollout rolls to, checked to start from 0%.
fn rollout_revision<'s>(
    spec: &'s RolloutSpec,
    latest_ready: Option<&'s str>,
    percents: &[(DestinationId, u32)],
    revisions: &[&str],
    checks: &mut Checks<impl FnMut(String)>,
) -> Option<&'s str> {
    let Some(revision) = spec
        .revision_name
        .as_deref()
        .filter(|r| !r.is_empty())
        .or(latest_ready)
    else {
        checks.fail("rollout: no revisionName, and no latestReadyRevisionName to roll to".into());
        return None;
    };
    if !is_plain_value(revision) {
        checks.fail(format!(
            "rollout: revisionName {revision:?} is not a revision name"
        ));
        return None;
    }
    let share: u32 = revisions
        .iter()
        .position(|r| *r == revision)
        .map(|d| {
            percents
                .iter()
                .filter(|(dest, _)| *dest as usize == d)
                .map(|(_, p)| p)
                .sum()
        })
        .unwrap_or(0);
    if share > 0 {
        checks.fail(format!(
            "rollout: revision {revision:?} already has {share}% of the traffic; a rollout starts from 0%"
        ));
        return None;
    }
    Some(revision)
}

fn compile_rollout(
    spec: &RolloutSpec,
    base: &Split,
    target: DestinationId,
    checks: &mut Checks<impl FnMut(String)>,
) -> Option<Rollout> {
    let start = parse_instant(&spec.start);
    if start.is_none() {
        checks.fail(format!(
            "rollout.start: {:?} is not an RFC 3339 instant (e.g. 2026-11-25T16:00:00Z)",
            spec.start
        ));
    }
    let duration = parse_duration(&spec.duration).filter(|d| *d > 0);
    if duration.is_none() {
        checks.fail(format!(
            "rollout.duration: {:?} is not a positive duration (e.g. 10m, 1h30m, 380s)",
            spec.duration
        ));
    }
    if let Some(steps) = spec.steps.filter(|s| !(1..=99).contains(s)) {
        checks.fail(format!("rollout.steps must be from 1 to 99, got {steps}"));
        return None;
    }
    let (start, duration) = (start?, duration?);
    let steps = spec.steps.unwrap_or_else(|| default_steps(duration));
    let base: Vec<(DestinationId, u32)> = base
        .shares()
        .into_iter()
        .map(|(d, buckets)| (d, buckets / BUCKETS_PER_PERCENT))
        .collect();
    match Rollout::new(&base, target, start, duration, steps) {
        Ok(rollout) => Some(rollout),
        // Not reachable from a valid traffic block (its percents make 100%,
        // and every move keeps the sum), but a rollout must never be dropped
        // in silence: the service would serve without it.
        Err(SplitError::Sum { buckets }) => {
            let per = u64::from(BUCKETS_PER_PERCENT);
            checks.fail(format!(
                "rollout: a step's shares sum to {}.{:02}%, want 100%; the schedule cannot be built",
                buckets / per,
                buckets % per
            ));
            None
        }
    }
}

/// Gives each (revision, reason) that can occur a counter slot.
fn assign_metric_slots(service: &mut Service, next: &mut u32) {
    let mut take = || {
        let slot = *next;
        *next = next.saturating_add(1);
        slot
    };
    let destinations = service.destinations.len();
    let mut tagged = vec![false; destinations];
    let mut ruled = vec![false; destinations];
    let mut split = vec![false; destinations];
    for tag in service.tags.iter() {
        set(&mut tagged, tag.destination);
    }
    for rule in service.rules.iter() {
        if let Some(tag) = service.tags.get(rule.tag as usize) {
            set(&mut ruled, tag.destination);
        }
    }
    let rollout_shares = service
        .rollout
        .iter()
        .flat_map(|r| (0..).map_while(move |k| r.step_shares(k)).flatten());
    for (destination, share) in service.split.shares().into_iter().chain(rollout_shares) {
        if share > 0 {
            set(&mut split, destination);
        }
    }
    service.not_found_slot = take();
    if service.mirror.is_some() {
        service.mirrored_slot = take();
    }
    let sticky = service.sticky.is_some();
    for (d, slots) in service.metric_slots.iter_mut().enumerate() {
        for (reason, slot) in Reason::ROUTED.iter().zip(slots.iter_mut()) {
            let possible = match reason {
                Reason::TagHost | Reason::TagHeader => tagged.get(d).copied(),
                Reason::Rule => ruled.get(d).copied(),
                Reason::Sticky => split.get(d).map(|s| *s && sticky),
                Reason::Draw => split.get(d).copied(),
                Reason::NotFound => None,
            };
            if possible == Some(true) {
                *slot = take();
            }
        }
    }
}

fn set(flags: &mut [bool], index: DestinationId) {
    if let Some(flag) = flags.get_mut(index as usize) {
        *flag = true;
    }
}

/// The host label of a tag: `{tag}-{name}` (Knative's default tag template).
pub fn tag_label(tag: &str, name: &str) -> String {
    format!("{tag}-{name}")
}

/// The tag host of a custom domain: the tag label on its first label
/// (`a-www.example.com` for tag `a` of `www.example.com`).
pub fn custom_domain_tag_host(tag: &str, host: &str) -> String {
    match host.split_once('.') {
        Some((first, rest)) => format!("{}.{rest}", tag_label(tag, first)),
        None => tag_label(tag, host),
    }
}

/// The hosts a service is served at from outside the cluster, as the
/// configuration asks: `{name}.{namespace}.{domain}`, its tag hosts (in
/// `traffic` order), its custom domains, and with `customDomainTags` the tag
/// hosts of its exact custom domains. The cluster-local forms are left out.
/// For tools that write gateway manifests; the filter's own host table is
/// built by the same rules.
pub fn public_hosts(document: &Document, spec: &ServiceSpec) -> Vec<String> {
    let domain = spec
        .domain
        .as_deref()
        .or(document.domain.as_deref())
        .unwrap_or(DEFAULT_DOMAIN);
    let mut tags: Vec<&str> = Vec::new();
    for tag in spec.traffic.iter().filter_map(|t| t.tag.as_deref()) {
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let mut hosts = vec![format!("{}.{}.{domain}", spec.name, spec.namespace)];
    hosts.extend(
        tags.iter()
            .map(|tag| format!("{}.{}.{domain}", tag_label(tag, &spec.name), spec.namespace)),
    );
    hosts.extend(spec.custom_domains.iter().cloned());
    if spec.custom_domain_tags.unwrap_or(false) {
        for custom in spec.custom_domains.iter().filter(|d| !d.starts_with("*.")) {
            hosts.extend(tags.iter().map(|tag| custom_domain_tag_host(tag, custom)));
        }
    }
    let mut unique: Vec<String> = Vec::with_capacity(hosts.len());
    for host in hosts {
        if !unique.contains(&host) {
            unique.push(host);
        }
    }
    unique
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
    // Each host with the field it comes from, for the error message.
    let labels = std::iter::once((
        service.name.to_string(),
        None,
        format!("name {:?}", spec.name),
    ))
    .chain(service.tags.iter().enumerate().map(|(t, tag)| {
        let target = spec
            .traffic
            .iter()
            .position(|target| target.tag.as_deref() == Some(&*tag.name))
            .unwrap_or_default();
        (
            tag_label(&tag.name, &service.name),
            Some(t as u32),
            format!("traffic[{target}].tag {:?}", tag.name),
        )
    }));
    for (label, tag, origin) in labels {
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
                "{origin}: host {:?} is already claimed by services[{holder}] ({holder_name})",
                clash.host
            ));
        }
    }
}

/// Adds a service's custom domains (and, if asked, their tag hosts) to the
/// table, reporting hosts that are malformed, listed twice, or already
/// claimed exactly by a service.
fn register_custom_domains(
    index: usize,
    service: &Service,
    spec: &ServiceSpec,
    all: &[ServiceSpec],
    hosts: &mut HostTable,
    report: &mut impl FnMut(String),
) {
    let id = u32::try_from(index).unwrap_or(u32::MAX);
    let clash = |what: &str, clash: HostClash| {
        let holder = clash.holder as usize;
        if holder == index {
            format!(
                "{what} {:?} is already one of this service's hosts",
                clash.host
            )
        } else {
            let holder_name = all.get(holder).map_or("?", |s| s.name.as_str());
            format!(
                "{what} {:?} is already claimed by services[{holder}] ({holder_name})",
                clash.host
            )
        }
    };
    let with_tags = spec.custom_domain_tags.unwrap_or(false);
    for (i, host) in spec.custom_domains.iter().enumerate() {
        let field = format!("customDomains[{i}]");
        if let Some(suffix) = host.strip_prefix("*.") {
            if !is_dns_name(suffix) || !suffix.contains('.') {
                report(format!(
                    "{field}: {host:?} is not *. followed by a lower-case DNS name of two or more labels"
                ));
            } else if let Err(c) = hosts.add_wildcard(suffix, id) {
                report(format!("{field}: {}", clash("host", c)));
            }
            continue;
        }
        if !is_dns_name(host) {
            report(format!(
                "{field}: {host:?} is not a lower-case DNS name (or *. and one)"
            ));
            continue;
        }
        if let Err(c) = hosts.add_custom(host, id, None) {
            report(format!("{field}: {}", clash("host", c)));
        }
        if !with_tags {
            continue;
        }
        for (t, tag) in service.tags.iter().enumerate() {
            let tag_host = custom_domain_tag_host(&tag.name, host);
            let label = tag_host.split('.').next().unwrap_or_default();
            if label.len() > 63 {
                report(format!(
                    "{field}: tag {:?} makes the host label {label:?} longer than a DNS label's 63 characters",
                    tag.name
                ));
                continue;
            }
            let tag_id = u32::try_from(t).unwrap_or(u32::MAX);
            if let Err(c) = hosts.add_custom(&tag_host, id, Some(tag_id)) {
                report(format!("{field}: {}", clash("tag host", c)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::BUCKETS;

    #[test]
    fn a_rollout_that_cannot_be_built_is_an_error_not_dropped() {
        let spec = RolloutSpec {
            revision_name: None,
            start: "2026-11-25T16:00:00Z".into(),
            duration: "10m".into(),
            steps: Some(4),
        };
        let mut errors = Vec::new();
        let mut report = |message: String| errors.push(message);
        let mut checks = Checks {
            report: &mut report,
            ok: true,
        };
        // Half the buckets: a split no valid traffic block makes.
        let half = Split::Weighted(vec![(BUCKETS / 2, 0)].into());
        assert_eq!(compile_rollout(&spec, &half, 1, &mut checks), None);
        assert!(!checks.ok);
        assert_eq!(
            errors,
            ["rollout: a step's shares sum to 50.00%, want 100%; the schedule cannot be built"]
        );
    }
}
