//! Canary analysis in the proxy: a service's `guard` counts its
//! candidate's split answers and the rest's, judges them window by window
//! ([`verdict`]), shares the verdict between the proxy's workers
//! ([`window`]), and once the candidate is judged failing routes the split
//! by a fallback without it: a timed rollout halts where it started, a
//! static canary's share goes back to the other revisions. Tag hosts, the
//! tag header and rules still reach the candidate.

pub mod verdict;
pub mod window;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::ids::{CounterSlot, DestinationId};
use crate::split::Split;

pub use verdict::{Policy, Tally, Verdict};

/// A compiled guard.
#[derive(Debug)]
pub struct Guard {
    /// The revision judged.
    pub candidate: DestinationId,
    /// The split once the candidate is judged failing.
    pub fallback: Split,
    pub policy: Policy,
    pub(crate) slots: GuardSlots,
    tripped: AtomicBool,
}

/// The guard's counters: each side's answers and failures, and whether it
/// has tripped (a gauge, 0 or 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardSlots {
    pub candidate_answers: Option<CounterSlot>,
    pub candidate_failures: Option<CounterSlot>,
    pub base_answers: Option<CounterSlot>,
    pub base_failures: Option<CounterSlot>,
    pub tripped: Option<CounterSlot>,
}

impl Guard {
    pub(crate) fn new(candidate: DestinationId, fallback: Split, policy: Policy) -> Guard {
        Guard {
            candidate,
            fallback,
            policy,
            slots: GuardSlots::default(),
            tripped: AtomicBool::new(false),
        }
    }

    pub fn slots(&self) -> GuardSlots {
        self.slots
    }

    /// Whether the candidate has been judged failing. One relaxed load: the
    /// flag only ever goes from false to true, and a request that reads it
    /// a tick late is routed as the one before it was.
    pub fn is_tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    /// Marks the candidate failing: the split falls back from now on.
    pub fn trip(&self) {
        self.tripped.store(true, Ordering::Relaxed);
    }
}

impl PartialEq for Guard {
    fn eq(&self, other: &Guard) -> bool {
        self.candidate == other.candidate
            && self.fallback == other.fallback
            && self.policy == other.policy
            && self.slots == other.slots
            && self.is_tripped() == other.is_tripped()
    }
}

// The policy's tolerance is a finite number (the compiler checks it).
impl Eq for Guard {}

/// The metric names of a guard, from its service and candidate.
pub fn metric_names(namespace: &str, service: &str, candidate: &str) -> [String; 5] {
    let revision = crate::metrics::stat_safe(candidate);
    let prefix = format!("knative_traffic.guard.namespace.{namespace}.service.{service}");
    [
        format!("{prefix}.revision.{revision}.answers"),
        format!("{prefix}.revision.{revision}.failures"),
        format!("{prefix}.base.answers"),
        format!("{prefix}.base.failures"),
        format!("{prefix}.revision.{revision}.tripped"),
    ]
}
