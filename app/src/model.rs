//! What the pages show: the rows of the shared vocabulary (`types`, the
//! same structs the engine returns), composed per page. Nothing here
//! copies an engine type: the browser and the server cannot drift.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use types::alerts::{AlertSettings, Delivery};
pub use types::audit::{AuditPage, AuditRow};
pub use types::auth::{TokenInfo, UserInfo};
pub use types::entropy::{EntropyState, EntropyStatus};
pub use types::history::{HistoryPage, HistoryRow, HourBucket};
pub use types::hsm::{
    ConfigState, HsmConfig, LoginHold, SlotInfo, RETRY_WARNING, SEED_NOT_ACCEPTED,
    SEED_NOT_ACCEPTED_TEXT,
};
pub use types::ntl::{CertExpiry, CertInfo, QaCert, ServerCert};
pub use types::schedule::ScheduleStatus;
pub use types::status::{ApplianceState, ConfigCounts};
pub use types::time::{ago, until, when};

/// A message after an action: `ok` or `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub kind: String,
    pub text: String,
    /// A secret shown once (a new API token), apart from the text.
    pub secret: Option<String>,
    /// The configuration whose edit page fixes this error (a row's
    /// Reseed or Test login failing).
    #[serde(default)]
    pub edit: Option<String>,
}

/// The alerts part of the Settings page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsView {
    pub settings: AlertSettings,
    /// The subjects of the webhook's CA certificates.
    pub ca_subjects: Vec<String>,
    /// How the last alert to each channel went (since the server started).
    pub deliveries: Vec<Delivery>,
}

/// A configuration with the token its slot holds now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HsmView {
    pub config: HsmConfig,
    /// `label (serial)` of the token in the configured slot, as the module
    /// sees it now.
    pub live_token: Option<String>,
    /// The settings' named PKCS#11 modules (the form's choices besides the
    /// default one; empty: only the default).
    pub modules: Vec<String>,
}

/// The slots one named PKCS#11 module sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleSlots {
    pub name: String,
    pub slots: Vec<SlotInfo>,
    /// Why they could not be listed.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HsmsData {
    /// The page of configurations the search finds.
    pub configs: Vec<HsmView>,
    /// How many the search finds, the page shown (1-based) and its size.
    pub matching: u32,
    pub page: u32,
    pub per_page: u32,
    /// Every configuration by state (the filter's counts).
    pub counts: ConfigCounts,
    pub slots: Vec<SlotInfo>,
    /// Why the slots could not be listed (module missing, ...).
    pub slots_error: Option<String>,
    /// The named modules' slots (settings `pkcs11_modules`).
    pub modules: Vec<ModuleSlots>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardData {
    /// `ok`, `degraded` (a configuration failing or held) or `not_ready`.
    pub state: ApplianceState,
    pub ready: bool,
    pub database: String,
    pub version: String,
    /// The server's time of this answer: ages and waits are counted from it.
    pub checked_at: OffsetDateTime,
    pub entropy: EntropyStatus,
    /// Each source (one: the same as `entropy`), and how they are mixed.
    pub entropy_sources: Vec<EntropyStatus>,
    pub entropy_mix: String,
    pub schedule: ScheduleStatus,
    /// The configurations listed: those in trouble first, at most
    /// `DASHBOARD_ROWS` (`counts` has every one).
    pub configs: Vec<HsmConfig>,
    pub counts: ConfigCounts,
    /// The HSM server certificates and the appliance certificate, with
    /// their end of validity.
    pub certificates: Vec<CertExpiry>,
    pub total_24h: i64,
    pub failures_24h: i64,
    pub last: Vec<HistoryRow>,
    pub hourly: Vec<HourBucket>,
    /// The appliances sharing the database, and which one this is.
    pub fleet: Vec<types::fleet::Appliance>,
    pub this_appliance: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub user: UserInfo,
    /// The signed-in administrator.
    pub is_me: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustView {
    /// The server's time of this answer (certificate expiry is counted
    /// from it).
    pub checked_at: OffsetDateTime,
    pub servers: Vec<ServerCert>,
    pub qa: Option<QaCert>,
    pub country: String,
    pub state: String,
    pub locality: String,
    pub organization: String,
    pub address: String,
    pub default_address: Option<String>,
    pub luna_dir: Option<String>,
    pub slots: Vec<SlotInfo>,
    pub slots_error: Option<String>,
}
