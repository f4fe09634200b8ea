//! Two processes on a fresh data directory: a server and a console command
//! started together set it up once, with one master key that both use.

use std::process::Stdio;
use std::time::Duration;

use engine::audit::Actor;
use engine::partitions::Trigger;
use reqwest::StatusCode;
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

use crate::helpers::fixture;

const ADMIN: &str = "first admin password";

fn hsmseed(data: &std::path::Path, module: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hsmseed"));
    c.env_remove("HSMSEED_CONFIG")
        .env("HSMSEED_DATA_DIR", data)
        .env("HSMSEED_PKCS11_MODULE", module)
        .env("HSMSEED_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

type Lines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// The address the server prints once it serves, and the rest of what it
/// prints (kept open: a server whose standard output is closed fails).
async fn serving(server: &mut Child) -> (String, Lines) {
    let mut out = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), out.next_line())
            .await
            .expect("the server starts")
            .unwrap();
        let Some(line) = line else {
            let mut err = String::new();
            let stderr = server.stderr.as_mut().unwrap();
            tokio::io::AsyncReadExt::read_to_string(stderr, &mut err)
                .await
                .unwrap();
            panic!("the server did not start: {err}");
        };
        if let Some(u) = line.strip_prefix("hsmseed 0.1.0 serving ") {
            return (u.to_string(), out);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_and_a_console_command_started_together_share_one_setup() {
    let f = fixture();
    let _g = f.shared_access().await;
    let t = f.token(1);
    for trial in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let mut server = hsmseed(&data, f.module_to_load())
            .arg("serve")
            .env("HSMSEED_LISTEN", "127.0.0.1:0")
            .env("HSMSEED_TLS", "off")
            .env("HSMSEED_ADMIN_PASSWORD", ADMIN)
            .spawn()
            .unwrap();
        // The console seals a partition password meanwhile.
        let cli = hsmseed(&data, f.module_to_load())
            .args(["hsm-conf-new", "--name=BYCLI"])
            .output();
        let ((url, _out), cli) = tokio::join!(serving(&mut server), cli);
        let cli = cli.unwrap();
        assert!(
            cli.status.success(),
            "trial {trial}: {}",
            String::from_utf8_lossy(&cli.stderr)
        );
        let edit = hsmseed(&data, f.module_to_load())
            .args([
                "hsm-conf-edit",
                "--name=BYCLI",
                &format!("--partitionPwd={}", t.user_pin),
                &format!("--slot={}", t.slot),
            ])
            .output()
            .await
            .unwrap();
        assert!(
            edit.status.success(),
            "{}",
            String::from_utf8_lossy(&edit.stderr)
        );

        // The server seals one too, with the key it holds.
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let post = |path: &str, form: Vec<(&'static str, String)>| {
            client
                .post(format!("{url}{path}"))
                .header("origin", &url)
                .header("accept", "application/json")
                .form(&form)
                .send()
        };
        let r = post(
            "/login",
            vec![("username", "admin".into()), ("password", ADMIN.into())],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = post(
            "/sfn/create_hsm",
            vec![
                ("name", "BYSERVER".into()),
                ("partition_pwd", t.user_pin.clone()),
                ("slot", t.slot.to_string()),
            ],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "trial {trial}");
        server.kill().await.unwrap();

        // One key on disk, and after a restart both secrets open with it.
        let keys: Vec<_> = std::fs::read_dir(&data)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("master"))
            .collect();
        assert_eq!(keys, ["master.key"], "trial {trial}");
        let mut settings = engine::config::Settings::for_data_dir(&data);
        settings.pkcs11_module = Some(f.module_to_load().to_path_buf());
        let engine = engine::Engine::open(settings).await.unwrap();
        for name in ["BYCLI", "BYSERVER"] {
            engine
                .partitions()
                .reseed(name, Trigger::Cli, &Actor::cli())
                .await
                .unwrap_or_else(|e| panic!("trial {trial}: {name}: {e}"));
        }
    }
}
