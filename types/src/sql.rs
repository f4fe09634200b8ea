//! Columns as the database stores them, read into what the rows show (the
//! engine only: feature `sqlx`).

use time::OffsetDateTime;

/// A time column as stored (milliseconds since the Unix epoch), read with
/// `#[sqlx(rename = "at_ms", try_from = "Millis")]`.
#[derive(Debug, Clone, Copy, sqlx::Type)]
#[sqlx(transparent)]
pub struct Millis(pub i64);

impl From<Millis> for OffsetDateTime {
    fn from(m: Millis) -> Self {
        crate::time::from_ms(m.0)
    }
}

/// A duration column as stored (microseconds), read into milliseconds.
#[derive(Debug, Clone, Copy, sqlx::Type)]
#[sqlx(transparent)]
pub struct Micros(pub i64);

impl From<Micros> for f64 {
    fn from(m: Micros) -> Self {
        m.0 as f64 / 1000.0
    }
}
