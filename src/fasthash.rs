//! The hash of the host tables' lookups: eight bytes per step, a handful of
//! instructions per step, instead of std's SipHash-1-3 (about four times the
//! cost on the 20 to 40 byte hosts a request looks up, several per request).
//!
//! SipHash's keyed randomness defends a map against hash flooding: an
//! attacker who chooses the keys *inserted* makes them collide. The host
//! tables are built from the configuration only and never grow from requests;
//! a request only looks a host up, and a lookup costs at most the probe
//! length of the table's own keys, whatever the key looked up. So an unkeyed
//! hash is safe here, and the table layout (hence the decision's cost) is the
//! same on every run.

use std::hash::{BuildHasher, Hasher};

/// Multiplier of the per-word step (from FxHash, as rustc uses it).
const K: u64 = 0xf135_7aea_2e62_a9c5;

/// Builds [`HostHasher`]s; the `S` of the host tables' `HashMap`s.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildHostHasher;

impl BuildHasher for BuildHostHasher {
    type Hasher = HostHasher;

    fn build_hasher(&self) -> HostHasher {
        HostHasher(0)
    }
}

/// Word-at-a-time multiplicative hash, finished with SplitMix64's mixer so
/// that both the low bits (the bucket) and the top seven (hashbrown's tag
/// byte) depend on every input byte.
#[derive(Debug, Clone, Copy)]
pub struct HostHasher(u64);

impl HostHasher {
    #[inline]
    fn step(&mut self, word: u64) {
        #[cfg(any(test, feature = "count-work"))]
        work::count_step();
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(K);
    }
}

impl Hasher for HostHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.step(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.step(crate::bytes::padded_word(rest));
        }
        // Zero padding must not make "a" and "a\0" the same input.
        self.step(bytes.len() as u64);
    }

    /// One step per word: the in-place keys of [`crate::short_keys`]
    /// hash as three.
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.step(i);
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.step(u64::from(i));
    }

    #[inline]
    fn finish(&self) -> u64 {
        #[cfg(any(test, feature = "count-work"))]
        work::count_hash();
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The host hash's work, counted per thread: how many hashes were finished
/// (one per map lookup or insert) and how many eight-byte steps they took.
/// It lets a test bound what a decision costs as a count of operations, which
/// does not depend on the machine's speed or load the way a timing does.
///
/// Compiled only into unit tests and with the `count-work` feature (the fuzz
/// targets): the module Envoy loads counts nothing.
#[cfg(any(test, feature = "count-work"))]
pub mod work {
    use std::cell::Cell;

    thread_local! {
        static HASHES: Cell<u64> = const { Cell::new(0) };
        static STEPS: Cell<u64> = const { Cell::new(0) };
    }

    /// Work of the host hash.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Work {
        /// Hashes finished: one per lookup (or insert) in a host table.
        pub hashes: u64,
        /// Eight-byte steps: a hash of `n` bytes takes `n / 8 + 3` at most
        /// (the words, the length, and the `0xff` that ends a `str`).
        pub steps: u64,
    }

    impl Work {
        /// Neither count is over `limit`'s.
        pub fn within(&self, limit: &Work) -> bool {
            self.hashes <= limit.hashes && self.steps <= limit.steps
        }
    }

    /// Runs `f` and returns the host hashing it did on this thread.
    pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Work) {
        let before = now();
        let value = f();
        let after = now();
        let work = Work {
            hashes: after.hashes.wrapping_sub(before.hashes),
            steps: after.steps.wrapping_sub(before.steps),
        };
        (value, work)
    }

    fn now() -> Work {
        Work {
            hashes: HASHES.with(Cell::get),
            steps: STEPS.with(Cell::get),
        }
    }

    pub(super) fn count_step() {
        STEPS.with(|c| c.set(c.get().wrapping_add(1)));
    }

    pub(super) fn count_hash() {
        HASHES.with(|c| c.set(c.get().wrapping_add(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn hash(s: &str) -> u64 {
        BuildHostHasher.hash_one(s)
    }

    #[test]
    fn equal_keys_hash_equal_and_lengths_count() {
        assert_eq!(
            hash("web.default.example.com"),
            hash("web.default.example.com")
        );
        assert_ne!(hash("a"), hash("a\0"));
        assert_ne!(hash(""), hash("\0"));
        assert_ne!(hash("abcdefgh"), hash("abcdefgh\0"));
    }

    #[test]
    fn similar_hosts_spread_over_buckets_and_tags() {
        // 10,000 hosts differing in a digit or two: the low 14 bits (a
        // table's bucket index) and the top 7 bits (hashbrown's tag byte)
        // must both be close to uniform.
        let hashes: Vec<u64> = (0..10_000).map(|i| hash(&format!("svc-{i}"))).collect();
        let buckets: HashSet<u64> = hashes.iter().map(|h| h & 0x3fff).collect();
        // 10,000 balls in 16,384 bins: about 7,300 distinct bins expected.
        assert!(buckets.len() > 7_000, "{}", buckets.len());
        let mut tags = [0u32; 128];
        for h in &hashes {
            tags[(h >> 57) as usize] += 1;
        }
        // About 78 per tag; 4 sigma is about 35.
        assert!(tags.iter().all(|&n| (40..=120).contains(&n)), "{tags:?}");
    }

    #[test]
    fn work_counts_hashes_and_steps() {
        for (s, steps) in [("", 2), ("a", 3), ("abcdefgh", 3), ("abcdefghi", 4)] {
            let (_, work) = work::measure(|| hash(s));
            // The words, the length, and the 0xff that ends a str.
            assert_eq!(work, work::Work { hashes: 1, steps }, "{s:?}");
        }
        let (_, work) = work::measure(|| hash(&"x".repeat(800)));
        assert_eq!(work.steps, 100 + 2);
    }
}
