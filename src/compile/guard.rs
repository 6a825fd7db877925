//! A service's `guard`: its candidate, its policy, and the split it falls
//! back to once the candidate is judged failing (see `crate::guard`).

use super::rollout::whole_seconds;
use super::service::Revisions;
use super::Checks;
use crate::config::GuardSpec;
use crate::decimal::Decimal;
use crate::error::ErrorKind;
use crate::guard::{Guard, Policy};
use crate::ids::DestinationId;
use crate::rollout::Rollout;
use crate::split::{Split, BUCKETS, BUCKETS_PER_PERCENT};
use crate::time::parse_instant;

/// Answers per verdict unless `minAnswers` says otherwise.
pub const DEFAULT_MIN_ANSWERS: u32 = 100;
/// The fewest answers a verdict may rest on: below this a window's rate is
/// too coarse for the test to say anything at a useful tolerance.
pub const MIN_MIN_ANSWERS: u32 = 20;
/// Percentage points of tolerance unless `tolerance` says otherwise.
pub const DEFAULT_TOLERANCE: f64 = 5.0;
/// How long a window may stay open unless `window` says otherwise.
pub const DEFAULT_WINDOW: &str = "60s";

/// The service's parts a guard is compiled against.
pub(super) struct Parts<'a, 's> {
    pub(super) revisions: &'a Revisions<'s>,
    pub(super) tags: &'a [(&'s str, DestinationId, usize)],
    pub(super) split: Option<&'a Split>,
    pub(super) rollout: Option<&'a Rollout>,
}

pub(super) fn compile(spec: &GuardSpec, parts: &Parts, checks: &mut Checks) -> Option<Guard> {
    let candidate = candidate(spec, parts, checks);
    let policy = policy(spec, checks);
    let fallback = match (candidate, parts.split) {
        (Some(candidate), Some(split)) => fallback(candidate, split, parts.rollout, checks),
        _ => None,
    };
    Some(Guard::new(candidate?, fallback?, policy?))
}

/// The revision judged: by revision name or tag, or a timed rollout's.
fn candidate(spec: &GuardSpec, parts: &Parts, checks: &mut Checks) -> Option<DestinationId> {
    let rollout_to = parts.rollout.map(Rollout::to);
    let named = match (spec.revision_name.as_deref(), spec.tag.as_deref()) {
        (Some(_), Some(_)) => {
            checks.fail(
                "guard",
                ErrorKind::Conflict,
                "set at most one of revisionName or tag",
            );
            return None;
        }
        (Some(revision), None) => {
            let found = parts.revisions.position(revision);
            if found.is_none() {
                checks.fail(
                    "guard.revisionName",
                    ErrorKind::UnknownReference,
                    format_args!("{revision:?} is not a revision of this service's traffic"),
                );
            }
            found
        }
        (None, Some(tag)) => {
            let found = parts
                .tags
                .iter()
                .find(|(t, _, _)| *t == tag)
                .map(|(_, d, _)| *d);
            if found.is_none() {
                checks.fail(
                    "guard.tag",
                    ErrorKind::UnknownReference,
                    format_args!("tag {tag:?} is not a tag of this service's traffic"),
                );
            }
            found
        }
        (None, None) => {
            if rollout_to.is_none() {
                checks.fail(
                    "guard",
                    ErrorKind::MissingField,
                    "name the candidate with revisionName or tag (only a timed rollout has one by default, the revision it rolls to)",
                );
            }
            return rollout_to;
        }
    };
    let named = named?;
    // A rollout moves traffic to its revision only: a guard on another
    // would judge a revision whose share is not the one that moves.
    if let Some(to) = rollout_to.filter(|to| *to != named) {
        let to = parts.revisions.name(to).unwrap_or("?");
        checks.fail(
            "guard",
            ErrorKind::Conflict,
            format_args!(
                "the service's timed rollout rolls to {to:?}: a guard on it guards that revision"
            ),
        );
        return None;
    }
    Some(named)
}

