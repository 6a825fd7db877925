//! Instants and durations as configurations write them: RFC 3339 instants
//! and Go-style durations, read once when a configuration is compiled.

/// Parses an RFC 3339 instant (`2026-11-25T16:00:00Z`,
/// `2026-11-25T17:00:00.250+01:00`) into Unix milliseconds.
pub fn parse_instant(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let s = text.get(from..from + len)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 20
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        let first3 = fraction.get(..len.min(3))?;
        millis = first3.parse::<i64>().ok()? * 10i64.pow(3 - first3.len() as u32);
        rest = fraction.get(len..)?;
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes().get(3) != Some(&b':') {
                return None;
            }
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 60 + m)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    u64::try_from(seconds * 1000 + millis).ok()
}

/// `2026-11-25T16:05:00Z`, with milliseconds only when there are some.
pub fn format_instant(ms: u64) -> String {
    let seconds = ms / 1000;
    let millis = ms % 1000;
    let days = seconds / 86_400;
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    let fraction = if millis == 0 {
        String::new()
    } else {
        format!(".{millis:03}")
    };
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z")
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// era-based method, "chrono-compatible low-level date algorithms").
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the era-based method
/// described by Howard Hinnant, "chrono-compatible low-level date algorithms").
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a duration as Go's `time.ParseDuration` does (the syntax of
/// Knative's `rollout-duration` annotation): a sign, then one or more
/// decimal numbers, each with a unit of `ns`, `us` (or `µs`), `ms`, `s`,
/// `m` or `h` (`10m`, `1h30m`, `1.5m`, `-2s`, `.5h`); `0` alone is zero.
/// Returns nanoseconds, or `None` where Go returns an error (an unknown or
/// missing unit, no digits, more than about 292 years).
pub fn parse_go_duration(text: &str) -> Option<i64> {
    const LIMIT: u64 = 1 << 63;
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let int_len = digits(rest);
        // Go refuses an integer part past 2^63 outright.
        let mut value: u64 = 0;
        for b in rest.bytes().take(int_len) {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(b - b'0'))
                .filter(|v| *v <= LIMIT)?;
        }
        rest = rest.get(int_len..)?;
        let (mut fraction, mut scale, mut fraction_len) = (0u64, 1f64, None);
        if let Some(after) = rest.strip_prefix('.') {
            let len = digits(after);
            // Digits past what fits are read and dropped, as Go does.
            let mut overflowed = false;
            for b in after.bytes().take(len) {
                if overflowed {
                    continue;
                }
                match fraction
                    .checked_mul(10)
                    .and_then(|f| f.checked_add(u64::from(b - b'0')))
                    .filter(|f| *f <= LIMIT)
                {
                    Some(f) => {
                        fraction = f;
                        scale *= 10.0;
                    }
                    None => overflowed = true,
                }
            }
            fraction_len = Some(len);
            rest = after.get(len..)?;
        }
        if int_len == 0 && fraction_len.unwrap_or(0) == 0 {
            return None;
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit: u64 = match rest.get(..unit_len)? {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = rest.get(unit_len..)?;
        if value > LIMIT / unit {
            return None;
        }
        value *= unit;
        if fraction > 0 {
            // Go's float arithmetic, so that 1.1s is what Go makes of it.
            value = value.checked_add((fraction as f64 * (unit as f64 / scale)) as u64)?;
            if value > LIMIT {
                return None;
            }
        }
        total = total.checked_add(value).filter(|t| *t <= LIMIT)?;
    }
    if negative {
        // -2^63 is representable; every other total is at most 2^63 - 1.
        return Some(0i64.checked_sub_unsigned(total).unwrap_or(i64::MIN));
    }
    i64::try_from(total).ok()
}

/// Nanoseconds in a second.
pub const SECOND_NS: i64 = 1_000_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    const START: u64 = 1_764_086_400_000; // 2025-11-25T16:00:00Z

    #[test]
    fn instants() {
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_instant("2025-11-25T16:00:00Z"), Some(START));
        assert_eq!(parse_instant("2025-11-25T17:00:00+01:00"), Some(START));
        assert_eq!(parse_instant("2025-11-25T15:30:00-00:30"), Some(START));
        assert_eq!(parse_instant("2025-11-25T16:00:00.25Z"), Some(START + 250));
        assert_eq!(
            parse_instant("2025-11-25T16:00:00.123456Z"),
            Some(START + 123)
        );
        assert_eq!(
            parse_instant("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        for bad in [
            "",
            "2025-11-25",
            "2025-11-25T16:00:00",
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-11-25T24:00:00Z",
            "2025-11-25T16:00:00.Z",
            "2025-11-25T16:00:00+1:00",
            "1969-12-31T23:59:59Z",
            "２０２５-11-25T16:00:00Z",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_as_go_parses_them() {
        let s = SECOND_NS;
        for (text, ns) in [
            ("380s", 380 * s),
            ("10m", 600 * s),
            ("1h30m", 5_400 * s),
            ("1.5m", 90 * s),
            (".5h", 1_800 * s),
            ("1.s", s),
            ("+5s", 5 * s),
            ("-2s", -2 * s),
            ("0", 0),
            ("0s", 0),
            ("-0", 0),
            ("1500ms", 1_500_000_000),
            ("211s44ms", 211 * s + 44_000_000),
            ("1us", 1_000),
            ("1\u{b5}s", 1_000),
            ("1\u{3bc}s", 1_000),
            ("3h15m21s", (3 * 3600 + 15 * 60 + 21) * s),
            ("2m1982s", (120 + 1982) * s),
            ("1.1s", 1_100_000_000),
            ("2562047h47m16.854775807s", i64::MAX),
            ("-2562047h47m16.854775808s", i64::MIN),
        ] {
            assert_eq!(parse_go_duration(text), Some(ns), "{text:?}");
        }
        // Knative's TestValidateRolloutDurationAnnotation: "in ns" and "not a
        // valid duration" are refused by time.ParseDuration itself.
        for bad in [
            "",
            "120000000000",
            "five minutes and 6 seconds",
            "1d",
            "s",
            ".s",
            "-",
            "1h 30m",
            "1.5",
            "2562047h47m16.854775808s",
            "9223372036854775808ns",
            "１s",
        ] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }
}
