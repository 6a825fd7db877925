//! `describe FILE [SERVICE]`: what a configuration sets up for each service,
//! as `kn service describe` shows a Knative Service: its hosts, its traffic,
//! its tags, rules, stickiness, mirror, timed rollout and guard.
//!
//! The hosts are the filter's own list ([`served_hosts`], from the claims
//! its host table is built from), where tags and rollouts go is read off the
//! compiled table, and every number of a rollout off the core's schedule,
//! worded as `simulate` words it ([`rollout_view`]); a guard's policy and
//! fallback are the compiled guard's ([`guard_view`]).

use std::io::{self, Write};
use std::path::PathBuf;

use knative_traffic::compile::{served_hosts, HostZone};
use knative_traffic::config::{Document, ServiceSpec, TrafficTarget, Visibility};
use knative_traffic::ids::DestinationId;
use knative_traffic::rollout::{Rollout, Schedule, Timing};
use knative_traffic::routing::Service;
use serde::Serialize;

use crate::guard_view;
use crate::rollout_view::{self, Phase};
use crate::time::{format_instant, now_ms};
use crate::{input, EXIT_FAILURE, EXIT_OK};

/// Show what a configuration sets up for each service.
///
/// Per service: its hosts (external, cluster-local, each tag's, custom
/// domains), its visibility, its traffic targets with their percents, where
/// each tag goes, its rules in order, its stickiness, its mirror, its timed
/// rollout as a timeline of every move, the one in force at the instant
/// (--at, default now) marked, and its guard: the revision it judges, its
/// policy and the split a trip leaves. With -o json, the same as one JSON
/// document, for scripts.
#[derive(clap::Args)]
pub struct Args {
    /// The filter's configuration; `-` reads standard input
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// One service, by NAME or NAMESPACE/NAME (default: every service)
    #[arg(value_name = "SERVICE")]
    service: Option<String>,
    /// The output format
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    output: Format,
    /// The instant a timed rollout is shown at, an RFC 3339 instant such as
    /// 2026-11-25T16:05:00Z (default: now)
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_at)]
    at: Option<u64>,
    /// Draw the percent bars with `#` (and `+` for a half column) instead of
    /// Unicode blocks
    #[arg(long)]
    ascii: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: &Args, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    let (input, document, table) = match input::read_document(&args.file) {
        Ok(loaded) => loaded,
        Err(errors) => {
            for error in errors {
                writeln!(err, "{error}")?;
            }
            return Ok(EXIT_FAILURE);
        }
    };
    let specs = match select(&document, args.service.as_deref()) {
        Ok(specs) => specs,
        Err(message) => {
            writeln!(err, "{}: {message}", input.name)?;
            return Ok(EXIT_FAILURE);
        }
    };
    let now = args.at.unwrap_or_else(now_ms);
    let services = specs
        .into_iter()
        .filter_map(|spec| {
            let service = table
                .services()
                .iter()
                .find(|s| *s.name == *spec.name && *s.namespace == *spec.namespace)?;
            Some(view(&document, spec, service, now))
        })
        .collect();
    let view = View {
        at: format_instant(now),
        services,
    };
    match args.output {
        Format::Json => {
            let text = serde_json::to_string_pretty(&view).map_err(io::Error::other)?;
            writeln!(out, "{text}")?;
        }
        Format::Text => {
            for (i, service) in view.services.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                write_service(out, service, &view.at, args.ascii)?;
            }
        }
    }
    Ok(EXIT_OK)
}

