//! Which service, and which of its tags, a request's Host names.
//!
//! Knative gives every service a cluster-local host in each of its
//! namespace's zones, `{namespace}`, `{namespace}.svc` and
//! `{namespace}.svc.{clusterDomain}`, under the name `{name}` (and every tag
//! under its label, `{tag}-{name}` by the default tag template), and an
//! external host by its domain template, `{name}.{namespace}.{domain}` by
//! default. Most templates put the name first, as a label of its own, so
//! such a host splits into its first label and a zone, and the table is two
//! small hash maps: zone → namespace, then label → service within that
//! namespace. A tag's label is split into the tag and the service's name by
//! the tag template's shape (`{tag}-{name}`), and the tag looked up among
//! the service's own ([`TagNames`]); only under a template without such a
//! shape are tag labels kept too. Keeping the labels per namespace instead
//! of every full host name stores one entry per service rather than one per
//! host form and tag. Hosts of other templates, and custom domains, are
//! kept whole.
//!
//! A filter instance serves one [`Side`] of Knative's two gateways (or
//! both): the table holds only the zones and hosts of that side.

use crate::fasthash::BuildHostHasher;
use crate::names::MAX_LABEL;
use crate::short_keys::ShortKeyMap;
use std::borrow::Cow;

/// The host tables' maps, with the unkeyed lookup hash of [`crate::fasthash`]
/// (why that is safe is said there).
type HashMap<K, V> = std::collections::HashMap<K, V, BuildHostHasher>;

pub use crate::ids::{ServiceId, TagId};

/// Which of Knative's gateways a filter instance stands in for: the public
/// one serves services' external hosts and custom domains, the cluster-local
/// one their cluster-local hosts (net-istio's knative-ingress-gateway and
/// knative-local-gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Side {
    /// External hosts and custom domains only: what an edge proxy must
    /// serve, and the default.
    #[default]
    Public,
    /// Cluster-local hosts only.
    ClusterLocal,
    /// Both, as one proxy serving inside and outside the cluster.
    Both,
}

impl Side {
    /// The side a filter instance's name asks for (a Wasm plugin's root id,
    /// or a dynamic module's filter name): a name ending in `.cluster-local`
    /// or `.both` serves that side, any other name (`knative-traffic`,
    /// `knative-traffic.public`) the public one.
    pub fn from_instance_name(name: &str) -> Side {
        match name.rsplit_once('.').map(|(_, side)| side) {
            Some("cluster-local") => Side::ClusterLocal,
            Some("both") => Side::Both,
            _ => Side::Public,
        }
    }

    pub fn serves_public(self) -> bool {
        matches!(self, Side::Public | Side::Both)
    }

    pub fn serves_cluster_local(self) -> bool {
        matches!(self, Side::ClusterLocal | Side::Both)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Public => "public",
            Side::ClusterLocal => "cluster-local",
            Side::Both => "both",
        }
    }
}

/// What a host names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMatch<'t> {
    /// Not a host of any configured service.
    Unknown,
    /// A service's own host.
    Service(ServiceId),
    /// A tag's host.
    Tag(ServiceId, TagId),
    /// A custom domain, or a custom domain's tag host: Knative's
    /// DomainMapping, whose requests carry the mapped host. `host` is the
    /// domain as configured, `None` for a wildcard's (the request's own).
    Mapped {
        service: ServiceId,
        tag: Option<TagId>,
        host: Option<&'t str>,
    },
    /// Shaped like a tag host (`{tag}-{name}.{zone}` by the default tag
    /// template) of a configured service, but no such tag exists.
    NoSuchTag(ServiceId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Service(ServiceId),
    Tag(ServiceId, TagId),
}

