//! The routing rules: which revision serves a request, and what the filter
//! writes on it. Everything here is plain Rust over a compiled [`RouteTable`];
//! the proxy-wasm layer (`filter`) only reads headers, asks [`RouteTable::route`]
//! and writes what the [`Decision`] says.
//!
//! Precedence, first match wins:
//! 1. Host is a tag host (`{tag}-{name}.{zone}` by the default tag
//!    template): that tag's revision, whatever its percent. Tag-host shape
//!    for a known service but no such tag: 404.
//! 2. Host is a service's host and `Knative-Serving-Tag` names one of its
//!    tags (exact, case-sensitive): that tag's revision. An unknown tag falls
//!    through. Off with `tagHeaderBasedRouting: false`.
//! 3. The service's header and cookie rules, in order: the first that
//!    matches sends the request to its tag's revision.
//! 4. The split in force (the percents, or a timed rollout's current step):
//!    a) with a stickiness key, the revision owning the key's bucket;
//!    b) without one, a random draw — when the service hands out sticky
//!    cookies, by drawing a fresh key, so the next request sticks.
//!
//! A tag that follows the latest revision during a timed rollout is itself
//! split between the previous and the new revision, as in Knative: rules 1
//! to 3 then pick between the two by the stickiness key, or draw. On a
//! public listener, a cluster-local tag is reached by none of them. Any
//! other host passes through untouched.

use std::borrow::Cow;
use std::sync::Arc;

use rand_core::Rng;

use crate::config::Visibility;
use crate::guard::Guard;
use crate::hosts::{normalize, HostMatch, HostTable, Side};
use crate::ids::{CounterSlot, TagId};
use crate::mirror::Mirror;
use crate::request::{HeaderCache, Request};
use crate::rollout::{Rollout, Schedule};
use crate::rules::Rule;
use crate::split::{DestinationId, Split};
use crate::sticky::{new_key, Sticky};
use crate::tag_name::{Query, TagName};

/// Knative's tag header; also written on tag hosts and rule matches.
pub const TAG_HEADER: &str = "knative-serving-tag";
pub const REVISION_HEADER: &str = "knative-serving-revision";
pub const NAMESPACE_HEADER: &str = "knative-serving-namespace";
/// Set to `true` when the request took the percentage split.
pub const DEFAULT_ROUTE_HEADER: &str = "knative-serving-default-route";
/// On a custom domain's requests, the domain: Knative's DomainMapping
/// header (knative/networking `OriginalHostKey`).
pub const ORIGINAL_HOST_HEADER: &str = "k-original-host";

/// Up to this many tags, a tag is looked up by comparing each.
const LINEAR_TAGS: usize = 8;

/// The compiled configuration. Built by [`crate::compile`]; immutable.
#[derive(Debug)]
pub struct RouteTable {
    pub(crate) headers: HeaderNames,
    /// The side of Knative's gateways this table serves.
    pub(crate) side: Side,
    pub(crate) hosts: HostTable,
    pub(crate) services: Box<[Service]>,
    /// See [`RouteTable::generation`].
    pub(crate) generation: u64,
}

