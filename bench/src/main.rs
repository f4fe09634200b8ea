//! `make bench`: measures, in one run and side by side, what SPEC section 6
//! asks for, and writes `bench/results.json`:
//!
//! * on-demand reseed over the REST API with 64 concurrent clients against
//!   SoftHSM2 (throughput, p50, p99), next to the same server's `/healthz`
//!   (the HTTP ceiling), the bare `C_SeedRandom` on a logged-in session (the
//!   PKCS#11 floor) and a naive open/login/seed/logout/close per request;
//! * ten thousand configurations on 50 tokens: their bulk import, one
//!   scheduler round over all of them, and the HSMs page (a page of 50, a
//!   search) and the dashboard signed in with all of them there;
//! * the same on PostgreSQL (`postgres.rs`): REST reseeds there against
//!   SQLite, the round of two appliances sharing it and their split, the
//!   HSMs page;
//! * health tests plus conditioning throughput on one core;
//! * the dashboard page under load, the WASM bundle size, idle server RSS.
//!
//! Everything runs on this machine, on 127.0.0.1 (PostgreSQL: a Unix
//! socket) only, and stops by itself.

mod load;
mod postgres;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::session::UserType;
use engine::audit::Actor;
use engine::auth::tokens::Scope;
use engine::config::{Settings, TlsMode};
use engine::hsm::testing::{SoftHsmFixture, TestToken};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

#[derive(Debug, Parser)]
#[command(about = "hsmseed's performance targets, measured side by side")]
struct Args {
    /// Seconds each HTTP load runs
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Concurrent HTTP clients
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Rounds of /healthz and REST reseed, taken in turn; each load is
    /// reported by its median round (a shared machine drifts between runs)
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Partitions configured for the scheduler round and the pages
    #[arg(long, default_value_t = 10_000)]
    partitions: usize,
    /// SoftHSM2 tokens the partitions are spread over
    #[arg(long, default_value_t = 50)]
    tokens: usize,
    /// MiB pushed through the health tests and conditioning
    #[arg(long, default_value_t = 256)]
    entropy_mib: usize,
    /// C_SeedRandom calls for the PKCS#11 floor (the naive cycle does a tenth)
    #[arg(long, default_value_t = 20_000)]
    pkcs11_iterations: usize,
    /// Where the results go
    #[arg(long, default_value = "bench/results.json")]
    out: PathBuf,
    /// The built site (for the WASM size); default: target/site
    #[arg(long)]
    site_dir: Option<PathBuf>,
    /// The release binary (for idle RSS); default: target/release/hsmseed
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Only this one load, printed and not written (for profiling)
    #[arg(long, value_enum)]
    only: Option<Only>,
}

/// One load on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Only {
    Healthz,
    Reseed,
    Engine,
    /// GET / signed in, 16 browser tabs, after 2 s of REST reseeds (for
    /// profiling the dashboard as the full run measures it).
    Dashboard,
    /// The partitions' import, their scheduler round and the pages with
    /// all of them (what the full run measures last).
    Fleet,
    /// PostgreSQL against SQLite: REST reseeds on each, the round of two
    /// appliances sharing PostgreSQL, the HSMs page there.
    Postgres,
}

const ADMIN_PASSWORD: &str = "bench admin password";

/// The same allocator as the `hsmseed` binary, so the in-process server
/// measures what production runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let fixture = SoftHsmFixture::try_shared_with(args.tokens)
        .map_err(|e| anyhow::anyhow!("SoftHSM2: {e}"))?;
    let mut results = serde_json::Map::new();
    results.insert(
        "machine".into(),
        json!({
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "cpu": cpu_model(),
        }),
    );

    if args.only.is_none() {
        eprintln!("bench: PKCS#11 floor and naive cycle (SoftHSM2, in-process)");
        let (floor, naive) =
            pkcs11_direct(&fixture.module, fixture.token(0), args.pkcs11_iterations)?;
        results.insert(
            "pkcs11".into(),
            json!({ "seed_random_per_s": floor, "naive_cycle_per_s": naive }),
        );

        eprintln!(
            "bench: health tests and conditioning ({} MiB, one core)",
            args.entropy_mib
        );
        results.insert("entropy".into(), entropy_throughput(args.entropy_mib)?);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(server_benches(&args, fixture, &mut results))?;
    if args.only.is_some() {
        return Ok(());
    }

    results.insert(
        "wasm".into(),
        wasm_size(
            &args
                .site_dir
                .clone()
                .unwrap_or_else(|| target_dir().join("site")),
        ),
    );
    eprintln!("bench: idle RSS of the release server");
    results.insert(
        "idle_rss_kib".into(),
        json!(idle_rss(
            &args
                .server_bin
                .clone()
                .unwrap_or_else(|| target_dir().join("release/hsmseed"))
        )),
    );

    let results = Value::Object(results);
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&results)? + "\n")?;
    print_table(&results);
    println!("\nwritten to {}", args.out.display());
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default()
}

