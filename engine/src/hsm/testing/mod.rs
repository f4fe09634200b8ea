//! A SoftHSM2 fixture for tests: this crate's, and other crates' integration
//! tests (feature `test-support`).
//!
//! # Why one fixture per process
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` when `C_Initialize` runs and does not see
//! tokens created afterwards by another process, and PKCS#11 initialisation
//! is process-global (see `Hsm::load`). So [`SoftHsmFixture::shared`]
//! creates, once per process and before any module is loaded, a private
//! token directory with [`TOKEN_COUNT`] tokens (`hsmseed-test-1` …, random
//! PINs), and sets `SOFTHSM2_CONF` in the process environment. Every test in
//! one test binary shares it. Its temporary directory lives until the
//! process exits (statics are never dropped) and stays behind; the next
//! fixture removes such directories whose owning process is gone.
//!
//! # The PKCS#11 spy, and which path to load
//!
//! When OpenSC's `pkcs11-spy.so` is installed, `shared()` also sets
//! `PKCS11SPY=<real libsofthsm2.so>` and `PKCS11SPY_OUTPUT=<dir>/spy.log`
//! (the spy reads both at its `C_Initialize`), so every PKCS#11 call made
//! through the spy is logged there.
//!
//! The spy and the real module cannot both be used in one process: the spy
//! forwards to the very same mapped `libsofthsm2.so`, so whichever is
//! initialised second gets `CKR_CRYPTOKI_ALREADY_INITIALIZED`, and
//! finalizing one finalizes the other (verified with SoftHSM 2.6.1 and
//! OpenSC's spy). Therefore **every test must load
//! [`SoftHsmFixture::module_to_load`]** — the spy when installed, else the
//! real module — and nothing else.
//!
//! # The spy log format
//!
//! Each call is a block; the spy flushes after each call and appends across
//! re-initialisations (the call counter restarts when the spy is unloaded):
//!
//! ```text
//! 4: C_OpenSession
//! 2026-11-28 06:14:36.306
//! [in] slotID = 0x11d2a76b
//! [in] flags = 0x6
//! [out] *phSession = 0x1
//! Returned:  0 CKR_OK
//!
//! 22: C_SeedRandom
//! 2026-11-28 06:16:30.679
//! [in] hSession = 0x1
//! [in] pSeed[ulSeedLen] 000055b58750e5f8 / 32
//!     00000000  07 07 07 07 07 07 07 07 07 07 07 07 07 07 07 07  ................
//!     00000010  07 07 07 07 07 07 07 07 07 07 07 07 07 07 07 07  ................
//! Returned:  0 CKR_OK
//! ```
//!
//! `C_SeedRandom` names only the session, so [`parse_spy_log`] maps session
//! handles to slots through the `C_OpenSession` blocks. The spy logs PINs
//! and seeds in clear: a test tool only. It does not serialise concurrent
//! calls, so blocks of calls from different threads can interleave. Tests
//! that read the log therefore take [`SoftHsmFixture::exclusive`] (no other
//! fixture user runs meanwhile) and everything else takes
//! [`SoftHsmFixture::shared_access`]; and a slot whose calls are asserted on
//! should only ever be used under `exclusive` (this crate reserves token 1
//! for that).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rand::RngCore;
use secrecy::SecretString;

use super::{SeedTarget, UserType};

pub mod kryoptic;
mod spy;
pub mod tpm2;
pub use kryoptic::KryopticFixture;
pub use spy::{parse_spy_log, SpyCall, SpyCapture};
pub use tpm2::Tpm2Fixture;

/// How many tokens [`SoftHsmFixture::shared`] creates.
pub const TOKEN_COUNT: usize = 4;

/// Where distributions put SoftHSM2's PKCS#11 library.
pub const SOFTHSM_MODULES: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];

/// Where distributions put OpenSC's PKCS#11 spy.
pub const SPY_MODULES: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so",
    "/usr/lib/pkcs11-spy.so",
];

/// Where distributions put p11-kit's trust module (Debian
/// `p11-kit-modules`): a real PKCS#11 token without a random number
/// generator (`CKF_RNG` unset; `C_SeedRandom` answers `CKR_RANDOM_NO_RNG`),
/// so one that does not accept seed material.
pub const P11_KIT_TRUST_MODULES: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-trust.so",
];

/// p11-kit's trust module (see [`P11_KIT_TRUST_MODULES`]); panics with
/// what to install when it is missing.
#[allow(clippy::panic)] // test support: failing loudly is the point
pub fn p11_kit_trust() -> PathBuf {
    P11_KIT_TRUST_MODULES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "p11-kit's trust module is missing: scripts/deps.sh test installs p11-kit-modules"
            )
        })
}

/// A SoftHSM2 token directory private to this process.
pub struct SoftHsmFixture {
    /// The temporary directory holding the tokens, the config and the spy log.
    pub dir: tempfile::TempDir,
    /// The `SOFTHSM2_CONF` file (also set in the process environment).
    pub conf: PathBuf,
    /// The real `libsofthsm2.so`.
    pub module: PathBuf,
    /// OpenSC's `pkcs11-spy.so`, if installed.
    pub spy: Option<PathBuf>,
    /// The tokens, in label order (`hsmseed-test-1` first).
    pub tokens: Vec<TestToken>,
}