#[derive(Debug, Clone, Copy)]
struct Zone {
    namespace: u32,
    /// `Some(d)` for an external zone: only public services of domain `d`
    /// are reached there. `None` for a cluster-local zone, which reaches
    /// every service of the namespace.
    domain: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct LabelEntry {
    label: Label,
    domain: u32,
    /// Whether the service or tag has external hosts (its visibility).
    public: bool,
}

/// A host kept whole.
#[derive(Debug, Clone, Copy)]
struct Whole {
    label: Label,
    /// A custom domain (a DomainMapping), not a generated host.
    mapped: bool,
}

/// Where the tag and the service's name sit in a tag's host label, for
/// telling a tag host whose tag does not exist: the tag template's text
/// around them (`{{.Tag}}-{{.Name}}`: no prefix, `-` between, no suffix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagShape {
    pub prefix: Box<str>,
    pub between: Box<str>,
    pub suffix: Box<str>,
    /// The tag comes before the name.
    pub tag_first: bool,
}

impl TagShape {
    /// Knative's default tag template, `{{.Tag}}-{{.Name}}`.
    pub fn knative_default() -> TagShape {
        TagShape {
            prefix: "".into(),
            between: "-".into(),
            suffix: "".into(),
            tag_first: true,
        }
    }
}

/// The compiled host table, for one [`Side`]. Built once per configuration
/// by [`HostTableBuilder`].
#[derive(Debug, Default)]
pub struct HostTable {
    zones: ShortKeyMap<Zone>,
    namespaces: Vec<ShortKeyMap<LabelEntry>>,
    /// Hosts kept whole: custom domains, and the external hosts of domain
    /// templates that do not put the name first.
    whole: HashMap<Box<str>, Whole>,
    /// Custom domains `*.{suffix}`, by suffix: the host minus its first label.
    wildcards: HashMap<Box<str>, ServiceId>,
    tag_shape: Option<TagShape>,
}

/// The services' tags, by name, for the tag hosts the table does not keep:
/// under a tag template with a [`TagShape`] (Knative's default among them)
/// a tag's host label is found by splitting it into a tag and a service's
/// name, so the table holds one label per service instead of one per
/// service and tag (most of its memory at 10,000 services).
pub trait TagNames {
    /// The tag of `service` named exactly `name`, and whether it has
    /// external hosts (its and its service's visibility).
    fn tag(&self, service: ServiceId, name: &str) -> Option<(TagId, bool)>;
}

impl HostTable {
    /// Resolves an already [`normalize`]d host: four hash lookups of the
    /// host or a part of it, and for a host in a known zone that matched
    /// no label, up to 64 more of the first label's parts (the shape of a
    /// tag host); `resolve_work_limit` states the bound the tests hold it
    /// to. Exact hosts win over wildcards: a service's own hosts and its
    /// tags', then custom domains, then `*.` custom domains, then a tag
    /// host's shape for a service without that tag.
    pub fn resolve(&self, host: &str, tags: &impl TagNames) -> HostMatch<'_> {
        let (first, rest) = first_label(host);
        let zone = self.zone(rest);
        let mut missing = None;
        if let Some((zone, labels)) = zone {
            if let Some(label) = zone.label(labels, first) {
                return label.into();
            }
            if let Some(shape) = &self.tag_shape {
                match zone.tag_host(labels, shape, first, tags) {
                    Some(found @ HostMatch::Tag(..)) => return found,
                    other => missing = other,
                }
            }
        }
        if !self.whole.is_empty() {
            if let Some((key, whole)) = self.whole.get_key_value(host) {
                return match (whole.mapped, whole.label) {
                    (false, label) => label.into(),
                    (true, Label::Service(service)) => HostMatch::Mapped {
                        service,
                        tag: None,
                        host: Some(key),
                    },
                    (true, Label::Tag(service, tag)) => HostMatch::Mapped {
                        service,
                        tag: Some(tag),
                        host: Some(key),
                    },
                };
            }
        }
        if !self.wildcards.is_empty() && !rest.is_empty() {
            if let Some(&service) = self.wildcards.get(rest) {
                return HostMatch::Mapped {
                    service,
                    tag: None,
                    host: None,
                };
            }
        }
        missing.unwrap_or(HostMatch::Unknown)
    }

    /// The zone `rest` names and its namespace's labels.
    fn zone(&self, rest: &str) -> Option<(&Zone, &ShortKeyMap<LabelEntry>)> {
        let zone = self.zones.get(rest)?;
        let labels = self.namespaces.get(zone.namespace as usize)?;
        Some((zone, labels))
    }
}

