//! Timed rollouts: Knative's `serving.knative.dev/rollout-duration`, done in
//! the proxy instead of a controller (serving
//! `pkg/reconciler/route/traffic/rollout.go`).
//!
//! What rolls is what Knative rolls: the share of the targets that follow
//! the latest revision (`latestRevision: true`), from the previous latest
//! ready revision (the rollout's `fromRevisionName`) to the new one (the
//! service's `latestReadyRevisionName`). Targets pinned to a revision keep
//! their percent throughout, and at the end the new revision has exactly the
//! latest-following share. Each group rolls on its own, as in Knative's
//! `BuildRollout`: the service's main route (its share P is the sum of its
//! latest-following percents) and each tag that follows the latest revision
//! (its host sends it everything, so P = 100). A group of 0% or 1% does not
//! roll.
//!
//! A group's moves: the new revision gets 1% at `start`, then steps of
//! `round((P - 1) / n)` percent until it has P. Knative's timing
//! (`computeProperties`): with the minimum step M (Knative measures it as the
//! time the 1% took to become ready, at least 1 s; the proxy's 1% is in
//! force at once, so it takes 1 s unless told), `n = min(max(1, (D - M) /
//! M), P - 1)` steps of `(D - M) / n` each, the first of them M after the
//! start. Like Knative's, the last step may land before or after
//! `start + duration`: rounding the step size makes more or fewer steps than
//! `n` (Knative's controller keeps no deadline either). With `steps` given,
//! the project's own timing instead: that many equal moves, spread evenly so
//! that the last lands at `start + duration`.
//!
//! The schedule is a pure function of the proxy's clock, so every worker and
//! replica computes the same split at the same instant with no shared state.
//! Every split of every schedule is built when the configuration is
//! compiled; a request only finds its instant among a group's moves.

use crate::split::{DestinationId, Split, SplitError, BUCKETS_PER_PERCENT};
use crate::time::SECOND_NS;

/// The most steps a rollout may ask for: one per percent after the first.
pub const MAX_STEPS: u32 = 99;

/// When a rollout's moves happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Knative's: steps of the minimum step or longer.
    Knative { min_step_s: u64 },
    /// The project's: `steps` equal moves, the last at the end.
    Even { steps: u32 },
}

/// What a configuration says of a rollout, shared by all its groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub start_ms: u64,
    /// Whole seconds, more than zero (`0s` is no rollout at all).
    pub duration_s: u64,
    pub timing: Timing,
}

/// One group's moves: the splits it goes through, and from when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// `instants[k]` (Unix ms) is when `splits[k]` comes in force:
    /// `instants[0]` is 0 (before the start, the previous revision has the
    /// share), `instants[1]` the start (1%), then each step; ascending.
    instants: Box<[u64]>,
    splits: Box<[Split]>,
    /// The percent each step gives the new revision (the last may give
    /// less).
    step_size: u32,
    /// The group's latest-following share, P.
    share: u32,
}

/// The new revision's percent after each move, and each move's offset from
/// the start in milliseconds (rounded up: a step never comes early), for a
/// group of share `p` (at least 2).
pub fn moves(plan: &Plan, p: u32) -> (u32, Vec<(u32, u64)>) {
    let remaining = p.saturating_sub(1);
    match plan.timing {
        Timing::Knative { min_step_s } => {
            // Knative's computeProperties, in its float arithmetic.
            let min_step = min_step_s.max(1) as f64;
            let duration = (plan.duration_s as f64 - min_step).max(1.0);
            let mut steps = (duration / min_step).max(1.0);
            if f64::from(remaining) < steps {
                steps = f64::from(remaining);
            }
            let size = ((f64::from(remaining) / steps).round() as u32).max(1);
            let step_ns = (duration / steps * SECOND_NS as f64) as u64;
            let first_ns = min_step_s.max(1).saturating_mul(SECOND_NS as u64);
            let count = remaining.div_ceil(size);
            let mut out = vec![(1, 0)];
            for k in 1..=count {
                let at_ns = first_ns.saturating_add(u64::from(k).saturating_mul(step_ns));
                out.push(((1 + k * size).min(p), at_ns.div_ceil(1_000_000)));
            }
            (size, out)
        }
        Timing::Even { steps } => {
            let steps = steps.max(1);
            // Knative's rounding, half away from zero.
            let size = ((remaining * 2 + steps) / (steps * 2)).max(1);
            let count = remaining.div_ceil(size).max(1);
            let duration_ms = plan.duration_s.saturating_mul(1000);
            let out = (0..=count)
                .map(|k| {
                    let percent = if k == count { p } else { 1 + k * size };
                    let at = (u128::from(k) * u128::from(duration_ms)).div_ceil(u128::from(count));
                    (percent, u64::try_from(at).unwrap_or(u64::MAX))
                })
                .collect();
            (size, out)
        }
    }
}

