//! The hosts each service claims. One enumeration, [`claims`], feeds both the
//! host table the filter routes by and [`public_hosts`], the list the
//! command-line tool writes into gateway manifests, so the two cannot
//! disagree.

use super::defaults::Defaults;
use super::Checks;
use crate::config::{Document, ServiceSpec, DEFAULT_DOMAIN};
use crate::error::ErrorKind;
use crate::hosts::{HostClash, HostTable, HostTableBuilder};
use crate::ids::ServiceId;
use crate::names::{is_dns_name, MAX_LABEL};
use crate::routing::Service;

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

/// One host (or family of hosts) a service claims, and the field of the
/// configuration it comes from, for error messages.
enum Claim<'s> {
    /// `{label}` in every zone of the service's namespace: the external
    /// `{label}.{namespace}.{domain}` and the cluster-local forms. The
    /// service's own name, or a tag's `{tag}-{name}`.
    Zoned {
        label: String,
        tag: Option<&'s str>,
        origin: String,
    },
    /// An exact custom domain, or (with `customDomainTags`) the tag host of
    /// one.
    Exact {
        host: String,
        tag: Option<&'s str>,
        field: String,
    },
    /// `*.{suffix}`: any one label in front of the suffix.
    Wildcard { suffix: &'s str, field: String },
    /// A custom domain that is neither.
    Malformed { field: String, message: String },
}

/// The distinct tags of a service's `traffic`, in order, each with the
/// index of the target that first names it.
fn tags(spec: &ServiceSpec) -> Vec<(&str, usize)> {
    let mut tags: Vec<(&str, usize)> = Vec::new();
    for (j, target) in spec.traffic.iter().enumerate() {
        if let Some(tag) = target.tag.as_deref().filter(|t| !t.is_empty()) {
            if !tags.iter().any(|(t, _)| *t == tag) {
                tags.push((tag, j));
            }
        }
    }
    tags
}

/// Every host a service claims, in the order hosts are listed: its own,
/// its tags' (in `traffic` order), its custom domains, and their tag hosts.
/// The first group lives in the service's namespace zones; the second is
/// matched as whole hosts once every service's own hosts are known.
fn claims(spec: &ServiceSpec) -> (Vec<Claim<'_>>, Vec<Claim<'_>>) {
    let tags = tags(spec);
    let own = std::iter::once(Claim::Zoned {
        label: spec.name.clone(),
        tag: None,
        origin: format!("name {:?}", spec.name),
    })
    .chain(tags.iter().map(|&(tag, j)| Claim::Zoned {
        label: tag_label(tag, &spec.name),
        tag: Some(tag),
        origin: format!("traffic[{j}].tag {tag:?}"),
    }))
    .collect();
    let mut custom = Vec::with_capacity(spec.custom_domains.len());
    let mut exact = Vec::new();
    for (i, host) in spec.custom_domains.iter().enumerate() {
        let field = format!("customDomains[{i}]");
        if let Some(suffix) = host.strip_prefix("*.") {
            custom.push(if is_dns_name(suffix) && suffix.contains('.') {
                Claim::Wildcard { suffix, field }
            } else {
                Claim::Malformed {
                    message: format!(
                        "{host:?} is not *. followed by a lower-case DNS name of two or more labels"
                    ),
                    field,
                }
            });
        } else if is_dns_name(host) {
            exact.push((host, field.clone()));
            custom.push(Claim::Exact {
                host: host.clone(),
                tag: None,
                field,
            });
        } else {
            custom.push(Claim::Malformed {
                message: format!("{host:?} is not a lower-case DNS name (or *. and one)"),
                field,
            });
        }
    }
    if spec.custom_domain_tags.unwrap_or(false) {
        for (host, field) in exact {
            custom.extend(tags.iter().map(|&(tag, _)| Claim::Exact {
                host: custom_domain_tag_host(tag, host),
                tag: Some(tag),
                field: field.clone(),
            }));
        }
    }
    (own, custom)
}