impl Zone {
    /// The service (or, under a tag template without a shape, the tag)
    /// `first` names in this zone.
    fn label(&self, labels: &ShortKeyMap<LabelEntry>, first: &str) -> Option<Label> {
        labels
            .get(first)
            .filter(|e| self.admits(e))
            .map(|e| e.label)
    }

    /// A tag-host label of `shape` for a service of this zone: the tag if
    /// the service has it (and it is served in this zone), else
    /// [`HostMatch::NoSuchTag`] for the first service the label could be a
    /// tag host of. Service names and tags contain dashes, so every split is
    /// tried; two services cannot claim one label (the compile refuses it),
    /// so at most one split finds a tag. A service name is a DNS label of at
    /// most 63 bytes, so only the splits that leave at most 63 are looked
    /// up: each lookup hashes the name, and trying every split of a long
    /// label (a 60 KB Host of dashes) would cost time quadratic in its
    /// length.
    fn tag_host(
        &self,
        labels: &ShortKeyMap<LabelEntry>,
        shape: &TagShape,
        first: &str,
        tags: &impl TagNames,
    ) -> Option<HostMatch<'static>> {
        // Empty affixes (the default template's) are not stripped: each
        // strip is a `memcmp` call, which cost more than the lookups.
        let inner = strip_affixes(first, &shape.prefix, &shape.suffix)?;
        let sep = shape.between.as_bytes();
        let &sep_first = sep.first()?;
        // Compared byte by byte, not with `match_indices`: a `&str` pattern
        // builds a two-way searcher per call. A match of `between` (valid
        // UTF-8, so starting with a leading byte) is always at a character
        // boundary.
        let bytes = inner.as_bytes();
        let at = |i: usize| {
            bytes.get(i) == Some(&sep_first)
                && bytes
                    .get(i..)
                    .is_some_and(|rest| crate::bytes::starts_with(rest, sep))
        };
        let mut missing = None;
        let mut split = |name: &str, tag: &str| -> Option<HostMatch<'static>> {
            if name.is_empty() {
                return None;
            }
            let entry = labels.get(name)?;
            let Label::Service(service) = entry.label else {
                return None;
            };
            if !self.admits(entry) {
                return None;
            }
            match tags.tag(service, tag) {
                Some((tag, public)) if self.domain.is_none() || public => {
                    Some(HostMatch::Tag(service, tag))
                }
                _ => {
                    missing.get_or_insert(HostMatch::NoSuchTag(service));
                    None
                }
            }
        };
        let found = if shape.tag_first {
            // `{tag}{between}{name}`: only the last 63 + |between| bytes can
            // hold the separator before a name.
            let tail_start = inner.len().saturating_sub(MAX_LABEL + sep.len()).max(1);
            (tail_start..inner.len())
                .filter(|&i| at(i))
                .find_map(|i| split(inner.get(i + sep.len()..)?, inner.get(..i)?))
        } else {
            // `{name}{between}{tag}`: the separator after a name starts
            // within the first 63 + |between| bytes.
            let head_end = inner.len().min(MAX_LABEL + sep.len());
            (0..head_end)
                .filter(|&i| at(i) && i + sep.len() < inner.len())
                .find_map(|i| split(inner.get(..i)?, inner.get(i + sep.len()..)?))
        };
        found.or(missing)
    }

    fn admits(&self, entry: &LabelEntry) -> bool {
        match self.domain {
            None => true,
            Some(d) => entry.public && d == entry.domain,
        }
    }
}

/// A host's first label and the rest after its dot (`""` if it has none).
fn first_label(host: &str) -> (&str, &str) {
    match crate::bytes::find(host.as_bytes(), b'.') {
        Some(dot) => (
            host.get(..dot).unwrap_or(host),
            host.get(dot + 1..).unwrap_or(""),
        ),
        None => (host, ""),
    }
}

/// `label` without `prefix` and `suffix`, if it has them.
fn strip_affixes<'l>(label: &'l str, prefix: &str, suffix: &str) -> Option<&'l str> {
    let label = if prefix.is_empty() {
        label
    } else {
        label.strip_prefix(prefix)?
    };
    if suffix.is_empty() {
        Some(label)
    } else {
        label.strip_suffix(suffix)
    }
}

