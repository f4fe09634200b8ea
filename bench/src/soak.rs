//! `make soak`: reseeds under load, `kill -9` of the server in the middle,
//! a restart, again and again; then every answered reseed is looked for in
//! the history and the audit log. Nothing answered may be missing (lost),
//! and nothing may be there more than once or without a request (duplicated).
//!
//! Each round starts the release `hsmseed serve` on a port-0 listener of
//! 127.0.0.1 over one data directory, drives `POST /api/2.0/hsmseed` from
//! concurrent clients with an API token, and kills the server with SIGKILL
//! after a random time. A request answered 200 is *acknowledged*; one whose
//! connection broke is *unknown* (it may or may not have been recorded).
//! The check: acknowledged ≤ rows ≤ acknowledged + unknown, for the history
//! and for the audit log alike. The figures go to standard output and to
//! `bench/soak.json`; the exit status is non-zero when a check fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use engine::audit::Actor;
use engine::auth::tokens::Scope;
use engine::config::Settings;
use engine::hsm::testing::SoftHsmFixture;
use engine::hsm::UserType;
use rand::Rng;
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::io::AsyncBufReadExt;

#[derive(Debug, Parser)]
#[command(about = "hsmseed: reseeds under load, kill -9, restart; nothing lost or duplicated")]
struct Args {
    /// Kill-and-restart rounds
    #[arg(long, default_value_t = 8)]
    rounds: usize,
    /// Concurrent clients
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// The longest a round runs before the kill (seconds; each round picks
    /// a random time from a third of it up to it)
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// The release binary
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Where the figures go
    #[arg(long, default_value = "bench/soak.json")]
    out: PathBuf,
}

/// How the requests of all rounds were answered.
#[derive(Default)]
struct Tally {
    acknowledged: AtomicU64,
    unknown: AtomicU64,
    refused: AtomicU64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let fixture = SoftHsmFixture::try_shared().map_err(|e| anyhow::anyhow!("SoftHSM2: {e}"))?;
    let bin = args.server_bin.clone().unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("target"))
            .join("release/hsmseed")
    });
    anyhow::ensure!(
        bin.is_file(),
        "{} is missing: cargo build --release -p server",
        bin.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(soak(&args, fixture, &bin))
}

