//! PKCS#11: modules, slots, login and `C_SeedRandom`.
//!
//! [`Hsm`] is the handle the rest of the engine uses. It is cheap to clone
//! and shares one initialised library per module path per process (see the
//! registry in `module.rs` for why that one global exists).
//!
//! # How a reseed runs
//!
//! 1. The job goes to its slot's worker thread (`module.rs`): one thread
//!    per slot, one job after the other. Login state belongs to the *token*
//!    for the whole process — one session's `C_Logout` logs every session
//!    out — so all work on one token is serialised, across every
//!    configuration and every `Hsm` clone. Slots are independent.
//! 2. On that thread: the token's info (`C_GetTokenInfo`, cached with the
//!    session; refused with `TOKEN_MISMATCH` if the configuration pins
//!    another serial), then the one cached session is made to hold *this*
//!    credential's login. A login is reused only for the same user type and
//!    PIN (compared by SHA-256); otherwise the session is logged out and
//!    this credential's PIN checked by a fresh `C_Login`, so a wrong
//!    password always answers `CKR_PIN_INCORRECT` and never rides on
//!    another configuration's login. Every `C_Login` first asks the target's
//!    [`LoginGuard`] (the engine's login holds) and tells it the outcome.
//! 3. `C_SeedRandom`. If the cached session turns out to be dead
//!    (`CKR_SESSION_HANDLE_INVALID`, `CKR_SESSION_CLOSED`,
//!    `CKR_USER_NOT_LOGGED_IN`, `CKR_TOKEN_NOT_PRESENT`,
//!    `CKR_DEVICE_REMOVED`), it is dropped and the reseed retried once.
//!
//! The caller waits under one deadline. When it passes, the caller gets
//! `Error::Hsm { ckr: "TIMEOUT", .. }` at once; a call stuck in the HSM keeps
//! its slot's thread until the HSM answers, so only that slot waits and
//! every other slot carries on.
//!
//! Errors are `Error::Hsm { ckr, detail }` with `ckr` a `CKR_*` name, or
//! `TIMEOUT`, `TOKEN_MISMATCH`, `MODULE_LOAD`. No PIN ever appears in an
//! error, a log line or a `Debug` output.

mod ckr;
mod loader;
mod module;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{Error, Result};
pub(crate) use loader::Modules;
use module::{Credential, LoginTarget, Module, SlotState};
pub use types::hsm::SlotInfo;

/// Deadline of one HSM operation when the caller has no better idea.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// Luna's `CKU_CRYPTO_USER` (a vendor-defined user type).
const CKU_CRYPTO_USER: u32 = 0x8000_0001;

pub use types::UserType;

/// The PKCS#11 constant of a user type.
fn cryptoki_user(user_type: UserType) -> cryptoki::session::UserType {
    match user_type {
        UserType::So => cryptoki::session::UserType::So,
        UserType::User => cryptoki::session::UserType::User,
        UserType::CryptoUser => cryptoki::session::UserType::VendorExtension(CKU_CRYPTO_USER),
    }
}

/// Asked right before every `C_Login`, and told how it went: how the
/// engine keeps a wrong password from ever being tried twice (on a Luna
/// HSM, ten failed Partition SO logins zeroize the partition). It runs on
/// the slot's thread, so no other login on that slot can slip in between
/// the question and the answer.
pub trait LoginGuard: Send + Sync {
    /// Whether `login` may log in to the token with serial `serial` now:
    /// a ticket to hand the outcome to, or the refusal (`LoginHeld`).
    fn begin(&self, login: &GuardedLogin<'_>, serial: &str) -> Result<Box<dyn LoginTicket>>;
}

/// What a [`LoginGuard`] is asked about (the PIN only to fingerprint it).
pub struct GuardedLogin<'a> {
    pub config: &'a str,
    pub user_type: UserType,
    pub pin: &'a SecretString,
    /// An administrator asked for this one more attempt, warned of the risk.
    pub retry: bool,
}

/// Held across one `C_Login` (and its retry on a stale session).
pub trait LoginTicket: Send {
    fn finish(self: Box<Self>, outcome: LoginOutcome);
}

/// How a guarded login ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Logged in.
    Ok,
    /// The HSM refused the PIN (`CKR_PIN_INCORRECT` and kin): one more on
    /// the token's failed-login counter.
    Refused { ckr: String },
    /// Something else went wrong (no session, token gone): the PIN was not
    /// judged.
    Other,
}

/// The guard of a target's logins and the configuration they are for.
#[derive(Clone)]
pub struct Guard {
    pub guard: Arc<dyn LoginGuard>,
    pub config: String,
    pub retry: bool,
}

