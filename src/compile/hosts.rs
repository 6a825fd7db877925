//! The hosts each service claims. One enumeration, [`claims`], feeds both the
//! host table the filter routes by and the tool's lists, [`public_hosts`]
//! (what it writes into gateway manifests) and [`served_hosts`] (what it
//! shows), so they cannot disagree.
//!
//! A service, and each tag, is served under its label (its name; a tag's by
//! the tag template) in its namespace's cluster-local zones, and, unless it
//! is cluster-local, at its external host by the domain template; then at
//! its custom domains.

use std::borrow::Cow;
use std::fmt;

use super::defaults::Defaults;
use super::Checks;
use crate::config::{Document, ServiceSpec, Visibility};
use crate::error::{ConfigError, ErrorKind};
use crate::hosts::{cluster_local_zones, HostClash, HostTable, HostTableBuilder, Side, Zoned};
use crate::ids::ServiceId;
use crate::names::{is_dns1123_label, is_dns_name, MAX_LABEL, MAX_NAME};
use crate::routing::Service;

/// The tag host of a custom domain: the tag's name (by the tag template) in
/// place of its first label (`a-www.example.com` for tag `a` of
/// `www.example.com`).
fn custom_domain_tag_host(defaults: &Defaults, tag: &str, host: &str) -> String {
    // A custom domain is a DNS name: no empty label after a dot.
    let (first, rest) = host.split_once('.').unwrap_or((host, ""));
    let mut label = String::new();
    defaults.tag_label(tag, first, &mut label);
    if !rest.is_empty() {
        label.push('.');
        label.push_str(rest);
    }
    label
}

/// The field a service's own claim comes from, worded only for an error:
/// 10,000 services make 60,000 claims, and almost none is wrong.
#[derive(Clone, Copy)]
enum Origin<'s> {
    Name(&'s str),
    /// A tag, and the index of the target that first names it.
    Tag(usize, &'s str),
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Name(name) => write!(f, "name {name:?}"),
            Origin::Tag(j, tag) => write!(f, "traffic[{j}].tag {tag:?}"),
        }
    }
}

/// One host (or family of hosts) a service claims, and the field of the
/// configuration it comes from, for error messages.
enum Claim<'s> {
    /// `label` in every cluster-local zone of the service's namespace and,
    /// when `public`, at its external host: the service's own name, or a
    /// tag's label.
    Own {
        label: Cow<'s, str>,
        tag: Option<&'s str>,
        origin: Origin<'s>,
        public: bool,
    },
    /// An exact custom domain, or (with `customDomainTags`) the tag host of
    /// one.
    Custom {
        host: String,
        tag: Option<&'s str>,
        field: String,
    },
    /// `*.{suffix}`: any one label in front of the suffix.
    Wildcard { suffix: &'s str, field: String },
    /// A custom domain that is neither, or one a cluster-local service
    /// cannot have.
    Refused { field: String, message: String },
}

/// The distinct tags of a service's `traffic`, in order, each with the
/// index of the target that first names it and whether it is public (a
/// tag's visibility is the lesser of its own and its service's).
fn tags(spec: &ServiceSpec) -> Vec<(&str, usize, bool)> {
    let service_public = spec.visibility != Some(Visibility::ClusterLocal);
    let mut tags: Vec<(&str, usize, bool)> = Vec::with_capacity(spec.traffic.len());
    for (j, target) in spec.traffic.iter().enumerate() {
        if let Some(tag) = target.tag.as_deref().filter(|t| !t.is_empty()) {
            if !tags.iter().any(|(t, _, _)| *t == tag) {
                let public = service_public && target.visibility != Some(Visibility::ClusterLocal);
                tags.push((tag, j, public));
            }
        }
    }
    tags
}

/// Every host a service claims, in the order hosts are listed: its own,
/// its tags' (in `traffic` order), its custom domains, and their tag hosts.
/// The first group lives in the service's namespace; the second is matched
/// as whole hosts once every service's own hosts are known.
fn claims<'s>(spec: &'s ServiceSpec, defaults: &Defaults) -> (Vec<Claim<'s>>, Vec<Claim<'s>>) {
    (own_claims(spec, defaults), custom_claims(spec, defaults))
}

