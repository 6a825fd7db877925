//! One service: its names, its `traffic` block (Knative's validation rules,
//! serving `pkg/apis/serving/v1/route_validation.go`), its clusters, and the
//! order in which its features are compiled.

use std::sync::Arc;

use super::defaults::Defaults;
use super::{guard, mirror, rollout, rules, sticky, Checks};
use crate::config::{Percent, ServiceSpec, TrafficTarget, Visibility};
use crate::error::ErrorKind;
use crate::hosts::Side;
use crate::ids::TagId;
use crate::names::{
    is_cluster_name, is_dns1035_label, is_dns1123_label, is_dns_name, is_revision_name, DNS1035,
    DNS1123, MAX_LABEL,
};
use crate::request::{HeaderSlot, Source, COOKIE};
use crate::routing::{Destination, Reason, Service, Tag};
use crate::slots::RouteSlots;
use crate::split::{DestinationId, Split, BUCKETS_PER_PERCENT};
use crate::tag_name::TagName;

/// Validates one service and builds its routing state. Returns `None` if it
/// has errors (all reported).
pub(super) fn compile(
    spec: &ServiceSpec,
    defaults: &Defaults,
    side: Side,
    checks: &mut Checks,
) -> Option<Service> {
    if !is_dns1035_label(&spec.name) {
        checks.fail(
            "name",
            ErrorKind::InvalidValue,
            format_args!("{:?} is not {DNS1035}", spec.name),
        );
    }
    if !is_dns1123_label(&spec.namespace) {
        checks.fail(
            "namespace",
            ErrorKind::InvalidValue,
            format_args!("{:?} is not {DNS1123}", spec.namespace),
        );
    }
    if let Some(domain) = &spec.domain {
        if !is_dns_name(domain) {
            checks.fail(
                "domain",
                ErrorKind::InvalidValue,
                format_args!("{domain:?} is not a lower-case DNS name"),
            );
        }
    }
    let latest_ready = spec
        .latest_ready_revision_name
        .as_deref()
        .filter(|r| !r.is_empty());
    if let Some(latest) = latest_ready {
        if !is_revision_name(latest) {
            checks.fail(
                "latestReadyRevisionName",
                ErrorKind::InvalidValue,
                format_args!("{latest:?} is not a revision name"),
            );
        }
    }

    let traffic = compile_traffic(spec, defaults, latest_ready, checks);
    let mut revisions = traffic.revisions;
    let rollout = spec.rollout.as_ref().and_then(|rollout| {
        rollout::compile(
            rollout,
            &traffic.targets,
            &mut revisions,
            latest_ready,
            checks,
        )
    });
    let mirror = spec
        .mirror
        .as_ref()
        .and_then(|m| mirror::compile(m, &traffic.tags, &mut revisions, checks));
    let destinations = compile_destinations(spec, defaults, &revisions.0, checks);
    let (rollout, mut tag_rollouts) = match rollout {
        Some(compiled) => (Some(compiled.rollout), compiled.tags),
        None => (None, Vec::new()),
    };
    // A target's visibility is already the lesser of its own and its
    // service's (`compile_traffic`), as the host registry has it.
    let target_public = |target: usize| {
        traffic
            .targets
            .get(target)
            .is_none_or(|t| t.visibility == Visibility::Public)
    };
    let mut tags: Vec<(Tag, usize)> = traffic
        .tags
        .iter()
        .map(|&(name, destination, target)| {
            let tag = Tag {
                name: TagName::new(name),
                destination,
                // On the public side, a cluster-local tag is reached
                // neither by its hosts (it has none there) nor by the tag
                // header or a rule.
                reachable: side.serves_cluster_local() || target_public(target),
                public: target_public(target),
            };
            (tag, target)
        })
        .collect();
    // Unstable: a service whose tags are not unique is refused, so no two
    // compare equal in one that is kept; and the stable sort's code weighs
    // 146 bytes more in the module.
    tags.sort_unstable_by(|(a, _), (b, _)| a.name.cmp_str(b.name.as_str()));
    let mut rollout = rollout;
    if let Some(rollout) = rollout.as_mut() {
        rollout.tags = tags
            .iter()
            .enumerate()
            .filter_map(|(id, (_, target))| {
                let i = tag_rollouts.iter().position(|(j, _)| j == target)?;
                Some((TagId::new(id), tag_rollouts.swap_remove(i).1))
            })
            .collect();
    }
    let tags: Vec<Tag> = tags.into_iter().map(|(tag, _)| tag).collect();
    let mut header_names = HeaderSlots::default();
    let rules = rules::compile(&spec.rules, &tags, &mut header_names, checks);
    let sticky = spec
        .sticky
        .as_ref()
        .and_then(|s| sticky::compile(s, spec, &mut header_names, checks));
    let split = Split::new(
        traffic
            .targets
            .iter()
            .map(|t| (t.destination, t.percent * BUCKETS_PER_PERCENT)),
    )
    .ok();
    let guard = spec.guard.as_ref().and_then(|g| {
        let parts = guard::Parts {
            revisions: &revisions,
            tags: &traffic.tags,
            split: split.as_ref(),
            rollout: rollout.as_ref(),
        };
        guard::compile(g, &parts, checks).map(Box::new)
    });
    if !checks.ok() {
        return None;
    }
    let route_values = match defaults.route_response_header {
        Some(_) => destinations
            .iter()
            .map(|d| {
                Reason::ROUTED.map(|reason| -> Arc<str> {
                    format!("revision={}; reason={}", d.revision, reason.as_str()).into()
                })
            })
            .collect(),
        None => Box::default(),
    };
    Some(Service {
        route_values,
        name: spec.name.as_str().into(),
        namespace: spec.namespace.as_str().into(),
        metric_slots: RouteSlots::None,
        not_found_slot: None,
        destinations: destinations.into(),
        tags: tags.into(),
        split: split?,
        rollout: rollout.map(Box::new),
        visibility: spec.visibility.unwrap_or(Visibility::Public),
        rules: rules.into(),
        sticky: sticky.map(Box::new),
        header_names: header_names.0.into(),
        mirror,
        mirrored_slot: None,
        guard,
    })
}

