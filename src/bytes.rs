//! Equality of the short strings a routing decision compares (host labels,
//! zones, tags), done in place. Comparing them with `==` calls libc's
//! `memcmp` each time, and for strings this short the call costs more than
//! the comparison: on the decision's paths it was a fifth of the time.

/// Whether `a` and `b` hold the same bytes.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut x = a.chunks_exact(8);
    let mut y = b.chunks_exact(8);
    for (p, q) in (&mut x).zip(&mut y) {
        if word(p) != word(q) {
            return false;
        }
    }
    x.remainder()
        .iter()
        .zip(y.remainder())
        .fold(0u8, |diff, (p, q)| diff | (p ^ q))
        == 0
}

/// Whether `s` begins with `prefix`, compared as [`same`] does.
#[inline]
pub(crate) fn starts_with(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len()).is_some_and(|head| same(head, prefix))
}

/// Where `byte` first occurs in `s`: a plain loop, as the strings searched
/// are a host's first label, a few dozen bytes.
#[inline]
pub(crate) fn find(s: &[u8], byte: u8) -> Option<usize> {
    s.iter().position(|&b| b == byte)
}

/// Whether `s` has no `:` (a port, or an IPv6 literal), no `[` and no ASCII
/// upper case: such a host is already normalised but for a trailing dot.
/// Eight bytes per step (the host of almost every request is plain; the
/// byte-wise searches it replaces were a fifth of a decision).
#[inline]
pub(crate) fn is_plain_host(s: &[u8]) -> bool {
    let mut chunks = s.chunks_exact(8);
    let mut flagged = 0;
    for chunk in &mut chunks {
        flagged |= not_plain(word(chunk));
    }
    // The last eight bytes again, overlapping the words before: a byte
    // checked twice is flagged alike. Shorter, zero padding is none of
    // the flagged bytes.
    flagged |= not_plain(word_from(s, s.len().saturating_sub(8)));
    flagged == 0
}

/// The bytes of `s` from `at` on (at most eight, zero-padded) as a word.
/// Near the end of an `s` of at least eight bytes, its last eight bytes
/// read in one load and shifted down past those before `at`; a shorter `s`
/// is padded (`padded_word`).
#[inline]
pub(crate) fn word_from(s: &[u8], at: usize) -> u64 {
    let n = s.len();
    if at >= n {
        return 0;
    }
    if at + 8 <= n {
        return s.get(at..at + 8).map_or(0, word);
    }
    match n.checked_sub(8).and_then(|start| s.get(start..)) {
        // `at` is within the last eight bytes, so the shift is below 64.
        Some(last) => word(last) >> ((at + 8 - n) * 8),
        None => padded_word(s.get(at..).unwrap_or_default()),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that is `:`, `[` or `A`..=`Z`.
#[inline]
fn not_plain(w: u64) -> u64 {
    // A byte equal to `c` is a zero byte of `w ^ c`; the classic zero-byte
    // test flags at least one byte exactly when there is one.
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let colon = zero(w ^ (ONES * u64::from(b':')));
    let bracket = zero(w ^ (ONES * u64::from(b'[')));
    // With each byte's high bit set first, subtracting a value below 0x80
    // borrows from no neighbour: the high bit stays set exactly for the
    // bytes whose low seven bits are at least that value.
    let set = w | HIGH;
    let at_least_a = set.wrapping_sub(ONES * u64::from(b'A')) & HIGH;
    let past_z = set.wrapping_sub(ONES * u64::from(b'Z' + 1)) & HIGH;
    let upper = at_least_a & !past_z & !w & HIGH;
    colon | bracket | upper
}

/// The first eight bytes of `s` (all of it if shorter, zero-padded) as a
/// little-endian word. Read in two overlapping loads, or three single
/// bytes, not copied: a copy of a length known only at run time is a call
/// to libc's `memcpy`, and a decision made one for each key it packed (the
/// short keys, tag names and the hash's last word).
#[inline]
pub(crate) fn padded_word(s: &[u8]) -> u64 {
    let n = s.len();
    let u32_at = |i: usize| {
        s.get(i..i + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| u64::from(u32::from_le_bytes(b)))
    };
    let byte_at = |i: usize| s.get(i).map_or(0, |&b| u64::from(b));
    match n {
        0 => 0,
        // The middle byte of three, or again the first or last of two or
        // one: each lands at its own place, so `|` adds nothing wrong.
        1..=3 => byte_at(0) | byte_at(n / 2) << (n / 2 * 8) | byte_at(n - 1) << ((n - 1) * 8),
        4..=7 => u32_at(0) | u32_at(n - 4) << ((n - 4) * 8),
        _ => s.get(..8).map_or(0, word),
    }
}

#[inline]
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_padded_word_is_the_bytes_then_zeros_at_every_length() {
        let base: Vec<u8> = (1..=12u8).map(|i| i * 17).collect();
        for len in 0..=12 {
            let s = &base[..len];
            let mut want = [0u8; 8];
            let take = len.min(8);
            want[..take].copy_from_slice(&s[..take]);
            assert_eq!(padded_word(s), u64::from_le_bytes(want), "{len}");
        }
    }

    #[test]
    fn a_word_from_a_place_is_the_bytes_then_zeros() {
        let base: Vec<u8> = (1..=30u8).map(|i| i * 7).collect();
        for len in 0..=base.len() {
            let s = &base[..len];
            for at in 0..=len + 9 {
                let mut want = [0u8; 8];
                let from = at.min(len);
                let take = (len - from).min(8);
                want[..take].copy_from_slice(&s[from..from + take]);
                assert_eq!(word_from(s, at), u64::from_le_bytes(want), "{len} at {at}");
            }
        }
    }

    #[test]
    fn same_agrees_with_eq_at_every_length_and_position() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for len in 0..base.len() {
            let a = &base[..len];
            assert!(same(a, a));
            assert!(!same(a, &base[..len + 1]));
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 1;
                assert!(!same(a, &b), "len {len}, at {at}");
            }
        }
    }

    #[test]
    fn starts_with_agrees_with_the_slice_method() {
        let base: Vec<u8> = (0..20u8).map(|i| b'a' + i % 3).collect();
        for len in 0..base.len() {
            let s = &base[..len];
            for from in 0..base.len() {
                for to in from..=base.len() {
                    let prefix = &base[from..to];
                    assert_eq!(
                        starts_with(s, prefix),
                        s.starts_with(prefix),
                        "{len} {from}..{to}"
                    );
                }
            }
        }
    }

    #[test]
    fn is_plain_host_agrees_with_a_byte_by_byte_check() {
        let flagged = |b: u8| b == b':' || b == b'[' || b.is_ascii_uppercase();
        let base = b"svc-1.ns-1.example.com.abcdefghijkl".to_vec();
        for len in 0..base.len() {
            let plain = &base[..len];
            assert!(is_plain_host(plain), "len {len}");
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = plain.to_vec();
                    s[at] = b;
                    assert_eq!(
                        is_plain_host(&s),
                        !flagged(b),
                        "len {len}, at {at}, byte {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn find_finds_the_first() {
        assert_eq!(find(b"a.b.c", b'.'), Some(1));
        assert_eq!(find(b"abc", b'.'), None);
        assert_eq!(find(b"", b'.'), None);
    }
}
