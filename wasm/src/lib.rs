//! The proxy-wasm shell: the routing core's host traits over proxy-wasm's
//! host calls, and the root and HTTP contexts Envoy calls into. What the
//! filter does lives in the core (`knative_traffic::filter`); this file only
//! translates.
//!
//! Host calls go through `proxy_wasm::hostcalls` rather than the SDK's
//! context helpers, which unwrap their results (a non-UTF-8 header value
//! would panic there, and a panic kills the VM).

// Every other target builds an empty crate (see Cargo.toml).
#![cfg(target_arch = "wasm32")]

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use knative_traffic::filter::host::{ConfigHost, HostError, Level, StreamHost, TickHost};
use knative_traffic::filter::{Filter, Flow, Stream};
use knative_traffic::hosts::Side;
use knative_traffic::metrics::MetricIds;
use knative_traffic::request::{join_cookie_headers, Request, COOKIE};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::new()) });
}}

/// One per plugin configuration in each VM (one VM per Envoy worker thread).
struct Root {
    filter: Filter<u32>,
    rng: Rc<RefCell<XorShiftRng>>,
}

impl Root {
    fn new() -> Root {
        Root {
            filter: Filter::default(),
            rng: Rc::new(RefCell::new(XorShiftRng::from_seed(entropy_seed()))),
        }
    }
}

thread_local! {
    /// Outlives the root contexts: each configuration gets its own, and ids
    /// are the VM's.
    static METRIC_IDS: RefCell<MetricIds<u32>> = RefCell::new(MetricIds::default());
}

/// A seed from the host's entropy: std's `RandomState` draws its keys from
/// WASI `random_get`, which Envoy serves from its own random source. The clock
/// is mixed in so that even a host without entropy gives each VM its own
/// sequence.
fn entropy_seed() -> [u8; 16] {
    let state = RandomState::new();
    let nanos = hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    let mut seed = [0u8; 16];
    let (low, high) = seed.split_at_mut(8);
    low.copy_from_slice(&state.hash_one(nanos).to_le_bytes());
    high.copy_from_slice(&state.hash_one(!nanos).to_le_bytes());
    seed
}

/// proxy-wasm's host calls, as the core's hosts.
struct Host;

fn log(level: Level, message: fmt::Arguments<'_>) {
    let level = match level {
        Level::Error => log::Level::Error,
        Level::Warn => log::Level::Warn,
        Level::Info => log::Level::Info,
    };
    log::log!(level, "{message}");
}

fn status(result: Result<(), proxy_wasm::types::Status>) -> Result<(), HostError> {
    result.map_err(|status| HostError(format!("{status:?}")))
}

impl ConfigHost for Host {
    type Counter = u32;

    fn define_counter(&mut self, name: &str) -> Option<u32> {
        hostcalls::define_metric(MetricType::Counter, name).ok()
    }

    fn define_gauge(&mut self, name: &str) -> Option<u32> {
        hostcalls::define_metric(MetricType::Gauge, name).ok()
    }

    fn increment_counter(&mut self, counter: u32) {
        let _ = hostcalls::increment_metric(counter, 1);
    }

    fn log(&mut self, level: Level, message: fmt::Arguments<'_>) {
        log(level, message);
    }
}

impl TickHost for Host {
    type Counter = u32;

    /// Envoy's counter, as every worker adds to it.
    fn counter_value(&mut self, counter: u32) -> Option<u64> {
        hostcalls::get_metric(counter).ok()
    }

    fn set_gauge(&mut self, gauge: u32, value: u64) {
        let _ = hostcalls::record_metric(gauge, value);
    }

    fn shared_data(&mut self, key: &str) -> Option<(Vec<u8>, u32)> {
        match hostcalls::get_shared_data(key) {
            Ok((Some(value), Some(cas))) => Some((value, cas)),
            _ => None,
        }
    }

    fn set_shared_data(&mut self, key: &str, value: &[u8], version: u32) -> Result<(), HostError> {
        let cas = (version != 0).then_some(version);
        status(hostcalls::set_shared_data(key, Some(value), cas))
    }

    fn now_ms(&mut self) -> u64 {
        Request::now_ms(self)
    }

    fn log(&mut self, level: Level, message: fmt::Arguments<'_>) {
        log(level, message);
    }
}