/// The PKCS#11 floor (C_SeedRandom on one logged-in session) and the naive
/// cycle (open, login, seed, logout, close per request), with cryptoki
/// directly; the library is finalized again before the server loads it.
fn pkcs11_direct(
    module: &Path,
    token: &TestToken,
    iterations: usize,
) -> anyhow::Result<(f64, f64)> {
    let p = Pkcs11::new(module)?;
    p.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))?;
    let slot = p
        .get_slots_with_token()?
        .into_iter()
        .find(|s| s.id() == token.slot)
        .ok_or_else(|| anyhow::anyhow!("slot {} not found", token.slot))?;
    let pin = SecretString::from(token.user_pin.clone());
    let seed = [0x5au8; 32];

    let session = p.open_rw_session(slot)?;
    session.login(UserType::User, Some(&pin))?;
    let t = Instant::now();
    for _ in 0..iterations {
        session.seed_random(&seed)?;
    }
    let floor = iterations as f64 / t.elapsed().as_secs_f64();
    session.logout()?;
    drop(session);

    let n = (iterations / 10).max(10);
    let t = Instant::now();
    for _ in 0..n {
        let s = p.open_rw_session(slot)?;
        s.login(UserType::User, Some(&pin))?;
        s.seed_random(&seed)?;
        s.logout()?;
        drop(s);
    }
    let naive = n as f64 / t.elapsed().as_secs_f64();
    p.finalize()?;
    Ok((floor, naive))
}

/// SP 800-90B health tests and SHA-256 conditioning over random input, at
/// the conditioning ratio a device source uses (2 raw bytes per delivered
/// byte), on one core.
fn entropy_throughput(mib: usize) -> anyhow::Result<Value> {
    use rand::RngCore;
    let mut data = vec![0u8; mib.max(1) * 1024 * 1024];
    rand::rngs::OsRng.fill_bytes(&mut data);
    let block = engine::entropy::BLOCK_SIZE;
    let mut tester = engine::entropy::HealthTester::new(7.0)?;
    let mut discarded = 0u64;
    let t = Instant::now();
    for chunk in data.chunks(block) {
        if !matches!(tester.check_block(chunk), engine::entropy::Verdict::Pass) {
            discarded += 1;
        }
    }
    let health = data.len() as f64 / t.elapsed().as_secs_f64();
    // SHA-256 over `ratio` raw bytes per delivered byte, 32 bytes at a time.
    let sha = |ratio: usize| -> anyhow::Result<f64> {
        let t = Instant::now();
        for chunk in data.chunks(32 * ratio) {
            if chunk.len() == 32 * ratio {
                std::hint::black_box(engine::entropy::condition(chunk, 32)?);
            }
        }
        Ok(data.len() as f64 / t.elapsed().as_secs_f64())
    };
    let default_ratio = Settings::for_data_dir(".").entropy_condition_ratio as usize;
    let conditioning = sha(default_ratio)?;
    let conditioning_min = sha(2)?;
    let combined = |c: f64| 1.0 / (1.0 / health + 1.0 / c) / 1e6;
    Ok(json!({
        "bytes": data.len(),
        "condition_ratio": default_ratio,
        "health_mb_s": health / 1e6,
        "conditioning_mb_s": conditioning / 1e6,
        "health_and_conditioning_mb_s": combined(conditioning),
        "health_and_conditioning_at_ratio_2_mb_s": combined(conditioning_min),
        "blocks_discarded": discarded,
    }))
}