/// A service's distinct revisions, in order of first appearance: the
/// destinations its splits, tags, rollout and mirror point at.
#[derive(Default)]
pub(super) struct Revisions<'s>(Vec<&'s str>);

impl<'s> Revisions<'s> {
    /// The destination of `revision`, if it has one.
    pub(super) fn position(&self, revision: &str) -> Option<DestinationId> {
        self.0
            .iter()
            .position(|r| *r == revision)
            .map(DestinationId::new)
    }

    /// The revision of `destination`.
    pub(super) fn name(&self, destination: DestinationId) -> Option<&'s str> {
        self.0.get(destination.index()).copied()
    }

    /// The destination of `revision`, added last if it is new.
    pub(super) fn position_or_push(&mut self, revision: &'s str) -> DestinationId {
        let index = match self.0.iter().position(|r| *r == revision) {
            Some(index) => index,
            None => {
                self.0.push(revision);
                self.0.len() - 1
            }
        };
        DestinationId::new(index)
    }
}

/// A traffic target, resolved.
pub(super) struct Resolved<'s> {
    pub(super) destination: DestinationId,
    pub(super) percent: u32,
    /// `latestRevision: true`: the share a rollout moves.
    pub(super) follows_latest: bool,
    pub(super) tag: Option<&'s str>,
    pub(super) visibility: Visibility,
}

/// A service's `traffic` block, resolved.
struct Traffic<'s> {
    /// Distinct revisions, in order of first appearance.
    revisions: Revisions<'s>,
    /// Each target with a revision, in order.
    targets: Vec<Resolved<'s>>,
    /// `(tag, destination, index in targets)`, in order.
    tags: Vec<(&'s str, DestinationId, usize)>,
}

