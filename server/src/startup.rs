//! Builds the application: the engine, the first admin, the TLS identity,
//! the router with its layers, the listener (port 0 works).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::middleware::session_store::Sessions;
use anyhow::Context;
use app::ssr::FlashStore;
use app::{shell, App, OUTPUT_NAME};
use axum::extract::FromRef;
use axum::http::{header, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use engine::auth::FirstAdmin;
use engine::config::{Settings, TlsMode};
use engine::Engine;
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceBuilder;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::middleware::security_headers::CspNonce;
use crate::{api, jobs, listen, middleware, web};

/// What every handler can reach. One `Arc`: axum clones the state for
/// every middleware and handler of every request, and one shared counter is
/// cheaper to touch from both cores than one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The fields of [`AppState`], reached through `Deref`.
pub struct Shared {
    pub engine: Engine,
    /// Messages for the next page after a form post (shared with the pages).
    pub flashes: FlashStore,
    pub leptos_options: LeptosOptions,
    /// The open client connections (for `/metrics`).
    pub connections: Arc<listen::Connections>,
    /// The certificate the server presents (PEM), for `curl --cacert`.
    pub served_cert: Option<String>,
    /// Anonymous random-number requests per address (`entropy_public`).
    pub random_limit: api::random::PerAddress,
    /// Anonymous reseeds per address (`reseed_anonymous_from`).
    pub reseed_limit: api::random::PerAddress,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}

/// A built application, bound to its address, not yet serving.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    tls: Option<TlsAcceptor>,
    session_store: Sessions,
    limits: listen::Limits,
    /// The open client connections.
    pub connections: Arc<listen::Connections>,
    pub engine: Engine,
    /// SHA-256 fingerprint of the served TLS certificate.
    pub fingerprint: Option<String>,
    /// Set on the first start only.
    pub first_admin: Option<FirstAdmin>,
    pub warnings: Vec<String>,
    /// The data directory's serve lock (shared), held until dropped.
    _serving: engine::store::lock::FileLock,
}

/// The data directory's serve lock, shared by every server on it: a
/// restore waits for no server, and a server starting during a restore
/// waits for it to end.
async fn serve_lock(data_dir: &Path) -> anyhow::Result<engine::store::lock::FileLock> {
    let dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        engine::store::lock::FileLock::shared(&dir, engine::backup::SERVE_LOCK)
    })
    .await?
    .context("locking the data directory for serving")
}

/// The built web assets: the setting, else `site/` beside the binary's
/// directory (`target/site` for `target/release/hsmseed`), else `target/site`.
fn site_dir(configured: Option<&Path>) -> PathBuf {
    if let Some(p) = configured {
        return p.to_path_buf();
    }
    let beside_binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(|d| d.join("site")));
    match beside_binary {
        Some(p) if p.join("pkg").is_dir() => p,
        _ => PathBuf::from("target/site"),
    }
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        // Held while serving: a restore waits for no server, and a server
        // starting during a restore waits for it to end.
        let serving = serve_lock(&settings.data_dir).await?;
        let engine = Engine::open(settings)
            .await
            .context("opening the data directory")?;
        Self::build_serving(engine, serving).await
    }

    /// [`Application::build`] on an engine opened already.
    pub async fn build_with_engine(engine: Engine) -> anyhow::Result<Application> {
        let serving = serve_lock(&engine.settings().data_dir).await?;
        Self::build_serving(engine, serving).await
    }

    async fn build_serving(
        engine: Engine,
        serving: engine::store::lock::FileLock,
    ) -> anyhow::Result<Application> {
        let settings = engine.settings().clone();
        let mut warnings: Vec<String> = engine.warnings().to_vec();
        // One-time set-up (first administrator, TLS certificate, session
        // table) under the data directory's set-up lock: another server or
        // a console command may be starting on it too.
        let init = engine
            .init_lock()
            .await
            .context("locking the data directory")?;
        let first_admin = engine
            .auth()
            .ensure_first_admin(settings.admin_password.as_ref())
            .await
            .context("creating the first administrator")?;

        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let local_addr = listener.local_addr()?;

        let (tls, fingerprint, served_cert) = match settings.tls {
            TlsMode::Off => (None, None, None),
            TlsMode::On => {
                let configured = settings
                    .tls_cert
                    .as_deref()
                    .zip(settings.tls_key.as_deref());
                let id = engine::tls::server_identity(
                    &settings.data_dir,
                    configured,
                    &[local_addr.ip().to_string()],
                )
                .context("loading the TLS certificate")?;
                warnings.extend(id.warnings.iter().cloned());
                let acceptor = listen::tls_acceptor(&id.cert_pem, &id.key_pem)?;
                (Some(acceptor), Some(id.fingerprint), Some(id.cert_pem))
            }
        };

        let session_store = Sessions::open(&engine)
            .await
            .context("creating the session table")?;
        drop(init);

        let site = site_dir(settings.site_dir.as_deref());
        if !site.join("pkg").is_dir() {
            warnings.push(format!(
                "web assets not found in {} (run `make build`); pages work without JavaScript",
                site.display()
            ));
        }
        // Content-hashed asset names (scripts/build-site.sh lists them in
        // hash.txt; Leptos joins an absolute hash_file path as it is).
        let hashes = site.join("hash.txt");
        let leptos_options = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(site.to_string_lossy().to_string())
            .site_pkg_dir("pkg")
            .env(Env::PROD)
            .site_addr(local_addr)
            .hash_files(hashes.is_file())
            .hash_file(
                std::path::absolute(&hashes)?
                    .to_string_lossy()
                    .into_owned()
                    .into(),
            )
            .build();
        let connections = Arc::new(listen::Connections::default());
        let state = AppState(Arc::new(Shared {
            engine: engine.clone(),
            flashes: FlashStore::default(),
            leptos_options,
            connections: connections.clone(),
            served_cert,
            random_limit: api::random::PerAddress::new(settings.entropy_public_per_minute),
            reseed_limit: api::random::PerAddress::new(settings.reseed_anonymous_per_minute),
        }));
        let router = router(state, session_store.clone(), &settings, site);
        Ok(Application {
            listener,
            local_addr,
            router,
            tls,
            session_store,
            limits: listen::Limits::from_settings(&settings),
            connections,
            engine,
            fingerprint,
            first_admin,
            warnings,
            _serving: serving,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address to open in a browser.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// Serves until `shutdown` completes, then lets requests under way end
    /// and stops the background jobs.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut jobs = jobs::spawn_all(&self.engine, self.session_store.clone(), &stop_rx);
        tokio::select! {
            () = listen::serve(self.listener, self.router, self.tls, self.limits, self.connections.clone(), shutdown) => {}
            Some(ended) = jobs.join_next() => {
                // A job ending before shutdown is a bug: say which, and stop.
                match ended {
                    Ok(name) => tracing::error!(job = name, "background job ended unexpectedly"),
                    Err(e) => tracing::error!(error = %e, "background job failed"),
                }
                let _ = stop_tx.send(true);
                anyhow::bail!("a background job ended unexpectedly; see the log");
            }
        }
        let _ = stop_tx.send(true);
        while let Some(ended) = jobs.join_next().await {
            match ended {
                Ok(name) => tracing::info!(job = name, "job stopped"),
                Err(e) => tracing::error!(error = %e, "job ended abnormally"),
            }
        }
        Ok(())
    }
}

/// The Leptos context of every page and server function: the engine, and
/// this request's CSP nonce for the inline hydration scripts.
fn leptos_context(
    engine: Engine,
    flashes: FlashStore,
) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(engine.clone());
        provide_context(flashes.clone());
        let nonce = leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<CspNonce>().cloned());
        if let Some(CspNonce(n)) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(n));
        }
    }
}

