//! What the routing rules read from a request: its headers (through the
//! proxy, one at a time, each at most once) and the proxy's clock.

use std::borrow::Cow;
use std::cell::OnceCell;

pub use crate::ids::HeaderSlot;

/// The request as the rules see it. The filter implements it over proxy-wasm
/// host calls; tests and the CLI over plain maps.
pub trait Request {
    /// The first value of a request header, by lower-case name; `None` when
    /// absent or not UTF-8. For [`COOKIE`], every value that is UTF-8,
    /// joined with `"; "`: over HTTP/1.1 a client may split its cookies over
    /// several `Cookie` headers, and a cookie in a later one is as much the
    /// client's as one in the first (HTTP/2 and HTTP/3 crumbs reach the
    /// filter already joined so by Envoy). Borrowed where the value can be
    /// read in place (the native module, plain requests): a rule or sticky
    /// key then costs no copy.
    fn header(&self, name: &str) -> Option<Cow<'_, str>>;
    /// The proxy's clock, in Unix milliseconds. Only asked for when a timed
    /// rollout is configured.
    fn now_ms(&self) -> u64;
}

/// The header cookies are read from.
pub const COOKIE: &str = "cookie";

/// Joins the values of several `Cookie` headers into one, as RFC 6265 has a
/// user agent send them (`a=1; b=2`). `None` when there are none; one
/// header is borrowed as it is.
pub fn join_cookie_headers<'v>(mut values: impl Iterator<Item = &'v str>) -> Option<Cow<'v, str>> {
    let first = values.next()?;
    let Some(second) = values.next() else {
        return Some(Cow::Borrowed(first));
    };
    let mut joined = [first, second].join("; ");
    for value in values {
        joined.push_str("; ");
        joined.push_str(value);
    }
    Some(Cow::Owned(joined))
}

/// A request given as plain values, for simulations (the command-line tool)
/// and tests: headers by name, repeatable, read as the filter reads Envoy's
/// (the first of a name counts, except `cookie`, whose values are joined),
/// and a fixed clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainRequest {
    headers: Vec<(String, String)>,
    now_ms: u64,
}

impl PlainRequest {
    /// Adds a header, after any of the same name; its name is matched in
    /// lower case, as Envoy's are.
    pub fn with_header(mut self, name: &str, value: &str) -> PlainRequest {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// The headers, in the order given.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Sets the clock, in Unix milliseconds.
    pub fn at(mut self, now_ms: u64) -> PlainRequest {
        self.now_ms = now_ms;
        self
    }
}

impl Request for PlainRequest {
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut values = self
            .headers
            .iter()
            // In place, as the core compares its own names (see `bytes`).
            .filter(|(n, _)| crate::bytes::same(n.as_bytes(), name.as_bytes()))
            .map(|(_, v)| v.as_str());
        if name == COOKIE {
            join_cookie_headers(values)
        } else {
            values.next().map(Cow::Borrowed)
        }
    }

    fn now_ms(&self) -> u64 {
        self.now_ms
    }
}

/// Where a value comes from: a request header, or a cookie of the `Cookie`
/// headers, or the request's host. Headers are named by a slot of their
/// service's header list, so a request reads each header at most once
/// however many rules look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Header {
        slot: HeaderSlot,
    },
    /// The host the request was matched by: its `:authority` (Envoy's name
    /// for HTTP/1.1's `Host`) in lower case, without port or trailing dot.
    Host,
    /// A cookie by exact name, from the `Cookie` headers in `slot`.
    Cookie {
        slot: HeaderSlot,
        name: Box<str>,
    },
}

impl Source {
    /// The value, if the request has it.
    pub fn read<'v>(&self, headers: &'v HeaderCache<'_, impl Request>) -> Option<&'v str> {
        match self {
            Source::Header { slot } => headers.get(*slot),
            Source::Host => Some(headers.host),
            Source::Cookie { slot, name } => headers.get(*slot).and_then(|c| cookie_value(c, name)),
        }
    }
}

/// Header slots kept on the stack: a service's rules and stickiness read a
/// few headers, and a heap allocation per request would cost more than the
/// rules themselves.
const INLINE_SLOTS: usize = 4;

/// A request's headers as read so far, by slot: the first
/// [`INLINE_SLOTS`] in place, any further ones allocated (only for services
/// that read more headers).
pub struct HeaderCache<'r, R: Request> {
    request: &'r R,
    names: &'r [Box<str>],
    /// The normalised host, which routing has read before any rule.
    host: &'r str,
    inline: [OnceCell<Option<Cow<'r, str>>>; INLINE_SLOTS],
    more: Vec<OnceCell<Option<Cow<'r, str>>>>,
}

impl<'r, R: Request> HeaderCache<'r, R> {
    pub fn new(request: &'r R, names: &'r [Box<str>], host: &'r str) -> Self {
        HeaderCache {
            request,
            names,
            host,
            inline: Default::default(),
            more: names
                .iter()
                .skip(INLINE_SLOTS)
                .map(|_| OnceCell::new())
                .collect(),
        }
    }