/// The headers the filter writes whose names the configuration chooses.
#[derive(Debug, PartialEq, Eq)]
pub struct HeaderNames {
    /// Request header carrying the chosen cluster (the route's `cluster_header`).
    pub cluster: Box<str>,
    /// Request header carrying the mirror cluster (the mirror policy's `cluster_header`).
    pub mirror: Box<str>,
    /// Opt-in response header naming the revision and the reason.
    pub route_response: Option<Box<str>>,
    /// Knative's tag-header-based routing: `Knative-Serving-Tag` picks a tag,
    /// and it and `Knative-Serving-Default-Route` are written.
    pub knative: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Service {
    pub name: Box<str>,
    pub namespace: Box<str>,
    /// One per distinct revision, in order of first appearance in `traffic`
    /// (a rollout's revision last).
    pub destinations: Box<[Destination]>,
    /// Sorted by name for binary search.
    pub(crate) tags: Box<[Tag]>,
    /// The percents of `traffic`.
    pub split: Split,
    pub(crate) rollout: Option<Box<Rollout>>,
    pub visibility: Visibility,
    pub(crate) rules: Box<[Rule]>,
    pub(crate) sticky: Option<Box<Sticky>>,
    /// The headers rules and stickiness read, by slot.
    pub(crate) header_names: Box<[Box<str>]>,
    pub(crate) mirror: Option<Mirror>,
    /// The opt-in route response header's value per destination and
    /// [`Reason::ROUTED`] reason (`revision=…; reason=…`), built when the
    /// configuration is compiled; empty when the header is off. Shared, so a
    /// request keeps one until its response without copying it.
    pub(crate) route_values: Box<[[Arc<str>; Reason::ROUTED.len()]]>,
    /// Counter slot per destination and [`Reason::ROUTED`] reason; `None`
    /// where the combination cannot occur or counters are off.
    pub(crate) metric_slots: crate::slots::RouteSlots,
    pub(crate) not_found_slot: Option<CounterSlot>,
    pub(crate) mirrored_slot: Option<CounterSlot>,
    /// Stops the split's traffic to a candidate judged failing (boxed: most
    /// services have none, and 10,000 of them would carry its room).
    pub guard: Option<Box<Guard>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub revision: Box<str>,
    /// `None` when the cluster is named as the revision (the default
    /// `clusterTemplate`, `{revision}`): the name is then kept once.
    cluster: Option<Box<str>>,
}

impl Destination {
    /// `cluster`: `None` when it is named as the revision.
    pub(crate) fn new(revision: &str, cluster: Option<String>) -> Destination {
        Destination {
            revision: revision.into(),
            cluster: match cluster {
                Some(cluster) if cluster != revision => Some(cluster.into()),
                _ => None,
            },
        }
    }

    /// The upstream cluster the filter writes into the cluster header.
    pub fn cluster(&self) -> &str {
        self.cluster.as_deref().unwrap_or(&self.revision)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    pub(crate) name: TagName,
    pub(crate) destination: DestinationId,
    /// Whether the tag header and rules reach it on this table's side.
    pub(crate) reachable: bool,
    /// Whether it has external hosts: its visibility (the lesser of its
    /// own and its service's) is public.
    pub(crate) public: bool,
}

impl crate::hosts::TagNames for RouteTable {
    fn tag(&self, service: crate::hosts::ServiceId, name: &str) -> Option<(TagId, bool)> {
        let service = self.services.get(service.index())?;
        let id = service.tag_id(name)?;
        Some((id, service.tags.get(id.index())?.public))
    }
}

/// Why a request went where it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    TagHost,
    TagHeader,
    Rule,
    Sticky,
    Draw,
    /// A tag host for a tag that does not exist (answered 404).
    NotFound,
}

impl Reason {
    /// The reasons a request reaches a revision for, in slot order.
    pub const ROUTED: [Reason; 5] = [
        Reason::TagHost,
        Reason::TagHeader,
        Reason::Rule,
        Reason::Sticky,
        Reason::Draw,
    ];

    /// Stable lower-case name, for metrics, logs and response headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TagHost => "tag-host",
            Reason::TagHeader => "tag-header",
            Reason::Rule => "rule",
            Reason::Sticky => "sticky",
            Reason::Draw => "draw",
            Reason::NotFound => "not-found",
        }
    }

    fn slot_index(self) -> usize {
        Reason::ROUTED
            .iter()
            .position(|r| *r == self)
            .unwrap_or(Reason::ROUTED.len())
    }
}

