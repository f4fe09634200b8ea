//! A private PostgreSQL cluster for tests: Debian's `postgresql` (`scripts/
//! deps.sh test`), started by the test process itself in a temporary
//! directory, never as a system service. `initdb` refuses to run as root:
//! as root, the cluster belongs to the `postgres` user the package made
//! (`runuser`); otherwise to the user running the tests. It listens on a
//! Unix socket in its own directory only (no TCP port to collide with).
//!
//! [`PgCluster::shared`] starts one cluster per test process; each test
//! takes a database of its own ([`PgCluster::database`]). The cluster of a
//! test process that is gone is stopped by the next fixture.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use sqlx::Connection;

use crate::hsm::testing::{remove_stale, shared_fixture, OWNER_FILE};

const DIR_PREFIX: &str = "hsmseed-pg-";

pub struct PgCluster {
    pub dir: tempfile::TempDir,
    /// The directory holding the server's socket.
    socket_dir: PathBuf,
    /// PostgreSQL's programs.
    bin: PathBuf,
}

static FIXTURE: OnceLock<Result<PgCluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

impl PgCluster {
    /// The process's cluster, started on first use.
    ///
    /// # Panics
    ///
    /// If PostgreSQL is not installed (`scripts/deps.sh test`) or the
    /// cluster cannot be started.
    pub fn shared() -> &'static PgCluster {
        shared_fixture(&FIXTURE, || Self::start(false), "PostgreSQL")
    }

    /// The URL of database `name` in this cluster.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://postgres@localhost/{name}?host={}",
            self.socket_dir.display()
        )
    }

    /// A new, empty database of its own; its URL.
    ///
    /// # Panics
    ///
    /// If the cluster refuses to create it.
    #[allow(clippy::expect_used)] // test support: failing loudly is the point
    pub async fn database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .expect("connecting to the test cluster");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("creating a test database");
        let _ = admin.close().await;
        self.url(&name)
    }

    /// A cluster of its own, stopped when dropped (or, like the shared
    /// one, once this process is gone). `durable`: it syncs its commits to
    /// disk, as a production server does (the benchmark's); the tests'
    /// does not (their data is thrown away).
    pub fn start(durable: bool) -> Result<PgCluster, String> {
        let bin = pg_bin_dir()?;
        stop_stale_clusters();
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let d = dir.path();
        std::fs::write(d.join(OWNER_FILE), std::process::id().to_string())
            .map_err(|e| format!("owner.pid: {e}"))?;
        if is_root() {
            run(Command::new("chown").arg("postgres:").arg(d), "chown")?;
        }
        let tool = |name: &str| pg_tool(&bin, name);
        let data = d.join("data");
        run(
            tool("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", "postgres", "-E", "UTF8"])
                .args(["--locale=C.UTF-8", "--no-sync"]),
            "initdb",
        )?;
        // No TCP at all. Room for the connections of many engines at once
        // (each test app has a pool and a change-feed listener).
        let options = format!(
            "-k {} -c listen_addresses= -c max_connections=400{}",
            d.display(),
            if durable { "" } else { " -F" }
        );
        run(
            tool("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-o")
                .arg(options)
                .arg("-l")
                .arg(d.join("server.log"))
                .args(["-w", "start"]),
            "pg_ctl start",
        )?;
        watch_owner(d)?;
        Ok(PgCluster {
            socket_dir: d.to_path_buf(),
            dir,
            bin,
        })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = pg_tool(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// PostgreSQL's program `name`, run as the `postgres` user when root
/// (`initdb` refuses root).
fn pg_tool(bin: &Path, name: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(name));
        c
    } else {
        Command::new(bin.join(name))
    }
}

/// Starts a watcher that stops the server and removes `dir` once this
/// process is gone (statics are never dropped, and a server outlives the
/// process that started it).
fn watch_owner(dir: &Path) -> Result<(), String> {
    let pid = postmaster_pid(dir).ok_or("the server wrote no postmaster.pid")?;
    let script = format!(
        "while kill -0 {owner} 2>/dev/null; do sleep 1; done; \
         kill -QUIT {pid} 2>/dev/null; sleep 1; rm -rf '{dir}'",
        owner = std::process::id(),
        dir = dir.display(),
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster's watcher: {e}"))?;
    Ok(())
}

fn postmaster_pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("data/postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
}

/// `/usr/lib/postgresql/<newest version>/bin`.
fn pg_bin_dir() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(root)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(v, _)| *v);
    newest.map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL not found in /usr/lib/postgresql: run `scripts/deps.sh test`".into()
    })
}

fn is_root() -> bool {
    // The effective uid, from the kernel's view of this process.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Stops the PostgreSQL server of fixtures whose test process is gone and
/// whose watcher did not (immediate shutdown: nothing in it is kept), and
/// removes them.
fn stop_stale_clusters() {
    remove_stale(DIR_PREFIX, |dir| {
        if let Some(pid) = postmaster_pid(dir) {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "postgres" {
                let _ = Command::new("kill")
                    .args(["-QUIT", &pid.to_string()])
                    .status();
            }
        }
    });
}
