//! The core's hosts over the ABI: a configuration as Envoy loads it, and a
//! request as its hooks run. Safe code: the pointers are wrapped by `abi`
//! and `hooks`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use knative_traffic::filter::host::{self, ConfigHost, HostError, StreamHost, TickHost};
use knative_traffic::filter::{Filter, Flow, Stream};
use knative_traffic::hosts::Side;
use knative_traffic::metrics::{MetricIds, CONFIG_ACCEPTED, CONFIG_REJECTED};
use knative_traffic::request::{join_cookie_headers, Request, COOKIE};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

use crate::abi::{self, Config, Map, CONTINUE, STOP_ITERATION};
use crate::state::{self, Mirror, TickGate};

/// A counter or gauge of one configuration: its index in
/// [`ConfigState::metrics`].
#[derive(Debug, Clone, Copy)]
pub struct Handle(usize);

/// A counter or gauge as Envoy defined it for one configuration, and its
/// process-wide value.
#[derive(Debug)]
struct Metric {
    /// Envoy's id, valid with this configuration's streams only.
    envoy_id: usize,
    mirror: Arc<Mirror>,
}

/// One filter configuration (one `http_filters` entry, or one ECDS
/// version of it), shared by every worker's streams.
#[derive(Debug)]
pub struct ConfigState {
    /// The filter's name in Envoy's configuration, which names its side
    /// and begins its log lines.
    name: String,
    filter: Filter<Handle>,
    metrics: Vec<Metric>,
    /// The counters a configuration adds to as it loads (accepted,
    /// rejected): where Envoy cannot count them then, the next request does.
    load_counters: Vec<Handle>,
    /// Whether a guard needs its steps, taken on requests (no timer).
    ticks: bool,
    gate: TickGate,
}

// Every worker thread reads the same configuration.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<ConfigState>();
};

fn level(level: host::Level) -> abi::Level {
    match level {
        host::Level::Error => abi::Level::Error,
        host::Level::Warn => abi::Level::Warn,
        host::Level::Info => abi::Level::Info,
    }
}

fn log(name: &str, l: host::Level, message: fmt::Arguments<'_>) {
    abi::log(level(l), &format!("{name}: {message}"));
}

/// Envoy while a configuration loads.
struct Loading<'a> {
    envoy: Config,
    name: &'a str,
    metrics: Vec<Metric>,
}

impl Loading<'_> {
    fn define(&mut self, name: &str, envoy_id: Option<usize>) -> Option<Handle> {
        let envoy_id = envoy_id?;
        self.metrics.push(Metric {
            envoy_id,
            mirror: state::mirror(name),
        });
        Some(Handle(self.metrics.len() - 1))
    }
}

impl ConfigHost for Loading<'_> {
    type Counter = Handle;

    fn define_counter(&mut self, name: &str) -> Option<Handle> {
        let id = self.envoy.define_counter(name);
        self.define(name, id)
    }

    fn define_gauge(&mut self, name: &str) -> Option<Handle> {
        let id = self.envoy.define_gauge(name);
        self.define(name, id)
    }

    fn increment_counter(&mut self, counter: Handle) {
        if let Some(metric) = self.metrics.get(counter.0) {
            metric.mirror.add(1);
            if !self.envoy.increment_counter(metric.envoy_id, 1) {
                metric.mirror.defer(1);
            }
        }
    }

    fn log(&mut self, l: host::Level, message: fmt::Arguments<'_>) {
        log(self.name, l, message);
    }
}

impl ConfigState {
    /// Compiles a configuration as Envoy hands it over; `None` if it is
    /// refused (its errors logged), which makes Envoy refuse it too.
    pub fn load(envoy: Config, name: &[u8], config: &[u8]) -> Option<ConfigState> {
        let name = String::from_utf8_lossy(name).into_owned();
        // The side of Knative's gateways this instance serves is in its
        // filter name (`knative-traffic.cluster-local`), as the Wasm
        // filter's is in its root id.
        let side = Side::from_instance_name(&name);
        state::prune_mirrors();
        let mut host = Loading {
            envoy,
            name: &name,
            metrics: Vec::new(),
        };
        // Envoy's ids are per configuration: each one defines its counters
        // afresh (Envoy keeps their values by name). Both outcome counters
        // are defined by every configuration, so that a refused one's count
        // lands on a counter the configuration in force keeps alive.
        let mut ids = MetricIds::default();
        let load_counters: Vec<Handle> = [CONFIG_ACCEPTED, CONFIG_REJECTED]
            .into_iter()
            .filter_map(|counter| ids.get_or_define(counter, |n| host.define_counter(n)))
            .collect();
        let mut filter = Filter::default();
        if !filter.configure(config, side, &mut ids, &mut host) {
            return None;
        }
        let metrics = host.metrics;
        Some(ConfigState {
            ticks: filter.needs_ticks(),
            name,
            filter,
            metrics,
            load_counters,
            gate: TickGate::default(),
        })
    }