fn policy(spec: &GuardSpec, checks: &mut Checks) -> Option<Policy> {
    let min_answers = spec.min_answers.unwrap_or(DEFAULT_MIN_ANSWERS);
    if min_answers < MIN_MIN_ANSWERS {
        checks.fail_worded(
            "guard.minAnswers",
            ErrorKind::InvalidValue,
            format!("guard.minAnswers must be at least {MIN_MIN_ANSWERS}, got {min_answers}"),
        );
    }
    let tolerance = spec.tolerance.unwrap_or(DEFAULT_TOLERANCE);
    let tolerance_ok = tolerance.is_finite() && tolerance > 0.0 && tolerance < 100.0;
    if !tolerance_ok {
        checks.fail_worded(
            "guard.tolerance",
            ErrorKind::InvalidValue,
            format!(
                "guard.tolerance must be more than 0 and less than 100 percentage points, got {}",
                Decimal(tolerance)
            ),
        );
    }
    let window = spec.window.as_deref().unwrap_or(DEFAULT_WINDOW);
    let window_s = whole_seconds("guard.window", window, checks);
    if window_s == Some(0) {
        checks.fail(
            "guard.window",
            ErrorKind::InvalidValue,
            "must be at least 1s",
        );
    }
    if spec.latency_ms == Some(0) {
        checks.fail(
            "guard.latencyMs",
            ErrorKind::InvalidValue,
            "must be at least 1",
        );
    }
    if let Some(resumed) = &spec.resumed_at {
        if parse_instant(resumed).is_none() {
            checks.fail(
                "guard.resumedAt",
                ErrorKind::InvalidValue,
                format_args!("{resumed:?} is not an RFC 3339 instant"),
            );
        }
    }
    let window_s = window_s.filter(|s| *s > 0)?;
    (min_answers >= MIN_MIN_ANSWERS && tolerance_ok).then_some(Policy {
        min_answers: u64::from(min_answers),
        window_ms: window_s.saturating_mul(1000),
        tolerance: tolerance / 100.0,
        compare: spec.compare.unwrap_or(true),
        latency_ms: spec.latency_ms,
    })
}

/// The split without the candidate. During a timed rollout: the split
/// before its start, when the revision it rolls from had the share that
/// moves. Otherwise the candidate's share goes to the other revisions in
/// proportion to their shares.
fn fallback(
    candidate: DestinationId,
    split: &Split,
    rollout: Option<&Rollout>,
    checks: &mut Checks,
) -> Option<Split> {
    if let Some(rollout) = rollout {
        let shares = match rollout.route() {
            Some(schedule) => schedule
                .shares_before()
                .into_iter()
                .map(|(d, p)| (d, p * BUCKETS_PER_PERCENT))
                .collect(),
            // The share that follows the latest revision does not roll (0%
            // or 1%): it goes back whole.
            None => split
                .shares()
                .into_iter()
                .map(|(d, b)| (if d == candidate { rollout.from() } else { d }, b))
                .collect::<Vec<_>>(),
        };
        return Split::new(shares).ok();
    }
    let shares = split.shares();
    let taken: u32 = shares
        .iter()
        .filter(|(d, _)| *d == candidate)
        .map(|(_, b)| b)
        .sum();
    let rest = BUCKETS - taken;
    if taken == 0 {
        checks.fail(
            "guard",
            ErrorKind::InvalidValue,
            "the candidate has 0% of the split, and no timed rollout gives it any: there is no share to guard",
        );
        return None;
    }
    if rest == 0 {
        checks.fail(
            "guard",
            ErrorKind::InvalidValue,
            "the candidate has the whole split: there is no other revision to give its share back to",
        );
        return None;
    }
    // Largest remainders, so the buckets add up exactly.
    let others: Vec<(DestinationId, u32)> = shares
        .into_iter()
        .filter(|(d, _)| *d != candidate)
        .collect();
    let mut given: Vec<(DestinationId, u32, u64)> = others
        .iter()
        .map(|&(d, b)| {
            let exact = u64::from(taken) * u64::from(b);
            let whole = exact / u64::from(rest);
            (
                d,
                b + u32::try_from(whole).unwrap_or(0),
                exact % u64::from(rest),
            )
        })
        .collect();
    // The buckets rounding left go one each to the largest remainders (at
    // most one per revision, so a pass per bucket is short).
    let left = BUCKETS - given.iter().map(|(_, b, _)| b).sum::<u32>();
    for _ in 0..left {
        let largest = given.iter_mut().max_by_key(|(_, _, remainder)| *remainder);
        if let Some(g) = largest {
            g.1 += 1;
            g.2 = 0;
        }
    }
    Split::new(given.into_iter().map(|(d, b, _)| (d, b))).ok()
}