/// One initialised SoftHSM2 token.
#[derive(Clone)]
pub struct TestToken {
    pub label: String,
    pub serial: String,
    pub slot: u64,
    pub user_pin: String,
    pub so_pin: String,
}

impl std::fmt::Debug for TestToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestToken")
            .field("label", &self.label)
            .field("serial", &self.serial)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

impl TestToken {
    /// A reseed target for this token as `user_type`, with the right PIN
    /// (the SO PIN for `CKU_SO`, the user PIN otherwise).
    pub fn target(&self, user_type: UserType) -> SeedTarget {
        let pin = match user_type {
            UserType::So => &self.so_pin,
            UserType::User | UserType::CryptoUser => &self.user_pin,
        };
        SeedTarget {
            slot: self.slot,
            pinned_serial: None,
            user_type,
            pin: SecretString::from(pin.as_str()),
            guard: None,
        }
    }

    /// A `CKU_USER` target with a PIN that is not this token's.
    pub fn wrong_pin_target(&self) -> SeedTarget {
        SeedTarget {
            slot: self.slot,
            pinned_serial: None,
            user_type: UserType::User,
            pin: SecretString::from(format!("{}-wrong", self.user_pin)),
            guard: None,
        }
    }
}

impl std::fmt::Debug for SoftHsmFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftHsmFixture")
            .field("dir", &self.dir.path())
            .field("conf", &self.conf)
            .field("module", &self.module)
            .field("spy", &self.spy)
            .field("tokens", &self.tokens)
            .finish()
    }
}

static FIXTURE: OnceLock<Result<SoftHsmFixture, String>> = OnceLock::new();

/// Spy-log readers take it for writing, all other fixture users for reading.
static ACCESS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

impl SoftHsmFixture {
    /// The process's fixture, created on first use (see the module docs).
    ///
    /// # Panics
    ///
    /// If SoftHSM2 is not installed or the tokens cannot be created: a test
    /// that needs the fixture cannot run without it.
    #[allow(clippy::panic)] // test support: failing loudly is the point
    pub fn shared() -> &'static SoftHsmFixture {
        match Self::try_shared() {
            Ok(fixture) => fixture,
            Err(e) => panic!("SoftHSM2 test fixture: {e}"),
        }
    }

    /// [`shared`](Self::shared) without the panic.
    pub fn try_shared() -> Result<&'static SoftHsmFixture, String> {
        Self::try_shared_with(TOKEN_COUNT)
    }

    /// The process's fixture with at least `tokens` tokens (the first
    /// [`TOKEN_COUNT`] are the usual ones): only the first call of the
    /// process chooses, a later one asking for more than there are fails.
    pub fn try_shared_with(tokens: usize) -> Result<&'static SoftHsmFixture, String> {
        let fixture = FIXTURE
            .get_or_init(|| Self::create(tokens.max(TOKEN_COUNT)))
            .as_ref()
            .map_err(Clone::clone)?;
        if fixture.tokens.len() < tokens {
            return Err(format!(
                "the fixture was made with {} tokens before {tokens} were asked for",
                fixture.tokens.len()
            ));
        }
        Ok(fixture)
    }

    fn create(count: usize) -> Result<SoftHsmFixture, String> {
        let module = SOFTHSM_MODULES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or_else(|| format!("libsofthsm2.so not found in {SOFTHSM_MODULES:?}"))?;
        let spy = SPY_MODULES.iter().map(PathBuf::from).find(|p| p.is_file());

        remove_stale_fixtures();
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let owner = dir.path().join(OWNER_FILE);
        std::fs::write(&owner, std::process::id().to_string())
            .map_err(|e| format!("cannot write {owner:?}: {e}"))?;
        let token_dir = dir.path().join("tokens");
        std::fs::create_dir(&token_dir).map_err(|e| format!("cannot create {token_dir:?}: {e}"))?;
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                token_dir.display()
            ),
        )
        .map_err(|e| format!("cannot write {conf:?}: {e}"))?;

        let mut pins = Vec::with_capacity(count);
        for i in 1..=count {
            let label = format!("hsmseed-test-{i}");
            let user_pin = random_pin();
            let so_pin = random_pin();
            softhsm_util(
                &conf,
                &[
                    "--init-token",
                    "--free",
                    "--label",
                    &label,
                    "--so-pin",
                    &so_pin,
                    "--pin",
                    &user_pin,
                ],
            )?;
            pins.push((label, user_pin, so_pin));
        }
        let listed = parse_show_slots(&softhsm_util(&conf, &["--show-slots"])?);
        let mut tokens = Vec::with_capacity(count);
        for (label, user_pin, so_pin) in pins {
            let (slot, serial) = listed
                .iter()
                .find(|(_, _, l)| *l == label)
                .map(|(slot, serial, _)| (*slot, serial.clone()))
                .ok_or_else(|| format!("token {label} not in softhsm2-util --show-slots"))?;
            tokens.push(TestToken {
                label,
                serial,
                slot,
                user_pin,
                so_pin,
            });
        }

        // Process-global, read at C_Initialize: set before any module loads.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        if spy.is_some() {
            std::env::set_var("PKCS11SPY", &module);
            std::env::set_var("PKCS11SPY_OUTPUT", dir.path().join("spy.log"));
        }
        Ok(SoftHsmFixture {
            dir,
            conf,
            module,
            spy,
            tokens,
        })
    }

    /// The module path every test in this process must load: the spy if
    /// installed (so calls are logged), else the real SoftHSM2 library.
    /// Never load both (see the module docs).
    pub fn module_to_load(&self) -> &Path {
        self.spy.as_deref().unwrap_or(&self.module)
    }

    /// The spy's log file, if the spy is installed.
    pub fn spy_log(&self) -> Option<PathBuf> {
        self.spy.as_ref().map(|_| self.dir.path().join("spy.log"))
    }

    /// Token `i` (0-based: `tokens[0]` is `hsmseed-test-1`).
    pub fn token(&self, i: usize) -> &TestToken {
        &self.tokens[i]
    }

    /// Run alone: waits until no other fixture user is running and keeps
    /// them out while the capture lives; [`SpyCapture::calls`] then shows
    /// exactly the PKCS#11 calls made meanwhile.
    pub async fn exclusive(&self) -> SpyCapture {
        let guard = ACCESS.write().await;
        let log = self.spy_log();
        let start = log
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        SpyCapture {
            _guard: guard,
            log,
            start,
        }
    }

    /// Access alongside other non-exclusive users (keeps `exclusive` ones out).
    pub async fn shared_access(&self) -> tokio::sync::RwLockReadGuard<'static, ()> {
        ACCESS.read().await
    }
}

