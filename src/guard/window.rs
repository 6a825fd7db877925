//! A guard's windows, as every worker of one proxy shares them: the state
//! lives in the proxy's shared data (one value per guard and
//! configuration), the answers in the proxy's counters, which every worker
//! adds to. A worker's tick reads both and takes the next [`step`]; a
//! compare-and-swap on the state makes one worker's step the one that
//! counts, so a window is judged once per proxy and a trip logged once.

use super::verdict::{judge, Policy, Tally, Verdict};

/// The counters a guard reads: the candidate's split answers and the rest's,
/// since the proxy started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub candidate: Tally,
    pub base: Tally,
}

impl Counts {
    fn since(self, earlier: Counts) -> Counts {
        Counts {
            candidate: self.candidate.since(earlier.candidate),
            base: self.base.since(earlier.base),
        }
    }
}

/// A guard's shared state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum State {
    /// Counting since `since_ms`, when the counters read `at`.
    Open { since_ms: u64, at: Counts },
    /// Judged failing at `at_ms` on the window `window`; holds until the
    /// configuration changes.
    Tripped { at_ms: u64, window: Counts },
}

/// What a tick does with the state it read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// Nothing to write.
    Keep,
    /// Write a new state: the first window, or the next one.
    Write(State),
    /// The window judged the candidate failing: write the trip.
    Trip(State, Verdict),
}

/// The next step from state `state` (`None`: no state yet, or one that does
/// not read), at `now_ms` with the counters at `counts`.
pub fn step(state: Option<State>, now_ms: u64, counts: Counts, policy: &Policy) -> Step {
    let open = State::Open {
        since_ms: now_ms,
        at: counts,
    };
    let Some(State::Open { since_ms, at }) = state else {
        return match state {
            Some(State::Tripped { .. }) => Step::Keep,
            _ => Step::Write(open),
        };
    };
    let window = counts.since(at);
    if window.candidate.answers >= policy.min_answers {
        let verdict = judge(policy, window.candidate, window.base);
        if verdict.failing {
            return Step::Trip(
                State::Tripped {
                    at_ms: now_ms,
                    window,
                },
                verdict,
            );
        }
        return Step::Write(open);
    }
    // A window too old to judge on is dropped for a fresh one; so is one
    // whose counters went back (a counter the proxy reset).
    let stale = now_ms.saturating_sub(since_ms) > policy.window_ms;
    let reset =
        counts.candidate.answers < at.candidate.answers || counts.base.answers < at.base.answers;
    if stale || reset {
        Step::Write(open)
    } else {
        Step::Keep
    }
}

impl State {
    /// The state as the shared data holds it: a line of numbers.
    pub fn encode(&self) -> String {
        let (kind, ms, c) = match self {
            State::Open { since_ms, at } => ("open", since_ms, at),
            State::Tripped { at_ms, window } => ("tripped", at_ms, window),
        };
        format!(
            "{kind} {ms} {} {} {} {}",
            c.candidate.answers, c.candidate.failures, c.base.answers, c.base.failures
        )
    }

    /// The state [`State::encode`] wrote; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<State> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut words = text.split(' ');
        let kind = words.next()?;
        let mut number = || words.next()?.parse::<u64>().ok();
        let ms = number()?;
        let counts = Counts {
            candidate: Tally {
                answers: number()?,
                failures: number()?,
            },
            base: Tally {
                answers: number()?,
                failures: number()?,
            },
        };
        match kind {
            "open" => Some(State::Open {
                since_ms: ms,
                at: counts,
            }),
            "tripped" => Some(State::Tripped {
                at_ms: ms,
                window: counts,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            min_answers: 100,
            window_ms: 60_000,
            tolerance: 0.05,
            compare: true,
            latency_ms: None,
        }
    }

    fn counts(ca: u64, cf: u64, ba: u64, bf: u64) -> Counts {
        Counts {
            candidate: Tally {
                answers: ca,
                failures: cf,
            },
            base: Tally {
                answers: ba,
                failures: bf,
            },
        }
    }

    #[test]
    fn a_window_opens_fills_and_is_judged() {
        let p = policy();
        let Step::Write(open) = step(None, 1000, counts(5, 0, 50, 0), &p) else {
            panic!("no first window");
        };
        // Not enough answers yet.
        assert_eq!(
            step(Some(open), 2000, counts(60, 20, 600, 0), &p),
            Step::Keep
        );
        // Enough, and healthy: the next window opens.
        assert_eq!(
            step(Some(open), 3000, counts(105, 1, 1050, 5), &p),
            Step::Write(State::Open {
                since_ms: 3000,
                at: counts(105, 1, 1050, 5)
            })
        );
        // Enough, and failing: tripped, with the window's own counts.
        match step(Some(open), 3000, counts(105, 30, 1050, 0), &p) {
            Step::Trip(State::Tripped { at_ms, window }, verdict) => {
                assert_eq!(at_ms, 3000);
                assert_eq!(window, counts(100, 30, 1000, 0));
                assert!(verdict.failing);
            }
            other => panic!("{other:?}"),
        }
        // Tripped stays tripped.
        let tripped = State::Tripped {
            at_ms: 3000,
            window: counts(100, 30, 1000, 0),
        };
        assert_eq!(
            step(Some(tripped), 9000, counts(0, 0, 0, 0), &p),
            Step::Keep
        );
    }

    #[test]
    fn a_stale_window_is_dropped() {
        let p = policy();
        let open = State::Open {
            since_ms: 0,
            at: counts(0, 0, 0, 0),
        };
        assert_eq!(
            step(Some(open), 60_000, counts(50, 50, 0, 0), &p),
            Step::Keep
        );
        assert_eq!(
            step(Some(open), 60_001, counts(50, 50, 0, 0), &p),
            Step::Write(State::Open {
                since_ms: 60_001,
                at: counts(50, 50, 0, 0)
            })
        );
    }

    #[test]
    fn states_round_trip_and_garbage_reads_as_none() {
        for state in [
            State::Open {
                since_ms: 12,
                at: counts(1, 2, 3, 4),
            },
            State::Tripped {
                at_ms: u64::MAX,
                window: counts(u64::MAX, 0, 7, 7),
            },
        ] {
            assert_eq!(State::decode(state.encode().as_bytes()), Some(state));
        }
        for garbage in [
            "",
            "open",
            "open 1 2 3 4",
            "shut 1 2 3 4 5",
            "open x 2 3 4 5",
        ] {
            assert_eq!(State::decode(garbage.as_bytes()), None, "{garbage:?}");
        }
        assert_eq!(State::decode(&[0xff, 0xfe]), None);
    }
}
