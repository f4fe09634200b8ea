//! HSM configurations ("HSM1"): which partition to seed, on which slot, with
//! which user type and password. The password is encrypted at rest with the
//! master key and never leaves the this.

mod cache;
mod find;
mod hold;
mod import;
pub(crate) mod repo;
mod seed;

use crate::kept::Kept;
pub(crate) use cache::ConfigCache;
pub use find::{ConfigPage, ConfigQuery};
pub(crate) use hold::LoginLedger;
pub use hold::{RETRY_WARNING, SO_WARNING};
pub use seed::{SeedRecord, Trigger};

use crate::store::db::Conn;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::audit::Actor;
use crate::clock::unix_ms;
use crate::config::ModuleSpec;
use crate::core::Core;
use crate::entropy::Entropy;
use crate::error::{Error, Result};
use crate::history::History;
use crate::hsm::{Hsm, Modules, SlotInfo, UserType};
use crate::store::shared::record_change;
pub use types::hsm::{ConfigState, HsmConfig, LoginHold};
use types::limits;

/// A configuration name: 1 to 64 of `A-Z a-z 0-9 _ . -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HsmName(String);

impl HsmName {
    pub fn parse(s: &str) -> Result<HsmName> {
        Ok(HsmName(
            types::check_name("configuration name", s)?.to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HsmName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A PKCS#11 slot id, as `ntl-verify` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotId(pub u64);

impl SlotId {
    pub fn parse(s: &str) -> Result<SlotId> {
        let t = s.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Invalid(format!("slot `{t}` is not a number")));
        }
        t.parse::<u64>()
            .map(SlotId)
            .map_err(|_| Error::Invalid(format!("slot `{t}` is too large")))
    }
}

/// A partition name as defined in the HSM: free text, at most 128
/// characters, no control characters.
fn check_partition_name(s: &str) -> Result<String> {
    if s.chars().count() > limits::PARTITION_NAME || s.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "partition name has at most {} characters and no control characters",
            limits::PARTITION_NAME
        )));
    }
    Ok(s.trim().to_string())
}

fn check_password(p: &SecretString) -> Result<()> {
    let s = p.expose_secret();
    if s.is_empty() || s.len() > limits::PARTITION_PASSWORD || s.chars().any(|c| c == '\0') {
        return Err(Error::Invalid(format!(
            "partition password has 1 to {} characters",
            limits::PARTITION_PASSWORD
        )));
    }
    Ok(())
}

/// A token serial to pin: printable, at most 64 characters.
fn check_serial(s: &str) -> Result<String> {
    let t = s.trim();
    if t.is_empty() || t.len() > limits::TOKEN_SERIAL || !t.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::Invalid(format!(
            "token serial `{t}` is not 1 to {} printable characters",
            limits::TOKEN_SERIAL
        )));
    }
    Ok(t.to_string())
}

/// A serial that several tokens of one module share cannot pin any of them
/// (tpm2-pkcs11 gives every token `0000000000000000`).
fn check_unique_serial(serial: &str, slots: &[SlotInfo]) -> Result<()> {
    let holders: Vec<String> = slots
        .iter()
        .filter(|s| s.serial == serial)
        .map(|s| s.slot_id.to_string())
        .collect();
    if holders.len() > 1 {
        return Err(Error::Invalid(format!(
            "the tokens in slots {} all have the serial {serial}: pinning to it could not tell \
             them apart; leave the serial unpinned (--tokenSerial=none)",
            holders.join(", ")
        )));
    }
    Ok(())
}

/// How to change the pinned token serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialPin {
    /// Do not check the serial.
    Clear,
    /// Require this serial.
    Set(String),
    /// Require the serial of the token the slot holds now.
    FromSlot,
}

/// Which PKCS#11 module a configuration seeds through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleChoice {
    /// The default module (`pkcs11_module`).
    Default,
    /// One of the settings' `pkcs11_modules`, by name.
    Named(String),
}

impl ModuleChoice {
    /// `--module=NAME`; `default` (or nothing) is the default module.
    pub fn parse(s: &str) -> Result<ModuleChoice> {
        match s.trim() {
            "" | "default" => Ok(ModuleChoice::Default),
            n => Ok(ModuleChoice::Named(
                types::check_name("module name", n)?.to_string(),
            )),
        }
    }
}