    fn metric(&self, handle: Handle) -> Option<&Metric> {
        self.metrics.get(handle.0)
    }

    /// Gives Envoy's counters what loading configurations counted into
    /// their mirrors only (Envoy 1.36). Envoy's counters are one per name,
    /// so this configuration's stand for any other's.
    fn hand_on(&self, envoy: abi::Filter) {
        for metric in self.load_counters.iter().filter_map(|&h| self.metric(h)) {
            let n = metric.mirror.take_pending();
            if n > 0 {
                envoy.increment_counter(metric.envoy_id, n);
            }
        }
    }
}

thread_local! {
    /// Each worker thread's generator, as each Wasm VM has its own.
    static RNG: RefCell<XorShiftRng> = RefCell::new(XorShiftRng::from_seed(state::seed()));
}

/// One request: the core's state of it, and its configuration.
#[derive(Debug)]
pub struct StreamState {
    config: Option<Arc<ConfigState>>,
    /// Borrowed while a hook runs; a hook Envoy runs from inside another
    /// (a local reply runs the response path) finds it borrowed and lets the
    /// request continue.
    stream: RefCell<Option<Stream<Handle>>>,
    /// For `hooks`: how many of this stream's hooks are running, and
    /// whether Envoy destroyed it meanwhile.
    pub depth: std::cell::Cell<u32>,
    pub destroyed: std::cell::Cell<bool>,
}

impl StreamState {
    /// A request starting under `config` (`None`: Envoy gave none, and the
    /// request passes through untouched).
    pub fn new(config: Option<Arc<ConfigState>>) -> StreamState {
        let stream = config.as_ref().map(|c| c.filter.stream());
        StreamState {
            config,
            stream: RefCell::new(stream),
            depth: Default::default(),
            destroyed: Default::default(),
        }
    }

    pub fn on_request_headers(&self, envoy: abi::Filter) -> u32 {
        let Some(config) = self.config.as_deref() else {
            return CONTINUE;
        };
        if state::any_pending() {
            config.hand_on(envoy);
        }
        // The guards' once-a-second step, on the first request of the
        // second: a clock reading per request, only where a guard is.
        if config.ticks && config.gate.due(state::now_ms()) {
            config.filter.on_tick(&mut Ticking { envoy, config });
        }
        let Ok(mut stream) = self.stream.try_borrow_mut() else {
            return CONTINUE;
        };
        let Some(stream) = stream.as_mut() else {
            return CONTINUE;
        };
        let mut host = Streaming { envoy, config };
        let flow = RNG
            .try_with(|rng| match rng.try_borrow_mut() {
                Ok(mut rng) => stream.on_request_headers(&mut host, Some(&mut *rng)),
                Err(_) => stream.on_request_headers(&mut host, None::<&mut XorShiftRng>),
            })
            .unwrap_or_else(|_| stream.on_request_headers(&mut host, None::<&mut XorShiftRng>));
        // After a local reply Envoy may have ended the stream: nothing of
        // it is touched again.
        match flow {
            Flow::Continue => CONTINUE,
            Flow::Pause => STOP_ITERATION,
        }
    }

    pub fn on_response_headers(&self, envoy: abi::Filter) -> u32 {
        let Some(config) = self.config.as_deref() else {
            return CONTINUE;
        };
        let Ok(mut stream) = self.stream.try_borrow_mut() else {
            return CONTINUE;
        };
        if let Some(stream) = stream.as_mut() {
            stream.on_response_headers(&mut Streaming { envoy, config });
        }
        CONTINUE
    }
}

/// Envoy during one of a request's hooks.
struct Streaming<'a> {
    envoy: abi::Filter,
    config: &'a ConfigState,
}

