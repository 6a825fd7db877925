//! Knative Serving's traffic model as a proxy-wasm HTTP filter.
//!
//! A service has revisions; traffic is split between them by percent; a tag
//! reaches one revision by the `Knative-Serving-Tag` header or by its own
//! subdomain. The filter picks the revision for every request and writes the
//! upstream cluster into a request header that Envoy's route reads.
//!
//! Layout: [`config`] is the JSON document, [`compile`] validates it and
//! builds a [`routing::RouteTable`] (with [`hosts`] and [`split`]), and
//! [`routing`] holds the per-request rules. Only `filter` knows proxy-wasm;
//! it reads headers, asks the table, and writes headers.

// A panic aborts the Wasm VM and every request on it, so the filter's own code
// has none of the usual ways to panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod compile;
pub mod config;
pub mod error;
pub mod fasthash;
pub mod hosts;
pub mod metrics;
pub mod mirror;
pub mod request;
pub mod rollout;
pub mod routing;
pub mod rules;
pub mod split;
pub mod sticky;

#[cfg(target_arch = "wasm32")]
mod filter;

pub use compile::compile;
pub use error::{ConfigError, ConfigErrors};
pub use request::Request;
pub use routing::{Decision, Reason, Route, RouteTable};