/// Where and as whom to reseed.
#[derive(Clone)]
pub struct SeedTarget {
    pub slot: u64,
    /// If set, refuse (`TOKEN_MISMATCH`) unless the slot holds the token
    /// with this serial: slot ids change when tokens are re-created.
    pub pinned_serial: Option<String>,
    pub user_type: UserType,
    /// The partition password. Never logged, never in `Debug`.
    pub pin: SecretString,
    /// Asked before every `C_Login` of this target (the engine always sets
    /// it; bare `Hsm` users such as tests may leave it out).
    pub guard: Option<Guard>,
}

impl std::fmt::Debug for SeedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedTarget")
            .field("slot", &self.slot)
            .field("pinned_serial", &self.pinned_serial)
            .field("user_type", &self.user_type)
            .field("pin", &"<redacted>")
            .finish()
    }
}

impl SeedTarget {
    fn login_target(&self) -> LoginTarget {
        LoginTarget {
            slot: self.slot,
            pinned_serial: self.pinned_serial.clone(),
            credential: Credential::new(self.user_type, &self.pin),
            pin: self.pin.clone(),
            guard: self.guard.clone(),
        }
    }
}

/// The result of a successful reseed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedOutcome {
    pub token_serial: String,
    pub token_label: String,
    /// A `C_Login` was needed (false when the cached login was reused).
    pub logged_in: bool,
}

/// Handle on one PKCS#11 module. Clones (and other `Hsm`s loaded from the
/// same path) share the initialised library, its slot threads and cached
/// sessions.
#[derive(Clone)]
pub struct Hsm {
    module: Arc<Module>,
    deadline: Duration,
    /// The largest seed one `C_SeedRandom` takes: longer seeds go in
    /// several calls on the same session (tpm2-pkcs11 takes 128 bytes).
    max_seed_bytes: Option<usize>,
}

