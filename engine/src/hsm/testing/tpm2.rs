//! A third PKCS#11 implementation for tests of named modules, with the
//! habits of real hardware: Debian's tpm2-pkcs11 over a software TPM
//! (`swtpm`). Its `C_SeedRandom` takes at most 128 bytes per call (more is
//! `CKR_GENERAL_ERROR`), every token's serial is `0000000000000000`, and
//! by default 3 wrong PINs lock the TPM for 1000 s: tests never give it a
//! wrong PIN.
//!
//! [`Tpm2Fixture::shared`] starts one `swtpm` per test process (no
//! resource manager: each tpm2 tool `tpm2_ptool` runs is wrapped so that
//! `tpm2_flushcontext -t` follows it, else the TPM runs out of object
//! slots), makes [`TPM2_TOKENS`] tokens and sets `TPM2_PKCS11_TCTI` and
//! `TPM2_PKCS11_STORE` before any module loads. The `swtpm` of a test
//! process that is gone is stopped by the next fixture.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{random_pin, run_tool, TestToken};

/// Where Debian puts the module.
pub const TPM2_MODULE: &str = "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so";

/// How many tokens the fixture makes.
pub const TPM2_TOKENS: usize = 2;

const DIR_PREFIX: &str = "hsmseed-tpm2-";

pub struct Tpm2Fixture {
    pub dir: tempfile::TempDir,
    pub module: PathBuf,
    /// In slot order.
    pub tokens: Vec<TestToken>,
}

static FIXTURE: OnceLock<Result<Tpm2Fixture, String>> = OnceLock::new();

