//! The proxy-wasm layer: reads the request's headers, asks the
//! [`RouteTable`], writes what the decision says. No routing rule lives here.
//!
//! Host calls go through `proxy_wasm::hostcalls` rather than the SDK's
//! context helpers, which unwrap their results (a non-UTF-8 header value
//! would panic there, and a panic kills the VM).

use std::cell::RefCell;
use std::hash::{BuildHasher, RandomState};
use std::rc::Rc;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use log::{error, info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

use crate::metrics::{MetricIds, CONFIG_ACCEPTED, CONFIG_REJECTED};
use crate::request::{join_cookie_headers, Request, COOKIE};
use crate::routing::{Decision, RouteTable};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::new()) });
}}

/// One per plugin configuration in each VM (one VM per Envoy worker thread).
struct Root {
    active: Option<Rc<Active>>,
    rng: Rc<RefCell<XorShiftRng>>,
}

/// An accepted configuration: the table and its counters' ids, by slot.
struct Active {
    table: RouteTable,
    counters: Vec<u32>,
}

impl Root {
    fn new() -> Root {
        Root {
            active: None,
            rng: Rc::new(RefCell::new(XorShiftRng::from_seed(entropy_seed()))),
        }
    }
}

thread_local! {
    /// Outlives the root contexts: each configuration gets its own, and ids
    /// are the VM's.
    static METRIC_IDS: RefCell<MetricIds> = RefCell::new(MetricIds::default());
}

/// The counter's id, defined in this VM only the first time any
/// configuration asks for it.
fn counter(name: &str) -> Option<u32> {
    METRIC_IDS
        .try_with(|ids| {
            ids.try_borrow_mut().ok()?.get_or_define(name, |name| {
                hostcalls::define_metric(MetricType::Counter, name).ok()
            })
        })
        .ok()
        .flatten()
}

fn increment(id: Option<u32>) {
    if let Some(id) = id {
        let _ = hostcalls::increment_metric(id, 1);
    }
}

/// How many counters this VM has defined so far.
fn metric_ids_known() -> usize {
    METRIC_IDS
        .try_with(|ids| ids.try_borrow().map_or(0, |ids| ids.len()))
        .unwrap_or(0)
}

