//! Login holds: never lock out or zeroize a partition.
//!
//! On a Luna Network HSM 7, ten failed Partition SO logins in a row zeroize
//! the partition and ten failed Crypto Officer logins lock the CO and CU
//! roles. A configuration with a wrong stored password, reseeded every
//! minute, would get there in ten minutes. So one failed login
//! (`CKR_PIN_INCORRECT`, `CKR_PIN_INVALID`, `CKR_PIN_LEN_RANGE`,
//! `CKR_PIN_EXPIRED`, `CKR_PIN_LOCKED`) **holds** the credential: nothing
//! logs in with it again until its password or user type is edited, or an
//! administrator asks for one more attempt.
//!
//! The ledger answers the PKCS#11 slot's thread right before each
//! `C_Login` (see [`crate::hsm::LoginGuard`]) and records the outcome after
//! it. It refuses a login when:
//! - the configuration is held;
//! - another configuration with the same credential (user type and
//!   password, compared by a keyed fingerprint) is held on the same token;
//! - the token has had [`Settings::login_failures_per_token`] failed logins
//!   in a row from this appliance and this credential never worked on it.
//!
//! A refused configuration is held too, so the scheduler, the pages and the
//! API see it without asking the HSM. An explicit retry passes every rule.
//!
//! Tokens are told apart by serial (slot ids change). Tokens that share a
//! serial share the ledger's count: every tpm2-pkcs11 token of a TPM has
//! `0000000000000000`, and the TPM counts their wrong PINs in one
//! dictionary-attack counter too (3 lock every token of it), so one count
//! per serial is what such a device does. The same-credential rule then
//! also holds a configuration whose password is good on its own token of
//! that TPM: the careful side, undone by a retry.
//!
//! Every process on the data directory shares the ledger through the
//! database (`config_logins`, `token_logins`), and the question, the login
//! and the record form one step across processes: they run under a lock
//! file per token serial. A hold the database refuses to record is kept
//! in the process's memory instead, so that a database that cannot be
//! written never lets a wrong password be tried again.
//!
//! [`Settings::login_failures_per_token`]: crate::config::Settings

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{params, Connection, OptionalExtension};
use secrecy::ExposeSecret;

use crate::clock::{unix_ms, Clock};
use crate::error::{Error, Result};
use crate::hsm::{GuardedLogin, LoginGuard, LoginOutcome, LoginTicket};
use crate::secrets::MasterKey;
use crate::store::db;
use crate::store::lock::FileLock;

pub use types::hsm::{RETRY_WARNING, SO_WARNING};

/// The login ledger of one data directory (cheap to clone).
#[derive(Clone)]
pub(crate) struct LoginLedger(Arc<Inner>);

/// Where the ledger is kept: the SQLite file, on a rusqlite connection of
/// its own (the guard runs on the PKCS#11 slot threads), or PostgreSQL,
/// through the store's pool on the runtime that opened it.
pub(crate) enum LedgerDb {
    Sqlite(PathBuf),
    Postgres {
        store: crate::store::Store,
        runtime: tokio::runtime::Handle,
    },
}

impl LedgerDb {
    /// The ledger of `store` (called on the runtime).
    pub(crate) fn of(store: &crate::store::Store) -> LedgerDb {
        match store.sqlite_path() {
            Some(path) => LedgerDb::Sqlite(path.to_path_buf()),
            None => LedgerDb::Postgres {
                store: store.clone(),
                runtime: tokio::runtime::Handle::current(),
            },
        }
    }
}

/// Runs the ledger's statements `f` to their end on `runtime` from a
/// slot's thread (or, should a caller be on the runtime itself, without
/// blocking its other tasks).
fn on_postgres<T>(
    runtime: &tokio::runtime::Handle,
    f: impl std::future::Future<Output = std::result::Result<T, sqlx::Error>>,
) -> Result<T> {
    let done = match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::block_in_place(|| runtime.block_on(f)),
        Err(_) => runtime.block_on(f),
    };
    done.map_err(|e| Error::Internal(format!("login ledger: {e}")))
}

const READ_OWN: &str = "SELECT credential, token_serial, ok_at_ms, held_ckr FROM config_logins \
     WHERE config_name = $1";
