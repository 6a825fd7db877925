//! The configuration document as users write it: one JSON object, the filter's
//! plugin configuration (Istio's WasmPlugin `pluginConfig`, or `configuration`
//! in a plain Envoy config).
//!
//! These types only describe the shape of the document; every rule about what
//! a valid document is lives in `compile`, which turns a [`Document`] into a
//! [`crate::routing::RouteTable`]. Field names follow Knative's own
//! (`revisionName`, `latestRevision`, `percent`, `tag`, `latestReadyRevisionName`)
//! so the `traffic` block of a Knative Service can be pasted as it is.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// Where the cluster name goes when no `clusterHeader` is given: a header no
/// client has a reason to send, read by the route's `cluster_header`.
pub const DEFAULT_CLUSTER_HEADER: &str = "x-knative-cluster";
/// Knative's domain when config-domain names none.
pub const DEFAULT_DOMAIN: &str = "svc.cluster.local";
/// Kubernetes' default cluster domain, used for the cluster-local host forms.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";
/// By default a revision is served by the Envoy cluster of the same name.
pub const DEFAULT_CLUSTER_TEMPLATE: &str = "{revision}";
/// A sticky cookie's Max-Age, in seconds, when `maxAge` is not given: a day.
pub const DEFAULT_STICKY_MAX_AGE: u64 = 86_400;
/// Where the mirror cluster goes when no `mirrorHeader` is given.
pub const DEFAULT_MIRROR_HEADER: &str = "x-knative-mirror-cluster";

/// The whole document. `S` is how its services are read: typed, or (to
/// report every service's errors when one of them fails to parse) left
/// unparsed, one at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Document<S = ServiceSpec> {
    /// Request header the chosen cluster is written into.
    #[serde(default)]
    pub cluster_header: Option<String>,
    /// How a revision's cluster is named, with `{revision}`, `{service}` and
    /// `{namespace}` placeholders; a service's `clusters` map overrides it.
    #[serde(default)]
    pub cluster_template: Option<String>,
    /// Default domain for services that name none (Knative's config-domain).
    #[serde(default)]
    pub domain: Option<String>,
    /// The Kubernetes cluster domain of the `.svc.{clusterDomain}` host forms.
    #[serde(default)]
    pub cluster_domain: Option<String>,
    /// Response header naming the revision and the reason (off when absent;
    /// Knative treats revision names as customer data, knative/serving#13149).
    #[serde(default)]
    pub route_response_header: Option<String>,
    /// Request header the mirror cluster is written into.
    #[serde(default)]
    pub mirror_header: Option<String>,
    /// Per-revision request counters in Envoy's stats (on by default).
    #[serde(default)]
    pub metrics: Option<bool>,
    /// Knative's config-network `domain-template`: a service's host from
    /// `{{.Name}}`, `{{.Namespace}}` and `{{.Domain}}`.
    #[serde(default)]
    pub domain_template: Option<String>,
    /// Knative's config-network `tag-template`: a tag's name in hosts from
    /// `{{.Tag}}` and `{{.Name}}`.
    #[serde(default)]
    pub tag_template: Option<String>,
    /// Knative's config-features `tag-header-based-routing`: whether
    /// `Knative-Serving-Tag` picks a tag on a service's host (on unless
    /// `false`; Knative ships it disabled).
    #[serde(default)]
    pub tag_header_based_routing: Option<bool>,
    pub services: Vec<S>,
}

impl<S> Document<S> {
    /// The same document with `services` in place of its own.
    pub fn with_services<T>(self, services: Vec<T>) -> Document<T> {
        Document {
            cluster_header: self.cluster_header,
            cluster_template: self.cluster_template,
            domain: self.domain,
            cluster_domain: self.cluster_domain,
            route_response_header: self.route_response_header,
            mirror_header: self.mirror_header,
            metrics: self.metrics,
            domain_template: self.domain_template,
            tag_template: self.tag_template,
            tag_header_based_routing: self.tag_header_based_routing,
            services,
        }
    }
}

