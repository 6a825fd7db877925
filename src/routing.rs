//! The routing rules: which revision serves a request, and what the filter
//! writes on it. Everything here is plain Rust over a compiled [`RouteTable`];
//! the proxy-wasm layer (`filter`) only reads headers, asks [`RouteTable::route`]
//! and writes what the [`Decision`] says.
//!
//! Precedence, first match wins:
//! 1. Host is a tag host `{tag}-{name}.{zone}`: that tag's revision, whatever
//!    its percent. Tag-host shape for a known service but no such tag: 404.
//! 2. Host is a service's host and `Knative-Serving-Tag` names one of its
//!    tags (exact, case-sensitive): that tag's revision. An unknown tag falls
//!    through.
//! 3. A weighted draw over the service's percents.
//!
//! Any other host passes through untouched.

use rand_core::Rng;

use crate::hosts::{normalize, HostMatch, HostTable};
use crate::split::{DestinationId, Split};

/// Knative's tag header; also written on tag hosts.
pub const TAG_HEADER: &str = "knative-serving-tag";
pub const REVISION_HEADER: &str = "knative-serving-revision";
pub const NAMESPACE_HEADER: &str = "knative-serving-namespace";
/// Set to `true` when the request took the percentage split.
pub const DEFAULT_ROUTE_HEADER: &str = "knative-serving-default-route";

/// What the routing rules may ask of a request besides its host.
pub trait Request {
    /// The first value of a request header, by lower-case name; `None` when
    /// absent or not UTF-8.
    fn header(&self, name: &str) -> Option<String>;
}

/// The compiled configuration. Built by [`crate::compile`]; immutable.
#[derive(Debug)]
pub struct RouteTable {
    pub(crate) cluster_header: Box<str>,
    pub(crate) hosts: HostTable,
    pub(crate) services: Box<[Service]>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Service {
    pub name: Box<str>,
    pub namespace: Box<str>,
    /// One per distinct revision, in order of first appearance in `traffic`.
    pub destinations: Box<[Destination]>,
    /// Sorted by name for binary search.
    pub(crate) tags: Box<[Tag]>,
    pub split: Split,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub revision: Box<str>,
    pub cluster: Box<str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    pub(crate) name: Box<str>,
    pub(crate) destination: DestinationId,
}

/// Why a request went where it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    TagHost,
    TagHeader,
    Draw,
}

impl Reason {
    /// Stable lower-case name, for logs and response headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TagHost => "tag-host",
            Reason::TagHeader => "tag-header",
            Reason::Draw => "draw",
        }
    }
}

/// The routing decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'t> {
    /// Not a configured host: leave the request alone.
    PassThrough,
    /// A tag host of this service for a tag it does not have: answer 404, as
    /// Knative's gateway does (no route).
    NoSuchTag(&'t Service),
    Route(Route<'t>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'t> {
    pub service: &'t Service,
    pub destination: &'t Destination,
    pub reason: Reason,
    /// The tag of a tag host.
    pub host_tag: Option<&'t str>,
    cluster_header: &'t str,
}

impl RouteTable {
    /// Decides where a request goes. `authority` is the request's `:authority`
    /// (Host) as received; `rng` is only used when a draw is needed.
    pub fn route<'t>(
        &'t self,
        authority: &str,
        request: &impl Request,
        rng: &mut impl Rng,
    ) -> Decision<'t> {
        let host = normalize(authority);
        let (service_id, tag) = match self.hosts.resolve(&host) {
            HostMatch::Unknown => return Decision::PassThrough,
            HostMatch::NoSuchTag(s) => {
                return self
                    .service(s)
                    .map_or(Decision::PassThrough, Decision::NoSuchTag)
            }
            HostMatch::Service(s) => (s, None),
            HostMatch::Tag(s, t) => (s, Some(t)),
        };
        let Some(service) = self.service(service_id) else {
            return Decision::PassThrough;
        };
        let (destination, reason, host_tag) = match tag.and_then(|t| service.tags.get(t as usize)) {
            Some(tag) => (tag.destination, Reason::TagHost, Some(&*tag.name)),
            None => match request.header(TAG_HEADER).and_then(|v| service.tag(&v)) {
                Some(tag) => (tag.destination, Reason::TagHeader, None),
                None => (service.split.draw(rng), Reason::Draw, None),
            },
        };
        match service.destinations.get(destination as usize) {
            Some(destination) => Decision::Route(Route {
                service,
                destination,
                reason,
                host_tag,
                cluster_header: &self.cluster_header,
            }),
            None => Decision::PassThrough,
        }
    }

    /// The request header the chosen cluster is written into.
    pub fn cluster_header(&self) -> &str {
        &self.cluster_header
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    fn service(&self, id: u32) -> Option<&Service> {
        self.services.get(id as usize)
    }
}

impl Service {
    /// The tag named exactly `name`.
    fn tag(&self, name: &str) -> Option<&Tag> {
        self.tags
            .binary_search_by(|t| (*t.name).cmp(name))
            .ok()
            .and_then(|i| self.tags.get(i))
    }

    /// The tags and the revision each one reaches, sorted by tag.
    pub fn tags(&self) -> impl Iterator<Item = (&str, &Destination)> {
        self.tags.iter().filter_map(|t| {
            self.destinations
                .get(t.destination as usize)
                .map(|d| (&*t.name, d))
        })
    }
}

impl<'t> Route<'t> {
    /// The request headers to write, as Knative's ingress does: the cluster,
    /// the revision and namespace always (overwriting the client's),
    /// `Knative-Serving-Default-Route: true` on the split path (removed
    /// elsewhere), and on a tag host its tag, overwriting the client's tag
    /// header. Elsewhere the client's tag header is left as sent, as Knative
    /// does. A `None` value means remove the header.
    pub fn request_headers(&self) -> impl Iterator<Item = (&'t str, Option<&'t str>)> {
        let default_route = (self.reason == Reason::Draw).then_some("true");
        [
            (self.cluster_header, Some(&*self.destination.cluster)),
            (REVISION_HEADER, Some(&*self.destination.revision)),
            (NAMESPACE_HEADER, Some(&*self.service.namespace)),
            (DEFAULT_ROUTE_HEADER, default_route),
        ]
        .into_iter()
        .chain(self.host_tag.map(|tag| (TAG_HEADER, Some(tag))))
    }
}
