//! `hsmseed backup` and `hsmseed restore`: an appliance moved to a new data
//! directory (on PostgreSQL: and a new fleet database), with a reseed
//! before and after; every refusal changes nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use engine::config::Settings;
use engine::history::HistoryFilter;
use engine::hsm::UserType;
use engine::Engine;

use crate::helpers::{fixture, on_postgres, CliOutput, Options, TestApp};

async fn reseed(engine: &Engine) {
    engine
        .partitions()
        .reseed(
            "HSM1",
            engine::partitions::Trigger::Cli,
            &engine::audit::Actor::cli(),
        )
        .await
        .unwrap();
}

async fn ok_reseeds(engine: &Engine) -> i64 {
    let filter = HistoryFilter::from_fields(Some("HSM1"), None, Some("ok")).unwrap();
    engine.history().page(&filter, 1, 50).await.unwrap().total
}

/// Another appliance's place: its data directory and, on PostgreSQL, a
/// database of its own.
struct Place {
    dir: tempfile::TempDir,
    url: Option<String>,
}

impl Place {
    async fn new() -> Place {
        let url = match on_postgres() {
            true => Some(engine::store::testing::PgCluster::shared().database().await),
            false => None,
        };
        Place {
            dir: tempfile::tempdir().unwrap(),
            url,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Nothing was made there: no database file, no table.
    async fn untouched(&self) -> bool {
        match &self.url {
            None => !self.path().join("hsmseed.db").exists(),
            Some(url) => {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                let tables: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.tables \
                     WHERE table_schema = current_schema()",
                )
                .fetch_one(&mut c)
                .await
                .unwrap();
                tables == 0
            }
        }
    }

    fn settings(&self, f: &engine::hsm::testing::SoftHsmFixture) -> Settings {
        let mut settings = Settings::for_data_dir(self.path());
        settings.pkcs11_module = Some(f.module_to_load().to_path_buf());
        settings.database_url = self.url.clone().map(secrecy::SecretString::from);
        settings
    }
}

/// `hsmseed ARGS` on another appliance's place, with the app's module.
async fn cli_on(app: &TestApp, place: &Place, args: &[&str]) -> CliOutput {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"));
    cmd.args(args)
        .env_remove("HSMSEED_CONFIG")
        .envs(app.cli_env())
        .env("HSMSEED_DATA_DIR", place.path());
    if let Some(url) = &place.url {
        cmd.env("HSMSEED_DATABASE_URL", url);
    }
    let out = cmd.output().await.unwrap();
    CliOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn entries(tar: &Path) -> Vec<String> {
    let out = std::process::Command::new("tar")
        .arg("-tf")
        .arg(tar)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_backup_moves_the_appliance_with_a_reseed_before_and_after() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    app.configure("HSM1", f.token(3), UserType::User).await;
    reseed(&app.engine).await;
    app.login_as_admin().await;

    let files = tempfile::tempdir().unwrap();
    let plain = files.path().join("plain.tar");
    let keyed = files.path().join("keyed.tar");
    let p = |x: &Path| x.to_str().unwrap().to_string();

    // Online, while the server runs.
    let out = app.cli(&["backup", "--out", &p(&plain)]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Backup written to"), "{}", out.stdout);
    assert!(
        out.stdout.contains("The master key is not in it"),
        "{}",
        out.stdout
    );
    let mode = std::fs::metadata(&plain).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        entries(&plain),
        [
            "hsmseed-backup.json",
            "hsmseed.db",
            "tls/server.pem",
            "tls/server.key"
        ]
    );
    // Never over an existing file.
    let before = std::fs::read(&plain).unwrap();
    let again = app.cli(&["backup", "--out", &p(&plain)]).await;
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("name a new file"), "{}", again.stderr);
    assert_eq!(std::fs::read(&plain).unwrap(), before);
    // The master key only when asked, with a warning.
    let out = app
        .cli(&["backup", "--out", &p(&keyed), "--with-master-key"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("WARNING: this backup holds the master key"),
        "{}",
        out.stderr
    );
    assert!(entries(&keyed).contains(&"master.key".to_string()));

    // Not over a running server.
    let busy = app.cli(&["restore", "--in", &p(&plain)]).await;
    assert_ne!(busy.code, 0);
    assert!(
        busy.stderr.contains("a server is running")
            && busy.stderr.trim_end().ends_with("nothing was changed"),
        "{}",
        busy.stderr
    );
    if on_postgres() {
        // Nor, from another appliance's directory, over the fleet's
        // database while any appliance uses it.
        let url = app
            .cli_env()
            .into_iter()
            .find(|(k, _)| k == "HSMSEED_DATABASE_URL")
            .map(|(_, v)| v);
        let other = Place {
            dir: tempfile::tempdir().unwrap(),
            url,
        };
        let busy = cli_on(&app, &other, &["restore", "--in", &p(&keyed)]).await;
        assert_ne!(busy.code, 0);
        assert!(
            busy.stderr
                .contains("hsmseed is running on the fleet's database")
                && busy.stderr.trim_end().ends_with("nothing was changed"),
            "{}",
            busy.stderr
        );
        assert!(!other.path().join("master.key").exists());
    }
    assert_eq!(ok_reseeds(&app.engine).await, 1);

    // A new appliance.
    let new = Place::new().await;
    // Its secrets need the master key it was made with: refused, nothing made.
    let refused = cli_on(&app, &new, &["restore", "--in", &p(&plain)]).await;
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("has none") && refused.stderr.contains("--with-master-key"),
        "{}",
        refused.stderr
    );
    assert!(new.untouched().await);
    // Not a backup at all.
    let junk = files.path().join("junk.tar");
    std::fs::write(&junk, b"not a tar file at all, just words").unwrap();
    let refused = cli_on(&app, &new, &["restore", "--in", &p(&junk)]).await;
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("is not an hsmseed backup"),
        "{}",
        refused.stderr
    );
    assert!(new.untouched().await);

    let out = cli_on(&app, &new, &["restore", "--in", &p(&keyed)]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("master key included"), "{}", out.stdout);
    if on_postgres() {
        assert!(
            out.stdout.contains("into the fleet's database")
                && out
                    .stdout
                    .contains("Every appliance of the fleet needs this master key"),
            "{}",
            out.stdout
        );
    }

    // The moved appliance: same configuration, its sealed password opens,
    // the history came along, and no session did.
    let moved = Engine::open(new.settings(f)).await.unwrap();
    assert_eq!(ok_reseeds(&moved).await, 1);
    reseed(&moved).await;
    assert_eq!(ok_reseeds(&moved).await, 2);
    let sessions: i64 = engine::store::db::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(moved.store().pool())
        .await
        .unwrap();
    assert_eq!(sessions, 0);
    moved
        .auth()
        .login(
            "admin",
            &crate::helpers::ADMIN_PASSWORD.to_string().into(),
            None,
            "test",
        )
        .await
        .unwrap();
    moved.store().pool().close().await;
    drop(moved);

    // Now it has that key: the backup without it restores too, and what it
    // replaced is kept.
    let out = cli_on(&app, &new, &["restore", "--in", &p(&plain)]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("What it replaced is kept in"),
        "{}",
        out.stdout
    );
    let kept = std::fs::read_dir(new.path().join("backups"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("before-restore-")
        })
        .count();
    assert_eq!(kept, 1);
}