/// Prefix of the fixture's temporary directory.
const DIR_PREFIX: &str = "hsmseed-softhsm-";
/// File in the fixture directory naming the process that owns it.
pub(crate) const OWNER_FILE: &str = "owner.pid";

/// The fixture directory outlives its process (statics are never dropped);
/// remove those left by processes that are gone (Linux: `/proc/<pid>`).
fn remove_stale_fixtures() {
    remove_stale(DIR_PREFIX, |_| {});
}

/// Removes the temporary directories named `prefix…` whose owning process
/// ([`OWNER_FILE`]) is gone, after `stop(dir)` (what they left running).
pub(crate) fn remove_stale(prefix: &str, stop: impl Fn(&Path)) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_fixture = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(prefix));
        if !is_fixture || !Path::new("/proc/self").exists() {
            continue;
        }
        let Ok(owner) = std::fs::read_to_string(path.join(OWNER_FILE)) else {
            continue;
        };
        let alive = owner
            .trim()
            .parse::<u32>()
            .map_or(true, |pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            stop(&path);
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// A fixture of the process, made at first use by `create`.
///
/// # Panics
///
/// If it cannot be made: a test that needs it cannot run without it.
#[allow(clippy::panic)] // test support: failing loudly is the point
pub(crate) fn shared_fixture<T: Send + Sync>(
    cell: &'static OnceLock<Result<T, String>>,
    create: fn() -> Result<T, String>,
    what: &str,
) -> &'static T {
    match cell.get_or_init(create) {
        Ok(f) => f,
        Err(e) => panic!("{what} test fixture: {e}"),
    }
}

fn random_pin() -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn softhsm_util(conf: &Path, args: &[&str]) -> Result<String, String> {
    run_tool(
        Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", conf),
        args.first().copied().unwrap_or_default(),
    )
}

/// Runs a token tool; its standard output, or what it said on failure
/// (`what` names the step).
fn run_tool(cmd: &mut Command, what: &str) -> Result<String, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} {what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `(slot, serial, label)` of each slot in `softhsm2-util --show-slots`.
fn parse_show_slots(text: &str) -> Vec<(u64, String, String)> {
    let mut out: Vec<(u64, String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(slot) = line.strip_prefix("Slot ") {
            if let Ok(slot) = slot.trim().parse() {
                out.push((slot, String::new(), String::new()));
            }
        } else if let Some(last) = out.last_mut() {
            let line = line.trim();
            if let Some(serial) = line.strip_prefix("Serial number:") {
                last.1 = serial.trim().to_owned();
            } else if let Some(label) = line.strip_prefix("Label:") {
                last.2 = label.trim().to_owned();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_show_slots() {
        let text = "Available slots:\nSlot 299018091\n    Slot info:\n        Description:      SoftHSM slot ID 0x11d2a76b  \n\
    Token info:\n        Serial number:    891c3d9a11d2a76b\n        Label:            t1                              \n\
Slot 2\n    Token info:\n        Serial number:                    \n        Label:                                            \n";
        assert_eq!(
            parse_show_slots(text),
            [
                (299018091, "891c3d9a11d2a76b".to_owned(), "t1".to_owned()),
                (2, String::new(), String::new()),
            ]
        );
    }
}