    pub fn get(&self, slot: HeaderSlot) -> Option<&str> {
        let slot = slot.index();
        let name = self.names.get(slot)?;
        let cell = match slot.checked_sub(INLINE_SLOTS) {
            None => self.inline.get(slot)?,
            Some(extra) => self.more.get(extra)?,
        };
        cell.get_or_init(|| self.request.header(name)).as_deref()
    }
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`), without
/// surrounding double quotes. Names compare exactly, as RFC 6265 says.
pub fn cookie_value<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n.trim() == name).then(|| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    struct Counting {
        reads: Cell<u32>,
    }

    impl Request for Counting {
        fn header(&self, name: &str) -> Option<Cow<'_, str>> {
            self.reads.set(self.reads.get() + 1);
            (name == "cookie").then_some(Cow::Borrowed("a=1; kn=\"x y\""))
        }
        fn now_ms(&self) -> u64 {
            0
        }
    }

    #[test]
    fn each_header_is_read_once() {
        let request = Counting {
            reads: Cell::new(0),
        };
        let names: Vec<Box<str>> = vec!["cookie".into(), "x-user".into()];
        let cache = HeaderCache::new(&request, &names, "web.ns");
        let a = Source::Cookie {
            slot: HeaderSlot::new(0),
            name: "a".into(),
        };
        let kn = Source::Cookie {
            slot: HeaderSlot::new(0),
            name: "kn".into(),
        };
        let user = Source::Header {
            slot: HeaderSlot::new(1),
        };
        assert_eq!(a.read(&cache), Some("1"));
        assert_eq!(kn.read(&cache), Some("x y"));
        assert_eq!(user.read(&cache), None);
        assert_eq!(user.read(&cache), None);
        assert_eq!(request.reads.get(), 2);
    }

    #[test]
    fn slots_beyond_the_inline_ones_work_alike() {
        struct Echo;
        impl Request for Echo {
            fn header(&self, name: &str) -> Option<Cow<'_, str>> {
                Some(Cow::Owned(name.to_uppercase()))
            }
            fn now_ms(&self) -> u64 {
                0
            }
        }
        let names: Vec<Box<str>> = (0..10).map(|i| format!("h{i}").into()).collect();
        let cache = HeaderCache::new(&Echo, &names, "web.ns");
        for i in (0..10usize).rev() {
            assert_eq!(
                cache.get(HeaderSlot::new(i)),
                Some(format!("H{i}").as_str())
            );
        }
        assert_eq!(cache.get(HeaderSlot::new(10)), None);
    }

    #[test]
    fn a_plain_request_reads_repeated_headers_as_the_filter_does() {
        let request = PlainRequest::default()
            .with_header("Cookie", "theme=dark")
            .with_header("x-user", "first")
            .with_header("cookie", "kn-key=abc; beta=yes")
            .with_header("X-User", "second");
        assert_eq!(request.header("x-user").as_deref(), Some("first"));
        assert_eq!(
            request.header("cookie").as_deref(),
            Some("theme=dark; kn-key=abc; beta=yes")
        );
        assert_eq!(request.header("missing"), None);
        let one = PlainRequest::default().with_header("cookie", "a=1");
        assert_eq!(one.header("cookie").as_deref(), Some("a=1"));
        assert_eq!(PlainRequest::default().header("cookie"), None);
    }

    #[test]
    fn a_value_read_in_place_is_not_copied() {
        let one = join_cookie_headers(["a=1"].into_iter());
        assert!(matches!(one, Some(Cow::Borrowed("a=1"))));
        let two = join_cookie_headers(["a=1", "b=2", "c=3"].into_iter());
        assert!(matches!(two.as_deref(), Some("a=1; b=2; c=3")));
        assert!(matches!(two, Some(Cow::Owned(_))));
        assert_eq!(join_cookie_headers(std::iter::empty()), None);
        let request = PlainRequest::default().with_header("x-user", "ann");
        assert!(matches!(
            request.header("x-user"),
            Some(Cow::Borrowed("ann"))
        ));
    }

    #[test]
    fn a_cookie_in_a_later_cookie_header_is_found() {
        let request = PlainRequest::default()
            .with_header("cookie", "theme=dark")
            .with_header("cookie", "kn-key=\"x y\"");
        let names: Vec<Box<str>> = vec!["cookie".into()];
        let cache = HeaderCache::new(&request, &names, "web.ns");
        let key = Source::Cookie {
            slot: HeaderSlot::new(0),
            name: "kn-key".into(),
        };
        let theme = Source::Cookie {
            slot: HeaderSlot::new(0),
            name: "theme".into(),
        };
        assert_eq!(key.read(&cache), Some("x y"));
        assert_eq!(theme.read(&cache), Some("dark"));
        assert_eq!(
            join_cookie_headers(["a=1", "", "b=2"].into_iter()).as_deref(),
            Some("a=1; ; b=2")
        );
        assert_eq!(cookie_value("a=1; ; b=2", "b"), Some("2"));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = "theme=dark; kn-key=abc123; other=\"quoted\"";
        assert_eq!(cookie_value(h, "kn-key"), Some("abc123"));
        assert_eq!(cookie_value(h, "other"), Some("quoted"));
        assert_eq!(cookie_value(h, "KN-KEY"), None);
        assert_eq!(cookie_value(h, "missing"), None);
        assert_eq!(cookie_value("", "x"), None);
        assert_eq!(cookie_value("novalue; x=", "x"), Some(""));
    }
}
