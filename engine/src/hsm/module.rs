//! A loaded, initialised PKCS#11 module, the process-wide registry of them,
//! and the blocking work done on one slot (login, `C_SeedRandom`).
//!
//! Everything here blocks: slot work runs on the slot's own worker thread,
//! the rest (listing slots, token info) on the blocking pool, and
//! [`super::Hsm`] waits for either under a deadline.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::Session;
use cryptoki::slot::{Slot, TokenInfo};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::ckr::{self, hsm_error, is_failed_login, is_stale_session, module_load_error, rv_of};
use super::{Guard, GuardedLogin, LoginOutcome, LoginTicket, SeedOutcome, SlotInfo, UserType};
use crate::{Error, Result};

// ---------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------

/// Process-wide registry of loaded PKCS#11 modules, keyed by canonical path.
///
/// The rest of the engine avoids globals; this one is forced by PKCS#11
/// itself. `C_Initialize` and `C_Finalize` act on the *library*, which the
/// dynamic loader maps once per process: a second `C_Initialize` of the same
/// library answers `CKR_CRYPTOKI_ALREADY_INITIALIZED`, one `C_Finalize` ends
/// it for every user, and login state is per token for the whole process.
/// So there must be exactly one initialised [`Module`] per library per
/// process, however many engines (e.g. several in one test binary) ask for
/// it. The registry holds only `Weak` references: the last [`super::Hsm`]
/// using a module to be dropped finalizes it, and a later load initialises
/// it afresh.
///
/// An entry is `Loading` while one thread runs `C_Initialize` (without the
/// registry lock held, so a slow module does not block loads of others), and
/// stays `Loaded` with a dead `Weak` while the last owner is finalizing; in
/// both cases other loaders of that path wait on the condition variable.
///
/// Constraint: a library must be loaded through one path only. A wrapper
/// such as OpenSC's `pkcs11-spy.so` forwards to the real library, which is
/// then the same mapped library with the same global state: loading both the
/// spy and the real module makes the second `C_Initialize` fail with
/// `CKR_CRYPTOKI_ALREADY_INITIALIZED`, and finalizing either would finalize
/// both. Such a load is refused, never tolerated.
struct Registry {
    modules: Mutex<BTreeMap<PathBuf, Entry>>,
    changed: Condvar,
}

enum Entry {
    Loading,
    Loaded(Weak<Module>),
}

static REGISTRY: Registry = Registry {
    modules: Mutex::new(BTreeMap::new()),
    changed: Condvar::new(),
};

/// How long a loader waits before looking again at an entry that is being
/// loaded or finalized (the condition variable normally wakes it sooner).
const REGISTRY_POLL: Duration = Duration::from_millis(50);

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Entry>> {
        self.modules.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a `Loading` entry and wakes waiters if loading did not finish
/// (an error, or a panic inside the module's `C_Initialize` path).
struct LoadingGuard<'a> {
    path: &'a Path,
    armed: bool,
}

impl Drop for LoadingGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut modules = REGISTRY.lock();
            if matches!(modules.get(self.path), Some(Entry::Loading)) {
                modules.remove(self.path);
            }
            REGISTRY.changed.notify_all();
        }
    }
}

// ---------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------

/// One initialised PKCS#11 library, shared by every [`super::Hsm`] that
/// loaded it (see [`Registry`]).
///
/// It owns a worker thread per slot: login state belongs to the token for
/// the whole process, so all work on one token runs, one job after the
/// other, on that slot's thread, which also keeps the one cached logged-in
/// session. Work on different slots runs in parallel. A dedicated thread
/// (rather than the blocking pool) keeps the hand-off cheap: under load the
/// worker drains its queue without being woken per call.
pub(crate) struct Module {
    path: PathBuf,
    pkcs11: Pkcs11,
    slots: Mutex<HashMap<u64, SlotWorker>>,
}