/// Who may reach a service or a tag: Knative's
/// `networking.knative.dev/visibility` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Visibility {
    /// Its external host and its cluster-local hosts (Knative's default).
    Public,
    /// Only its cluster-local hosts: `{name}.{namespace}`, `.svc` and
    /// `.svc.{clusterDomain}`.
    ClusterLocal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    pub namespace: String,
    #[serde(default)]
    pub domain: Option<String>,
    /// `cluster-local` keeps the service, and all its tags, off external
    /// hosts.
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// What `latestRevision: true` targets resolve to (Knative's
    /// `status.latestReadyRevisionName`).
    #[serde(default)]
    pub latest_ready_revision_name: Option<String>,
    /// Knative's `spec.traffic`; empty means 100% to the latest revision.
    #[serde(default)]
    pub traffic: Vec<TrafficTarget>,
    /// Per-revision cluster names, overriding `clusterTemplate`.
    #[serde(default, deserialize_with = "unique_keys")]
    pub clusters: BTreeMap<String, String>,
    /// More hosts the service is served at, as at its own host: exact names,
    /// or `*.example.com` for any one label in front of `example.com`.
    #[serde(default)]
    pub custom_domains: Vec<String>,
    /// Also serve `{tag}-{first label}.{rest}` of each exact custom domain.
    #[serde(default)]
    pub custom_domain_tags: Option<bool>,
    /// Header and cookie rules sending a request to a tag, first match wins.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// Keeps a client on one revision of the split.
    #[serde(default)]
    pub sticky: Option<StickySpec>,
    /// Moves the split to one revision step by step over time.
    #[serde(default)]
    pub rollout: Option<RolloutSpec>,
    /// Copies a share of requests to a candidate revision.
    #[serde(default)]
    pub mirror: Option<MirrorSpec>,
    /// Stops a canary or a timed rollout whose candidate fails.
    #[serde(default)]
    pub guard: Option<GuardSpec>,
}

/// `{"tag": "canary"}`: judge the canary's answers in windows of
/// `minAnswers`, and take its share of the split away when it fails
/// significantly more often than the rest of the service (see
/// docs/guard.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardSpec {
    /// The candidate by revision name; by default a timed rollout's
    /// revision (the latest ready one).
    #[serde(default)]
    pub revision_name: Option<String>,
    /// The candidate by tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// Answers per verdict (100 unless given).
    #[serde(default)]
    pub min_answers: Option<u32>,
    /// A Go duration of whole seconds: a window that has not reached
    /// `minAnswers` this long after it opened is dropped (60s unless given).
    #[serde(default)]
    pub window: Option<String>,
    /// How many percentage points the candidate's failure rate may exceed
    /// the rest's (or, without `compare`, the rate it may have) before it
    /// is judged failing (5 unless given).
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// Compare with the rest of the service's traffic (true unless
    /// `false`): a failure of every revision does not blame the candidate.
    #[serde(default)]
    pub compare: Option<bool>,
    /// Also count an answer slower than this many milliseconds as failed.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// When the guard was last resumed (RFC 3339), written by the
    /// command-line tool: a verdict holds until the configuration changes,
    /// and this is the change that resumes it.
    #[serde(default)]
    pub resumed_at: Option<String>,
}

/// `{"tag": "v3", "percent": 10}`: copy 10% of the service's requests to the
/// revision of tag v3 (or of `revisionName`), answers discarded.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MirrorSpec {
    #[serde(default)]
    pub revision_name: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    /// 0 to 100, in steps of 0.01.
    pub percent: f64,
    /// Also mirror requests that reached a tag by its host or the tag header.
    #[serde(default)]
    pub include_tagged: Option<bool>,
}

/// `{"header": "wid", "prefix": "a", "tag": "a"}`: one source (`header` or
/// `cookie`), one test (`exact`, `prefix` or `present`), one tag.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub cookie: Option<String>,
    #[serde(default)]
    pub exact: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub present: Option<bool>,
    pub tag: String,
}

/// Where a client's stickiness key is read from, and whether the filter hands
/// out one when a request has none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StickySpec {
    #[serde(default)]
    pub cookie: Option<String>,
    #[serde(default)]
    pub header: Option<String>,
    /// Set the cookie, with a generated key, on responses to requests
    /// without one (cookie keys only).
    #[serde(default)]
    pub set_cookie: Option<bool>,
    /// Max-Age of a set cookie, in seconds.
    #[serde(default)]
    pub max_age: Option<u64>,
}