/// A change to a configuration: each `None` leaves that field as it is.
#[derive(Debug, Default)]
pub struct ConfigEdit {
    pub partition_name: Option<String>,
    pub partition_pwd: Option<SecretString>,
    pub slot: Option<SlotId>,
    pub user_type: Option<UserType>,
    pub enabled: Option<bool>,
    pub token_serial: Option<SerialPin>,
    pub module: Option<ModuleChoice>,
    /// The administrator confirmed a change to `CKU_SO` (see
    /// [`SO_WARNING`]); without it such a change is refused.
    pub confirm_so: bool,
}

impl ConfigEdit {
    /// What the edit changes, for the audit log: never the password.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.partition_name {
            parts.push(format!("partitionName={p}"));
        }
        if self.partition_pwd.is_some() {
            parts.push("partitionPwd=(changed)".to_string());
        }
        if let Some(s) = self.slot {
            parts.push(format!("slot={}", s.0));
        }
        if let Some(u) = self.user_type {
            parts.push(format!("userType={u}"));
            if u == UserType::So && self.confirm_so {
                parts.push("zeroization risk confirmed".into());
            }
        }
        if let Some(e) = self.enabled {
            parts.push(format!("enabled={e}"));
        }
        match &self.token_serial {
            Some(SerialPin::Clear) => parts.push("tokenSerial=none".into()),
            Some(SerialPin::Set(s)) => parts.push(format!("tokenSerial={s}")),
            Some(SerialPin::FromSlot) => parts.push("tokenSerial=(from slot)".into()),
            None => {}
        }
        match &self.module {
            Some(ModuleChoice::Default) => parts.push("module=(default)".into()),
            Some(ModuleChoice::Named(n)) => parts.push(format!("module={n}")),
            None => {}
        }
        parts.join(", ")
    }

    /// A change to `CKU_SO` (from `current`, `None` for a new
    /// configuration) needs the administrator's confirmation.
    fn check_so(&self, current: Option<UserType>) -> Result<()> {
        let to_so = self.user_type == Some(UserType::So) && current != Some(UserType::So);
        if to_so && !self.confirm_so {
            return Err(Error::NeedsConfirmation(SO_WARNING.into()));
        }
        Ok(())
    }

    /// The rules each field must follow (the same `edit_config` applies).
    pub fn check(&self) -> Result<()> {
        if let Some(p) = &self.partition_name {
            check_partition_name(p)?;
        }
        if let Some(p) = &self.partition_pwd {
            check_password(p)?;
        }
        if let Some(SerialPin::Set(s)) = &self.token_serial {
            check_serial(s)?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.partition_name.is_none()
            && self.partition_pwd.is_none()
            && self.slot.is_none()
            && self.user_type.is_none()
            && self.enabled.is_none()
            && self.token_serial.is_none()
            && self.module.is_none()
    }
}

/// How long the pages show a module's slot listing before asking again.
pub const SLOTS_SEEN_FOR: Duration = Duration::from_secs(1);

/// A module's slot listing, or why it failed.
type SeenListing = std::result::Result<Vec<SlotInfo>, String>;

/// Slot listings by module.
type SeenSlots = std::collections::HashMap<Option<String>, Arc<Kept<SeenListing>>>;

/// The partitions capability: the configurations (their table, their
/// cache, their login holds), and the reseed that reads the entropy source,
/// calls the PKCS#11 module and records the history.
#[derive(Clone)]
pub struct Partitions {
    core: Core,
    /// The PKCS#11 modules, each loaded at first use (see `hsm/loader.rs`).
    hsm: Arc<Modules>,
    entropy: Entropy,
    history: History,
    /// Holds credentials that failed to log in (see `hold.rs`).
    logins: LoginLedger,
    cache: Arc<ConfigCache>,
    /// Each module's slot listing for the pages (see [`Self::slots_seen`]).
    seen: Arc<Mutex<SeenSlots>>,
}

