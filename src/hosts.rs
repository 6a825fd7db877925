//! Which service, and which of its tags, a request's Host names.
//!
//! Knative gives every service the hosts `{name}.{zone}` and every tag the
//! hosts `{tag}-{name}.{zone}`, where the zones of a namespace are the external
//! `{namespace}.{domain}` and the cluster-local `{namespace}`,
//! `{namespace}.svc` and `{namespace}.svc.{clusterDomain}`. So a host splits
//! into its first label and a zone, and the table is two small hash maps: zone
//! → namespace, then label → service or tag within that namespace. Keeping the
//! labels per namespace instead of every full host name stores one entry per
//! service and tag rather than one per host form.

use std::borrow::Cow;

use crate::fasthash::BuildHostHasher;
use crate::names::MAX_LABEL;

/// The host tables' maps, with the unkeyed lookup hash of [`crate::fasthash`]
/// (why that is safe is said there).
type HashMap<K, V> = std::collections::HashMap<K, V, BuildHostHasher>;

pub use crate::ids::{ServiceId, TagId};

/// What a host names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMatch {
    /// Not a host of any configured service.
    Unknown,
    /// A service's own host.
    Service(ServiceId),
    /// A tag's host.
    Tag(ServiceId, TagId),
    /// Shaped like `{tag}-{name}.{zone}` for a configured service, but no
    /// such tag exists.
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
    /// `Some(d)` for an external zone `{namespace}.{domain}`: only services of
    /// that domain are reached there. `None` for a cluster-local zone, which
    /// reaches every service of the namespace.
    domain: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct LabelEntry {
    label: Label,
    domain: u32,
}

/// The compiled host table. Built once per configuration by
/// [`HostTableBuilder`], then given the services' custom domains.
#[derive(Debug, Default)]
pub struct HostTable {
    zones: HashMap<Box<str>, Zone>,
    namespaces: Vec<HashMap<Box<str>, LabelEntry>>,
    /// Custom domains: exact hosts.
    custom: HashMap<Box<str>, Label>,
    /// Custom domains `*.{suffix}`, by suffix: the host minus its first label.
    wildcards: HashMap<Box<str>, ServiceId>,
}

impl HostTable {
    /// Resolves an already [`normalize`]d host: four hash lookups of the
    /// host or a part of it, and for a host in a known zone that matched
    /// nothing, up to 64 more of the first label's suffixes (the shape of a
    /// tag host whose tag does not exist); `resolve_work_limit` states the
    /// bound the tests hold it to. Exact hosts win over wildcards: a service's
    /// own hosts, then custom domains, then `*.` custom domains, then that
    /// tag-host shape.
    pub fn resolve(&self, host: &str) -> HostMatch {
        let (first, rest) = host.split_once('.').unwrap_or((host, ""));
        let zone = self.zone(rest);
        if let Some(label) = zone.and_then(|(zone, labels)| zone.label(labels, first)) {
            return label.into();
        }
        if !self.custom.is_empty() {
            if let Some(label) = self.custom.get(host) {
                return (*label).into();
            }
        }
        if !self.wildcards.is_empty() && !rest.is_empty() {
            if let Some(&service) = self.wildcards.get(rest) {
                return HostMatch::Service(service);
            }
        }
        zone.and_then(|(zone, labels)| zone.missing_tag(labels, first))
            .unwrap_or(HostMatch::Unknown)
    }

    /// The zone `rest` names and its namespace's labels.
    fn zone(&self, rest: &str) -> Option<(&Zone, &HashMap<Box<str>, LabelEntry>)> {
        let zone = self.zones.get(rest)?;
        let labels = self.namespaces.get(zone.namespace as usize)?;
        Some((zone, labels))
    }

    /// Serves `host` (an exact custom domain) as `service`, or as one of its
    /// tags. Refuses a host another service, or this one, already has.
    pub fn add_custom(
        &mut self,
        host: &str,
        service: ServiceId,
        tag: Option<TagId>,
    ) -> Result<(), HostClash> {
        // Only exact claims clash: a wildcard gives way to an exact host.
        let (first, rest) = host.split_once('.').unwrap_or((host, ""));
        let holder = self
            .zone(rest)
            .and_then(|(zone, labels)| zone.label(labels, first))
            .or_else(|| self.custom.get(host).copied())
            .map(Label::service);
        if let Some(holder) = holder {
            return Err(HostClash {
                host: host.to_owned(),
                holder,
            });
        }
        let label = match tag {
            None => Label::Service(service),
            Some(t) => Label::Tag(service, t),
        };
        self.custom.insert(host.into(), label);
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
}

impl Zone {
    /// The service or tag `first` names in this zone.
    fn label(&self, labels: &HashMap<Box<str>, LabelEntry>, first: &str) -> Option<Label> {
        labels
            .get(first)
            .filter(|e| self.admits(e))
            .map(|e| e.label)
    }