/// A timed rollout, Knative's `rollout-duration` done in the proxy: the
/// share of the targets that follow the latest revision moves from
/// `fromRevisionName` to `latestReadyRevisionName`, 1% at `start` and the
/// rest in Knative's steps.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutSpec {
    /// The revision the latest-following targets followed before (Knative's
    /// previous latest ready revision): the filter keeps no history.
    #[serde(default)]
    pub from_revision_name: Option<String>,
    /// No longer read: a rollout rolls to `latestReadyRevisionName`. Kept so
    /// that a configuration that names it is told what to write instead.
    #[serde(default)]
    pub revision_name: Option<String>,
    /// RFC 3339 instant, e.g. `2026-11-25T16:00:00Z`.
    pub start: String,
    /// Go duration in whole seconds, as Knative's annotation takes it, e.g.
    /// `10m`, `1h30m`, `1.5m`; `0s` means no rollout.
    pub duration: String,
    /// Knative's minimum step, which its controller measures as the time the
    /// first 1% took to become ready: a Go duration of whole seconds, 1s
    /// (Knative's least) unless given.
    #[serde(default)]
    pub min_step: Option<String>,
    /// Instead of Knative's timing, this many equal steps after the first 1%
    /// (1 to 99), ending exactly at `start + duration`.
    #[serde(default)]
    pub steps: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficTarget {
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub revision_name: Option<String>,
    #[serde(default)]
    pub latest_revision: Option<bool>,
    #[serde(default)]
    pub percent: Option<Percent>,
    /// Knative reports each target's URL in `status.traffic`; accepted so a
    /// status block can be pasted, and ignored (hosts are derived, not read).
    #[serde(default)]
    pub url: Option<String>,
    /// A tag's visibility: `cluster-local` keeps its hosts off external
    /// names (Knative's label on the tag's placeholder Service).
    #[serde(default)]
    pub visibility: Option<Visibility>,
}

/// A map whose keys are each given once: serde's maps keep the last of a
/// repeated key, so `{"web-1": "a", "web-1": "b"}` would quietly mean "b",
/// where a repeated field of a struct is refused.
fn unique_keys<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct UniqueKeys;

    impl<'de> Visitor<'de> for UniqueKeys {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object of strings")
        }

        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, String>()? {
                if out.contains_key(&key) {
                    return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
                }
                out.insert(key, value);
            }
            Ok(out)
        }
    }

    deserializer.deserialize_map(UniqueKeys)
}

/// A traffic share: an integer from 0 to 100, as Knative's API defines it.
///
/// The range and integrality are checked while parsing so that no other code
/// ever sees 12.5, -5 or "80". An integral float (80.0) is accepted because
/// Istio hands `pluginConfig` over as a protobuf Struct, whose numbers are
/// doubles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Percent(u8);

impl Percent {
    pub const MAX: u8 = 100;
    pub const HUNDRED: Option<Percent> = Some(Percent(100));

    pub fn new(value: u8) -> Option<Percent> {
        (value <= Self::MAX).then_some(Percent(value))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PercentVisitor)
    }
}

struct PercentVisitor;

impl PercentVisitor {
    fn out_of_range<E: de::Error>(shown: impl fmt::Display) -> E {
        E::custom(format_args!(
            "must be an integer from 0 to 100, got {shown}"
        ))
    }
}

impl Visitor<'_> for PercentVisitor {
    type Value = Percent;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer percent from 0 to 100")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Percent, E> {
        u8::try_from(v)
            .ok()
            .and_then(Percent::new)
            .ok_or_else(|| Self::out_of_range(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Percent, E> {
        u64::try_from(v)
            .map_err(|_| Self::out_of_range(v))
            .and_then(|v| self.visit_u64(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Percent, E> {
        if v.fract() == 0.0 && (0.0..=100.0).contains(&v) {
            // Integral and in range, so the cast is exact.
            self.visit_u64(v as u64)
        } else {
            Err(Self::out_of_range(crate::decimal::Decimal(v)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percent(json: &str) -> Result<Percent, String> {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        serde_json::from_value::<Percent>(value).map_err(|e| e.to_string())
    }

    #[test]
    fn percent_accepts_integers_and_integral_floats() {
        assert_eq!(percent("0").unwrap().get(), 0);
        assert_eq!(percent("100").unwrap().get(), 100);
        assert_eq!(percent("80.0").unwrap().get(), 80);
    }

    #[test]
    fn percent_refuses_fractions_negatives_strings_and_overflow() {
        assert_eq!(
            percent("12.5").unwrap_err(),
            "must be an integer from 0 to 100, got 12.5"
        );
        assert_eq!(
            percent("-5").unwrap_err(),
            "must be an integer from 0 to 100, got -5"
        );
        assert_eq!(
            percent("101").unwrap_err(),
            "must be an integer from 0 to 100, got 101"
        );
        assert_eq!(
            percent("18446744073709551616").unwrap_err(),
            "must be an integer from 0 to 100, got 18446744073709600000"
        );
        assert!(percent("\"80\"")
            .unwrap_err()
            .starts_with("invalid type: string \"80\", expected an integer percent from 0 to 100"));
    }
}