impl std::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hsm")
            .field("module", &self.module.path())
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Hsm {
    /// Load and initialise the PKCS#11 library at `path`, or share the one
    /// this process already has for that file (paths are canonicalized, so
    /// symlinks and `..` lead to the same module). `deadline` bounds every
    /// later operation through this handle (see [`DEFAULT_DEADLINE`]).
    ///
    /// Blocks while the library runs `C_Initialize` (milliseconds for
    /// SoftHSM; the engine loads from the blocking pool under a deadline,
    /// see `loader.rs`). Fails with `MODULE_LOAD` if the file is missing or not
    /// a PKCS#11 library, and with `CKR_CRYPTOKI_ALREADY_INITIALIZED` if the
    /// same library is already initialised through another path (a spy).
    pub fn load(path: &Path, deadline: Duration) -> Result<Hsm> {
        let canonical = std::fs::canonicalize(path).map_err(|e| ckr::module_load_error(path, e))?;
        if !canonical.is_file() {
            return Err(ckr::module_load_error(path, "not a file"));
        }
        let module = Module::get_or_load(&canonical)?;
        Ok(Hsm {
            module,
            deadline,
            max_seed_bytes: None,
        })
    }

    /// The same module with another deadline.
    pub fn with_deadline(&self, deadline: Duration) -> Hsm {
        Hsm {
            deadline,
            ..self.clone()
        }
    }

    /// The same module, seeded in calls of at most `max` bytes (`None`:
    /// one call per seed).
    pub fn with_max_seed_bytes(self, max: Option<usize>) -> Hsm {
        Hsm {
            max_seed_bytes: max.filter(|&n| n > 0),
            ..self
        }
    }

    /// The canonical path of the loaded module.
    pub fn module_path(&self) -> &Path {
        self.module.path()
    }

    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Slots that hold a token (initialised or not).
    pub async fn slots(&self) -> Result<Vec<SlotInfo>> {
        self.blocking("listing slots", None, |module| module.list_slots())
            .await
    }

    /// What the token in `slot` says about itself (`CKR_SLOT_ID_INVALID`,
    /// `CKR_TOKEN_NOT_PRESENT` when there is none).
    pub async fn token_info(&self, slot: u64) -> Result<SlotInfo> {
        self.blocking("C_GetTokenInfo", Some(slot), move |module| {
            module.token_info(slot)
        })
        .await
    }

    /// Feed `seed` to the token's RNG with `C_SeedRandom`, logged in as
    /// `target` says (reusing the cached login only for the same
    /// credential). The seed is zeroized after use, also on error or timeout.
    pub async fn seed(&self, target: &SeedTarget, seed: Zeroizing<Vec<u8>>) -> Result<SeedOutcome> {
        let job = seed_job(target, seed, self.max_seed_bytes)?;
        let work = self.with_slot("C_SeedRandom", target.slot, job);
        tracing::Instrument::instrument(work, seed_span(target)).await
    }

    /// Like [`seed`](Self::seed), but the result goes to `then`, called on
    /// the slot's thread as soon as `C_SeedRandom` returns, instead of back
    /// to the caller: a caller that only passes the result on (to the
    /// history writer) saves waking up in between. There is no deadline
    /// here; the caller keeps its own ([`deadline`](Self::deadline)) and
    /// must expect `then` to run after it gave up, or never.
    pub fn seed_then(
        &self,
        target: &SeedTarget,
        seed: Zeroizing<Vec<u8>>,
        then: impl FnOnce(Result<SeedOutcome>) + Send + 'static,
    ) -> Result<()> {
        let job = seed_job(target, seed, self.max_seed_bytes)?;
        let span = seed_span(target);
        self.module.submit(
            target.slot,
            Box::new(move |module, state| then(span.in_scope(|| job(module, state)))),
        )
    }

    /// The error of an operation that passed its [`deadline`](Self::deadline).
    pub fn timed_out(&self, what: &str, slot: u64) -> Error {
        self.timeout(what, Some(slot))
    }

    /// Log in with `target`'s credential for real — a cached login, even of
    /// the same credential, is logged out first so the PIN is checked now —
    /// and keep the logged-in session for later reseeds. Returns the token.
    pub async fn test_login(&self, target: &SeedTarget) -> Result<SlotInfo> {
        let login = target.login_target();
        let span = tracing::debug_span!("hsm_test_login", slot = target.slot, user_type = %target.user_type);
        let work = self.with_slot("C_Login", target.slot, move |module, state| {
            module
                .login_and_seed(state, &login, None, true)
                .map(|(info, _)| SlotInfo::clone(&info))
        });
        tracing::Instrument::instrument(work, span).await
    }

    /// Run `op` on the blocking pool under the deadline, without a slot lock.
    async fn blocking<T, F>(&self, what: &str, slot: Option<u64>, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Module) -> Result<T> + Send + 'static,
    {
        let module = self.module.clone();
        let span = tracing::Span::current();
        let task = tokio::task::spawn_blocking(move || span.in_scope(|| op(&module)));
        match tokio::time::timeout(self.deadline, task).await {
            Ok(joined) => joined?,
            Err(_) => Err(self.timeout(what, slot)),
        }
    }

    /// Run `op` on `slot`'s worker thread (one job at a time per slot),
    /// under the deadline. On timeout the caller is answered at once; a
    /// running `op` keeps the slot until it returns.
    async fn with_slot<T, F>(&self, what: &str, slot: u64, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Module, &mut SlotState) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        self.module.submit(
            slot,
            Box::new(move |module, state| {
                let _ = reply.send(span.in_scope(|| op(module, state)));
            }),
        )?;
        match tokio::time::timeout(self.deadline, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Error::Internal(format!(
                "{what}: the slot's worker dropped the job"
            ))),
            Err(_) => Err(self.timeout(what, Some(slot))),
        }
    }

    fn timeout(&self, what: &str, slot: Option<u64>) -> Error {
        let secs = self.deadline.as_secs_f64();
        let place = match slot {
            Some(slot) => format!(" on slot {slot}"),
            None => String::new(),
        };
        tracing::warn!(module = %self.module.path().display(), "{what}{place} timed out after {secs}s");
        Error::Hsm {
            ckr: ckr::TIMEOUT.to_owned(),
            detail: format!(
                "{what}{place}: the HSM ({}) did not answer within {secs}s",
                self.module.path().display()
            ),
        }
    }

    /// Test hook: occupy `slot`'s worker as a hung HSM call would, until
    /// the returned guard is dropped.
    #[cfg(test)]
    pub(crate) async fn hold_slot_lock(&self, slot: u64) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let submitted = self.module.submit(
            slot,
            Box::new(move |_, _| {
                let _ = started.send(());
                let _ = held.recv();
            }),
        );
        assert!(submitted.is_ok());
        let _ = running.await;
        release
    }

    #[cfg(test)]
    pub(crate) fn shares_module_with(&self, other: &Hsm) -> bool {
        Arc::ptr_eq(&self.module, &other.module)
    }
}

/// The slot job of one reseed: log in as `target` says, then `C_SeedRandom`
/// with `seed`, which is zeroized once used (or when the job is dropped).
fn seed_job(
    target: &SeedTarget,
    seed: Zeroizing<Vec<u8>>,
    max_seed_bytes: Option<usize>,
) -> Result<impl FnOnce(&Module, &mut SlotState) -> Result<SeedOutcome> + Send + 'static> {
    if seed.is_empty() {
        return Err(Error::Invalid("the seed must not be empty".to_owned()));
    }
    let login = target.login_target();
    let chunk = max_seed_bytes.unwrap_or(usize::MAX);
    Ok(move |module: &Module, state: &mut SlotState| {
        let seed_in_calls = module::Seed {
            bytes: seed.as_slice(),
            chunk,
        };
        let result = module.login_and_seed(state, &login, Some(seed_in_calls), false);
        drop(seed);
        result.map(|(_, outcome)| outcome)
    })
}

fn seed_span(target: &SeedTarget) -> tracing::Span {
    tracing::debug_span!("hsm_seed", slot = target.slot, user_type = %target.user_type)
}