impl Request for Host {
    // proxy-wasm copies every value into the VM: nothing here can borrow.
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        if name == COOKIE {
            request_cookies().map(Cow::Owned)
        } else {
            String::from_utf8(request_header_bytes(name)?)
                .ok()
                .map(Cow::Owned)
        }
    }

    fn now_ms(&self) -> u64 {
        hostcalls::get_current_time()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

impl StreamHost for Host {
    type Counter = u32;

    fn increment_counter(&mut self, counter: u32) {
        let _ = hostcalls::increment_metric(counter, 1);
    }

    fn has_request_header(&self, name: &str) -> bool {
        request_header_bytes(name).is_some()
    }

    fn set_request_header(&mut self, name: &str, value: &str) -> Result<(), HostError> {
        status(hostcalls::set_map_value(
            MapType::HttpRequestHeaders,
            name,
            Some(value),
        ))
    }

    fn remove_request_header(&mut self, name: &str) -> Result<(), HostError> {
        status(hostcalls::set_map_value(
            MapType::HttpRequestHeaders,
            name,
            None,
        ))
    }

    /// Nothing to do: Envoy's Wasm host clears the route cache itself
    /// whenever a module changes a request header (1.36.4 and 1.40.0 alike;
    /// the end-to-end suites route by the cluster header only if the route
    /// is chosen again). Its `clear_route_cache` foreign function would
    /// cost 6,300 instructions per request for nothing.
    fn clear_route_cache(&mut self) {}

    fn send_local_response(
        &mut self,
        status_code: u32,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), HostError> {
        status(hostcalls::send_http_response(
            status_code,
            headers.to_vec(),
            Some(body),
        ))
    }

    fn response_status(&self) -> Option<u32> {
        let status = hostcalls::get_map_value_bytes(MapType::HttpResponseHeaders, ":status")
            .ok()
            .flatten()?;
        std::str::from_utf8(&status).ok()?.parse().ok()
    }

    fn set_response_header(&mut self, name: &str, value: &str) -> Result<(), HostError> {
        status(hostcalls::set_map_value(
            MapType::HttpResponseHeaders,
            name,
            Some(value),
        ))
    }

    fn add_response_header(&mut self, name: &str, value: &str) -> Result<(), HostError> {
        status(hostcalls::add_map_value(
            MapType::HttpResponseHeaders,
            name,
            value,
        ))
    }

    fn log(&mut self, level: Level, message: fmt::Arguments<'_>) {
        log(level, message);
    }
}

/// Every `Cookie` header of the request, joined. A host call for one value
/// returns only the first, so a request that has a cookie header pays for
/// reading the whole map; one without any pays for a single lookup. Envoy's
/// codecs only accept token header names, so the map's names are ASCII as
/// `get_map_bytes` needs; values are taken as bytes and one that is not
/// UTF-8 is left out, as a single such header would read as absent.
fn request_cookies() -> Option<String> {
    request_header_bytes(COOKIE)?;
    let headers = hostcalls::get_map_bytes(MapType::HttpRequestHeaders).ok()?;
    join_cookie_headers(
        headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(COOKIE))
            .filter_map(|(_, value)| std::str::from_utf8(value).ok()),
    )
    .map(Cow::into_owned)
}

fn request_header_bytes(name: &str) -> Option<Vec<u8>> {
    hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
        .ok()
        .flatten()
}

fn action(flow: Flow) -> Action {
    match flow {
        Flow::Continue => Action::Continue,
        Flow::Pause => Action::Pause,
    }
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let config = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(config) => config.unwrap_or_default(),
            Err(status) => {
                log::error!("cannot read the plugin configuration: {status:?}");
                return false;
            }
        };
        // The side of Knative's gateways this instance serves is in its
        // root id (`knative-traffic.cluster-local`), so that two listeners
        // can share one configuration.
        let root_id = hostcalls::get_property(vec!["plugin_root_id"])
            .ok()
            .flatten()
            .and_then(|id| String::from_utf8(id).ok())
            .unwrap_or_default();
        let side = Side::from_instance_name(&root_id);
        let filter = &mut self.filter;
        let accepted = METRIC_IDS
            .try_with(|ids| match ids.try_borrow_mut() {
                Ok(mut ids) => filter.configure(&config, side, &mut ids, &mut Host),
                Err(_) => filter.configure(&config, side, &mut MetricIds::default(), &mut Host),
            })
            .unwrap_or(false);
        // A guard judges on ticks; without one there is nothing to wake for.
        let period = if self.filter.needs_ticks() {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        };
        if let Err(status) = hostcalls::set_tick_period(period) {
            log::warn!("cannot set the tick period for guards: {status:?}");
        }
        accepted
    }

    fn on_tick(&mut self) {
        self.filter.on_tick(&mut Host);
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http {
            stream: self.filter.stream(),
            rng: Rc::clone(&self.rng),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One per request.
struct Http {
    stream: Stream<u32>,
    rng: Rc<RefCell<XorShiftRng>>,
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let flow = match self.rng.try_borrow_mut() {
            Ok(mut rng) => self.stream.on_request_headers(&mut Host, Some(&mut *rng)),
            Err(_) => self
                .stream
                .on_request_headers(&mut Host, None::<&mut XorShiftRng>),
        };
        action(flow)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        action(self.stream.on_response_headers(&mut Host))
    }
}