impl<'t> From<Label> for HostMatch<'t> {
    fn from(label: Label) -> HostMatch<'t> {
        match label {
            Label::Service(s) => HostMatch::Service(s),
            Label::Tag(s, t) => HostMatch::Tag(s, t),
        }
    }
}

/// Collects the hosts of every service and refuses two claims on one host,
/// whatever side the table is then built for.
#[derive(Debug, Default)]
pub struct HostTableBuilder {
    /// Each namespace's labels, numbered as the table numbers them, with
    /// its fullest cluster-local zone (`{namespace}.svc.{clusterDomain}`),
    /// which names a clash.
    namespaces: Vec<(Box<str>, ShortKeyMap<LabelEntry>)>,
    /// Namespace name → its place in `namespaces`.
    namespace_ids: HashMap<String, u32>,
    /// Zone → (namespace, domain of an external zone).
    zones: HashMap<Box<str>, (u32, Option<u32>)>,
    domain_ids: HashMap<String, u32>,
    /// How many labels each namespace will get, if known, so that its map
    /// is made once at its size instead of growing label by label.
    expected_labels: HashMap<String, usize>,
    whole: HashMap<Box<str>, Whole>,
    wildcards: HashMap<Box<str>, ServiceId>,
    tag_shape: Option<TagShape>,
}

/// Who already holds a host, when a second service claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostClash {
    pub host: String,
    pub holder: ServiceId,
}

/// Where a service's labels are served: its namespace's zones.
#[derive(Debug, Clone, Copy)]
pub struct Zoned<'a> {
    pub namespace: &'a str,
    /// The external zone of the service's hosts (`{namespace}.{domain}` by
    /// the default domain template), if the template puts the name first
    /// and the service is public.
    pub external_zone: Option<&'a str>,
    /// The service's domain.
    pub domain: &'a str,
    pub cluster_domain: &'a str,
}

/// A service's namespace and domain in the builder, entered once for all
/// of its labels ([`HostTableBuilder::enter`]).
#[derive(Debug, Clone, Copy)]
pub struct Place {
    namespace: u32,
    domain: u32,
}

/// A namespace's cluster-local zones, Knative's three forms of a
/// cluster-local host after its label: `{namespace}`, `{namespace}.svc` and
/// `{namespace}.svc.{clusterDomain}`.
pub fn cluster_local_zones(namespace: &str, cluster_domain: &str) -> [String; 3] {
    [
        namespace.to_owned(),
        format!("{namespace}.svc"),
        format!("{namespace}.svc.{cluster_domain}"),
    ]
}

impl HostTableBuilder {
    /// Says that `namespace` will get `labels` labels (a service's name and
    /// its tags), before any is added.
    pub fn expect_labels(&mut self, namespace: &str, labels: usize) {
        match self.expected_labels.get_mut(namespace) {
            Some(n) => *n += labels,
            None => {
                self.expected_labels.insert(namespace.to_owned(), labels);
            }
        }
    }

    /// Tells unknown tags' hosts of this shape (none: they pass through).
    pub fn set_tag_shape(&mut self, shape: Option<TagShape>) {
        self.tag_shape = shape;
    }

