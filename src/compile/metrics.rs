//! Which request counters a service can need, and their slots: one per
//! revision and reason that can occur (a revision without a tag is never
//! reached by a tag), plus `not-found` per service and the mirror's copies.

use super::Checks;
use crate::error::ErrorKind;
use crate::ids::{CounterSlot, DestinationId, TagId};
use crate::metrics::{is_stat_safe, stat_safe};
use crate::rollout::Schedule;
use crate::routing::{Reason, Service, Tag};
use crate::slots::RouteSlots;

/// Hands out counter slots in order, across the services of a document.
#[derive(Default)]
pub(super) struct SlotCounter(usize);

impl SlotCounter {
    fn take(&mut self) -> Option<CounterSlot> {
        let slot = CounterSlot::new(self.0);
        self.0 = self.0.saturating_add(1);
        Some(slot)
    }
}

/// Gives each (revision, reason) of `service` that can occur a counter slot.
/// Two revisions whose names differ only where counter names cannot (they
/// write every character but letters, digits, `-` and `_` as `_`) would
/// count into one counter: that is refused.
pub(super) fn assign_slots(service: &mut Service, slots: &mut SlotCounter, checks: &mut Checks) {
    check_distinct_counter_names(service, checks);
    let destinations = service.destinations.len();
    let mut tagged = vec![false; destinations];
    let mut ruled = vec![false; destinations];
    let mut split = vec![false; destinations];
    // Where a tag can send a request: its revision, and during a rollout
    // every revision of its schedule.
    let reached = |id: TagId, tag: &Tag| -> Vec<DestinationId> {
        let mut all = vec![tag.destination];
        for s in service
            .tag_schedule(id)
            .into_iter()
            .flat_map(Schedule::splits)
        {
            all.extend(s.shares().into_iter().map(|(d, _)| d));
        }
        all
    };
    for (id, tag) in service.tags.iter().enumerate() {
        for destination in reached(TagId::new(id), tag) {
            set(&mut tagged, destination);
        }
    }
    for rule in service.rules.iter() {
        if let Some(tag) = service.tags.get(rule.tag.index()) {
            for destination in reached(rule.tag, tag) {
                set(&mut ruled, destination);
            }
        }
    }
    let rollout_splits = service
        .rollout
        .iter()
        .filter_map(|r| r.route())
        .flat_map(Schedule::splits);
    for s in std::iter::once(&service.split).chain(rollout_splits) {
        for (destination, share) in s.shares() {
            if share > 0 {
                set(&mut split, destination);
            }
        }
    }
    service.not_found_slot = slots.take();
    if service.mirror.is_some() {
        service.mirrored_slot = slots.take();
    }
    let sticky = service.sticky.is_some();
    let mut rows = vec![[None; Reason::ROUTED.len()]; destinations];
    for (d, row) in rows.iter_mut().enumerate() {
        for (reason, slot) in Reason::ROUTED.iter().zip(row.iter_mut()) {
            let possible = match reason {
                Reason::TagHost | Reason::TagHeader => tagged.get(d).copied(),
                Reason::Rule => ruled.get(d).copied(),
                Reason::Sticky => split.get(d).map(|s| *s && sticky),
                Reason::Draw => split.get(d).copied(),
                Reason::NotFound => None,
            };
            if possible == Some(true) {
                *slot = slots.take();
            }
        }
    }
    service.metric_slots = RouteSlots::from_rows(rows);
}

/// Gives a guard's counters and its gauge their slots.
pub(super) fn assign_guard_slots(service: &mut Service, slots: &mut SlotCounter) {
    if let Some(guard) = service.guard.as_mut() {
        guard.slots = crate::guard::GuardSlots {
            candidate_answers: slots.take(),
            candidate_failures: slots.take(),
            base_answers: slots.take(),
            base_failures: slots.take(),
            tripped: slots.take(),
        };
    }
}

fn set(flags: &mut [bool], index: DestinationId) {
    if let Some(flag) = flags.get_mut(index.index()) {
        *flag = true;
    }
}

fn check_distinct_counter_names(service: &Service, checks: &mut Checks) {
    // Revisions are distinct, so names that counter names keep as they are
    // (Knative's revision names always) cannot collide: nothing to compare.
    if service
        .destinations
        .iter()
        .all(|d| is_stat_safe(&d.revision))
    {
        return;
    }
    for (i, this) in service.destinations.iter().enumerate() {
        let name = stat_safe(&this.revision);
        let mut earlier = service.destinations.iter().take(i);
        if let Some(earlier) = earlier.find(|d| stat_safe(&d.revision) == name) {
            checks.fail(
                "",
                ErrorKind::Conflict,
                format_args!(
                    "revisions {:?} and {:?} would count into one counter (revision.{name}): counter names write every character but letters, digits, '-' and '_' as '_'; rename one, or set \"metrics\": false",
                    earlier.revision, this.revision
                ),
            );
        }
    }
}