/// The service's own hosts: its name's, and each tag's.
fn own_claims<'s>(spec: &'s ServiceSpec, defaults: &Defaults) -> Vec<Claim<'s>> {
    let public = spec.visibility != Some(Visibility::ClusterLocal);
    std::iter::once(Claim::Own {
        label: Cow::Borrowed(spec.name.as_str()),
        tag: None,
        origin: Origin::Name(&spec.name),
        public,
    })
    .chain(tags(spec).into_iter().map(|(tag, j, public)| {
        let mut label = String::new();
        defaults.tag_label(tag, &spec.name, &mut label);
        Claim::Own {
            label: Cow::Owned(label),
            tag: Some(tag),
            origin: Origin::Tag(j, tag),
            public,
        }
    }))
    .collect()
}

/// The service's custom domains, and with `customDomainTags` their tag
/// hosts.
fn custom_claims<'s>(spec: &'s ServiceSpec, defaults: &Defaults) -> Vec<Claim<'s>> {
    let public = spec.visibility != Some(Visibility::ClusterLocal);
    let mut custom = Vec::with_capacity(spec.custom_domains.len());
    let mut exact = Vec::new();
    for (i, host) in spec.custom_domains.iter().enumerate() {
        let field = format!("customDomains[{i}]");
        if !public {
            custom.push(Claim::Refused {
                message: format!(
                    "{host:?}: a cluster-local service has no public hosts (its visibility); a custom domain is one"
                ),
                field,
            });
        } else if let Some(suffix) = host.strip_prefix("*.") {
            custom.push(if is_dns_name(suffix) && suffix.contains('.') {
                Claim::Wildcard { suffix, field }
            } else {
                Claim::Refused {
                    message: format!(
                        "{host:?} is not *. followed by a lower-case DNS name of two or more labels"
                    ),
                    field,
                }
            });
        } else if is_dns_name(host) {
            exact.push((host, field.clone()));
            custom.push(Claim::Custom {
                host: host.clone(),
                tag: None,
                field,
            });
        } else {
            custom.push(Claim::Refused {
                message: format!("{host:?} is not a lower-case DNS name (or *. and one)"),
                field,
            });
        }
    }
    if spec.custom_domain_tags.unwrap_or(false) {
        let tags = tags(spec);
        for (host, field) in exact {
            custom.extend(
                tags.iter()
                    .filter(|(_, _, public)| *public)
                    .map(|&(tag, _, _)| Claim::Custom {
                        host: custom_domain_tag_host(defaults, tag, host),
                        tag: Some(tag),
                        field: field.clone(),
                    }),
            );
        }
    }
    custom
}

/// The hosts a service is served at from outside the cluster, as the
/// configuration asks: its external host by the domain template (by
/// default `{name}.{namespace}.{domain}`), its public tags' hosts (in
/// `traffic` order), its custom domains, and with `customDomainTags` the tag
/// hosts of its exact custom domains. Cluster-local services and tags have
/// none; the cluster-local forms are left out. For tools that write gateway
/// manifests; the filter's host table is built from the same claims.
pub fn public_hosts(document: &Document, spec: &ServiceSpec) -> Vec<String> {
    external_hosts(document, spec).0
}

/// A service's external hosts: those it is served at (see
/// [`public_hosts`]), and those its visibility keeps off public names (a
/// cluster-local service's or tag's host by the domain template).
pub fn external_hosts(document: &Document, spec: &ServiceSpec) -> (Vec<String>, Vec<String>) {
    let mut ignored = Vec::<ConfigError>::new();
    let defaults = Defaults::new(document, &mut ignored);
    let domain = spec.domain.as_deref().unwrap_or(defaults.domain);
    let (own, custom) = claims(spec, &defaults);
    let mut public: Vec<String> = Vec::with_capacity(own.len() + custom.len());
    let mut private: Vec<String> = Vec::new();
    for claim in own.into_iter().chain(custom) {
        let (host, list) = match claim {
            Claim::Own {
                label, public: p, ..
            } => (
                defaults.external_host(&label, &spec.namespace, domain),
                if p { &mut public } else { &mut private },
            ),
            Claim::Custom { host, .. } => (host, &mut public),
            Claim::Wildcard { suffix, .. } => (format!("*.{suffix}"), &mut public),
            Claim::Refused { .. } => continue,
        };
        if !list.contains(&host) {
            list.push(host);
        }
    }
    (public, private)
}

