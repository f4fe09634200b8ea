//! The scheduler's state as every interface shows it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What the schedule page and the dashboard show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScheduleStatus {
    pub period_minutes: u8,
    /// Known only where the scheduler runs (the server).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_run_at: Option<OffsetDateTime>,
    pub running: bool,
    pub last_round: Option<RoundReport>,
}

/// The outcome of one scheduled round.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoundReport {
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub duration_ms: f64,
    pub ok: u32,
    pub failed: u32,
    /// Configurations skipped because their login is held.
    #[serde(default)]
    pub held: u32,
    /// Configurations skipped because their token does not accept seed
    /// material.
    #[serde(default)]
    pub unsupported: u32,
    /// Configurations another appliance on the database reseeds this
    /// period (or not due yet).
    #[serde(default)]
    pub elsewhere: u32,
}
