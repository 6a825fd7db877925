//! Sticky canaries: a client with the same key lands on the same revision on
//! every request, every worker and every replica (knative/serving#8160).
//!
//! A key is hashed to one of [`BUCKETS`] buckets, and the service's split owns
//! the buckets in contiguous ranges, one per revision, in layout order (see
//! [`crate::split::Split`]). The hash is FNV-1a (64 bit) over the service's
//! namespace and name and the key, finished with the SplitMix64 mixer: stable
//! across builds, platforms and processes, with no shared state. Salting with
//! the service keeps a client's canaries of different services independent.
//!
//! Monotone ramps: with two revisions, their ranges meet at one boundary, so
//! when one grows only keys from the other cross over; no key ever moves from
//! a growing revision. With three or more revisions, moving share between two
//! neighbours in the layout (the order of `traffic`) moves no other key; moving
//! share between revisions that are not neighbours shifts the ranges between
//! them. No bucket layout avoids that for every pair: with revisions A, B and
//! C, keeping C's keys while A and B trade share forces C's buckets to depend
//! on C's share alone, and the same for A and B, which cannot partition the
//! buckets for every split.

use crate::request::Source;
use crate::split::{bucket_of, BUCKETS};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A service's compiled stickiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sticky {
    pub source: Source,
    /// FNV-1a state after the service's salt and the `\0` that ends it:
    /// the per-request hash starts here.
    salt: u64,
    /// Max-Age of the cookie handed out to requests without a key, if any
    /// (cookie keys only).
    set_cookie_max_age: Option<u64>,
}

impl Sticky {
    pub fn new(
        source: Source,
        namespace: &str,
        service: &str,
        set_cookie_max_age: Option<u64>,
    ) -> Sticky {
        let salted = fnv1a(
            fnv1a(fnv1a(FNV_OFFSET, namespace.as_bytes()), b"/"),
            service.as_bytes(),
        );
        let salt = fnv1a(salted, b"\0");
        Sticky {
            source,
            salt,
            set_cookie_max_age,
        }
    }

    /// The key's bucket in `0..BUCKETS`.
    pub fn bucket(&self, key: &str) -> u32 {
        let hash = mix(fnv1a(self.salt, key.as_bytes()));
        let bucket = bucket_of(hash);
        debug_assert!(bucket < BUCKETS);
        bucket
    }

    /// Whether requests without a key get one, in a cookie.
    pub fn hands_out_keys(&self) -> bool {
        matches!(self.source, Source::Cookie { .. }) && self.set_cookie_max_age.is_some()
    }

    /// The `Set-Cookie` value handing `key` to the client.
    pub fn set_cookie(&self, key: &str) -> Option<String> {
        match (&self.source, self.set_cookie_max_age) {
            (Source::Cookie { name, .. }, Some(max_age)) => {
                Some(format!("{name}={key}; Max-Age={max_age}; Path=/; HttpOnly"))
            }
            _ => None,
        }
    }
}

/// A fresh key from a random number: 16 lower-case hex digits, valid in a
/// cookie value and a header.
pub fn new_key(random: u64) -> String {
    format!("{random:016x}")
}

fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// SplitMix64's finaliser: spreads FNV's weak low-entropy high bits so that
/// similar keys (user-1, user-2) land in unrelated buckets.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::HeaderSlot;

    fn sticky() -> Sticky {
        Sticky::new(
            Source::Header {
                slot: HeaderSlot::new(0),
            },
            "default",
            "web",
            None,
        )
    }

    #[test]
    fn buckets_are_stable_across_builds() {
        // Pinned values: a change here moves every client of every proxy.
        let s = sticky();
        assert_eq!(s.bucket("alice"), s.bucket("alice"));
        let pinned: Vec<u32> = ["alice", "bob", "user-1", "user-2", ""]
            .iter()
            .map(|k| s.bucket(k))
            .collect();
        assert_eq!(pinned, PINNED);
    }

    const PINNED: [u32; 5] = [8969, 4104, 9292, 585, 2900];

    #[test]
    fn the_service_salts_the_bucket() {
        let a = Sticky::new(
            Source::Header {
                slot: HeaderSlot::new(0),
            },
            "default",
            "web",
            None,
        );
        let b = Sticky::new(
            Source::Header {
                slot: HeaderSlot::new(0),
            },
            "default",
            "api",
            None,
        );
        let differ = (0..100)
            .filter(|i| a.bucket(&format!("user-{i}")) != b.bucket(&format!("user-{i}")))
            .count();
        assert!(differ > 90, "{differ}");
    }

    #[test]
    fn set_cookie_only_for_cookie_keys_that_ask_for_it() {
        let c = Sticky::new(
            Source::Cookie {
                slot: HeaderSlot::new(0),
                name: "kn".into(),
            },
            "ns",
            "s",
            Some(3600),
        );
        assert_eq!(
            c.set_cookie("00ff").as_deref(),
            Some("kn=00ff; Max-Age=3600; Path=/; HttpOnly")
        );
        let no = Sticky::new(
            Source::Cookie {
                slot: HeaderSlot::new(0),
                name: "kn".into(),
            },
            "ns",
            "s",
            None,
        );
        assert_eq!(no.set_cookie("00ff"), None);
        assert_eq!(new_key(255), "00000000000000ff");
    }
}
