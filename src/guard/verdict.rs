//! The verdict on one window of answers: is the candidate failing?
//!
//! The test is one-sided, on the candidate's `f` failures in `n` answers,
//! against the hypothesis that its probability of failing is at most
//! `p0 = base + tolerance`. `base` is an upper confidence bound on the
//! failure rate of the rest of the service's split answers in the same
//! window: the `q` above their rate `g/m` where `m · D(g/m ‖ q) = ln(1/α)`
//! (when they are at least `minAnswers`; otherwise, or without `compare`,
//! 0). The candidate is judged failing when `f / n > p0` and `n · D(f/n ‖
//! p0) ≥ ln(1/α)`, with `D` the Kullback–Leibler divergence of two
//! Bernoulli distributions and `α = 10⁻⁶`. By the Chernoff–Hoeffding
//! bound, `P(F ≥ f) ≤ exp(−n · D(f/n ‖ p))` for every `p ≤ p0`, and the
//! same bound keeps the base's true rate under `base` but with probability
//! `α`: so a candidate that fails at most `tolerance` more often than the
//! rest is judged failing in a window with probability at most `2α`. A few
//! logarithms per window, no table.
//!
//! What that means at the defaults (100 answers, 5 points of tolerance) is
//! computed exactly by the tests below and stated in docs/guard.md: a
//! healthy candidate, failing as often as the rest, is tripped with a
//! probability far below 10⁻⁶ per window whatever the common rate; one
//! failing 30% of its answers against a healthy rest is tripped in its
//! first window with probability above 0.9.

/// ln(1/α) for α = 10⁻⁶: the evidence a verdict needs.
pub const EVIDENCE: f64 = 13.815_510_557_964_274;

/// The level of the test: the most probability with which a candidate
/// failing at most `p0` is tripped in one window.
pub const ALPHA: f64 = 1e-6;

/// Answers and failures counted for one side of the comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub answers: u64,
    pub failures: u64,
}

impl Tally {
    /// The failure rate; 0 without answers.
    pub fn rate(self) -> f64 {
        if self.answers == 0 {
            0.0
        } else {
            self.failures.min(self.answers) as f64 / self.answers as f64
        }
    }

    /// What was counted since `earlier`.
    pub fn since(self, earlier: Tally) -> Tally {
        Tally {
            answers: self.answers.saturating_sub(earlier.answers),
            failures: self.failures.saturating_sub(earlier.failures),
        }
    }
}

/// How a guard judges: from the configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Answers of the candidate a window needs before a verdict.
    pub min_answers: u64,
    /// How long a window may stay open without reaching `min_answers`.
    pub window_ms: u64,
    /// The failure rate the candidate may exceed the base's by, a fraction.
    pub tolerance: f64,
    /// Whether the base's rate raises the bar.
    pub compare: bool,
    /// An answer slower than this counts as failed.
    pub latency_ms: Option<u64>,
}

/// The verdict on a window, and what it rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub failing: bool,
    /// The failure rate the candidate was allowed (`p0`).
    pub bound: f64,
    /// The base's rate the bound was raised by: the upper confidence bound
    /// of its observed rate (0 when not compared).
    pub base_rate: f64,
    /// `n · D(f/n ‖ p0)`, against [`EVIDENCE`].
    pub evidence: f64,
}

/// The Kullback–Leibler divergence of Bernoulli(`x`) from Bernoulli(`p`),
/// for `p < x`: how surprising a rate `x` is under `p`.
fn divergence(x: f64, p: f64) -> f64 {
    let term = |a: f64, b: f64| if a <= 0.0 { 0.0 } else { a * (a / b).ln() };
    if p <= 0.0 {
        return f64::INFINITY;
    }
    if p >= 1.0 {
        return 0.0;
    }
    term(x, p) + term(1.0 - x, 1.0 - p)
}

