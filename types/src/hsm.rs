//! What a page, the API and the console show of HSM configurations and
//! slots (never a password).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::UserType;

/// A slot with a token, as the token describes itself. Strings are trimmed
/// of PKCS#11 blank padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotInfo {
    pub slot_id: u64,
    /// Token serial number: stable when slot ids change.
    pub serial: String,
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    /// Firmware version, `major.minor`.
    pub firmware: String,
    /// The token flags that are set, e.g. `rng`, `login required`,
    /// `token initialized`, `user PIN locked`.
    pub flags: Vec<String>,
}

/// A configuration as every interface may show it: never the password.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HsmConfig {
    pub name: String,
    pub partition_name: String,
    /// Whether a password is set (the password itself is write-only).
    pub password_set: bool,
    pub slot: Option<u64>,
    /// The pinned token serial, if any.
    pub token_serial: Option<String>,
    pub user_type: UserType,
    /// The named PKCS#11 module it seeds through (settings
    /// `pkcs11_modules`); none: the default module (`pkcs11_module`).
    pub module: Option<String>,
    pub enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_at: Option<OffsetDateTime>,
    /// Set while the login is held: nothing logs in with this password
    /// until it is edited or an administrator retries.
    pub held: Option<LoginHold>,
    /// The last reseed that worked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_ok_at: Option<OffsetDateTime>,
    /// Failed reseeds since the last one that worked (held rounds are not
    /// counted: they are [`ConfigState::Held`]).
    pub failures_in_row: u32,
    /// Its token said it does not accept seed material
    /// ([`SEED_NOT_ACCEPTED`]): scheduled rounds skip it until its slot,
    /// token serial or module is edited (a manual reseed still tries).
    #[serde(default)]
    pub seed_refused: bool,
    /// Its health, as the dashboard shows it.
    pub state: ConfigState,
}

/// A configuration's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ConfigState {
    /// The last reseed worked.
    Ok,
    /// The last reseed (or more) failed.
    Failing,
    /// Its login is held after a failed login: not seeded until fixed.
    Held,
    /// Its token does not accept seed material: not seeded on a schedule
    /// until its slot, token serial or module is edited.
    Unsupported,
    /// Switched off by an administrator: not seeded.
    Disabled,
    /// No slot or no password yet: not seeded.
    Incomplete,
    /// Complete and enabled, not reseeded yet.
    Never,
}

words!(ConfigState, |s| format!("unknown configuration state `{}`", crate::shown(s)),
    Ok => "ok",
    Failing => "failing",
    Held => "held",
    Unsupported => "unsupported",
    Disabled => "disabled",
    Incomplete => "incomplete",
    Never => "never",
);

impl ConfigState {
    /// Whether it counts against the appliance (`degraded`): an enabled
    /// configuration that is not being seeded as it should.
    pub fn is_trouble(self) -> bool {
        matches!(
            self,
            ConfigState::Failing | ConfigState::Held | ConfigState::Unsupported
        )
    }
}

impl HsmConfig {
    /// Whether it has what a reseed needs: a slot and a password.
    pub fn is_complete(&self) -> bool {
        self.slot.is_some() && self.password_set
    }

    /// Its health from its fields: disabled, then held, incomplete,
    /// unsupported, failing, ok, never (in that order).
    pub fn derive_state(&self) -> ConfigState {
        if !self.enabled {
            ConfigState::Disabled
        } else if self.held.is_some() {
            ConfigState::Held
        } else if !self.is_complete() {
            ConfigState::Incomplete
        } else if self.seed_refused {
            ConfigState::Unsupported
        } else if self.failures_in_row > 0 {
            ConfigState::Failing
        } else if self.last_ok_at.is_some() {
            ConfigState::Ok
        } else {
            ConfigState::Never
        }
    }
}

/// The error code of a reseed the token refused as such: it has no RNG
/// (`CKF_RNG` unset), or `C_SeedRandom` answered
/// `CKR_RANDOM_SEED_NOT_SUPPORTED`, `CKR_RANDOM_NO_RNG` or
/// `CKR_FUNCTION_NOT_SUPPORTED` (the message names which). Trying again
/// cannot help: scheduled rounds skip the configuration
/// ([`ConfigState::Unsupported`]).
pub const SEED_NOT_ACCEPTED: &str = "SEED_NOT_ACCEPTED";

/// What the pages and the console say of [`ConfigState::Unsupported`].
pub const SEED_NOT_ACCEPTED_TEXT: &str = "this token does not accept seed material; scheduled \
    rounds skip it until its slot, token serial or module is edited";

/// Why a configuration's login is held.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginHold {
    /// The `CKR_*` that held it (e.g. `CKR_PIN_INCORRECT`).
    pub ckr: String,
    pub detail: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// What an administrator is told before asking for one more login.
pub const RETRY_WARNING: &str = "One more login is tried with the stored password. If it is \
    still wrong, the HSM counts one more failed login: a Luna HSM locks the Crypto Officer and \
    Crypto User roles after 10 failed Crypto Officer logins in a row (for good under the default \
    policy), zeroizes the partition (every key on it destroyed) after 10 failed Partition SO \
    logins, and zeroizes the whole HSM after 3 failed HSM SO logins. Retry only once the \
    password or the HSM side has been corrected; otherwise change the stored password.";

/// What an administrator confirms before a configuration logs in as
/// `CKU_SO`.
pub const SO_WARNING: &str = "CKU_SO logs in as the partition's Security Officer. On a Luna \
    HSM, 10 failed Partition SO logins in a row zeroize the partition: every key on it is \
    destroyed. hsmseed holds a configuration after one failed login, but a wrong SO password \
    still costs one failed login per edit or retry. Prefer CKU_CRYPTO_USER or CKU_USER for \
    seeding; confirm CKU_SO explicitly (--confirmSO at the console, the checkbox on the page).";