/// The hosts a service is served at from outside the cluster, as the
/// configuration asks: `{name}.{namespace}.{domain}`, its tag hosts (in
/// `traffic` order), its custom domains, and with `customDomainTags` the tag
/// hosts of its exact custom domains. The cluster-local forms are left out.
/// For tools that write gateway manifests; the filter's host table is built
/// from the same claims.
pub fn public_hosts(document: &Document, spec: &ServiceSpec) -> Vec<String> {
    let domain = spec
        .domain
        .as_deref()
        .or(document.domain.as_deref())
        .unwrap_or(DEFAULT_DOMAIN);
    let (own, custom) = claims(spec);
    let mut unique: Vec<String> = Vec::with_capacity(own.len() + custom.len());
    for claim in own.into_iter().chain(custom) {
        let host = match claim {
            Claim::Zoned { label, .. } => format!("{label}.{}.{domain}", spec.namespace),
            Claim::Exact { host, .. } => host,
            Claim::Wildcard { suffix, .. } => format!("*.{suffix}"),
            Claim::Malformed { .. } => continue,
        };
        if !unique.contains(&host) {
            unique.push(host);
        }
    }
    unique
}

/// Collects every service's hosts and refuses two claims on one host.
pub(super) struct Registry<'d> {
    builder: HostTableBuilder,
    all: &'d [ServiceSpec],
}

/// The table once every service's own hosts are in: custom domains come
/// next.
pub(super) struct Registered<'d> {
    table: HostTable,
    all: &'d [ServiceSpec],
}

/// `is already claimed by services[1] (web)`, or this service's own.
fn clash(all: &[ServiceSpec], claimant: ServiceId, what: &str, clash: &HostClash) -> String {
    let holder = clash.holder;
    if holder == claimant {
        return format!(
            "{what} {:?} is already one of this service's hosts",
            clash.host
        );
    }
    let holder_name = all.get(holder.index()).map_or("?", |s| s.name.as_str());
    format!(
        "{what} {:?} is already claimed by services[{}] ({holder_name})",
        clash.host,
        holder.index()
    )
}

impl<'d> Registry<'d> {
    pub(super) fn new(all: &'d [ServiceSpec]) -> Registry<'d> {
        Registry {
            builder: HostTableBuilder::default(),
            all,
        }
    }

    /// Adds a service's host and its tags' hosts, in every zone.
    pub(super) fn register(
        &mut self,
        id: ServiceId,
        service: &Service,
        spec: &ServiceSpec,
        defaults: &Defaults,
        checks: &mut Checks,
    ) {
        let domain = spec.domain.as_deref().unwrap_or(defaults.domain);
        for claim in claims(spec).0 {
            let Claim::Zoned { label, tag, origin } = claim else {
                continue;
            };
            let tag = match tag {
                None => None,
                Some(name) => match service.tag_id(name) {
                    Some(tag) => Some(tag),
                    None => continue,
                },
            };
            let added = self.builder.add(
                &service.namespace,
                domain,
                defaults.cluster_domain,
                &label,
                id,
                tag,
            );
            if let Err(c) = added {
                checks.fail(
                    &origin,
                    ErrorKind::Conflict,
                    clash(self.all, id, "host", &c),
                );
            }
        }
    }

    pub(super) fn build(self) -> Registered<'d> {
        Registered {
            table: self.builder.build(),
            all: self.all,
        }
    }
}

impl Registered<'_> {
    /// Adds a service's custom domains (and, if asked, their tag hosts),
    /// reporting hosts that are malformed, listed twice, or already claimed
    /// exactly by a service.
    pub(super) fn register_custom_domains(
        &mut self,
        id: ServiceId,
        service: &Service,
        spec: &ServiceSpec,
        checks: &mut Checks,
    ) {
        for claim in claims(spec).1 {
            match claim {
                Claim::Malformed { field, message } => {
                    checks.fail(&field, ErrorKind::InvalidValue, message);
                }
                Claim::Wildcard { suffix, field } => {
                    if let Err(c) = self.table.add_wildcard(suffix, id) {
                        checks.fail(&field, ErrorKind::Conflict, clash(self.all, id, "host", &c));
                    }
                }
                Claim::Exact {
                    host,
                    tag: None,
                    field,
                } => {
                    if let Err(c) = self.table.add_custom(&host, id, None) {
                        checks.fail(&field, ErrorKind::Conflict, clash(self.all, id, "host", &c));
                    }
                }
                Claim::Exact {
                    host,
                    tag: Some(tag),
                    field,
                } => self.register_custom_tag_host(id, service, &host, tag, &field, checks),
                Claim::Zoned { .. } => {}
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
        if let Err(c) = self.table.add_custom(host, id, Some(tag_id)) {
            checks.fail(
                field,
                ErrorKind::Conflict,
                clash(self.all, id, "tag host", &c),
            );
        }
    }

    pub(super) fn into_table(self) -> HostTable {
        self.table
    }
}