    /// `{tag}-{name}` for a service `name` of this zone, with a tag it does
    /// not have. Service names contain dashes too, so every split is tried.
    /// A service name is a DNS label of at most 63 bytes, so only the splits
    /// that leave at most 63 are looked up: each lookup hashes the rest of
    /// the label, and trying every dash of a long label (a 60 KB Host of
    /// dashes) would cost time quadratic in its length.
    fn missing_tag(
        &self,
        labels: &HashMap<Box<str>, LabelEntry>,
        first: &str,
    ) -> Option<HostMatch> {
        // Only the label's last 64 bytes can hold the dash before a name.
        let tail_start = (first.len().saturating_sub(MAX_LABEL + 1)..first.len())
            .find(|&i| first.is_char_boundary(i))?;
        first
            .get(tail_start..)?
            .match_indices('-')
            .map(|(i, _)| tail_start + i)
            .filter(|&i| i > 0)
            .filter_map(|i| first.get(i + 1..))
            .filter_map(|name| labels.get(name))
            .find_map(|entry| match entry.label {
                Label::Service(s) if self.admits(entry) => Some(HostMatch::NoSuchTag(s)),
                _ => None,
            })
    }

    fn admits(&self, entry: &LabelEntry) -> bool {
        self.domain.is_none_or(|d| d == entry.domain)
    }
}

impl From<Label> for HostMatch {
    fn from(label: Label) -> HostMatch {
        match label {
            Label::Service(s) => HostMatch::Service(s),
            Label::Tag(s, t) => HostMatch::Tag(s, t),
        }
    }
}

/// Collects the hosts of every service and refuses two claims on one host.
#[derive(Debug, Default)]
pub struct HostTableBuilder {
    /// Labels per namespace name; numbered when the table is built.
    labels: HashMap<String, HashMap<Box<str>, LabelEntry>>,
    /// Zone → (namespace name, domain of an external zone).
    zones: HashMap<Box<str>, (String, Option<u32>)>,
    domain_ids: HashMap<String, u32>,
    /// The domain whose zones each namespace registered last.
    last_domain: HashMap<String, u32>,
}

/// Who already holds a host, when a second service claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostClash {
    pub host: String,
    pub holder: ServiceId,
}

impl HostTableBuilder {
    /// Registers `label` (a service name, or `{tag}-{name}`) in every zone of
    /// `namespace` and `domain`.
    pub fn add(
        &mut self,
        namespace: &str,
        domain: &str,
        cluster_domain: &str,
        label: &str,
        service: ServiceId,
        tag: Option<TagId>,
    ) -> Result<(), HostClash> {
        let domain = self.add_zones(namespace, domain, cluster_domain);
        // Looked up before inserting: most labels go to a namespace already
        // seen, and an entry() would allocate its name every time.
        if !self.labels.contains_key(namespace) {
            self.labels.insert(namespace.to_owned(), HashMap::default());
        }
        let Some(labels) = self.labels.get_mut(namespace) else {
            return Ok(());
        };
        if let Some(existing) = labels.get(label) {
            // The same label in one namespace always shares the cluster-local
            // hosts, whatever the domains, so it is one host claimed twice.
            return Err(HostClash {
                host: format!("{label}.{namespace}.svc.{cluster_domain}"),
                holder: existing.label.service(),
            });
        }
        let label_kind = match tag {
            None => Label::Service(service),
            Some(t) => Label::Tag(service, t),
        };
        labels.insert(
            label.into(),
            LabelEntry {
                label: label_kind,
                domain,
            },
        );
        Ok(())
    }

    pub fn build(self) -> HostTable {
        let mut index = HashMap::with_capacity_and_hasher(self.labels.len(), BuildHostHasher);
        let mut namespaces = Vec::with_capacity(self.labels.len());
        for (name, labels) in self.labels {
            index.insert(name, u32::try_from(namespaces.len()).unwrap_or(u32::MAX));
            namespaces.push(labels);
        }
        let zones = self
            .zones
            .into_iter()
            .filter_map(|(zone, (namespace, domain))| {
                let namespace = *index.get(&namespace)?;
                Some((zone, Zone { namespace, domain }))
            })
            .collect();
        HostTable {
            zones,
            namespaces,
            ..HostTable::default()
        }
    }

    /// Records the four zones of a namespace and domain; returns the domain's id.
    fn add_zones(&mut self, namespace: &str, domain: &str, cluster_domain: &str) -> u32 {
        let domain_id = match self.domain_ids.get(domain) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.domain_ids.len()).unwrap_or(u32::MAX);
                self.domain_ids.insert(domain.to_owned(), id);
                id
            }
        };
        // Every service and tag of a namespace registers the same zones, and
        // most namespaces have one domain: skip the work when this namespace
        // last registered this domain (registering again is harmless).
        if self.last_domain.get(namespace) == Some(&domain_id) {
            return domain_id;
        }
        match self.last_domain.get_mut(namespace) {
            Some(last) => *last = domain_id,
            None => {
                self.last_domain.insert(namespace.to_owned(), domain_id);
            }
        }
        for zone in [
            namespace.to_owned(),
            format!("{namespace}.svc"),
            format!("{namespace}.svc.{cluster_domain}"),
        ] {
            self.zones.insert(zone.into(), (namespace.to_owned(), None));
        }
        self.zones
            .entry(format!("{namespace}.{domain}").into())
            // A domain of `svc` or `svc.{clusterDomain}` makes the external
            // zone a cluster-local one, which already admits every domain.
            .or_insert((namespace.to_owned(), Some(domain_id)));
        domain_id
    }
}

