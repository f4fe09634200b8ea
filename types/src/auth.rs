//! Administrators and API tokens as listed (never a secret).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Scope;

/// A token as listed: never the secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub name: String,
    pub scope: Scope,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// An administrator as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The API tokens this administrator created: revoked with them.
    pub tokens: Vec<String>,
}
