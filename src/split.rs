//! How one service's traffic is divided among its revisions.
//!
//! A split is built once per configuration from validated percents and then
//! only read: a request either needs no draw at all ([`Split::Single`]) or maps
//! one random number to a bucket and the bucket to a destination.

use rand_core::Rng;

pub use crate::ids::DestinationId;

/// Buckets per 100%: a share is a whole number of hundredths of a percent.
pub const BUCKETS: u32 = 10_000;
/// Buckets per percent point.
pub const BUCKETS_PER_PERCENT: u32 = BUCKETS / 100;

/// One service's traffic split, normalised: zero shares dropped, the same
/// destination never listed twice, shares summing to exactly [`BUCKETS`].
/// [`Split::new`] is the only way to build one, so no other state exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split(Layout);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Layout {
    /// All traffic to one destination; no random number is spent on it.
    Single(DestinationId),
    /// Up to [`FEW`] destinations, held in place: the split of almost every
    /// service. At 10,000 services the ranges behind a pointer were a cache
    /// miss of their own on every draw, after the service's.
    Few(Few),
    /// Each destination owns a contiguous range of buckets, laid out in the
    /// order the shares were given: `ranges[i]` is the exclusive upper bucket
    /// of the i-th destination, so ranges are ascending and the last is
    /// [`BUCKETS`].
    Weighted(Box<[(u32, DestinationId)]>),
}

/// Ranges a split holds in place: with two-byte bounds and one-byte
/// destination positions, seven fit in the room the boxed ranges take with
/// their discriminant (24 bytes).
const FEW: usize = 7;

/// [`Layout::Weighted`]'s ranges, compact: `upper[i]` is the exclusive upper
/// bucket of destination `destination[i]`; the slots past `len` hold
/// `u16::MAX`, above every bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Few {
    upper: [u16; FEW],
    destination: [u8; FEW],
    len: u8,
}

impl Few {
    /// The ranges in place, if they fit.
    fn of(ranges: &[(u32, DestinationId)]) -> Option<Few> {
        if ranges.len() > FEW {
            return None;
        }
        let mut few = Few {
            upper: [u16::MAX; FEW],
            destination: [0; FEW],
            len: u8::try_from(ranges.len()).ok()?,
        };
        for ((upper, destination), &(u, d)) in few
            .upper
            .iter_mut()
            .zip(few.destination.iter_mut())
            .zip(ranges)
        {
            *upper = u16::try_from(u).ok()?;
            *destination = u8::try_from(d.index()).ok()?;
        }
        Some(few)
    }

    /// The destination owning `bucket` (below [`BUCKETS`]): the bounds are
    /// ascending, so its position is the number of bounds at or below the
    /// bucket, counted without a branch.
    fn pick(&self, bucket: u32) -> DestinationId {
        let at = self
            .upper
            .iter()
            .map(|&u| usize::from(u32::from(u) <= bucket))
            .sum::<usize>();
        let destination = self.destination.get(at).copied().unwrap_or_default();
        DestinationId::new(usize::from(destination))
    }

    fn ranges(&self) -> impl Iterator<Item = (u32, DestinationId)> + '_ {
        self.upper
            .iter()
            .zip(&self.destination)
            .take(usize::from(self.len))
            .map(|(&u, &d)| (u32::from(u), DestinationId::new(usize::from(d))))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// The shares do not add up to the whole.
    Sum { buckets: u64 },
}

impl Split {
    /// Builds a split from `(destination, buckets)` shares in layout order.
    /// Shares of one destination are merged at its first position; zero shares
    /// are dropped, so a 0% target is never drawn.
    pub fn new(
        shares: impl IntoIterator<Item = (DestinationId, u32)>,
    ) -> Result<Split, SplitError> {
        let shares = shares.into_iter();
        let mut merged: Vec<(DestinationId, u32)> = Vec::with_capacity(shares.size_hint().0);
        let mut total: u64 = 0;
        for (dest, share) in shares {
            total += u64::from(share);
            match merged.iter_mut().find(|(d, _)| *d == dest) {
                Some((_, s)) => *s = s.saturating_add(share),
                None => merged.push((dest, share)),
            }
        }
        if total != u64::from(BUCKETS) {
            return Err(SplitError::Sum { buckets: total });
        }
        merged.retain(|&(_, share)| share > 0);
        if let [(only, _)] = merged.as_slice() {
            return Ok(Split(Layout::Single(*only)));
        }
        let mut upper = 0;
        let ranges: Box<[(u32, DestinationId)]> = merged
            .into_iter()
            .map(|(dest, share)| {
                upper += share;
                (upper, dest)
            })
            .collect();
        Ok(Split(match Few::of(&ranges) {
            Some(few) => Layout::Few(few),
            None => Layout::Weighted(ranges),
        }))
    }

