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

/// Where `byte` first occurs in `s`: a plain loop, as the strings searched
/// are a host's first label, a few dozen bytes.
#[inline]
pub(crate) fn find(s: &[u8], byte: u8) -> Option<usize> {
    s.iter().position(|&b| b == byte)
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
    fn find_finds_the_first() {
        assert_eq!(find(b"a.b.c", b'.'), Some(1));
        assert_eq!(find(b"abc", b'.'), None);
        assert_eq!(find(b"", b'.'), None);
    }
}
