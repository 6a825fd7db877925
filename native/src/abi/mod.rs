//! Envoy's dynamic-module ABI for HTTP filters, as far as this filter uses
//! it: the callbacks (exported by the Envoy binary, resolved when Envoy
//! loads the module) behind safe wrappers, and the hooks Envoy looks up in
//! the module.
//!
//! Each supported Envoy line has a module of its own, chosen by a Cargo
//! feature: the declarations differ in shape (1.36 passes pointer and
//! length pairs, 1.40 `{ptr, len}` structs and label arrays), and a build
//! must name exactly the symbols its Envoy exports, since the module is
//! linked with immediate binding and any unresolved symbol fails the load.
//!
//! The pointers Envoy hands the hooks are wrapped here once ([`Filter`],
//! [`Config`]); what the wrappers promise is what the hooks promise when
//! they create them.

use core::ffi::{c_char, c_void};
use core::ptr::NonNull;

mod exports;
#[cfg(feature = "envoy-1-36")]
mod v1_36;
#[cfg(feature = "envoy-1-40")]
mod v1_40;

#[cfg(feature = "envoy-1-36")]
pub use v1_36::log;
#[cfg(feature = "envoy-1-40")]
pub use v1_40::log;

/// Envoy's `DynamicModuleHttpFilter` of the stream whose hook is running.
#[derive(Debug, Clone, Copy)]
pub struct Filter(NonNull<c_void>);

impl Filter {
    /// # Safety
    ///
    /// `ptr` is the `filter_envoy_ptr` Envoy passed to the running hook,
    /// and the result is used only on this thread before that hook
    /// returns (Envoy's header views and callbacks are valid that long).
    pub unsafe fn new(ptr: *mut c_void) -> Option<Filter> {
        NonNull::new(ptr).map(Filter)
    }

    fn raw(self) -> *mut c_void {
        self.0.as_ptr()
    }
}

/// Envoy's `DynamicModuleHttpFilterConfig` while its configuration loads.
#[derive(Debug, Clone, Copy)]
pub struct Config(NonNull<c_void>);

impl Config {
    /// # Safety
    ///
    /// `ptr` is the `filter_config_envoy_ptr` Envoy passed to the running
    /// `on_http_filter_config_new`, and the result is used only before that
    /// hook returns.
    pub unsafe fn new(ptr: *mut c_void) -> Option<Config> {
        NonNull::new(ptr).map(Config)
    }

    fn raw(self) -> *mut c_void {
        self.0.as_ptr()
    }
}

/// Which of the stream's header maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Map {
    Request,
    Response,
}

/// Envoy's log levels (`envoy_dynamic_module_type_log_level`), those used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Level {
    Info = 2,
    Warn = 3,
    Error = 4,
}

/// A header value as Envoy has it, in place, and how many values the name
/// has. The view is only valid until a header of its map changes, and only
/// during the hook it was read in: see [`Filter::header`].
#[derive(Debug, Default)]
pub struct HeaderRead<'a> {
    pub count: usize,
    pub value: Option<&'a [u8]>,
}

/// The bytes of an Envoy-owned view.
///
/// # Safety
///
/// Unless null, `ptr` points to `len` readable bytes that stay valid and
/// unchanged for `'a`.
unsafe fn bytes<'a>(ptr: *const c_char, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: non-null, and the caller vouches for `len` bytes for 'a.
    unsafe { core::slice::from_raw_parts(ptr.cast::<u8>(), len) }
}

/// A status the hooks return: Envoy casts the C enum to its own
/// `Filter*Status`, whose `Continue` is 0 and `StopIteration` 1 for headers
/// (body and trailer hooks only ever continue).
pub const CONTINUE: u32 = 0;
pub const STOP_ITERATION: u32 = 1;
/// `envoy_dynamic_module_type_metrics_result_Success`.
const METRICS_SUCCESS: u32 = 0;