    /// Enters a service's namespace and domain, registering the
    /// namespace's cluster-local zones the first time, and its external
    /// zone.
    pub fn enter(&mut self, zoned: Zoned<'_>) -> Place {
        let domain = self.domain_id(zoned.domain);
        let namespace = match self.namespace_ids.get(zoned.namespace) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.namespaces.len()).unwrap_or(u32::MAX);
                let expected = self.expected_labels.get(zoned.namespace).copied();
                let labels = ShortKeyMap::with_capacity(expected.unwrap_or(0));
                let [bare, svc, full] = cluster_local_zones(zoned.namespace, zoned.cluster_domain);
                self.namespaces.push((full.as_str().into(), labels));
                self.namespace_ids.insert(zoned.namespace.to_owned(), id);
                for zone in [bare, svc, full] {
                    self.zones.insert(zone.into(), (id, None));
                }
                id
            }
        };
        if let Some(zone) = zoned.external_zone {
            if !self.zones.contains_key(zone) {
                // A domain of `svc` or `svc.{clusterDomain}` makes the
                // external zone a cluster-local one, which already admits
                // every domain.
                self.zones.insert(zone.into(), (namespace, Some(domain)));
            }
        }
        Place { namespace, domain }
    }

    /// Registers a label (a service name, or a tag's label) in the zones of
    /// the service's place; `public` if it has external hosts.
    pub fn add(
        &mut self,
        place: Place,
        label: &str,
        public: bool,
        service: ServiceId,
        tag: Option<TagId>,
    ) -> Result<(), HostClash> {
        let Some((zone, labels)) = self.namespaces.get_mut(place.namespace as usize) else {
            return Ok(());
        };
        let entry = LabelEntry {
            label: Label::of(service, tag),
            domain: place.domain,
            public,
        };
        // The same label in one namespace always shares the cluster-local
        // hosts, whatever the domains, so it is one host claimed twice.
        labels
            .insert_new(label, entry)
            .map_err(|existing| HostClash {
                host: format!("{label}.{zone}"),
                holder: existing.label.service(),
            })
    }

    /// Serves `host` whole as `service`, or as one of its tags: a custom
    /// domain (`mapped`) or the external host of a template that does not
    /// put the name first. Refuses a host another service, or this one,
    /// already has.
    pub fn add_whole(
        &mut self,
        host: &str,
        service: ServiceId,
        tag: Option<TagId>,
        mapped: bool,
    ) -> Result<(), HostClash> {
        // Only exact claims clash: a wildcard gives way to an exact host.
        if let Some(holder) = self.holder(host) {
            return Err(HostClash {
                host: host.to_owned(),
                holder,
            });
        }
        self.whole.insert(
            host.into(),
            Whole {
                label: Label::of(service, tag),
                mapped,
            },
        );
        Ok(())
    }

    /// Serves every host `{label}.{suffix}` (one leading label) as `service`,
    /// where no exact host says otherwise.
    pub fn add_wildcard(&mut self, suffix: &str, service: ServiceId) -> Result<(), HostClash> {
        if let Some(&holder) = self.wildcards.get(suffix) {
            return Err(HostClash {
                host: format!("*.{suffix}"),
                holder,
            });
        }
        self.wildcards.insert(suffix.into(), service);
        Ok(())
    }

    /// The service that already serves `host` exactly, on any side.
    fn holder(&self, host: &str) -> Option<ServiceId> {
        let (first, rest) = first_label(host);
        let zoned = self.zones.get(rest).and_then(|&(namespace, domain)| {
            let entry = self.namespaces.get(namespace as usize)?.1.get(first)?;
            domain
                .is_none_or(|d| d == entry.domain && entry.public)
                .then_some(entry.label.service())
        });
        zoned.or_else(|| self.whole.get(host).map(|w| w.label.service()))
    }

    fn domain_id(&mut self, domain: &str) -> u32 {
        match self.domain_ids.get(domain) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.domain_ids.len()).unwrap_or(u32::MAX);
                self.domain_ids.insert(domain.to_owned(), id);
                id
            }
        }
    }

    /// The table of the hosts `side` serves.
    pub fn build(self, side: Side) -> HostTable {
        // With a tag shape, tag hosts are found through their service's
        // label (`HostTable::resolve`): only services' labels are kept.
        let shaped = self.tag_shape.is_some();
        let namespaces = self
            .namespaces
            .into_iter()
            .map(|(_, mut labels)| {
                labels.retain(|e| !shaped || matches!(e.label, Label::Service(_)));
                labels
            })
            .collect();
        let zones = self
            .zones
            .iter()
            .filter(|(_, (_, domain))| match domain {
                Some(_) => side.serves_public(),
                None => side.serves_cluster_local(),
            })
            .map(|(zone, &(namespace, domain))| (&**zone, Zone { namespace, domain }))
            .collect();
        let public = side.serves_public();
        HostTable {
            zones,
            namespaces,
            whole: if public {
                self.whole
            } else {
                HashMap::default()
            },
            wildcards: if public {
                self.wildcards
            } else {
                HashMap::default()
            },
            tag_shape: self.tag_shape,
        }
    }
}

