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

/// How long ago `t` was, seen at `now`: `12 s ago`, `3 min ago`,
/// `5 h ago`, `2 d ago` (`just now` under a second).
pub fn ago(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - t).whole_seconds();
    if secs < 1 {
        "just now".into()
    } else {
        format!("{} ago", span(secs))
    }
}

/// How long until `t`, seen at `now`: `in 42 s`, `in 3 min` (`now` when
/// due).
pub fn until(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (t - now).whole_seconds();
    if secs < 1 {
        "now".into()
    } else {
        format!("in {}", span(secs))
    }
}

fn span(secs: i64) -> String {
    match secs {
        ..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_write_utc_to_the_second() {
        assert_eq!(when(from_ms(1_764_309_642_123)), "2025-11-28 06:00:42 UTC");
        assert_eq!(when(from_ms(i64::MAX)), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn ages_and_waits_read_like_a_person_says_them() {
        let now = from_ms(1_000_000_000);
        let s = |n: i64| from_ms(1_000_000_000 + n * 1000);
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(s(-12), now), "12 s ago");
        assert_eq!(ago(s(-60), now), "1 min ago");
        assert_eq!(ago(s(-3 * 3600 - 5), now), "3 h ago");
        assert_eq!(ago(s(-2 * 86_400), now), "2 d ago");
        assert_eq!(until(s(42), now), "in 42 s");
        assert_eq!(until(s(-3), now), "now");
        assert_eq!(until(s(150), now), "in 2 min");
    }
}
