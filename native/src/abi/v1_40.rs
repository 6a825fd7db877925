//! Envoy 1.40. The declarations follow
//! `source/extensions/dynamic_modules/abi/abi.h` of envoyproxy/envoy at
//! commit 359861cdad48ead4b4ee1d08680ed509020d2a4e (main, `VERSION.txt`
//! 1.40.0-dev), the newest source at hand; which hooks Envoy requires
//! follows `source/extensions/filters/http/dynamic_modules/filter_config.cc`
//! there. The v1.40.0 release (build 9e5580933739775e8bce696a57a2e1bc99368f23)
//! exports every callback used here and looks up every hook defined here;
//! its ABI version string, "v0.2.0", is taken from that binary (the
//! development header still says "v0.1.0").

use core::ffi::{c_char, c_void};

use super::{bytes, Config, Filter, HeaderRead, Level, Map, METRICS_SUCCESS};
use crate::hooks;

/// `ENVOY_DYNAMIC_MODULES_ABI_VERSION` of the 1.40.0 release. 1.40 only
/// warns on another version; what refuses a wrong build is its symbols.
static ABI_VERSION: &[u8] = b"v0.2.0\0";

/// `envoy_dynamic_module_type_module_buffer`: bytes the module owns.
#[repr(C)]
#[derive(Clone, Copy)]
struct ModuleBuffer {
    ptr: *const c_char,
    length: usize,
}

impl ModuleBuffer {
    fn of(s: &[u8]) -> ModuleBuffer {
        ModuleBuffer {
            ptr: s.as_ptr().cast(),
            length: s.len(),
        }
    }

    const NULL: ModuleBuffer = ModuleBuffer {
        ptr: core::ptr::null(),
        length: 0,
    };
}

/// `envoy_dynamic_module_type_envoy_buffer`: a view of Envoy's bytes.
#[repr(C)]
pub struct EnvoyBuffer {
    ptr: *const c_char,
    length: usize,
}

/// `envoy_dynamic_module_type_module_http_header`.
#[repr(C)]
struct ModuleHttpHeader {
    key_ptr: *const c_char,
    key_length: usize,
    value_ptr: *const c_char,
    value_length: usize,
}

/// `envoy_dynamic_module_type_http_header_type`.
fn header_type(map: Map) -> u32 {
    match map {
        Map::Request => 0,  // RequestHeader
        Map::Response => 2, // ResponseHeader
    }
}

