//! The Envoy dynamic-module shell: the routing core's host traits over
//! Envoy's dynamic-module C ABI (`envoy.extensions.filters.http.dynamic_modules`),
//! and the hooks Envoy calls into. What the filter does lives in the core
//! (`knative_traffic::filter`); this crate only translates, like `wasm/`
//! does for proxy-wasm.
//!
//! - [`abi`]: the C declarations of the one Envoy line this build is for
//!   (a Cargo feature), and thin wrappers over them.
//! - `hooks`: the exported hooks' bodies: Envoy's pointers to this crate's
//!   objects and back. With `abi`, the only `unsafe` code.
//! - `shell`: the core's hosts, per configuration and per request.
//! - [`state`]: what the process shares: counter values for guards, the
//!   guards' shared data, the per-thread generator's seed.
//!
//! One configuration is shared by every worker thread (Envoy creates it on
//! the main thread and hands it to each stream), so the core's `Filter`
//! runs once per configuration for the whole process, not once per worker
//! as in Wasm.

// Nothing to build for Wasm: that is wasm/'s target.
#![cfg(not(target_arch = "wasm32"))]
// FFI needs `unsafe`; each use says why it holds.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(all(feature = "envoy-1-36", feature = "envoy-1-40"))]
compile_error!(
    "knative-traffic-native: choose one Envoy ABI: the default (envoy-1-40), or `--no-default-features --features envoy-1-36`"
);
#[cfg(not(any(feature = "envoy-1-36", feature = "envoy-1-40")))]
compile_error!(
    "knative-traffic-native: choose one Envoy ABI with `--features envoy-1-36` or `--features envoy-1-40`"
);

// The unit tests are an executable of their own, where Envoy's callbacks
// would be undefined: they cover the process-wide state only. Without
// exactly one ABI only the compile_error! above speaks.
#[cfg(all(
    not(test),
    any(feature = "envoy-1-36", feature = "envoy-1-40"),
    not(all(feature = "envoy-1-36", feature = "envoy-1-40"))
))]
pub mod abi;
#[cfg(all(
    not(test),
    any(feature = "envoy-1-36", feature = "envoy-1-40"),
    not(all(feature = "envoy-1-36", feature = "envoy-1-40"))
))]
mod hooks;
#[cfg(all(
    not(test),
    any(feature = "envoy-1-36", feature = "envoy-1-40"),
    not(all(feature = "envoy-1-36", feature = "envoy-1-40"))
))]
mod shell;
#[cfg_attr(test, allow(dead_code))]
pub mod state;
