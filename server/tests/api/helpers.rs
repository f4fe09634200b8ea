use std::sync::Arc;

use engine::clock::ManualClock;
use engine::config::{Settings, TlsMode};
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
    _data: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub struct Options {
    pub tls: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { tls: true }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(opts: Options) -> TestApp {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let data = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_data_dir(data.path());
        settings.tls = if opts.tls { TlsMode::On } else { TlsMode::Off };
        settings.admin_password = Some(SecretString::from(ADMIN_PASSWORD.to_string()));
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let engine = Engine::open_with_clock(settings, clock.clone())
            .await
            .unwrap();
        let app = Application::build_with_engine(engine.clone())
            .await
            .unwrap();
        let url = app.url();
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

pub fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}
