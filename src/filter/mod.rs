//! The filter's life cycle in a proxy, written once against [`host`]'s
//! traits: loading a configuration ([`Filter::configure`]), then for each
//! request reading its headers, asking the [`RouteTable`] and writing what
//! the decision says ([`Stream`]). No routing rule lives here, and nothing
//! of any proxy's API: each shell (`wasm/` for proxy-wasm) implements the
//! traits over its host calls, and tests over a stand-in, in process.

pub mod host;
mod tick;

use std::sync::Arc;

use rand_core::Rng;

use crate::hosts::Side;
use crate::metrics::{MetricIds, CONFIG_ACCEPTED, CONFIG_REJECTED};
use crate::routing::{Decision, Reason, RouteTable};
use host::{ConfigHost, Level, StreamHost};

/// An accepted configuration: the table and its counters' handles, by slot.
#[derive(Debug)]
pub struct Active<C> {
    pub table: RouteTable,
    /// `None` where the proxy refused to define the counter: the request is
    /// not counted rather than counted into a handle that names nothing.
    counters: Box<[Option<C>]>,
}

impl<C: Copy> Active<C> {
    fn counter(&self, slot: crate::ids::CounterSlot) -> Option<C> {
        self.counters.get(slot.index()).copied().flatten()
    }
}

/// One plugin configuration in one proxy thread (a proxy-wasm root
/// context): the configuration in force, shared with the requests that
/// started under it.
#[derive(Debug)]
pub struct Filter<C> {
    active: Option<Arc<Active<C>>>,
}

impl<C> Default for Filter<C> {
    fn default() -> Self {
        Filter { active: None }
    }
}

impl<C: Copy> Filter<C> {
    /// Compiles `config` and, if it is accepted, puts it in force for the
    /// requests that start from now on. A refused configuration is logged,
    /// one line per error, and the previous one (if any) keeps serving.
    /// `ids` are the counters this thread's proxy defined so far, by name,
    /// kept across configurations.
    pub fn configure(
        &mut self,
        config: &[u8],
        side: Side,
        ids: &mut MetricIds<C>,
        host: &mut impl ConfigHost<Counter = C>,
    ) -> bool {
        match crate::compile::compile_for(config, side) {
            Ok(table) => {
                let known = ids.len();
                let mut counters: Vec<Option<C>> = Vec::new();
                let gauges = table.gauges().map(|(slot, name)| (slot, name, true));
                for (slot, name, gauge) in table.metrics().map(|(s, n)| (s, n, false)).chain(gauges)
                {
                    let slot = slot.index();
                    if counters.len() <= slot {
                        counters.resize(slot + 1, None);
                    }
                    if let Some(entry) = counters.get_mut(slot) {
                        *entry = ids.get_or_define(&name, |name| {
                            if gauge {
                                host.define_gauge(name)
                            } else {
                                host.define_counter(name)
                            }
                        });
                    }
                }
                host.log(
                    Level::Info,
                    format_args!(
                        "configuration accepted: {} service(s), cluster header {:?}, {} counter(s), {} newly defined, side {}",
                        table.services().len(),
                        table.cluster_header(),
                        counters.len(),
                        ids.len().saturating_sub(known),
                        side.as_str()
                    ),
                );
                if let Some(accepted) =
                    ids.get_or_define(CONFIG_ACCEPTED, |name| host.define_counter(name))
                {
                    host.increment_counter(accepted);
                }
                self.active = Some(Arc::new(Active {
                    table,
                    counters: counters.into(),
                }));
                true
            }
            Err(errors) => {
                for e in &errors.0 {
                    host.log(Level::Error, format_args!("configuration refused: {e}"));
                }
                if let Some(rejected) =
                    ids.get_or_define(CONFIG_REJECTED, |name| host.define_counter(name))
                {
                    host.increment_counter(rejected);
                }
                false
            }
        }
    }

    /// The state of a request that starts now, under the configuration in
    /// force.
    pub fn stream(&self) -> Stream<C> {
        Stream {
            active: self.active.clone(),
            route_header: None,
            set_cookie: None,
            guard: None,
        }
    }

    /// Whether the configuration in force has a guard, which needs
    /// [`Filter::on_tick`] called about once a second.
    pub fn needs_ticks(&self) -> bool {
        self.active
            .as_ref()
            .is_some_and(|a| a.table.services().iter().any(|s| s.guard.is_some()))
    }

    /// The configuration in force, if one was accepted.
    pub fn active(&self) -> Option<&Active<C>> {
        self.active.as_deref()
    }
}

/// What the shell does with the request after the filter's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The filter answered the request itself.
    Pause,
}

/// One request.
#[derive(Debug)]
pub struct Stream<C> {
    active: Option<Arc<Active<C>>>,
    /// The route response header's value, if it is on (shared with the
    /// table: no copy per request).
    route_header: Option<Arc<str>>,
    /// A sticky cookie handed out.
    set_cookie: Option<String>,
    /// Where a guard counts this request's answer.
    guard: Option<GuardCount<C>>,
}

/// A guarded service's split request: the counters its answer goes into.
#[derive(Debug, Clone, Copy)]
struct GuardCount<C> {
    answers: C,
    failures: C,
    /// With a latency threshold, the instant after which the answer counts
    /// as failed.
    deadline_ms: Option<u64>,
}

