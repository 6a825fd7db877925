//! A no-op proxy-wasm HTTP filter: a root context and one HTTP context per
//! request, each callback returning `Continue` at once. Envoy pays for it
//! what it pays for any Rust proxy-wasm filter before the filter does any
//! work of its own.
//!
//! Configured with `route`, it does the least a routing filter can: it
//! reads the Host and the `Knative-Serving-Tag` header, picks one of the
//! benchmark's three revisions (by tag host, by tag, or 80/10/10 by a
//! xorshift draw) and writes only the cluster header. Envoy selects the
//! route again by itself after the write. What that costs beyond the no-op
//! is the floor under any proxy-wasm filter that routes by a header.

use std::cell::Cell;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { route: false, state: Rc::new(Cell::new(0x9e37_79b9_7f4a_7c15)) })
    });
}}

const REVISIONS: [&str; 3] = [
    "traffic-example-v1",
    "traffic-example-v2",
    "traffic-example-v3",
];

struct Root {
    route: bool,
    state: Rc<Cell<u64>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.route = self.get_plugin_configuration().as_deref() == Some(b"route".as_slice());
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        if self.route {
            Some(Box::new(Routing(Rc::clone(&self.state))))
        } else {
            Some(Box::new(Stream))
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream;

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }
}

struct Routing(Rc<Cell<u64>>);

impl Context for Routing {}

impl HttpContext for Routing {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let host = self.get_http_request_header(":authority");
        let tag = self.get_http_request_header("knative-serving-tag");
        let by_tag = |t: &str| match t {
            "v1" => Some(0),
            "v2" => Some(1),
            "v3" => Some(2),
            _ => None,
        };
        let from_host = host
            .as_deref()
            .and_then(|h| h.strip_suffix("-traffic-example.default.example.com"))
            .and_then(by_tag);
        let index = from_host.or_else(|| tag.as_deref().and_then(by_tag)).unwrap_or_else(|| {
            let mut x = self.0.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0.set(x);
            match x % 100 {
                0..=79 => 0,
                80..=89 => 1,
                _ => 2,
            }
        });
        if let Some(revision) = REVISIONS.get(index) {
            self.set_http_request_header("x-knative-cluster", Some(revision));
        }
        Action::Continue
    }
}
