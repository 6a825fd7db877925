//! Timed rollouts: Knative's `serving.knative.dev/rollout-duration`, done in
//! the proxy instead of a controller.
//!
//! Knative's step rule (serving, pkg/reconciler/route/traffic/rollout.go,
//! `computeProperties`): the new revision gets 1% at once, then the rest
//! moves in steps of `round((P - 1) / steps)` percent (Go's `math.Round`,
//! half away from zero), repeated until it has everything; older revisions
//! are drained newest first. "100% in 4 steps is 1% → 26% → 51% → 76% →
//! 100%."
//!
//! Knative keeps stepping at `duration / steps` intervals until the new
//! revision has it all, even past the deadline, and when `steps × size`
//! falls short of P - 1 a fixed end would leave one big last jump. Here the
//! end is a promise: with step size `s`, the rollout makes
//! `m = ceil((P - 1) / s)` moves, equally spaced over the duration (move k at
//! `start + k × duration / m`, rounded up to the millisecond), each of `s`
//! percent except the last, which moves what is left (at most `s`) and lands
//! exactly at `start + duration`. Knative's own example is unchanged; 7 steps
//! (s = 14) become 8 moves: 1%, 15%, …, 99%, 100%.
//!
//! The schedule is a pure function of the proxy's clock, so every worker and
//! replica computes the same split at the same instant with no shared state.
//! Every split of the schedule is built when the configuration is compiled; a
//! request only computes its move number.

use crate::split::{DestinationId, Split, SplitError, BUCKETS_PER_PERCENT};

/// The most steps a rollout may ask for: one per percent after the first.
pub const MAX_STEPS: u32 = 99;

/// A compiled schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    start_ms: u64,
    duration_ms: u64,
    /// Moves after the first 1%; the last one lands at the end.
    moves: u32,
    /// Percent each move gives the new revision (the last may give less).
    step_size: u32,
    /// `splits[k]` after move k: the first 1% at k = 0, everything at
    /// k = `moves`.
    splits: Box<[Split]>,
}

/// The step size and the number of moves that carry `to_move` percent in
/// steps of Knative's size for `steps` steps.
fn schedule(to_move: u32, steps: u32) -> (u32, u32) {
    let steps = steps.max(1);
    // Knative rounds half away from zero (Go's math.Round).
    let step_size = ((to_move * 2 + steps) / (steps * 2)).max(1);
    (step_size, to_move.div_ceil(step_size).max(1))
}