fn wasm_size(site: &Path) -> Value {
    // The hashed name build-site.sh lists in hash.txt.
    let hash = std::fs::read_to_string(site.join("hash.txt"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("wasm:").map(|h| h.trim().to_string()))
        })
        .unwrap_or_default();
    let wasm = site.join(format!("pkg/hsmseed.{hash}.wasm"));
    match std::fs::read(&wasm) {
        Ok(bytes) => {
            let gz = std::process::Command::new("gzip")
                .arg("-9c")
                .arg(&wasm)
                .output()
                .map(|o| o.stdout.len())
                .unwrap_or(0);
            json!({ "raw_bytes": bytes.len(), "gzip_bytes": gz })
        }
        Err(e) => json!({ "error": format!("{}: {e} (run make build)", wasm.display()) }),
    }
}

/// Starts the release binary on a fresh data directory, lets it settle,
/// reads its resident set size, stops it.
fn idle_rss(bin: &Path) -> Option<u64> {
    let dir = tempfile::tempdir().ok()?;
    let mut child = std::process::Command::new(bin)
        .arg("serve")
        .env("HSMSEED_DATA_DIR", dir.path())
        .env("HSMSEED_LISTEN", "127.0.0.1:0")
        .env("HSMSEED_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HSMSEED_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(Duration::from_secs(3));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok();
    let _ = child.kill();
    let _ = child.wait();
    status?
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

async fn server_benches(
    args: &Args,
    fixture: &SoftHsmFixture,
    results: &mut serde_json::Map<String, Value>,
) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut settings = Settings::for_data_dir(data.path());
    settings.tls = TlsMode::On;
    settings.pkcs11_module = Some(fixture.module.clone());
    settings.admin_password = Some(SecretString::from(ADMIN_PASSWORD.to_string()));
    settings.history_max_rows = 10_000_000;
    // The built site, with one more file: 1 MiB of random bytes, the
    // static answer `streambytes?size=1048576` is measured against.
    let site = args
        .site_dir
        .clone()
        .unwrap_or_else(|| target_dir().join("site"));
    let served = tempfile::tempdir()?;
    if site.is_dir() {
        copy_dir(&site, served.path())?;
    }
    std::fs::create_dir_all(served.path().join("pkg"))?;
    let mut mib = vec![0u8; 1 << 20];
    engine::random::fill_random(&mut mib);
    std::fs::write(served.path().join("pkg").join(STATIC_MIB), &mib)?;
    settings.site_dir = Some(served.path().to_path_buf());
    let engine = engine::Engine::open(settings).await?;
    let app = server::Application::build_with_engine(engine.clone()).await?;
    let url = app.url();
    let target = load::Target::new(url.clone(), data.path())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let actor = Actor::cli();
    let t = fixture.token(1);
    engine.partitions().create_config("HSM1", &actor).await?;
    engine
        .partitions()
        .edit_config(
            "HSM1",
            engine::partitions::ConfigEdit::for_token(t, engine::hsm::UserType::User),
            &actor,
        )
        .await?;
    let token = engine
        .auth()
        .create_token("bench", Scope::Seed, &actor)
        .await?;
    let bearer = token.secret.expose_secret().to_string();
    let d = Duration::from_secs_f64(args.seconds);

    eprintln!(
        "bench: GET /healthz and REST reseed, {} clients, {:.0} s each in {} rounds",
        args.clients, args.seconds, args.rounds
    );
    // The two loads compared: the HTTP ceiling and the REST reseed.
    let healthz_load = |d: Duration| {
        load::run(
            &target,
            "/healthz",
            load::Method::Get,
            None,
            args.clients,
            d,
        )
    };
    let reseed_load = |d: Duration| {
        load::run(
            &target,
            "/api/2.0/hsmseed?name=HSM1",
            load::Method::Post,
            Some(load::Auth::Bearer(bearer.clone())),
            args.clients,
            d,
        )
    };
    if let Some(only) = args.only {
        let r = match only {
            Only::Healthz => healthz_load(d).await?,
            Only::Reseed => reseed_load(d).await?,
            Only::Engine => json!({ "per_s": engine_reseed(&engine, args.clients, d).await }),
            Only::Dashboard => {
                // The page the full run measures: reseeds behind it (the
                // last ones, the chart), not a new database's empty page.
                reseed_load(Duration::from_secs(2)).await?;
                let cookie = load::login(&url, "admin", ADMIN_PASSWORD).await?;
                load::run_browsers(&target, "/", Some(load::Auth::Cookie(cookie)), 16, d).await?
            }
            Only::Fleet => fleet(&engine, &target, &url, fixture, args).await?,
            Only::Postgres => on_postgres(&engine, &target, &bearer, fixture, args).await?,
        };
        eprintln!("{r}");
        let _ = stop.send(());
        let _ = serving.await;
        return Ok(());
    }
    // The ceiling and the reseed in turn, so that both see the same
    // machine: a neighbour's load or a slow disk moment hits one round of
    // each, not one whole measurement.
    let rounds = args.rounds.max(1);
    let round = d / rounds as u32;
    let (mut healthz, mut reseed) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        eprintln!(
            "bench: round {}/{rounds}: GET /healthz, then POST /api/2.0/hsmseed?name=HSM1",
            i + 1
        );
        healthz.push(healthz_load(round).await?);
        reseed.push(reseed_load(round).await?);
    }
    let (healthz, reseed) = (load::median_round(healthz), load::median_round(reseed));
    eprintln!(
        "bench: engine.reseed in-process, {} tasks, {:.0} s",
        args.clients, args.seconds
    );
    let in_process = engine_reseed(&engine, args.clients, d).await;
    let cookie = load::login(&url, "admin", ADMIN_PASSWORD).await?;
    eprintln!(
        "bench: GET / (dashboard, signed in), 16 clients, {:.0} s",
        args.seconds
    );
    let dashboard =
        load::run_browsers(&target, "/", Some(load::Auth::Cookie(cookie)), 16, d).await?;
    results.insert(
        "http".into(),
        json!({
            "healthz": healthz,
            "reseed": reseed,
            "dashboard": dashboard,
        }),
    );
    results.insert("engine_reseed_per_s".into(), json!(in_process));

    let entropy_token = engine
        .auth()
        .create_token("bench-entropy", Scope::Entropy, &actor)
        .await?;
    let entropy_bearer = Some(load::Auth::Bearer(
        entropy_token.secret.expose_secret().to_string(),
    ));
    let (mut static_mib, mut stream_mib) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        eprintln!(
            "bench: round {}/{rounds}: 1 MiB static file, then streambytes?size=1048576, 16 clients",
            i + 1
        );
        let static_path = format!("/pkg/{STATIC_MIB}");
        static_mib
            .push(load::run(&target, &static_path, load::Method::Get, None, 16, round).await?);
        stream_mib.push(
            load::run(
                &target,
                "/api/2.0/streambytes?size=1048576",
                load::Method::Get,
                entropy_bearer.clone(),
                16,
                round,
            )
            .await?,
        );
    }
    let (static_mib, stream_mib) = (
        load::median_round(static_mib),
        load::median_round(stream_mib),
    );
    eprintln!(
        "bench: int?quantity=1000, 16 clients, {:.0} s",
        args.seconds
    );
    let ints = load::run(
        &target,
        "/api/2.0/int?quantity=1000",
        load::Method::Get,
        entropy_bearer,
        16,
        d,
    )
    .await?;
    let ratio = num(&stream_mib, &["per_s"]) / num(&static_mib, &["per_s"]).max(f64::MIN_POSITIVE);
    results.insert(
        "random".into(),
        json!({
            "static_1mib": static_mib,
            "streambytes_1mib": stream_mib,
            "streambytes_to_static": ratio,
            "int_1000": ints,
        }),
    );

    eprintln!("bench: reseed latency, remote source (this server, prefetch warm) against local");
    let remote = remote_reseed(
        &engine,
        &url,
        data.path(),
        entropy_token.secret.expose_secret(),
        fixture,
        (args.seconds * 100.0).max(200.0) as usize,
    )
    .await?;
    results.insert("remote_source".into(), remote);

    results.insert(
        "postgres".into(),
        on_postgres(&engine, &target, &bearer, fixture, args).await?,
    );
    results.insert(
        "scheduler".into(),
        fleet(&engine, &target, &url, fixture, args).await?,
    );

    let _ = stop.send(());
    let _ = serving.await;
    Ok(())
}

