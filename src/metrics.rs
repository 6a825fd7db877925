//! The names of the filter's counters in Envoy's stats.
//!
//! A request counter is named
//! `knative_traffic.requests.namespace.{ns}.service.{name}.revision.{revision}.reason.{reason}`
//! (no `revision` part for `not-found`), and requests copied to a mirror
//! revision `knative_traffic.mirrored.namespace.{ns}.service.{name}.revision.{revision}`;
//! they read well in `/stats` (Envoy
//! prefixes it with `wasmcustom.`). With the `stats_tags` of
//! `envoy/envoy.yaml`, Envoy's tag extraction turns each `{key}.{value}` pair
//! into a label, so `/stats/prometheus` shows
//! `knative_traffic_requests{namespace=…,service=…,revision=…,reason=…}`.
//!
//! Which counters exist is decided when a configuration is compiled: one per
//! revision and reason that can occur (a revision without a tag is never
//! reached by a tag), plus `not-found` per service. Each has a slot number;
//! the filter defines the counters once per configuration and a request only
//! increments the counter of its slot. Envoy hands out a new id every time a
//! name is defined and keeps every one for the life of the VM, so the ids are
//! remembered by name ([`MetricIds`]) and a new configuration defines only
//! the counters no earlier one had.

use std::collections::HashMap;

use crate::routing::Reason;

pub const CONFIG_ACCEPTED: &str = "knative_traffic.config.accepted";
pub const CONFIG_REJECTED: &str = "knative_traffic.config.rejected";

/// The counter name of requests of a service, revision and reason.
pub fn request_counter(
    namespace: &str,
    service: &str,
    revision: Option<&str>,
    reason: Reason,
) -> String {
    let mut name = format!("knative_traffic.requests.namespace.{namespace}.service.{service}");
    if let Some(revision) = revision {
        name.push_str(".revision.");
        name.push_str(&stat_safe(revision));
    }
    name.push_str(".reason.");
    name.push_str(reason.as_str());
    name
}

/// The counter name of requests of a service copied to a mirror revision.
pub fn mirrored_counter(namespace: &str, service: &str, revision: &str) -> String {
    format!(
        "knative_traffic.mirrored.namespace.{namespace}.service.{service}.revision.{}",
        stat_safe(revision)
    )
}

/// Metric ids by name, for the life of one VM. Without it every accepted
/// configuration (every ECDS update) would define all its counters again and
/// grow Envoy's per-VM id table by that many entries each time.
///
/// Keyed by a 64-bit hash of the name, not the name: 10,000 services have
/// 160,000 counters whose names take 15 MB, which every worker's VM would
/// keep; the hashes take about 4 MB. Two names sharing a hash would share a
/// counter; among 160,000 names the chance of any such pair is about one in
/// a billion, and it would mix two counts, nothing else.
#[derive(Debug)]
pub struct MetricIds<C>(HashMap<u64, C>);

impl<C> Default for MetricIds<C> {
    fn default() -> Self {
        MetricIds(HashMap::new())
    }
}

/// SipHash with fixed keys: the same name gets the same key in every
/// configuration of the VM.
fn name_key(name: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(name)
}

impl<C: Copy> MetricIds<C> {
    /// The id of `name`, defined with `define` the first time it is asked
    /// for. A failed definition is not remembered: the next configuration
    /// tries again.
    pub fn get_or_define(
        &mut self,
        name: &str,
        define: impl FnOnce(&str) -> Option<C>,
    ) -> Option<C> {
        let key = name_key(name);
        if let Some(id) = self.0.get(&key) {
            return Some(*id);
        }
        let id = define(name)?;
        self.0.insert(key, id);
        Some(id)
    }

    /// How many names have an id.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no name has an id yet.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Revision names are free-form; a dot would add a level to the stat name,
/// so every character but letters, digits, `-` and `_` is written as `_`
/// (the compiler refuses two revisions of a service that this makes one).
pub(crate) fn stat_safe(s: &str) -> String {
    s.chars()
        .map(|c| if kept_in_stats(c) { c } else { '_' })
        .collect()
}

/// Whether [`stat_safe`] keeps `s` as it is.
pub(crate) fn is_stat_safe(s: &str) -> bool {
    s.chars().all(kept_in_stats)
}

/// The characters counter names keep; every other one is written `_`.
fn kept_in_stats(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_defined_once_across_configurations() {
        let mut ids = MetricIds::<u32>::default();
        let mut defined = Vec::new();
        let mut next = 0;
        let mut define = |name: &str| {
            defined.push(name.to_owned());
            next += 4;
            Some(next)
        };
        let first = ["a", "b", CONFIG_ACCEPTED];
        let second = ["b", "c", CONFIG_ACCEPTED];
        let first_ids: Vec<_> = first
            .iter()
            .map(|n| ids.get_or_define(n, &mut define))
            .collect();
        let second_ids: Vec<_> = second
            .iter()
            .map(|n| ids.get_or_define(n, &mut define))
            .collect();
        assert_eq!(first_ids, [Some(4), Some(8), Some(12)]);
        assert_eq!(second_ids, [Some(8), Some(16), Some(12)]);
        assert_eq!(defined, ["a", "b", CONFIG_ACCEPTED, "c"]);
        assert_eq!(ids.len(), 4);
        // A name the host refused is asked for again next time.
        assert_eq!(ids.get_or_define("d", |_| None), None);
        assert_eq!(ids.get_or_define("d", |_| Some(99)), Some(99));
    }

    #[test]
    fn names() {
        assert_eq!(
            request_counter("default", "web", Some("web-00001"), Reason::Draw),
            "knative_traffic.requests.namespace.default.service.web.revision.web-00001.reason.draw"
        );
        assert_eq!(
            request_counter("default", "web", Some("web.v1:x"), Reason::TagHost),
            "knative_traffic.requests.namespace.default.service.web.revision.web_v1_x.reason.tag-host"
        );
        assert_eq!(
            request_counter("default", "web", None, Reason::NotFound),
            "knative_traffic.requests.namespace.default.service.web.reason.not-found"
        );
    }
}