#[cfg(any(test, feature = "test-support"))]
impl ConfigEdit {
    /// The edit that points a configuration at a test token, logged in as
    /// `user_type` with the right PIN.
    pub fn for_token(t: &crate::hsm::testing::TestToken, user_type: UserType) -> ConfigEdit {
        ConfigEdit {
            partition_name: Some(t.label.clone()),
            partition_pwd: Some(t.target(user_type).pin),
            slot: Some(SlotId(t.slot)),
            user_type: Some(user_type),
            // Tests that log in as CKU_SO confirm it, as an administrator must.
            confirm_so: user_type == UserType::So,
            ..Default::default()
        }
    }
}

fn pwd_context(name: &str) -> String {
    crate::secrets::partition_password_context(name)
}

impl Partitions {
    pub(crate) fn new(core: Core, entropy: Entropy, history: History) -> Partitions {
        let s = core.settings();
        let logins = LoginLedger::new(
            s.data_dir.clone(),
            hold::LedgerDb::of(core.store()),
            core.master_key().clone(),
            core.clock().clone(),
            s.login_failures_per_token,
        );
        let hsm = Arc::new(Modules::new(
            s.pkcs11_module.clone().map(|path| ModuleSpec {
                path,
                max_seed_bytes: s.pkcs11_max_seed_bytes,
            }),
            &s.pkcs11_modules,
            Duration::from_secs(u64::from(s.pkcs11_timeout_secs)),
            core.clock().clone(),
        ));
        Partitions {
            core,
            hsm,
            entropy,
            history,
            logins,
            cache: Arc::default(),
            seen: Arc::default(),
        }
    }

    /// The PKCS#11 module, loaded (and initialised) at first use, off the
    /// runtime and under the PKCS#11 deadline; after a failure not tried
    /// again before a backoff.
    pub async fn hsm(&self) -> Result<Hsm> {
        self.hsm.get(None).await
    }

    /// The module named `name` (`None`: the default one), as [`Self::hsm`].
    pub async fn module(&self, name: Option<&str>) -> Result<Hsm> {
        self.hsm.get(name).await
    }

    /// The module a configuration's edit leaves it on (`current`: the one
    /// it has), refused when the settings do not name it.
    fn module_after(&self, edit: &ConfigEdit, current: Option<&str>) -> Result<Option<String>> {
        match &edit.module {
            None => Ok(current.map(str::to_string)),
            Some(ModuleChoice::Default) => Ok(None),
            Some(ModuleChoice::Named(n)) if self.hsm.has(n) => Ok(Some(n.clone())),
            Some(ModuleChoice::Named(n)) => {
                let names = self.hsm.names();
                Err(Error::Invalid(format!(
                    "no PKCS#11 module named `{n}`: the settings name {} (pkcs11_modules)",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )))
            }
        }
    }

    fn logins(&self) -> &LoginLedger {
        &self.logins
    }

    /// `hsm-conf-new`: a new, empty configuration (user type CKU_USER,
    /// enabled, no slot or password yet).
    #[tracing::instrument(skip(self, actor))]
    pub async fn create_config(&self, name: &str, actor: &Actor) -> Result<HsmConfig> {
        self.create_config_with(name, ConfigEdit::default(), actor)
            .await
    }

    /// A new configuration with the given settings at once (the web form):
    /// every rule is checked before anything is written, and the row, its
    /// settings and its audit row are one transaction: a refused field
    /// leaves no configuration behind.
    #[tracing::instrument(skip(self, edit, actor))]
    pub async fn create_config_with(
        &self,
        name: &str,
        edit: ConfigEdit,
        actor: &Actor,
    ) -> Result<HsmConfig> {
        let detail = edit.describe();
        let prepared = async {
            let hsm_name = HsmName::parse(name)?;
            edit.check()?;
            edit.check_so(None)?;
            Ok::<_, Error>((hsm_name, self.resolve_pin(edit, None).await?))
        }
        .await;
        let this = self.clone();
        self.core
            .audited_tx(actor, "hsm.create", name, move |tx| {
                Box::pin(async move {
                    let (name, edit) = prepared?;
                    let now = unix_ms(this.core.now());
                    repo::insert(tx, &name, now).await?;
                    if !edit.is_empty() {
                        this.write_edit(tx, &name, &edit).await?;
                    }
                    record_change(&mut *tx, now, &format!("hsm {name} created")).await?;
                    tracing::info!(hsm = %name, "configuration created");
                    Ok(((), detail))
                })
            })
            .await?;
        self.get_config(name).await
    }