/// The routing decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'t> {
    /// Not a configured host: leave the request alone.
    PassThrough,
    /// A tag host of this service for a tag it does not have: answer 404, as
    /// Knative's gateway does (no route).
    NoSuchTag(&'t Service),
    Route(Route<'t>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'t> {
    pub service: &'t Service,
    pub destination: &'t Destination,
    pub reason: Reason,
    /// The tag the request reached: a tag host's or a rule's; see
    /// [`Route::tag`].
    tag: Option<&'t TagName>,
    /// A fresh stickiness key, to hand to the client in a cookie.
    pub new_sticky_key: Option<String>,
    /// A custom domain's host, written into `K-Original-Host`.
    pub original_host: Option<Cow<'t, str>>,
    destination_id: DestinationId,
    /// The revision a copy of the request goes to, unanswered.
    pub mirror: Option<&'t Destination>,
    headers: &'t HeaderNames,
}

impl<'t> Route<'t> {
    /// The tag the request reached: a tag host's or a rule's. Read when it
    /// is written, not when the decision is made.
    pub fn tag(&self) -> Option<&'t str> {
        self.tag.map(TagName::as_str)
    }

    /// The chosen revision's place among the service's destinations.
    pub fn destination_id(&self) -> DestinationId {
        self.destination_id
    }
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
        let (service_id, tag_id, original_host) = match self.hosts.resolve(&host, self) {
            HostMatch::Unknown => return Decision::PassThrough,
            HostMatch::NoSuchTag(s) => {
                return self
                    .services
                    .get(s.index())
                    .map_or(Decision::PassThrough, Decision::NoSuchTag)
            }
            HostMatch::Service(s) => (s, None, None),
            HostMatch::Tag(s, t) => (s, Some(t), None),
            HostMatch::Mapped {
                service,
                tag,
                host: mapped,
            } => {
                let original = match mapped {
                    Some(configured) => Cow::Borrowed(configured),
                    None => Cow::Owned(host.clone().into_owned()),
                };
                (service, tag, Some(original))
            }
        };
        let Some(service) = self.services.get(service_id.index()) else {
            return Decision::PassThrough;
        };
        let choice = service.choose(tag_id, &host, self.headers.knative, request, rng);
        let Some(destination) = service.destinations.get(choice.destination.index()) else {
            return Decision::PassThrough;
        };
        let mirror = service
            .mirror
            .as_ref()
            .filter(|m| m.applies(choice.destination, choice.reason, rng))
            .and_then(|m| service.destinations.get(m.destination.index()));
        Decision::Route(Route {
            service,
            destination,
            reason: choice.reason,
            tag: choice.tag.map(|t| &t.name),
            new_sticky_key: choice.new_sticky_key,
            original_host,
            mirror,
            destination_id: choice.destination,
            headers: &self.headers,
        })
    }

    /// The request header the chosen cluster is written into.
    pub fn cluster_header(&self) -> &str {
        &self.headers.cluster
    }

    /// The request header the mirror cluster is written into.
    pub fn mirror_header(&self) -> &str {
        &self.headers.mirror
    }

    /// The opt-in response header naming the revision and the reason.
    pub fn route_response_header(&self) -> Option<&str> {
        self.headers.route_response.as_deref()
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The side of Knative's gateways this table serves.
    pub fn side(&self) -> Side {
        self.side
    }

    /// Whether `Knative-Serving-Tag` routes (Knative's
    /// tag-header-based-routing).
    pub fn tag_header_routing(&self) -> bool {
        self.headers.knative
    }

    /// Every gauge of this configuration: its slot and its name (a guard's
    /// `tripped`, 0 or 1).
    pub fn gauges(&self) -> impl Iterator<Item = (CounterSlot, String)> + '_ {
        self.services.iter().filter_map(|service| {
            let guard = service.guard.as_ref()?;
            let candidate = service.destinations.get(guard.candidate.index())?;
            let [.., tripped] =
                crate::guard::metric_names(&service.namespace, &service.name, &candidate.revision);
            Some((guard.slots().tripped?, tripped))
        })
    }

    /// A number that changes with the configuration's text: guards keep
    /// their verdicts under it, so a new configuration starts them afresh.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every counter of this configuration: its slot and its name.
    pub fn metrics(&self) -> impl Iterator<Item = (CounterSlot, String)> + '_ {
        self.services.iter().flat_map(|service| {
            let routed =
                service
                    .destinations
                    .iter()
                    .enumerate()
                    .flat_map(move |(d, destination)| {
                        Reason::ROUTED.iter().enumerate().map(move |(r, reason)| {
                            let slot = service.metric_slots.get(d, r);
                            (slot, Some(&*destination.revision), *reason)
                        })
                    });
            let requests = std::iter::once((service.not_found_slot, None, Reason::NotFound))
                .chain(routed)
                .filter_map(|(slot, revision, reason)| Some((slot?, revision, reason)))
                .map(move |(slot, revision, reason)| {
                    let name = crate::metrics::request_counter(
                        &service.namespace,
                        &service.name,
                        revision,
                        reason,
                    );
                    (slot, name)
                });
            let mirrored = service
                .mirror
                .as_ref()
                .and_then(|m| service.destinations.get(m.destination.index()))
                .and_then(|d| {
                    let name = crate::metrics::mirrored_counter(
                        &service.namespace,
                        &service.name,
                        &d.revision,
                    );
                    Some((service.mirrored_slot?, name))
                });
            let guard = service.guard.as_ref().into_iter().flat_map(move |guard| {
                let candidate = service
                    .destinations
                    .get(guard.candidate.index())
                    .map_or("", |d| &*d.revision);
                let [a, b, c, d, _] =
                    crate::guard::metric_names(&service.namespace, &service.name, candidate);
                let slots = guard.slots();
                [
                    (slots.candidate_answers, a),
                    (slots.candidate_failures, b),
                    (slots.base_answers, c),
                    (slots.base_failures, d),
                ]
                .into_iter()
                .filter_map(|(slot, name)| Some((slot?, name)))
            });
            requests.chain(mirrored).chain(guard)
        })
    }
}

