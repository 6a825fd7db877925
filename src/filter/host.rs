//! The proxy as the filter sees it: what each shell (the proxy-wasm module,
//! or a test's stand-in) implements over its own host calls.

use std::fmt;

use crate::request::Request;

/// How bad a log line is; each shell maps it to its proxy's levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
}

/// Why the proxy refused a call, in its own words (e.g. `BadArgument`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The proxy while a configuration loads: counters and the log.
pub trait ConfigHost {
    /// The proxy's handle of a counter.
    type Counter: Copy;

    /// Defines counter `name`; `None` if the proxy refuses.
    fn define_counter(&mut self, name: &str) -> Option<Self::Counter>;

    /// Defines gauge `name` (a value set, not added to); `None` if the
    /// proxy refuses.
    fn define_gauge(&mut self, name: &str) -> Option<Self::Counter>;

    fn increment_counter(&mut self, counter: Self::Counter);

    fn log(&mut self, level: Level, message: fmt::Arguments<'_>);
}

/// The proxy during one request. Its request headers are read through
/// [`Request`], as the routing rules read them.
pub trait StreamHost: Request {
    /// The proxy's handle of a counter, as [`ConfigHost::define_counter`]
    /// gave it.
    type Counter: Copy;

    fn increment_counter(&mut self, counter: Self::Counter);

    /// Whether the request has header `name`, whatever its value's bytes
    /// (where [`Request::header`] reads a value that is not UTF-8 as
    /// absent).
    fn has_request_header(&self, name: &str) -> bool;

    /// Sets request header `name`, replacing every value it had.
    fn set_request_header(&mut self, name: &str, value: &str) -> Result<(), HostError>;

    /// Removes every value of request header `name`.
    fn remove_request_header(&mut self, name: &str) -> Result<(), HostError>;

    /// Makes the proxy choose the route again, now that headers it matches
    /// on have changed.
    fn clear_route_cache(&mut self);

    /// Answers the request from the filter itself.
    fn send_local_response(
        &mut self,
        status: u32,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), HostError>;

    /// The response's status code, if it has one that reads as a number.
    fn response_status(&self) -> Option<u32>;

    /// Sets response header `name`, replacing every value it had.
    fn set_response_header(&mut self, name: &str, value: &str) -> Result<(), HostError>;

    /// Adds a value of response header `name`, keeping the others.
    fn add_response_header(&mut self, name: &str, value: &str) -> Result<(), HostError>;

    fn log(&mut self, level: Level, message: fmt::Arguments<'_>);
}

/// The proxy on a timer tick, outside any request: what a guard needs to
/// judge the answers every worker counted, and to share its verdict.
pub trait TickHost {
    /// The proxy's handle of a counter or gauge.
    type Counter: Copy;

    /// A counter's value, as every worker of the proxy added to it.
    fn counter_value(&mut self, counter: Self::Counter) -> Option<u64>;

    fn set_gauge(&mut self, gauge: Self::Counter, value: u64);

    /// The value of shared datum `key` and its version; `None` if there is
    /// none.
    fn shared_data(&mut self, key: &str) -> Option<(Vec<u8>, u32)>;

    /// Sets shared datum `key` if its version is still `version` (0: has
    /// none yet); an error if another worker changed it first.
    fn set_shared_data(&mut self, key: &str, value: &[u8], version: u32) -> Result<(), HostError>;

    /// The proxy's clock, in Unix milliseconds.
    fn now_ms(&mut self) -> u64;

    fn log(&mut self, level: Level, message: fmt::Arguments<'_>);
}
