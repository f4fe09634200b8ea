//! One reseed: checked entropy into one configured partition, recorded in
//! the history whatever the outcome.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use super::{pwd_context, repo, HsmName, Partitions};
use crate::audit::{Actor, AuditEntry};
use crate::clock::unix_ms;
use crate::error::{Error, Result};
use crate::history::{HistoryEntry, Outcome};
use crate::hsm::{Hsm, SeedOutcome, SeedTarget};
pub use types::Trigger;

/// A successful reseed, as the REST API answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeedRecord {
    pub name: String,
    pub slot: u64,
    pub token_serial: String,
    pub bits: u32,
    pub duration_ms: f64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub trigger: Trigger,
    pub outcome: &'static str,
}

impl Partitions {
    /// The PKCS#11 target of a configuration, with its decrypted password;
    /// `retry`: an administrator's one more login with a held password.
    pub(crate) async fn seed_target(
        &self,
        name: &HsmName,
        retry: bool,
    ) -> Result<(SeedTarget, Option<String>)> {
        let mut conn = self.core.store().pool().acquire().await?;
        let row = repo::get(&mut conn, name)
            .await?
            .ok_or_else(|| Error::NotFound(format!("configuration {name}")))?;
        drop(conn);
        if !retry {
            return Ok((self.target_of(&row)?, row.module));
        }
        let mut target = self.unheld_target_of(&row)?;
        if let Some(g) = target.guard.as_mut() {
            g.retry = true;
        }
        Ok((target, row.module))
    }

    /// The configuration to reseed, refused when unknown, disabled,
    /// incomplete or held.
    async fn reseed_target(&self, name: &str) -> Result<(HsmName, SeedTarget, Option<String>)> {
        let name = HsmName::parse(name)?;
        let row = self
            .cached_config(&name)
            .await?
            .ok_or_else(|| Error::NotFound(format!("configuration {name}")))?;
        if !row.enabled {
            return Err(Error::Disabled(name.to_string()));
        }
        let target = self.target_of(&row)?;
        Ok((name, target, row.module.clone()))
    }

    /// The target of `row`; refused while its login is held (the slot's
    /// login guard would refuse it too, this saves the trip).
    fn target_of(&self, row: &repo::Row) -> Result<SeedTarget> {
        if let Some(ckr) = &row.held_ckr {
            return Err(Error::LoginHeld {
                name: row.name.clone(),
                ckr: ckr.clone(),
                detail: row.held_detail.clone().unwrap_or_default(),
            });
        }
        self.unheld_target_of(row)
    }

    fn unheld_target_of(&self, row: &repo::Row) -> Result<SeedTarget> {
        let (Some(slot), Some(sealed)) = (row.slot, row.partition_pwd.as_ref()) else {
            return Err(Error::NotConfigured(format!(
                "configuration {} is not complete: set its slot and partition password (hsm-conf-edit)",
                row.name
            )));
        };
        let pwd = self
            .core
            .master_key()
            .open(sealed, &pwd_context(&row.name))?;
        let pin = String::from_utf8(pwd.to_vec())
            .map_err(|_| Error::Internal("stored password is not text".into()))?;
        Ok(SeedTarget {
            slot: slot as u64,
            pinned_serial: row.token_serial.clone(),
            user_type: row.user_type,
            pin: SecretString::from(pin),
            guard: Some(crate::hsm::Guard {
                guard: Arc::new(self.logins().clone()),
                config: row.name.clone(),
                retry: false,
            }),
        })
    }

