//! The fleet's store measured against the embedded one: a private
//! PostgreSQL cluster (Debian's server, started here, Unix socket only,
//! syncing its commits to disk as a production server does) beside the
//! SQLite file of the appliance the other measures run on:
//!
//! * REST reseed throughput: the same load on an appliance on each, round
//!   by round in turn (a shared machine drifts), and their ratio;
//! * the scheduler round over `--partitions` configurations by two
//!   appliances sharing the database (two engines of this process, each
//!   with its appliance id, pool, change feed, history writer and PKCS#11
//!   sessions; two processes would share this machine's cores the same
//!   way): its wall time, the split between them, and whether each
//!   configuration was reseeded exactly once;
//! * the HSMs page with all of them, signed in, served from PostgreSQL.

use std::time::{Duration, Instant};

use engine::audit::Actor;
use engine::auth::tokens::Scope;
use engine::config::{Settings, TlsMode};
use engine::hsm::testing::SoftHsmFixture;
use engine::schedule::SeedPeriod;
use engine::store::db;
use engine::store::testing::PgCluster;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::{load, Args, ADMIN_PASSWORD};

/// The appliance the other measures run on (SQLite): where to send its
/// REST reseeds, and the token that may.
pub struct Embedded<'a> {
    pub target: &'a load::Target,
    pub bearer: &'a str,
}

pub async fn run(
    sqlite: Embedded<'_>,
    fixture: &SoftHsmFixture,
    site_dir: Option<std::path::PathBuf>,
    args: &Args,
) -> anyhow::Result<Value> {
    eprintln!("bench: PostgreSQL: a private cluster, commits synced to disk");
    let cluster = tokio::task::spawn_blocking(|| PgCluster::start(true))
        .await?
        .map_err(|e| anyhow::anyhow!("PostgreSQL: {e}"))?;
    let url = cluster.database().await;
    // One data directory (the master key both must hold), one database.
    let data = tempfile::tempdir()?;
    let settings = |id: &str| {
        let mut s = Settings::for_data_dir(data.path());
        s.tls = TlsMode::On;
        s.pkcs11_module = Some(fixture.module.clone());
        s.admin_password = Some(SecretString::from(ADMIN_PASSWORD.to_string()));
        s.history_max_rows = 10_000_000;
        s.site_dir.clone_from(&site_dir);
        s.database_url = Some(SecretString::from(url.clone()));
        s.appliance_id = id.into();
        s
    };
    let a = engine::Engine::open(settings("bench-a")).await?;
    let b = engine::Engine::open(settings("bench-b")).await?;
    let app = server::Application::build_with_engine(a.clone()).await?;
    let url = app.url();
    let target = load::Target::new(url.clone(), data.path())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let result = measure(&a, &b, &target, &url, sqlite, fixture, args).await;
    let _ = stop.send(());
    let _ = serving.await;
    drop((a, b));
    drop(cluster);
    result
}

async fn measure(
    a: &engine::Engine,
    b: &engine::Engine,
    target: &load::Target,
    url: &str,
    sqlite: Embedded<'_>,
    fixture: &SoftHsmFixture,
    args: &Args,
) -> anyhow::Result<Value> {
    let actor = Actor::cli();
    a.partitions()
        .create_config_with(
            "HSM1",
            engine::partitions::ConfigEdit::for_token(
                fixture.token(1),
                engine::hsm::UserType::User,
            ),
            &actor,
        )
        .await?;
    let token = a.auth().create_token("bench", Scope::Seed, &actor).await?;
    let pg_bearer = token.secret.expose_secret().to_string();
    let reseed = |target: &load::Target, bearer: &str, d: Duration| {
        let (target, bearer) = (target.clone(), bearer.to_string());
        async move {
            load::run(
                &target,
                "/api/2.0/hsmseed?name=HSM1",
                load::Method::Post,
                Some(load::Auth::Bearer(bearer)),
                args.clients,
                d,
            )
            .await
        }
    };
    let rounds = args.rounds.max(1);
    let round = Duration::from_secs_f64(args.seconds) / rounds as u32;
    let (mut on_sqlite, mut on_pg) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        eprintln!(
            "bench: round {}/{rounds}: REST reseed on SQLite, then on PostgreSQL, {} clients",
            i + 1,
            args.clients
        );
        on_sqlite.push(reseed(sqlite.target, sqlite.bearer, round).await?);
        on_pg.push(reseed(target, &pg_bearer, round).await?);
    }
    let (on_sqlite, on_pg) = (load::median_round(on_sqlite), load::median_round(on_pg));
    let ratio =
        crate::num(&on_pg, &["per_s"]) / crate::num(&on_sqlite, &["per_s"]).max(f64::MIN_POSITIVE);

    // A period, so that a round's claims hold for it (rounds run by hand
    // with the schedule off leave everything due); the appliance's own
    // loop waits the period (9 minutes) before its first round.
    a.schedule()
        .set_seed_period(SeedPeriod::new(9)?, &actor)
        .await?;
    let (tokens, import_s) = crate::import_partitions(a, fixture, args).await?;
    let configs = args.partitions + 1;
    // The other appliance sees them (the change feed).
    let seen = Instant::now();
    while b.partitions().list_configs().await?.len() < configs {
        anyhow::ensure!(
            seen.elapsed() < Duration::from_secs(10),
            "the second appliance does not see the imported configurations"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("bench: one round over {configs} configurations by two appliances on PostgreSQL");
    let t0 = Instant::now();
    tokio::join!(a.schedule().round(), b.schedule().round());
    let wall = t0.elapsed();
    let (ra, rb) = (
        a.schedule().status().await?.last_round,
        b.schedule().status().await?.last_round,
    );
    let (rows, distinct): (i64, i64) = db::query_as(
        "SELECT count(*), count(DISTINCT config_name) FROM seed_history WHERE trigger = 'schedule'",
    )
    .fetch_one(a.store().pool())
    .await?;

    let cookie = load::login(url, "admin", ADMIN_PASSWORD).await?;
    let (hsms, search) = crate::hsms_pages(target, &cookie, configs, args).await?;
    let report = |r: &Option<engine::schedule::RoundReport>| {
        json!({
            "ok": r.as_ref().map(|r| r.ok),
            "failed": r.as_ref().map(|r| r.failed),
            "duration_s": r.as_ref().map(|r| r.duration_ms / 1000.0),
        })
    };
    Ok(json!({
        "reseed_sqlite": on_sqlite,
        "reseed_postgres": on_pg,
        "reseed_postgres_to_sqlite": ratio,
        "round": {
            "appliances": 2,
            "partitions": configs,
            "tokens": tokens,
            "import_s": import_s,
            "round_s": wall.as_secs_f64(),
            "split": { "bench-a": report(&ra), "bench-b": report(&rb) },
            "history_rows": rows,
            "configurations_reseeded": distinct,
        },
        "hsms_page": hsms,
        "hsms_search": search,
    }))
}
