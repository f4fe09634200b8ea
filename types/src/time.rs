//! Times as the pages show them, the same on the server and in the browser.

use time::OffsetDateTime;

/// Milliseconds since the Unix epoch (the epoch when out of range).
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-11-28 06:07:22 UTC`: how every page writes a time.
pub fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_write_utc_to_the_second() {
        assert_eq!(when(from_ms(1_764_309_642_123)), "2025-11-28 06:00:42 UTC");
        assert_eq!(when(from_ms(i64::MAX)), "1970-01-01 00:00:00 UTC");
    }
}