    /// The destination owning `bucket` (taken modulo [`BUCKETS`]).
    pub fn pick(&self, bucket: u32) -> DestinationId {
        match &self.0 {
            Layout::Single(dest) => *dest,
            Layout::Few(few) => few.pick(bucket % BUCKETS),
            Layout::Weighted(ranges) => {
                let bucket = bucket % BUCKETS;
                ranges
                    .iter()
                    .find(|(upper, _)| bucket < *upper)
                    .or(ranges.last())
                    .map_or(DestinationId::new(0), |&(_, dest)| dest)
            }
        }
    }

    /// A random destination, each with probability share / [`BUCKETS`].
    pub fn draw(&self, rng: &mut impl Rng) -> DestinationId {
        match &self.0 {
            Layout::Single(dest) => *dest,
            Layout::Few(_) | Layout::Weighted(_) => self.pick(bucket_of(rng.next_u64())),
        }
    }

    /// Each destination with its share in buckets, in layout order.
    pub fn shares(&self) -> Vec<(DestinationId, u32)> {
        match &self.0 {
            Layout::Single(dest) => vec![(*dest, BUCKETS)],
            Layout::Few(few) => shares_of(few.ranges()),
            Layout::Weighted(ranges) => shares_of(ranges.iter().copied()),
        }
    }
}

/// Ranges (exclusive upper bounds, ascending) as shares.
fn shares_of(ranges: impl Iterator<Item = (u32, DestinationId)>) -> Vec<(DestinationId, u32)> {
    let mut lower = 0;
    ranges
        .map(|(upper, dest)| {
            let share = upper - lower;
            lower = upper;
            (dest, share)
        })
        .collect()
}