impl<C: Copy> Stream<C> {
    /// Routes the request: `rng` is the thread's generator, `None` if the
    /// shell cannot lend it (the request then passes through).
    pub fn on_request_headers<H, R>(&mut self, host: &mut H, rng: Option<&mut R>) -> Flow
    where
        H: StreamHost<Counter = C>,
        R: Rng,
    {
        let Stream {
            active,
            route_header,
            set_cookie,
            guard,
        } = self;
        let Some(active) = active.as_deref() else {
            return Flow::Continue;
        };
        let table = &active.table;
        // No authority, or one that is not UTF-8, names no configured host:
        // the request passes through like any unknown host.
        let authority = host.header(":authority").unwrap_or_default();
        let mut decision = match rng {
            Some(rng) => table.route(&authority, &*host, rng),
            None => Decision::PassThrough,
        };
        // A CONNECT asks for a tunnel to its authority, not for a
        // revision's answer (Envoy's routes match it only by a
        // connect_matcher): it passes through, uncounted, like a request to
        // a host the filter does not know. Its authority is always
        // `host:port` (RFC 9110, 9.3.6), so only a request that would be
        // routed and names a port pays for reading its method.
        if !matches!(decision, Decision::PassThrough)
            && has_port(&authority)
            && host.header(":method").as_deref() == Some("CONNECT")
        {
            decision = Decision::PassThrough;
        }
        for slot in [decision.metric_slot(), decision.mirrored_slot()]
            .into_iter()
            .flatten()
        {
            if let Some(counter) = active.counter(slot) {
                host.increment_counter(counter);
            }
        }
        match decision {
            Decision::PassThrough => {
                strip_client_cluster_headers(table, host);
                Flow::Continue
            }
            Decision::NoSuchTag(service) => {
                let body = format!(
                    "service {}.{} has no such tag\n",
                    service.name, service.namespace
                );
                let sent = host.send_local_response(
                    404,
                    &[("content-type", "text/plain; charset=utf-8")],
                    body.as_bytes(),
                );
                if sent.is_err() {
                    strip_client_cluster_headers(table, host);
                    return Flow::Continue;
                }
                Flow::Pause
            }
            Decision::Route(route) => {
                for (name, value) in route.request_headers() {
                    let written = match value {
                        Some(value) => host.set_request_header(name, value),
                        None => host.remove_request_header(name),
                    };
                    if let Err(status) = written {
                        host.log(
                            Level::Warn,
                            format_args!("cannot set request header {name}: {status}"),
                        );
                    }
                }
                host.clear_route_cache();
                *route_header = route
                    .route_response_header()
                    .map(|(_, value)| Arc::clone(value));
                *set_cookie = route.set_cookie();
                *guard = guard_count(active, &route, &*host);
                Flow::Continue
            }
        }
    }

    /// Adds the response headers the request's route asked for, and counts
    /// a guarded answer.
    pub fn on_response_headers(&mut self, host: &mut impl StreamHost<Counter = C>) -> Flow {
        if let Some(count) = self.guard.take() {
            // 5xx, Envoy's own included (503 when no revision answers, 504
            // on a timeout): they pass back through this filter too.
            let failed = host
                .response_status()
                .is_some_and(|status| (500..600).contains(&status))
                || count
                    .deadline_ms
                    .is_some_and(|deadline| host.now_ms() > deadline);
            host.increment_counter(count.answers);
            if failed {
                host.increment_counter(count.failures);
            }
        }
        if let Some(value) = self.route_header.take() {
            let name = self
                .active
                .as_ref()
                .and_then(|active| active.table.route_response_header());
            if let Some(name) = name {
                if let Err(status) = host.set_response_header(name, &value) {
                    host.log(
                        Level::Warn,
                        format_args!("cannot set response header {name}: {status}"),
                    );
                }
            }
        }
        if let Some(cookie) = self.set_cookie.take() {
            // Another Set-Cookie from the revision must survive.
            if let Err(status) = host.add_response_header("set-cookie", &cookie) {
                host.log(
                    Level::Warn,
                    format_args!("cannot add response header set-cookie: {status}"),
                );
            }
        }
        Flow::Continue
    }
}

/// Whether an authority ends in `:port` (`[::1]:8080` does, `[::1]` does
/// not).
fn has_port(authority: &str) -> bool {
    authority.rsplit_once(':').is_some_and(|(host, port)| {
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(':')
    })
}

/// The counters a guarded service's answer goes into: the split's answers
/// only (a draw or a sticky key), the candidate's or the rest's.
fn guard_count<C: Copy>(
    active: &Active<C>,
    route: &crate::routing::Route<'_>,
    request: &impl crate::Request,
) -> Option<GuardCount<C>> {
    let guard = route.service.guard.as_ref()?;
    if !matches!(route.reason, Reason::Draw | Reason::Sticky) {
        return None;
    }
    let slots = guard.slots();
    let (answers, failures) = if route.destination_id() == guard.candidate {
        (slots.candidate_answers, slots.candidate_failures)
    } else {
        (slots.base_answers, slots.base_failures)
    };
    Some(GuardCount {
        answers: active.counter(answers?)?,
        failures: active.counter(failures?)?,
        deadline_ms: guard
            .policy
            .latency_ms
            .map(|ms| request.now_ms().saturating_add(ms)),
    })
}

/// The cluster and mirror headers are the filter's channel to the route; a
/// client must not be able to choose a cluster by sending them on a request
/// the filter does not route.
fn strip_client_cluster_headers(table: &RouteTable, host: &mut impl StreamHost) {
    let mut changed = false;
    for name in [table.cluster_header(), table.mirror_header()] {
        // Whatever its bytes: a value that is not UTF-8 reads as absent.
        if host.has_request_header(name) {
            if let Err(status) = host.remove_request_header(name) {
                host.log(
                    Level::Warn,
                    format_args!("cannot set request header {name}: {status}"),
                );
            }
            changed = true;
        }
    }
    if changed {
        host.clear_route_cache();
    }
}