fn compile_traffic<'s>(
    spec: &'s ServiceSpec,
    defaults: &Defaults,
    latest_ready: Option<&'s str>,
    checks: &mut Checks,
) -> Traffic<'s> {
    // Knative's default: no traffic block means everything to the latest.
    const LATEST: &[TrafficTarget] = &[TrafficTarget {
        tag: None,
        revision_name: None,
        latest_revision: Some(true),
        percent: Percent::HUNDRED,
        url: None,
        visibility: None,
    }];
    let targets: &[TrafficTarget] = if spec.traffic.is_empty() {
        LATEST
    } else {
        &spec.traffic
    };
    let service_visibility = spec.visibility.unwrap_or(Visibility::Public);
    let mut revisions = Revisions(Vec::with_capacity(targets.len()));
    let mut resolved = Vec::with_capacity(targets.len());
    let mut tags = Vec::with_capacity(targets.len());
    let mut first_use: Vec<(&str, usize)> = Vec::with_capacity(targets.len());
    let mut sum: u32 = 0;
    let mut label = String::new();
    for (j, target) in targets.iter().enumerate() {
        // Written only for an error: most targets have none.
        let at = || format!("traffic[{j}]");
        let named = target.revision_name.as_deref().filter(|r| !r.is_empty());
        let latest = target.latest_revision.unwrap_or(named.is_none());
        let revision = match (latest, named) {
            // Knative's status block names the revision a latest-following
            // target resolved to (route_validation.go checks the two
            // exclude each other in spec only).
            (true, Some(name)) if latest_ready == Some(name) => latest_ready,
            (true, Some(name)) => {
                match latest_ready {
                    Some(latest) => checks.fail(
                        &at(),
                        ErrorKind::Conflict,
                        format_args!(
                            "latestRevision: true and revisionName {name:?}, but the latest ready revision is {latest:?}: where Knative's status writes both they name the same revision; in a spec, set one (a status taken during a rollout shows the split in force: write it as a rollout from the earlier revision)"
                        ),
                    ),
                    None => checks.fail(
                        &at(),
                        ErrorKind::Conflict,
                        format_args!(
                            "latestRevision: true and revisionName {name:?} exclude each other; set one"
                        ),
                    ),
                }
                None
            }
            (false, None) => {
                checks.fail(
                    &at(),
                    ErrorKind::MissingField,
                    "latestRevision: false needs a revisionName",
                );
                None
            }
            (true, None) => {
                if latest_ready.is_none() {
                    if spec.traffic.is_empty() {
                        checks.fail(
                            "traffic",
                            ErrorKind::UnknownReference,
                            "none given, which sends 100% to the latest revision, but latestReadyRevisionName is not set",
                        );
                    } else {
                        checks.fail(
                            &at(),
                            ErrorKind::UnknownReference,
                            "follows the latest revision, but latestReadyRevisionName is not set",
                        );
                    }
                }
                latest_ready
            }
            (false, Some(name)) => {
                if !is_revision_name(name) {
                    checks.fail(
                        &at(),
                        ErrorKind::InvalidValue,
                        format_args!("revisionName {name:?} is not a revision name"),
                    );
                }
                Some(name)
            }
        };
        let percent = target.percent.map_or(0, |p| u32::from(p.get()));
        sum += percent;
        let tag = target.tag.as_deref().filter(|t| !t.is_empty());
        // Knative resolves a tag's visibility as the lesser of its own and
        // its service's (visibility.go, minVisibility).
        let visibility = match (service_visibility, target.visibility) {
            (Visibility::ClusterLocal, _) | (_, Some(Visibility::ClusterLocal)) => {
                Visibility::ClusterLocal
            }
            _ => Visibility::Public,
        };
        if target.visibility.is_some() && tag.is_none() {
            checks.fail(
                &at(),
                ErrorKind::Conflict,
                "visibility applies to a tag's hosts: give the target a tag, or set the service's visibility",
            );
        }
        let destination = revision.map(|r| revisions.position_or_push(r));
        if let Some(destination) = destination {
            resolved.push(Resolved {
                destination,
                percent,
                follows_latest: latest,
                tag,
                visibility,
            });
        }
        // Knative's validation skips an empty tag: the target is untagged.
        if let Some(tag) = tag {
            defaults.tag_label(tag, &spec.name, &mut label);
            if !is_dns1035_label(tag) {
                checks.fail(
                    &at(),
                    ErrorKind::InvalidValue,
                    format_args!("tag {tag:?} is not {DNS1035}"),
                );
            } else if let Some((_, first)) = first_use.iter().find(|(t, _)| *t == tag) {
                checks.fail(
                    &at(),
                    ErrorKind::Conflict,
                    format_args!("tag {tag:?} is already used by traffic[{first}]"),
                );
            } else if label.len() > MAX_LABEL {
                checks.fail(
                    &at(),
                    ErrorKind::InvalidValue,
                    format_args!(
                        "tag {tag:?} makes the host label {label:?} longer than a DNS label's 63 characters"
                    ),
                );
            } else if !is_dns1123_label(&label) {
                checks.fail(
                    &at(),
                    ErrorKind::InvalidValue,
                    format_args!(
                        "tag {tag:?} makes the host label {label:?} (by tagTemplate), which is not {DNS1123}"
                    ),
                );
            } else {
                first_use.push((tag, j));
                if destination.is_some() {
                    tags.push((tag, destination, resolved.len() - 1));
                }
            }
        }
    }
    if sum != 100 {
        checks.fail_worded(
            "traffic",
            ErrorKind::InvalidValue,
            format!("traffic percents sum to {sum}, want 100"),
        );
    }
    Traffic {
        revisions,
        targets: resolved,
        tags: tags
            .into_iter()
            .filter_map(|(tag, destination, j)| Some((tag, destination?, j)))
            .collect(),
    }
}

