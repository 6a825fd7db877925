//! How the tool words a timed rollout, for every command that shows one
//! (`simulate`, `describe`): what rolls, the schedule, each move and where
//! the schedule stands at an instant. Every number is read off the core's
//! [`Schedule`], so two commands cannot tell one schedule two ways.
//!
//! The words follow the step model of `knative_traffic::rollout`: the new
//! revision gets its first 1% at the start (move 0), then steps 1 to n, the
//! last of which gives what is left and leaves the new revision the whole
//! share.

use knative_traffic::ids::DestinationId;
use knative_traffic::rollout::Schedule;
use knative_traffic::routing::Service;

use crate::time::format_instant;

/// Where a schedule stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the start: the previous revision has the share.
    NotStarted,
    /// Move k is in force: 0 is the first 1%, 1 to n - 1 the steps before
    /// the last.
    Rolling(u32),
    /// The last step is in force: the new revision has the share.
    Complete,
}

impl Phase {
    /// The phase of `schedule` at `now_ms`.
    pub fn at(schedule: &Schedule, now_ms: u64) -> Phase {
        match schedule.step_at(now_ms) {
            None => Phase::NotStarted,
            Some(k) if k >= schedule.steps() => Phase::Complete,
            Some(k) => Phase::Rolling(k),
        }
    }

    /// The move in force, if any (the last for a complete one).
    pub fn step(self, schedule: &Schedule) -> Option<u32> {
        match self {
            Phase::NotStarted => None,
            Phase::Rolling(k) => Some(k),
            Phase::Complete => Some(schedule.steps()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::NotStarted => "not-started",
            Phase::Rolling(_) => "rolling",
            Phase::Complete => "complete",
        }
    }
}

/// What rolls: `the latest-following 40%` for the main route (no tags), or
/// `tag canary`, `tags canary and latest` for tags that follow the latest
/// revision (each rolls its own 100%).
pub fn subject(schedule: &Schedule, tags: &[&str]) -> String {
    match tags {
        [] => format!("the latest-following {}%", schedule.share()),
        [tag] => format!("tag {tag}"),
        [first @ .., last] => format!("tags {} and {last}", first.join(", ")),
    }
}

/// The moves of `schedule` to `to`: `1% at 2026-11-25T16:00:00Z, then 4
/// steps of 10% (the last 9%), the last at 2026-11-25T16:10:00Z`.
pub fn summary(schedule: &Schedule, to: DestinationId) -> String {
    let steps = schedule.steps();
    let size = schedule.step_size();
    let mut moves = format!(
        "{steps} step{} of {size}%",
        if steps == 1 { "" } else { "s" }
    );
    let last = step_gain(schedule, to, steps);
    if steps > 1 && last != size {
        moves.push_str(&format!(" (the last {last}%)"));
    }
    format!(
        "1% at {}, then {moves}, the last at {}",
        format_instant(schedule.start_ms()),
        format_instant(schedule.end_ms())
    )
}

/// `timed rollout of {subject} from {from} to {to}: {summary}`.
pub fn heading(
    subject: &str,
    schedule: &Schedule,
    to: DestinationId,
    (from_name, to_name): (&str, &str),
) -> String {
    format!(
        "timed rollout of {subject} from {from_name} to {to_name}: {}",
        summary(schedule, to)
    )
}

/// Move k's name: `first 1%` for 0, `step k of n` after it.
pub fn move_label(schedule: &Schedule, k: u32) -> String {
    if k == 0 {
        "first 1%".to_owned()
    } else {
        format!("step {k} of {}", schedule.steps())
    }
}

/// Where the schedule stands at `now_ms`, and what comes next: `not
/// started: web-2 has it; web-3 gets its first 1% at …`, `web-3 has its
/// first 1%; the next at …`, `web-3 has 21% after step 2 of 4; the next at
/// …`, `complete: web-3 has 40% since …`.
pub fn state(schedule: &Schedule, to: DestinationId, names: (&str, &str), now_ms: u64) -> String {
    let (from_name, to_name) = names;
    let phase = Phase::at(schedule, now_ms);
    let next = next_move_ms(schedule, now_ms)
        .map(|at| format!("; the next at {}", format_instant(at)))
        .unwrap_or_default();
    match phase {
        Phase::NotStarted => format!(
            "not started: {from_name} has it; {to_name} gets its first 1% at {}",
            format_instant(schedule.start_ms())
        ),
        Phase::Rolling(0) => format!("{to_name} has its first 1%{next}"),
        Phase::Rolling(k) => format!(
            "{to_name} has {}% after {}{next}",
            new_percent(schedule, to, k),
            move_label(schedule, k)
        ),
        Phase::Complete => format!(
            "complete: {to_name} has {}% since {}",
            schedule.share(),
            format_instant(schedule.end_ms())
        ),
    }
}

/// The instant of the first move after `now_ms`; `None` once the last is
/// in force.
pub fn next_move_ms(schedule: &Schedule, now_ms: u64) -> Option<u64> {
    let next = match Phase::at(schedule, now_ms) {
        Phase::NotStarted => 0,
        Phase::Rolling(k) => k.checked_add(1)?,
        Phase::Complete => return None,
    };
    schedule.step_start_ms(next)
}

/// The new revision's percent after move k.
pub fn new_percent(schedule: &Schedule, to: DestinationId, k: u32) -> u32 {
    schedule
        .step_shares(k)
        .and_then(|shares| shares.into_iter().find(|(d, _)| *d == to))
        .map_or(0, |(_, percent)| percent)
}

/// The percent move k gives the new revision `to` (1 for the first move):
/// read off the schedule's shares, so the last step's remainder is the
/// schedule's own.
fn step_gain(schedule: &Schedule, to: DestinationId, k: u32) -> u32 {
    match k.checked_sub(1) {
        None => new_percent(schedule, to, 0),
        Some(previous) => {
            new_percent(schedule, to, k).saturating_sub(new_percent(schedule, to, previous))
        }
    }
}

/// A revision's name in `service`.
pub fn revision(service: &Service, destination: DestinationId) -> &str {
    service
        .destinations
        .get(destination.index())
        .map_or("?", |d| &*d.revision)
}