const READ_SAME_HELD: &str =
    "SELECT config_name, held_ckr FROM config_logins WHERE token_serial = $1 \
     AND credential = $2 AND held_ckr IS NOT NULL AND config_name <> $3 LIMIT 1";
const READ_TOKEN: &str = "SELECT failures, last_ckr FROM token_logins WHERE token_serial = $1";
const HOLD_CONFIG: &str =
    "INSERT INTO config_logins (config_name, credential, token_serial, ok_at_ms, \
     held_ckr, held_detail, held_at_ms) VALUES ($1, $2, $3, NULL, $4, $5, $6) \
     ON CONFLICT (config_name) DO UPDATE SET credential = $2, token_serial = $3, \
     ok_at_ms = CASE WHEN config_logins.credential = $2 THEN config_logins.ok_at_ms END, \
     held_ckr = $4, held_detail = $5, held_at_ms = $6";
const COUNT_FAILURE: &str =
    "INSERT INTO token_logins (token_serial, failures, last_ckr, last_failure_ms) \
     VALUES ($1, 1, $2, $3) ON CONFLICT (token_serial) DO UPDATE SET \
     failures = token_logins.failures + 1, last_ckr = $2, last_failure_ms = $3";
const RECORD_CHANGE: &str = "INSERT INTO changes (at_ms, what) VALUES ($1, $2)";
const WAS_HELD: &str = "SELECT held_ckr IS NOT NULL FROM config_logins WHERE config_name = $1";
const LOGGED_IN: &str =
    "INSERT INTO config_logins (config_name, credential, token_serial, ok_at_ms) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (config_name) DO UPDATE SET \
     credential = $2, token_serial = $3, ok_at_ms = $4, held_ckr = NULL, \
     held_detail = NULL, held_at_ms = NULL";
const CLEAR_TOKEN: &str = "DELETE FROM token_logins WHERE token_serial = $1";

struct Inner {
    db: LedgerDb,
    data_dir: PathBuf,
    master_key: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
    token_limit: u32,
    conn: Mutex<Option<Connection>>,
    /// `(configuration, credential)` held in this process because the
    /// database refused to record the hold.
    held_here: Mutex<HashSet<(String, String)>>,
}

/// One configuration's row of `config_logins`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ConfigLogin {
    credential: String,
    token_serial: String,
    ok_at_ms: Option<i64>,
    held_ckr: Option<String>,
}

/// Everything the decision needs, read under the token's lock.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Known {
    own: Option<ConfigLogin>,
    /// Another configuration held with the same credential on this token,
    /// and the CKR that held it.
    same_held: Option<(String, String)>,
    token_failures: u32,
    token_last_ckr: Option<String>,
}

/// Why a login is refused: the CKR behind the hold and what to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    ckr: String,
    detail: String,
}

/// The rules, apart from the database: may this credential log in?
fn decide(
    k: &Known,
    config: &str,
    credential: &str,
    serial: &str,
    retry: bool,
    token_limit: u32,
) -> Option<Refusal> {
    if retry {
        return None;
    }
    if let Some(own) = &k.own {
        if let Some(ckr) = &own.held_ckr {
            return Some(Refusal {
                ckr: ckr.clone(),
                detail: format!("configuration {config} is held after a failed login"),
            });
        }
    }
    if let Some((other, ckr)) = &k.same_held {
        return Some(Refusal {
            ckr: ckr.clone(),
            detail: format!(
                "the same user type and password failed on token {serial} for configuration {other}"
            ),
        });
    }
    let worked_here = k.own.as_ref().is_some_and(|o| {
        o.ok_at_ms.is_some() && o.credential == credential && o.token_serial == serial
    });
    if k.token_failures >= token_limit && !worked_here {
        return Some(Refusal {
            ckr: k
                .token_last_ckr
                .clone()
                .unwrap_or_else(|| "CKR_PIN_INCORRECT".into()),
            detail: format!(
                "token {serial} has had {} failed logins in a row from this appliance; only a \
                 password that worked on it before is tried",
                k.token_failures
            ),
        });
    }
    None
}

