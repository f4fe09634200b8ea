use std::sync::Arc;

use engine::clock::ManualClock;
use engine::config::{EntropySourceKind, Settings, TlsMode};
use engine::hsm::testing::{SoftHsmFixture, TestToken};
use engine::hsm::UserType;
use engine::partitions::ConfigEdit;
use engine::Engine;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use server::Application;
use tokio::sync::oneshot;

pub const ADMIN_PASSWORD: &str = "test correct horse battery";

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    pub clock: Arc<ManualClock>,
    pub engine: Engine,
    /// The server's open client connections.
    pub connections: Arc<server::listen::Connections>,
    cli_env: Vec<(String, String)>,
    _data: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub struct Options {
    pub tls: bool,
    /// Load the SoftHSM2 fixture's module (through the spy when installed).
    pub hsm: bool,
    /// A module path instead (e.g. one that does not exist).
    pub pkcs11_module: Option<std::path::PathBuf>,
    pub entropy: Option<EntropySourceKind>,
    /// The length of a scheduler "minute".
    pub schedule_unit: Option<std::time::Duration>,
    pub luna_client_dir: Option<std::path::PathBuf>,
    pub login_failures_per_token: Option<u32>,
    /// Any other change of the settings.
    pub settings: Option<fn(&mut Settings)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tls: true,
            hsm: false,
            pkcs11_module: None,
            entropy: None,
            schedule_unit: None,
            luna_client_dir: None,
            login_failures_per_token: None,
            settings: None,
        }
    }
}

impl Options {
    pub fn with_hsm() -> Options {
        Options {
            hsm: true,
            ..Options::default()
        }
    }
}

/// A client with no cookie and no token (a script, or a Quantis client).
pub fn anonymous_client() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
}

/// The process's SoftHSM2 tokens.
pub fn fixture() -> &'static SoftHsmFixture {
    SoftHsmFixture::shared()
}

impl TestApp {
    /// A configuration as the engine has it now.
    pub async fn config(&self, name: &str) -> engine::partitions::HsmConfig {
        self.engine.partitions().get_config(name).await.unwrap()
    }

    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(opts: Options) -> TestApp {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        // Server logs, shown with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                std::env::var("TESTAPP_LOG").unwrap_or_else(|_| "warn,tower_sessions=error".into()),
            ))
            .try_init();
        let data = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_data_dir(data.path());
        settings.tls = if opts.tls { TlsMode::On } else { TlsMode::Off };
        settings.admin_password = Some(SecretString::from(ADMIN_PASSWORD.to_string()));
        if opts.hsm {
            settings.pkcs11_module = Some(fixture().module_to_load().to_path_buf());
        }
        if let Some(m) = opts.pkcs11_module {
            settings.pkcs11_module = Some(m);
        }
        if let Some(e) = opts.entropy {
            settings.entropy_source = vec![e];
        }
        if let Some(u) = opts.schedule_unit {
            settings.schedule_unit = u;
        }
        settings.luna_client_dir = opts.luna_client_dir;
        if let Some(n) = opts.login_failures_per_token {
            settings.login_failures_per_token = n;
        }
        if on_postgres() {
            let url = engine::store::testing::PgCluster::shared().database().await;
            settings.database_url = Some(SecretString::from(url));
        }
        if let Some(edit) = opts.settings {
            edit(&mut settings);
        }
        let cli_env = cli_env(&settings);
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let engine = Engine::open_with_clock(settings, clock.clone())
            .await
            .unwrap();
        let app = Application::build_with_engine(engine.clone())
            .await
            .unwrap();
        let url = app.url();
        let connections = app.connections.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let jar = Arc::new(Jar::default());
        let client = client(jar.clone());
        TestApp {
            url,
            client,
            jar,
            clock,
            engine,
            connections,
            cli_env,
            _data: data,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// A second browser: its own cookie jar.
    pub fn new_client(&self) -> (reqwest::Client, Arc<Jar>) {
        let jar = Arc::new(Jar::default());
        (client(jar.clone()), jar)
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.at(path)).send().await.unwrap()
    }

    /// A form post as a browser on this page sends it (same origin).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.at(path))
            .header("origin", &self.url)
            .header("sec-fetch-site", "same-origin")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, user: &str, password: &str) -> Response {
        self.post_form("/login", &[("username", user), ("password", password)])
            .await
    }

    pub async fn login_as_admin(&self) {
        let r = self.login("admin", ADMIN_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/");
    }

    /// The session cookie the client holds, as `name=value`.
    pub fn session_cookie(&self) -> Option<String> {
        let url = self.url.parse().unwrap();
        self.jar
            .cookies(&url)
            .map(|h| h.to_str().unwrap().to_string())
            .and_then(|all| {
                all.split("; ")
                    .find(|c| c.contains("hsmseed="))
                    .map(str::to_string)
            })
    }

    /// Follows a redirect answer with a GET and returns the page's text.
    pub async fn follow(&self, r: Response) -> (String, String) {
        assert!(
            r.status().is_redirection(),
            "expected a redirect, got {}",
            r.status()
        );
        let to = location(&r);
        let page = self.get(&to).await;
        assert_eq!(page.status(), StatusCode::OK, "GET {to}");
        (to, page.text().await.unwrap())
    }
}