/// The app's routes, generated once per process. Generating them runs the
/// app with resource loading suppressed through a process-global flag
/// (leptos_server's `SuppressResourceLoad`): a page rendered by another
/// server in the same process meanwhile would wait forever (leptos issue
/// 4773). One server per process never meets it; the tests, which run
/// several servers at once, did.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

fn router(state: AppState, session_store: Sessions, settings: &Settings, site: PathBuf) -> Router {
    let tls = settings.tls == TlsMode::On;
    let context = leptos_context(state.engine.clone(), state.flashes.clone());
    let routes = route_list();
    let options = state.leptos_options.clone();
    // Hashed names never change content: a year in the browser's cache.
    let hashed = options.hash_files;

    let sfn_context = context.clone();
    let server_fns = move |req: axum::extract::Request| {
        let ctx = sfn_context.clone();
        async move { handle_server_fns_with_context(ctx, req).await }
    };

    let sessions = SessionManagerLayer::new(session_store)
        .with_name(if tls { "__Host-hsmseed" } else { "hsmseed" })
        .with_secure(tls)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_path("/")
        // Saved when changed: the auth middleware moves the idle timer on
        // once a minute (`keep_alive`), not on every request.
        .with_always_save(false)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(i64::from(
            settings.session_idle_minutes,
        ))));

    let pages = Router::new()
        .route("/login", post(web::login::login))
        .route("/logout", post(web::login::logout))
        .route("/history.csv", get(web::history::csv))
        .route(
            "/trust/servers",
            post(web::trust::upload).layer(axum::extract::DefaultBodyLimit::max(
                web::trust::UPLOAD_LIMIT,
            )),
        )
        .route("/trust/servers/{address}", get(web::trust::download_server))
        .route("/trust/qa-cert.pem", get(web::trust::download_qa))
        .route("/tls/appliance.pem", get(web::trust::download_served_cert))
        .route("/healthz", get(api::health::healthz))
        .route("/readyz", get(api::health::readyz))
        .route("/metrics", get(api::metrics::metrics))
        .merge(api::router())
        .route("/sfn/{*name}", get(server_fns.clone()).post(server_fns))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .nest_service(
            "/pkg",
            ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(if hashed {
                        "public, max-age=31536000, immutable"
                    } else {
                        "no-cache"
                    }),
                ))
                .service(
                    ServeDir::new(site.join("pkg"))
                        .precompressed_br()
                        .precompressed_gzip(),
                ),
        )
        .route_service("/favicon.svg", ServeFile::new(site.join("favicon.svg")))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .with_state(state.clone());

    pages.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(
                middleware::operation::operation_id,
            ))
            .layer(axum::middleware::from_fn_with_state(
                tls,
                middleware::security_headers::security_headers,
            ))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(u64::from(settings.request_timeout_secs)),
            ))
            .layer(axum::middleware::from_fn(middleware::origin::same_origin))
            .layer(axum::middleware::from_fn(web::sfn::status))
            .layer(middleware::auth::SessionsUnlessToken(
                ServiceBuilder::new()
                    .layer(sessions)
                    .layer(axum::middleware::from_fn_with_state(
                        state,
                        middleware::auth::require_session,
                    )),
            )),
    )
}