impl Rollout {
    /// `base` are the service's `(destination, percent)` shares in layout
    /// order (the rolled-to destination is not among them, or at 0%);
    /// `target` is the destination rolled to, placed last in the layout so
    /// that it only ever takes buckets from its neighbour: the newest older
    /// revision, drained first. `steps` is the configured number of steps,
    /// which sets the step size.
    pub fn new(
        base: &[(DestinationId, u32)],
        target: DestinationId,
        start_ms: u64,
        duration_ms: u64,
        steps: u32,
    ) -> Result<Rollout, SplitError> {
        let remaining: u32 = base
            .iter()
            .filter(|(d, _)| *d != target)
            .map(|(_, p)| *p)
            .sum();
        let (step_size, moves) = schedule(remaining.saturating_sub(1), steps);
        let splits = (0..=moves)
            .map(|k| {
                // Below the last move 1 + k·s < remaining, so only the last
                // one is short.
                let moved = if k == moves {
                    remaining
                } else {
                    k.saturating_mul(step_size).saturating_add(1).min(remaining)
                };
                Split::new(shares_after_moving(base, target, moved))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rollout {
            start_ms,
            duration_ms,
            moves,
            step_size,
            splits: splits.into(),
        })
    }

    /// The split in force at `now_ms` (Unix milliseconds), or `None` before
    /// the start (the base split holds).
    pub fn split_at(&self, now_ms: u64) -> Option<&Split> {
        let step = self.step_at(now_ms)?;
        self.splits
            .get(step as usize)
            .or_else(|| self.splits.last())
    }

    /// The move in force at `now_ms`: `None` before the start, 0 for the
    /// first 1%, k from move k's instant on, [`Rollout::steps`] from the end
    /// on.
    pub fn step_at(&self, now_ms: u64) -> Option<u32> {
        let elapsed = now_ms.checked_sub(self.start_ms)?;
        if elapsed >= self.duration_ms {
            return Some(self.moves);
        }
        // In u128: elapsed × moves can exceed u64 for durations of years.
        let step =
            u128::from(elapsed) * u128::from(self.moves) / u128::from(self.duration_ms.max(1));
        Some(u32::try_from(step).unwrap_or(self.moves))
    }

    /// The instant of move k (Unix milliseconds): the start for k = 0, the
    /// end for k = [`Rollout::steps`], `None` beyond.
    pub fn step_start_ms(&self, k: u32) -> Option<u64> {
        if k > self.moves {
            return None;
        }
        // The first millisecond at which `step_at` gives k.
        let offset =
            (u128::from(k) * u128::from(self.duration_ms)).div_ceil(u128::from(self.moves.max(1)));
        Some(
            self.start_ms
                .saturating_add(u64::try_from(offset).unwrap_or(u64::MAX)),
        )
    }

    /// The number of moves after the first 1%, as the schedule makes them:
    /// `ceil(99 / step size)`, which differs from the configured steps when
    /// they do not divide the 99% evenly.
    pub fn steps(&self) -> u32 {
        self.moves
    }

    /// Percent each move gives the new revision; the last move gives what
    /// is left, at most this.
    pub fn step_size(&self) -> u32 {
        self.step_size
    }

    /// Percent of traffic on each destination after move k (0 for the
    /// first 1%, [`Rollout::steps`] for the end), for tests and the CLI.
    pub fn step_shares(&self, k: u32) -> Option<Vec<(DestinationId, u32)>> {
        self.splits.get(k as usize).map(|s| {
            s.shares()
                .into_iter()
                .map(|(d, b)| (d, b / BUCKETS_PER_PERCENT))
                .collect()
        })
    }

    pub fn start_ms(&self) -> u64 {
        self.start_ms
    }

    pub fn end_ms(&self) -> u64 {
        self.start_ms.saturating_add(self.duration_ms)
    }
}

/// Base shares (percent) with `moved` percent taken from the end of the
/// layout backwards and given to `target`, appended last. Returned in buckets.
fn shares_after_moving(
    base: &[(DestinationId, u32)],
    target: DestinationId,
    moved: u32,
) -> Vec<(DestinationId, u32)> {
    let mut shares: Vec<(DestinationId, u32)> =
        base.iter().filter(|(d, _)| *d != target).copied().collect();
    let mut to_take = moved;
    for (_, share) in shares.iter_mut().rev() {
        let take = to_take.min(*share);
        *share -= take;
        to_take -= take;
    }
    shares.push((target, moved - to_take));
    shares
        .into_iter()
        .map(|(d, p)| (d, p * BUCKETS_PER_PERCENT))
        .collect()
}

/// The default number of steps: the smallest moves that stay at least a
/// second apart, as Knative steps at most once a second. 1% a move (99
/// moves) from 99 s on; shorter rollouts move more at a time (70 s: 2% a
/// move, 50 moves 1.4 s apart), and one under 2 s moves all 99% at its end.
pub fn default_steps(duration_ms: u64) -> u32 {
    let seconds = (duration_ms / 1000).max(1);
    // Moves grow with steps (the step size only shrinks), so the most steps
    // that fit give the smallest moves.
    (1..=MAX_STEPS)
        .rev()
        .find(|&steps| u64::from(schedule(MAX_STEPS, steps).1) <= seconds)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: u64 = 1_764_086_400_000; // 2025-11-25T16:00:00Z

    fn d(index: usize) -> DestinationId {
        DestinationId::new(index)
    }

    /// Shares with destinations by number.
    fn ids(shares: &[(usize, u32)]) -> Vec<(DestinationId, u32)> {
        shares.iter().map(|&(i, p)| (d(i), p)).collect()
    }

    /// A move's shares with destinations by number.
    fn plain(shares: Option<Vec<(DestinationId, u32)>>) -> Vec<(usize, u32)> {
        shares
            .unwrap()
            .iter()
            .map(|&(d, p)| (d.index(), p))
            .collect()
    }

    fn single(index: usize) -> Split {
        Split::new([(d(index), crate::split::BUCKETS)]).unwrap()
    }

    fn rollout(base: &[(usize, u32)], steps: u32) -> Rollout {
        Rollout::new(&ids(base), d(9), START, 400_000, steps).unwrap()
    }

    /// Percent of destination 9 (the rolled-to revision) at an instant.
    fn target_percent(r: &Rollout, base: &Split, now: u64) -> u32 {
        r.split_at(now)
            .unwrap_or(base)
            .shares()
            .iter()
            .find(|(dest, _)| dest.index() == 9)
            .map_or(0, |(_, b)| b / BUCKETS_PER_PERCENT)
    }

    #[test]
    fn knatives_own_example_100_percent_in_4_steps() {
        let r = rollout(&[(0, 100)], 4);
        let base = single(0);
        let at = |ms: u64| target_percent(&r, &base, ms);
        assert_eq!(at(START - 1), 0, "before the start the base split holds");
        assert_eq!(at(START), 1, "1% at once");
        assert_eq!(at(START + 99_999), 1);
        assert_eq!(at(START + 100_000), 26);
        assert_eq!(at(START + 199_999), 26);
        assert_eq!(at(START + 200_000), 51);
        assert_eq!(at(START + 300_000), 76);
        assert_eq!(at(START + 399_999), 76);
        assert_eq!(at(START + 400_000), 100, "everything at the end");
        assert_eq!(at(u64::MAX), 100);
        assert_eq!(r.steps(), 4);
        assert_eq!(r.step_at(START - 1), None);
        assert_eq!(r.step_at(START), Some(0));
        assert_eq!(r.step_at(START + 199_999), Some(1));
        assert_eq!(r.step_at(START + 399_999), Some(3));
        assert_eq!(r.step_at(START + 400_000), Some(4));
        assert_eq!(r.step_at(u64::MAX), Some(4));
    }

    #[test]
    fn older_revisions_drain_newest_first() {
        // Layout: v1 60, v2 40 (v2 is the newest of the older revisions).
        let r = rollout(&[(0, 60), (1, 40)], 4);
        assert_eq!(plain(r.step_shares(0)), vec![(0, 60), (1, 39), (9, 1)]);
        assert_eq!(plain(r.step_shares(1)), vec![(0, 60), (1, 14), (9, 26)]);
        assert_eq!(plain(r.step_shares(2)), vec![(0, 49), (9, 51)]);
        assert_eq!(plain(r.step_shares(3)), vec![(0, 24), (9, 76)]);
        assert_eq!(plain(r.step_shares(4)), vec![(9, 100)]);
    }

    /// Checks a schedule of `steps` over `duration`: the new revision's
    /// percent after each move, and each move's instant (after the start),
    /// to the millisecond and 1 ms before.
    fn check_schedule(steps: u32, duration: u64, percents: &[u32], instants: &[u64]) {
        let r = Rollout::new(&ids(&[(0, 100)]), d(9), START, duration, steps).unwrap();
        let base = single(0);
        let at = |ms: u64| target_percent(&r, &base, ms);
        let what = format!("{steps} steps over {duration} ms");
        assert_eq!(percents.len(), instants.len(), "{what}");
        assert_eq!(r.steps() as usize, percents.len() - 1, "{what}");
        assert_eq!(at(START - 1), 0, "{what}: before the start");
        assert_eq!(r.step_at(START - 1), None);
        for (k, (&percent, &instant)) in percents.iter().zip(instants).enumerate() {
            let k = k as u32;
            assert_eq!(
                r.step_start_ms(k),
                Some(START + instant),
                "{what}: move {k}"
            );
            assert_eq!(at(START + instant), percent, "{what}: move {k}");
            assert_eq!(r.step_at(START + instant), Some(k), "{what}: move {k}");
            let shares = plain(r.step_shares(k));
            assert_eq!(shares.last(), Some(&(9, percent)), "{what}: move {k}");
            if k > 0 {
                let before = percents[k as usize - 1];
                assert_eq!(
                    at(START + instant - 1),
                    before,
                    "{what}: 1 ms before move {k}"
                );
                assert_eq!(r.step_at(START + instant - 1), Some(k - 1));
                // Every move is the step size, except a smaller last one.
                let size = percent - before;
                if k < r.steps() {
                    assert_eq!(size, r.step_size(), "{what}: move {k}");
                } else {
                    assert!(
                        size > 0 && size <= r.step_size(),
                        "{what}: last move {size}"
                    );
                }
            }
        }
        assert_eq!(instants.first(), Some(&0), "{what}: 1% at the start");
        assert_eq!(instants.last(), Some(&duration), "{what}: 100% at the end");
        assert_eq!(percents.last(), Some(&100), "{what}");
        assert_eq!(at(START + duration), 100);
        assert_eq!(at(u64::MAX), 100);
        assert_eq!(r.step_start_ms(r.steps() + 1), None);
    }

    /// `n` moves of `duration`: move k at k·duration/n, rounded up.
    fn even(n: u64, duration: u64) -> Vec<u64> {
        (0..=n).map(|k| (k * duration).div_ceil(n)).collect()
    }

    #[test]
    fn step_sizes_round_like_knative_and_the_last_move_lands_at_the_end() {
        const TEN_MINUTES: u64 = 600_000;
        // 99 / 3 = 33.
        check_schedule(
            3,
            TEN_MINUTES,
            &[1, 34, 67, 100],
            &[0, 200_000, 400_000, 600_000],
        );
        // 99 / 4 = 24.75 → 25: Knative's example.
        check_schedule(
            4,
            TEN_MINUTES,
            &[1, 26, 51, 76, 100],
            &[0, 150_000, 300_000, 450_000, 600_000],
        );
        // 99 / 6 = 16.5 → 17 (half away from zero); the last move is 14.
        check_schedule(
            6,
            TEN_MINUTES,
            &[1, 18, 35, 52, 69, 86, 100],
            &[0, 100_000, 200_000, 300_000, 400_000, 500_000, 600_000],
        );
        // 99 / 7 = 14.1 → 14: eight moves, the last of 1%.
        check_schedule(
            7,
            TEN_MINUTES,
            &[1, 15, 29, 43, 57, 71, 85, 99, 100],
            &[
                0, 75_000, 150_000, 225_000, 300_000, 375_000, 450_000, 525_000, 600_000,
            ],
        );
        // Uneven spacing rounds each instant up to the millisecond.
        check_schedule(
            6,
            1_000,
            &[1, 18, 35, 52, 69, 86, 100],
            &[0, 167, 334, 500, 667, 834, 1000],
        );
        // 99 / 40 = 2.475 → 2: 50 moves 12 s apart, 1, 3, ..., 99, then 100
        // (not 79% and a 21% jump at the end).
        let forty: Vec<u32> = (0..50).map(|k| 1 + 2 * k).chain([100]).collect();
        let forty_at = even(50, TEN_MINUTES);
        assert_eq!(forty_at[1..4], [12_000, 24_000, 36_000]);
        check_schedule(40, TEN_MINUTES, &forty, &forty_at);
        // 99 / 70 = 1.41 → 1: 99 moves of 1% (not 70% and a 30% jump),
        // 6060.6 ms apart.
        let seventy: Vec<u32> = (1..=100).collect();
        let seventy_at = even(99, TEN_MINUTES);
        assert_eq!(seventy_at[1..3], [6_061, 12_122]);
        assert_eq!(seventy_at[98..], [593_940, 600_000]);
        check_schedule(70, TEN_MINUTES, &seventy, &seventy_at);
        // 99 / 66 = 1.5 → 2; 99 / 67 = 1.48 → 1.
        check_schedule(66, TEN_MINUTES, &forty, &forty_at);
        check_schedule(67, TEN_MINUTES, &seventy, &seventy_at);
        // 99 / 2 = 49.5 → 50; 99 / 1 = 99.
        check_schedule(2, TEN_MINUTES, &[1, 51, 100], &[0, 300_000, 600_000]);
        check_schedule(1, TEN_MINUTES, &[1, 100], &[0, 600_000]);
    }

    #[test]
    fn the_default_is_the_smallest_moves_at_least_a_second_apart() {
        let default = |duration: u64, percents: &[u32], instants: &[u64]| {
            check_schedule(default_steps(duration), duration, percents, instants);
        };
        let one_percent: Vec<u32> = (1..=100).collect();
        // 99 s and more: 1% a move.
        default(99_000, &one_percent, &even(99, 99_000));
        default(400_000, &one_percent, &even(99, 400_000));
        default(3_600_000, &one_percent, &even(99, 3_600_000));
        // 70 s: 2% a move, 50 moves 1.4 s apart, the last of 1%.
        let two_percent: Vec<u32> = (0..50).map(|k| 1 + 2 * k).chain([100]).collect();
        let seventy_at = even(50, 70_000);
        assert_eq!(seventy_at[1..3], [1_400, 2_800]);
        default(70_000, &two_percent, &seventy_at);
        // 7 s: seven moves of 14% would need eight; six of 17% fit.
        default(7_000, &[1, 18, 35, 52, 69, 86, 100], &even(6, 7_000));
        // Under 2 s: 1%, then everything at the end.
        default(400, &[1, 100], &[0, 400]);
        default(1_999, &[1, 100], &[0, 1_999]);
        default(2_000, &[1, 51, 100], &[0, 1_000, 2_000]);
        // Never more than one move a second.
        for seconds in 1..=120u64 {
            let r = Rollout::new(
                &ids(&[(0, 100)]),
                d(9),
                START,
                seconds * 1000,
                default_steps(seconds * 1000),
            )
            .unwrap();
            assert!(
                u64::from(r.steps()) <= seconds,
                "{seconds} s: {} moves",
                r.steps()
            );
        }
    }

    #[test]
    fn a_new_revision_only_gains_from_move_to_move() {
        // A sticky key on the new revision stays there: its share grows at
        // every move, taking buckets only from its neighbour.
        for steps in 1..=MAX_STEPS {
            let r = Rollout::new(
                &ids(&[(0, 30), (1, 50), (2, 20)]),
                d(9),
                START,
                600_000,
                steps,
            )
            .unwrap();
            let mut before = 0;
            for k in 0..=r.steps() {
                let shares = plain(r.step_shares(k));
                let (target, percent) = *shares.last().unwrap();
                assert_eq!(target, 9);
                assert!(percent > before, "{steps} steps, move {k}");
                assert_eq!(shares.iter().map(|(_, p)| p).sum::<u32>(), 100);
                before = percent;
            }
            assert_eq!(before, 100);
        }
    }
}
