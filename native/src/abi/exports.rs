//! The hooks whose declarations every supported Envoy line shares: the
//! stream's life and its header events. Each line's module declares the
//! rest (program and configuration start, the hooks whose types differ).

use core::ffi::c_void;

use super::CONTINUE;
use crate::hooks;

/// # Safety
///
/// Envoy passes what `config_new` returned, once, after its last stream.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(
    filter_config_ptr: *const c_void,
) {
    // SAFETY: as promised by Envoy above.
    unsafe { hooks::config_destroy(filter_config_ptr) }
}

/// # Safety
///
/// Envoy passes a configuration `config_new` returned. Nothing of Envoy's
/// is called here: in 1.36 the stream's callbacks are not set yet.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_new(
    filter_config_ptr: *const c_void,
    _filter_envoy_ptr: *mut c_void,
) -> *const c_void {
    // SAFETY: as promised by Envoy above.
    unsafe { hooks::filter_new(filter_config_ptr) }
}

/// # Safety
///
/// Envoy passes its live filter and what `filter_new` returned, on the
/// stream's thread.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
    filter_envoy_ptr: *mut c_void,
    filter_module_ptr: *const c_void,
    _end_of_stream: bool,
) -> u32 {
    // SAFETY: as promised by Envoy above.
    unsafe { hooks::request_headers(filter_envoy_ptr, filter_module_ptr) }
}

/// # Safety
///
/// As `request_headers`.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    filter_envoy_ptr: *mut c_void,
    filter_module_ptr: *const c_void,
    _end_of_stream: bool,
) -> u32 {
    // SAFETY: as promised by Envoy above.
    unsafe { hooks::response_headers(filter_envoy_ptr, filter_module_ptr) }
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_body(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _end_of_stream: bool,
) -> u32 {
    CONTINUE
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_trailers(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
) -> u32 {
    CONTINUE
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_body(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
    _end_of_stream: bool,
) -> u32 {
    CONTINUE
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_trailers(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
) -> u32 {
    CONTINUE
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_stream_complete(
    _filter_envoy_ptr: *mut c_void,
    _filter_module_ptr: *const c_void,
) {
}

/// # Safety
///
/// Envoy passes what `filter_new` returned, once, as the stream goes (1.40
/// defers it past the stream); the hook calls nothing of Envoy's.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_destroy(
    filter_module_ptr: *const c_void,
) {
    // SAFETY: as promised by Envoy above.
    unsafe { hooks::filter_destroy(filter_module_ptr) }
}