    /// Reseeds the configuration `name` once: takes `seed_bits` of checked
    /// entropy and hands it to the partition with `C_SeedRandom`. Every
    /// attempt that gets as far as the entropy source is recorded in the
    /// history. Unknown, disabled and incomplete configurations are refused
    /// before anything happens.
    #[tracing::instrument(skip(self, actor), fields(hsm = %name, trigger = trigger.as_str()))]
    pub async fn reseed(&self, name: &str, trigger: Trigger, actor: &Actor) -> Result<SeedRecord> {
        // A manual reseed is an administrative action: refusals are audited
        // here, attempts with the history row (one transaction).
        let manual = trigger != Trigger::Schedule;
        let (name, target, module) = match self.reseed_target(name).await {
            Ok(t) => t,
            Err(e) => {
                if manual {
                    let _ = self
                        .core
                        .audit(actor, "hsm.reseed", name, Outcome::Error, &e.to_string())
                        .await;
                }
                return Err(e);
            }
        };
        let attempt = Attempt {
            name,
            slot: target.slot,
            pinned_serial: target.pinned_serial.clone(),
            trigger,
            actor: manual.then(|| actor.clone()),
            at: self.core.now(),
            started: Instant::now(),
            sources: Arc::new(std::sync::Mutex::new(String::new())),
        };
        let bytes = self.core.settings().seed_bytes();
        let ready = match self.entropy.seed(bytes).await {
            Ok(seed) => {
                *attempt.sources.lock().unwrap_or_else(|p| p.into_inner()) =
                    seed.sources.join(", ");
                self.module(module.as_deref())
                    .await
                    .map(|hsm| (seed.bytes, hsm))
            }
            Err(e) => Err(e),
        };
        let (result, elapsed) = match ready {
            Ok((seed, hsm)) => self.seed_and_record(&hsm, &target, seed, &attempt).await?,
            Err(e) => self.record_failure(&attempt, e).await?,
        };
        match result {
            Ok(o) => {
                tracing::info!(
                    slot = target.slot,
                    elapsed_us = elapsed.as_micros() as u64,
                    login = o.logged_in,
                    "reseeded"
                );
                Ok(SeedRecord {
                    name: attempt.name.to_string(),
                    slot: target.slot,
                    token_serial: o.token_serial,
                    bits: self.core.settings().seed_bits,
                    duration_ms: elapsed.as_secs_f64() * 1000.0,
                    at: attempt.at,
                    trigger,
                    outcome: "ok",
                })
            }
            Err(e) => {
                tracing::warn!(slot = target.slot, error = %e, "reseed failed");
                if matches!(e, Error::Hsm { .. } | Error::LoginHeld { .. }) {
                    // The slot's login guard may have held the login: the
                    // next request must see it without waiting for the poll.
                    self.core.committed_here().await?;
                }
                Err(e)
            }
        }
    }

    /// A scheduled round meets a held configuration: nothing reaches the
    /// HSM. The first such round writes one `held` row to the history
    /// (after which the configuration's last outcome is `held`); later
    /// rounds write nothing until the hold ends. Returns whether a row
    /// was written.
    pub(crate) async fn record_held(&self, c: &super::HsmConfig) -> Result<bool> {
        let Some(hold) = &c.held else {
            return Ok(false);
        };
        if c.last_outcome.as_deref() == Some(Outcome::Held.as_str()) {
            return Ok(false);
        }
        self.core
            .metrics()
            .count_seed(&c.name, Outcome::Held.as_str(), Trigger::Schedule.as_str());
        let entry = HistoryEntry {
            at_ms: unix_ms(self.core.now()),
            appliance: self.core.settings().appliance_id.clone(),
            config_name: c.name.clone(),
            slot: c.slot.map(|s| s as i64),
            token_serial: c.token_serial.clone(),
            trigger: Trigger::Schedule,
            source: String::new(),
            bits: self.core.settings().seed_bits,
            duration_us: 0,
            outcome: Outcome::Held,
            error_code: Some(hold.ckr.clone()),
            message: Some(format!(
                "not attempted: the login is held ({}: {}); edit the partition password or \
                 retry the login",
                hold.ckr, hold.detail
            )),
            audit: None,
        };
        tracing::warn!(hsm = %c.name, ckr = %hold.ckr, "scheduled reseed skipped: the login is held");
        self.history.writer().record(entry).await?;
        Ok(true)
    }

