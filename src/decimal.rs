//! A number from the configuration, written back in an error message.
//!
//! Written with `{}`, an `f64` links core's float formatting, which was
//! 16 KB of the Wasm module (a twentieth) for three error messages. This
//! writes 15 significant digits, the most a double holds for every decimal
//! (`f64::DIGITS`), so a number written with up to 15 is shown as written
//! (from 1e-8 to 1e36; beyond, with a last digit that may be off by a few),
//! and uses the exponent form where JSON's writers do (ECMAScript's
//! `Number::toString`: below 1e-6 and from 1e21, `1e+21`).

use std::fmt;

/// The significant digits written.
const DIGITS: usize = 15;
/// `10^(DIGITS - 1)`: the least value the digits take.
const LEAST: u64 = 100_000_000_000_000;

/// `{}` writes the number as described above.
#[derive(Debug, Clone, Copy)]
pub struct Decimal(pub f64);

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_nan() {
            return f.write_str("NaN");
        }
        if v < 0.0 {
            f.write_str("-")?;
        }
        let v = v.abs();
        if v.is_infinite() {
            return f.write_str("Infinity");
        }
        if v == 0.0 {
            return f.write_str("0");
        }
        let (digits, exponent) = significant(v);
        let mut text = [b'0'; DIGITS];
        let mut rest = digits;
        for slot in text.iter_mut().rev() {
            // A remainder of ten is below 256.
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let used = DIGITS - text.iter().rev().take_while(|&&b| b == b'0').count();
        let (digits, _) = text.split_at_checked(used).unwrap_or((&text, &[]));
        let digits = std::str::from_utf8(digits).unwrap_or("0");
        write(f, digits, exponent)
    }
}

/// `v`'s first 15 significant digits, rounded, as an integer from
/// `LEAST` to `10 * LEAST - 1`, and the decimal exponent of the first.
fn significant(v: f64) -> (u64, i32) {
    let mut exponent = 0i32;
    let mut x = v;
    while x >= 10.0 {
        x /= 10.0;
        exponent += 1;
    }
    while x < 1.0 {
        x *= 10.0;
        exponent -= 1;
    }
    // The loop's rounding can leave the exponent one off at a power of ten;
    // the digits of one exact scaling settle it.
    loop {
        let scaled = scale(v, DIGITS as i32 - 1 - exponent);
        // Positive and below 2^53: the addition and the cast are exact.
        let digits = (scaled + 0.5) as u64;
        if digits >= 10 * LEAST {
            exponent += 1;
        } else if digits < LEAST {
            exponent -= 1;
        } else {
            return (digits, exponent);
        }
    }
}

/// `v * 10^k`, one rounding while the power is exact (|k| ≤ 22), the case
/// of every number from 1e-8 to 1e36; beyond, a few.
fn scale(v: f64, k: i32) -> f64 {
    let mut v = v;
    let mut k = k;
    while k > 22 {
        v *= 1e22;
        k -= 22;
    }
    while k < -22 {
        v /= 1e22;
        k += 22;
    }
    let power = (0..k.unsigned_abs()).fold(1.0f64, |p, _| p * 10.0);
    if k >= 0 {
        v * power
    } else {
        v / power
    }
}

/// Writes significant `digits` (no trailing zeros) whose first has the
/// decimal `exponent`.
fn write(f: &mut fmt::Formatter<'_>, digits: &str, exponent: i32) -> fmt::Result {
    if !(-6..21).contains(&exponent) {
        let (first, rest) = digits.split_at_checked(1).unwrap_or((digits, ""));
        f.write_str(first)?;
        if !rest.is_empty() {
            write!(f, ".{rest}")?;
        }
        let sign = if exponent > 0 { "+" } else { "" };
        return write!(f, "e{sign}{exponent}");
    }
    if exponent < 0 {
        f.write_str("0.")?;
        for _ in 1..exponent.unsigned_abs() {
            f.write_str("0")?;
        }
        return f.write_str(digits);
    }
    // At most 21 digits before the point, 15 of them significant.
    let whole = exponent.unsigned_abs() as usize + 1;
    match digits.split_at_checked(whole) {
        Some((before, after)) if !after.is_empty() => write!(f, "{before}.{after}"),
        _ => {
            f.write_str(digits)?;
            for _ in digits.len()..whole {
                f.write_str("0")?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(v: f64) -> String {
        Decimal(v).to_string()
    }

    #[test]
    fn numbers_read_from_json_are_written_as_written() {
        for text in [
            "0",
            "1",
            "-5",
            "12.5",
            "100.5",
            "0.001",
            "0.01",
            "0.1",
            "99.99",
            "120",
            "1000",
            "123456789012345",
            "0.000001",
            "1e-7",
            "1.5e-7",
            "1e+21",
            "2.5e+35",
            "1.25e-8",
            "12345678901234500000",
            "0.30000000000000004",
        ] {
            let v: f64 = serde_json::from_str(text).unwrap();
            let want = if text == "0.30000000000000004" {
                "0.3"
            } else {
                text
            };
            assert_eq!(shown(v), want, "{text}");
        }
    }

    #[test]
    fn every_decimal_of_up_to_15_digits_round_trips() {
        // A fixed walk over digits and exponents from 1e-8 to 1e36: the
        // shown text reads back as the same double, and agrees with core's
        // shortest form wherever that has no exponent.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut checked = 0;
        while checked < 100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let digits = state % 1_000_000_000_000_000;
            let exponent = (state >> 50) as i32 % 60 - 30;
            let v = format!("{digits}e{exponent}").parse::<f64>().unwrap();
            if !(1e-8..1e36).contains(&v) {
                continue;
            }
            checked += 1;
            let text = shown(v);
            assert_eq!(
                text.parse::<f64>().unwrap(),
                v,
                "{digits}e{exponent}: {text}"
            );
            let core = v.to_string();
            if (1e-6..1e21).contains(&v) {
                assert_eq!(text, core, "{digits}e{exponent}");
            }
        }
    }

    #[test]
    fn signs_zero_and_the_non_finite() {
        assert_eq!(shown(-0.0), "0");
        assert_eq!(shown(-0.25), "-0.25");
        assert_eq!(shown(f64::INFINITY), "Infinity");
        assert_eq!(shown(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(shown(f64::NAN), "NaN");
    }

    #[test]
    fn the_extremes_are_close() {
        // Rounded to 15 digits, the largest double reads back as infinity.
        assert!(shown(f64::MAX).starts_with("1.797693134862"));
        for v in [1e308, 2.5e300, 1e-300, f64::MIN_POSITIVE, 5e-324] {
            let back: f64 = shown(v).parse().unwrap();
            assert!((back - v).abs() <= v * 1e-13, "{v}: {}", shown(v));
        }
        assert!(shown(f64::MAX).ends_with("e+308"));
        assert!(shown(1e-300).ends_with("e-300"));
    }
}
