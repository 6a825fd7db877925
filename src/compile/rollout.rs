//! A service's timed `rollout`: which revisions it moves between, its plan,
//! and the schedule of every group that rolls (see `crate::rollout`).

use super::service::{Resolved, Revisions};
use super::Checks;
use crate::config::RolloutSpec;
use crate::error::ErrorKind;
use crate::names::is_revision_name;
use crate::rollout::{Plan, Rollout, Schedule, Timing, MAX_STEPS};
use crate::split::{SplitError, BUCKETS_PER_PERCENT};
use crate::time::{parse_go_duration, parse_instant, SECOND_NS};

/// A duration field as Knative's `rollout-duration` annotation takes it
/// (`ValidateRolloutDurationAnnotation`): Go's syntax, whole seconds, not
/// negative. Whole seconds, or `None` (reported).
pub(super) fn whole_seconds(field: &str, text: &str, checks: &mut Checks) -> Option<u64> {
    let Some(ns) = parse_go_duration(text) else {
        checks.fail(
            field,
            ErrorKind::InvalidValue,
            format_args!("{text:?} is not a duration (Go's syntax, e.g. 10m, 1h30m, 1.5m, 380s)"),
        );
        return None;
    };
    // Knative checks the precision before the sign.
    if ns % SECOND_NS != 0 {
        checks.fail(
            field,
            ErrorKind::InvalidValue,
            format_args!(
                "{text:?} is not at second precision (Knative's rollout-duration is whole seconds)"
            ),
        );
        return None;
    }
    if ns < 0 {
        checks.fail(
            field,
            ErrorKind::InvalidValue,
            format_args!("{text:?} must not be negative"),
        );
        return None;
    }
    u64::try_from(ns / SECOND_NS).ok()
}

/// The rollout's plan: `None` when it is off (`0s`) or has errors
/// (reported).
fn plan(spec: &RolloutSpec, checks: &mut Checks) -> Option<Plan> {
    let start = parse_instant(&spec.start);
    if start.is_none() {
        checks.fail(
            "rollout.start",
            ErrorKind::InvalidValue,
            format_args!(
                "{:?} is not an RFC 3339 instant (e.g. 2026-11-25T16:00:00Z)",
                spec.start
            ),
        );
    }
    let duration = whole_seconds("rollout.duration", &spec.duration, checks);
    let min_step = match &spec.min_step {
        None => Some(1),
        Some(text) => match whole_seconds("rollout.minStep", text, checks) {
            Some(0) => {
                checks.fail(
                    "rollout.minStep",
                    ErrorKind::InvalidValue,
                    "must be at least 1s (Knative's least)",
                );
                None
            }
            other => other,
        },
    };
    let timing = match (spec.steps, &spec.min_step) {
        (Some(steps), _) if !(1..=MAX_STEPS).contains(&steps) => {
            checks.fail_worded(
                "rollout.steps",
                ErrorKind::InvalidValue,
                format!("rollout.steps must be from 1 to {MAX_STEPS}, got {steps}"),
            );
            None
        }
        (Some(_), Some(_)) => {
            checks.fail(
                "rollout",
                ErrorKind::Conflict,
                "set one of steps (equal steps ending at start + duration) or minStep (Knative's timing)",
            );
            None
        }
        (Some(steps), None) => Some(Timing::Even { steps }),
        (None, _) => min_step.map(|min_step_s| Timing::Knative { min_step_s }),
    };
    let (start_ms, duration_s, timing) = (start?, duration?, timing?);
    // `0s`: no rollout, the latest ready revision has its share at once
    // (Knative's annotation falls back to config-network's rollout-duration
    // there, which is 0 unless set).
    (duration_s > 0).then_some(Plan {
        start_ms,
        duration_s,
        timing,
    })
}

