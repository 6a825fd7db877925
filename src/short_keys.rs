//! A hash map from host labels and zones that keeps a short key in its
//! bucket. With `Box<str>` keys every lookup follows the key's pointer to
//! compare it, a cache miss in a table of 10,000 services and a `memcmp`
//! call; a key of at most [`INLINE`] bytes (most labels and zones) is held
//! as three words beside its value and compared as three words. Longer
//! keys live in a second map, looked up only for a longer query.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::fasthash::BuildHostHasher;

/// Keys up to this many bytes are held in place; the 24th byte is the length.
const INLINE: usize = 23;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Inline([u64; 3]);

impl Inline {
    fn of(key: &str) -> Option<Inline> {
        let bytes = key.as_bytes();
        if bytes.len() > INLINE {
            return None;
        }
        // The length in the last byte, which a key of at most 23 leaves free.
        let len = (bytes.len() as u64) << 56;
        if bytes.len() < 8 {
            return Some(Inline([crate::bytes::padded_word(bytes), 0, len]));
        }
        let at = |i: usize| crate::bytes::word_from(bytes, i);
        Some(Inline([at(0), at(8), at(16) | len]))
    }
}

impl Hash for Inline {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for word in self.0 {
            state.write_u64(word);
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ShortKeyMap<V> {
    short: HashMap<Inline, V, BuildHostHasher>,
    long: HashMap<Box<str>, V, BuildHostHasher>,
}

impl<V> Default for ShortKeyMap<V> {
    fn default() -> Self {
        ShortKeyMap {
            short: HashMap::default(),
            long: HashMap::default(),
        }
    }
}

impl<V> ShortKeyMap<V> {
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        match Inline::of(key) {
            Some(inline) => self.short.get(&inline),
            None if self.long.is_empty() => None,
            None => self.long.get(key),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// Like [`HashMap::with_capacity_and_hasher`], for keys expected short.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        ShortKeyMap {
            short: HashMap::with_capacity_and_hasher(capacity, BuildHostHasher),
            long: HashMap::default(),
        }
    }

    /// Adds `key` unless it is there: one lookup for both, and no
    /// allocation for a short key. Gives the value already there.
    pub(crate) fn insert_new(&mut self, key: &str, value: V) -> Result<(), &V> {
        match Inline::of(key) {
            Some(inline) => insert_new(&mut self.short, inline, value),
            None => insert_new(&mut self.long, key.into(), value),
        }
    }

    /// Keeps the entries `keep` accepts, and fits the maps to them.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        self.short.retain(|_, v| keep(v));
        self.long.retain(|_, v| keep(v));
        self.short.shrink_to_fit();
        self.long.shrink_to_fit();
    }

    pub(crate) fn insert(&mut self, key: &str, value: V) {
        match Inline::of(key) {
            Some(inline) => self.short.insert(inline, value),
            None => self.long.insert(key.into(), value),
        };
    }
}

fn insert_new<K: Eq + Hash, V>(
    map: &mut HashMap<K, V, BuildHostHasher>,
    key: K,
    value: V,
) -> Result<(), &V> {
    use std::collections::hash_map::Entry;
    match map.entry(key) {
        Entry::Occupied(held) => Err(held.into_mut()),
        Entry::Vacant(free) => {
            free.insert(value);
            Ok(())
        }
    }
}

impl<'k, V> FromIterator<(&'k str, V)> for ShortKeyMap<V> {
    fn from_iter<I: IntoIterator<Item = (&'k str, V)>>(entries: I) -> Self {
        let entries = entries.into_iter();
        let mut map = ShortKeyMap::with_capacity(entries.size_hint().0);
        for (key, value) in entries {
            map.insert(key, value);
        }
        // A filtered iterator gives no size: fit the maps to what they got.
        map.short.shrink_to_fit();
        map.long.shrink_to_fit();
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_every_length_are_found_and_told_apart() {
        let keys: Vec<String> = (0..40).map(|n| "a".repeat(n)).collect();
        let map: ShortKeyMap<usize> = keys.iter().map(|k| k.as_str()).zip(0..).collect();
        assert_eq!(map.len(), 40);
        for (n, key) in keys.iter().enumerate() {
            assert_eq!(map.get(key), Some(&n), "{n} bytes");
        }
        assert_eq!(map.get("b"), None);
        assert_eq!(map.get(&"a".repeat(40)), None);
        // A key and the same key with a zero byte more differ by length.
        assert_eq!(map.get("aa\0"), None);
    }

    #[test]
    fn insert_new_keeps_the_first_value_and_retain_drops_the_rest() {
        let long = "a".repeat(30);
        let mut map = ShortKeyMap::with_capacity(4);
        for key in ["a", long.as_str()] {
            assert_eq!(map.insert_new(key, 1), Ok(()));
            assert_eq!(map.insert_new(key, 2), Err(&1));
        }
        assert_eq!(map.insert_new("b", 3), Ok(()));
        map.retain(|v| *v == 1);
        assert_eq!(
            (map.get("a"), map.get(&long), map.get("b")),
            (Some(&1), Some(&1), None)
        );
    }
}