/// [`postgres::run`] beside `engine`'s appliance (on SQLite, served at
/// `target`, `bearer` a token that may reseed there).
async fn on_postgres(
    engine: &engine::Engine,
    target: &load::Target,
    bearer: &str,
    fixture: &SoftHsmFixture,
    args: &Args,
) -> anyhow::Result<Value> {
    let embedded = postgres::Embedded { target, bearer };
    postgres::run(embedded, fixture, engine.settings().site_dir.clone(), args).await
}

/// The static file of 1 MiB served beside the site's assets.
const STATIC_MIB: &str = "bench-static-1mib.bin";

/// Copies the directory tree `from` into `to` (which exists).
fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}

/// One reseed's latency (engine, no HTTP), in milliseconds.
async fn timed_reseed(engine: &engine::Engine, name: &str) -> anyhow::Result<f64> {
    let t = Instant::now();
    engine
        .partitions()
        .reseed(name, engine::partitions::Trigger::Api, &Actor::cli())
        .await?;
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

/// The reseed latency of an appliance whose source is another one (a
/// second engine in this process, `qrng:` to the server at `url`, its
/// prefetch buffer warm) against this server's own (`os`), one reseed of
/// each in turn, `n` of each: p50 and p99 of both.
async fn remote_reseed(
    local: &engine::Engine,
    url: &str,
    a_data: &Path,
    token: &str,
    fixture: &SoftHsmFixture,
    n: usize,
) -> anyhow::Result<Value> {
    let b_data = tempfile::tempdir()?;
    let token_file = b_data.path().join("a.token");
    std::fs::write(&token_file, token)?;
    let source = format!(
        "qrng:{url}/ token_file={} ca_file={}",
        token_file.display(),
        a_data.join("tls").join("server.pem").display()
    );
    let mut settings = Settings::for_data_dir(b_data.path().join("data"));
    settings.pkcs11_module = Some(fixture.module.clone());
    settings.entropy_source = vec![source.parse()?];
    let b = engine::Engine::open(settings).await?;
    let actor = Actor::cli();
    let t = fixture.token(1);
    b.partitions()
        .create_config_with(
            "HSM1",
            engine::partitions::ConfigEdit::for_token(t, engine::hsm::UserType::User),
            &actor,
        )
        .await?;
    // Warm: the fetcher has filled its buffer, both sessions are logged in.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..20 {
        timed_reseed(&b, "HSM1").await?;
        timed_reseed(local, "HSM1").await?;
    }
    let (mut remote, mut own) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        remote.push(timed_reseed(&b, "HSM1").await?);
        own.push(timed_reseed(local, "HSM1").await?);
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
    };
    let st = b.entropy().sources();
    Ok(json!({
        "reseeds": n,
        "remote_p50_ms": pct(&mut remote, 0.50),
        "remote_p99_ms": pct(&mut remote, 0.99),
        "local_p50_ms": pct(&mut own, 0.50),
        "local_p99_ms": pct(&mut own, 0.99),
        "remote_fetches": st.first().and_then(|s| s.remote.as_ref()).map(|r| r.fetches),
    }))
}