impl Decision<'_> {
    /// The counter slot of the mirrored copy, if the request is mirrored.
    pub fn mirrored_slot(&self) -> Option<CounterSlot> {
        match self {
            Decision::Route(route) if route.mirror.is_some() => route.service.mirrored_slot,
            _ => None,
        }
    }

    /// The counter slot of this decision, if it has one.
    pub fn metric_slot(&self) -> Option<CounterSlot> {
        match self {
            Decision::PassThrough => None,
            Decision::NoSuchTag(service) => service.not_found_slot,
            Decision::Route(route) => route
                .service
                .metric_slots
                .get(route.destination_id.index(), route.reason.slot_index()),
        }
    }
}

/// Where rules 1 to 4 send a request, before mirroring.
struct Choice<'t> {
    destination: DestinationId,
    reason: Reason,
    /// The tag written into `Knative-Serving-Tag`.
    tag: Option<&'t Tag>,
    new_sticky_key: Option<String>,
}

impl Service {
    /// Rules 1 to 4 for a request to one of this service's hosts (`tag`: the
    /// host's tag, if it is a tag host; `host`: the normalised host;
    /// `tag_header`: whether rule 2 is on).
    fn choose<'s, R: Rng>(
        &'s self,
        tag: Option<TagId>,
        host: &str,
        tag_header: bool,
        request: &impl Request,
        rng: &mut R,
    ) -> Choice<'s> {
        let headers = HeaderCache::new(request, &self.header_names, host);
        let to_tag = |(id, tag): (TagId, &'s Tag), reason, written: bool, rng: &mut R| Choice {
            destination: self.tag_destination(id, tag, &headers, request, rng),
            reason,
            tag: written.then_some(tag),
            new_sticky_key: None,
        };
        // 1. Tag host.
        if let Some(tag) = tag.and_then(|t| self.tag_by_id(t)) {
            return to_tag(tag, Reason::TagHost, true, rng);
        }
        // 2. Tag header; the client's header stays as sent, so no tag is
        // written. A service without tags has nothing it could name: no
        // host call, no copy of the value.
        if tag_header && !self.tags.is_empty() {
            if let Some(tag) = request
                .header(TAG_HEADER)
                .and_then(|v| self.tag_by_id(self.tag_id(&v)?))
                .filter(|(_, t)| t.reachable)
            {
                return to_tag(tag, Reason::TagHeader, false, rng);
            }
        }
        // 3. Rules.
        if let Some(tag) = self
            .rules
            .iter()
            .find(|rule| rule.matches(&headers))
            .and_then(|rule| self.tag_by_id(rule.tag))
            .filter(|(_, t)| t.reachable)
        {
            return to_tag(tag, Reason::Rule, true, rng);
        }
        // 4. The split in force.
        let split = self.split_at(request);
        let choice = |destination, reason, new_sticky_key| Choice {
            destination,
            reason,
            tag: None,
            new_sticky_key,
        };
        if let Some(sticky) = &self.sticky {
            if let Some(key) = sticky.source.read(&headers).filter(|k| !k.is_empty()) {
                return choice(split.pick(sticky.bucket(key)), Reason::Sticky, None);
            }
            if sticky.hands_out_keys() {
                // Drawing the key and routing by it is the same uniform draw,
                // and the client's next request lands where this one did.
                let key = new_key(rng.next_u64());
                let destination = split.pick(sticky.bucket(&key));
                return choice(destination, Reason::Draw, Some(key));
            }
        }
        choice(split.draw(rng), Reason::Draw, None)
    }

    /// The split of rule 4 in force: the percents, or the timed rollout's
    /// current step, or, once a guard has judged its candidate failing,
    /// the guard's fallback. Only a service with a rollout reads the clock.
    fn split_at(&self, request: &impl Request) -> &Split {
        if let Some(guard) = self.guard.as_ref().filter(|g| g.is_tripped()) {
            return &guard.fallback;
        }
        match self.rollout.as_deref().and_then(Rollout::route) {
            Some(schedule) => schedule.split_at(request.now_ms()).unwrap_or(&self.split),
            None => &self.split,
        }
    }

    /// The revision a tag sends a request to: its own, or during a timed
    /// rollout the previous or the new one, by the request's stickiness key
    /// if it has one, else by a draw. A rollout a guard stopped rolls no
    /// tag: a tag reaches its own revision, the candidate included, so that
    /// it can be looked at.
    fn tag_destination(
        &self,
        id: TagId,
        tag: &Tag,
        headers: &HeaderCache<'_, impl Request>,
        request: &impl Request,
        rng: &mut impl Rng,
    ) -> DestinationId {
        let stopped = self.guard.as_deref().is_some_and(Guard::is_tripped);
        let Some(split) = self
            .tag_schedule(id)
            .filter(|_| !stopped)
            .and_then(|schedule| schedule.split_at(request.now_ms()))
        else {
            return tag.destination;
        };
        let key = self
            .sticky
            .as_ref()
            .and_then(|sticky| Some((sticky, sticky.source.read(headers)?)))
            .filter(|(_, key)| !key.is_empty());
        match key {
            Some((sticky, key)) => split.pick(sticky.bucket(key)),
            None => split.draw(rng),
        }
    }

    /// The tag `id` names, with it.
    fn tag_by_id(&self, id: TagId) -> Option<(TagId, &Tag)> {
        Some((id, self.tags.get(id.index())?))
    }

    /// The id of the tag named exactly `name`.
    pub(crate) fn tag_id(&self, name: &str) -> Option<TagId> {
        // A service has a few tags: comparing each in place beats a binary
        // search's `memcmp` calls. Many tags are searched.
        if self.tags.len() <= LINEAR_TAGS {
            let query = Query::new(name);
            return self
                .tags
                .iter()
                .position(|t| t.name.is(&query))
                .map(TagId::new);
        }
        self.tags
            .binary_search_by(|t| t.name.cmp_str(name))
            .ok()
            .map(TagId::new)
    }

    /// The tags and the revision each one reaches, sorted by tag.
    pub fn tags(&self) -> impl Iterator<Item = (&str, &Destination)> {
        self.tags.iter().filter_map(|t| {
            self.destinations
                .get(t.destination.index())
                .map(|d| (t.name.as_str(), d))
        })
    }

    /// The timed rollout, if the service has one.
    pub fn rollout(&self) -> Option<&Rollout> {
        self.rollout.as_deref()
    }

    /// The tags that roll with the timed rollout, and their hosts'
    /// schedules, sorted by tag.
    pub fn tag_rollouts(&self) -> impl Iterator<Item = (&str, &Schedule)> {
        self.rollout
            .iter()
            .flat_map(|r| r.tags.iter())
            .filter_map(|(id, schedule)| Some((self.tags.get(id.index())?.name.as_str(), schedule)))
    }

    /// During a timed rollout, the schedule of a tag that follows the
    /// latest revision: it is split between the previous one and its own.
    pub(crate) fn tag_schedule(&self, tag: TagId) -> Option<&Schedule> {
        self.rollout
            .as_deref()?
            .tags
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, schedule)| schedule)
    }

    /// The revision a share of this service's requests is copied to (its
    /// `mirror`), if it has one. Its cluster is what the filter writes into
    /// the mirror header.
    pub fn mirror_destination(&self) -> Option<&Destination> {
        self.mirror
            .as_ref()
            .and_then(|m| self.destinations.get(m.destination.index()))
    }
}