impl Tpm2Fixture {
    /// The process's fixture, created on first use.
    ///
    /// # Panics
    ///
    /// If swtpm or tpm2-pkcs11 is not installed (`scripts/deps.sh test`) or
    /// the tokens cannot be made.
    pub fn shared() -> &'static Tpm2Fixture {
        super::shared_fixture(&FIXTURE, Self::create, "tpm2-pkcs11")
    }

    fn create() -> Result<Tpm2Fixture, String> {
        let module = PathBuf::from(TPM2_MODULE);
        if !module.is_file() {
            return Err(format!(
                "{TPM2_MODULE} not found: run `scripts/deps.sh test`"
            ));
        }
        stop_stale_tpms();
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let d = dir.path();
        for sub in ["state", "store", "bin"] {
            std::fs::create_dir(d.join(sub)).map_err(|e| format!("{sub}: {e}"))?;
        }
        std::fs::write(d.join(super::OWNER_FILE), std::process::id().to_string())
            .map_err(|e| format!("owner.pid: {e}"))?;
        let sock = d.join("sock");
        let tpm = Command::new("swtpm")
            .arg("socket")
            .arg("--tpm2")
            .arg("--tpmstate")
            .arg(format!("dir={}", d.join("state").display()))
            .arg("--server")
            .arg(format!("type=unixio,path={}", sock.display()))
            .arg("--ctrl")
            .arg(format!("type=unixio,path={}.ctrl", sock.display()))
            .arg("--flags")
            .arg("not-need-init,startup-clear")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start swtpm: {e}"))?;
        std::fs::write(d.join("swtpm.pid"), tpm.id().to_string())
            .map_err(|e| format!("swtpm.pid: {e}"))?;
        let started = Instant::now();
        while !sock.exists() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err("swtpm did not open its socket within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        wrap_tpm2_tools(&d.join("bin"))?;
        let tcti = format!("swtpm:path={}", sock.display());
        let store = d.join("store");
        let path = format!(
            "{}:{}",
            d.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let ptool = |args: &[&str]| {
            run_tool(
                Command::new("tpm2_ptool")
                    .args(args)
                    .arg("--path")
                    .arg(&store)
                    .env("PATH", &path)
                    .env("TPM2TOOLS_TCTI", &tcti)
                    .env("TPM2_PKCS11_TCTI", &tcti),
                args[0],
            )
        };
        ptool(&["init"])?;
        let mut tokens = Vec::with_capacity(TPM2_TOKENS);
        for i in 1..=TPM2_TOKENS {
            let label = format!("hsmseed-tpm-{i}");
            let (so_pin, user_pin) = (random_pin(), random_pin());
            ptool(&[
                "addtoken",
                "--pid=1",
                &format!("--label={label}"),
                &format!("--sopin={so_pin}"),
                &format!("--userpin={user_pin}"),
            ])?;
            tokens.push(TestToken {
                label,
                serial: String::new(),
                slot: 0,
                user_pin,
                so_pin,
            });
        }
        let listed = run_tool(
            Command::new("pkcs11-tool")
                .arg("--module")
                .arg(&module)
                .arg("--list-token-slots")
                .env("TPM2_PKCS11_TCTI", &tcti)
                .env("TPM2_PKCS11_STORE", &store)
                .env("TPM2_PKCS11_LOG_LEVEL", "0"),
            "--list-token-slots",
        )?;
        for (slot, serial, label) in parse_token_slots(&listed) {
            if let Some(t) = tokens.iter_mut().find(|t| t.label == label) {
                t.slot = slot;
                t.serial = serial;
            }
        }
        if let Some(t) = tokens.iter().find(|t| t.serial.is_empty()) {
            return Err(format!(
                "token {} not in pkcs11-tool --list-token-slots",
                t.label
            ));
        }
        // Process-global, read at C_Initialize: set before the module loads.
        std::env::set_var("TPM2_PKCS11_TCTI", &tcti);
        std::env::set_var("TPM2_PKCS11_STORE", &store);
        std::env::set_var("TPM2_PKCS11_LOG_LEVEL", "0");
        // The TSS logs the TPM's refusals (a seed too long) to stderr.
        std::env::set_var("TSS2_LOG", "all+NONE");
        Ok(Tpm2Fixture {
            dir,
            module,
            tokens,
        })
    }
}

/// A script per tpm2 tool in `bin`: the tool, then `tpm2_flushcontext -t`.
fn wrap_tpm2_tools(bin: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let tools = std::fs::read_dir("/usr/bin").map_err(|e| format!("/usr/bin: {e}"))?;
    for tool in tools.flatten() {
        let name = tool.file_name().to_string_lossy().into_owned();
        if !name.starts_with("tpm2_") || name == "tpm2_flushcontext" || name == "tpm2_ptool" {
            continue;
        }
        let script = bin.join(&name);
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n{} \"$@\"\nrc=$?\n/usr/bin/tpm2_flushcontext -t >/dev/null 2>&1\nexit $rc\n",
                tool.path().display()
            ),
        )
        .map_err(|e| format!("{name}: {e}"))?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// `(slot, serial, label)` of each token in `pkcs11-tool --list-token-slots`.
fn parse_token_slots(text: &str) -> Vec<(u64, String, String)> {
    let mut out: Vec<(u64, String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Slot ") {
            // "Slot 0 (0x1): label"
            let id = rest
                .split_once("(0x")
                .and_then(|(_, r)| r.split_once(')'))
                .and_then(|(hex, _)| u64::from_str_radix(hex, 16).ok());
            if let Some(id) = id {
                out.push((id, String::new(), String::new()));
            }
        } else if let (Some(last), Some((key, value))) = (out.last_mut(), line.split_once(':')) {
            match key.trim() {
                "token label" => last.2 = value.trim().to_string(),
                "serial num" => last.1 = value.trim().to_string(),
                _ => {}
            }
        }
    }
    out
}

/// Stops the swtpm of fixtures whose test process is gone, and removes them.
fn stop_stale_tpms() {
    super::remove_stale(DIR_PREFIX, |dir| {
        let tpm = std::fs::read_to_string(dir.join("swtpm.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        if let Some(tpm) = tpm {
            let comm = std::fs::read_to_string(format!("/proc/{tpm}/comm")).unwrap_or_default();
            if comm.trim() == "swtpm" {
                let _ = Command::new("kill").arg(tpm.to_string()).status();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_slots_serials_and_labels() {
        let text = "Available slots:\nSlot 0 (0x1): hsmseed-tpm-1\n  token label        : hsmseed-tpm-1\n  \
                    serial num         : 0000000000000000\nSlot 1 (0x2): hsmseed-tpm-2\n  \
                    token label        : hsmseed-tpm-2\n  serial num         : 0000000000000000\n\
                    Slot 2 (0x3): \n  token state:   uninitialized\n";
        assert_eq!(
            super::parse_token_slots(text),
            [
                (1, "0000000000000000".into(), "hsmseed-tpm-1".into()),
                (2, "0000000000000000".into(), "hsmseed-tpm-2".into()),
                (3, String::new(), String::new()),
            ]
        );
    }
}
