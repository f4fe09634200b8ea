//! The audit log as every interface shows it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Outcome;

/// A recorded action, as the interfaces show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    pub id: i64,
    #[cfg_attr(
        feature = "sqlx",
        sqlx(rename = "at_ms", try_from = "crate::sql::Millis")
    )]
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor_kind: String,
    pub actor: String,
    pub address: Option<String>,
    pub action: String,
    pub target: String,
    pub outcome: Outcome,
    pub detail: String,
    /// Which appliance acted (none on rows from before it was recorded).
    #[cfg_attr(feature = "sqlx", sqlx(default))]
    #[serde(default)]
    pub appliance: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}