    pub async fn get_config(&self, name: &str) -> Result<HsmConfig> {
        let name = HsmName::parse(name)?;
        let mut conn = self.core.store().pool().acquire().await?;
        repo::get(&mut conn, &name)
            .await?
            .map(repo::Row::into_config)
            .ok_or_else(|| Error::NotFound(format!("configuration {name}")))
    }

    pub async fn list_configs(&self) -> Result<Vec<HsmConfig>> {
        let mut conn = self.core.store().pool().acquire().await?;
        Ok(repo::list(&mut conn)
            .await?
            .into_iter()
            .map(repo::Row::into_config)
            .collect())
    }

    /// `hsm-conf-edit`: changes the given fields; every rule is checked
    /// before anything is written, and the change and its audit row are one
    /// transaction.
    #[tracing::instrument(skip(self, edit, actor))]
    pub async fn edit_config(
        &self,
        name: &str,
        edit: ConfigEdit,
        actor: &Actor,
    ) -> Result<HsmConfig> {
        let detail = edit.describe();
        let prepared = async {
            let hsm_name = HsmName::parse(name)?;
            if edit.is_empty() {
                return Err(Error::Invalid(
                    "nothing to change: give at least one setting".into(),
                ));
            }
            edit.check()?;
            let current = self.get_config(name).await?;
            Ok((hsm_name, self.resolve_pin(edit, Some(&current)).await?))
        }
        .await;
        let this = self.clone();
        let new_credential = self
            .core
            .audited_tx(actor, "hsm.edit", name, move |tx| {
                Box::pin(async move {
                    let (name, edit) = prepared?;
                    let new_credential = this.write_edit(tx, &name, &edit).await?;
                    let now = unix_ms(this.core.now());
                    record_change(&mut *tx, now, &format!("hsm {name} edited")).await?;
                    Ok((new_credential, detail))
                })
            })
            .await?;
        if new_credential {
            self.logins().forget(name);
        }
        tracing::info!(hsm = %name, "configuration edited");
        self.get_config(name).await
    }

    /// A pin to "the token the slot holds now" becomes the serial it holds
    /// (asked of the HSM before any transaction: it may take a while).
    /// `current`: the configuration as it is (its slot when the edit sets
    /// none, its module); a serial several tokens of the module share is
    /// refused.
    async fn resolve_pin(
        &self,
        mut edit: ConfigEdit,
        current: Option<&HsmConfig>,
    ) -> Result<ConfigEdit> {
        let slot = current.and_then(|c| c.slot);
        let module = self.module_after(&edit, current.and_then(|c| c.module.as_deref()))?;
        if edit.token_serial == Some(SerialPin::FromSlot) {
            let slot = edit
                .slot
                .map(|s| s.0)
                .or(slot)
                .ok_or_else(|| Error::Invalid("set a slot before pinning its token".into()))?;
            let hsm = self.module(module.as_deref()).await?;
            let info = hsm.token_info(slot).await?;
            check_unique_serial(&info.serial, &hsm.slots().await?)?;
            edit.token_serial = Some(SerialPin::Set(info.serial));
        } else if let Some(SerialPin::Set(serial)) = &edit.token_serial {
            // Checked against the module when it is loaded already: a
            // serial may be pinned before the HSM is reachable, and an edit
            // never loads a module for it.
            if let Some(hsm) = self.hsm.loaded(module.as_deref()) {
                if let Ok(slots) = hsm.slots().await {
                    check_unique_serial(serial.trim(), &slots)?;
                }
            }
        }
        Ok(edit)
    }