fn refused(what: &'static str) -> HostError {
    HostError(what.to_owned())
}

impl Request for Streaming<'_> {
    // Values are borrowed from Envoy's header map, for as long as `self` is:
    // a `Streaming` lives for one hook, and changes headers only through
    // `&mut self`, which the borrow rules out while a value is held.
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        // SAFETY: as above.
        let first = unsafe { self.envoy.header(Map::Request, name, 0) };
        if name == COOKIE && first.count > 1 {
            // Every Cookie header's value, each read by its index.
            return join_cookie_headers(
                (0..first.count)
                    // SAFETY: as above.
                    .filter_map(|i| unsafe { self.envoy.header(Map::Request, name, i) }.value)
                    .filter_map(|v| std::str::from_utf8(v).ok()),
            );
        }
        std::str::from_utf8(first.value?).ok().map(Cow::Borrowed)
    }

    fn now_ms(&self) -> u64 {
        state::now_ms()
    }
}

impl StreamHost for Streaming<'_> {
    type Counter = Handle;

    fn increment_counter(&mut self, counter: Handle) {
        if let Some(metric) = self.config.metric(counter) {
            self.envoy.increment_counter(metric.envoy_id, 1);
            metric.mirror.add(1);
        }
    }

    fn has_request_header(&self, name: &str) -> bool {
        // SAFETY: only the count is kept, and no value.
        unsafe { self.envoy.header(Map::Request, name, 0) }.count > 0
    }

    fn set_request_header(&mut self, name: &str, value: &str) -> Result<(), HostError> {
        self.envoy
            .set_header(Map::Request, name, Some(value))
            .then_some(())
            .ok_or_else(|| refused("no request headers now"))
    }

    fn remove_request_header(&mut self, name: &str) -> Result<(), HostError> {
        self.envoy
            .set_header(Map::Request, name, None)
            .then_some(())
            .ok_or_else(|| refused("no request headers now"))
    }

    /// Envoy re-matches the route only when asked (in 1.36 as in 1.40).
    fn clear_route_cache(&mut self) {
        self.envoy.clear_route_cache();
    }

    fn send_local_response(
        &mut self,
        status: u32,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), HostError> {
        self.envoy.send_response(status, headers, body);
        Ok(())
    }

    fn response_status(&self) -> Option<u32> {
        // SAFETY: the value is parsed here and dropped.
        let status = unsafe { self.envoy.header(Map::Response, ":status", 0) }.value?;
        std::str::from_utf8(status).ok()?.parse().ok()
    }

    fn set_response_header(&mut self, name: &str, value: &str) -> Result<(), HostError> {
        self.envoy
            .set_header(Map::Response, name, Some(value))
            .then_some(())
            .ok_or_else(|| refused("no response headers now"))
    }

    fn add_response_header(&mut self, name: &str, value: &str) -> Result<(), HostError> {
        self.envoy
            .add_header(Map::Response, name, value)
            .map_err(refused)
    }

    fn log(&mut self, l: host::Level, message: fmt::Arguments<'_>) {
        log(&self.config.name, l, message);
    }
}

/// Envoy during a request's hook that takes the guards' step.
struct Ticking<'a> {
    envoy: abi::Filter,
    config: &'a ConfigState,
}

impl TickHost for Ticking<'_> {
    type Counter = Handle;

    /// The mirror's value: every worker's count.
    fn counter_value(&mut self, counter: Handle) -> Option<u64> {
        self.config.metric(counter).map(|m| m.mirror.value())
    }

    fn set_gauge(&mut self, gauge: Handle, value: u64) {
        if let Some(metric) = self.config.metric(gauge) {
            self.envoy.set_gauge(metric.envoy_id, value);
            metric.mirror.set(value);
        }
    }

    fn shared_data(&mut self, key: &str) -> Option<(Vec<u8>, u32)> {
        state::shared_data(key)
    }

    fn set_shared_data(&mut self, key: &str, value: &[u8], version: u32) -> Result<(), HostError> {
        state::set_shared_data(key, value, version)
            .map_err(|_| refused("CasMismatch: another writer was first"))
    }

    fn now_ms(&mut self) -> u64 {
        state::now_ms()
    }

    fn log(&mut self, l: host::Level, message: fmt::Arguments<'_>) {
        log(&self.config.name, l, message);
    }
}
