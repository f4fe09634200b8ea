//! The seed history as every interface shows it (never the seed bytes).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Outcome, Trigger};

/// A recorded reseed, as the interfaces show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    pub id: i64,
    #[cfg_attr(
        feature = "sqlx",
        sqlx(rename = "at_ms", try_from = "crate::sql::Millis")
    )]
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub config_name: String,
    pub slot: Option<i64>,
    pub token_serial: Option<String>,
    pub trigger: Trigger,
    pub source: String,
    pub bits: i64,
    #[cfg_attr(
        feature = "sqlx",
        sqlx(rename = "duration_us", try_from = "crate::sql::Micros")
    )]
    pub duration_ms: f64,
    pub outcome: Outcome,
    pub error_code: Option<String>,
    pub message: Option<String>,
    /// Which appliance acted (none on rows from before it was recorded).
    #[cfg_attr(feature = "sqlx", sqlx(default))]
    #[serde(default)]
    pub appliance: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    pub rows: Vec<HistoryRow>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// What the dashboard shows of the history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryStats {
    pub last: Vec<HistoryRow>,
    pub total_24h: i64,
    pub failures_24h: i64,
    /// The last 24 hours, oldest first.
    pub hourly: Vec<HourBucket>,
}

/// Reseeds and failures in one hour.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HourBucket {
    /// The hour's start.
    #[serde(with = "time::serde::rfc3339")]
    pub hour: OffsetDateTime,
    pub ok: i64,
    pub failed: i64,
}
