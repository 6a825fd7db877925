//! The guards' work on a timer tick, in each worker: read the counters every
//! worker adds to, take the window's next step in the proxy's shared data,
//! and adopt a verdict any worker reached. Nothing of this runs on a
//! request.

use super::host::{Level, TickHost};
use super::{Active, Filter};
use crate::guard::window::{step, Counts, State, Step};
use crate::guard::{Guard, Tally};
use crate::routing::Service;

impl<C: Copy> Filter<C> {
    /// Advances every guard of the configuration in force; call it about
    /// once a second (the window's steps are as fine as the ticks).
    pub fn on_tick(&self, host: &mut impl TickHost<Counter = C>) {
        let Some(active) = self.active.as_deref() else {
            return;
        };
        let generation = active.table.generation();
        for service in active.table.services() {
            if let Some(guard) = &service.guard {
                tick_guard(active, service, guard, generation, host);
            }
        }
    }
}

/// The shared datum of one guard under one configuration: a configuration
/// of other text starts afresh, the same text (an ECDS update that changes
/// nothing) keeps its verdict.
fn key(generation: u64, service: &Service) -> String {
    format!(
        "knative-traffic.guard.{generation:016x}.{}.{}",
        service.namespace, service.name
    )
}

fn tick_guard<C: Copy>(
    active: &Active<C>,
    service: &Service,
    guard: &Guard,
    generation: u64,
    host: &mut impl TickHost<Counter = C>,
) {
    let slots = guard.slots();
    let gauge = slots.tripped.and_then(|s| active.counter(s));
    if !guard.is_tripped() {
        let mut read = |slot: Option<crate::ids::CounterSlot>| {
            slot.and_then(|s| active.counter(s))
                .and_then(|c| host.counter_value(c))
        };
        let counts = (|| {
            Some(Counts {
                candidate: Tally {
                    answers: read(slots.candidate_answers)?,
                    failures: read(slots.candidate_failures)?,
                },
                base: Tally {
                    answers: read(slots.base_answers)?,
                    failures: read(slots.base_failures)?,
                },
            })
        })();
        // Without its counters the guard cannot judge, and judges nothing.
        if let Some(counts) = counts {
            let key = key(generation, service);
            let (state, version) = match host.shared_data(&key) {
                Some((bytes, version)) => (State::decode(&bytes), version),
                None => (None, 0),
            };
            let now = host.now_ms();
            match step(state, now, counts, &guard.policy) {
                Step::Keep => {
                    if matches!(state, Some(State::Tripped { .. })) {
                        guard.trip();
                    }
                }
                Step::Write(next) => {
                    // Another worker's step may have come first: the next
                    // tick reads it.
                    let _ = host.set_shared_data(&key, next.encode().as_bytes(), version);
                }
                Step::Trip(next, verdict) => {
                    if host
                        .set_shared_data(&key, next.encode().as_bytes(), version)
                        .is_ok()
                    {
                        guard.trip();
                        if let State::Tripped { window, .. } = next {
                            log_trip(service, guard, window, verdict, host);
                        }
                    }
                }
            }
        }
    }
    if let Some(gauge) = gauge {
        host.set_gauge(gauge, u64::from(guard.is_tripped()));
    }
}

/// The one log line of a trip, from the worker whose step it was.
fn log_trip<C>(
    service: &Service,
    guard: &Guard,
    window: Counts,
    verdict: crate::guard::Verdict,
    host: &mut impl TickHost<Counter = C>,
) {
    let name = |d: crate::ids::DestinationId| {
        service
            .destinations
            .get(d.index())
            .map_or("?", |d| &*d.revision)
    };
    let fallback: Vec<String> = guard
        .fallback
        .shares()
        .into_iter()
        .map(|(d, buckets)| format!("{} {}%", name(d), Tenths((u64::from(buckets) + 5) / 10)))
        .collect();
    let percent = |rate: f64| Tenths((rate * 1000.0).round() as u64);
    host.log(
        Level::Warn,
        format_args!(
            "guard tripped: {}/{}: {} failed {} of {} answers ({}%), the rest {} of {} ({}%); more than {}% is failing (evidence {} of {}); the split is now {}",
            service.namespace,
            service.name,
            name(guard.candidate),
            window.candidate.failures,
            window.candidate.answers,
            percent(window.candidate.rate()),
            window.base.failures,
            window.base.answers,
            percent(window.base.rate()),
            percent(verdict.bound),
            Tenths((verdict.evidence * 10.0).round() as u64),
            Tenths((crate::guard::verdict::EVIDENCE * 10.0).round() as u64),
            fallback.join(", ")
        ),
    );
}

/// A number of tenths, written with one decimal (`27.0`): the module
/// carries no float formatting for one log line.
struct Tenths(u64);

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}
