//! Envoy 1.36.3 and later 1.36 releases. The declarations follow
//! `source/extensions/dynamic_modules/abi.h` and `abi_version.h` of
//! envoyproxy/envoy at commit bad8280de85c25b147a90c1d9b8a8c67a13e7134
//! ("repo: Release v1.36.4"); which hooks Envoy requires, and how it calls
//! them, follow `source/extensions/filters/http/dynamic_modules/` there.
//! 1.36.0 to 1.36.2 have another header (another hash) and refuse this
//! build at load.

use core::ffi::{c_char, c_void};

use super::{bytes, Config, Filter, HeaderRead, Level, Map, METRICS_SUCCESS};
use crate::hooks;

/// `kAbiVersion`: the sha256 of that `abi.h`, compared byte for byte.
static ABI_VERSION: &[u8] = b"7ee559f16f35086fa7dc9ed380e2efc6b4d89031a001fb504aa71eccd25882f7\0";

/// `envoy_dynamic_module_type_module_http_header`.
#[repr(C)]
struct ModuleHttpHeader {
    key_ptr: *mut c_char,
    key_length: usize,
    value_ptr: *mut c_char,
    value_length: usize,
}

// The `*_envoy_ptr` handles are `void*`, the module's buffers `char*`
// (Envoy only reads them), enums are C `int`s.
extern "C" {
    fn envoy_dynamic_module_callback_http_get_request_header(
        filter_envoy_ptr: *mut c_void,
        key: *mut c_char,
        key_length: usize,
        result_buffer_ptr: *mut *mut c_char,
        result_buffer_length_ptr: *mut usize,
        index: usize,
    ) -> usize;
    fn envoy_dynamic_module_callback_http_get_response_header(
        filter_envoy_ptr: *mut c_void,
        key: *mut c_char,
        key_length: usize,
        result_buffer_ptr: *mut *mut c_char,
        result_buffer_length_ptr: *mut usize,
        index: usize,
    ) -> usize;
    fn envoy_dynamic_module_callback_http_set_request_header(
        filter_envoy_ptr: *mut c_void,
        key: *mut c_char,
        key_length: usize,
        value: *mut c_char,
        value_length: usize,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_set_response_header(
        filter_envoy_ptr: *mut c_void,
        key: *mut c_char,
        key_length: usize,
        value: *mut c_char,
        value_length: usize,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_send_response(
        filter_envoy_ptr: *mut c_void,
        status_code: u32,
        headers_vector: *mut ModuleHttpHeader,
        headers_vector_size: usize,
        body: *mut c_char,
        body_length: usize,
    );
    fn envoy_dynamic_module_callback_http_clear_route_cache(filter_envoy_ptr: *mut c_void);
    fn envoy_dynamic_module_callback_http_filter_config_define_counter(
        filter_config_envoy_ptr: *mut c_void,
        name: *mut c_char,
        name_length: usize,
        counter_id_ptr: *mut usize,
    ) -> u32;
    fn envoy_dynamic_module_callback_http_filter_config_define_gauge(
        filter_config_envoy_ptr: *mut c_void,
        name: *mut c_char,
        name_length: usize,
        gauge_id_ptr: *mut usize,
    ) -> u32;
    fn envoy_dynamic_module_callback_http_filter_increment_counter(
        filter_envoy_ptr: *mut c_void,
        id: usize,
        value: u64,
    ) -> u32;
    fn envoy_dynamic_module_callback_http_filter_set_gauge(
        filter_envoy_ptr: *mut c_void,
        id: usize,
        value: u64,
    ) -> u32;
    fn envoy_dynamic_module_callback_log(level: u32, message_ptr: *const c_char, length: usize);
}

/// Bytes as the `char*` the declarations take; Envoy copies what it
/// keeps and never writes through it.
fn c(s: &[u8]) -> *mut c_char {
    s.as_ptr().cast::<c_char>().cast_mut()
}

impl Filter {
    /// Value `index` of header `name` of `map`, read in place.
    ///
    /// # Safety
    ///
    /// The value is Envoy's own view: the caller drops it before the hook
    /// returns and before any call that changes a header of `map`.
    pub unsafe fn header<'a>(self, map: Map, name: &str, index: usize) -> HeaderRead<'a> {
        let get = match map {
            Map::Request => envoy_dynamic_module_callback_http_get_request_header,
            Map::Response => envoy_dynamic_module_callback_http_get_response_header,
        };
        let mut ptr: *mut c_char = core::ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: a live filter during its hook (`Filter::new`); the key is
        // read for the call only; Envoy writes the two out-parameters.
        let count = unsafe {
            get(
                self.raw(),
                c(name.as_bytes()),
                name.len(),
                &mut ptr,
                &mut len,
                index,
            )
        };
        // SAFETY: Envoy's view of the value, valid until a header changes,
        // which the caller vouches it outlives no more than `'a`.
        let value = (!ptr.is_null()).then(|| unsafe { bytes(ptr, len) });
        HeaderRead { count, value }
    }

    /// Sets (`Some`) or removes (`None`) every value of header `name`;
    /// false where `map` is not available in this phase.
    pub fn set_header(self, map: Map, name: &str, value: Option<&str>) -> bool {
        let set = match map {
            Map::Request => envoy_dynamic_module_callback_http_set_request_header,
            Map::Response => envoy_dynamic_module_callback_http_set_response_header,
        };
        // A null value removes the header (`setHeaderValueImpl`).
        let (value, value_len) =
            value.map_or((core::ptr::null_mut(), 0), |v| (c(v.as_bytes()), v.len()));
        // SAFETY: a live filter during its hook; key and value are copied.
        unsafe { set(self.raw(), c(name.as_bytes()), name.len(), value, value_len) }
    }

    /// Adds a value of header `name`, keeping the others. 1.36 can only
    /// replace, so this works where the header has no value yet.
    pub fn add_header(self, map: Map, name: &str, value: &str) -> Result<(), &'static str> {
        // SAFETY: only the count is kept, and no value.
        if unsafe { self.header(map, name, 0) }.count > 0 {
            return Err("Envoy 1.36's ABI cannot add a second value to a header");
        }
        if self.set_header(map, name, Some(value)) {
            Ok(())
        } else {
            Err("no such header map now")
        }
    }

    /// Answers the request (Envoy's `sendLocalReply`). Nothing of the
    /// stream may be touched after it.
    pub fn send_response(self, status: u32, headers: &[(&str, &str)], body: &[u8]) {
        let mut vector: Vec<ModuleHttpHeader> = headers
            .iter()
            .map(|(k, v)| ModuleHttpHeader {
                key_ptr: c(k.as_bytes()),
                key_length: k.len(),
                value_ptr: c(v.as_bytes()),
                value_length: v.len(),
            })
            .collect();
        // SAFETY: a live filter during its hook; Envoy copies the headers
        // and body before it returns (the header lambda runs inside).
        unsafe {
            envoy_dynamic_module_callback_http_send_response(
                self.raw(),
                status,
                vector.as_mut_ptr(),
                vector.len(),
                c(body),
                body.len(),
            );
        }
    }

    /// 1.36 dereferences the downstream callbacks unchecked: this filter
    /// runs in the HTTP connection manager's chain only, never upstream.
    pub fn clear_route_cache(self) {
        // SAFETY: a live (downstream) filter during its hook.
        unsafe { envoy_dynamic_module_callback_http_clear_route_cache(self.raw()) }
    }

    pub fn increment_counter(self, id: usize, n: u64) -> bool {
        // SAFETY: a live filter during its hook; an unknown id is refused.
        unsafe {
            envoy_dynamic_module_callback_http_filter_increment_counter(self.raw(), id, n)
                == METRICS_SUCCESS
        }
    }

    pub fn set_gauge(self, id: usize, value: u64) -> bool {
        // SAFETY: a live filter during its hook; an unknown id is refused.
        unsafe {
            envoy_dynamic_module_callback_http_filter_set_gauge(self.raw(), id, value)
                == METRICS_SUCCESS
        }
    }
}

impl Config {
    pub fn define_counter(self, name: &str) -> Option<usize> {
        self.define(
            envoy_dynamic_module_callback_http_filter_config_define_counter,
            name,
        )
    }

    pub fn define_gauge(self, name: &str) -> Option<usize> {
        self.define(
            envoy_dynamic_module_callback_http_filter_config_define_gauge,
            name,
        )
    }

    /// A counter or gauge by its ABI call, which differ only in the kind.
    fn define(
        self,
        call: unsafe extern "C" fn(*mut c_void, *mut c_char, usize, *mut usize) -> u32,
        name: &str,
    ) -> Option<usize> {
        let mut id = 0usize;
        // SAFETY: the configuration being created (`Config::new`); the name
        // is copied into Envoy's symbol table.
        let result = unsafe { call(self.raw(), c(name.as_bytes()), name.len(), &mut id) };
        (result == METRICS_SUCCESS).then_some(id)
    }

    /// 1.36 has no way to add to a counter outside a request: false, and
    /// the caller hands the count on from the next request.
    pub fn increment_counter(self, _id: usize, _n: u64) -> bool {
        false
    }
}

/// A line in Envoy's `dynamic_modules` log.
pub fn log(level: Level, message: &str) {
    // SAFETY: the message is read for the call only.
    unsafe {
        envoy_dynamic_module_callback_log(level as u32, message.as_ptr().cast(), message.len())
    }
}

// ---- The hooks Envoy resolves (every one is required). ----

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const c_char {
    ABI_VERSION.as_ptr().cast()
}

/// # Safety
///
/// Called by Envoy on the main thread with its configuration object and
/// views of the filter name and configuration, valid for the call.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    filter_config_envoy_ptr: *mut c_void,
    name_ptr: *const c_char,
    name_size: usize,
    config_ptr: *const c_char,
    config_size: usize,
) -> *const c_void {
    // SAFETY: Envoy's views, valid for this call (the hook copies them).
    let (name, config) = unsafe { (bytes(name_ptr, name_size), bytes(config_ptr, config_size)) };
    // SAFETY: Envoy's configuration object during its creation.
    unsafe { hooks::config_new(filter_config_envoy_ptr, name, config) }
}

/// The filter makes no callouts.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _callout_id: u32,
    _result: u32,
    _headers: *mut c_void,
    _headers_size: usize,
    _body_vector: *mut c_void,
    _body_vector_size: usize,
) {
}

/// The filter schedules nothing.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_scheduled(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _event_id: u64,
) {
}
