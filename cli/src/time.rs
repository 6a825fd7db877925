//! Instants as the tool shows them: RFC 3339 in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

/// The system clock in Unix milliseconds (0 if it is set before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub use knative_traffic::time::format_instant;

/// An instant on the command line (`--at`): RFC 3339.
pub fn parse_at(text: &str) -> Result<u64, String> {
    knative_traffic::time::parse_instant(text)
        .ok_or_else(|| "not an RFC 3339 instant (e.g. 2026-11-25T16:05:00Z)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use knative_traffic::time::parse_instant;

    #[test]
    fn formats_what_the_library_parses() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T12:34:56Z",
            "2025-11-25T16:00:00Z",
            "2026-11-25T16:05:00.250Z",
            "2100-03-01T00:00:00Z",
            "9999-12-31T23:59:59.999Z",
        ] {
            let ms = parse_instant(text).unwrap();
            assert_eq!(format_instant(ms), text);
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        for days in (0..146_097 * 2).step_by(7) {
            let ms = days * 86_400_000 + 3_723_004;
            assert_eq!(parse_instant(&format_instant(ms)), Some(ms), "day {days}");
        }
    }
}