/// The ids of the table's request counters by slot, looked up once per
/// configuration; a request then only increments by slot.
fn define_counters(table: &RouteTable) -> Vec<u32> {
    let mut ids = Vec::new();
    for (slot, name) in table.metrics() {
        let slot = slot as usize;
        if ids.len() <= slot {
            ids.resize(slot + 1, u32::MAX);
        }
        if let (Some(entry), Some(id)) = (ids.get_mut(slot), counter(&name)) {
            *entry = id;
        }
    }
    ids
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

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let config = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(config) => config.unwrap_or_default(),
            Err(status) => {
                error!("cannot read the plugin configuration: {status:?}");
                return false;
            }
        };
        match crate::compile(&config) {
            Ok(table) => {
                let known = metric_ids_known();
                let counters = define_counters(&table);
                info!(
                    "configuration accepted: {} service(s), cluster header {:?}, {} counter(s), {} newly defined",
                    table.services().len(),
                    table.cluster_header(),
                    counters.len(),
                    metric_ids_known().saturating_sub(known)
                );
                increment(counter(CONFIG_ACCEPTED));
                self.active = Some(Rc::new(Active { table, counters }));
                true
            }
            Err(errors) => {
                // Each error on its own line of Envoy's log; the previous
                // table (if any) keeps serving.
                for e in &errors.0 {
                    error!("configuration refused: {e}");
                }
                increment(counter(CONFIG_REJECTED));
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            active: self.active.clone(),
            rng: Rc::clone(&self.rng),
            route_header: None,
            set_cookie: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One per request.
struct Stream {
    active: Option<Rc<Active>>,
    rng: Rc<RefCell<XorShiftRng>>,
    /// The route response header's value, if it is on (shared with the
    /// table: no copy per request).
    route_header: Option<Arc<str>>,
    /// A sticky cookie handed out.
    set_cookie: Option<String>,
}

/// The request's headers, read from the host one at a time as the rules ask.
struct HostHeaders;

impl Request for HostHeaders {
    fn header(&self, name: &str) -> Option<String> {
        if name == COOKIE {
            request_cookies()
        } else {
            request_header(name)
        }
    }

    fn now_ms(&self) -> u64 {
        hostcalls::get_current_time()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

fn request_header(name: &str) -> Option<String> {
    String::from_utf8(request_header_bytes(name)?).ok()
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
}

fn request_header_bytes(name: &str) -> Option<Vec<u8>> {
    hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
        .ok()
        .flatten()
}

fn set_request_header(name: &str, value: Option<&str>) {
    if let Err(status) = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, value) {
        warn!("cannot set request header {name}: {status:?}");
    }
}

/// Makes Envoy pick the route again now that the headers it matches on have
/// changed. Envoy >= 1.33 offers this as a foreign function; older ones clear
/// the cache by themselves when a module changes a request header.
fn clear_route_cache() {
    let _ = hostcalls::call_foreign_function("clear_route_cache", None);
}

/// The cluster and mirror headers are the filter's channel to the route; a
/// client must not be able to choose a cluster by sending them on a request
/// the filter does not route.
fn strip_client_cluster_headers(table: &RouteTable) {
    let mut changed = false;
    for name in [table.cluster_header(), table.mirror_header()] {
        if request_header(name).is_some() {
            set_request_header(name, None);
            changed = true;
        }
    }
    if changed {
        clear_route_cache();
    }
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(active) = &self.active else {
            return Action::Continue;
        };
        let table = &active.table;
        // No authority, or one that is not UTF-8, names no configured host:
        // the request passes through like any unknown host.
        let authority = request_header(":authority").unwrap_or_default();
        let decision = match self.rng.try_borrow_mut() {
            Ok(mut rng) => table.route(&authority, &HostHeaders, &mut *rng),
            Err(_) => Decision::PassThrough,
        };
        for slot in [decision.metric_slot(), decision.mirrored_slot()]
            .into_iter()
            .flatten()
        {
            increment(active.counters.get(slot as usize).copied());
        }
        match decision {
            Decision::PassThrough => {
                strip_client_cluster_headers(table);
                Action::Continue
            }
            Decision::NoSuchTag(service) => {
                let body = format!(
                    "service {}.{} has no such tag\n",
                    service.name, service.namespace
                );
                let sent = hostcalls::send_http_response(
                    404,
                    vec![("content-type", "text/plain; charset=utf-8")],
                    Some(body.as_bytes()),
                );
                if sent.is_err() {
                    strip_client_cluster_headers(table);
                    return Action::Continue;
                }
                Action::Pause
            }
            Decision::Route(route) => {
                for (name, value) in route.request_headers() {
                    set_request_header(name, value);
                }
                clear_route_cache();
                self.route_header = route
                    .route_response_header()
                    .map(|(_, value)| Arc::clone(value));
                self.set_cookie = route.set_cookie();
                Action::Continue
            }
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(value) = self.route_header.take() {
            let name = self
                .active
                .as_ref()
                .and_then(|active| active.table.route_response_header());
            if let Some(name) = name {
                let written =
                    hostcalls::set_map_value(MapType::HttpResponseHeaders, name, Some(&value));
                if let Err(status) = written {
                    warn!("cannot set response header {name}: {status:?}");
                }
            }
        }
        if let Some(cookie) = self.set_cookie.take() {
            // Another Set-Cookie from the revision must survive.
            if let Err(status) =
                hostcalls::add_map_value(MapType::HttpResponseHeaders, "set-cookie", &cookie)
            {
                warn!("cannot add response header set-cookie: {status:?}");
            }
        }
        Action::Continue
    }
}