impl LoginLedger {
    pub(crate) fn new(
        data_dir: PathBuf,
        db: LedgerDb,
        master_key: Arc<MasterKey>,
        clock: Arc<dyn Clock>,
        token_limit: u32,
    ) -> LoginLedger {
        LoginLedger(Arc::new(Inner {
            db,
            data_dir,
            master_key,
            clock,
            token_limit: token_limit.max(1),
            conn: Mutex::new(None),
            held_here: Mutex::default(),
        }))
    }

    /// The fingerprint a credential is compared by (keyed with the master
    /// key: the database alone tells nothing about the password).
    pub(crate) fn credential(&self, user_type: crate::hsm::UserType, pin: &str) -> String {
        self.0.master_key.fingerprint(
            "hsmseed:login-credential",
            &[user_type.as_str().as_bytes(), pin.as_bytes()],
        )
    }

    /// Forgets this process's memory of `config`'s holds (its password or
    /// user type was edited; the database row goes with the edit).
    pub(crate) fn forget(&self, config: &str) {
        self.0
            .held_here
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(c, _)| c != config);
    }

    /// Runs `f` on the ledger's connection, opened at first use and
    /// replaced after an error that left it inside a transaction.
    fn with_conn<T>(
        &self,
        path: &std::path::Path,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let mut slot = self.0.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let conn = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(
                crate::store::open_sync(path)
                    .map_err(|e| Error::Internal(format!("login ledger: {e}")))?,
            ),
        };
        let r = f(conn);
        if r.is_err() && !conn.is_autocommit() {
            *slot = None;
        }
        r.map_err(|e| Error::Internal(format!("login ledger: {e}")))
    }

    fn read(&self, config: &str, credential: &str, serial: &str) -> Result<Known> {
        let (own, same_held, token) = match &self.0.db {
            LedgerDb::Sqlite(path) => self.with_conn(path, |c| {
                let own = c
                    .query_row(READ_OWN, params![config], |r| {
                        Ok(ConfigLogin {
                            credential: r.get(0)?,
                            token_serial: r.get(1)?,
                            ok_at_ms: r.get(2)?,
                            held_ckr: r.get(3)?,
                        })
                    })
                    .optional()?;
                let same_held = c
                    .query_row(READ_SAME_HELD, params![serial, credential, config], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                let token: Option<(i64, Option<String>)> = c
                    .query_row(READ_TOKEN, params![serial], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                Ok((own, same_held, token))
            })?,
            LedgerDb::Postgres { store, runtime } => on_postgres(runtime, async {
                let pool = store.pool();
                let own: Option<(String, String, Option<i64>, Option<String>)> =
                    db::query_as(READ_OWN)
                        .bind(config)
                        .fetch_optional(pool)
                        .await?;
                let same_held: Option<(String, String)> = db::query_as(READ_SAME_HELD)
                    .bind(serial)
                    .bind(credential)
                    .bind(config)
                    .fetch_optional(pool)
                    .await?;
                let token: Option<(i64, Option<String>)> = db::query_as(READ_TOKEN)
                    .bind(serial)
                    .fetch_optional(pool)
                    .await?;
                let own = own.map(
                    |(credential, token_serial, ok_at_ms, held_ckr)| ConfigLogin {
                        credential,
                        token_serial,
                        ok_at_ms,
                        held_ckr,
                    },
                );
                Ok::<_, sqlx::Error>((own, same_held, token))
            })?,
        };
        let (failures, last_ckr) = token.unwrap_or((0, None));
        Ok(Known {
            own,
            same_held,
            token_failures: u32::try_from(failures).unwrap_or(u32::MAX),
            token_last_ckr: last_ckr,
        })
    }

    /// Records a hold of `config` (and that configurations changed, for
    /// every process's caches). `failed` counts one failed login on the
    /// token.
    fn hold(&self, t: &Attempt, ckr: &str, detail: &str, failed: bool) -> Result<()> {
        let now = unix_ms(self.0.clock.now());
        let what = format!("hsm {} login held", t.config);
        let written = match &self.0.db {
            LedgerDb::Sqlite(path) => self.with_conn(path, |c| {
                let tx = c.unchecked_transaction()?;
                tx.execute(
                    HOLD_CONFIG,
                    params![t.config, t.credential, t.serial, ckr, detail, now],
                )?;
                if failed {
                    tx.execute(COUNT_FAILURE, params![t.serial, ckr, now])?;
                }
                tx.execute(RECORD_CHANGE, params![now, what])?;
                tx.commit()
            }),
            LedgerDb::Postgres { store, runtime } => on_postgres(runtime, async {
                let mut tx = store.pool().begin_write().await?;
                db::query(HOLD_CONFIG)
                    .bind(&t.config)
                    .bind(&t.credential)
                    .bind(&t.serial)
                    .bind(ckr)
                    .bind(detail)
                    .bind(now)
                    .execute(&mut tx)
                    .await?;
                if failed {
                    db::query(COUNT_FAILURE)
                        .bind(&t.serial)
                        .bind(ckr)
                        .bind(now)
                        .execute(&mut tx)
                        .await?;
                }
                db::query(RECORD_CHANGE)
                    .bind(now)
                    .bind(&what)
                    .execute(&mut tx)
                    .await?;
                tx.commit().await
            }),
        };
        if written.is_err() {
            // Not in the database: this process at least never tries it again.
            self.0
                .held_here
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert((t.config.clone(), t.credential.clone()));
        }
        written
    }

    /// Records a successful login: the configuration is free, the token's
    /// count of failures in a row starts again.
    fn logged_in(&self, t: &Attempt) -> Result<()> {
        self.forget(&t.config);
        let now = unix_ms(self.0.clock.now());
        let what = format!("hsm {} login released", t.config);
        match &self.0.db {
            LedgerDb::Sqlite(path) => self.with_conn(path, |c| {
                let tx = c.unchecked_transaction()?;
                let was_held: bool = tx
                    .query_row(WAS_HELD, params![t.config], |r| r.get(0))
                    .optional()?
                    .unwrap_or(false);
                tx.execute(LOGGED_IN, params![t.config, t.credential, t.serial, now])?;
                tx.execute(CLEAR_TOKEN, params![t.serial])?;
                if was_held {
                    tx.execute(RECORD_CHANGE, params![now, what])?;
                }
                tx.commit()
            }),
            LedgerDb::Postgres { store, runtime } => on_postgres(runtime, async {
                let mut tx = store.pool().begin_write().await?;
                let was_held: bool = db::query_scalar(WAS_HELD)
                    .bind(&t.config)
                    .fetch_optional(&mut tx)
                    .await?
                    .unwrap_or(false);
                db::query(LOGGED_IN)
                    .bind(&t.config)
                    .bind(&t.credential)
                    .bind(&t.serial)
                    .bind(now)
                    .execute(&mut tx)
                    .await?;
                db::query(CLEAR_TOKEN)
                    .bind(&t.serial)
                    .execute(&mut tx)
                    .await?;
                if was_held {
                    db::query(RECORD_CHANGE)
                        .bind(now)
                        .bind(&what)
                        .execute(&mut tx)
                        .await?;
                }
                tx.commit().await
            }),
        }
    }
}

/// One login under way: who, on which token, with the token's lock held.
struct Attempt {
    config: String,
    credential: String,
    serial: String,
}

struct Ticket {
    ledger: LoginLedger,
    attempt: Attempt,
    /// Held until the outcome is recorded.
    _lock: FileLock,
}

/// The lock file of a token: by a digest of its serial (any text).
fn lock_name(serial: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(serial.as_bytes());
    format!("token-{}.lock", hex::encode(&digest[..8]))
}

impl LoginGuard for LoginLedger {
    fn begin(&self, login: &GuardedLogin<'_>, serial: &str) -> Result<Box<dyn LoginTicket>> {
        let attempt = Attempt {
            config: login.config.to_string(),
            credential: self.credential(login.user_type, login.pin.expose_secret()),
            serial: serial.to_string(),
        };
        let lock = FileLock::exclusive(&self.0.data_dir, &lock_name(serial))?;
        let held_here = self
            .0
            .held_here
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(attempt.config.clone(), attempt.credential.clone()));
        let refusal = if held_here && !login.retry {
            // The database may say otherwise only if it refused our write.
            let ckr = self
                .read(&attempt.config, &attempt.credential, serial)
                .ok()
                .and_then(|k| k.own.and_then(|o| o.held_ckr))
                .unwrap_or_else(|| "CKR_PIN_INCORRECT".into());
            Some(Refusal {
                ckr,
                detail: format!(
                    "configuration {} is held after a failed login",
                    login.config
                ),
            })
        } else {
            let known = self.read(&attempt.config, &attempt.credential, serial)?;
            decide(
                &known,
                login.config,
                &attempt.credential,
                serial,
                login.retry,
                self.0.token_limit,
            )
            .inspect(|r| {
                let already = known.own.as_ref().is_some_and(|o| o.held_ckr.is_some());
                if !already {
                    // Held without trying: the pages and the scheduler see it too.
                    if let Err(e) = self.hold(&attempt, &r.ckr, &r.detail, false) {
                        tracing::error!(error = %e, hsm = login.config, "login hold could not be recorded");
                    }
                }
            })
        };
        if let Some(r) = refusal {
            tracing::warn!(hsm = login.config, token = serial, ckr = %r.ckr, detail = %r.detail, "login not tried: held");
            return Err(Error::LoginHeld {
                name: login.config.to_string(),
                ckr: r.ckr,
                detail: r.detail,
            });
        }
        Ok(Box::new(Ticket {
            ledger: self.clone(),
            attempt,
            _lock: lock,
        }))
    }
}

