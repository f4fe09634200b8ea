//! Three appliances (`hsmseed serve` processes) on one PostgreSQL database
//! (a private cluster), each with its own data directory and the fleet's
//! master key, each loading SoftHSM2 through its own PKCS#11 spy log:
//!
//! - a session made on one appliance is good on another;
//! - a token revoked on one is refused by another within a second, and an
//!   edited configuration and a new period reach the others within one;
//! - a period-1 schedule: the round is split between the appliances; one
//!   of them is killed (-9) while it holds claims, and what it did not
//!   finish is taken over by the others; over two rounds every
//!   configuration is reseeded exactly once per round, as the history
//!   and the `C_SeedRandom` calls in the spy logs (32 bytes each) show;
//! - an appliance with another master key refuses to start.
//!
//! Long (two scheduled rounds of a minute): run once, not again in the
//! PostgreSQL pass of the suite.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engine::audit::Actor;
use engine::auth::tokens::Scope;
use engine::config::Settings;
use engine::hsm::testing::parse_spy_log;
use engine::hsm::UserType;
use engine::partitions::ConfigEdit;
use engine::schedule::SeedPeriod;
use engine::store::db;
use engine::store::testing::PgCluster;
use engine::Engine;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{fixture, on_postgres, serving_url};

const CONFIGS: usize = 48;
const PASSWORD: &str = "fleet administrator's password";

struct Appliance {
    id: &'static str,
    child: tokio::process::Child,
    url: String,
    spy_log: PathBuf,
}

/// `hsmseed serve` as appliance `id` on `database`, with `key` as its
/// master key, plain HTTP on a free port; its address once it serves.
async fn start(id: &'static str, dir: &Path, database: &str, key: &Path) -> Appliance {
    let spy_log = dir.join(format!("{id}-spy.log"));
    let data = dir.join(id);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .arg("serve")
        .env_remove("HSMSEED_CONFIG")
        .env("HSMSEED_DATA_DIR", &data)
        .env("HSMSEED_DATABASE_URL", database)
        .env("HSMSEED_MASTER_KEY_FILE", key)
        .env("HSMSEED_APPLIANCE_ID", id)
        .env("HSMSEED_ENTROPY_SOURCE", "os")
        .env("HSMSEED_PKCS11_MODULE", fixture().module_to_load())
        .env("PKCS11SPY_OUTPUT", &spy_log)
        .env("HSMSEED_LISTEN", "127.0.0.1:0")
        .env("HSMSEED_TLS", "off")
        .env("HSMSEED_LOG", "warn")
        // One reseed at a time and a short lease: a round lasts long
        // enough to be caught holding claims, and what a dead appliance
        // claimed is taken over within seconds.
        .env("HSMSEED_SCHEDULER_CONCURRENCY", "1")
        .env("HSMSEED_ROUND_LEASE_SECS", "3")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = serving_url(&mut child, Duration::from_secs(60)).await;
    Appliance {
        id,
        child,
        url,
        spy_log,
    }
}

/// `C_SeedRandom` calls in a spy log, each checked to carry 32 bytes.
fn seeds_in(log: &Path) -> usize {
    let text = std::fs::read(log).unwrap_or_default();
    let calls: Vec<_> = parse_spy_log(&String::from_utf8_lossy(&text))
        .into_iter()
        .filter(|c| c.function == "C_SeedRandom")
        .collect();
    assert!(
        calls.iter().all(|c| c.data_len == Some(32)),
        "every seed is 32 bytes"
    );
    calls.len()
}

/// Scheduled history rows per configuration: (appliance, at) in order.
async fn scheduled(engine: &Engine) -> BTreeMap<String, Vec<(String, i64)>> {
    let rows: Vec<(String, Option<String>, i64)> = db::query_as(
        "SELECT config_name, appliance, at_ms FROM seed_history \
         WHERE trigger = 'schedule' AND outcome = 'ok' ORDER BY at_ms",
    )
    .fetch_all(engine.store().pool())
    .await
    .unwrap();
    let mut out: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for (config, appliance, at) in rows {
        out.entry(config)
            .or_default()
            .push((appliance.unwrap_or_default(), at));
    }
    out
}