/// Work for a slot's thread. The job owns an `Arc<Module>` so the module
/// outlives it; the worker drops that reference only after releasing the
/// slot's state.
pub(crate) type SlotJob = Box<dyn FnOnce(&Module, &mut SlotState) + Send>;

struct SlotWorker {
    jobs: std::sync::mpsc::Sender<(Arc<Module>, SlotJob)>,
    state: Arc<Mutex<SlotState>>,
}

impl SlotWorker {
    fn spawn(slot: u64) -> Result<SlotWorker> {
        let (jobs, queue) = std::sync::mpsc::channel::<(Arc<Module>, SlotJob)>();
        let state = Arc::new(Mutex::new(SlotState::default()));
        let own = state.clone();
        std::thread::Builder::new()
            .name(format!("pkcs11-slot-{slot}"))
            .spawn(move || {
                while let Ok((module, job)) = crate::handoff::recv_soon(&queue) {
                    {
                        let mut st = own.lock().unwrap_or_else(PoisonError::into_inner);
                        let run = std::panic::AssertUnwindSafe(|| job(&module, &mut st));
                        if std::panic::catch_unwind(run).is_err() {
                            tracing::error!(slot, "a PKCS#11 job panicked; its session is dropped");
                            st.forget();
                        }
                    }
                    // Last: if this was the module's last reference, its
                    // drop finds the slot state unlocked.
                    drop(module);
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the worker of slot {slot}: {e}")))?;
        Ok(SlotWorker { jobs, state })
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("path", &self.path).finish()
    }
}

impl Module {
    /// The shared module for `canonical` (a canonicalized path), loading and
    /// initialising it if no live one exists. Blocks during `C_Initialize`.
    pub(crate) fn get_or_load(canonical: &Path) -> Result<Arc<Module>> {
        let mut modules = REGISTRY.lock();
        loop {
            match modules.get(canonical) {
                Some(Entry::Loaded(weak)) => {
                    if let Some(module) = weak.upgrade() {
                        return Ok(module);
                    }
                    // The last owner is finalizing it; wait for the entry to go.
                }
                Some(Entry::Loading) => {}
                None => break,
            }
            modules = REGISTRY
                .changed
                .wait_timeout(modules, REGISTRY_POLL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        modules.insert(canonical.to_path_buf(), Entry::Loading);
        drop(modules);

        let mut guard = LoadingGuard {
            path: canonical,
            armed: true,
        };
        let module = Module::open(canonical)?;
        let mut modules = REGISTRY.lock();
        modules.insert(
            canonical.to_path_buf(),
            Entry::Loaded(Arc::downgrade(&module)),
        );
        guard.armed = false;
        REGISTRY.changed.notify_all();
        drop(modules);
        Ok(module)
    }

    fn open(path: &Path) -> Result<Arc<Module>> {
        let pkcs11 = Pkcs11::new(path).map_err(|e| {
            let (name, reason) = ckr::describe(&e);
            match e {
                CkError::LibraryLoading(inner) => module_load_error(path, inner),
                _ if name == ckr::MODULE_LOAD => module_load_error(path, reason),
                _ => module_load_error(path, format!("{name}: {reason}")),
            }
        })?;
        // OS_LOCKING_OK: we call from many threads; without it SoftHSM
        // corrupts tokens under concurrent use.
        pkcs11
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(|e| match e {
                CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _) => Error::Hsm {
                    ckr: "CKR_CRYPTOKI_ALREADY_INITIALIZED".to_owned(),
                    detail: format!(
                        "C_Initialize: {} is already initialised in this process; is the same \
                         library also loaded through another path (e.g. a PKCS#11 spy)?",
                        path.display()
                    ),
                },
                other => hsm_error(other),
            })?;
        tracing::info!(module = %path.display(), "PKCS#11 module initialised");
        Ok(Arc::new(Module {
            path: path.to_path_buf(),
            pkcs11,
            slots: Mutex::new(HashMap::new()),
        }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Queues `job` on `slot`'s thread (started on first use).
    pub(crate) fn submit(self: &Arc<Self>, slot: u64, job: SlotJob) -> Result<()> {
        let jobs = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let worker = match slots.entry(slot) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(SlotWorker::spawn(slot)?),
            };
            worker.jobs.clone()
        };
        jobs.send((self.clone(), job))
            .map_err(|_| Error::Internal(format!("the worker of slot {slot} has stopped")))
    }

    /// Slots holding a token, with what their tokens say about themselves.
    pub(crate) fn list_slots(&self) -> Result<Vec<SlotInfo>> {
        let slots = self.pkcs11.get_slots_with_token().map_err(hsm_error)?;
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            match self.pkcs11.get_token_info(slot) {
                Ok(info) => out.push(slot_info(slot.id(), &info)),
                // Removed between the two calls: not there any more.
                Err(CkError::Pkcs11(RvError::TokenNotPresent | RvError::SlotIdInvalid, _)) => {}
                Err(e) => return Err(hsm_error(e)),
            }
        }
        Ok(out)
    }

    /// `C_GetTokenInfo` of one slot.
    pub(crate) fn token_info(&self, slot: u64) -> Result<SlotInfo> {
        let info = self
            .pkcs11
            .get_token_info(to_slot(slot)?)
            .map_err(hsm_error)?;
        Ok(slot_info(slot, &info))
    }

    /// Log in with `credential` (reusing the cached login when it is the
    /// same credential and `force` is false) and, when `seed` is given,
    /// `C_SeedRandom` it. Runs on the slot's thread, which owns `state`.
    pub(crate) fn login_and_seed(
        &self,
        state: &mut SlotState,
        target: &LoginTarget,
        seed: Option<Seed<'_>>,
        force_login: bool,
    ) -> Result<(Arc<SlotInfo>, SeedOutcome)> {
        let slot = to_slot(target.slot)?;
        // A cached session belongs to the token it was opened on (a removed
        // or replaced token invalidates it), so its token info is reused;
        // without one, the slot is asked (SoftHSM reads its token files for
        // that, a network HSM makes a round trip).
        let info = match (&state.session, &state.info) {
            (Some(_), Some(info)) => info.clone(),
            _ => {
                let info = Arc::new(slot_info(
                    target.slot,
                    &self.pkcs11.get_token_info(slot).map_err(hsm_error)?,
                ));
                if state.serial.as_deref() != Some(info.serial.as_str()) {
                    // Another token than the one our cached session belongs to.
                    state.forget();
                    state.serial = Some(info.serial.clone());
                }
                state.info = Some(info.clone());
                info
            }
        };
        if let Some(pinned) = &target.pinned_serial {
            if pinned.trim() != info.serial {
                return Err(Error::Hsm {
                    ckr: ckr::TOKEN_MISMATCH.to_owned(),
                    detail: format!(
                        "slot {} holds the token with serial '{}' (label '{}'), but the \
                         configuration is pinned to serial '{}'",
                        target.slot,
                        info.serial,
                        info.label,
                        pinned.trim()
                    ),
                });
            }
        }

        if seed.is_some() && !info.flags.iter().any(|f| f == "rng") {
            // No RNG, nothing to seed: no password goes to such a token.
            return Err(Error::Hsm {
                ckr: ckr::SEED_NOT_ACCEPTED.to_owned(),
                detail: format!(
                    "the token in slot {} (label '{}', serial '{}') has no random number \
                     generator (CKF_RNG is not set): {}",
                    target.slot,
                    info.label,
                    info.serial,
                    types::hsm::SEED_NOT_ACCEPTED_TEXT
                ),
            });
        }

        let mut force = force_login;
        let mut retried = false;
        // Taken before the first C_Login this job makes, finished after.
        let mut ticket: Option<Box<dyn LoginTicket>> = None;
        let result = loop {
            if ticket.is_none() && needs_login(state, target, force) {
                if let Some(g) = &target.guard {
                    let login = GuardedLogin {
                        config: &g.config,
                        user_type: target.credential.user_type,
                        pin: &target.pin,
                        retry: g.retry,
                    };
                    ticket = Some(g.guard.begin(&login, &info.serial)?);
                }
            }
            match self.attempt(state, slot, target, seed, force) {
                Ok(logged_in) => break Ok(logged_in),
                Err(e) if !retried && is_stale_session(&e) => {
                    tracing::warn!(
                        slot = target.slot,
                        error = %hsm_error_text(&e),
                        "cached PKCS#11 session is no longer usable; retrying with a new one"
                    );
                    state.forget();
                    retried = true;
                    // The fresh session logs in anyway.
                    force = false;
                }
                Err(e) => break Err(e),
            }
        };
        if let Some(ticket) = ticket {
            let outcome = if state.login.as_ref() == Some(&target.credential) {
                LoginOutcome::Ok
            } else {
                match &result {
                    Err(e) if is_failed_login(e) => LoginOutcome::Refused {
                        ckr: ckr::describe(e).0.into_owned(),
                    },
                    _ => LoginOutcome::Other,
                }
            };
            ticket.finish(outcome);
        }
        match result {
            Ok(logged_in) => {
                let outcome = SeedOutcome {
                    token_serial: info.serial.clone(),
                    token_label: info.label.clone(),
                    logged_in,
                };
                Ok((info, outcome))
            }
            Err(e) => Err(ckr::seed_refusal(&e).unwrap_or_else(|| {
                let hint = seed.and_then(|s| ckr::seed_length_hint(&e, s.bytes.len(), s.chunk));
                match (hsm_error(e), hint) {
                    (Error::Hsm { ckr, detail }, Some(hint)) => Error::Hsm {
                        ckr,
                        detail: format!("{detail} ({hint})"),
                    },
                    (other, _) => other,
                }
            })),
        }
    }

    /// One try: make sure the cached session is logged in with `target`'s
    /// credential, then seed. Returns whether a `C_Login` was done.
    fn attempt(
        &self,
        state: &mut SlotState,
        slot: Slot,
        target: &LoginTarget,
        seed: Option<Seed<'_>>,
        force_login: bool,
    ) -> std::result::Result<bool, CkError> {
        let logged_in = self.ensure_login(state, slot, target, force_login)?;
        if let (Some(seed), Some(session)) = (seed, state.session.as_ref()) {
            // A module that takes at most `chunk` bytes per call gets the
            // seed in several calls; each mixes into its RNG's state.
            for part in seed.bytes.chunks(seed.chunk.max(1)) {
                session.seed_random(part)?;
            }
        }
        Ok(logged_in)
    }

    fn ensure_login(
        &self,
        state: &mut SlotState,
        slot: Slot,
        target: &LoginTarget,
        force: bool,
    ) -> std::result::Result<bool, CkError> {
        let session = match state.session.take() {
            Some(session) => session,
            None => {
                state.login = None;
                // Read/write: an SO login is refused while read-only sessions exist.
                self.pkcs11.open_rw_session(slot)?
            }
        };
        let session = &*state.session.insert(session);

        if !force && state.login.as_ref() == Some(&target.credential) {
            return Ok(false);
        }
        if state.login.take().is_some() {
            // Another credential (or a forced re-login): log it out so that
            // this one's own PIN is checked. Never ride on another login.
            logout(session)?;
        }
        let user_type = target.credential.user_type;
        match session.login(super::cryptoki_user(user_type), Some(&target.pin)) {
            Ok(()) => {}
            Err(CkError::Pkcs11(
                RvError::UserAlreadyLoggedIn | RvError::UserAnotherAlreadyLoggedIn,
                _,
            )) => {
                // The token is logged in by a login we do not track (login
                // state is per token, not per session). We cannot tell whose
                // it is, so log it out and check this credential's PIN.
                tracing::debug!(
                    slot = slot.id(),
                    "token already logged in; logging in again"
                );
                logout(session)?;
                session.login(super::cryptoki_user(user_type), Some(&target.pin))?;
            }
            Err(e) => return Err(e),
        }
        tracing::debug!(slot = slot.id(), %user_type, "C_Login done");
        state.login = Some(target.credential.clone());
        Ok(true)
    }
}

impl Drop for Module {
    /// The last owner closes the cached sessions, finalizes the library and
    /// removes the registry entry (waking loaders waiting for it).
    fn drop(&mut self) {
        let slots = std::mem::take(self.slots.get_mut().unwrap_or_else(PoisonError::into_inner));
        for (_, worker) in slots {
            // Closing the queue ends the thread once it is idle. No job can
            // be running: jobs own an `Arc<Module>`, and a worker releases
            // the state before its last reference. `try_lock` is only a
            // safe way to get at the state.
            drop(worker.jobs);
            if let Ok(mut state) = worker.state.try_lock() {
                state.forget();
            }
        }
        if let Err(e) = self.pkcs11.clone().finalize() {
            tracing::warn!(module = %self.path.display(), error = %hsm_error_text(&e), "C_Finalize failed");
        } else {
            tracing::info!(module = %self.path.display(), "PKCS#11 module finalized");
        }
        let mut modules = REGISTRY.lock();
        if let Some(Entry::Loaded(weak)) = modules.get(&self.path) {
            if std::ptr::eq(weak.as_ptr(), self) {
                modules.remove(&self.path);
            }
        }
        REGISTRY.changed.notify_all();
    }
}

/// Whether seeding as `target` needs a `C_Login` now (no cached session, or
/// one logged in with another credential, or a forced login).
fn needs_login(state: &SlotState, target: &LoginTarget, force: bool) -> bool {
    force || state.session.is_none() || state.login.as_ref() != Some(&target.credential)
}

fn logout(session: &Session) -> std::result::Result<(), CkError> {
    match session.logout() {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

fn hsm_error_text(e: &CkError) -> String {
    let (name, detail) = ckr::describe(e);
    format!("{name}: {detail}")
}

fn to_slot(slot: u64) -> Result<Slot> {
    Slot::try_from(slot).map_err(hsm_error)
}

// ---------------------------------------------------------------------------
// Per-slot state
// ---------------------------------------------------------------------------

/// A seed and the most bytes one `C_SeedRandom` of the module takes.
#[derive(Clone, Copy)]
pub(crate) struct Seed<'a> {
    pub bytes: &'a [u8],
    pub chunk: usize,
}

/// What one slot's thread keeps: the cached session and whose login it has.
#[derive(Default)]
pub(crate) struct SlotState {
    /// The one session kept open on this token (read/write).
    session: Option<Session>,
    /// The credential the token is logged in with through `session`.
    login: Option<Credential>,
    /// Serial of the token `session` belongs to.
    serial: Option<String>,
    /// That token's info, read when the session was opened (shared, not
    /// copied, with every reseed that reuses the session).
    info: Option<Arc<SlotInfo>>,
}

impl SlotState {
    /// Close the cached session (closing a token's last session logs it out).
    fn forget(&mut self) {
        if let Some(session) = self.session.take() {
            if let Err(e) = session.close() {
                if !matches!(
                    rv_of(&e),
                    Some(RvError::SessionClosed | RvError::SessionHandleInvalid)
                ) {
                    tracing::debug!(error = %hsm_error_text(&e), "C_CloseSession failed");
                }
            }
        }
        self.login = None;
        self.serial = None;
        self.info = None;
    }
}

/// Who is logged in: user type and SHA-256 of the PIN. Reuse of a login is
/// allowed only for an equal credential, so a configuration with a wrong PIN
/// always gets its own `CKR_PIN_INCORRECT`. (Only the digest is kept.)
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    user_type: UserType,
    pin_sha256: [u8; 32],
}

impl Credential {
    pub(crate) fn new(user_type: UserType, pin: &SecretString) -> Self {
        let digest = Sha256::digest(pin.expose_secret().as_bytes());
        Credential {
            user_type,
            pin_sha256: digest.into(),
        }
    }
}

/// What the blocking code needs of a [`super::SeedTarget`] (owned, so it can
/// move to the blocking thread). Its `Debug` shows no secret.
pub(crate) struct LoginTarget {
    pub(crate) slot: u64,
    pub(crate) pinned_serial: Option<String>,
    pub(crate) credential: Credential,
    pub(crate) pin: SecretString,
    pub(crate) guard: Option<Guard>,
}

impl std::fmt::Debug for LoginTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginTarget")
            .field("slot", &self.slot)
            .field("pinned_serial", &self.pinned_serial)
            .field("user_type", &self.credential.user_type)
            .field("pin", &"<redacted>")
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Token info
// ---------------------------------------------------------------------------

/// Strip PKCS#11 blank padding (and stray NULs) from a fixed-width field.
fn unpad(s: &str) -> String {
    s.trim_matches(|c: char| c == ' ' || c == '\0').to_owned()
}

fn slot_info(slot_id: u64, info: &TokenInfo) -> SlotInfo {
    let firmware = info.firmware_version();
    let checks: [(bool, &str); 19] = [
        (info.rng(), "rng"),
        (info.write_protected(), "write protected"),
        (info.login_required(), "login required"),
        (info.user_pin_initialized(), "user PIN initialized"),
        (info.restore_key_not_needed(), "restore key not needed"),
        (info.clock_on_token(), "clock on token"),
        (
            info.protected_authentication_path(),
            "protected authentication path",
        ),
        (info.dual_crypto_operations(), "dual crypto operations"),
        (info.token_initialized(), "token initialized"),
        (info.secondary_authentication(), "secondary authentication"),
        (info.user_pin_count_low(), "user PIN count low"),
        (info.user_pin_final_try(), "user PIN final try"),
        (info.user_pin_locked(), "user PIN locked"),
        (info.user_pin_to_be_changed(), "user PIN to be changed"),
        (info.so_pin_count_low(), "SO PIN count low"),
        (info.so_pin_final_try(), "SO PIN final try"),
        (info.so_pin_locked(), "SO PIN locked"),
        (info.so_pin_to_be_changed(), "SO PIN to be changed"),
        (info.error_state(), "error state"),
    ];
    SlotInfo {
        slot_id,
        serial: unpad(info.serial_number()),
        label: unpad(info.label()),
        manufacturer: unpad(info.manufacturer_id()),
        model: unpad(info.model()),
        firmware: format!("{}.{}", firmware.major(), firmware.minor()),
        flags: checks
            .iter()
            .filter(|(set, _)| *set)
            .map(|(_, name)| (*name).to_owned())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpad_strips_blank_padding() {
        assert_eq!(unpad("SoftHSM project                 "), "SoftHSM project");
        assert_eq!(unpad("label\0\0"), "label");
        assert_eq!(unpad("                "), "");
    }

    #[test]
    fn credentials_differ_by_pin_and_user_type() {
        let a = Credential::new(UserType::User, &SecretString::from("1234"));
        let b = Credential::new(UserType::User, &SecretString::from("1234"));
        let c = Credential::new(UserType::User, &SecretString::from("12345"));
        let d = Credential::new(UserType::So, &SecretString::from("1234"));
        assert!(a == b);
        assert!(a != c);
        assert!(a != d);
    }

    #[test]
    fn login_target_debug_hides_the_pin() {
        let pin = SecretString::from("s3cret-pin");
        let target = LoginTarget {
            slot: 1,
            pinned_serial: None,
            credential: Credential::new(UserType::User, &pin),
            pin,
            guard: None,
        };
        let text = format!("{target:?}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