/// Maps a uniformly random 64-bit number onto `0..BUCKETS` by multiply-shift
/// on its high half: no division, and a bias below BUCKETS / 2^32 (2.3e-6) per
/// bucket.
pub fn bucket_of(random: u64) -> u32 {
    (((random >> 32) * u64::from(BUCKETS)) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;
    use rand_xorshift::XorShiftRng;

    fn percent(p: u32) -> u32 {
        p * BUCKETS_PER_PERCENT
    }

    fn d(index: usize) -> DestinationId {
        DestinationId::new(index)
    }

    #[test]
    fn one_nonzero_share_is_single() {
        let split = Split::new([(d(0), percent(100)), (d(1), 0), (d(2), 0)]).unwrap();
        assert_eq!(split.shares(), vec![(d(0), BUCKETS)]);
    }

    #[test]
    fn same_destination_is_merged_at_first_position() {
        let split = Split::new([
            (d(0), percent(30)),
            (d(1), percent(40)),
            (d(0), percent(30)),
        ])
        .unwrap();
        assert_eq!(
            split.shares(),
            vec![(d(0), percent(60)), (d(1), percent(40))]
        );
        let split = Split::new([(d(1), percent(50)), (d(1), percent(50))]).unwrap();
        assert_eq!(split.shares(), vec![(d(1), BUCKETS)]);
    }

    #[test]
    fn shares_must_make_the_whole() {
        assert_eq!(
            Split::new([(d(0), percent(80)), (d(1), percent(10))]),
            Err(SplitError::Sum {
                buckets: u64::from(percent(90))
            })
        );
        assert!(Split::new([]).is_err());
    }

    #[test]
    fn pick_follows_the_layout() {
        let split = Split::new([(d(0), percent(80)), (d(1), 0), (d(2), percent(20))]).unwrap();
        assert_eq!(split.pick(0), d(0));
        assert_eq!(split.pick(percent(80) - 1), d(0));
        assert_eq!(split.pick(percent(80)), d(2));
        assert_eq!(split.pick(BUCKETS - 1), d(2));
        assert_eq!(split.pick(BUCKETS), d(0));
    }

    /// The ranges held in place pick as the boxed ones do, bucket by bucket;
    /// splits that do not fit (more than [`FEW`] destinations, or a
    /// destination past 255) stay boxed.
    #[test]
    fn ranges_in_place_pick_as_boxed_ones() {
        let cases: [&[(usize, u32)]; 4] = [
            &[(0, 8000), (1, 2000)],
            &[(0, 4000), (1, 3000), (2, 1500), (3, 1000), (4, 500)],
            &[(6, 1), (5, 1), (4, 1), (3, 1), (2, 1), (1, 1), (0, 9994)],
            &[(0, 9999), (1, 1)],
        ];
        for shares in cases {
            let split = Split::new(shares.iter().map(|&(i, s)| (d(i), s))).unwrap();
            let Layout::Few(few) = &split.0 else {
                panic!("{shares:?} is not held in place");
            };
            let boxed = Split(Layout::Weighted(few.ranges().collect()));
            for bucket in 0..BUCKETS + 2 {
                assert_eq!(
                    split.pick(bucket),
                    boxed.pick(bucket),
                    "{shares:?} {bucket}"
                );
            }
            assert_eq!(split.shares(), boxed.shares());
        }
        let eight = Split::new((0..8).map(|i| (d(i), BUCKETS / 8))).unwrap();
        assert!(matches!(eight.0, Layout::Weighted(_)));
        assert_eq!(eight.pick(BUCKETS - 1), d(7));
        let far = Split::new([(d(0), 5000), (d(300), 5000)]).unwrap();
        assert!(matches!(far.0, Layout::Weighted(_)));
        assert_eq!(far.pick(BUCKETS - 1), d(300));
        assert_eq!(std::mem::size_of::<Split>(), 24);
    }

    #[test]
    fn bucket_of_spans_the_range() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_of(1 << 63), BUCKETS / 2);
    }

    /// Draws `n` times with a fixed seed and checks every destination's count
    /// against its expected binomial count within 4 standard deviations
    /// (a false failure has probability below 1e-4 per destination for a fair
    /// generator; with the fixed seed the outcome is fixed anyway).
    fn assert_draw_shares(percents: &[u32]) {
        const N: u64 = 100_000;
        let shares: Vec<(DestinationId, u32)> = percents
            .iter()
            .enumerate()
            .map(|(i, &p)| (d(i), percent(p)))
            .collect();
        let split = Split::new(shares).unwrap();
        let mut rng = XorShiftRng::seed_from_u64(0x006b_6e61_7469_7665);
        let mut counts = vec![0u64; percents.len()];
        for _ in 0..N {
            counts[split.draw(&mut rng).index()] += 1;
        }
        for (i, &p) in percents.iter().enumerate() {
            let prob = f64::from(p) / 100.0;
            let mean = N as f64 * prob;
            let sigma = (N as f64 * prob * (1.0 - prob)).sqrt();
            let got = counts[i] as f64;
            assert!(
                (got - mean).abs() <= 4.0 * sigma,
                "{percents:?}: destination {i} drawn {got} times, want {mean} ± {}",
                4.0 * sigma
            );
            if p == 0 {
                assert_eq!(counts[i], 0, "a 0% destination was drawn");
            }
        }
    }

    #[test]
    fn draw_80_20() {
        assert_draw_shares(&[80, 20]);
    }

    #[test]
    fn draw_80_10_10() {
        assert_draw_shares(&[80, 10, 10]);
    }

    #[test]
    fn draw_40_30_30() {
        assert_draw_shares(&[40, 30, 30]);
    }

    #[test]
    fn draw_50_50() {
        assert_draw_shares(&[50, 50]);
    }

    #[test]
    fn draw_never_picks_zero_percent() {
        assert_draw_shares(&[80, 0, 20, 0]);
    }
}