    /// Writes `edit` (checked, its pin resolved) to configuration `name`
    /// in `conn`; answers whether the credential changed (then a held login
    /// is released).
    async fn write_edit(&self, conn: &mut Conn, name: &HsmName, edit: &ConfigEdit) -> Result<bool> {
        let mut row = repo::get(conn, name)
            .await?
            .ok_or_else(|| Error::NotFound(format!("configuration {name}")))?;
        edit.check_so(Some(row.user_type))?;
        // A new password or user type is a new credential: its first login
        // is tried (a held one is released). Another module is not: the
        // password that failed would be tried again on a switch and back.
        let new_credential =
            edit.partition_pwd.is_some() || edit.user_type.is_some_and(|u| u != row.user_type);
        row.module = self.module_after(edit, row.module.as_deref())?;
        if let Some(p) = &edit.partition_name {
            row.partition_name = check_partition_name(p)?;
        }
        if let Some(pwd) = &edit.partition_pwd {
            check_password(pwd)?;
            row.partition_pwd = Some(
                self.core
                    .master_key()
                    .seal(pwd.expose_secret().as_bytes(), &pwd_context(name.as_str()))?,
            );
        }
        if let Some(slot) = edit.slot {
            row.slot = Some(
                i64::try_from(slot.0).map_err(|_| Error::Invalid("slot is too large".into()))?,
            );
        }
        if let Some(u) = edit.user_type {
            row.user_type = u;
        }
        if let Some(e) = edit.enabled {
            row.enabled = e;
        }
        match &edit.token_serial {
            None => {}
            Some(SerialPin::Clear) => row.token_serial = None,
            Some(SerialPin::Set(s)) => row.token_serial = Some(check_serial(s)?),
            Some(SerialPin::FromSlot) => {
                return Err(Error::Internal(
                    "a token pin from the slot must be resolved first".into(),
                ))
            }
        }
        row.updated_at = unix_ms(self.core.now());
        repo::update(conn, &row).await?;
        if new_credential && repo::release_login(conn, name).await? {
            tracing::info!(hsm = %name, "login hold released: the credential was edited");
        }
        Ok(new_credential)
    }

    #[tracing::instrument(skip(self, actor))]
    pub async fn delete_config(&self, name: &str, actor: &Actor) -> Result<()> {
        let parsed = HsmName::parse(name);
        let this = self.clone();
        self.core
            .audited_tx(actor, "hsm.delete", name, move |tx| {
                Box::pin(async move {
                    let name = parsed?;
                    if !repo::delete(tx, &name).await? {
                        return Err(Error::NotFound(format!("configuration {name}")));
                    }
                    let now = unix_ms(this.core.now());
                    record_change(&mut *tx, now, &format!("hsm {name} deleted")).await?;
                    tracing::info!(hsm = %name, "configuration deleted");
                    Ok(((), String::new()))
                })
            })
            .await
    }

    /// The slots (with a token) the default PKCS#11 module sees.
    pub async fn slots(&self) -> Result<Vec<SlotInfo>> {
        self.hsm().await?.slots().await
    }

    /// The slots (with a token) module `name` sees (`None`: the default).
    pub async fn slots_of(&self, name: Option<&str>) -> Result<Vec<SlotInfo>> {
        self.module(name).await?.slots().await
    }