    /// `C_SeedRandom` on the slot's thread, which hands the history row
    /// straight to the history writer; answers once the row is committed.
    /// The attempt's row is written by whoever finishes it first: the
    /// slot's thread with the result, or this task when the PKCS#11
    /// deadline passes (a late result is then dropped, as the caller has
    /// its answer).
    async fn seed_and_record(
        &self,
        hsm: &Hsm,
        target: &SeedTarget,
        seed: Zeroizing<Vec<u8>>,
        attempt: &Attempt,
    ) -> Result<(Result<SeedOutcome>, Duration)> {
        type Answer = (
            Result<SeedOutcome>,
            Duration,
            std::result::Result<(), String>,
        );
        let (answer, mut answered) = oneshot::channel::<Answer>();
        let claimed = Arc::new(AtomicBool::new(false));
        let submitted = {
            let (this, attempt, claimed) = (self.clone(), attempt.clone(), claimed.clone());
            hsm.seed_then(target, seed, move |result| {
                if claimed.swap(true, Ordering::AcqRel) {
                    return;
                }
                let elapsed = attempt.started.elapsed();
                let entry = this.history_entry(&attempt, &result, elapsed);
                // A stopped writer drops `answer`: the caller hears of it.
                let _ = this.history.writer().submit(entry, move |committed| {
                    let _ = answer.send((result, elapsed, committed));
                });
            })
        };
        if let Err(e) = submitted {
            return self.record_failure(attempt, e).await;
        }
        let answer = match tokio::time::timeout(hsm.deadline(), &mut answered).await {
            Ok(answer) => answer,
            // The slot finished just now: its row is on the way.
            Err(_) if claimed.swap(true, Ordering::AcqRel) => answered.await,
            Err(_) => {
                return self
                    .record_failure(attempt, hsm.timed_out("C_SeedRandom", target.slot))
                    .await
            }
        };
        match answer {
            Ok((result, elapsed, committed)) => {
                crate::history::committed(committed)?;
                Ok((result, elapsed))
            }
            // The job ended without calling back (it panicked).
            Err(_) if !claimed.swap(true, Ordering::AcqRel) => {
                let e = Error::Internal("the PKCS#11 job ended without an answer".into());
                self.record_failure(attempt, e).await
            }
            Err(_) => Err(crate::history::stopped()),
        }
    }

    /// Records an attempt that failed with `e` before or instead of the
    /// slot's answer.
    async fn record_failure(
        &self,
        attempt: &Attempt,
        e: Error,
    ) -> Result<(Result<SeedOutcome>, Duration)> {
        let elapsed = attempt.started.elapsed();
        let result = Err(e);
        self.history
            .writer()
            .record(self.history_entry(attempt, &result, elapsed))
            .await?;
        Ok((result, elapsed))
    }

    /// The history row (with the audit row of a manual reseed) of
    /// `attempt` ending with `result`; counts it in the metrics.
    fn history_entry(
        &self,
        a: &Attempt,
        result: &Result<SeedOutcome>,
        elapsed: Duration,
    ) -> HistoryEntry {
        let (outcome, code, message, serial) = match result {
            Ok(o) => (Outcome::Ok, None, None, Some(o.token_serial.clone())),
            // Refused by the slot's login guard: nothing reached the HSM.
            Err(e @ Error::LoginHeld { ckr, .. }) => {
                (Outcome::Held, Some(ckr.clone()), Some(e.to_string()), None)
            }
            Err(e) => (
                Outcome::Error,
                Some(error_code(e)),
                Some(e.to_string()),
                None,
            ),
        };
        let audit = a.actor.as_ref().map(|actor| AuditEntry {
            at_ms: unix_ms(a.at),
            appliance: self.core.settings().appliance_id.clone(),
            actor: actor.clone(),
            action: "hsm.reseed".into(),
            target: a.name.to_string(),
            // An audit row is `ok` or `error`.
            outcome: if outcome == Outcome::Ok {
                Outcome::Ok
            } else {
                Outcome::Error
            },
            detail: match &code {
                None => format!(
                    "trigger {}, {} bits",
                    a.trigger.as_str(),
                    self.core.settings().seed_bits
                ),
                Some(c) => format!("trigger {}: {c}", a.trigger.as_str()),
            },
        });
        self.core.metrics().observe_seed(
            a.name.as_str(),
            outcome.as_str(),
            a.trigger.as_str(),
            elapsed,
        );
        HistoryEntry {
            at_ms: unix_ms(a.at),
            appliance: self.core.settings().appliance_id.clone(),
            config_name: a.name.to_string(),
            slot: Some(a.slot as i64),
            token_serial: serial.or_else(|| a.pinned_serial.clone()),
            trigger: a.trigger,
            source: a.sources.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            bits: self.core.settings().seed_bits,
            duration_us: elapsed.as_micros().min(i64::MAX as u128) as i64,
            outcome,
            error_code: code,
            message,
            audit,
        }
    }
}

