//! The hooks' bodies: Envoy's opaque pointers to this module's objects (a
//! configuration, a stream) and back, and the floor under every hook.
//!
//! Ownership: a configuration is an `Arc<ConfigState>` handed to Envoy by
//! `Arc::into_raw` and taken back once in `config_destroy`; each stream holds
//! a reference of its own, so the order in which Envoy destroys them does
//! not matter. A stream is a `Box<StreamState>` taken back in
//! `filter_destroy`.
//!
//! Re-entrancy: Envoy can call a stream's hooks from inside a callback
//! another of its hooks made (a local reply runs the response path, and can
//! end the stream and destroy the filter before the first hook returns; see
//! envoyproxy/envoy#46548). So hooks only ever hold shared references to a
//! stream, and a destroy that arrives while a hook runs is carried out by
//! the outermost hook as it returns.

use core::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::abi::{Config, Filter, CONTINUE};
use crate::shell::{ConfigState, StreamState};

/// Runs `f`; a panic gives `fallback` instead of unwinding into Envoy,
/// which would abort the process. The core never panics (the workspace's
/// lints), so this is only the floor.
fn guarded<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// # Safety
///
/// `config_envoy` is Envoy's configuration object of the running
/// `on_http_filter_config_new`.
pub unsafe fn config_new(config_envoy: *mut c_void, name: &[u8], config: &[u8]) -> *const c_void {
    // SAFETY: the caller's promise, used within this hook only.
    let Some(envoy) = (unsafe { Config::new(config_envoy) }) else {
        return core::ptr::null();
    };
    guarded(core::ptr::null(), || {
        match ConfigState::load(envoy, name, config) {
            Some(state) => Arc::into_raw(Arc::new(state)).cast(),
            // Null makes Envoy refuse the configuration.
            None => core::ptr::null(),
        }
    })
}

/// # Safety
///
/// `config` is null or what `config_new` returned, given back once.
pub unsafe fn config_destroy(config: *const c_void) {
    if config.is_null() {
        return;
    }
    // SAFETY: from `Arc::into_raw` in `config_new`, released once here.
    let state = unsafe { Arc::from_raw(config.cast::<ConfigState>()) };
    guarded((), || drop(state));
}

/// Never null: Envoy calls the stream's hooks with whatever this returns.
///
/// # Safety
///
/// `config` is null or what `config_new` returned, not yet destroyed.
pub unsafe fn filter_new(config: *const c_void) -> *const c_void {
    let config = config.cast::<ConfigState>();
    let config = (!config.is_null()).then(|| {
        // SAFETY: a live `Arc` from `config_new` (the caller's promise):
        // one more reference, owned by the stream.
        unsafe {
            Arc::increment_strong_count(config);
            Arc::from_raw(config)
        }
    });
    let state =
        guarded(None, || Some(StreamState::new(config))).unwrap_or_else(|| StreamState::new(None));
    Box::into_raw(Box::new(state)).cast_const().cast()
}

/// Runs `f` on stream `module`, keeping it alive until `f` returns even if
/// Envoy destroys it meanwhile.
///
/// # Safety
///
/// `module` is null or what `filter_new` returned, not yet freed, and this
/// runs on the stream's thread.
unsafe fn in_stream(module: *const c_void, f: impl FnOnce(&StreamState) -> u32) -> u32 {
    let ptr = module.cast::<StreamState>();
    if ptr.is_null() {
        return CONTINUE;
    }
    // SAFETY: live (the caller's promise; freeing waits for depth 0), and
    // only shared references are ever made to it.
    let state = unsafe { &*ptr };
    state.depth.set(state.depth.get().saturating_add(1));
    let status = guarded(CONTINUE, || f(state));
    state.depth.set(state.depth.get().saturating_sub(1));
    let free = state.depth.get() == 0 && state.destroyed.get();
    if free {
        // SAFETY: from `Box::into_raw` in `filter_new`; Envoy destroyed it
        // during this hook, and no other hook of it is running (depth 0),
        // so `state` above is the last reference, unused from here on.
        drop(unsafe { Box::from_raw(ptr.cast_mut()) });
    }
    status
}

/// # Safety
///
/// `filter` is Envoy's live filter and `module` what `filter_new` returned
/// for it, during its `request_headers` hook on its thread.
pub unsafe fn request_headers(filter: *mut c_void, module: *const c_void) -> u32 {
    // SAFETY: the caller's promise, for the length of the hook.
    unsafe {
        in_stream(module, |state| match Filter::new(filter) {
            Some(envoy) => state.on_request_headers(envoy),
            None => CONTINUE,
        })
    }
}

/// # Safety
///
/// As `request_headers`, during `response_headers`.
pub unsafe fn response_headers(filter: *mut c_void, module: *const c_void) -> u32 {
    // SAFETY: the caller's promise, for the length of the hook.
    unsafe {
        in_stream(module, |state| match Filter::new(filter) {
            Some(envoy) => state.on_response_headers(envoy),
            None => CONTINUE,
        })
    }
}

/// # Safety
///
/// `module` is null or what `filter_new` returned, given back once, on the
/// stream's thread.
pub unsafe fn filter_destroy(module: *const c_void) {
    let ptr = module.cast::<StreamState>();
    if ptr.is_null() {
        return;
    }
    // SAFETY: live until freed below or by the running hook.
    let state = unsafe { &*ptr };
    if state.depth.get() > 0 {
        // A hook of this stream is on the stack: it frees the stream.
        state.destroyed.set(true);
        return;
    }
    // SAFETY: from `Box::into_raw` in `filter_new`, freed once: no hook of
    // it runs, and Envoy calls no hook after this one.
    guarded((), || drop(unsafe { Box::from_raw(ptr.cast_mut()) }));
}
