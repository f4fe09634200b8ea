//! A second, different PKCS#11 implementation for tests of named modules:
//! kryoptic (a soft token written in Rust, from the crate registry), built
//! by `scripts/deps.sh test` into a cache outside the clone. Its path comes
//! from `HSMSEED_KRYOPTIC_MODULE`, else that cache.
//!
//! Like SoftHSM2 it reads its configuration (`KRYOPTIC_CONF`) when
//! `C_Initialize` runs, so [`KryopticFixture::shared`] creates one token
//! (slot [`KRYOPTIC_SLOT`], random PINs of 16 characters: kryoptic wants at
//! least 8) once per process and sets `KRYOPTIC_CONF` before any module
//! loads. Its `C_SeedRandom` refuses seeds under 32 bytes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{random_pin, run_tool, TestToken};

/// The slot of the fixture's token.
pub const KRYOPTIC_SLOT: u64 = 42;

/// Where `scripts/deps.sh test` builds the library when
/// `HSMSEED_KRYOPTIC_MODULE` is not set.
pub fn default_module_path() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    cache.join("hsmseed/kryoptic/libkryoptic_pkcs11.so")
}

pub struct KryopticFixture {
    pub dir: tempfile::TempDir,
    /// The library.
    pub module: PathBuf,
    pub token: TestToken,
}

static FIXTURE: OnceLock<Result<KryopticFixture, String>> = OnceLock::new();

impl KryopticFixture {
    /// The process's fixture, created on first use.
    ///
    /// # Panics
    ///
    /// If kryoptic is not built (`scripts/deps.sh test`) or its token
    /// cannot be made: a test that needs it cannot run without it.
    pub fn shared() -> &'static KryopticFixture {
        super::shared_fixture(&FIXTURE, Self::create, "kryoptic")
    }

    fn create() -> Result<KryopticFixture, String> {
        let module = std::env::var_os("HSMSEED_KRYOPTIC_MODULE")
            .map(PathBuf::from)
            .unwrap_or_else(default_module_path);
        if !module.is_file() {
            return Err(format!(
                "{} not found: run `scripts/deps.sh test` (or set HSMSEED_KRYOPTIC_MODULE)",
                module.display()
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("hsmseed-kryoptic-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let conf = dir.path().join("kryoptic.conf");
        std::fs::write(
            &conf,
            format!(
                "[[slots]]\nslot = {KRYOPTIC_SLOT}\ndbtype = \"sqlite\"\ndbargs = \"{}\"\n",
                dir.path().join("token.sql").display()
            ),
        )
        .map_err(|e| format!("cannot write {conf:?}: {e}"))?;
        let label = "hsmseed-kry-1".to_string();
        let so_pin = format!("{}{}", random_pin(), random_pin());
        let user_pin = format!("{}{}", random_pin(), random_pin());
        let slot = KRYOPTIC_SLOT.to_string();
        pkcs11_tool(
            &module,
            &conf,
            &[
                "--slot",
                &slot,
                "--init-token",
                "--label",
                &label,
                "--so-pin",
                &so_pin,
            ],
        )?;
        pkcs11_tool(
            &module,
            &conf,
            &[
                "--slot",
                &slot,
                "--login",
                "--login-type",
                "so",
                "--so-pin",
                &so_pin,
                "--init-pin",
                "--pin",
                &user_pin,
            ],
        )?;
        let serial = serial_of(&pkcs11_tool(&module, &conf, &["--list-token-slots"])?)
            .ok_or("no token serial in pkcs11-tool --list-token-slots")?;
        // Process-global, read at C_Initialize: set before the module loads.
        std::env::set_var("KRYOPTIC_CONF", &conf);
        Ok(KryopticFixture {
            dir,
            module,
            token: TestToken {
                label,
                serial,
                slot: KRYOPTIC_SLOT,
                user_pin,
                so_pin,
            },
        })
    }
}

fn pkcs11_tool(module: &Path, conf: &Path, args: &[&str]) -> Result<String, String> {
    run_tool(
        Command::new("pkcs11-tool")
            .arg("--module")
            .arg(module)
            .args(args)
            .env("KRYOPTIC_CONF", conf),
        args.get(2).copied().unwrap_or_default(),
    )
}

/// The first `serial num : …` of `pkcs11-tool --list-token-slots`.
fn serial_of(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        (key.trim() == "serial num").then(|| value.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_serial_pkcs11_tool_lists() {
        let text =
            "Available slots:\nSlot 0 (0x2a): Kryoptic\n  token label        : hsmseed-kry-1\n  \
                    token manufacturer : Kryoptic\n  serial num         : 7a1b2c3d\n";
        assert_eq!(super::serial_of(text).as_deref(), Some("7a1b2c3d"));
    }
}
