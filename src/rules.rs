//! Header and cookie rules: route on what a client already sends, not only on
//! `Knative-Serving-Tag` (knative/serving#4736), as the seed's Istio
//! VirtualService does by hand with a `wid` header prefix.

use crate::ids::TagId;
use crate::request::{HeaderCache, Request, Source};

/// How a rule tests what it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Exact(Box<str>),
    Prefix(Box<str>),
    Present,
}

/// One compiled rule; `tag` is one of the service's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub source: Source,
    pub test: Test,
    pub tag: TagId,
}

impl Rule {
    pub fn matches(&self, headers: &HeaderCache<'_, impl Request>) -> bool {
        match (&self.test, self.source.read(headers)) {
            (_, None) => false,
            (Test::Present, Some(_)) => true,
            // In place, not with `==` and `starts_with` (see `bytes`).
            (Test::Exact(want), Some(v)) => crate::bytes::same(v.as_bytes(), want.as_bytes()),
            (Test::Prefix(want), Some(v)) => {
                crate::bytes::starts_with(v.as_bytes(), want.as_bytes())
            }
        }
    }
}