/// Where a service is reached at one of its hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostZone {
    /// Its external host by the domain template: the public side.
    External,
    /// Its namespace's cluster-local zones (`{namespace}`, `{namespace}.svc`,
    /// `{namespace}.svc.{clusterDomain}`): the cluster-local side.
    ClusterLocal,
    /// A custom domain as written (exact, or `*.` and a domain), or with
    /// `customDomainTags` a tag host of an exact one: the public side.
    CustomDomain,
}

/// A host a service is served at: for the service itself (`tag: None`) or
/// for one of its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedHost {
    pub host: String,
    pub tag: Option<String>,
    pub zone: HostZone,
}

/// Every host a service is served at, on either side, in the order it
/// claims them: the service's own (external, then cluster-local), each tag's
/// (in `traffic` order), its custom domains, and their tag hosts. A
/// cluster-local service or tag has no external host; an external host that
/// falls in a cluster-local zone (a domain of `svc.{clusterDomain}`) is one
/// of the cluster-local hosts, as the host table serves it. For tools that
/// show what a configuration serves; the filter's host table is built from
/// the same claims.
pub fn served_hosts(document: &Document, spec: &ServiceSpec) -> Vec<ServedHost> {
    let mut ignored = Vec::<ConfigError>::new();
    let defaults = Defaults::new(document, &mut ignored);
    let domain = spec.domain.as_deref().unwrap_or(defaults.domain);
    let namespace = &spec.namespace;
    let (own, custom) = claims(spec, &defaults);
    let mut hosts: Vec<ServedHost> = Vec::new();
    let mut push = |host: String, tag: Option<&str>, zone: HostZone| {
        if !hosts.iter().any(|h| h.host == host) {
            let tag = tag.map(str::to_owned);
            hosts.push(ServedHost { host, tag, zone });
        }
    };
    for claim in own.into_iter().chain(custom) {
        match claim {
            Claim::Own {
                label, tag, public, ..
            } => {
                let local = cluster_local_zones(namespace, defaults.cluster_domain)
                    .map(|zone| format!("{label}.{zone}"));
                let external = defaults.external_host(&label, namespace, domain);
                if public && !local.contains(&external) {
                    push(external, tag, HostZone::External);
                }
                for host in local {
                    push(host, tag, HostZone::ClusterLocal);
                }
            }
            Claim::Custom { host, tag, .. } => push(host, tag, HostZone::CustomDomain),
            Claim::Wildcard { suffix, .. } => {
                push(format!("*.{suffix}"), None, HostZone::CustomDomain);
            }
            Claim::Refused { .. } => {}
        }
    }
    hosts
}

/// Collects every service's hosts and refuses two claims on one host.
pub(super) struct Registry<'d> {
    builder: HostTableBuilder,
    /// Every service's name by index (`None` for one that did not parse),
    /// to name the holder of a host.
    names: Vec<Option<&'d str>>,
}

/// `is already claimed by services[1] (web)`, or this service's own.
fn clash(names: &[Option<&str>], claimant: ServiceId, what: &str, clash: &HostClash) -> String {
    let holder = clash.holder;
    if holder == claimant {
        return format!(
            "{what} {:?} is already one of this service's hosts",
            clash.host
        );
    }
    let holder_name = names.get(holder.index()).copied().flatten().unwrap_or("?");
    format!(
        "{what} {:?} is already claimed by services[{}] ({holder_name})",
        clash.host,
        holder.index()
    )
}

