//! A tag's name, held in place when short. A decision that looks a tag up
//! (the tag header, a tag host, the 404 of an unknown tag) compares the
//! name against each of its service's tags: with every name behind its own
//! pointer, at 10,000 services each comparison was a cache miss. Most tags
//! are short (`latest`, `canary`, `prev`, `v2`) and fit beside the
//! pointer's room.

use std::cmp::Ordering;
use std::fmt;

/// Names up to this many bytes are held in place; the eighth byte is the
/// length.
const SHORT: usize = 7;

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum TagName {
    /// The name's bytes, zero-padded, and its length in the last byte.
    Short([u8; SHORT + 1]),
    Long(Box<str>),
}

/// A name being looked up among tags, packed once for every comparison.
pub(crate) struct Query<'q> {
    text: &'q str,
    packed: Option<[u8; SHORT + 1]>,
}

impl<'q> Query<'q> {
    pub(crate) fn new(text: &'q str) -> Query<'q> {
        Query {
            text,
            packed: packed(text),
        }
    }
}

fn packed(name: &str) -> Option<[u8; SHORT + 1]> {
    let bytes = name.as_bytes();
    let len = u8::try_from(bytes.len())
        .ok()
        .filter(|&n| usize::from(n) <= SHORT)?;
    // The length in the last byte, which a name of at most 7 leaves free.
    let word = crate::bytes::padded_word(bytes) | u64::from(len) << 56;
    Some(word.to_le_bytes())
}

impl TagName {
    pub(crate) fn new(name: &str) -> TagName {
        match packed(name) {
            Some(buf) => TagName::Short(buf),
            None => TagName::Long(name.into()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            TagName::Short(buf) => {
                let len = usize::from(buf.last().copied().unwrap_or(0));
                // Built from a `str` by `new`, so always valid.
                buf.get(..len)
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .unwrap_or("")
            }
            TagName::Long(name) => name,
        }
    }

    /// Whether this is the name looked for: a short name compares as one
    /// word, without following a pointer.
    #[inline]
    pub(crate) fn is(&self, query: &Query<'_>) -> bool {
        match (self, &query.packed) {
            (TagName::Short(buf), Some(q)) => u64::from_le_bytes(*buf) == u64::from_le_bytes(*q),
            (TagName::Long(name), None) => {
                crate::bytes::same(name.as_bytes(), query.text.as_bytes())
            }
            _ => false,
        }
    }

    pub(crate) fn cmp_str(&self, other: &str) -> Ordering {
        self.as_str().cmp(other)
    }
}

impl fmt::Debug for TagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_found_by_itself_only() {
        let names = [
            "",
            "v",
            "latest",
            "current",
            "currents",
            "a-much-longer-tag",
        ];
        for name in names {
            let tag = TagName::new(name);
            assert_eq!(tag.as_str(), name);
            assert_eq!(matches!(tag, TagName::Short(_)), name.len() <= SHORT);
            for other in names.iter().chain(&["lates", "latesT", "current\0"]) {
                assert_eq!(
                    tag.is(&Query::new(other)),
                    name == *other,
                    "{name:?} {other:?}"
                );
            }
        }
    }

    #[test]
    fn a_name_takes_no_more_room_than_a_boxed_one() {
        assert_eq!(
            std::mem::size_of::<TagName>(),
            std::mem::size_of::<Box<str>>()
        );
    }
}