/// The services `wanted` names (`name` or `namespace/name`), or all of
/// them; an unknown or ambiguous name is refused with the known ones.
fn select<'d>(
    document: &'d Document,
    wanted: Option<&str>,
) -> Result<Vec<&'d ServiceSpec>, String> {
    let Some(wanted) = wanted else {
        return Ok(document.services.iter().collect());
    };
    let known = || {
        document
            .services
            .iter()
            .map(|s| format!("{}/{}", s.namespace, s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let found: Vec<&ServiceSpec> = document
        .services
        .iter()
        .filter(|s| match wanted.split_once('/') {
            Some((namespace, name)) => s.namespace == namespace && s.name == name,
            None => s.name == wanted,
        })
        .collect();
    match found.len() {
        0 => Err(format!(
            "no service {wanted:?}; the services are {}",
            known()
        )),
        1 => Ok(found),
        _ => Err(format!(
            "{wanted:?} names a service in more than one namespace ({}): give NAMESPACE/NAME",
            found
                .iter()
                .map(|s| format!("{}/{}", s.namespace, s.name))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

// ------------------------------------------------------------ the view
// One model for both outputs, so the text and the JSON say the same.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct View {
    at: String,
    services: Vec<ServiceView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceView {
    namespace: String,
    name: String,
    visibility: &'static str,
    latest_ready_revision_name: Option<String>,
    hosts: Vec<HostView>,
    traffic: Vec<TargetView>,
    tags: Vec<TagView>,
    rules: Vec<RuleView>,
    sticky: Option<StickyView>,
    mirror: Option<MirrorView>,
    rollout: Option<RolloutView>,
    guard: Option<GuardView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HostView {
    host: String,
    /// `external`, `cluster-local` or `custom-domain`.
    zone: &'static str,
    tag: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetView {
    percent: u8,
    revision_name: Option<String>,
    latest_revision: bool,
    tag: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TagView {
    tag: String,
    percent: u8,
    visibility: &'static str,
    /// The revision the tag names (the latest ready one for a tag that
    /// follows it).
    revision_name: String,
    /// Where its requests go at the instant: the revision, or during a
    /// rollout the previous and the new one.
    split: Vec<ShareView>,
    rolling: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleView {
    /// `header` or `cookie`.
    source: &'static str,
    name: String,
    /// `exact`, `prefix` or `present`.
    test: &'static str,
    value: Option<String>,
    tag: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StickyView {
    /// `cookie` or `header`.
    source: &'static str,
    name: String,
    set_cookie: bool,
    max_age: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MirrorView {
    revision_name: String,
    tag: Option<String>,
    percent: f64,
    include_tagged: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GuardView {
    /// The revision judged.
    revision_name: String,
    /// The tag it is named by, as configured.
    tag: Option<String>,
    min_answers: u64,
    /// As configured, or the default.
    window: String,
    window_seconds: u64,
    /// Percentage points.
    tolerance: f64,
    compare: bool,
    latency_ms: Option<u64>,
    resumed_at: Option<String>,
    /// `judges …`, as `simulate` says it.
    judges: String,
    /// The split once tripped.
    fallback: Vec<FallbackShareView>,
    /// `a trip leaves …`, as `simulate` says it.
    trip_leaves: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FallbackShareView {
    revision_name: String,
    /// To the hundredth: a share given back in proportion need not be whole.
    percent: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RolloutView {
    from_revision_name: String,
    to_revision_name: String,
    start: String,
    /// As configured (`10m`).
    duration: String,
    duration_seconds: u64,
    timing: TimingView,
    groups: Vec<GroupView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
enum TimingView {
    /// Knative's: steps of the minimum step or longer.
    Knative {
        #[serde(rename = "minStepSeconds")]
        min_step_seconds: u64,
    },
    /// `steps` equal moves, the last at the end.
    Steps { steps: u32 },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupView {
    /// The tags whose hosts roll by this schedule (each its own 100%);
    /// empty for the main route.
    tags: Vec<String>,
    share: u32,
    step_size: u32,
    steps: u32,
    start: String,
    end: String,
    /// `timed rollout of … from … to …: 1% at …, then …`, as `simulate`
    /// prints it.
    heading: String,
    before: Vec<ShareView>,
    moves: Vec<MoveView>,
    /// `not-started`, `rolling` or `complete`.
    phase: &'static str,
    /// The move in force (0 for the first 1%), none before the start.
    step: Option<u32>,
    /// The next move's instant, none once complete.
    next: Option<String>,
    /// The split in force.
    split: Vec<ShareView>,
    /// Where the schedule stands, as `simulate` says it.
    state: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MoveView {
    step: u32,
    label: String,
    at: String,
    split: Vec<ShareView>,
    in_force: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShareView {
    revision_name: String,
    percent: u32,
}

fn view(document: &Document, spec: &ServiceSpec, service: &Service, now: u64) -> ServiceView {
    let visibility = |v: Option<Visibility>| match v {
        Some(Visibility::ClusterLocal) => "cluster-local",
        _ => "public",
    };
    let hosts = served_hosts(document, spec)
        .into_iter()
        .map(|h| HostView {
            host: h.host,
            zone: match h.zone {
                HostZone::External => "external",
                HostZone::ClusterLocal => "cluster-local",
                HostZone::CustomDomain => "custom-domain",
            },
            tag: h.tag,
        })
        .collect();
    let latest = spec.latest_ready_revision_name.clone();
    // Knative's default when no traffic is given; an empty tag is no tag,
    // and latestRevision defaults to true without a revisionName, as the
    // filter reads them.
    let default_traffic = [TrafficTarget {
        latest_revision: Some(true),
        percent: knative_traffic::config::Percent::HUNDRED,
        ..TrafficTarget::default()
    }];
    let targets = if spec.traffic.is_empty() {
        &default_traffic[..]
    } else {
        &spec.traffic[..]
    };
    let tag_of = |t: &TrafficTarget| t.tag.clone().filter(|t| !t.is_empty());
    let traffic = targets
        .iter()
        .map(|t| {
            let latest_revision = t.latest_revision.unwrap_or(t.revision_name.is_none());
            TargetView {
                percent: t.percent.map_or(0, |p| p.get()),
                revision_name: if latest_revision {
                    latest.clone()
                } else {
                    t.revision_name.clone()
                },
                latest_revision,
                tag: tag_of(t),
            }
        })
        .collect();
    let tag_schedules: Vec<(&str, &Schedule)> = service.tag_rollouts().collect();
    let mut tags: Vec<TagView> = Vec::new();
    for target in targets {
        let Some(tag) = tag_of(target) else { continue };
        if tags.iter().any(|t| t.tag == tag) {
            continue;
        }
        let Some((_, destination)) = service.tags().find(|(name, _)| **name == *tag) else {
            continue;
        };
        let schedule = tag_schedules
            .iter()
            .find(|(name, _)| *name == tag)
            .map(|(_, s)| *s);
        let split = match schedule {
            Some(schedule) => share_views(service, shares_in_force(schedule, now)),
            None => vec![ShareView {
                revision_name: destination.revision.to_string(),
                percent: 100,
            }],
        };
        tags.push(TagView {
            percent: target.percent.map_or(0, |p| p.get()),
            // The lesser of its own and its service's, as the filter reads it.
            visibility: match (target.visibility, spec.visibility) {
                (Some(Visibility::ClusterLocal), _) | (_, Some(Visibility::ClusterLocal)) => {
                    "cluster-local"
                }
                _ => "public",
            },
            revision_name: destination.revision.to_string(),
            split,
            rolling: schedule.is_some(),
            tag,
        });
    }
    let rules = spec
        .rules
        .iter()
        .map(|r| {
            let (source, name) = match (&r.header, &r.cookie) {
                (Some(header), _) => ("header", header.clone()),
                (None, cookie) => ("cookie", cookie.clone().unwrap_or_default()),
            };
            let (test, value) = match (&r.exact, &r.prefix) {
                (Some(exact), _) => ("exact", Some(exact.clone())),
                (None, Some(prefix)) => ("prefix", Some(prefix.clone())),
                (None, None) => ("present", None),
            };
            RuleView {
                source,
                name,
                test,
                value,
                tag: r.tag.clone(),
            }
        })
        .collect();
    let sticky = spec.sticky.as_ref().map(|s| {
        let (source, name) = match (&s.cookie, &s.header) {
            (Some(cookie), _) => ("cookie", cookie.clone()),
            (None, header) => ("header", header.clone().unwrap_or_default()),
        };
        let set_cookie = s.set_cookie.unwrap_or(false);
        StickyView {
            source,
            name,
            set_cookie,
            max_age: set_cookie.then(|| {
                s.max_age
                    .unwrap_or(knative_traffic::config::DEFAULT_STICKY_MAX_AGE)
            }),
        }
    });
    let mirror = spec.mirror.as_ref().and_then(|m| {
        Some(MirrorView {
            revision_name: service.mirror_destination()?.revision.to_string(),
            tag: m.tag.clone(),
            percent: m.percent,
            include_tagged: m.include_tagged.unwrap_or(false),
        })
    });
    let rollout = service.rollout().map(|rollout| {
        let configured = spec
            .rollout
            .as_ref()
            .map(|r| r.duration.clone())
            .unwrap_or_default();
        rollout_of(rollout, service, targets, &tag_schedules, configured, now)
    });
    let guard = service.guard.as_ref().map(|guard| {
        let configured = spec.guard.as_ref();
        GuardView {
            revision_name: guard_view::candidate(service, guard).to_owned(),
            tag: configured.and_then(|g| g.tag.clone()),
            min_answers: guard.policy.min_answers,
            window: configured
                .and_then(|g| g.window.clone())
                .unwrap_or_else(|| format!("{}s", guard_view::window_seconds(guard))),
            window_seconds: guard_view::window_seconds(guard),
            tolerance: guard_view::tolerance_points(guard),
            compare: guard.policy.compare,
            latency_ms: guard.policy.latency_ms,
            resumed_at: configured.and_then(|g| g.resumed_at.clone()),
            judges: guard_view::judges(service, guard),
            fallback: guard_view::fallback_percents(service, guard)
                .into_iter()
                .map(|(revision_name, percent)| FallbackShareView {
                    revision_name,
                    percent: (percent * 100.0).round() / 100.0,
                })
                .collect(),
            trip_leaves: guard_view::trip_leaves(service, guard),
        }
    });
    ServiceView {
        namespace: spec.namespace.clone(),
        name: spec.name.clone(),
        visibility: visibility(spec.visibility),
        latest_ready_revision_name: latest,
        hosts,
        traffic,
        tags,
        rules,
        sticky,
        mirror,
        rollout,
        guard,
    }
}

/// Percents by destination, by revision name.
fn share_views(service: &Service, shares: Vec<(DestinationId, u32)>) -> Vec<ShareView> {
    shares
        .into_iter()
        .map(|(d, percent)| ShareView {
            revision_name: rollout_view::revision(service, d).to_owned(),
            percent,
        })
        .collect()
}

/// The percents of `schedule` in force at `now`.
fn shares_in_force(schedule: &Schedule, now: u64) -> Vec<(DestinationId, u32)> {
    match Phase::at(schedule, now).step(schedule) {
        None => schedule.shares_before(),
        Some(k) => schedule.step_shares(k).unwrap_or_default(),
    }
}

fn rollout_of(
    rollout: &Rollout,
    service: &Service,
    targets: &[TrafficTarget],
    tag_schedules: &[(&str, &Schedule)],
    duration: String,
    now: u64,
) -> RolloutView {
    let names = (
        rollout_view::revision(service, rollout.from()),
        rollout_view::revision(service, rollout.to()),
    );
    // The main route, then the rolling tags in `traffic` order, those with
    // the same moves in one group.
    let mut groups: Vec<(Vec<&str>, &Schedule)> = rollout
        .route()
        .map(|s| (Vec::new(), s))
        .into_iter()
        .collect();
    let mut tag_groups: Vec<(Vec<&str>, &Schedule)> = Vec::new();
    for target in targets {
        let Some(tag) = target.tag.as_deref() else {
            continue;
        };
        let Some((name, schedule)) = tag_schedules.iter().find(|(name, _)| *name == tag) else {
            continue;
        };
        match tag_groups.iter_mut().find(|(_, s)| *s == *schedule) {
            Some((tags, _)) if !tags.contains(name) => tags.push(name),
            Some(_) => {}
            None => tag_groups.push((vec![name], schedule)),
        }
    }
    groups.extend(tag_groups);
    let shares = |shares| share_views(service, shares);
    let to = rollout.to();
    let groups = groups
        .into_iter()
        .map(|(tags, schedule)| {
            let phase = Phase::at(schedule, now);
            let step = phase.step(schedule);
            let moves = (0..=schedule.steps())
                .map(|k| MoveView {
                    step: k,
                    label: rollout_view::move_label(schedule, k),
                    at: format_instant(schedule.step_start_ms(k).unwrap_or(0)),
                    split: shares(schedule.step_shares(k).unwrap_or_default()),
                    in_force: step == Some(k),
                })
                .collect();
            let subject = rollout_view::subject(schedule, &tags);
            GroupView {
                heading: rollout_view::heading(&subject, schedule, to, names),
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                share: schedule.share(),
                step_size: schedule.step_size(),
                steps: schedule.steps(),
                start: format_instant(schedule.start_ms()),
                end: format_instant(schedule.end_ms()),
                before: shares(schedule.shares_before()),
                moves,
                phase: phase.as_str(),
                step,
                next: rollout_view::next_move_ms(schedule, now).map(format_instant),
                split: shares(shares_in_force(schedule, now)),
                state: rollout_view::state(schedule, to, names, now),
            }
        })
        .collect();
    let plan = rollout.plan();
    RolloutView {
        from_revision_name: names.0.to_owned(),
        to_revision_name: names.1.to_owned(),
        start: format_instant(plan.start_ms),
        duration,
        duration_seconds: plan.duration_s,
        timing: match plan.timing {
            Timing::Knative { min_step_s } => TimingView::Knative {
                min_step_seconds: min_step_s,
            },
            Timing::Even { steps } => TimingView::Steps { steps },
        },
        groups,
    }
}

// ------------------------------------------------------------ text

/// Columns a bar takes for 100%.
const BAR_WIDTH: u32 = 20;

/// `percent` as a bar of [`BAR_WIDTH`] columns, in half columns rounded
/// to the nearest; a share that takes traffic is never drawn as nothing.
fn bar(percent: u8, ascii: bool) -> String {
    let percent = u32::from(percent);
    let halves = (percent * BAR_WIDTH * 2 + 50) / 100;
    let halves = if percent > 0 { halves.max(1) } else { 0 };
    let (full, half) = if ascii { ("#", "+") } else { ("█", "▌") };
    let mut bar = full.repeat((halves / 2) as usize);
    if halves % 2 == 1 {
        bar.push_str(half);
    }
    let drawn = halves.div_ceil(2);
    bar.push_str(&" ".repeat(BAR_WIDTH.saturating_sub(drawn) as usize));
    bar
}

/// Lines of cells, each column padded to its widest cell (the last left
/// as it is), trailing spaces trimmed.
fn columns(rows: &[Vec<String>], indent: &str) -> Vec<String> {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(cell.chars().count()),
                None => widths.push(cell.chars().count()),
            }
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = indent.to_owned();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if i + 1 < row.len() {
                    let width = widths.get(i).copied().unwrap_or(0);
                    line.push_str(&" ".repeat(width.saturating_sub(cell.chars().count())));
                }
            }
            line.trim_end().to_owned()
        })
        .collect()
}

/// A service as text; `at` is the instant a rollout is shown at.
fn write_service(out: &mut impl Write, s: &ServiceView, at: &str, ascii: bool) -> io::Result<()> {
    writeln!(out, "{}/{}", s.namespace, s.name)?;
    writeln!(out, "  visibility: {}", s.visibility)?;
    if let Some(latest) = &s.latest_ready_revision_name {
        writeln!(out, "  latest ready revision: {latest}")?;
    }

    // Hosts, one a line, grouped by tag and zone in the filter's order.
    writeln!(out, "  hosts:")?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut last: Option<(&Option<String>, &str)> = None;
    for host in &s.hosts {
        let zone = match host.zone {
            "custom-domain" => "custom domain",
            zone => zone,
        };
        let group = (&host.tag, zone);
        let label = if last == Some(group) {
            String::new()
        } else {
            match &host.tag {
                Some(tag) => format!("tag {tag}, {zone}"),
                None => zone.to_owned(),
            }
        };
        last = Some(group);
        rows.push(vec![label, host.host.clone()]);
    }
    for line in columns(&rows, "    ") {
        writeln!(out, "{line}")?;
    }

    writeln!(out, "  traffic:")?;
    let rows: Vec<Vec<String>> = s
        .traffic
        .iter()
        .map(|t| {
            let revision = t.revision_name.as_deref().unwrap_or("?");
            let revision = if t.latest_revision {
                format!("@latest ({revision})")
            } else {
                revision.to_owned()
            };
            vec![
                format!("{:>4}", format!("{}%", t.percent)),
                bar(t.percent, ascii),
                revision,
                t.tag.as_ref().map(|t| format!("#{t}")).unwrap_or_default(),
            ]
        })
        .collect();
    for line in columns(&rows, "    ") {
        writeln!(out, "{line}")?;
    }

    if !s.tags.is_empty() {
        writeln!(out, "  tags:")?;
        let rows: Vec<Vec<String>> = s
            .tags
            .iter()
            .map(|t| {
                let mut to = if t.rolling {
                    let parts: Vec<String> = t
                        .split
                        .iter()
                        .map(|p| format!("{} {}%", p.revision_name, p.percent))
                        .collect();
                    format!("{} (timed rollout)", parts.join(", "))
                } else {
                    t.revision_name.clone()
                };
                if t.visibility == "cluster-local" {
                    to.push_str(", cluster-local");
                }
                vec![
                    t.tag.clone(),
                    format!("{:>4}", format!("{}%", t.percent)),
                    to,
                ]
            })
            .collect();
        for line in columns(&rows, "    ") {
            writeln!(out, "{line}")?;
        }
    }

    if !s.rules.is_empty() {
        writeln!(out, "  rules (the first that matches wins):")?;
        for (i, r) in s.rules.iter().enumerate() {
            let test = match &r.value {
                Some(value) => format!("{} {value:?}", r.test),
                None => r.test.to_owned(),
            };
            writeln!(
                out,
                "    {}. {} {} {test}: tag {}",
                i + 1,
                r.source,
                r.name,
                r.tag
            )?;
        }
    }

    if let Some(sticky) = &s.sticky {
        let mut line = format!("  sticky: {} {}", sticky.source, sticky.name);
        if sticky.set_cookie {
            line.push_str(", setCookie");
        }
        if let Some(max_age) = sticky.max_age {
            line.push_str(&format!(", maxAge {max_age}"));
        }
        writeln!(out, "{line}")?;
    }

    if let Some(m) = &s.mirror {
        let tag = m
            .tag
            .as_ref()
            .map(|t| format!(" (tag {t})"))
            .unwrap_or_default();
        let tagged = if m.include_tagged {
            "those that reached a tag too"
        } else {
            "not those that reached a tag"
        };
        writeln!(
            out,
            "  mirror: copies {}% of the requests other revisions serve to {}{tag}, {tagged}",
            m.percent, m.revision_name
        )?;
    }

    if let Some(r) = &s.rollout {
        let timing = match r.timing {
            TimingView::Knative { min_step_seconds } => {
                format!("Knative's timing, minimum step {min_step_seconds}s")
            }
            TimingView::Steps { steps } => {
                format!("{steps} equal step{}", if steps == 1 { "" } else { "s" })
            }
        };
        writeln!(
            out,
            "  rollout: start {}, duration {}, {timing}",
            r.start, r.duration
        )?;
        for g in &r.groups {
            writeln!(out, "    {}", g.heading)?;
            let shares = |split: &[ShareView]| {
                split
                    .iter()
                    .map(|p| format!("{} {}%", p.revision_name, p.percent))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let marker = |in_force: bool| if in_force { ">" } else { " " }.to_owned();
            let mut rows = vec![vec![
                marker(g.step.is_none()),
                "before the start".to_owned(),
                String::new(),
                shares(&g.before),
            ]];
            rows.extend(g.moves.iter().map(|m| {
                vec![
                    marker(m.in_force),
                    m.at.clone(),
                    m.label.clone(),
                    shares(&m.split),
                ]
            }));
            for line in columns(&rows, "    ") {
                writeln!(out, "{line}")?;
            }
            writeln!(out, "    at {at}: {}", g.state)?;
        }
    }

    if let Some(g) = &s.guard {
        let tag = g
            .tag
            .as_ref()
            .map(|t| format!(" (tag {t})"))
            .unwrap_or_default();
        let resumed = g
            .resumed_at
            .as_ref()
            .map(|at| format!(", resumed at {at}"))
            .unwrap_or_default();
        writeln!(out, "  guard: {}{tag}{resumed}", g.revision_name)?;
        let latency = g
            .latency_ms
            .map_or_else(|| "off".to_owned(), |ms| format!("{ms} ms"));
        writeln!(
            out,
            "    policy: minAnswers {}, window {}, tolerance {} points, compare {}, latency {latency}",
            g.min_answers,
            g.window,
            g.tolerance,
            if g.compare { "on" } else { "off" }
        )?;
        writeln!(out, "    judges {}", g.judges)?;
        writeln!(out, "    a trip leaves: {}", g.trip_leaves)?;
    }
    Ok(())
}