/// Reseeds through the engine directly (no HTTP), from `tasks` tasks.
async fn engine_reseed(engine: &engine::Engine, tasks: usize, d: Duration) -> f64 {
    let deadline = Instant::now() + d;
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let e = engine.clone();
        set.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                if e.partitions()
                    .reseed("HSM1", engine::partitions::Trigger::Api, &Actor::cli())
                    .await
                    .is_ok()
                {
                    n += 1;
                }
            }
            n
        });
    }
    let mut total = 0;
    while let Some(n) = set.join_next().await {
        total += n.unwrap_or(0);
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// Imports `--partitions` configurations spread over the first
/// `--tokens` tokens (`hsm-conf-import`'s path: one CSV, one
/// transaction), times one scheduler round over all of them, then loads
/// the HSMs page (its first page of 50, and a search), and the dashboard,
/// signed in, 16 clients each.
async fn fleet(
    engine: &engine::Engine,
    target: &load::Target,
    url: &str,
    fixture: &SoftHsmFixture,
    args: &Args,
) -> anyhow::Result<Value> {
    let n = args.partitions;
    let (tokens, import) = import_partitions(engine, fixture, args).await?;
    let t0 = Instant::now();
    engine.schedule().round().await;
    let wall = t0.elapsed();
    let report = engine.schedule().status().await?.last_round;

    let cookie = load::login(url, "admin", ADMIN_PASSWORD).await?;
    let (hsms, search) = hsms_pages(target, &cookie, n + 1, args).await?;
    let dashboard = signed_in_page(target, &cookie, "/", n + 1, args).await?;
    Ok(json!({
        "partitions": n + 1,
        "tokens": tokens,
        "concurrency": engine.settings().scheduler_concurrency,
        "import_s": import,
        "round_s": wall.as_secs_f64(),
        "ok": report.as_ref().map(|r| r.ok),
        "failed": report.as_ref().map(|r| r.failed),
        "hsms_page": hsms,
        "hsms_search": search,
        "dashboard": dashboard,
    }))
}

/// Imports `--partitions` configurations (P00000, P00001, ...) spread
/// over the first `--tokens` tokens through `engine`, as `hsm-conf-import`
/// does (one CSV, one transaction); answers how many tokens and the
/// seconds it took.
async fn import_partitions(
    engine: &engine::Engine,
    fixture: &SoftHsmFixture,
    args: &Args,
) -> anyhow::Result<(usize, f64)> {
    let n = args.partitions;
    let tokens = &fixture.tokens[..args.tokens.min(fixture.tokens.len())];
    eprintln!(
        "bench: import of {n} partitions on {} tokens, one scheduler round over them",
        tokens.len()
    );
    let mut csv = String::from("name,partition,slot\n");
    let mut pwds = String::from("name,password\n");
    for i in 0..n {
        let t = &tokens[i % tokens.len()];
        csv.push_str(&format!("P{i:05},{},{}\n", t.label, t.slot));
        pwds.push_str(&format!("P{i:05},{}\n", t.user_pin));
    }
    let t0 = Instant::now();
    engine
        .partitions()
        .import_configs(
            &csv,
            &SecretString::from(pwds),
            false,
            "bench",
            &Actor::cli(),
        )
        .await?;
    Ok((tokens.len(), t0.elapsed().as_secs_f64()))
}

/// The HSMs page with `configs` configurations: its first page of 50 and
/// a search, signed in with `cookie`.
async fn hsms_pages(
    target: &load::Target,
    cookie: &Arc<reqwest::cookie::Jar>,
    configs: usize,
    args: &Args,
) -> anyhow::Result<(Value, Value)> {
    Ok((
        signed_in_page(target, cookie, "/hsms", configs, args).await?,
        signed_in_page(target, cookie, "/hsms?q=P0999&state=ok", configs, args).await?,
    ))
}

/// The page `path` loaded by 16 browser tabs signed in with `cookie` for
/// `--seconds`.
async fn signed_in_page(
    target: &load::Target,
    cookie: &Arc<reqwest::cookie::Jar>,
    path: &str,
    configs: usize,
    args: &Args,
) -> anyhow::Result<Value> {
    eprintln!(
        "bench: GET {path} signed in with {configs} configurations, 16 clients, {:.0} s",
        args.seconds
    );
    let auth = Some(load::Auth::Cookie(cookie.clone()));
    load::run_browsers(
        target,
        path,
        auth,
        16,
        Duration::from_secs_f64(args.seconds),
    )
    .await
}

fn num(v: &Value, path: &[&str]) -> f64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_f64()
        .unwrap_or(f64::NAN)
}