impl Label {
    fn of(service: ServiceId, tag: Option<TagId>) -> Label {
        match tag {
            None => Label::Service(service),
            Some(t) => Label::Tag(service, t),
        }
    }

    fn service(self) -> ServiceId {
        match self {
            Label::Service(s) | Label::Tag(s, _) => s,
        }
    }
}

/// The lookup form of a request's authority: ASCII lower case, without a port
/// and without a trailing dot, so `Traffic-Example.default.example.com.:80`
/// finds `traffic-example.default.example.com`. Borrows when nothing changes,
/// which is the common case.
pub fn normalize(authority: &str) -> Cow<'_, str> {
    if crate::bytes::is_plain_host(authority.as_bytes()) {
        return Cow::Borrowed(authority.strip_suffix('.').unwrap_or(authority));
    }
    let host = strip_port(authority);
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        // An IPv6 literal: the port, if any, follows the bracket.
        return match authority.find(']') {
            Some(end) => authority.get(..=end).unwrap_or(authority),
            None => authority,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => authority,
    }
}

/// The most host hashing [`HostTable::resolve`] may do for a host of `len`
/// bytes, in the counts of [`crate::fasthash::work`]: four lookups of the
/// host or a part of it (the zone, the first label, a custom domain, a
/// wildcard's suffix), and for a tag-host shape one more per dash in the
/// first label's last 64 bytes, each of at most 63 bytes. Linear in `len`:
/// the unit tests and the fuzz target `route` hold resolutions to it.
#[cfg(any(test, feature = "count-work"))]
pub fn resolve_work_limit(len: usize) -> crate::fasthash::work::Work {
    // A hash of n bytes takes at most n / 8 + 3 steps.
    let steps = |bytes: usize| (bytes / 8 + 3) as u64;
    let tail = (MAX_LABEL + 1) as u64;
    crate::fasthash::work::Work {
        hashes: 4 + tail,
        steps: 4 * steps(len) + tail * steps(MAX_LABEL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tags the tests' services have: `v1`, public, for every service.
    struct Tags;

    impl TagNames for Tags {
        fn tag(&self, _: ServiceId, name: &str) -> Option<(TagId, bool)> {
            (name == "v1").then_some((tag(0), true))
        }
    }

    /// `t` resolves `host` with the tests' tags.
    fn at<'t>(t: &'t HostTable, host: &str) -> HostMatch<'t> {
        t.resolve(host, &Tags)
    }

    fn s(index: usize) -> ServiceId {
        ServiceId::new(index)
    }

    fn tag(index: usize) -> TagId {
        TagId::new(index)
    }

    /// Registers `label` in `namespace`'s zones and its default external
    /// zone `{namespace}.{domain}`.
    fn add(
        b: &mut HostTableBuilder,
        namespace: &str,
        domain: &str,
        label: &str,
        service: ServiceId,
        tag: Option<TagId>,
    ) -> Result<(), HostClash> {
        let zone = format!("{namespace}.{domain}");
        let place = b.enter(Zoned {
            namespace,
            external_zone: Some(&zone),
            domain,
            cluster_domain: "cluster.local",
        });
        b.set_tag_shape(Some(TagShape::knative_default()));
        b.add(place, label, true, service, tag)
    }

    #[test]
    fn normalize_strips_port_trailing_dot_and_case() {
        assert_eq!(normalize("a.b.example.com"), "a.b.example.com");
        assert!(matches!(normalize("a.b.example.com"), Cow::Borrowed(_)));
        assert_eq!(normalize("a.b.example.com:80"), "a.b.example.com");
        assert_eq!(normalize("a.b.example.com.:8080"), "a.b.example.com");
        assert_eq!(normalize("A.B.Example.COM."), "a.b.example.com");
        assert_eq!(normalize("[::1]:8080"), "[::1]");
        assert_eq!(normalize("[::1]"), "[::1]");
        assert_eq!(normalize("::1"), "::1");
        assert_eq!(normalize("host:notaport"), "host:notaport");
        assert_eq!(normalize(""), "");
    }

    fn table() -> HostTable {
        let mut b = HostTableBuilder::default();
        add(&mut b, "default", "example.com", "web", s(0), None).unwrap();
        add(
            &mut b,
            "default",
            "example.com",
            "v1-web",
            s(0),
            Some(tag(0)),
        )
        .unwrap();
        add(&mut b, "default", "other.org", "api", s(1), None).unwrap();
        b.build(Side::Both)
    }

    #[test]
    fn resolves_every_zone_form() {
        let t = table();
        for zone in [
            "default.example.com",
            "default",
            "default.svc",
            "default.svc.cluster.local",
        ] {
            assert_eq!(at(&t, &format!("web.{zone}")), HostMatch::Service(s(0)));
            assert_eq!(
                at(&t, &format!("v1-web.{zone}")),
                HostMatch::Tag(s(0), tag(0))
            );
            assert_eq!(
                at(&t, &format!("v9-web.{zone}")),
                HostMatch::NoSuchTag(s(0))
            );
        }
    }

    #[test]
    fn external_zone_only_reaches_its_own_domain() {
        let t = table();
        assert_eq!(at(&t, "api.default.other.org"), HostMatch::Service(s(1)));
        assert_eq!(at(&t, "api.default.example.com"), HostMatch::Unknown);
        assert_eq!(at(&t, "web.default.other.org"), HostMatch::Unknown);
        assert_eq!(at(&t, "x-web.default.other.org"), HostMatch::Unknown);
        assert_eq!(at(&t, "api.default.svc"), HostMatch::Service(s(1)));
    }

    #[test]
    fn unknown_shapes() {
        let t = table();
        assert_eq!(at(&t, "web"), HostMatch::Unknown);
        assert_eq!(at(&t, "web.elsewhere.example.com"), HostMatch::Unknown);
        assert_eq!(at(&t, "-web.default.example.com"), HostMatch::Unknown);
        assert_eq!(at(&t, "webx.default.example.com"), HostMatch::Unknown);
        assert_eq!(at(&t, ""), HostMatch::Unknown);
    }

    #[test]
    fn long_labels_still_find_a_missing_tag_of_a_63_byte_name() {
        let name = format!("s{}", "-a".repeat(31));
        assert_eq!(name.len(), 63);
        let mut b = HostTableBuilder::default();
        add(&mut b, "ns", "example.com", &name, s(0), None).unwrap();
        let t = b.build(Side::Both);
        let host = |label: &str| format!("{label}.ns.example.com");
        assert_eq!(at(&t, &host(&name)), HostMatch::Service(s(0)));
        // The tag is not checked against DNS rules here: any prefix works.
        let long_tag = "x-".repeat(5000);
        assert_eq!(
            at(&t, &host(&format!("{long_tag}{name}"))),
            HostMatch::NoSuchTag(s(0))
        );
        assert_eq!(
            at(&t, &host(&format!("v9-{name}"))),
            HostMatch::NoSuchTag(s(0))
        );
        assert_eq!(at(&t, &host(&"-".repeat(60_000))), HostMatch::Unknown);
    }

    #[test]
    fn resolving_any_host_hashes_at_most_linear_in_its_length() {
        use crate::fasthash::work;
        // Every lookup resolve can make is live: zones, labels with dashes
        // (a 63-byte name among them), an exact and a wildcard custom domain.
        let name = format!("s{}", "-a".repeat(31));
        let mut b = HostTableBuilder::default();
        add(&mut b, "ns", "example.com", &name, s(0), None).unwrap();
        add(&mut b, "ns", "example.com", "web", s(1), None).unwrap();
        add(&mut b, "ns", "example.com", "v1-web", s(1), Some(tag(0))).unwrap();
        b.add_whole("www.example.org", s(1), None, true).unwrap();
        b.add_wildcard("example.net", s(0)).unwrap();
        let t = b.build(Side::Both);
        let zone = ".ns.example.com";
        let mut most_hashes = 0;
        for n in [100, 1_000, 8_000, 65_536] {
            for host in [
                "a".repeat(n),
                "-".repeat(n),
                format!("{}{zone}", "-".repeat(n)),
                format!("{}{name}{zone}", "-".repeat(n)),
                format!("{}{zone}", "a-".repeat(n / 2)),
                format!("{}{name}{zone}", "x-".repeat(n / 2)),
                format!("{}web{zone}", "v1-".repeat(n / 3)),
                "a.".repeat(n / 2),
                format!("web.{}", "a.".repeat(n / 2)),
                format!("{}.ns", "-".repeat(n)),
                format!("{}.example.net", "-".repeat(n)),
                format!("{}example.org", "www.".repeat(n / 4)),
            ] {
                let (_, work) = work::measure(|| at(&t, &host));
                let limit = resolve_work_limit(host.len());
                assert!(
                    work.within(&limit),
                    "{} bytes ({:?}…): {work:?}, over {limit:?}",
                    host.len(),
                    &host[..20],
                );
                most_hashes = most_hashes.max(work.hashes);
            }
        }
        // The worst shapes come close to the limit: the count is live, and
        // trying every dash of a long label (as a quadratic version did)
        // would be far over it.
        assert!(most_hashes > 60, "{most_hashes}");
        let (found, work) =
            work::measure(|| at(&t, &format!("{}{name}{zone}", "-".repeat(65_536))));
        assert_eq!(found, HostMatch::NoSuchTag(s(0)));
        assert!(work.hashes > 4, "{work:?}");
    }

    /// Tags by (service index, name): id and whether public.
    struct Listed(Vec<(usize, &'static str, usize, bool)>);

    impl TagNames for Listed {
        fn tag(&self, service: ServiceId, name: &str) -> Option<(TagId, bool)> {
            self.0
                .iter()
                .find(|(s, n, _, _)| *s == service.index() && *n == name)
                .map(|&(_, _, t, public)| (tag(t), public))
        }
    }

    #[test]
    fn a_tag_host_is_found_through_its_service_on_any_split() {
        let mut b = HostTableBuilder::default();
        add(&mut b, "ns", "example.com", "b-c", s(0), None).unwrap();
        add(&mut b, "ns", "example.com", "c", s(1), None).unwrap();
        // The table keeps only the services' labels.
        add(&mut b, "ns", "example.com", "a-b-c", s(1), Some(tag(0))).unwrap();
        add(&mut b, "ns", "example.com", "hidden-c", s(1), Some(tag(1))).unwrap();
        b.add_wildcard("ns.example.com", s(0)).unwrap();
        let t = b.build(Side::Both);
        let tags = Listed(vec![(1, "a-b", 0, true), (1, "hidden", 1, false)]);
        // `a` of b-c does not exist, `a-b` of c does: the tag wins.
        assert_eq!(
            t.resolve("a-b-c.ns.example.com", &tags),
            HostMatch::Tag(s(1), tag(0))
        );
        // An exact tag host wins over a `*.` custom domain; an unknown tag
        // of a known service is the wildcard's.
        assert!(matches!(
            t.resolve("x-b-c.ns.example.com", &tags),
            HostMatch::Mapped { service, .. } if service == s(0)
        ));
        // A cluster-local tag has no external host, but its cluster-local
        // ones.
        assert_eq!(
            t.resolve("hidden-c.ns.svc", &tags),
            HostMatch::Tag(s(1), tag(1))
        );
        let without_wildcard = {
            let mut b = HostTableBuilder::default();
            add(&mut b, "ns", "example.com", "c", s(1), None).unwrap();
            b.build(Side::Both)
        };
        assert_eq!(
            without_wildcard.resolve("hidden-c.ns.example.com", &tags),
            HostMatch::NoSuchTag(s(1))
        );
    }

    #[test]
    fn a_label_claimed_twice_in_a_namespace_is_a_clash() {
        let mut b = HostTableBuilder::default();
        add(&mut b, "ns", "a.com", "b-c", s(0), None).unwrap();
        let clash = add(&mut b, "ns", "b.com", "b-c", s(1), Some(tag(0))).unwrap_err();
        assert_eq!(clash.host, "b-c.ns.svc.cluster.local");
        assert_eq!(clash.holder, s(0));
    }
}
