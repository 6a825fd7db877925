//! The document-wide settings, with their defaults applied and checked:
//! the headers the filter writes, how clusters are named, the domains, and
//! whether counters are kept.

use super::templates::{Template, Values, DEFAULT_DOMAIN_TEMPLATE, DEFAULT_TAG_TEMPLATE};
use crate::config::{
    Document, DEFAULT_CLUSTER_DOMAIN, DEFAULT_CLUSTER_HEADER, DEFAULT_CLUSTER_TEMPLATE,
    DEFAULT_DOMAIN, DEFAULT_MIRROR_HEADER,
};
use crate::error::{ConfigError, ErrorKind};
use crate::names::{is_dns_name, is_header_name, reserved_header};
use crate::routing::{
    DEFAULT_ROUTE_HEADER, NAMESPACE_HEADER, ORIGINAL_HOST_HEADER, REVISION_HEADER, TAG_HEADER,
};

/// Document-wide settings with their defaults applied.
pub(super) struct Defaults<'d> {
    pub(super) cluster_header: String,
    pub(super) mirror_header: String,
    pub(super) cluster_template: &'d str,
    pub(super) domain: &'d str,
    pub(super) cluster_domain: &'d str,
    pub(super) route_response_header: Option<String>,
    pub(super) metrics: bool,
    pub(super) domain_template: Template,
    /// The external hosts' zone, for a template that puts the name first.
    pub(super) domain_zone: Option<Template>,
    pub(super) tag_template: Template,
    pub(super) tag_header: bool,
}

impl<'d> Defaults<'d> {
    pub(super) fn new<S>(document: &'d Document<S>, errors: &mut Vec<ConfigError>) -> Defaults<'d> {
        let mut error = |path: &str, kind: ErrorKind, detail: String| {
            errors.push(ConfigError::document(
                path,
                kind,
                format!("{path}: {detail}"),
            ));
        };
        let cluster_header = document
            .cluster_header
            .as_deref()
            .unwrap_or(DEFAULT_CLUSTER_HEADER)
            .to_ascii_lowercase();
        if let Err(message) = check_own_header(&cluster_header) {
            error("clusterHeader", ErrorKind::InvalidValue, message);
        }
        let mirror_header = document
            .mirror_header
            .as_deref()
            .unwrap_or(DEFAULT_MIRROR_HEADER)
            .to_ascii_lowercase();
        if let Err(message) = check_own_header(&mirror_header) {
            error("mirrorHeader", ErrorKind::InvalidValue, message);
        } else if mirror_header == cluster_header {
            error(
                "mirrorHeader",
                ErrorKind::Conflict,
                format!("{mirror_header:?} is the clusterHeader too; they must differ"),
            );
        }
        let route_response_header = document
            .route_response_header
            .as_deref()
            .map(str::to_ascii_lowercase);
        if let Some(header) = &route_response_header {
            if let Err(message) = check_own_header(header) {
                error("routeResponseHeader", ErrorKind::InvalidValue, message);
            }
        }
        let cluster_template = document
            .cluster_template
            .as_deref()
            .unwrap_or(DEFAULT_CLUSTER_TEMPLATE);
        if let Err(message) = check_cluster_template(cluster_template) {
            error("clusterTemplate", ErrorKind::InvalidValue, message);
        }
        let domain = document.domain.as_deref().unwrap_or(DEFAULT_DOMAIN);
        if !is_dns_name(domain) {
            error(
                "domain",
                ErrorKind::InvalidValue,
                format!("{domain:?} is not a lower-case DNS name"),
            );
        }
        let cluster_domain = document
            .cluster_domain
            .as_deref()
            .unwrap_or(DEFAULT_CLUSTER_DOMAIN);
        if !is_dns_name(cluster_domain) {
            error(
                "clusterDomain",
                ErrorKind::InvalidValue,
                format!("{cluster_domain:?} is not a lower-case DNS name"),
            );
        }
        // A refused template is reported once; the default stands in for it
        // so that no host is reported again because of it.
        let default_domain =
            || Template::domain(DEFAULT_DOMAIN_TEMPLATE).unwrap_or(Template::empty());
        let domain_template = match document.domain_template.as_deref() {
            None => default_domain(),
            Some(text) => Template::domain(text).unwrap_or_else(|message| {
                error("domainTemplate", ErrorKind::InvalidValue, message);
                default_domain()
            }),
        };
        let default_tag = || Template::tag(DEFAULT_TAG_TEMPLATE).unwrap_or(Template::empty());
        let tag_template = match document.tag_template.as_deref() {
            None => default_tag(),
            Some(text) => Template::tag(text).unwrap_or_else(|message| {
                error("tagTemplate", ErrorKind::InvalidValue, message);
                default_tag()
            }),
        };
        Defaults {
            cluster_header,
            mirror_header,
            cluster_template,
            domain,
            cluster_domain,
            route_response_header,
            metrics: document.metrics.unwrap_or(true),
            domain_zone: domain_template.zone(),
            domain_template,
            tag_template,
            tag_header: document.tag_header_based_routing.unwrap_or(true),
        }
    }

    /// A tag's name in hosts, by the tag template (`{tag}-{name}` by
    /// default): Knative's `HostnameFromTemplate`.
    /// Written into `label`, in place of what it held: a compile checks
    /// every tag's label, and one buffer spares 10,000 services an
    /// allocation per tag.
    pub(super) fn tag_label(&self, tag: &str, name: &str, label: &mut String) {
        self.tag_template.render_into(
            Values {
                name,
                tag,
                ..Values::default()
            },
            label,
        );
    }

    /// The external host of `name` (a service's name, or a tag's label) by
    /// the domain template: Knative's `DomainNameFromTemplate`.
    pub(super) fn external_host(&self, name: &str, namespace: &str, domain: &str) -> String {
        self.domain_template.render(Values {
            name,
            namespace,
            domain,
            tag: "",
        })
    }

    /// The zone of a namespace's external hosts, when the template puts the
    /// name first.
    pub(super) fn external_zone(&self, namespace: &str, domain: &str) -> Option<String> {
        let zone = self.domain_zone.as_ref()?;
        Some(zone.render(Values {
            name: "",
            namespace,
            domain,
            tag: "",
        }))
    }

    /// The cluster of `revision` by the document's template; `None` for
    /// the default, which names it as the revision (the common case: no
    /// copy, where three replace passes would make one).
    pub(super) fn cluster_name(
        &self,
        revision: &str,
        service: &str,
        namespace: &str,
    ) -> Option<String> {
        if self.cluster_template == DEFAULT_CLUSTER_TEMPLATE {
            return None;
        }
        Some(
            self.cluster_template
                .replace("{revision}", revision)
                .replace("{service}", service)
                .replace("{namespace}", namespace),
        )
    }
}

/// A header the filter itself writes: a valid name, none that breaks HTTP
/// or a proxy, and not one of the headers it writes for another purpose.
fn check_own_header(name: &str) -> Result<(), String> {
    if !is_header_name(name) {
        return Err(format!(
            "{name:?} is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"
        ));
    }
    if let Some(why) = reserved_header(name) {
        return Err(format!("{name:?} {why}; the filter must not write it"));
    }
    if [
        TAG_HEADER,
        REVISION_HEADER,
        NAMESPACE_HEADER,
        DEFAULT_ROUTE_HEADER,
        ORIGINAL_HOST_HEADER,
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
