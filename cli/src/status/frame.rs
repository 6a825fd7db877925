//! One frame: the counters of two samples set against the configuration in
//! force, per service and revision. The frame is what both output formats
//! show; its JSON form is the `-o json` output.

use std::collections::{BTreeMap, BTreeSet};

use knative_traffic::config::ServiceSpec;
use knative_traffic::guard::{metric_names, Guard};
use knative_traffic::metrics::{
    mirrored_counter, request_counter, CONFIG_ACCEPTED, CONFIG_REJECTED,
};
use knative_traffic::routing::Service;
use knative_traffic::split::{Split, BUCKETS_PER_PERCENT};
use knative_traffic::Reason;
use serde::Serialize;

use super::admin::Counters;
use super::config::Loaded;
use crate::time::format_instant;

/// The reasons as columns: the two that take the split first (the share is
/// theirs), then the ones that bypass it.
pub const REASONS: [Reason; 5] = [
    Reason::Draw,
    Reason::Sticky,
    Reason::Rule,
    Reason::TagHeader,
    Reason::TagHost,
];

/// A counter over the interval, and since Envoy started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub interval: u64,
    pub total: u64,
}

impl Count {
    fn add(self, other: Count) -> Count {
        Count {
            interval: self.interval.saturating_add(other.interval),
            total: self.total.saturating_add(other.total),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame {
    /// The admin endpoint.
    pub admin: String,
    /// Envoy's version, when `/server_info` names it.
    pub envoy: Option<String>,
    /// When the second sample was taken (RFC 3339, UTC).
    pub time: String,
    #[serde(skip)]
    pub time_ms: u64,
    /// Seconds between the two samples.
    pub interval_seconds: f64,
    /// Configuration loads; each Wasm VM counts its own.
    pub config: Loads,
    pub filters: Vec<FilterStatus>,
    pub services: Vec<ServiceStatus>,
    /// What the operator should know that the numbers do not say.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Loads {
    pub accepted: Count,
    pub rejected: Count,
}

/// One configuration in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterStatus {
    /// Where: `listener ingress (root id knative-traffic)`, `ECDS …`.
    pub instances: Vec<String>,
    pub services: usize,
    /// Whether the filter counts requests (`"metrics": false` turns it off).
    pub metrics: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    pub namespace: String,
    pub name: String,
    pub metrics: bool,
    /// Every routed request of the service; `None` when it is not counted.
    pub requests: Option<Count>,
    pub revisions: Vec<RevisionStatus>,
    /// Tag hosts of tags the service does not have, answered 404.
    pub not_found: Option<Count>,
    pub mirror: Option<MirrorStatus>,
    pub rollout: Option<RolloutStatus>,
    pub guard: Option<GuardStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionStatus {
    pub revision: String,
    /// For every reason; `None` when not counted.
    pub requests: Option<Count>,
    /// Percent of the service's requests that took the split (`draw` and
    /// `sticky`) in the interval; `None` when none did.
    pub share: Option<f64>,
    /// Percent the split in force gives the revision.
    pub configured: f64,
    /// Each reason that can bring a request here (a revision without a tag
    /// is never reached by one), by its name.
    pub reasons: BTreeMap<&'static str, Count>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MirrorStatus {
    pub revision: String,
    pub copies: Count,
    /// The requests that could be copied: those not served by the mirror's
    /// own revision, tagged ones only with `includeTagged`.
    pub eligible: Count,
    /// Percent of the eligible requests copied in the interval.
    pub share: Option<f64>,
    pub configured: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    pub from: String,
    pub to: String,
    /// The latest-following share that moves.
    pub share: u32,
    /// The move in force: `None` before the start, 0 for the first 1%.
    pub step: Option<u32>,
    pub steps: u32,
    /// The new revision's percent now.
    pub percent: u32,
    /// When the next move comes (RFC 3339), if one is left.
    pub next: Option<String>,
}

/// A guard's counts: its candidate's split answers and the rest's, and its
/// gauge. They are counted whatever `metrics` says: they are how the
/// proxy's workers add up what the guard judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardStatus {
    /// The candidate.
    pub revision: String,
    pub candidate: Answers,
    /// The other revisions' split answers.
    pub rest: Answers,
    /// The gauge: the split is the guard's fallback while it is true;
    /// `None` when `/stats` does not have it.
    pub tripped: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answers {
    pub answers: Count,
    /// 5xx, and with `latencyMs` the answers slower than it.
    pub failures: Count,
}

/// What a frame is made of besides the configurations.
pub struct Sampled<'a> {
    pub admin: String,
    pub envoy: Option<String>,
    pub before: &'a Counters,
    pub after: &'a Counters,
    pub interval_seconds: f64,
    /// The second sample's instant, Unix ms: it picks a timed rollout's step.
    pub now_ms: u64,
}

pub fn build(sampled: &Sampled, configurations: &[Loaded]) -> Frame {
    let count = |name: &str| counted(sampled, name);
    let mut notes = Vec::new();
    // A guard's counters are the filter's too, but not requests: they say
    // nothing of whether the request counters reach /stats.
    let guard_counters: BTreeSet<String> = configurations
        .iter()
        .flat_map(|l| l.table.services().iter().filter_map(guard_counter_names))
        .flatten()
        .collect();
    let mut services = Vec::new();
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for loaded in configurations {
        let metrics = loaded.metrics();
        let names: BTreeSet<String> = loaded.table.metrics().map(|(_, name)| name).collect();
        let first_instance = loaded.instances.first().cloned().unwrap_or_default();
        for service in loaded.table.services() {
            let key = (service.namespace.to_string(), service.name.to_string());
            if let Some(where_shown) = seen.get(&key) {
                notes.push(format!(
                    "{}/{} is also in the configuration of {first_instance}, which differs: shown as configured at {where_shown}",
                    key.0, key.1
                ));
                continue;
            }
            seen.insert(key, first_instance.clone());
            let spec = loaded
                .document
                .services
                .iter()
                .find(|s| *s.name == *service.name && *s.namespace == *service.namespace);
            let status = service_status(service, spec, metrics, &names, sampled);
            if status.guard.as_ref().is_some_and(|g| g.tripped.is_none()) {
                notes.push(format!(
                    "{}/{}: the guard's tripped gauge is not in /stats (a stats matcher leaves it out): whether it has tripped is unknown, and the configured shares are the split's",
                    status.namespace, status.name
                ));
            }
            services.push(status);
        }
    }
    let counting = configurations.iter().any(Loaded::metrics);
    if counting
        && !sampled
            .after
            .0
            .keys()
            .any(|k| k.starts_with("knative_traffic.") && !guard_counters.contains(k))
    {
        notes.push("Envoy's /stats has none of the filter's counters, not even config.accepted: a stats matcher leaves them out (on Istio, add wasmcustom.knative_traffic to proxyStatsMatcher.inclusionPrefixes)".to_owned());
    }
    for loaded in configurations.iter().filter(|l| !l.metrics()) {
        notes.push(format!(
            "the configuration of {} turns the filter's counters off (\"metrics\": false): its requests are not counted",
            loaded.instances.join(", ")
        ));
    }
    Frame {
        admin: sampled.admin.clone(),
        envoy: sampled.envoy.clone(),
        time: format_instant(sampled.now_ms),
        time_ms: sampled.now_ms,
        // Milliseconds: finer is the command's own timing, not Envoy's.
        interval_seconds: (sampled.interval_seconds * 1000.0).round() / 1000.0,
        config: Loads {
            accepted: count(CONFIG_ACCEPTED),
            rejected: count(CONFIG_REJECTED),
        },
        filters: configurations
            .iter()
            .map(|l| FilterStatus {
                instances: l.instances.clone(),
                services: l.table.services().len(),
                metrics: l.metrics(),
            })
            .collect(),
        services,
        notes,
    }
}

/// A counter's value in the second sample, and its growth since the first
/// (0 for a counter defined in between). Absent means 0: the filter
/// defines its counters when a configuration loads, before any request.
fn counted(sampled: &Sampled, name: &str) -> Count {
    let total = sampled.after.get(name).unwrap_or(0);
    let before = sampled.before.get(name).unwrap_or(0);
    Count {
        interval: total.saturating_sub(before),
        total,
    }
}

/// A guard's counter and gauge names, from its service and candidate.
fn guard_counter_names(service: &Service) -> Option<[String; 5]> {
    let guard = service.guard.as_ref()?;
    let candidate = service.destinations.get(guard.candidate.index())?;
    Some(metric_names(
        &service.namespace,
        &service.name,
        &candidate.revision,
    ))
}

fn guard_status(service: &Service, guard: &Guard, sampled: &Sampled) -> Option<GuardStatus> {
    let [answers, failures, base_answers, base_failures, tripped] = guard_counter_names(service)?;
    let count = |name: &str| counted(sampled, name);
    Some(GuardStatus {
        revision: crate::guard_view::candidate(service, guard).to_owned(),
        candidate: Answers {
            answers: count(&answers),
            failures: count(&failures),
        },
        rest: Answers {
            answers: count(&base_answers),
            failures: count(&base_failures),
        },
        tripped: sampled.after.get(&tripped).map(|value| value != 0),
    })
}

fn service_status(
    service: &Service,
    spec: Option<&ServiceSpec>,
    metrics: bool,
    names: &BTreeSet<String>,
    sampled: &Sampled,
) -> ServiceStatus {
    let count = &|name: &str| counted(sampled, name);
    let (namespace, name) = (&*service.namespace, &*service.name);
    let guard = service
        .guard
        .as_ref()
        .and_then(|g| Some((g, guard_status(service, g, sampled)?)));
    let (mut split, rollout) = split_in_force(service, sampled.now_ms);
    // A tripped guard's fallback is the split, a timed rollout's step or not.
    if let Some((g, _)) = guard.as_ref().filter(|(_, s)| s.tripped == Some(true)) {
        split = &g.fallback;
    }
    let configured = |d: usize| -> f64 {
        split
            .shares()
            .into_iter()
            .find(|(id, _)| id.index() == d)
            .map_or(0.0, |(_, buckets)| {
                f64::from(buckets) / f64::from(BUCKETS_PER_PERCENT)
            })
    };
    let mut revisions: Vec<RevisionStatus> = service
        .destinations
        .iter()
        .enumerate()
        .map(|(d, destination)| {
            let reasons: BTreeMap<&'static str, Count> = REASONS
                .iter()
                .filter_map(|reason| {
                    let counter =
                        request_counter(namespace, name, Some(&destination.revision), *reason);
                    names
                        .contains(&counter)
                        .then(|| (reason.as_str(), count(&counter)))
                })
                .collect();
            RevisionStatus {
                revision: destination.revision.to_string(),
                requests: metrics
                    .then(|| reasons.values().fold(Count::default(), |a, c| a.add(*c))),
                share: None,
                configured: configured(d),
                reasons,
            }
        })
        .collect();
    let took_split = |r: &RevisionStatus| {
        [Reason::Draw, Reason::Sticky]
            .iter()
            .filter_map(|reason| r.reasons.get(reason.as_str()))
            .fold(Count::default(), |a, c| a.add(*c))
    };
    let split_requests: u64 = revisions.iter().map(|r| took_split(r).interval).sum();
    if split_requests > 0 {
        for revision in &mut revisions {
            revision.share = Some(percent(took_split(revision).interval, split_requests));
        }
    }
    let not_found = Some(request_counter(namespace, name, None, Reason::NotFound))
        .filter(|counter| names.contains(counter))
        .map(|counter| count(&counter));
    let mirror = mirror_status(service, spec, metrics, names, count, &revisions);
    let requests = metrics.then(|| {
        revisions
            .iter()
            .filter_map(|r| r.requests)
            .fold(Count::default(), Count::add)
    });
    ServiceStatus {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        metrics,
        requests,
        revisions,
        not_found,
        mirror,
        rollout,
        guard: guard.map(|(_, status)| status),
    }
}

/// The split of the service's main route now: its percents, or a timed
/// rollout's step, and that rollout's state.
fn split_in_force(service: &Service, now_ms: u64) -> (&Split, Option<RolloutStatus>) {
    let Some((rollout, schedule)) = service.rollout().and_then(|r| Some((r, r.route()?))) else {
        return (&service.split, None);
    };
    let revision = |d: knative_traffic::ids::DestinationId| {
        service
            .destinations
            .get(d.index())
            .map_or_else(|| "?".to_owned(), |d| d.revision.to_string())
    };
    let step = schedule.step_at(now_ms);
    let percent = step
        .and_then(|k| schedule.step_shares(k))
        .and_then(|shares| shares.into_iter().find(|(d, _)| *d == rollout.to()))
        .map_or(0, |(_, p)| p);
    let next = match step {
        None => Some(schedule.start_ms()),
        Some(k) => schedule.step_start_ms(k.saturating_add(1)),
    };
    let status = RolloutStatus {
        from: revision(rollout.from()),
        to: revision(rollout.to()),
        share: schedule.share(),
        step,
        steps: schedule.steps(),
        percent,
        next: next.map(format_instant),
    };
    (
        schedule.split_at(now_ms).unwrap_or(&service.split),
        Some(status),
    )
}

fn mirror_status(
    service: &Service,
    spec: Option<&ServiceSpec>,
    metrics: bool,
    names: &BTreeSet<String>,
    count: &impl Fn(&str) -> Count,
    revisions: &[RevisionStatus],
) -> Option<MirrorStatus> {
    let candidate = service.mirror_destination()?;
    let mirror = spec?.mirror.as_ref()?;
    let counter = mirrored_counter(&service.namespace, &service.name, &candidate.revision);
    let copies = if metrics && names.contains(&counter) {
        count(&counter)
    } else {
        Count::default()
    };
    let include_tagged = mirror.include_tagged == Some(true);
    let eligible = revisions
        .iter()
        .filter(|r| *r.revision != *candidate.revision)
        .flat_map(|r| {
            r.reasons.iter().filter_map(move |(reason, count)| {
                let tagged =
                    *reason == Reason::TagHost.as_str() || *reason == Reason::TagHeader.as_str();
                (include_tagged || !tagged).then_some(*count)
            })
        })
        .fold(Count::default(), Count::add);
    Some(MirrorStatus {
        revision: candidate.revision.to_string(),
        copies,
        eligible,
        share: (eligible.interval > 0).then(|| percent(copies.interval, eligible.interval)),
        configured: mirror.percent,
    })
}

fn percent(part: u64, whole: u64) -> f64 {
    // Rounded to a hundredth: more digits than that are noise.
    (part as f64 * 10_000.0 / whole as f64).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::admin::{parse_stats, wasm_filters};
    use crate::status::config::load;
    use crate::status::tests::data;

    fn frame(version: &str, now_ms: u64) -> Frame {
        let before = parse_stats(&data(&format!("{version}-stats-a.json"))).unwrap();
        let after = parse_stats(&data(&format!("{version}-stats-b.json"))).unwrap();
        let loaded =
            load(&wasm_filters(&data(&format!("{version}-config_dump.json"))).unwrap()).unwrap();
        build(
            &Sampled {
                admin: "http://127.0.0.1:9901".into(),
                envoy: Some(version.into()),
                before: &before,
                after: &after,
                interval_seconds: 2.0,
                now_ms,
            },
            &loaded,
        )
    }

    fn count(interval: u64, total: u64) -> Count {
        Count { interval, total }
    }

    /// The captures: 10 requests to traffic-example, then the first
    /// sample; then 50 more, 5 to tag v3's host, 4 with the tag header v2,
    /// 3 to the host of a tag it does not have, and to web 20 plain, 6
    /// with a stickiness cookie, 2 matching its rule and 3 to its canary
    /// tag's host; then the second sample.
    #[test]
    fn the_captured_samples_per_revision_and_reason() {
        for version in ["1.36.4", "1.40.0"] {
            let frame = frame(version, 0);
            let v = version;
            assert_eq!(frame.config.accepted, count(0, 4), "{v}");
            assert_eq!(frame.config.rejected, count(0, 0), "{v}");
            assert_eq!(frame.notes, Vec::<String>::new(), "{v}");
            let example = &frame.services[0];
            assert_eq!(
                (example.namespace.as_str(), example.name.as_str()),
                ("default", "traffic-example")
            );
            assert_eq!(example.requests, Some(count(59, 69)), "{v}");
            assert_eq!(example.not_found, Some(count(3, 3)), "{v}");
            let [v1, v2, v3] = &example.revisions[..] else {
                panic!("{v}: {:?}", example.revisions)
            };
            assert_eq!(
                v1.reasons.keys().copied().collect::<Vec<_>>(),
                ["draw", "tag-header", "tag-host"]
            );
            assert_eq!(v2.reasons["tag-header"], count(4, 4), "{v}");
            assert_eq!(
                v3.reasons.keys().copied().collect::<Vec<_>>(),
                ["tag-header", "tag-host"]
            );
            assert_eq!(v3.reasons["tag-host"], count(5, 5), "{v}");
            assert_eq!(
                v1.reasons["draw"].interval + v2.reasons["draw"].interval,
                50,
                "{v}"
            );
            assert_eq!(
                (v1.configured, v2.configured, v3.configured),
                (80.0, 20.0, 0.0)
            );
            let share = v1.share.unwrap() + v2.share.unwrap();
            assert!((share - 100.0).abs() < 0.011, "{v}: {share}");
            assert_eq!(v3.share, Some(0.0));
            let mirror = example.mirror.as_ref().unwrap();
            assert_eq!(mirror.revision, "traffic-example-v3");
            assert_eq!(mirror.configured, 10.0);
            // Draws of 50 and tag-header requests of 4 are not copied to
            // v3 (tagged), nor are v3's own.
            assert_eq!(mirror.eligible.interval, 50, "{v}");
            assert!(mirror.copies.interval <= 50);

            let web = &frame.services[1];
            assert_eq!(web.requests.unwrap().interval, 31, "{v}");
            let sticky: u64 = web
                .revisions
                .iter()
                .filter_map(|r| r.reasons.get("sticky"))
                .map(|c| c.interval)
                .sum();
            assert_eq!(sticky, 6, "{v}");
            let rule: u64 = web
                .revisions
                .iter()
                .filter_map(|r| r.reasons.get("rule"))
                .map(|c| c.interval)
                .sum();
            assert_eq!(rule, 2, "{v}");
            assert!(web.mirror.is_none());
        }
    }

    /// web's latest-following 40% rolls from web-2 to web-3 in 4 steps
    /// over 10 minutes: the configured split follows the clock.
    #[test]
    fn a_timed_rollout_s_configured_share_is_the_one_in_force() {
        let loaded = load(&wasm_filters(&data("1.40.0-config_dump.json")).unwrap()).unwrap();
        let spec = &loaded[0].document.services[1];
        let start =
            knative_traffic::time::parse_instant(&spec.rollout.as_ref().unwrap().start).unwrap();
        let web = |now_ms| frame("1.40.0", now_ms).services.remove(1);
        let configured = |s: &ServiceStatus| -> Vec<(String, f64)> {
            s.revisions
                .iter()
                .map(|r| (r.revision.clone(), r.configured))
                .collect()
        };
        let before = web(start - 1);
        assert_eq!(
            configured(&before),
            [
                ("web-1".into(), 60.0),
                ("web-3".into(), 0.0),
                ("web-2".into(), 40.0)
            ]
        );
        let rollout = before.rollout.unwrap();
        assert_eq!((rollout.step, rollout.percent), (None, 0));
        assert_eq!(rollout.next, Some(format_instant(start)));
        let midway = web(start + 5 * 60_000);
        assert_eq!(
            configured(&midway),
            [
                ("web-1".into(), 60.0),
                ("web-3".into(), 21.0),
                ("web-2".into(), 19.0)
            ]
        );
        let rollout = midway.rollout.unwrap();
        assert_eq!(
            (rollout.from.as_str(), rollout.to.as_str(), rollout.share),
            ("web-2", "web-3", 40)
        );
        assert_eq!(
            (rollout.step, rollout.steps, rollout.percent),
            (Some(2), 4, 21)
        );
        assert_eq!(rollout.next, Some(format_instant(start + 450_000)));
        let done = web(start + 600_000);
        assert_eq!(done.rollout.as_ref().unwrap().next, None);
        assert_eq!(done.revisions[1].configured, 40.0);
        assert_eq!(done.revisions[2].configured, 0.0);
    }

    #[test]
    fn counters_off() {
        let after = parse_stats(&data("1.40.0-no-metrics-stats.json")).unwrap();
        let loaded =
            load(&wasm_filters(&data("1.40.0-no-metrics-config_dump.json")).unwrap()).unwrap();
        let frame = build(
            &Sampled {
                admin: "http://127.0.0.1:9901".into(),
                envoy: None,
                before: &after,
                after: &after,
                interval_seconds: 2.0,
                now_ms: 0,
            },
            &loaded,
        );
        assert_eq!(frame.config.accepted, count(0, 4));
        assert!(!frame.filters[0].metrics);
        let example = &frame.services[0];
        assert!(!example.metrics);
        assert_eq!(example.requests, None);
        assert_eq!(example.not_found, None);
        assert!(example.revisions.iter().all(|r| r.reasons.is_empty()));
        assert_eq!(example.revisions[0].configured, 80.0);
        assert_eq!(
            frame.notes,
            ["the configuration of listener ingress (root id knative-traffic) turns the filter's counters off (\"metrics\": false): its requests are not counted"]
        );
    }

    fn guard_frame(after: &Counters, now_ms: u64) -> Frame {
        let before = parse_stats(&data("guard-stats-a.json")).unwrap();
        let loaded = load(&wasm_filters(&data("guard-config_dump.json")).unwrap()).unwrap();
        build(
            &Sampled {
                admin: "http://127.0.0.1:9901".into(),
                envoy: None,
                before: &before,
                after,
                interval_seconds: 2.0,
                now_ms,
            },
            &loaded,
        )
    }

    fn configured(s: &ServiceStatus) -> Vec<(&str, f64)> {
        s.revisions
            .iter()
            .map(|r| (r.revision.as_str(), r.configured))
            .collect()
    }

    /// traffic-example's guard tripped between the samples: its counts
    /// are the interval's, and the configured split is the fallback; web's
    /// has not, and its rollout's step is in force.
    #[test]
    fn guards_counts_and_a_tripped_ones_fallback() {
        let after = parse_stats(&data("guard-stats-b.json")).unwrap();
        let start = knative_traffic::time::parse_instant("2026-12-02T04:52:25Z").unwrap();
        let frame = guard_frame(&after, start + 5 * 60_000);
        assert_eq!(frame.notes, Vec::<String>::new());
        let [example, web] = &frame.services[..] else {
            panic!("{:?}", frame.services)
        };
        assert_eq!(
            example.guard,
            Some(GuardStatus {
                revision: "traffic-example-v2".into(),
                candidate: Answers {
                    answers: count(30, 180),
                    failures: count(15, 75),
                },
                rest: Answers {
                    answers: count(140, 740),
                    failures: count(1, 4),
                },
                tripped: Some(true),
            })
        );
        assert_eq!(
            configured(example),
            [("traffic-example-v1", 100.0), ("traffic-example-v2", 0.0)]
        );
        // The guard's counters are not requests: the requests are the
        // draws alone.
        assert_eq!(example.requests, Some(count(170, 920)));
        let guard = web.guard.as_ref().unwrap();
        assert_eq!(guard.revision, "web-3");
        assert_eq!(guard.candidate.answers, count(12, 52));
        assert_eq!(guard.candidate.failures, count(1, 1));
        assert_eq!(guard.rest.answers, count(108, 568));
        assert_eq!(guard.tripped, Some(false));
        assert_eq!(
            configured(web),
            [("web-1", 60.0), ("web-3", 21.0), ("web-2", 19.0)]
        );
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(
            json["services"][0]["guard"],
            serde_json::json!({
                "revision": "traffic-example-v2",
                "candidate": {"answers": {"interval": 30, "total": 180}, "failures": {"interval": 15, "total": 75}},
                "rest": {"answers": {"interval": 140, "total": 740}, "failures": {"interval": 1, "total": 4}},
                "tripped": true
            })
        );
    }

    /// Stats that hold only the guards' counters (a stats matcher that
    /// lets `knative_traffic.guard` through) still lack every request
    /// counter, and say so; stats without a gauge leave `tripped` unknown.
    #[test]
    fn guard_counters_are_not_request_counters() {
        let after = parse_stats(&data("guard-stats-b.json")).unwrap();
        let only_guards = Counters(
            after
                .0
                .iter()
                .filter(|(k, _)| k.starts_with("knative_traffic.guard."))
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        );
        let frame = guard_frame(&only_guards, 0);
        assert_eq!(frame.notes.len(), 1, "{:?}", frame.notes);
        assert!(
            frame.notes[0].contains("stats matcher"),
            "{:?}",
            frame.notes
        );
        assert_eq!(
            frame.services[0].guard.as_ref().unwrap().tripped,
            Some(true)
        );

        let no_gauges = Counters(
            after
                .0
                .iter()
                .filter(|(k, _)| !k.ends_with(".tripped"))
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        );
        let frame = guard_frame(&no_gauges, 0);
        assert_eq!(frame.services[0].guard.as_ref().unwrap().tripped, None);
        assert_eq!(frame.services[0].revisions[0].configured, 80.0);
        assert_eq!(
            frame.notes,
            [
                "default/traffic-example: the guard's tripped gauge is not in /stats (a stats matcher leaves it out): whether it has tripped is unknown, and the configured shares are the split's",
                "shop/web: the guard's tripped gauge is not in /stats (a stats matcher leaves it out): whether it has tripped is unknown, and the configured shares are the split's"
            ]
        );
    }

    #[test]
    fn counters_left_out_of_the_stats() {
        let loaded = load(&wasm_filters(&data("1.36.4-config_dump.json")).unwrap()).unwrap();
        let none = Counters::default();
        let frame = build(
            &Sampled {
                admin: "http://127.0.0.1:9901".into(),
                envoy: None,
                before: &none,
                after: &none,
                interval_seconds: 2.0,
                now_ms: 0,
            },
            &loaded,
        );
        assert_eq!(frame.notes.len(), 1);
        assert!(
            frame.notes[0].contains("stats matcher"),
            "{:?}",
            frame.notes
        );
    }
}
