//! The appliances that share one database, as the dashboard lists them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// An appliance is `silent` after this long without a heartbeat (each
/// serving appliance records one every 5 seconds).
pub const SILENT_AFTER: time::Duration = time::Duration::seconds(20);

/// One appliance of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appliance {
    pub id: String,
    pub version: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub heartbeat_at: OffsetDateTime,
    /// Reseeds it attempted this hour (ok or failed; held rounds are not
    /// attempts).
    pub reseeds_this_hour: i64,
}

impl Appliance {
    /// Whether its heartbeat is older than [`SILENT_AFTER`] at `now`.
    pub fn is_silent(&self, now: OffsetDateTime) -> bool {
        now - self.heartbeat_at > SILENT_AFTER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_after_twenty_seconds() {
        let t = time::macros::datetime!(2026-12-01 12:00 UTC);
        let a = Appliance {
            id: "a".into(),
            version: "0.1.0".into(),
            started_at: t,
            heartbeat_at: t,
            reseeds_this_hour: 0,
        };
        assert!(!a.is_silent(t + time::Duration::seconds(20)));
        assert!(a.is_silent(t + time::Duration::seconds(21)));
    }
}