fn compile_destinations(
    spec: &ServiceSpec,
    defaults: &Defaults,
    revisions: &[&str],
    checks: &mut Checks,
) -> Vec<Destination> {
    for revision in spec.clusters.keys() {
        if !revisions.contains(&revision.as_str()) {
            checks.fail(
                "clusters",
                ErrorKind::UnknownReference,
                format_args!("revision {revision:?} is not in this service's traffic"),
            );
        }
    }
    let destinations: Vec<Destination> = revisions
        .iter()
        .map(|&revision| {
            let cluster = match spec.clusters.get(revision) {
                Some(cluster) => Some(cluster.clone()),
                None => defaults.cluster_name(revision, &spec.name, &spec.namespace),
            };
            Destination::new(revision, cluster)
        })
        .collect();
    for destination in &destinations {
        if !is_cluster_name(destination.cluster()) {
            checks.fail(
                "clusters",
                ErrorKind::InvalidValue,
                format_args!(
                    "cluster {:?} of revision {:?} is not a cluster name (printable ASCII, no spaces)",
                    destination.cluster(), destination.revision
                ),
            );
        }
    }
    destinations
}

/// The headers a service's rules and stickiness read, each given one slot.
#[derive(Default)]
pub(super) struct HeaderSlots(Vec<Box<str>>);

/// The header Envoy keeps the Host in (HTTP/1.1's `Host`, HTTP/2's
/// `:authority`); a `host` lookup reaches it too.
const HOST: &str = "host";

impl HeaderSlots {
    /// Where a header named in the configuration (any case) is read from.
    /// `host` is the host the request was matched by, already read and
    /// normalised: lower case, without port or trailing dot, as a service's
    /// own hosts match.
    pub(super) fn header(&mut self, name: &str) -> Source {
        let name = name.to_ascii_lowercase();
        if name == HOST {
            Source::Host
        } else {
            Source::Header {
                slot: self.slot(&name),
            }
        }
    }

    /// Where cookie `name` is read from: the `Cookie` headers.
    pub(super) fn cookie(&mut self, name: &str) -> Source {
        Source::Cookie {
            slot: self.slot(COOKIE),
            name: name.into(),
        }
    }

    /// The slot of header `name` (lower case), added if it is new.
    fn slot(&mut self, name: &str) -> HeaderSlot {
        let index = match self.0.iter().position(|n| &**n == name) {
            Some(i) => i,
            None => {
                self.0.push(name.into());
                self.0.len() - 1
            }
        };
        HeaderSlot::new(index)
    }
}