// Handles are `void*`, buffers `{const char*, size_t}` passed by value,
// enums C `int`s. Metrics take label arrays: none here (null, 0).
extern "C" {
    fn envoy_dynamic_module_callback_http_get_header(
        filter_envoy_ptr: *mut c_void,
        header_type: u32,
        key: ModuleBuffer,
        result_buffer: *mut EnvoyBuffer,
        index: usize,
        optional_size: *mut usize,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_set_header(
        filter_envoy_ptr: *mut c_void,
        header_type: u32,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_add_header(
        filter_envoy_ptr: *mut c_void,
        header_type: u32,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_send_response(
        filter_envoy_ptr: *mut c_void,
        status_code: u32,
        headers_vector: *mut ModuleHttpHeader,
        headers_vector_size: usize,
        body: ModuleBuffer,
        details: ModuleBuffer,
    );
    fn envoy_dynamic_module_callback_http_clear_route_cache(filter_envoy_ptr: *mut c_void);
    fn envoy_dynamic_module_callback_http_filter_config_define_counter(
        filter_config_envoy_ptr: *mut c_void,
        name: ModuleBuffer,
        label_names: *mut ModuleBuffer,
        label_names_length: usize,
        counter_id_ptr: *mut usize,
    ) -> u32;
    fn envoy_dynamic_module_callback_http_filter_config_define_gauge(
        filter_config_envoy_ptr: *mut c_void,
        name: ModuleBuffer,
        label_names: *mut ModuleBuffer,
        label_names_length: usize,
        gauge_id_ptr: *mut usize,
    ) -> u32;
    fn envoy_dynamic_module_callback_http_filter_increment_counter(
        filter_envoy_ptr: *mut c_void,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> u32;
    fn envoy_dynamic_module_callback_http_filter_set_gauge(
        filter_envoy_ptr: *mut c_void,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> u32;
    fn envoy_dynamic_module_callback_http_filter_config_increment_counter(
        filter_config_envoy_ptr: *mut c_void,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> u32;
    fn envoy_dynamic_module_callback_log(level: u32, message: ModuleBuffer);
}

impl Filter {
    /// Value `index` of header `name` of `map`, read in place.
    ///
    /// # Safety
    ///
    /// The value is Envoy's own view: the caller drops it before the hook
    /// returns and before any call that changes a header of `map`.
    pub unsafe fn header<'a>(self, map: Map, name: &str, index: usize) -> HeaderRead<'a> {
        let mut result = EnvoyBuffer {
            ptr: core::ptr::null(),
            length: 0,
        };
        let mut count = 0usize;
        // SAFETY: a live filter during its hook (`Filter::new`); the key is
        // read for the call only; Envoy writes the two out-parameters.
        let found = unsafe {
            envoy_dynamic_module_callback_http_get_header(
                self.raw(),
                header_type(map),
                ModuleBuffer::of(name.as_bytes()),
                &mut result,
                index,
                &mut count,
            )
        };
        // SAFETY: Envoy's view of the value, valid until a header changes,
        // which the caller vouches it outlives no more than `'a`.
        let value =
            (found && !result.ptr.is_null()).then(|| unsafe { bytes(result.ptr, result.length) });
        HeaderRead { count, value }
    }

    /// Sets (`Some`) or removes (`None`) every value of header `name`;
    /// false where `map` is not available in this phase. (1.40 removes a
    /// header set to an empty value; the filter sets none.)
    pub fn set_header(self, map: Map, name: &str, value: Option<&str>) -> bool {
        let value = value.map_or(ModuleBuffer::NULL, |v| ModuleBuffer::of(v.as_bytes()));
        // SAFETY: a live filter during its hook; key and value are copied.
        unsafe {
            envoy_dynamic_module_callback_http_set_header(
                self.raw(),
                header_type(map),
                ModuleBuffer::of(name.as_bytes()),
                value,
            )
        }
    }

    /// Adds a value of header `name`, keeping the others (`addCopy`).
    pub fn add_header(self, map: Map, name: &str, value: &str) -> Result<(), &'static str> {
        // SAFETY: a live filter during its hook; key and value are copied.
        let added = unsafe {
            envoy_dynamic_module_callback_http_add_header(
                self.raw(),
                header_type(map),
                ModuleBuffer::of(name.as_bytes()),
                ModuleBuffer::of(value.as_bytes()),
            )
        };
        if added {
            Ok(())
        } else {
            Err("no such header map now, or an empty value")
        }
    }

    /// Answers the request (Envoy's `sendLocalReply`). Nothing of the
    /// stream may be touched after it.
    pub fn send_response(self, status: u32, headers: &[(&str, &str)], body: &[u8]) {
        let mut vector: Vec<ModuleHttpHeader> = headers
            .iter()
            .map(|(k, v)| ModuleHttpHeader {
                key_ptr: k.as_ptr().cast(),
                key_length: k.len(),
                value_ptr: v.as_ptr().cast(),
                value_length: v.len(),
            })
            .collect();
        // SAFETY: a live filter during its hook; Envoy copies the headers,
        // body and details before it returns. Empty details: Envoy's own
        // "dynamic_module".
        unsafe {
            envoy_dynamic_module_callback_http_send_response(
                self.raw(),
                status,
                vector.as_mut_ptr(),
                vector.len(),
                ModuleBuffer::of(body),
                ModuleBuffer::NULL,
            );
        }
    }

    /// 1.40 checks that there are downstream callbacks (a no-op upstream).
    pub fn clear_route_cache(self) {
        // SAFETY: a live filter during its hook.
        unsafe { envoy_dynamic_module_callback_http_clear_route_cache(self.raw()) }
    }

    pub fn increment_counter(self, id: usize, n: u64) -> bool {
        // SAFETY: a live filter during its hook; no labels; an unknown id
        // is refused.
        unsafe {
            envoy_dynamic_module_callback_http_filter_increment_counter(
                self.raw(),
                id,
                core::ptr::null_mut(),
                0,
                n,
            ) == METRICS_SUCCESS
        }
    }

    pub fn set_gauge(self, id: usize, value: u64) -> bool {
        // SAFETY: as `increment_counter`.
        unsafe {
            envoy_dynamic_module_callback_http_filter_set_gauge(
                self.raw(),
                id,
                core::ptr::null_mut(),
                0,
                value,
            ) == METRICS_SUCCESS
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
        call: unsafe extern "C" fn(
            *mut c_void,
            ModuleBuffer,
            *mut ModuleBuffer,
            usize,
            *mut usize,
        ) -> u32,
        name: &str,
    ) -> Option<usize> {
        let mut id = 0usize;
        // SAFETY: the configuration being created (`Config::new`); the name
        // is copied into Envoy's symbol table; no labels.
        let result = unsafe {
            call(
                self.raw(),
                ModuleBuffer::of(name.as_bytes()),
                core::ptr::null_mut(),
                0,
                &mut id,
            )
        };
        (result == METRICS_SUCCESS).then_some(id)
    }

    /// Adds to a counter this configuration defined, outside any request.
    pub fn increment_counter(self, id: usize, n: u64) -> bool {
        // SAFETY: the configuration being created; no labels; an unknown id
        // is refused.
        unsafe {
            envoy_dynamic_module_callback_http_filter_config_increment_counter(
                self.raw(),
                id,
                core::ptr::null_mut(),
                0,
                n,
            ) == METRICS_SUCCESS
        }
    }
}

/// A line in Envoy's `dynamic_modules` log (`log`, which 1.40 still
/// exports beside its `log_v2`).
pub fn log(level: Level, message: &str) {
    // SAFETY: the message is read for the call only.
    unsafe { envoy_dynamic_module_callback_log(level as u32, ModuleBuffer::of(message.as_bytes())) }
}

// ---- The hooks Envoy resolves: all required but `local_reply` and the
// configuration-level callout hooks, which this module does not define. ----

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
    name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> *const c_void {
    // SAFETY: Envoy's views, valid for this call (the hook copies them).
    let (name, config) = unsafe {
        (
            bytes(name.ptr, name.length),
            bytes(config.ptr, config.length),
        )
    };
    // SAFETY: Envoy's configuration object during its creation.
    unsafe { hooks::config_new(filter_config_envoy_ptr, name, config) }
}

/// The filter makes no callouts, streams or schedules: the rest are no-ops
/// Envoy 1.40 requires to exist.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _callout_id: u64,
    _result: u32,
    _headers: *mut c_void,
    _headers_size: usize,
    _body_chunks: *mut c_void,
    _body_chunks_size: usize,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_headers(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _stream_id: u64,
    _headers: *mut c_void,
    _headers_size: usize,
    _end_stream: bool,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_data(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _stream_id: u64,
    _data: *const c_void,
    _data_count: usize,
    _end_stream: bool,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_trailers(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _stream_id: u64,
    _trailers: *mut c_void,
    _trailers_size: usize,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_complete(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _stream_id: u64,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_reset(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _stream_id: u64,
    _reason: u32,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_scheduled(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _event_id: u64,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
) {
}