impl LoginTicket for Ticket {
    fn finish(self: Box<Self>, outcome: LoginOutcome) {
        let t = &self.attempt;
        let recorded = match &outcome {
            LoginOutcome::Ok => self.ledger.logged_in(t),
            LoginOutcome::Refused { ckr } => {
                tracing::error!(
                    hsm = %t.config,
                    token = %t.serial,
                    %ckr,
                    "login refused by the HSM: the configuration is held; no login is tried \
                     with this password until it is edited or an administrator retries"
                );
                self.ledger.hold(t, ckr, "the HSM refused the login", true)
            }
            LoginOutcome::Other => Ok(()),
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, hsm = %t.config, "login outcome could not be recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(credential: &str, serial: &str, ok: bool, held: Option<&str>) -> ConfigLogin {
        ConfigLogin {
            credential: credential.into(),
            token_serial: serial.into(),
            ok_at_ms: ok.then_some(1),
            held_ckr: held.map(str::to_string),
        }
    }

    #[test]
    fn a_fresh_credential_is_tried() {
        assert_eq!(decide(&Known::default(), "A", "c1", "S", false, 3), None);
    }

    #[test]
    fn a_held_configuration_is_refused_unless_retried() {
        let k = Known {
            own: Some(login("c1", "S", false, Some("CKR_PIN_INCORRECT"))),
            ..Known::default()
        };
        let r = decide(&k, "A", "c1", "S", false, 3).unwrap();
        assert_eq!(r.ckr, "CKR_PIN_INCORRECT");
        assert_eq!(decide(&k, "A", "c1", "S", true, 3), None);
    }

    #[test]
    fn the_same_credential_held_elsewhere_on_the_token_is_refused() {
        let k = Known {
            same_held: Some(("B".into(), "CKR_PIN_LOCKED".into())),
            ..Known::default()
        };
        let r = decide(&k, "A", "c1", "S", false, 3).unwrap();
        assert_eq!(r.ckr, "CKR_PIN_LOCKED");
        assert!(r.detail.contains("configuration B"), "{}", r.detail);
    }

    #[test]
    fn a_token_with_many_failures_takes_only_proven_credentials() {
        let mut k = Known {
            token_failures: 3,
            token_last_ckr: Some("CKR_PIN_INCORRECT".into()),
            ..Known::default()
        };
        assert!(
            decide(&k, "A", "c1", "S", false, 3).is_some(),
            "never worked"
        );
        k.own = Some(login("c1", "S", true, None));
        assert_eq!(decide(&k, "A", "c1", "S", false, 3), None, "worked before");
        assert!(
            decide(&k, "A", "c2", "S", false, 3).is_some(),
            "another password"
        );
        assert!(
            decide(&k, "A", "c1", "T", false, 3).is_some(),
            "another token"
        );
        k.token_failures = 2;
        assert_eq!(
            decide(&k, "A", "c2", "S", false, 3),
            None,
            "under the limit"
        );
    }
}
