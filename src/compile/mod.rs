//! Configuration → [`RouteTable`]: parsing, Knative's validation rules, and
//! the one-time work that keeps the per-request path to lookups and a draw.
//!
//! A configuration with any error is refused whole; every error names the
//! service (index and name), the field and the rule. One concern per file:
//!
//! - [`locate`]: parsing, service by service, and where in a refused
//!   document each error is, with [`suggest`]ing the known name nearest to
//!   an unknown one;
//! - [`defaults`]: the document-wide settings and their defaults;
//! - [`service`]: one service: its names, its `traffic` and its clusters,
//!   then its features, each in a file of its own ([`rules`], [`sticky`],
//!   [`rollout`], [`mirror`]);
//! - [`hosts`]: the hosts each service claims, for the host table and for
//!   the tool's list of public hosts alike, by [`templates`] (Knative's
//!   domain and tag templates);
//! - [`metrics`]: which counters can occur, and their slots.

mod defaults;
mod guard;
mod hosts;
mod locate;
mod metrics;
mod mirror;
mod objects;
mod rollout;
mod rules;
mod service;
mod sticky;
mod suggest;
mod templates;

use crate::config::{Document, ServiceSpec};
use crate::error::{ConfigError, ConfigErrors, ErrorKind};
use crate::hosts::{ServiceId, Side};
use crate::routing::{HeaderNames, RouteTable};

pub use hosts::{external_hosts, public_hosts, served_hosts, HostZone, ServedHost};
pub use locate::parse;
pub use templates::{domain_of_host, DEFAULT_DOMAIN_TEMPLATE, DEFAULT_TAG_TEMPLATE};

/// Parses and compiles a configuration document, for both sides (every
/// host the configuration serves).
pub fn compile(json: &[u8]) -> Result<RouteTable, ConfigErrors> {
    compile_for(json, Side::Both)
}

/// Parses and compiles a configuration document for a filter instance that
/// serves `side`. A document refused as it is parsed still has its other
/// services compiled, so that one pass reports every service's errors.
pub fn compile_for(json: &[u8], side: Side) -> Result<RouteTable, ConfigErrors> {
    let parts = locate::read(json)?;
    let services = &parts.document.services;
    let specs: Vec<Option<&ServiceSpec>> = services.iter().map(locate::ServiceSlot::spec).collect();
    match compile_services(&parts.document, &specs, side) {
        Ok(mut table) if parts.errors.is_empty() => {
            table.generation = generation(json);
            Ok(table)
        }
        compiled => Err(ConfigErrors(in_document_order(
            parts.errors,
            compiled.err().map(|e| e.0).unwrap_or_default(),
        ))),
    }
}

/// SipHash with fixed keys of the configuration's bytes: the same text has
/// the same generation in every worker and every proxy.
fn generation(json: &[u8]) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(json)
}

/// Two lists of errors, each in document order (the document's own first,
/// then by service), merged into one. A merge, not a sort: a sort's code
/// would weigh more in the module than this whole path.
fn in_document_order(a: Vec<ConfigError>, b: Vec<ConfigError>) -> Vec<ConfigError> {
    let place = |e: &ConfigError| e.service.as_ref().map(|s| s.index);
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let mut b = b.into_iter().peekable();
    for error in a {
        while let Some(next) = b.next_if(|n| place(n) <= place(&error)) {
            merged.push(next);
        }
        merged.push(error);
    }
    merged.extend(b);
    merged
}

/// Validates a parsed document and compiles it for `side`.
pub fn compile_document(document: &Document, side: Side) -> Result<RouteTable, ConfigErrors> {
    let specs: Vec<Option<&ServiceSpec>> = document.services.iter().map(Some).collect();
    compile_services(document, &specs, side)
}

/// Validates and compiles the services of a document; a `None` is one that
/// did not parse, which is skipped (its error is already reported).
fn compile_services<S>(
    document: &Document<S>,
    specs: &[Option<&ServiceSpec>],
    side: Side,
) -> Result<RouteTable, ConfigErrors> {
    let mut errors = Vec::new();
    let defaults = defaults::Defaults::new(document, &mut errors);
    let mut hosts = hosts::Registry::new(specs, &defaults);
    let mut slots = metrics::SlotCounter::default();
    let mut services = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let Some(spec) = spec else { continue };
        let mut checks = Checks::new(index, &spec.name, &mut errors);
        if let Some(mut service) = service::compile(spec, &defaults, side, &mut checks) {
            let id = ServiceId::new(index);
            hosts.register(id, &service, spec, &defaults, &mut checks);
            if defaults.metrics {
                metrics::assign_slots(&mut service, &mut slots, &mut checks);
            }
            // A guard counts whether or not the request counters are on:
            // its counters are how the proxy's workers add up its answers.
            metrics::assign_guard_slots(&mut service, &mut slots);
            services.push((index, service));
        }
    }
    // Custom domains go in once every service's own hosts are known, so a
    // clash is found whichever service comes first.
    for (index, service) in &services {
        if let Some(Some(spec)) = specs.get(*index) {
            let mut checks = Checks::new(*index, &spec.name, &mut errors);
            let id = ServiceId::new(*index);
            hosts.register_custom_domains(id, service, spec, &defaults, &mut checks);
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
            knative: defaults.tag_header,
        },
        side,
        hosts: hosts.build(side),
        services: services.into_iter().map(|(_, s)| s).collect(),
        generation: 0,
    })
}

/// Collects one service's errors; `ok` stays true while there are none.
pub(crate) struct Checks<'e> {
    index: usize,
    name: &'e str,
    errors: &'e mut Vec<ConfigError>,
    ok: bool,
}

impl<'e> Checks<'e> {
    fn new(index: usize, name: &'e str, errors: &'e mut Vec<ConfigError>) -> Checks<'e> {
        Checks {
            index,
            name,
            errors,
            ok: true,
        }
    }

    /// Reports `{path}: {detail}`.
    fn fail(&mut self, path: &str, kind: ErrorKind, detail: impl std::fmt::Display) {
        let message = if path.is_empty() {
            detail.to_string()
        } else {
            format!("{path}: {detail}")
        };
        self.fail_worded(path, kind, message);
    }

    /// Reports a message that names its field in its own words
    /// (`traffic percents sum to 90, want 100`).
    fn fail_worded(&mut self, path: &str, kind: ErrorKind, message: String) {
        self.ok = false;
        self.errors.push(ConfigError::service(
            self.index,
            Some(self.name),
            path,
            kind,
            message,
        ));
    }

    fn ok(&self) -> bool {
        self.ok
    }
}
