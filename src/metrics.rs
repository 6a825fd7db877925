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
//! increments the counter of its slot.

use crate::routing::Reason;

pub const CONFIG_ACCEPTED: &str = "knative_traffic.config.accepted";
pub const CONFIG_REJECTED: &str = "knative_traffic.config.rejected";

/// A slot that has no counter (metrics off, or a combination that cannot
/// occur).
pub const NO_SLOT: u32 = u32::MAX;

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

/// Revision names are free-form; a dot would add a level to the stat name.
fn stat_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
