//! A service's timed `rollout`: which revision it rolls to, and its
//! schedule.

use super::service::Revisions;
use super::Checks;
use crate::config::RolloutSpec;
use crate::error::ErrorKind;
use crate::ids::DestinationId;
use crate::names::is_revision_name;
use crate::rollout::{default_steps, Rollout, MAX_STEPS};
use crate::split::{SplitError, BUCKETS_PER_PERCENT};
use crate::time::{parse_duration, parse_instant};

/// The revision a rollout rolls to, checked to start from 0%. `percents`
/// are the traffic block's `(destination, percent)` per target.
pub(super) fn target_revision<'s>(
    spec: &'s RolloutSpec,
    latest_ready: Option<&'s str>,
    percents: &[(DestinationId, u32)],
    revisions: &Revisions,
    checks: &mut Checks,
) -> Option<&'s str> {
    let Some(revision) = spec
        .revision_name
        .as_deref()
        .filter(|r| !r.is_empty())
        .or(latest_ready)
    else {
        checks.fail(
            "rollout",
            ErrorKind::UnknownReference,
            "no revisionName, and no latestReadyRevisionName to roll to",
        );
        return None;
    };
    if !is_revision_name(revision) {
        checks.fail(
            "rollout",
            ErrorKind::InvalidValue,
            format_args!("revisionName {revision:?} is not a revision name"),
        );
        return None;
    }
    let share: u32 = revisions
        .position(revision)
        .map(|d| {
            percents
                .iter()
                .filter(|(dest, _)| *dest == d)
                .map(|(_, p)| p)
                .sum()
        })
        .unwrap_or(0);
    if share > 0 {
        checks.fail(
            "rollout",
            ErrorKind::Conflict,
            format_args!(
                "revision {revision:?} already has {share}% of the traffic; a rollout starts from 0%"
            ),
        );
        return None;
    }
    Some(revision)
}

/// The schedule from `base`, the service's split in percent in its layout
/// order, to `target`.
pub(super) fn compile(
    spec: &RolloutSpec,
    base: &[(DestinationId, u32)],
    target: DestinationId,
    checks: &mut Checks,
) -> Option<Rollout> {
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
    let duration = parse_duration(&spec.duration).filter(|d| *d > 0);
    if duration.is_none() {
        checks.fail(
            "rollout.duration",
            ErrorKind::InvalidValue,
            format_args!(
                "{:?} is not a positive duration (e.g. 10m, 1h30m, 380s)",
                spec.duration
            ),
        );
    }
    if let Some(steps) = spec.steps.filter(|s| !(1..=MAX_STEPS).contains(s)) {
        checks.fail_worded(
            "rollout.steps",
            ErrorKind::InvalidValue,
            format!("rollout.steps must be from 1 to {MAX_STEPS}, got {steps}"),
        );
        return None;
    }
    let (start, duration) = (start?, duration?);
    let steps = spec.steps.unwrap_or_else(|| default_steps(duration));
    match Rollout::new(base, target, start, duration, steps) {
        Ok(rollout) => Some(rollout),
        // Not reachable from a valid traffic block (its percents make 100%,
        // and every move keeps the sum), but a rollout must never be dropped
        // in silence: the service would serve without it.
        Err(SplitError::Sum { buckets }) => {
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
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollout_that_cannot_be_built_is_an_error_not_dropped() {
        let spec = RolloutSpec {
            revision_name: None,
            start: "2026-11-25T16:00:00Z".into(),
            duration: "10m".into(),
            steps: Some(4),
        };
        let mut errors = Vec::new();
        let mut checks = Checks::new(0, "web", &mut errors);
        // Half the traffic: a split no valid traffic block makes.
        let half = [(DestinationId::new(0), 50)];
        assert_eq!(
            compile(&spec, &half, DestinationId::new(1), &mut checks),
            None
        );
        assert!(!checks.ok());
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            ["rollout: a step's shares sum to 50.00%, want 100%; the schedule cannot be built"]
        );
    }
}