impl<'d> Registry<'d> {
    pub(super) fn new(all: &[Option<&'d ServiceSpec>], defaults: &Defaults) -> Registry<'d> {
        let mut builder = HostTableBuilder::default();
        builder.set_tag_shape(defaults.tag_template.tag_shape());
        for spec in all.iter().flatten() {
            builder.expect_labels(&spec.namespace, 1 + spec.traffic.len());
        }
        let names = all.iter().map(|s| s.map(|s| s.name.as_str())).collect();
        Registry { builder, names }
    }

    /// Adds a service's host and its tags' hosts: in every cluster-local
    /// zone, and the public ones at their external hosts.
    pub(super) fn register(
        &mut self,
        id: ServiceId,
        service: &Service,
        spec: &ServiceSpec,
        defaults: &Defaults,
        checks: &mut Checks,
    ) {
        let domain = spec.domain.as_deref().unwrap_or(defaults.domain);
        let zone = defaults.external_zone(&spec.namespace, domain);
        let checked_zone = zone.as_deref().filter(|z| is_dns_name(z));
        // A service's tags are public only if it is: its external zone is
        // served exactly when it is public.
        let place = self.builder.enter(Zoned {
            namespace: &spec.namespace,
            external_zone: zone
                .as_deref()
                .filter(|_| spec.visibility != Some(Visibility::ClusterLocal)),
            domain,
            cluster_domain: defaults.cluster_domain,
        });
        for claim in own_claims(spec, defaults) {
            let Claim::Own {
                label,
                tag,
                origin,
                public,
            } = claim
            else {
                continue;
            };
            let tag = match tag {
                None => None,
                Some(name) => match service.tag_id(name) {
                    Some(tag) => Some(tag),
                    None => continue,
                },
            };
            if let Err(c) = self.builder.add(place, &label, public, id, tag) {
                checks.fail(
                    &origin.to_string(),
                    ErrorKind::Conflict,
                    clash(&self.names, id, "host", &c),
                );
                continue;
            }
            if !public {
                continue;
            }
            // With a template that puts the name first, the host is the
            // label in the zone: a DNS name exactly when the label is a DNS
            // label (a zone is checked once) and the two fit in 253 bytes,
            // so it need not be written out to be checked.
            if let Some(zone) = checked_zone {
                if is_dns1123_label(&label) && label.len() + 1 + zone.len() <= MAX_NAME {
                    continue;
                }
            }
            let host = defaults.external_host(&label, &spec.namespace, domain);
            if let Some(message) = not_a_host(&host) {
                checks.fail(
                    &origin.to_string(),
                    ErrorKind::InvalidValue,
                    format_args!("host {host:?} (by domainTemplate) {message}"),
                );
            } else if zone.is_none() {
                if let Err(c) = self.builder.add_whole(&host, id, tag, false) {
                    checks.fail(
                        &origin.to_string(),
                        ErrorKind::Conflict,
                        clash(&self.names, id, "host", &c),
                    );
                }
            }
        }
    }

    /// Adds a service's custom domains (and, if asked, their tag hosts),
    /// reporting hosts that are malformed, listed twice, or already claimed
    /// exactly by a service. Called once every service's own hosts are in.
    pub(super) fn register_custom_domains(
        &mut self,
        id: ServiceId,
        service: &Service,
        spec: &ServiceSpec,
        defaults: &Defaults,
        checks: &mut Checks,
    ) {
        for claim in custom_claims(spec, defaults) {
            match claim {
                Claim::Refused { field, message } => {
                    checks.fail(&field, ErrorKind::InvalidValue, message);
                }
                Claim::Wildcard { suffix, field } => {
                    if let Err(c) = self.builder.add_wildcard(suffix, id) {
                        checks.fail(
                            &field,
                            ErrorKind::Conflict,
                            clash(&self.names, id, "host", &c),
                        );
                    }
                }
                Claim::Custom {
                    host,
                    tag: None,
                    field,
                } => {
                    if let Err(c) = self.builder.add_whole(&host, id, None, true) {
                        checks.fail(
                            &field,
                            ErrorKind::Conflict,
                            clash(&self.names, id, "host", &c),
                        );
                    }
                }
                Claim::Custom {
                    host,
                    tag: Some(tag),
                    field,
                } => self.register_custom_tag_host(id, service, &host, tag, &field, checks),
                Claim::Own { .. } => {}
            }
        }
    }

    fn register_custom_tag_host(
        &mut self,
        id: ServiceId,
        service: &Service,
        host: &str,
        tag: &str,
        field: &str,
        checks: &mut Checks,
    ) {
        let Some(tag_id) = service.tag_id(tag) else {
            return;
        };
        let label = host.split('.').next().unwrap_or_default();
        if label.len() > MAX_LABEL {
            checks.fail(
                field,
                ErrorKind::InvalidValue,
                format_args!(
                    "tag {tag:?} makes the host label {label:?} longer than a DNS label's 63 characters"
                ),
            );
            return;
        }
        if let Err(c) = self.builder.add_whole(host, id, Some(tag_id), true) {
            checks.fail(
                field,
                ErrorKind::Conflict,
                clash(&self.names, id, "tag host", &c),
            );
        }
    }

    /// The table of the hosts `side` serves.
    pub(super) fn build(self, side: Side) -> HostTable {
        self.builder.build(side)
    }
}

/// Why `host` is no host Knative would build (its FQDN check: DNS-1123
/// labels of at most 63 characters, and at least two of them), if it is not.
fn not_a_host(host: &str) -> Option<&'static str> {
    if !is_dns_name(host) {
        Some("is not a lower-case DNS name of labels of at most 63 characters")
    } else if !host.contains('.') {
        Some("has one label: a host needs at least two")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::PlainRequest;
    use crate::routing::Decision;
    use rand_core::SeedableRng;
    use rand_xorshift::XorShiftRng;

    /// Every host [`served_hosts`] lists is routed by the compiled table to
    /// its service, and to its tag for a tag's host.
    #[test]
    fn served_hosts_are_the_hosts_the_table_routes() {
        let json = r#"{
            "domain": "example.com",
            "services": [
                {
                    "name": "web", "namespace": "shop",
                    "traffic": [
                        { "tag": "a", "revisionName": "web-1", "percent": 100 },
                        { "tag": "b", "revisionName": "web-2", "percent": 0, "visibility": "cluster-local" }
                    ],
                    "customDomains": ["www.example.org", "*.example.net"],
                    "customDomainTags": true
                },
                {
                    "name": "api", "namespace": "shop", "domain": "svc.cluster.local",
                    "traffic": [{ "tag": "x", "revisionName": "api-1", "percent": 100 }]
                },
                {
                    "name": "db", "namespace": "data", "visibility": "cluster-local",
                    "traffic": [{ "revisionName": "db-1", "percent": 100 }]
                }
            ]
        }"#;
        let table = crate::compile(json.as_bytes()).unwrap();
        let document = super::super::parse(json.as_bytes()).unwrap();
        let mut listed = Vec::new();
        for spec in &document.services {
            for served in served_hosts(&document, spec) {
                let host = served.host.replace("*.", "any.");
                let request = PlainRequest::default();
                let mut rng = XorShiftRng::seed_from_u64(1);
                match table.route(&host, &request, &mut rng) {
                    Decision::Route(r) => {
                        assert_eq!(*r.service.name, *spec.name, "{host}");
                        assert_eq!(r.tag(), served.tag.as_deref(), "{host}");
                    }
                    other => panic!("{host}: {other:?}"),
                }
                listed.push((served.host, served.zone));
            }
        }
        let zone = |host: &str| listed.iter().find(|(h, _)| h == host).map(|(_, z)| *z);
        assert_eq!(zone("web.shop.example.com"), Some(HostZone::External));
        assert_eq!(zone("b-web.shop.svc"), Some(HostZone::ClusterLocal));
        // A cluster-local tag has no external host, nor one on a custom domain.
        assert_eq!(zone("b-web.shop.example.com"), None);
        assert_eq!(zone("b-www.example.org"), None);
        assert_eq!(zone("a-www.example.org"), Some(HostZone::CustomDomain));
        assert_eq!(zone("*.example.net"), Some(HostZone::CustomDomain));
        // On a domain of svc.cluster.local, the external host is a
        // cluster-local one.
        assert_eq!(
            zone("api.shop.svc.cluster.local"),
            Some(HostZone::ClusterLocal)
        );
        assert_eq!(zone("db.data.example.com"), None);
        assert_eq!(zone("db.data"), Some(HostZone::ClusterLocal));
        assert_eq!(listed.len(), 4 + 4 + 3 + 2 + 1 + 3 + 3 + 3);
    }
}