impl<'t> Route<'t> {
    /// The request headers to write, as Knative's ingress does: the cluster,
    /// the revision and namespace always (overwriting the client's),
    /// `Knative-Serving-Default-Route: true` on the split (removed elsewhere),
    /// and the tag a tag host or rule reached, overwriting the client's tag
    /// header; with tag-header routing off, Knative writes neither of those
    /// two. On the tag-header path and the split the client's tag header
    /// is left as sent, as Knative does. The mirror cluster is written on a
    /// request chosen for mirroring and removed from every other. A custom
    /// domain's request carries its domain in `K-Original-Host`. A `None`
    /// value means remove.
    pub fn request_headers(&self) -> impl Iterator<Item = (&str, Option<&str>)> + '_ {
        let knative = self.headers.knative;
        let default_route =
            (knative && matches!(self.reason, Reason::Draw | Reason::Sticky)).then_some("true");
        [
            (&*self.headers.cluster, Some(self.destination.cluster())),
            // Present only on a request chosen for mirroring: a client's own
            // must not pick a mirror cluster.
            (&*self.headers.mirror, self.mirror.map(Destination::cluster)),
            (REVISION_HEADER, Some(&*self.destination.revision)),
            (NAMESPACE_HEADER, Some(&*self.service.namespace)),
        ]
        .into_iter()
        .chain(knative.then_some((DEFAULT_ROUTE_HEADER, default_route)))
        .chain(
            self.tag()
                .filter(|_| knative)
                .map(|tag| (TAG_HEADER, Some(tag))),
        )
        .chain(
            self.original_host
                .as_deref()
                .map(|host| (ORIGINAL_HOST_HEADER, Some(host))),
        )
    }

    /// The opt-in response header naming the revision and the reason, with
    /// its prebuilt value (`revision=traffic-example-v2; reason=draw`).
    pub fn route_response_header(&self) -> Option<(&'t str, &'t Arc<str>)> {
        let name = self.headers.route_response.as_deref()?;
        let value = self
            .service
            .route_values
            .get(self.destination_id.index())?
            .get(self.reason.slot_index())?;
        Some((name, value))
    }

    /// The `Set-Cookie` value handing the client its fresh stickiness key,
    /// if this request was given one.
    pub fn set_cookie(&self) -> Option<String> {
        let key = self.new_sticky_key.as_deref()?;
        self.service.sticky.as_ref()?.set_cookie(key)
    }

    /// The response headers to add, as owned pairs (for tests and the
    /// tool; the filter takes [`Route::route_response_header`] and
    /// [`Route::set_cookie`] as they are). Empty in the common case.
    pub fn response_headers(&self) -> Vec<(&'t str, String)> {
        let route = self
            .route_response_header()
            .map(|(name, value)| (name, value.to_string()));
        let cookie = self.set_cookie().map(|cookie| ("set-cookie", cookie));
        route.into_iter().chain(cookie).collect()
    }
}
