//! What the pages show, as plain data shared by the server and the WASM
//! build (the engine's own types never reach WASM).

use serde::{Deserialize, Serialize};

/// A message after an action: `ok` or `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub kind: String,
    pub text: String,
    /// A secret shown once (a new API token), apart from the text.
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HsmView {
    pub name: String,
    pub partition_name: String,
    pub password_set: bool,
    pub slot: Option<u64>,
    pub token_serial: Option<String>,
    pub user_type: types::UserType,
    pub enabled: bool,
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    pub last_at: Option<String>,
    /// The token the slot holds now, as the module sees it.
    pub live_token: Option<String>,
    /// Set while the login is held after a failed login.
    pub held: Option<HeldView>,
}

/// Why a configuration's login is held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldView {
    pub ckr: String,
    pub detail: String,
    pub since: String,
    /// What an administrator reads before retrying (the vendor's limits).
    pub retry_warning: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotView {
    pub slot_id: u64,
    pub serial: String,
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    pub firmware: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HsmsData {
    pub configs: Vec<HsmView>,
    pub slots: Vec<SlotView>,
    /// Why the slots could not be listed (module missing, ...).
    pub slots_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRowView {
    pub at: String,
    pub config: String,
    pub slot: Option<i64>,
    pub token_serial: Option<String>,
    pub trigger: types::Trigger,
    pub source: String,
    pub bits: i64,
    pub duration_ms: f64,
    pub outcome: types::Outcome,
    pub error_code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPageView {
    pub rows: Vec<HistoryRowView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub configs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourView {
    /// `HH:00` (UTC).
    pub label: String,
    pub ok: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntropyView {
    pub source: String,
    pub state: String,
    pub min_entropy: f64,
    pub full_entropy: bool,
    pub rct_cutoff: u32,
    pub apt_cutoff: u32,
    pub bytes_read: u64,
    pub blocks_tested: u64,
    pub blocks_discarded: u64,
    pub permanent_failures: u64,
    pub last_failure: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleView {
    pub period_minutes: u8,
    pub next_run_at: Option<String>,
    pub last_round: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardData {
    pub ready: bool,
    pub database: String,
    pub version: String,
    pub checked_at: String,
    pub entropy: EntropyView,
    pub schedule: ScheduleView,
    pub configs: usize,
    /// Configurations whose login is held: `(name, held)`.
    pub held: Vec<(String, HeldView)>,
    pub total_24h: i64,
    pub failures_24h: i64,
    pub last: Vec<HistoryRowView>,
    pub hourly: Vec<HourView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub name: String,
    pub scope: String,
    pub prefix: String,
    pub created_at: String,
    pub created_by: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRowView {
    pub at: String,
    pub actor: String,
    pub actor_kind: String,
    pub address: Option<String>,
    pub action: String,
    pub target: String,
    pub outcome: types::Outcome,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPageView {
    pub rows: Vec<AuditRowView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub name: String,
    pub created_at: String,
    pub is_me: bool,
    /// API tokens they created (revoked when they are removed).
    pub tokens: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertView {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub fingerprint: String,
    pub san: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerCertView {
    pub address: String,
    pub cert: CertView,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaCertView {
    pub address: String,
    pub cert: CertView,
    /// As `openssl x509 -text -noout` prints it.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustView {
    pub servers: Vec<ServerCertView>,
    pub qa: Option<QaCertView>,
    pub country: String,
    pub state: String,
    pub locality: String,
    pub organization: String,
    pub address: String,
    pub default_address: Option<String>,
    pub luna_dir: Option<String>,
    pub slots: Vec<SlotView>,
    pub slots_error: Option<String>,
}