/// The revision the rollout moves from, checked: `None` if the spec has
/// errors (reported).
pub(super) fn from_revision<'s>(
    spec: &'s RolloutSpec,
    latest_ready: Option<&str>,
    checks: &mut Checks,
) -> Option<&'s str> {
    if spec.revision_name.is_some() {
        checks.fail(
            "rollout.revisionName",
            ErrorKind::UnknownField,
            "a rollout rolls to latestReadyRevisionName, as Knative's does: make the revision to roll to the latestReadyRevisionName, give the share it should end with to targets with \"latestRevision\": true, and name the revision those targets followed before in rollout.fromRevisionName",
        );
        return None;
    }
    let Some(from) = spec.from_revision_name.as_deref().filter(|r| !r.is_empty()) else {
        checks.fail(
            "rollout.fromRevisionName",
            ErrorKind::MissingField,
            "missing: name the revision the latest-following targets move from (Knative's previous latest ready revision; the filter keeps no history)",
        );
        return None;
    };
    if !is_revision_name(from) {
        checks.fail(
            "rollout.fromRevisionName",
            ErrorKind::InvalidValue,
            format_args!("{from:?} is not a revision name"),
        );
        return None;
    }
    match latest_ready {
        None => {
            checks.fail(
                "rollout",
                ErrorKind::UnknownReference,
                "no latestReadyRevisionName to roll to",
            );
            None
        }
        Some(latest) if latest == from => {
            checks.fail(
                "rollout.fromRevisionName",
                ErrorKind::Conflict,
                format_args!(
                    "{from:?} is the latest ready revision already: a rollout moves the latest-following share from another revision to it"
                ),
            );
            None
        }
        Some(_) => Some(from),
    }
}

/// The compiled rollout: the main route's schedule, and a schedule per
/// latest-following tag (by the target's index in `targets`), or `None` if
/// the spec has errors or is off.
pub(super) struct Compiled {
    pub(super) rollout: Rollout,
    /// `(target index, schedule)` of each tagged target that follows the
    /// latest revision.
    pub(super) tags: Vec<(usize, Schedule)>,
}

