//! One reseed: checked entropy into one configured partition, recorded in
//! the history whatever the outcome.

use std::time::Instant;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{pwd_context, repo, HsmName};
use crate::audit::{Actor, AuditEntry};
use crate::clock::unix_ms;
use crate::error::{Error, Result};
use crate::history::{HistoryEntry, Outcome};
use crate::hsm::SeedTarget;
use crate::Engine;

/// What asked for a reseed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Schedule,
    Api,
    Ui,
    Cli,
}

impl Trigger {
    pub const ALL: [Trigger; 4] = [Trigger::Schedule, Trigger::Api, Trigger::Ui, Trigger::Cli];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Api => "api",
            Trigger::Ui => "ui",
            Trigger::Cli => "cli",
        }
    }
}

impl std::str::FromStr for Trigger {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Trigger::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::Invalid(format!("trigger `{s}` is not schedule, api, ui or cli")))
    }
}

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

impl Engine {
    /// The PKCS#11 target of a configuration, with its decrypted password.
    pub(crate) async fn seed_target(&self, name: &HsmName) -> Result<SeedTarget> {
        let mut conn = self.store().pool().acquire().await?;
        let row = repo::get(&mut conn, name)
            .await?
            .ok_or_else(|| Error::NotFound(format!("configuration {name}")))?;
        drop(conn);
        self.target_of(&row)
    }

    /// The configuration to reseed, refused when unknown, disabled or
    /// incomplete.
    async fn reseed_target(&self, name: &str) -> Result<(HsmName, SeedTarget)> {
        let name = HsmName::parse(name)?;
        let row = self
            .cached_config(&name)
            .await?
            .ok_or_else(|| Error::NotFound(format!("configuration {name}")))?;
        if !row.enabled {
            return Err(Error::Disabled(name.to_string()));
        }
        let target = self.target_of(&row)?;
        Ok((name, target))
    }

    fn target_of(&self, row: &repo::Row) -> Result<SeedTarget> {
        let (Some(slot), Some(sealed)) = (row.slot, row.partition_pwd.as_ref()) else {
            return Err(Error::NotConfigured(format!(
                "configuration {} is not complete: set its slot and partition password (hsm-conf-edit)",
                row.name
            )));
        };
        let pwd = self.master_key().open(sealed, &pwd_context(&row.name))?;
        let pin = String::from_utf8(pwd.to_vec())
            .map_err(|_| Error::Internal("stored password is not text".into()))?;
        Ok(SeedTarget {
            slot: slot as u64,
            pinned_serial: row.token_serial.clone(),
            user_type: row.user_type.parse()?,
            pin: SecretString::from(pin),
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
        let (name, target) = match self.reseed_target(name).await {
            Ok(t) => t,
            Err(e) => {
                if manual {
                    let _ = self
                        .audit(actor, "hsm.reseed", name, Outcome::Error, &e.to_string())
                        .await;
                }
                return Err(e);
            }
        };
        let at = self.now();
        let started = Instant::now();
        let bytes = self.settings().seed_bytes();
        let result = match self.entropy_seed(bytes).await {
            Ok(seed) => match self.hsm() {
                Ok(hsm) => hsm.seed(&target, seed).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let elapsed = started.elapsed();
        let (outcome, code, message, serial) = match &result {
            Ok(o) => (Outcome::Ok, None, None, Some(o.token_serial.clone())),
            Err(e) => (
                Outcome::Error,
                Some(error_code(e)),
                Some(e.to_string()),
                None,
            ),
        };
        let audit = manual.then(|| AuditEntry {
            at_ms: unix_ms(at),
            actor: actor.clone(),
            action: "hsm.reseed".into(),
            target: name.to_string(),
            outcome,
            detail: match &code {
                None => format!(
                    "trigger {}, {} bits",
                    trigger.as_str(),
                    self.settings().seed_bits
                ),
                Some(c) => format!("trigger {}: {c}", trigger.as_str()),
            },
        });
        let entry = HistoryEntry {
            at_ms: unix_ms(at),
            config_name: name.to_string(),
            slot: Some(target.slot as i64),
            token_serial: serial.or_else(|| target.pinned_serial.clone()),
            trigger,
            source: self.settings().entropy_source.to_string(),
            bits: self.settings().seed_bits,
            duration_us: elapsed.as_micros().min(i64::MAX as u128) as i64,
            outcome,
            error_code: code,
            message,
            audit,
        };
        self.metrics().observe_seed(
            name.as_str(),
            if result.is_ok() { "ok" } else { "error" },
            trigger.as_str(),
            elapsed,
        );
        self.history_writer().record(entry).await?;
        match result {
            Ok(o) => {
                tracing::info!(
                    slot = target.slot,
                    elapsed_us = elapsed.as_micros() as u64,
                    login = o.logged_in,
                    "reseeded"
                );
                Ok(SeedRecord {
                    name: name.to_string(),
                    slot: target.slot,
                    token_serial: o.token_serial,
                    bits: self.settings().seed_bits,
                    duration_ms: elapsed.as_secs_f64() * 1000.0,
                    at,
                    trigger,
                    outcome: "ok",
                })
            }
            Err(e) => {
                tracing::warn!(slot = target.slot, error = %e, "reseed failed");
                Err(e)
            }
        }
    }
}

/// The code a failed reseed is filed under: the `CKR_*` name for HSM errors.
pub fn error_code(e: &Error) -> String {
    match e {
        Error::Hsm { ckr, .. } => ckr.clone(),
        other => other.code().to_string(),
    }
}