/// The highest failure probability the tally leaves plausible: the `q`
/// above its rate where `answers · D(rate ‖ q)` reaches [`EVIDENCE`], by
/// bisection (the divergence grows with `q`).
fn upper_bound(tally: Tally) -> f64 {
    let rate = tally.rate();
    let n = tally.answers as f64;
    let (mut low, mut high) = (rate, 1.0);
    for _ in 0..48 {
        let middle = (low + high) / 2.0;
        if n * divergence(rate, middle) < EVIDENCE {
            low = middle;
        } else {
            high = middle;
        }
    }
    high
}

/// Judges a window: the candidate's tally and the base's, counted over the
/// same time.
pub fn judge(policy: &Policy, candidate: Tally, base: Tally) -> Verdict {
    let base_rate = if policy.compare && base.answers >= policy.min_answers {
        upper_bound(base)
    } else {
        0.0
    };
    let bound = (base_rate + policy.tolerance).min(1.0);
    let rate = candidate.rate();
    let evidence = if candidate.answers == 0 || rate <= bound {
        0.0
    } else {
        candidate.answers as f64 * divergence(rate, bound)
    };
    Verdict {
        failing: candidate.answers >= policy.min_answers && evidence >= EVIDENCE,
        bound,
        base_rate,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{Rng, SeedableRng};
    use rand_xorshift::XorShiftRng;

    fn policy(compare: bool) -> Policy {
        Policy {
            min_answers: 100,
            window_ms: 60_000,
            tolerance: 0.05,
            compare,
            latency_ms: None,
        }
    }

    fn tally(answers: u64, failures: u64) -> Tally {
        Tally { answers, failures }
    }

    /// ln(k!) for k up to `n`.
    fn ln_factorials(n: usize) -> Vec<f64> {
        let mut out = vec![0.0; n + 1];
        for k in 1..=n {
            out[k] = out[k - 1] + (k as f64).ln();
        }
        out
    }

    /// The binomial probabilities of 0..=n successes with probability p.
    fn binomial(n: usize, p: f64, lf: &[f64]) -> Vec<f64> {
        (0..=n)
            .map(|k| {
                if p == 0.0 {
                    return if k == 0 { 1.0 } else { 0.0 };
                }
                if p == 1.0 {
                    return if k == n { 1.0 } else { 0.0 };
                }
                (lf[n] - lf[k] - lf[n - k] + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln())
                    .exp()
            })
            .collect()
    }

    /// The exact probability that a window of `n` candidate answers (failure
    /// probability `p`) and `m` base answers (probability `q`) is judged
    /// failing.
    fn trip_probability(policy: &Policy, n: usize, p: f64, m: usize, q: f64) -> f64 {
        let lf = ln_factorials(n.max(m));
        let candidate = binomial(n, p, &lf);
        let base = binomial(m, q, &lf);
        let mut total = 0.0;
        for (g, pg) in base.iter().enumerate() {
            if *pg < 1e-300 {
                continue;
            }
            // The least failure count that trips, for this base count.
            let trips = (0..=n).find(|&f| {
                judge(policy, tally(n as u64, f as u64), tally(m as u64, g as u64)).failing
            });
            if let Some(least) = trips {
                total += pg * candidate[least..].iter().sum::<f64>();
            }
        }
        total
    }

    #[test]
    fn the_level_holds_at_the_bound() {
        // Without comparison the bound is the tolerance: a candidate failing
        // exactly that often is tripped with probability at most α.
        for tolerance in [0.01, 0.05, 0.2] {
            for n in [100, 500, 2000] {
                let policy = Policy {
                    tolerance,
                    ..policy(false)
                };
                let p = trip_probability(&policy, n, tolerance, 0, 0.0);
                assert!(p <= ALPHA, "tolerance {tolerance}, n {n}: {p}");
            }
        }
    }

    /// A healthy candidate fails as often as the rest: across the common
    /// rates and base sizes, the exact probability of a false trip per
    /// window stays below α (the largest is printed for the docs).
    #[test]
    fn a_candidate_at_the_tolerance_is_tripped_at_most_twice_alpha() {
        for q in [0.0, 0.01, 0.1, 0.3] {
            for m in [100, 900] {
                let p = trip_probability(&policy(true), 100, q + 0.05, m, q);
                assert!(p <= 2.0 * ALPHA, "rate {q}, base {m}: {p}");
            }
        }
    }

    #[test]
    fn a_healthy_candidate_is_not_tripped() {
        let mut worst: f64 = 0.0;
        for q in [0.0, 0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.9] {
            for m in [100, 900] {
                let p = trip_probability(&policy(true), 100, q, m, q);
                assert!(p < ALPHA, "rate {q}, base {m}: {p}");
                worst = worst.max(p);
            }
        }
        eprintln!("largest false-trip probability per window at the defaults: {worst:.2e}");
    }

    /// One failing 30% of its answers against a healthy rest (a 10% canary:
    /// the rest answer 9 times as often) is tripped in its first window with
    /// probability above 0.95, so within five with more than 1 − 10⁻⁶.
    #[test]
    fn a_failing_candidate_is_tripped() {
        let first = trip_probability(&policy(true), 100, 0.3, 900, 0.0);
        assert!(first > 0.95, "{first}");
        assert!((1.0 - first).powi(5) < 1e-6, "{first}");
        eprintln!("probability to trip a 30%-failing candidate in one window: {first:.6}");
        let alone = trip_probability(&policy(false), 100, 0.3, 0, 0.0);
        eprintln!("the same without comparison: {alone:.6}");
        // Failing half the time, it is tripped in its first window.
        let half = trip_probability(&policy(true), 100, 0.5, 900, 0.0);
        assert!(half > 1.0 - 1e-7, "{half}");
    }

    /// Every revision failing (an outage of the backend they share) trips
    /// nothing when the candidate is compared with the rest.
    #[test]
    fn an_outage_of_every_revision_blames_no_one() {
        for q in [0.3, 0.6, 1.0] {
            let p = trip_probability(&policy(true), 100, q, 900, q);
            assert!(p < ALPHA, "rate {q}: {p}");
        }
        let verdict = judge(&policy(true), tally(100, 100), tally(900, 900));
        assert!(!verdict.failing, "{verdict:?}");
        // Without the comparison the same outage is the candidate's.
        let verdict = judge(&policy(false), tally(100, 60), tally(900, 540));
        assert!(verdict.failing, "{verdict:?}");
    }

    /// Too few answers give no verdict, however bad.
    #[test]
    fn no_verdict_before_min_answers() {
        let verdict = judge(&policy(true), tally(99, 99), tally(900, 0));
        assert!(!verdict.failing);
        assert!(judge(&policy(true), tally(100, 100), tally(900, 0)).failing);
    }

    /// The same with fixed seeds, window by window as the filter counts, the
    /// candidate a 10% canary (the rest answer 9 times as often): 2,000 runs
    /// of 50 windows of a healthy candidate (2% failures, as the rest) trip
    /// none; 2,000 runs of a candidate failing 30% all trip within five
    /// windows (a miss has probability below 10⁻⁶ per run).
    #[test]
    fn seeded_windows_give_the_stated_verdicts() {
        fn failures(n: u64, p: f64, rng: &mut XorShiftRng) -> u64 {
            let threshold = (p * u64::MAX as f64) as u64;
            (0..n).filter(|_| rng.next_u64() < threshold).count() as u64
        }
        let mut rng = XorShiftRng::seed_from_u64(0x6775_6172_6421);
        for _ in 0..2000 {
            for _ in 0..50 {
                let candidate = tally(100, failures(100, 0.02, &mut rng));
                let base = tally(900, failures(900, 0.02, &mut rng));
                assert!(!judge(&policy(true), candidate, base).failing);
            }
        }
        for run in 0..2000 {
            let tripped = (1..=5).find(|_| {
                let candidate = tally(100, failures(100, 0.3, &mut rng));
                let base = tally(900, failures(900, 0.0, &mut rng));
                judge(&policy(true), candidate, base).failing
            });
            assert!(tripped.is_some(), "run {run} was not tripped in 5 windows");
        }
    }
}