pub(super) fn compile<'s>(
    spec: &'s RolloutSpec,
    targets: &[Resolved<'s>],
    revisions: &mut Revisions<'s>,
    latest_ready: Option<&'s str>,
    checks: &mut Checks,
) -> Option<Compiled> {
    let from = from_revision(spec, latest_ready, checks);
    let plan = plan(spec, checks)?;
    let (from, to) = (from?, latest_ready?);
    let from = revisions.position_or_push(from);
    let to = revisions.position_or_push(to);
    let latest: u32 = targets
        .iter()
        .filter(|t| t.follows_latest)
        .map(|t| t.percent)
        .sum();
    // The main route: pinned targets where they are, the latest-following
    // share at the first latest-following target, the new revision right
    // after the previous one, so that it only ever takes the previous one's
    // buckets.
    let route = Schedule::new(&plan, latest, |moved| {
        let mut shares = Vec::with_capacity(targets.len() + 1);
        let mut placed = false;
        for target in targets {
            if !target.follows_latest {
                shares.push((target.destination, target.percent));
            } else if !placed {
                shares.push((from, latest - moved));
                shares.push((to, moved));
                placed = true;
            }
        }
        shares
    });
    let tags: Result<Vec<(usize, Schedule)>, SplitError> = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| t.follows_latest && t.tag.is_some())
        .filter_map(|(j, _)| {
            Schedule::new(&plan, 100, |moved| vec![(from, 100 - moved), (to, moved)])
                .map(|schedule| schedule.map(|s| (j, s)))
                .transpose()
        })
        .collect();
    let (route, tags) = match (route, tags) {
        (Ok(route), Ok(tags)) => (route, tags),
        // Not reachable from a valid traffic block (its percents make 100%,
        // and every move keeps the sum), but a rollout must never be dropped
        // in silence: the service would serve without it.
        (Err(SplitError::Sum { buckets }), _) | (_, Err(SplitError::Sum { buckets })) => {
            let per = u64::from(BUCKETS_PER_PERCENT);
            checks.fail(
                "rollout",
                ErrorKind::InvalidValue,
                format_args!(
                    "a step's shares sum to {}.{:02}%, want 100%; the schedule cannot be built",
                    buckets / per,
                    buckets % per
                ),
            );
            return None;
        }
    };
    if route.is_none() && tags.is_empty() {
        checks.fail(
            "rollout",
            ErrorKind::InvalidValue,
            format_args!(
                "no target follows the latest revision with more than 1% (Knative rolls neither 0% nor 1%), and no tag follows it, so there is nothing to roll"
            ),
        );
        return None;
    }
    Some(Compiled {
        rollout: Rollout {
            from,
            to,
            plan,
            route,
            // Given their tags' ids once the tags are sorted.
            tags: Box::default(),
        },
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Visibility;
    use crate::ids::DestinationId;

    fn spec(from: &str, duration: &str) -> RolloutSpec {
        RolloutSpec {
            from_revision_name: Some(from.into()),
            revision_name: None,
            start: "2026-11-25T16:00:00Z".into(),
            duration: duration.into(),
            min_step: None,
            steps: None,
        }
    }

    #[test]
    fn a_rollout_that_cannot_be_built_is_an_error_not_dropped() {
        let mut errors = Vec::new();
        let mut checks = Checks::new(0, "web", &mut errors);
        let mut revisions = Revisions::default();
        let pinned = revisions.position_or_push("web-1");
        // Half the traffic: a split no valid traffic block makes.
        let targets = [
            Resolved {
                destination: pinned,
                percent: 20,
                follows_latest: false,
                tag: None,
                visibility: Visibility::Public,
            },
            Resolved {
                destination: DestinationId::new(9),
                percent: 30,
                follows_latest: true,
                tag: None,
                visibility: Visibility::Public,
            },
        ];
        let compiled = compile(
            &spec("web-2", "10m"),
            &targets,
            &mut revisions,
            Some("web-3"),
            &mut checks,
        );
        assert!(compiled.is_none());
        assert!(!checks.ok());
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            ["rollout: a step's shares sum to 50.00%, want 100%; the schedule cannot be built"]
        );
    }

    /// Knative's TestValidateRolloutDurationAnnotation, and `0s`.
    #[test]
    fn durations_as_knatives_annotation_takes_them() {
        let check = |duration: &str| {
            let mut errors = Vec::new();
            let mut checks = Checks::new(0, "web", &mut errors);
            let planned = plan(&spec("web-1", duration), &mut checks);
            let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            (planned.map(|p| p.duration_s), messages)
        };
        assert_eq!(check("120s"), (Some(120), vec![]));
        assert_eq!(check("3h15m21s"), (Some(11_721), vec![]));
        assert_eq!(check("1.5m"), (Some(90), vec![]));
        // 0s: no rollout, and no error.
        assert_eq!(check("0s"), (None, vec![]));
        assert_eq!(
            check("211s44ms").1,
            ["rollout.duration: \"211s44ms\" is not at second precision (Knative's rollout-duration is whole seconds)"]
        );
        assert_eq!(
            check("-211s").1,
            ["rollout.duration: \"-211s\" must not be negative"]
        );
        // Precision is checked before the sign, as Knative does.
        assert_eq!(
            check("-1.5s").1,
            ["rollout.duration: \"-1.5s\" is not at second precision (Knative's rollout-duration is whole seconds)"]
        );
        assert_eq!(
            check("120000000000").1,
            ["rollout.duration: \"120000000000\" is not a duration (Go's syntax, e.g. 10m, 1h30m, 1.5m, 380s)"]
        );
        assert_eq!(
            check("five minutes and 6 seconds").1,
            ["rollout.duration: \"five minutes and 6 seconds\" is not a duration (Go's syntax, e.g. 10m, 1h30m, 1.5m, 380s)"]
        );
    }
}
