//! Timed rollouts: Knative's `serving.knative.dev/rollout-duration`, done in
//! the proxy instead of a controller.
//!
//! Knative's step rule (serving, pkg/reconciler/route/traffic/rollout.go):
//! the new revision gets 1% at once, then the rest moves in equal steps of
//! `round((P - 1) / steps)` percent, capped at P; older revisions are drained
//! newest first. "100% in 4 steps is 1% → 26% → 51% → 76% → 100%."
//!
//! Here the schedule is a pure function of the proxy's clock, so every worker
//! and replica computes the same split at the same instant with no shared
//! state: before `start` the base split holds; from `start` step k (0-based)
//! of `steps` lasts `duration / steps`; from `start + duration` the new
//! revision has everything. Every split of the schedule is built when the
//! configuration is compiled; a request only computes its step index.

use crate::split::{DestinationId, Split, SplitError, BUCKETS_PER_PERCENT};

/// A compiled schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    start_ms: u64,
    duration_ms: u64,
    steps: u32,
    /// `splits[k]` for step k in `0..steps`, then the final split.
    splits: Box<[Split]>,
}

impl Rollout {
    /// `base` are the service's `(destination, percent)` shares in layout
    /// order (the rolled-to destination is not among them, or at 0%);
    /// `target` is the destination rolled to, placed last in the layout so
    /// that it only ever takes buckets from its neighbour: the newest older
    /// revision, drained first.
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
        let step_size = if steps == 0 {
            remaining
        } else {
            // Knative rounds half away from zero (Go's math.Round).
            (remaining.saturating_sub(1) * 2 + steps) / (steps * 2)
        };
        let splits = (0..=steps)
            .map(|k| {
                let moved = if k == steps {
                    remaining
                } else {
                    (1 + k * step_size).min(remaining)
                };
                Split::new(shares_after_moving(base, target, moved))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rollout {
            start_ms,
            duration_ms,
            steps,
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

    /// The step in force at `now_ms`: `None` before the start, `k` (0-based)
    /// during step k, [`Rollout::steps`] from the end on.
    pub fn step_at(&self, now_ms: u64) -> Option<u32> {
        let elapsed = now_ms.checked_sub(self.start_ms)?;
        if elapsed >= self.duration_ms {
            return Some(self.steps);
        }
        // In u128: elapsed × steps can exceed u64 for durations of years.
        let step =
            u128::from(elapsed) * u128::from(self.steps) / u128::from(self.duration_ms.max(1));
        Some(u32::try_from(step).unwrap_or(self.steps))
    }

    /// The number of steps after the first 1%.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// Percent of traffic on each destination at step k (0-based; `steps`
    /// for the end), for tests and the CLI.
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

/// The default number of steps: 1% each, at most one a second.
pub fn default_steps(duration_ms: u64) -> u32 {
    (duration_ms / 1000).clamp(1, 99) as u32
}

/// Parses an RFC 3339 instant (`2026-11-25T16:00:00Z`,
/// `2026-11-25T17:00:00.250+01:00`) into Unix milliseconds.
pub fn parse_instant(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let s = text.get(from..from + len)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 20
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        let first3 = fraction.get(..len.min(3))?;
        millis = first3.parse::<i64>().ok()? * 10i64.pow(3 - first3.len() as u32);
        rest = fraction.get(len..)?;
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes().get(3) != Some(&b':') {
                return None;
            }
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 60 + m)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    u64::try_from(seconds * 1000 + millis).ok()
}

/// `2026-11-25T16:05:00Z`, with milliseconds only when there are some.
pub fn format_instant(ms: u64) -> String {
    let seconds = ms / 1000;
    let millis = ms % 1000;
    let days = seconds / 86_400;
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    let fraction = if millis == 0 {
        String::new()
    } else {
        format!(".{millis:03}")
    };
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z")
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// era-based method, "chrono-compatible low-level date algorithms").
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the era-based method
/// described by Howard Hinnant, "chrono-compatible low-level date algorithms").
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a Go-style duration of whole numbers with units `h`, `m`, `s`,
/// `ms` (`10m`, `1h30m`, `380s`, `1500ms`) into milliseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut rest = text;
    let mut total: u64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let value: u64 = rest.get(..len)?.parse().ok()?;
        rest = rest.get(len..)?;
        let (unit_ms, unit_len) = if rest.starts_with("ms") {
            (1, 2)
        } else if rest.starts_with('h') {
            (3_600_000, 1)
        } else if rest.starts_with('m') {
            (60_000, 1)
        } else if rest.starts_with('s') {
            (1000, 1)
        } else {
            return None;
        };
        total = total.checked_add(value.checked_mul(unit_ms)?)?;
        rest = rest.get(unit_len..)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: u64 = 1_764_086_400_000; // 2025-11-25T16:00:00Z

    fn rollout(base: &[(u32, u32)], steps: u32) -> Rollout {
        Rollout::new(base, 9, START, 400_000, steps).unwrap()
    }

    /// Percent of destination 9 (the rolled-to revision) at an instant.
    fn target_percent(r: &Rollout, base: &Split, now: u64) -> u32 {
        r.split_at(now)
            .unwrap_or(base)
            .shares()
            .iter()
            .find(|(d, _)| *d == 9)
            .map_or(0, |(_, b)| b / BUCKETS_PER_PERCENT)
    }

    #[test]
    fn knatives_own_example_100_percent_in_4_steps() {
        let r = rollout(&[(0, 100)], 4);
        let base = Split::Single(0);
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
        assert_eq!(r.step_shares(0).unwrap(), vec![(0, 60), (1, 39), (9, 1)]);
        assert_eq!(r.step_shares(1).unwrap(), vec![(0, 60), (1, 14), (9, 26)]);
        assert_eq!(r.step_shares(2).unwrap(), vec![(0, 49), (9, 51)]);
        assert_eq!(r.step_shares(3).unwrap(), vec![(0, 24), (9, 76)]);
        assert_eq!(r.step_shares(4).unwrap(), vec![(9, 100)]);
    }

    #[test]
    fn step_sizes_round_like_knative() {
        // 99 / 8 = 12.375 → 12: 1, 13, 25, ..., 85, then 100 at the end.
        let r = rollout(&[(0, 100)], 8);
        let target = |k| r.step_shares(k).unwrap().last().copied().unwrap();
        assert_eq!(target(0), (9, 1));
        assert_eq!(target(1), (9, 13));
        assert_eq!(target(7), (9, 85));
        assert_eq!(target(8), (9, 100));
        // 99 / 2 = 49.5 → 50.
        let r = rollout(&[(0, 100)], 2);
        assert_eq!(r.step_shares(1).unwrap(), vec![(0, 49), (9, 51)]);
        // 99 steps of 1%.
        let r = rollout(&[(0, 100)], 99);
        assert_eq!(r.step_shares(98).unwrap(), vec![(0, 1), (9, 99)]);
    }

    #[test]
    fn instants() {
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_instant("2025-11-25T16:00:00Z"), Some(START));
        assert_eq!(parse_instant("2025-11-25T17:00:00+01:00"), Some(START));
        assert_eq!(parse_instant("2025-11-25T15:30:00-00:30"), Some(START));
        assert_eq!(parse_instant("2025-11-25T16:00:00.25Z"), Some(START + 250));
        assert_eq!(
            parse_instant("2025-11-25T16:00:00.123456Z"),
            Some(START + 123)
        );
        assert_eq!(
            parse_instant("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        for bad in [
            "",
            "2025-11-25",
            "2025-11-25T16:00:00",
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-11-25T24:00:00Z",
            "2025-11-25T16:00:00.Z",
            "2025-11-25T16:00:00+1:00",
            "1969-12-31T23:59:59Z",
            "２０２５-11-25T16:00:00Z",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("380s"), Some(380_000));
        assert_eq!(parse_duration("10m"), Some(600_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("1500ms"), Some(1500));
        assert_eq!(parse_duration("1m30s250ms"), Some(90_250));
        for bad in ["", "10", "1.5h", "-1s", "1d", "s", "1h 30m"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn default_steps_are_one_percent_at_most_one_a_second() {
        assert_eq!(default_steps(400), 1);
        assert_eq!(default_steps(30_000), 30);
        assert_eq!(default_steps(3_600_000), 99);
    }
}