    /// The slots module `name` lists (`None`: the default), as listed at
    /// most [`SLOTS_SEEN_FOR`] ago: for the pages, which every open tab
    /// asks for every few seconds, and a listing costs a `C_GetTokenInfo`
    /// per token (50 tokens: most of an HSMs page view). One listing at a
    /// time (see `kept.rs`); a failure is kept like a listing, so the views
    /// waiting for a module that hangs do not each wait out its deadline.
    /// Reseeds, pins and `ntl-verify` ask the module itself.
    pub async fn slots_seen(
        &self,
        name: Option<&str>,
    ) -> std::result::Result<Vec<SlotInfo>, String> {
        // One per module: a module that hangs holds up its own list only.
        let kept = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.entry(name.map(str::to_string))
                .or_insert_with(|| Arc::new(Kept::new(SLOTS_SEEN_FOR)))
                .clone()
        };
        kept.get(|| async { self.slots_of(name).await.map_err(|e| e.to_string()) })
            .await
    }

    /// The names of the settings' further modules (`pkcs11_modules`).
    pub fn module_names(&self) -> Vec<String> {
        self.hsm.names()
    }

    /// Logs in to the configured partition with its credentials, without
    /// seeding; answers what token the slot holds. A held login is not
    /// tried (`LoginHeld`): see [`Partitions::retry_login`].
    #[tracing::instrument(skip(self, actor))]
    pub async fn test_login(&self, name: &str, actor: &Actor) -> Result<SlotInfo> {
        self.core
            .audited(actor, "hsm.test_login", name, async {
                let info = self.login_once(name, false).await?;
                let detail = format!("slot {}, token {}", info.slot_id, info.serial);
                Ok((info, detail))
            })
            .await
    }

    /// One more login with a held configuration's password, asked for by
    /// an administrator who was shown [`RETRY_WARNING`]: success releases
    /// the hold, another refusal keeps it (and counts on the token).
    #[tracing::instrument(skip(self, actor))]
    pub async fn retry_login(&self, name: &str, actor: &Actor) -> Result<SlotInfo> {
        self.core
            .audited(actor, "hsm.login_retry", name, async {
                let info = self.login_once(name, true).await?;
                let detail = format!(
                    "slot {}, token {}: hold released",
                    info.slot_id, info.serial
                );
                Ok((info, detail))
            })
            .await
    }

    async fn login_once(&self, name: &str, retry: bool) -> Result<SlotInfo> {
        let name = HsmName::parse(name)?;
        let (target, module) = self.seed_target(&name, retry).await?;
        let result = self
            .module(module.as_deref())
            .await?
            .test_login(&target)
            .await;
        // A hold written or released on the slot's thread: every cache
        // of this process sees it before the answer.
        self.core.committed_here().await?;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db;
    use crate::Engine;

    /// An action and its audit row commit together: when the row cannot be
    /// written, the action does not happen either.
    #[tokio::test]
    async fn a_configuration_change_without_its_audit_row_does_not_happen() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(crate::config::Settings::for_data_dir(dir.path()))
            .await
            .unwrap();
        let cli = Actor::cli();
        engine
            .partitions()
            .create_config("HSM1", &cli)
            .await
            .unwrap();
        db::query(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             WHEN NEW.action = 'hsm.delete' OR NEW.action = 'hsm.edit' \
             BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
        )
        .execute(engine.store().pool())
        .await
        .unwrap();
        let e = engine
            .partitions()
            .delete_config("HSM1", &cli)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("audit refused"), "{e}");
        assert!(
            engine.partitions().get_config("HSM1").await.is_ok(),
            "not deleted"
        );
        let edit = ConfigEdit {
            partition_name: Some("P9".into()),
            ..Default::default()
        };
        engine
            .partitions()
            .edit_config("HSM1", edit, &cli)
            .await
            .unwrap_err();
        assert_eq!(
            engine
                .partitions()
                .get_config("HSM1")
                .await
                .unwrap()
                .partition_name,
            ""
        );
        // A refused field rolls the new configuration back with its row.
        let bad = ConfigEdit {
            slot: Some(SlotId(1)),
            partition_name: Some("a\nb".into()),
            ..Default::default()
        };
        engine
            .partitions()
            .create_config_with("HSM2", bad, &cli)
            .await
            .unwrap_err();
        assert_eq!(
            engine
                .partitions()
                .get_config("HSM2")
                .await
                .unwrap_err()
                .code(),
            "not_found"
        );
    }

    #[test]
    fn names_follow_the_rule() {
        for ok in ["HSM1", "a", "ha.virtual-slot_2", &"x".repeat(64)] {
            assert!(HsmName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "HSM 1", "HSM/1", "hsm;drop", "é", &"x".repeat(65)] {
            assert!(HsmName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slots_are_numbers() {
        assert_eq!(SlotId::parse("1").unwrap(), SlotId(1));
        assert_eq!(SlotId::parse(" 1792 ").unwrap(), SlotId(1792));
        for bad in ["", "one", "-1", "1.5", "0x1", "99999999999999999999999"] {
            assert!(SlotId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn partition_names_and_passwords_are_bounded() {
        assert_eq!(check_partition_name(" Partition1 ").unwrap(), "Partition1");
        assert!(check_partition_name("a\nb").is_err());
        assert!(check_partition_name(&"p".repeat(129)).is_err());
        assert!(check_password(&SecretString::from(String::new())).is_err());
        assert!(check_password(&SecretString::from("x".repeat(257))).is_err());
        assert!(check_password(&SecretString::from("myPassword".to_string())).is_ok());
        assert!(check_serial("65091001").is_ok());
        assert!(check_serial("with space").is_err());
    }
}