async fn soak(args: &Args, fixture: &SoftHsmFixture, bin: &Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let token = fixture.token(0);
    // The data directory: one configuration on a SoftHSM2 token, a token.
    let secret = {
        let mut settings = Settings::for_data_dir(&data);
        settings.pkcs11_module = Some(fixture.module.clone());
        let engine = engine::Engine::open(settings).await?;
        let cli = Actor::cli();
        engine.partitions().create_config("SOAK", &cli).await?;
        engine
            .partitions()
            .edit_config(
                "SOAK",
                engine::partitions::ConfigEdit::for_token(token, UserType::User),
                &cli,
            )
            .await?;
        let t = engine
            .auth()
            .create_token("soak", Scope::Seed, &cli)
            .await?;
        t.secret.expose_secret().to_string()
    };
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    for round in 0..args.rounds {
        let run_for = {
            let mut rng = rand::thread_rng();
            Duration::from_secs_f64(rng.gen_range(args.seconds / 3.0..=args.seconds))
        };
        let (acked_before, unknown_before) = (
            tally.acknowledged.load(Ordering::Relaxed),
            tally.unknown.load(Ordering::Relaxed),
        );
        round_with_kill(
            bin,
            &data,
            &fixture.module,
            &secret,
            args.clients,
            run_for,
            &tally,
        )
        .await?;
        eprintln!(
            "soak: round {}: {} acknowledged, {} cut by the kill, after {:.1} s",
            round + 1,
            tally.acknowledged.load(Ordering::Relaxed) - acked_before,
            tally.unknown.load(Ordering::Relaxed) - unknown_before,
            run_for.as_secs_f64()
        );
    }

    // A last clean start: recovery of the last kill, then the counts.
    let mut settings = Settings::for_data_dir(&data);
    settings.pkcs11_module = Some(fixture.module.clone());
    let engine = engine::Engine::open(settings).await?;
    let history: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM seed_history WHERE config_name = 'SOAK' AND trigger = 'api' AND outcome = 'ok'",
    )
    .fetch_one(engine.store().sqlite())
    .await?;
    let audit: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'hsm.reseed' AND actor = 'soak' AND outcome = 'ok'",
    )
    .fetch_one(engine.store().sqlite())
    .await?;
    let acknowledged = tally.acknowledged.load(Ordering::Relaxed) as i64;
    let unknown = tally.unknown.load(Ordering::Relaxed) as i64;
    let refused = tally.refused.load(Ordering::Relaxed) as i64;
    let lost = (acknowledged - history).max(0) + (acknowledged - audit).max(0);
    let duplicated =
        (history - acknowledged - unknown).max(0) + (audit - acknowledged - unknown).max(0);
    let report = json!({
        "rounds": args.rounds,
        "clients": args.clients,
        "seconds": started.elapsed().as_secs_f64(),
        "acknowledged": acknowledged,
        "cut_by_kill": unknown,
        "refused": refused,
        "history_rows": history,
        "audit_rows": audit,
        "lost": lost,
        "duplicated": duplicated,
    });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)? + "\n")?;
    println!(
        "soak: {} rounds of kill -9 under load: {acknowledged} reseeds acknowledged, {unknown} cut by a kill; \
         history {history} rows, audit {audit} rows; lost {lost}, duplicated {duplicated} (written to {})",
        args.rounds,
        args.out.display()
    );
    anyhow::ensure!(refused == 0, "{refused} reseeds were refused");
    anyhow::ensure!(
        lost == 0 && duplicated == 0,
        "the history or audit log does not match the answers"
    );
    Ok(())
}

/// One round: start the server, load it, kill -9 it after `run_for`.
async fn round_with_kill(
    bin: &Path,
    data: &Path,
    module: &Path,
    secret: &str,
    clients: usize,
    run_for: Duration,
    tally: &Arc<Tally>,
) -> anyhow::Result<()> {
    let mut server = tokio::process::Command::new(bin)
        .arg("serve")
        .env_remove("HSMSEED_CONFIG")
        .env("HSMSEED_DATA_DIR", data)
        .env("HSMSEED_LISTEN", "127.0.0.1:0")
        .env("HSMSEED_TLS", "off")
        .env("HSMSEED_PKCS11_MODULE", module)
        .env("HSMSEED_LOG", "error")
        // Retention would delete rows the count needs.
        .env("HSMSEED_HISTORY_MAX_ROWS", "4000000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut out = tokio::io::BufReader::new(
        server
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
    )
    .lines();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), out.next_line())
            .await??
            .ok_or_else(|| anyhow::anyhow!("the server stopped before serving"))?;
        if let Some(u) = line.split(" serving ").nth(1) {
            break u.to_string();
        }
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (url, secret, tally, stop) =
            (url.clone(), secret.to_string(), tally.clone(), stop.clone());
        tasks.spawn(async move {
            let Ok(client) = reqwest::Client::builder()
                .http1_only()
                .pool_max_idle_per_host(1)
                .build()
            else {
                return;
            };
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(format!("{url}/api/2.0/hsmseed?name=SOAK"))
                    .bearer_auth(&secret)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(_) => tally.acknowledged.fetch_add(1, Ordering::Relaxed),
                        Err(_) => tally.unknown.fetch_add(1, Ordering::Relaxed),
                    },
                    Ok(_) => tally.refused.fetch_add(1, Ordering::Relaxed),
                    // The kill: sent, maybe recorded, never answered.
                    Err(_) => {
                        tally.unknown.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                };
            }
        });
    }
    tokio::time::sleep(run_for).await;
    server.start_kill()?;
    server.wait().await?;
    stop.store(true, Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}
    Ok(())
}