/// What a console command printed.
pub struct CliOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Whether this run of the suite is on PostgreSQL (`make test` runs it on
/// SQLite, then again with `TEST_ON_POSTGRES=1`, a name the console does not read): each app gets a
/// database of its own in a private cluster.
pub fn on_postgres() -> bool {
    std::env::var_os("TEST_ON_POSTGRES").is_some()
}

fn cli_env(s: &Settings) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "HSMSEED_DATA_DIR".to_string(),
            s.data_dir.display().to_string(),
        ),
        (
            "HSMSEED_ENTROPY_SOURCE".to_string(),
            s.entropy_source
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("HSMSEED_LOG".to_string(), "warn".to_string()),
    ];
    if let Some(url) = &s.database_url {
        use secrecy::ExposeSecret;
        env.push((
            "HSMSEED_DATABASE_URL".to_string(),
            url.expose_secret().to_string(),
        ));
    }
    if let Some(m) = &s.pkcs11_module {
        let spec = match s.pkcs11_max_seed_bytes {
            Some(max) => format!("{} max_seed_bytes={max}", m.display()),
            None => m.display().to_string(),
        };
        env.push(("HSMSEED_PKCS11_MODULE".to_string(), spec));
    }
    if !s.pkcs11_modules.is_empty() {
        let pairs: Vec<String> = s
            .pkcs11_modules
            .iter()
            .map(|(n, m)| match m.max_seed_bytes {
                Some(max) => format!("{n}={} max_seed_bytes={max}", m.path.display()),
                None => format!("{n}={}", m.path.display()),
            })
            .collect();
        env.push(("HSMSEED_PKCS11_MODULES".to_string(), pairs.join(",")));
    }
    env
}

impl TestApp {
    /// The environment a console command on this app's data directory gets.
    pub fn cli_env(&self) -> Vec<(String, String)> {
        self.cli_env.clone()
    }

    /// Runs `hsmseed ARGS` on this app's data directory (a separate
    /// process, as an operator at the console would).
    pub async fn cli(&self, args: &[&str]) -> CliOutput {
        self.cli_with_stdin(args, "").await
    }

    pub async fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> CliOutput {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"));
        cmd.args(args)
            .env_remove("HSMSEED_CONFIG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in &self.cli_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        let out = child.wait_with_output().await.unwrap();
        CliOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A complete configuration for `token`, through the engine.
    pub async fn configure(&self, name: &str, token: &TestToken, user_type: UserType) {
        self.engine
            .partitions()
            .create_config(name, &engine::audit::Actor::cli())
            .await
            .unwrap();
        self.engine
            .partitions()
            .edit_config(
                name,
                engine::partitions::ConfigEdit::for_token(token, user_type),
                &engine::audit::Actor::cli(),
            )
            .await
            .unwrap();
    }

    /// A new API token's secret.
    pub async fn token(&self, name: &str, scope: engine::auth::tokens::Scope) -> String {
        use secrecy::ExposeSecret;
        let t = self
            .engine
            .auth()
            .create_token(name, scope, &engine::audit::Actor::cli())
            .await
            .unwrap();
        t.secret.expose_secret().to_string()
    }

    /// `POST /api/2.0/hsmseed?name=NAME` with a bearer token.
    pub async fn api_reseed(&self, token: &str, name: &str) -> Response {
        self.client
            .post(self.at(&format!("/api/2.0/hsmseed?name={name}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A server function as the hydrated page calls it (JSON answer).
    pub async fn server_fn(&self, name: &str, form: &[(&str, &str)]) -> Response {
        self.post_as(&self.client, &format!("/sfn/{name}"), form)
            .await
    }

    /// A same-origin form post (JSON answer) from `client`, e.g. a second
    /// browser of [`TestApp::new_client`].
    pub async fn post_as(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> Response {
        client
            .post(self.at(path))
            .header("origin", &self.url)
            .header("sec-fetch-site", "same-origin")
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// History rows of a configuration, newest first.
    pub async fn history(&self, config: &str) -> Vec<engine::history::HistoryRow> {
        let filter = engine::history::HistoryFilter {
            config: Some(config.to_string()),
            ..Default::default()
        };
        self.engine
            .history()
            .page(&filter, 1, 200)
            .await
            .unwrap()
            .rows
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

fn client(jar: Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(Policy::none())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
}

pub fn location(r: &Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A page's HTML without the empty comments (`<!>`) Leptos places between
/// the parts of an erased view, for matching text in it.
pub async fn html(r: Response) -> String {
    r.text().await.unwrap().replace("<!>", "")
}

pub fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

impl TestApp {
    /// `GET path` with a bearer token.
    pub async fn get_with_token(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.at(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Rows of the web session store.
    pub async fn session_rows(&self) -> i64 {
        sqlx_count(&self.engine, "SELECT COUNT(*) FROM sessions").await
    }

    /// Edits a configuration through the engine (as the console would).
    pub async fn edit(&self, name: &str, edit: ConfigEdit) {
        self.engine
            .partitions()
            .edit_config(name, edit, &engine::audit::Actor::cli())
            .await
            .unwrap();
    }
}

/// A `SELECT COUNT(*) ...` on the app's database.
pub async fn sqlx_count(engine: &Engine, sql: &str) -> i64 {
    engine::store::db::query_scalar(sql)
        .fetch_one(engine.store().pool())
        .await
        .unwrap()
}

/// The address an `hsmseed serve` child prints once it serves (its
/// standard output piped); fails after `limit`.
pub async fn serving_url(child: &mut tokio::process::Child, limit: std::time::Duration) -> String {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::time::timeout(limit, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(i) = line.find("http://127.0.0.1:") {
                return line[i..].split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("the appliance stopped before serving");
    })
    .await
    .expect("the appliance serves in time")
}
