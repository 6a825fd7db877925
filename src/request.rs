//! What the routing rules read from a request: its headers (through the
//! proxy, one at a time, each at most once) and the proxy's clock.

use std::cell::OnceCell;

/// The request as the rules see it. The filter implements it over proxy-wasm
/// host calls; tests and the CLI over plain maps.
pub trait Request {
    /// The first value of a request header, by lower-case name; `None` when
    /// absent or not UTF-8.
    fn header(&self, name: &str) -> Option<String>;
    /// The proxy's clock, in Unix milliseconds. Only asked for when a timed
    /// rollout is configured.
    fn now_ms(&self) -> u64;
}

/// A request given as plain values, for simulations (the command-line tool)
/// and tests: headers by name (the first of a name counts, as in the filter)
/// and a fixed clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainRequest {
    headers: Vec<(String, String)>,
    now_ms: u64,
}

impl PlainRequest {
    /// Adds a header; its name is matched in lower case, as Envoy's are.
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
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn now_ms(&self) -> u64 {
        self.now_ms
    }
}

/// Where a value comes from: a request header, or a cookie of the `Cookie`
/// header. Headers are named by a slot of their service's header list, so a
/// request reads each header at most once however many rules look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Header {
        slot: u32,
    },
    /// A cookie by exact name, from the `Cookie` header in `slot`.
    Cookie {
        slot: u32,
        name: Box<str>,
    },
}

impl Source {
    /// The value, if the request has it.
    pub fn read<'v>(&self, headers: &'v HeaderCache<'_, impl Request>) -> Option<&'v str> {
        match self {
            Source::Header { slot } => headers.get(*slot),
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
    inline: [OnceCell<Option<String>>; INLINE_SLOTS],
    more: Vec<OnceCell<Option<String>>>,
}

impl<'r, R: Request> HeaderCache<'r, R> {
    pub fn new(request: &'r R, names: &'r [Box<str>]) -> Self {
        HeaderCache {
            request,
            names,
            inline: Default::default(),
            more: names
                .iter()
                .skip(INLINE_SLOTS)
                .map(|_| OnceCell::new())
                .collect(),
        }
    }

    pub fn get(&self, slot: u32) -> Option<&str> {
        let slot = slot as usize;
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
        fn header(&self, name: &str) -> Option<String> {
            self.reads.set(self.reads.get() + 1);
            (name == "cookie").then(|| "a=1; kn=\"x y\"".to_string())
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
        let cache = HeaderCache::new(&request, &names);
        let a = Source::Cookie {
            slot: 0,
            name: "a".into(),
        };
        let kn = Source::Cookie {
            slot: 0,
            name: "kn".into(),
        };
        let user = Source::Header { slot: 1 };
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
            fn header(&self, name: &str) -> Option<String> {
                Some(name.to_uppercase())
            }
            fn now_ms(&self) -> u64 {
                0
            }
        }
        let names: Vec<Box<str>> = (0..10).map(|i| format!("h{i}").into()).collect();
        let cache = HeaderCache::new(&Echo, &names);
        for i in (0..10u32).rev() {
            assert_eq!(cache.get(i), Some(format!("H{i}").as_str()));
        }
        assert_eq!(cache.get(10), None);
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