/// Waits (up to `limit`) until every configuration has `rounds` scheduled
/// reseeds; answers what the history holds then.
async fn until_rounds(
    engine: &Engine,
    rounds: usize,
    limit: Duration,
) -> BTreeMap<String, Vec<(String, i64)>> {
    let started = Instant::now();
    loop {
        let now = scheduled(engine).await;
        let done = now.len() == CONFIGS && now.values().all(|r| r.len() >= rounds);
        if done || started.elapsed() > limit {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A new API token of `scope` made through `engine`: its secret.
async fn new_token(engine: &Engine, name: &str, scope: Scope) -> String {
    engine
        .auth()
        .create_token(name, scope, &Actor::cli())
        .await
        .unwrap()
        .secret
        .expose_secret()
        .to_string()
}

/// `Ok` when `status` is the one wanted; otherwise what it is.
fn answered(status: StatusCode, want: StatusCode) -> Result<(), String> {
    (status == want)
        .then_some(())
        .ok_or_else(|| status.to_string())
}

/// Asks `seen` every 20 ms until it answers `Ok`; fails once a second
/// has passed since `since` (`what` changed then), with what it last saw.
async fn within_a_second<F, Fut>(since: Instant, what: &str, mut seen: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    loop {
        match seen().await {
            Ok(()) => return,
            Err(last) => assert!(
                since.elapsed() < Duration::from_secs(1),
                "{what}: still {last} a second later"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_appliances_on_postgresql_share_sessions_tokens_and_each_round() {
    if on_postgres() {
        return; // run once, in the SQLite pass (it is PostgreSQL's own test)
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let f = fixture();
    let _access = f.shared_access().await;
    let database = PgCluster::shared().database().await;
    let dir = tempfile::tempdir().unwrap();

    // The set-up, as an administrator's first appliance would: its data
    // directory holds the fleet's master key.
    let mut settings = Settings::for_data_dir(dir.path().join("setup"));
    settings.pkcs11_module = Some(f.module_to_load().to_path_buf());
    settings.database_url = Some(SecretString::from(database.clone()));
    settings.appliance_id = "setup".into();
    let engine = Engine::open(settings).await.unwrap();
    let key = dir.path().join("setup").join(engine::secrets::DEFAULT_FILE);
    let cli = Actor::cli();
    for i in 0..CONFIGS {
        let t = f.token(i % engine::hsm::testing::TOKEN_COUNT);
        engine
            .partitions()
            .create_config_with(
                &format!("C{i:02}"),
                ConfigEdit::for_token(t, UserType::User),
                &cli,
            )
            .await
            .unwrap();
    }
    engine
        .auth()
        .add_user("ops", &SecretString::from(PASSWORD), &cli)
        .await
        .unwrap();
    let token = new_token(&engine, "fleet", Scope::Seed).await;

    let mut a = start("a", dir.path(), &database, &key).await;
    let mut b = start("b", dir.path(), &database, &key).await;
    let mut c = start("c", dir.path(), &database, &key).await;

    // Signed in through one appliance, signed in on another.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = browser
        .post(format!("{}/login", a.url))
        .form(&[("username", "ops"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = browser.get(format!("{}/", b.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the session is the fleet's");

    // A token works on every appliance; revoked, it is refused by another
    // appliance within a second.
    let reseed = |url: &str| {
        reqwest::Client::new()
            .post(format!("{url}/api/2.0/hsmseed?name=C00"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(reseed(&b.url).await.unwrap().status(), StatusCode::OK);
    assert_eq!(reseed(&c.url).await.unwrap().status(), StatusCode::OK);
    engine.auth().revoke_token("fleet", &cli).await.unwrap();
    within_a_second(Instant::now(), "the revocation", || async {
        answered(
            reseed(&b.url).await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
        )
    })
    .await;

    // An edited configuration reaches another appliance within a second:
    // disabled on one, refused by another; enabled again, reseeded there.
    let seeder = new_token(&engine, "fleet-2", Scope::Seed).await;
    let reseed_c00 = |url: &str| {
        reqwest::Client::new()
            .post(format!("{url}/api/2.0/hsmseed?name=C00"))
            .bearer_auth(&seeder)
            .send()
    };
    for (enabled, want) in [(false, StatusCode::CONFLICT), (true, StatusCode::OK)] {
        let edit = ConfigEdit {
            enabled: Some(enabled),
            ..ConfigEdit::default()
        };
        engine
            .partitions()
            .edit_config("C00", edit, &cli)
            .await
            .unwrap();
        within_a_second(Instant::now(), &format!("enabled = {enabled}"), || async {
            answered(reseed_c00(&b.url).await.unwrap().status(), want)
        })
        .await;
    }

    // A period of one minute: every appliance takes it up within a second
    // (its status says so), and its rounds come due together.
    let reader = new_token(&engine, "fleet-read", Scope::Read).await;
    engine
        .schedule()
        .set_seed_period(SeedPeriod::new(1).unwrap(), &cli)
        .await
        .unwrap();
    let set = Instant::now();
    for url in [&a.url, &b.url, &c.url] {
        within_a_second(set, &format!("{url}: the new period"), || async {
            let status: serde_json::Value = reqwest::Client::new()
                .get(format!("{url}/api/2.0/status"))
                .bearer_auth(&reader)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let period = &status["schedule"]["periodMinutes"];
            (period == 1)
                .then_some(())
                .ok_or_else(|| format!("period {period}"))
        })
        .await;
    }

    // Round 1: appliance c is killed while it holds claims.
    let started = Instant::now();
    let held_by_c: Vec<String> = loop {
        let held: Vec<String> =
            db::query_scalar("SELECT name FROM hsm_configs WHERE lease_by = 'c' ORDER BY name")
                .fetch_all(engine.store().pool())
                .await
                .unwrap();
        if !held.is_empty() {
            c.child.start_kill().unwrap();
            break held;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "no round came");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let _ = c.child.wait().await;
    let first = until_rounds(&engine, 1, Duration::from_secs(30)).await;
    assert_eq!(
        first.len(),
        CONFIGS,
        "every configuration in round 1: {first:?}"
    );
    let by_c_unfinished: Vec<&String> = held_by_c
        .iter()
        .filter(|n| first[*n].first().is_some_and(|(by, _)| by != "c"))
        .collect();
    assert!(
        !by_c_unfinished.is_empty(),
        "some of c's claims were taken over: c held {held_by_c:?}, round 1 {first:?}"
    );

    // Round 2, by the two left.
    let second = until_rounds(&engine, 2, Duration::from_secs(90)).await;
    let mut per_appliance: BTreeMap<String, usize> = BTreeMap::new();
    for (name, rows) in &second {
        assert_eq!(rows.len(), 2, "{name}: exactly once per round: {rows:?}");
        let gap = rows[1].1 - rows[0].1;
        assert!(
            gap >= 50_000,
            "{name}: the rounds are a period apart: {rows:?}"
        );
        assert_ne!(rows[1].0, "c", "{name}: c is gone");
        for (by, _) in rows {
            *per_appliance.entry(by.clone()).or_default() += 1;
        }
    }
    assert!(
        per_appliance.get("a").copied().unwrap_or(0) > 0
            && per_appliance.get("b").copied().unwrap_or(0) > 0,
        "the rounds were split: {per_appliance:?}"
    );

    // What the HSM saw: each appliance's C_SeedRandom calls are its
    // reseeds (scheduled, and the API's). c may have seeded what it never
    // recorded (killed between the two): at least its rows.
    let api: Vec<(String, i64)> = db::query_as(
        "SELECT appliance, count(*) FROM seed_history WHERE trigger = 'api' GROUP BY appliance",
    )
    .fetch_all(engine.store().pool())
    .await
    .unwrap();
    let api: BTreeMap<String, usize> = api
        .into_iter()
        .map(|(by, n)| (by, usize::try_from(n).unwrap()))
        .collect();
    for appliance in [&a, &b] {
        let rows = per_appliance.get(appliance.id).copied().unwrap_or(0)
            + api.get(appliance.id).copied().unwrap_or(0);
        assert_eq!(
            seeds_in(&appliance.spy_log),
            rows,
            "appliance {}",
            appliance.id
        );
    }
    let c_rows = per_appliance.get("c").copied().unwrap_or(0) + api.get("c").copied().unwrap_or(0);
    assert!(seeds_in(&c.spy_log) >= c_rows);

    // An appliance with a master key of its own refuses to start.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .arg("serve")
        .env_remove("HSMSEED_CONFIG")
        .env("HSMSEED_DATA_DIR", dir.path().join("stranger"))
        .env("HSMSEED_DATABASE_URL", &database)
        .env("HSMSEED_LISTEN", "127.0.0.1:0")
        .env("HSMSEED_TLS", "off")
        .output()
        .await
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("master key"), "{said}");
    assert!(!said.contains(&database), "the URL is never shown: {said}");

    let _ = a.child.start_kill();
    let _ = b.child.start_kill();
}