impl Schedule {
    /// The schedule of a group whose latest-following share is `share`
    /// percent; `layout(moved)` gives the group's shares (in percent, in
    /// layout order) once the new revision has `moved` percent of it.
    /// `None` for a group that does not roll (0% or 1%).
    pub fn new(
        plan: &Plan,
        share: u32,
        layout: impl Fn(u32) -> Vec<(DestinationId, u32)>,
    ) -> Result<Option<Schedule>, SplitError> {
        if share < 2 {
            return Ok(None);
        }
        let split = |moved: u32| {
            Split::new(
                layout(moved)
                    .into_iter()
                    .map(|(d, p)| (d, p * BUCKETS_PER_PERCENT)),
            )
        };
        let (step_size, moves) = moves(plan, share);
        let mut instants = vec![0];
        let mut splits = vec![split(0)?];
        for (moved, offset) in moves {
            instants.push(plan.start_ms.saturating_add(offset));
            splits.push(split(moved)?);
        }
        Ok(Some(Schedule {
            instants: instants.into(),
            splits: splits.into(),
            step_size,
            share,
        }))
    }

    /// The split in force at `now_ms` (Unix milliseconds). Always `Some`:
    /// a schedule holds the state before its start and every move.
    pub fn split_at(&self, now_ms: u64) -> Option<&Split> {
        let k = self.instants.partition_point(|&at| at <= now_ms);
        self.splits.get(k.saturating_sub(1))
    }

    /// The move in force at `now_ms`: `None` before the start, 0 for the
    /// first 1%, k from move k's instant on, [`Schedule::steps`] from the
    /// last on.
    pub fn step_at(&self, now_ms: u64) -> Option<u32> {
        let k = self.instants.partition_point(|&at| at <= now_ms);
        u32::try_from(k.checked_sub(2)?).ok()
    }

    /// The instant (Unix ms) of move k: the start for k = 0, the last move
    /// for k = [`Schedule::steps`], `None` beyond.
    pub fn step_start_ms(&self, k: u32) -> Option<u64> {
        self.instants
            .get(usize::try_from(k).ok()?.checked_add(1)?)
            .copied()
    }

    /// The number of moves after the first 1%.
    pub fn steps(&self) -> u32 {
        u32::try_from(self.instants.len().saturating_sub(2)).unwrap_or(0)
    }

    /// Percent each move gives the new revision; the last move gives what
    /// is left, at most this.
    pub fn step_size(&self) -> u32 {
        self.step_size
    }

    /// The group's latest-following share, which the new revision has at
    /// the end.
    pub fn share(&self) -> u32 {
        self.share
    }

    /// Percent of traffic on each destination after move k (0 for the first
    /// 1%, [`Schedule::steps`] for the end), for tests and the tool.
    pub fn step_shares(&self, k: u32) -> Option<Vec<(DestinationId, u32)>> {
        let index = usize::try_from(k).ok()?.checked_add(1)?;
        self.splits.get(index).map(percents)
    }

    /// The shares before the start: the previous revision has the share.
    pub fn shares_before(&self) -> Vec<(DestinationId, u32)> {
        self.splits.first().map(percents).unwrap_or_default()
    }

    /// Every split the group goes through, before the start included.
    pub(crate) fn splits(&self) -> impl Iterator<Item = &Split> {
        self.splits.iter()
    }

    pub fn start_ms(&self) -> u64 {
        self.instants.get(1).copied().unwrap_or(0)
    }

    /// The instant of the last move.
    pub fn end_ms(&self) -> u64 {
        self.instants.last().copied().unwrap_or(0)
    }
}

