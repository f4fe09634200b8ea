//! Two appliances on loopback: B's entropy source is A (QRNG Open API,
//! with a token and A's certificate). Stop A: B fails closed (503, no
//! C_SeedRandom in the spy log); start A again: B recovers by itself.

use std::process::Stdio;
use std::time::{Duration, Instant};

use engine::auth::tokens::Scope;
use engine::hsm::UserType;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use crate::helpers::{fixture, Options, TestApp};

/// Token 0 is only used under `exclusive()` (its calls are asserted on).
const TRACED: usize = 0;

/// Appliance A: `hsmseed serve` on a data directory and a fixed port.
fn start_a(data: &std::path::Path, port: u16) -> tokio::process::Child {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .arg("serve")
        .env("HSMSEED_DATA_DIR", data)
        .env("HSMSEED_LISTEN", format!("127.0.0.1:{port}"))
        .env("HSMSEED_ADMIN_PASSWORD", "a's first password, unused")
        .env("HSMSEED_LOG", "warn")
        .env_remove("HSMSEED_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(_)) = lines.next_line().await {}
    });
    child
}

async fn wait_healthy(port: u16) {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end {
        if let Ok(r) = client
            .get(format!("https://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            if r.status() == StatusCode::OK {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("appliance A did not start");
}

async fn stop(child: &mut tokio::process::Child) {
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
}

/// B's `/api/2.0/status` until `entropy.state` is `state` (at most 30 s).
async fn until_entropy(b: &TestApp, read: &str, state: &str) -> Value {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let body: Value = b
            .get_with_token("/api/2.0/status", read)
            .await
            .json()
            .await
            .unwrap();
        if body["entropy"]["state"] == state {
            return body;
        }
        assert!(
            Instant::now() < end,
            "B's entropy never got {state}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_seeds_from_a_fails_closed_without_it_and_recovers_when_it_returns() {
    let f = fixture();
    let mut spy = f.exclusive().await;
    let a_data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut a = start_a(a_data.path(), port);
    wait_healthy(port).await;

    // A's token for B (scope entropy), and A's certificate.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .args(["token-new", "--name=appliance-b", "--scope=entropy"])
        .env("HSMSEED_DATA_DIR", a_data.path())
        .env("HSMSEED_LOG", "warn")
        .env_remove("HSMSEED_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = tempfile::tempdir().unwrap();
    let token_file = files.path().join("a.token");
    std::fs::write(&token_file, &out.stdout).unwrap();
    let ca_file = files.path().join("a.pem");
    std::fs::copy(a_data.path().join("tls/server.pem"), &ca_file).unwrap();

    let source = format!(
        "qrng:https://127.0.0.1:{port}/ token_file={} ca_file={} refresh_ms=300 timeout_ms=2000",
        token_file.display(),
        ca_file.display()
    );
    let b = TestApp::spawn_with(Options {
        entropy: Some(source.parse().unwrap()),
        ..Options::with_hsm()
    })
    .await;
    let t = f.token(TRACED);
    b.configure("HSM1", t, UserType::User).await;
    let seed = b.token("automation", Scope::Seed).await;
    let read = b.token("monitor", Scope::Read).await;
    let name = format!("qrng:https://127.0.0.1:{port}/");

    // A feeds B.
    let status = until_entropy(&b, &read, "ok").await;
    assert_eq!(status["entropySources"][0]["source"], name.as_str());
    assert_eq!(status["entropySources"][0]["remote"]["state"], "ok");
    spy.restart();
    let r = b.api_reseed(&seed, "HSM1").await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let seeds = spy.calls_of("C_SeedRandom");
    if f.spy.is_some() {
        assert_eq!(seeds.len(), 1);
        assert_eq!(seeds[0].data_len, Some(32));
    }
    let rows = b.history("HSM1").await;
    assert_eq!(rows[0].source, name, "the history row names the source");
    let metrics = b
        .get_with_token("/metrics", &read)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "hsmseed_entropy_source_healthy{{source=\"{name}\"}} 1"
        )),
        "{metrics}"
    );

    // A stops: B fails closed, and nothing reaches the HSM.
    stop(&mut a).await;
    let status = until_entropy(&b, &read, "failed").await;
    let fetcher = &status["entropySources"][0]["remote"];
    assert!(
        ["backoff", "connecting"].contains(&fetcher["state"].as_str().unwrap()),
        "{fetcher}"
    );
    assert_eq!(fetcher["buffered"], 0);
    spy.restart();
    let r = b.api_reseed(&seed, "HSM1").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains(&name), "{body}");
    assert!(spy.calls_of("C_SeedRandom").is_empty(), "no seed without A");
    let ready = b.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    // A is back: B recovers without a restart.
    let mut a = start_a(a_data.path(), port);
    wait_healthy(port).await;
    until_entropy(&b, &read, "ok").await;
    spy.restart();
    let r = b.api_reseed(&seed, "HSM1").await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    if f.spy.is_some() {
        assert_eq!(spy.calls_of("C_SeedRandom").len(), 1);
    }
    stop(&mut a).await;
}