fn print_table(r: &Value) {
    let healthz = num(r, &["http", "healthz", "per_s"]);
    let reseed = num(r, &["http", "reseed", "per_s"]);
    let naive = num(r, &["pkcs11", "naive_cycle_per_s"]);
    let floor = num(r, &["pkcs11", "seed_random_per_s"]);
    let round = num(r, &["scheduler", "round_s"]);
    let ent = num(r, &["entropy", "health_and_conditioning_mb_s"]);
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!();
    println!(
        "{:<52} {:>14} {:>10} {:>10}",
        "measure", "per second", "p50 ms", "p99 ms"
    );
    for (label, key) in [
        ("GET /healthz (HTTP ceiling)", "healthz"),
        ("POST /api/2.0/hsmseed (REST reseed)", "reseed"),
        ("GET / dashboard, signed in (16 clients)", "dashboard"),
    ] {
        println!(
            "{label:<52} {:>14.0} {:>10.2} {:>10.2}",
            num(r, &["http", key, "per_s"]),
            num(r, &["http", key, "p50_ms"]),
            num(r, &["http", key, "p99_ms"])
        );
    }
    println!(
        "{:<52} {:>14.0}",
        "engine.reseed in-process (no HTTP)",
        num(r, &["engine_reseed_per_s"])
    );
    println!(
        "{:<52} {:>14.0}",
        "C_SeedRandom on a logged-in session (floor)", floor
    );
    println!(
        "{:<52} {:>14.0}",
        "naive open/login/seed/logout/close", naive
    );
    println!();
    println!(
        "REST reseed / healthz      {:>8.2}   target >= 0.50: {}",
        reseed / healthz,
        verdict(reseed / healthz >= 0.5)
    );
    println!(
        "REST reseed / naive cycle  {:>8.1}   target >= 10:   {}",
        reseed / naive,
        verdict(reseed / naive >= 10.0)
    );
    println!(
        "scheduler round, {} partitions on {} tokens: {:.2} s   target < 5 s: {} (their import: {:.2} s)",
        num(r, &["scheduler", "partitions"]),
        num(r, &["scheduler", "tokens"]),
        round,
        verdict(round < 5.0),
        num(r, &["scheduler", "import_s"]),
    );
    let hsms_p99 = num(r, &["scheduler", "hsms_page", "p99_ms"]);
    println!(
        "with them: HSMs page p50 {:.2} ms, p99 {:.2} ms   target p99 < 50 ms: {}; a search p99 {:.2} ms; the dashboard p99 {:.2} ms",
        num(r, &["scheduler", "hsms_page", "p50_ms"]),
        hsms_p99,
        verdict(hsms_p99 < 50.0),
        num(r, &["scheduler", "hsms_search", "p99_ms"]),
        num(r, &["scheduler", "dashboard", "p99_ms"]),
    );
    let pg = |k: &[&str]| num(r, &[&["postgres"], k].concat());
    let pg_round = pg(&["round", "round_s"]);
    println!(
        "PostgreSQL: REST reseed {:.0}/s (p99 {:.2} ms) against SQLite {:.0}/s (p99 {:.2} ms), ratio {:.2}",
        pg(&["reseed_postgres", "per_s"]),
        pg(&["reseed_postgres", "p99_ms"]),
        pg(&["reseed_sqlite", "per_s"]),
        pg(&["reseed_sqlite", "p99_ms"]),
        pg(&["reseed_postgres_to_sqlite"]),
    );
    println!(
        "PostgreSQL: round of {} partitions by 2 appliances: {:.2} s   target < 5 s: {} (split {} / {}; {} reseeded, {} rows)",
        pg(&["round", "partitions"]),
        pg_round,
        verdict(pg_round < 5.0),
        pg(&["round", "split", "bench-a", "ok"]),
        pg(&["round", "split", "bench-b", "ok"]),
        pg(&["round", "configurations_reseeded"]),
        pg(&["round", "history_rows"]),
    );
    let pg_hsms = pg(&["hsms_page", "p99_ms"]);
    println!(
        "PostgreSQL: HSMs page p50 {:.2} ms, p99 {:.2} ms   target p99 < 50 ms: {}; a search p99 {:.2} ms",
        pg(&["hsms_page", "p50_ms"]),
        pg_hsms,
        verdict(pg_hsms < 50.0),
        pg(&["hsms_search", "p99_ms"]),
    );
    println!(
        "health tests + conditioning ({}:1): {:.0} MB/s (health {:.0}, SHA-256 {:.0}; at 2:1 {:.0})   target >= 1000: {}",
        num(r, &["entropy", "condition_ratio"]),
        ent,
        num(r, &["entropy", "health_mb_s"]),
        num(r, &["entropy", "conditioning_mb_s"]),
        num(r, &["entropy", "health_and_conditioning_at_ratio_2_mb_s"]),
        verdict(ent >= 1000.0)
    );
    let stream = num(r, &["random", "streambytes_1mib", "per_s"]);
    let stat = num(r, &["random", "static_1mib", "per_s"]);
    println!(
        "streambytes 1 MiB: {:.0} MB/s; the same size, static: {:.0} MB/s; ratio {:.2}   target >= 0.50: {}",
        stream * 1.048576,
        stat * 1.048576,
        stream / stat,
        verdict(stream / stat >= 0.5)
    );
    println!(
        "int?quantity=1000 (16 clients): {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        num(r, &["random", "int_1000", "per_s"]),
        num(r, &["random", "int_1000", "p50_ms"]),
        num(r, &["random", "int_1000", "p99_ms"])
    );
    let (rp99, lp99) = (
        num(r, &["remote_source", "remote_p99_ms"]),
        num(r, &["remote_source", "local_p99_ms"]),
    );
    println!(
        "reseed from a remote source (prefetch warm): p50 {:.2} ms, p99 {:.2} ms; local: p50 {:.2} ms, p99 {:.2} ms   target p99 within 1 ms: {}",
        num(r, &["remote_source", "remote_p50_ms"]),
        rp99,
        num(r, &["remote_source", "local_p50_ms"]),
        lp99,
        verdict(rp99 - lp99 <= 1.0)
    );
    println!(
        "WASM bundle: {:.0} KiB raw, {:.0} KiB gzip; idle RSS: {:.1} MiB",
        num(r, &["wasm", "raw_bytes"]) / 1024.0,
        num(r, &["wasm", "gzip_bytes"]) / 1024.0,
        num(r, &["idle_rss_kib"]) / 1024.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smoke run with tiny sizes: the harness works end to end. It
    /// asserts nothing about speed.
    #[test]
    fn the_harness_runs_with_tiny_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("results.json");
        let args = Args {
            seconds: 0.3,
            clients: 4,
            rounds: 2,
            partitions: 8,
            tokens: 4,
            entropy_mib: 1,
            pkcs11_iterations: 50,
            out: out.clone(),
            site_dir: Some(dir.path().join("no-site")),
            server_bin: Some(dir.path().join("no-binary")),
            only: None,
        };
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let fixture = SoftHsmFixture::shared();
        let (floor, naive) =
            pkcs11_direct(&fixture.module, fixture.token(0), args.pkcs11_iterations).unwrap();
        assert!(floor > 0.0 && naive > 0.0);
        let mut results = serde_json::Map::new();
        results.insert("entropy".into(), entropy_throughput(1).unwrap());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(server_benches(&args, fixture, &mut results))
            .unwrap();
        let r = Value::Object(results);
        assert!(num(&r, &["http", "reseed", "requests"]) > 0.0);
        assert_eq!(num(&r, &["http", "reseed", "errors"]), 0.0);
        assert_eq!(num(&r, &["scheduler", "ok"]), 9.0);
        for page in ["hsms_page", "hsms_search", "dashboard"] {
            assert!(num(&r, &["scheduler", page, "requests"]) > 0.0, "{page}");
            assert_eq!(num(&r, &["scheduler", page, "errors"]), 0.0, "{page}");
        }
        for load in ["static_1mib", "streambytes_1mib", "int_1000"] {
            assert!(num(&r, &["random", load, "requests"]) > 0.0, "{load}");
            assert_eq!(num(&r, &["random", load, "errors"]), 0.0, "{load}");
        }
        assert!(num(&r, &["postgres", "reseed_postgres", "requests"]) > 0.0);
        assert_eq!(num(&r, &["postgres", "reseed_postgres", "errors"]), 0.0);
        assert!(num(&r, &["postgres", "reseed_postgres_to_sqlite"]) > 0.0);
        let round = |k: &str| num(&r, &["postgres", "round", k]);
        assert_eq!(
            (round("history_rows"), round("configurations_reseeded")),
            (9.0, 9.0)
        );
        let split = |a: &str| num(&r, &["postgres", "round", "split", a, "ok"]);
        assert_eq!(split("bench-a") + split("bench-b"), 9.0);
        assert_eq!(num(&r, &["postgres", "hsms_page", "errors"]), 0.0);
        assert!(num(&r, &["remote_source", "remote_p99_ms"]) > 0.0);
        assert!(num(&r, &["remote_source", "remote_fetches"]) >= 1.0);
        assert!(wasm_size(&args.site_dir.unwrap())["error"].is_string());
        assert!(idle_rss(&args.server_bin.unwrap()).is_none());
    }
}