/// One reseed under way: what its history row is made of besides the
/// result.
#[derive(Clone)]
struct Attempt {
    name: HsmName,
    slot: u64,
    pinned_serial: Option<String>,
    trigger: Trigger,
    /// Who asked, for the audit row of a manual reseed.
    actor: Option<Actor>,
    at: OffsetDateTime,
    started: Instant,
    /// The sources the seed came from (empty until it is taken, and when
    /// the entropy failed).
    sources: Arc<std::sync::Mutex<String>>,
}

/// The code a failed reseed is filed under: the `CKR_*` name for HSM errors.
pub fn error_code(e: &Error) -> String {
    match e {
        Error::Hsm { ckr, .. } => ckr.clone(),
        other => other.code().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ModuleSpec, Settings};
    use crate::history::HistoryFilter;
    use crate::hsm::testing::SoftHsmFixture;
    use crate::store::db;
    use crate::Engine;

    /// Two different PKCS#11 implementations in one process: SoftHSM2 as
    /// the default module, kryoptic by name; each configuration seeds (and
    /// pins its token) through the module it names.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_configuration_seeds_through_the_module_it_names() {
        use super::super::{ConfigEdit, ModuleChoice, SerialPin};
        use crate::hsm::testing::KryopticFixture;
        use crate::hsm::UserType;
        let f = SoftHsmFixture::shared();
        let k = KryopticFixture::shared();
        let _access = f.shared_access().await;
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_data_dir(dir.path());
        settings.pkcs11_module = Some(f.module_to_load().to_path_buf());
        settings
            .pkcs11_modules
            .insert("kry".into(), ModuleSpec::path(&k.module));
        let engine = Engine::open(settings).await.unwrap();
        let actor = Actor::cli();
        let p = engine.partitions();

        // Slots per module.
        let kry_slots = p.slots_of(Some("kry")).await.unwrap();
        assert_eq!(
            kry_slots
                .iter()
                .map(|s| (s.slot_id, s.serial.as_str()))
                .collect::<Vec<_>>(),
            [(k.token.slot, k.token.serial.as_str())]
        );
        let soft_slots = p.slots().await.unwrap();
        assert!(soft_slots.iter().any(|s| s.serial == f.token(2).serial));
        assert!(!soft_slots.iter().any(|s| s.serial == k.token.serial));
        assert_eq!(p.module_names(), ["kry"]);

        // A module the settings do not name: refused, nothing changed.
        p.create_config_with(
            "SOFT",
            ConfigEdit::for_token(f.token(2), UserType::User),
            &actor,
        )
        .await
        .unwrap();
        let err = p
            .edit_config(
                "SOFT",
                ConfigEdit {
                    module: Some(ModuleChoice::Named("nope".into())),
                    ..Default::default()
                },
                &actor,
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("no PKCS#11 module named `nope`: the settings name kry"),
            "{err}"
        );
        assert_eq!(p.get_config("SOFT").await.unwrap().module, None);

        let mut edit = ConfigEdit::for_token(&k.token, UserType::User);
        edit.module = Some(ModuleChoice::Named("kry".into()));
        let kry = p.create_config_with("KRY", edit, &actor).await.unwrap();
        assert_eq!(kry.module.as_deref(), Some("kry"));

        let soft = p.reseed("SOFT", Trigger::Api, &actor).await.unwrap();
        assert_eq!(soft.token_serial, f.token(2).serial);
        let kry = p.reseed("KRY", Trigger::Api, &actor).await.unwrap();
        assert_eq!(kry.token_serial, k.token.serial);
        assert_eq!(kry.slot, k.token.slot);

        // The token the slot holds now: asked of the configuration's module.
        let pinned = p
            .edit_config(
                "KRY",
                ConfigEdit {
                    token_serial: Some(SerialPin::FromSlot),
                    ..Default::default()
                },
                &actor,
            )
            .await
            .unwrap();
        assert_eq!(
            pinned.token_serial.as_deref(),
            Some(k.token.serial.as_str())
        );

        // Back on the default module, the same slot and serial are not
        // there: the reseed fails rather than seeding another token.
        p.edit_config(
            "KRY",
            ConfigEdit {
                module: Some(ModuleChoice::Default),
                ..Default::default()
            },
            &actor,
        )
        .await
        .unwrap();
        assert_eq!(p.get_config("KRY").await.unwrap().module, None);
        let err = p.reseed("KRY", Trigger::Api, &actor).await.unwrap_err();
        assert!(matches!(err, Error::Hsm { .. }), "{err}");

        // The audit log says which module each edit chose.
        let details: Vec<String> = db::query_scalar(
            "SELECT detail FROM audit_log WHERE target = 'KRY' AND action IN ('hsm.create', 'hsm.edit') ORDER BY id",
        )
        .fetch_all(engine.store().pool())
        .await
        .unwrap();
        assert!(details[0].contains("module=kry"), "{details:?}");
        assert!(
            details.last().unwrap().contains("module=(default)"),
            "{details:?}"
        );

        // A held login stays held when the module changes: the password
        // that failed would be tried again on a switch and back.
        let mut wrong = ConfigEdit::for_token(f.token(2), UserType::User);
        wrong.partition_pwd = Some(secrecy::SecretString::from("not-the-user-pin"));
        p.create_config_with("HELD", wrong, &actor).await.unwrap();
        let err = p.reseed("HELD", Trigger::Api, &actor).await.unwrap_err();
        assert_eq!(error_code(&err), "CKR_PIN_INCORRECT", "{err}");
        assert!(p.get_config("HELD").await.unwrap().held.is_some());
        p.edit_config(
            "HELD",
            ConfigEdit {
                module: Some(ModuleChoice::Named("kry".into())),
                ..Default::default()
            },
            &actor,
        )
        .await
        .unwrap();
        let held = p.get_config("HELD").await.unwrap();
        assert_eq!(held.module.as_deref(), Some("kry"));
        assert!(held.held.is_some(), "still held after the module changed");
    }

    /// tpm2-pkcs11 takes at most 128 bytes per `C_SeedRandom` and gives
    /// every token the same serial: with `max_seed_bytes=128` a 256-byte
    /// seed goes in two calls (the same token through an entry without the
    /// limit shows the TPM refusing it whole), and its shared serial is
    /// never pinned.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tpm_takes_long_seeds_in_parts_and_its_shared_serial_is_never_pinned() {
        use super::super::{ConfigEdit, ModuleChoice, SerialPin};
        use crate::hsm::testing::Tpm2Fixture;
        use crate::hsm::UserType;
        let f = SoftHsmFixture::shared();
        let t = Tpm2Fixture::shared();
        let _access = f.shared_access().await;
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_data_dir(dir.path());
        settings.pkcs11_module = Some(f.module_to_load().to_path_buf());
        settings.seed_bits = 2048;
        settings.pkcs11_modules.insert(
            "tpm".into(),
            ModuleSpec {
                path: t.module.clone(),
                max_seed_bytes: Some(128),
            },
        );
        settings
            .pkcs11_modules
            .insert("tpm-whole".into(), ModuleSpec::path(&t.module));
        let engine = Engine::open(settings).await.unwrap();
        let actor = Actor::cli();
        let p = engine.partitions();
        let token = &t.tokens[0];
        assert_eq!(token.serial, "0000000000000000");
        let on = |module: &str| {
            let mut edit = ConfigEdit::for_token(token, UserType::User);
            edit.module = Some(ModuleChoice::Named(module.into()));
            edit
        };

        p.create_config_with("WHOLE", on("tpm-whole"), &actor)
            .await
            .unwrap();
        let err = p.reseed("WHOLE", Trigger::Api, &actor).await.unwrap_err();
        assert_eq!(error_code(&err), "CKR_GENERAL_ERROR", "{err}");
        assert!(
            err.to_string()
                .contains("(the seed was 256 bytes: if the module takes fewer per call"),
            "{err}"
        );

        p.create_config_with("TPM", on("tpm"), &actor)
            .await
            .unwrap();
        let ok = p.reseed("TPM", Trigger::Api, &actor).await.unwrap();
        assert_eq!((ok.bits, ok.slot), (2048, token.slot));
        assert_eq!(ok.token_serial, token.serial);

        // The serial both tokens have pins neither.
        for pin in [
            SerialPin::FromSlot,
            SerialPin::Set("0000000000000000".into()),
        ] {
            let err = p
                .edit_config(
                    "TPM",
                    ConfigEdit {
                        token_serial: Some(pin),
                        ..Default::default()
                    },
                    &actor,
                )
                .await
                .unwrap_err();
            // (The module's third slot, an uninitialised token, has it too.)
            let said = err.to_string();
            assert!(
                said.contains(&format!(
                    "the tokens in slots {}, {}, ",
                    t.tokens[0].slot, t.tokens[1].slot
                )) && said.contains("all have the serial 0000000000000000"),
                "{said}"
            );
        }
        assert_eq!(p.get_config("TPM").await.unwrap().token_serial, None);
    }

    /// kryoptic takes no seed under 32 bytes: with `seed_bits = 128` the
    /// refusal says how long the seed was and what to change.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_seed_too_short_for_the_module_says_what_to_change() {
        use super::super::{ConfigEdit, ModuleChoice};
        use crate::hsm::testing::KryopticFixture;
        use crate::hsm::UserType;
        let f = SoftHsmFixture::shared();
        let k = KryopticFixture::shared();
        let _access = f.shared_access().await;
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_data_dir(dir.path());
        settings.pkcs11_module = Some(f.module_to_load().to_path_buf());
        settings.seed_bits = 128;
        settings
            .pkcs11_modules
            .insert("kry".into(), ModuleSpec::path(&k.module));
        let engine = Engine::open(settings).await.unwrap();
        let actor = Actor::cli();
        let mut edit = ConfigEdit::for_token(&k.token, UserType::User);
        edit.module = Some(ModuleChoice::Named("kry".into()));
        let p = engine.partitions();
        p.create_config_with("SHORT", edit, &actor).await.unwrap();
        let err = p.reseed("SHORT", Trigger::Api, &actor).await.unwrap_err();
        assert_eq!(error_code(&err), "CKR_ARGUMENTS_BAD", "{err}");
        assert!(
            err.to_string()
                .contains("the seed was 16 bytes: if the module takes fewer per call")
                && err.to_string().contains("raise seed_bits"),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reseed_past_the_deadline_is_recorded_once_as_a_timeout() {
        let f = SoftHsmFixture::shared();
        let _access = f.shared_access().await;
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_data_dir(dir.path());
        settings.pkcs11_module = Some(f.module_to_load().to_path_buf());
        settings.pkcs11_timeout_secs = 1;
        let engine = Engine::open(settings).await.unwrap();
        let actor = Actor::cli();
        let t = f.token(3);
        engine
            .partitions()
            .create_config("HUNG", &actor)
            .await
            .unwrap();
        let edit = crate::partitions::ConfigEdit::for_token(t, crate::hsm::UserType::User);
        engine
            .partitions()
            .edit_config("HUNG", edit, &actor)
            .await
            .unwrap();

        // As if the HSM stopped answering: the reseed waits its deadline.
        let held = engine
            .partitions()
            .hsm()
            .await
            .unwrap()
            .hold_slot_lock(t.slot)
            .await;
        let started = Instant::now();
        let err = engine
            .partitions()
            .reseed("HUNG", Trigger::Api, &actor)
            .await
            .unwrap_err();
        assert_eq!(error_code(&err), "TIMEOUT", "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));

        // The HSM answers again: the timed-out seed (queued behind the
        // hung call) runs first and must not add a row of its own.
        drop(held);
        engine
            .partitions()
            .reseed("HUNG", Trigger::Api, &actor)
            .await
            .unwrap();
        let filter = HistoryFilter {
            config: Some("HUNG".into()),
            ..HistoryFilter::default()
        };
        let page = engine.history().page(&filter, 1, 10).await.unwrap();
        let rows: Vec<(&str, Option<&str>)> = page
            .rows
            .iter()
            .map(|r| (r.outcome.as_str(), r.error_code.as_deref()))
            .collect();
        assert_eq!(rows, [("ok", None), ("error", Some("TIMEOUT"))]);
    }
}