fn percents(split: &Split) -> Vec<(DestinationId, u32)> {
    split
        .shares()
        .into_iter()
        .map(|(d, b)| (d, b / BUCKETS_PER_PERCENT))
        .collect()
}

/// A service's rollout: which revisions it moves between, and the main
/// route's schedule (the tags' are on their tags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub(crate) from: DestinationId,
    pub(crate) to: DestinationId,
    pub(crate) plan: Plan,
    /// The main route's schedule, if its latest-following share rolls.
    pub(crate) route: Option<Schedule>,
    /// The schedules of the tags that follow the latest revision, by tag
    /// (kept here, not on each tag: most tags never roll).
    pub(crate) tags: Box<[(crate::ids::TagId, Schedule)]>,
}

impl Rollout {
    /// The revision the latest-following share moves from.
    pub fn from(&self) -> DestinationId {
        self.from
    }

    /// The revision it moves to: the latest ready one.
    pub fn to(&self) -> DestinationId {
        self.to
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The main route's schedule, if its latest-following share rolls.
    pub fn route(&self) -> Option<&Schedule> {
        self.route.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: u64 = 1_764_086_400_000; // 2025-11-25T16:00:00Z

    fn d(index: usize) -> DestinationId {
        DestinationId::new(index)
    }

    fn plan(duration_s: u64, timing: Timing) -> Plan {
        Plan {
            start_ms: START,
            duration_s,
            timing,
        }
    }

    /// A group of share `p`: destination 0 (the previous revision) and 9
    /// (the new one), beside destination 1 pinned to the rest.
    fn group(plan: &Plan, p: u32) -> Schedule {
        Schedule::new(plan, p, |moved| {
            vec![(d(1), 100 - p), (d(0), p - moved), (d(9), moved)]
        })
        .unwrap()
        .unwrap()
    }

    /// The new revision's percent and each move's offset from the start.
    fn table(s: &Schedule) -> Vec<(u32, u64)> {
        (0..=s.steps())
            .map(|k| {
                let shares = s.step_shares(k).unwrap();
                let new = shares
                    .iter()
                    .find(|(d, _)| d.index() == 9)
                    .map_or(0, |x| x.1);
                (new, s.step_start_ms(k).unwrap() - START)
            })
            .collect()
    }

    #[test]
    fn knatives_compute_properties_as_test_observe_ready_has_it() {
        // TestObserveReady, duration 120: "step-begin < 1s" (minimum step 1 s):
        // 99 steps of 1% every 119 s / 99 = 1.2020202 s.
        let s = group(&plan(120, Timing::Knative { min_step_s: 1 }), 100);
        assert_eq!(s.steps(), 99);
        assert_eq!(s.step_size(), 1);
        let t = table(&s);
        assert_eq!(t[0], (1, 0));
        assert_eq!(t[1], (2, 1_000 + 1_203)); // 1 s + 1.2020202 s, rounded up
        assert_eq!(t[99], (100, 120_000));
        // "step-begin > 1s" (minimum step 3 s): round(99 / 39) = 3% every
        // 3 s, 33 steps, done 102 s in: before the 120 s asked for.
        let s = group(&plan(120, Timing::Knative { min_step_s: 3 }), 100);
        assert_eq!((s.steps(), s.step_size()), (33, 3));
        let t = table(&s);
        assert_eq!(t[1], (4, 6_000));
        assert_eq!(t[33], (100, 3_000 + 33 * 3_000));
        // "step size round up": 75% → round(74 / 39) = 2; "Percent not 100%":
        // 50% → round(49 / 39) = 1, 49 steps of 3 s (147 s, past the 120).
        assert_eq!(
            group(&plan(120, Timing::Knative { min_step_s: 3 }), 75).step_size(),
            2
        );
        let s = group(&plan(120, Timing::Knative { min_step_s: 3 }), 50);
        assert_eq!((s.steps(), s.step_size()), (49, 1));
        assert_eq!(s.end_ms() - START, 3_000 + 49 * 3_000);
        // "días antiguos": a minimum step longer than the duration moves the
        // whole rest in one 1 s step.
        let s = group(&plan(120, Timing::Knative { min_step_s: 201 }), 13);
        assert_eq!((s.steps(), s.step_size()), (1, 12));
        assert_eq!(table(&s), [(1, 0), (13, 202_000)]);
    }

    #[test]
    fn the_reconcile_tests_worked_formula() {
        // TestReconcileIngressUpdateReenqueueRollout: 48%, ready 5 s in; for
        // 120 s: 23 steps of 2% every 5 s.
        let s = group(&plan(120, Timing::Knative { min_step_s: 5 }), 48);
        assert_eq!(s.step_size(), 2);
        assert_eq!(table(&s)[1], (3, 10_000));
        // For 600 s: 47 steps of 1% every 595 s / 47.
        let s = group(&plan(600, Timing::Knative { min_step_s: 5 }), 48);
        assert_eq!((s.steps(), s.step_size()), (47, 1));
        assert_eq!(s.end_ms() - START, 600_000);
    }

    #[test]
    fn before_the_start_the_previous_revision_has_the_share() {
        let s = group(&plan(400, Timing::Even { steps: 4 }), 100);
        let at = |ms: u64| -> Vec<(usize, u32)> {
            percents(s.split_at(ms).unwrap())
                .into_iter()
                .map(|(d, p)| (d.index(), p))
                .collect()
        };
        assert_eq!(at(0), [(0, 100)]);
        assert_eq!(at(START - 1), [(0, 100)]);
        assert_eq!(s.step_at(START - 1), None);
        assert_eq!(at(START), [(0, 99), (9, 1)]);
        assert_eq!(s.step_at(START), Some(0));
        assert_eq!(at(START + 99_999), [(0, 99), (9, 1)]);
        assert_eq!(at(START + 100_000), [(0, 74), (9, 26)]);
        assert_eq!(at(START + 400_000), [(9, 100)]);
        assert_eq!(s.step_at(START + 400_000), Some(4));
        assert_eq!(at(u64::MAX), [(9, 100)]);
        assert_eq!(s.shares_before(), [(d(0), 100)]);
    }

    /// `steps` given: the project's even timing, Knative's step size
    /// (`round(99 / steps)`), the last move landing at the end.
    #[test]
    fn even_steps_round_like_knative_and_the_last_move_lands_at_the_end() {
        let even = |steps, p| table(&group(&plan(600, Timing::Even { steps }), p));
        assert_eq!(
            even(4, 100),
            [
                (1, 0),
                (26, 150_000),
                (51, 300_000),
                (76, 450_000),
                (100, 600_000)
            ]
        );
        // 99 / 7 = 14.1 → 14: eight moves, the last of 1%.
        let seven = even(7, 100);
        assert_eq!(seven.len(), 9);
        assert_eq!(seven[7], (99, 525_000));
        assert_eq!(seven[8], (100, 600_000));
        // A share below 100%: round(69 / 4) = 17; the last move ends at 70.
        assert_eq!(
            even(4, 70),
            [
                (1, 0),
                (18, 120_000),
                (35, 240_000),
                (52, 360_000),
                (69, 480_000),
                (70, 600_000)
            ]
        );
    }

    #[test]
    fn a_group_of_one_percent_or_none_does_not_roll() {
        let p = plan(600, Timing::Knative { min_step_s: 1 });
        for share in [0, 1] {
            assert_eq!(
                Schedule::new(&p, share, |m| vec![(d(0), share - m), (d(9), m)]).unwrap(),
                None
            );
        }
    }

    #[test]
    fn the_new_revision_only_gains_from_move_to_move() {
        // A sticky key on the new revision stays there: its share grows at
        // every move. Every share from 2% to 100%, both timings.
        for p in 2..=100 {
            for timing in [
                Timing::Knative { min_step_s: 1 },
                Timing::Knative { min_step_s: 4 },
                Timing::Even { steps: 7 },
            ] {
                for duration in [1, 30, 600] {
                    let s = group(&plan(duration, timing), p);
                    let t = table(&s);
                    for pair in t.windows(2) {
                        assert!(pair[1].0 > pair[0].0, "{p}% {timing:?} {duration}s: {t:?}");
                        assert!(pair[1].1 >= pair[0].1, "{p}% {timing:?}: {t:?}");
                    }
                    assert_eq!(t.last().unwrap().0, p);
                }
            }
        }
    }
}