impl Label {
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

    fn s(index: usize) -> ServiceId {
        ServiceId::new(index)
    }

    fn tag(index: usize) -> TagId {
        TagId::new(index)
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
        b.add("default", "example.com", "cluster.local", "web", s(0), None)
            .unwrap();
        b.add(
            "default",
            "example.com",
            "cluster.local",
            "v1-web",
            s(0),
            Some(tag(0)),
        )
        .unwrap();
        b.add("default", "other.org", "cluster.local", "api", s(1), None)
            .unwrap();
        b.build()
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
            assert_eq!(t.resolve(&format!("web.{zone}")), HostMatch::Service(s(0)));
            assert_eq!(
                t.resolve(&format!("v1-web.{zone}")),
                HostMatch::Tag(s(0), tag(0))
            );
            assert_eq!(
                t.resolve(&format!("v9-web.{zone}")),
                HostMatch::NoSuchTag(s(0))
            );
        }
    }

    #[test]
    fn external_zone_only_reaches_its_own_domain() {
        let t = table();
        assert_eq!(t.resolve("api.default.other.org"), HostMatch::Service(s(1)));
        assert_eq!(t.resolve("api.default.example.com"), HostMatch::Unknown);
        assert_eq!(t.resolve("web.default.other.org"), HostMatch::Unknown);
        assert_eq!(t.resolve("x-web.default.other.org"), HostMatch::Unknown);
        assert_eq!(t.resolve("api.default.svc"), HostMatch::Service(s(1)));
    }

    #[test]
    fn unknown_shapes() {
        let t = table();
        assert_eq!(t.resolve("web"), HostMatch::Unknown);
        assert_eq!(t.resolve("web.elsewhere.example.com"), HostMatch::Unknown);
        assert_eq!(t.resolve("-web.default.example.com"), HostMatch::Unknown);
        assert_eq!(t.resolve("webx.default.example.com"), HostMatch::Unknown);
        assert_eq!(t.resolve(""), HostMatch::Unknown);
    }

    #[test]
    fn long_labels_still_find_a_missing_tag_of_a_63_byte_name() {
        let name = format!("s{}", "-a".repeat(31));
        assert_eq!(name.len(), 63);
        let mut b = HostTableBuilder::default();
        b.add("ns", "example.com", "cluster.local", &name, s(0), None)
            .unwrap();
        let t = b.build();
        let host = |label: &str| format!("{label}.ns.example.com");
        assert_eq!(t.resolve(&host(&name)), HostMatch::Service(s(0)));
        // The tag is not checked against DNS rules here: any prefix works.
        let long_tag = "x-".repeat(5000);
        assert_eq!(
            t.resolve(&host(&format!("{long_tag}{name}"))),
            HostMatch::NoSuchTag(s(0))
        );
        assert_eq!(
            t.resolve(&host(&format!("v9-{name}"))),
            HostMatch::NoSuchTag(s(0))
        );
        assert_eq!(t.resolve(&host(&"-".repeat(60_000))), HostMatch::Unknown);
    }

    #[test]
    fn resolving_any_host_hashes_at_most_linear_in_its_length() {
        use crate::fasthash::work;
        // Every lookup resolve can make is live: zones, labels with dashes
        // (a 63-byte name among them), an exact and a wildcard custom domain.
        let name = format!("s{}", "-a".repeat(31));
        let mut b = HostTableBuilder::default();
        b.add("ns", "example.com", "cluster.local", &name, s(0), None)
            .unwrap();
        b.add("ns", "example.com", "cluster.local", "web", s(1), None)
            .unwrap();
        b.add(
            "ns",
            "example.com",
            "cluster.local",
            "v1-web",
            s(1),
            Some(tag(0)),
        )
        .unwrap();
        let mut t = b.build();
        t.add_custom("www.example.org", s(1), None).unwrap();
        t.add_wildcard("example.net", s(0)).unwrap();
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
                let (_, work) = work::measure(|| t.resolve(&host));
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
            work::measure(|| t.resolve(&format!("{}{name}{zone}", "-".repeat(65_536))));
        assert_eq!(found, HostMatch::NoSuchTag(s(0)));
        assert!(work.hashes > 4, "{work:?}");
    }

    #[test]
    fn a_label_claimed_twice_in_a_namespace_is_a_clash() {
        let mut b = HostTableBuilder::default();
        b.add("ns", "a.com", "cluster.local", "b-c", s(0), None)
            .unwrap();
        let clash = b
            .add("ns", "b.com", "cluster.local", "b-c", s(1), Some(tag(0)))
            .unwrap_err();
        assert_eq!(clash.host, "b-c.ns.svc.cluster.local");
        assert_eq!(clash.holder, s(0));
    }
}
