//! Knative Serving's traffic model for Envoy: the host-free routing core.
//!
//! A service has revisions; traffic is split between them by percent; a tag
//! reaches one revision by the `Knative-Serving-Tag` header or by its own
//! subdomain. The filter picks the revision for every request and writes the
//! upstream cluster into a request header that Envoy's route reads.
//!
//! Layout: [`config`] is the JSON document; [`compile`] validates it and
//! builds a [`RouteTable`] (with [`hosts`], [`split`], [`rules`],
//! [`sticky`], [`rollout`] and [`mirror`]); [`routing`] holds the
//! per-request rules, in one place; [`filter`] is the filter's life cycle in
//! a proxy, written against a host trait that each shell implements (the
//! proxy-wasm module is the `wasm/` crate). Nothing here knows proxy-wasm.

// The core has nothing to do that needs it.
#![forbid(unsafe_code)]

pub(crate) mod bytes;
pub mod compile;
pub mod config;
pub(crate) mod decimal;
pub mod error;
pub mod fasthash;
pub mod filter;
pub mod guard;
pub mod hosts;
pub mod ids;
pub mod metrics;
pub(crate) mod mirror;
pub mod names;
pub mod request;
pub mod rollout;
pub mod routing;
pub(crate) mod rules;
pub(crate) mod short_keys;
pub(crate) mod slots;
pub mod split;
pub(crate) mod sticky;
pub(crate) mod tag_name;
pub mod time;

pub use compile::compile;
pub use error::{ConfigError, ConfigErrors, ErrorKind};
pub use request::Request;
pub use routing::{Decision, Reason, Route, RouteTable};
