//! The one engine every door calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::audit::Actor;
use crate::clock::{unix_ms, Clock, SystemClock};
use crate::config::{EntropySourceKind, Settings};
use crate::entropy::{EntropySource, EntropyState, EntropyStatus, HealthConfig};
use crate::error::Result;
use crate::history::{self, HistoryFilter, HistoryPage, HistoryStats, HistoryWriter};
use crate::hsm::Hsm;
use crate::schedule::ScheduleStatus;
use crate::secrets::MasterKey;
use crate::store::lock::FileLock;
use crate::store::Store;

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    store: Store,
    clock: Arc<dyn Clock>,
    master_key: Arc<MasterKey>,
    /// Holds credentials that failed to log in (see `partitions/hold.rs`).
    logins: crate::partitions::LoginLedger,
    entropy: Arc<EntropySource>,
    /// The PKCS#11 module, loaded at first use (see `hsm/loader.rs`).
    hsm: crate::hsm::ModuleLoader,
    history: HistoryWriter,
    /// The highest change id seen (bumped in-process, or by polling the
    /// database for changes made by other processes).
    changes: watch::Sender<i64>,
    schedule: watch::Sender<ScheduleStatus>,
    scheduler_running: AtomicBool,
    metrics: crate::metrics::Metrics,
    token_cache: Mutex<crate::auth::tokens::TokenCache>,
    config_cache: Mutex<crate::partitions::ConfigCache>,
    warnings: Vec<String>,
}

/// Takes the data directory's set-up lock (waiting off the runtime).
async fn init_lock(data_dir: &std::path::Path) -> Result<FileLock> {
    let dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || FileLock::exclusive(&dir, INIT_LOCK)).await?
}

/// The lock file of first-time set-up and migrations.
const INIT_LOCK: &str = "init.lock";

/// What `/readyz` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub database: String,
    pub entropy: String,
}

impl Engine {
    /// Opens the engine on the data directory of `settings`: creates and
    /// migrates the database, loads (or creates) the master key, and runs
    /// the entropy source's start-up test (a failure leaves the source
    /// `failed`, it does not stop the engine).
    pub async fn open(settings: Settings) -> Result<Engine> {
        Self::open_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn open_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> Result<Engine> {
        // First-time set-up and migrations, one process at a time: a server
        // and a console command started together on a new data directory
        // must not both create the tables or the master key.
        crate::store::ensure_private_dir(&settings.data_dir)?;
        let init = init_lock(&settings.data_dir).await?;
        let store = Store::open(&settings.data_dir).await?;
        let (master_key, warnings) =
            MasterKey::load_or_create(&settings.data_dir, settings.master_key_file.as_deref())?;
        drop(init);
        let master_key = Arc::new(master_key);
        let logins = crate::partitions::LoginLedger::new(
            settings.data_dir.clone(),
            store.pool().connect_options().get_filename().to_path_buf(),
            master_key.clone(),
            clock.clone(),
            settings.login_failures_per_token,
        );
        let entropy = Arc::new(EntropySource::new(
            settings.entropy_source.clone(),
            HealthConfig {
                min_entropy_per_byte: settings.entropy_min_entropy,
                full_entropy: settings.entropy_full_entropy,
                raw_per_output_byte: settings.entropy_condition_ratio as usize,
            },
            clock.clone(),
        ));
        let last_change = crate::store::shared::last_change(store.pool()).await?;
        let history = HistoryWriter::spawn(store.pool().clone());
        let hsm = crate::hsm::ModuleLoader::new(
            settings.pkcs11_module.clone(),
            Duration::from_secs(u64::from(settings.pkcs11_timeout_secs)),
            clock.clone(),
        );
        let engine = Engine {
            inner: Arc::new(Inner {
                settings,
                store,
                clock,
                master_key,
                logins,
                entropy,
                hsm,
                history,
                changes: watch::Sender::new(last_change),
                schedule: watch::Sender::new(ScheduleStatus {
                    period_minutes: 0,
                    next_run_at: None,
                    running: false,
                    last_round: None,
                }),
                scheduler_running: AtomicBool::new(false),
                metrics: crate::metrics::Metrics::default(),
                token_cache: Mutex::default(),
                config_cache: Mutex::default(),
                warnings,
            }),
        };
        if let Err(e) = engine.startup_entropy().await {
            tracing::error!(error = %e, "entropy source failed its start-up test; no seed will be delivered");
        }
        Ok(engine)
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The data directory's set-up lock, for one-time set-up that other
    /// processes must not race (the first administrator, the TLS
    /// certificate).
    pub async fn init_lock(&self) -> Result<FileLock> {
        init_lock(&self.settings().data_dir).await
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// Things the operator should hear about at start (e.g. key files
    /// readable by others).
    pub fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }

    pub(crate) fn master_key(&self) -> &MasterKey {
        &self.inner.master_key
    }

    pub(crate) fn logins(&self) -> &crate::partitions::LoginLedger {
        &self.inner.logins
    }

    pub(crate) fn history_writer(&self) -> &HistoryWriter {
        &self.inner.history
    }

    /// The PKCS#11 module, loaded (and initialised) at first use, off the
    /// runtime and under the PKCS#11 deadline; after a failure not tried
    /// again before a backoff.
    pub async fn hsm(&self) -> Result<Hsm> {
        self.inner.hsm.get().await
    }

    // --- entropy ---------------------------------------------------------

    pub fn entropy_status(&self) -> EntropyStatus {
        self.inner.entropy.status()
    }

    /// Runs a fresh start-up test of the entropy source: how a failed
    /// source comes back (an admin action, or a restart).
    pub async fn restart_entropy(&self, actor: &Actor) -> Result<()> {
        self.audited(
            actor,
            "entropy.restart",
            &self.settings().entropy_source.to_string(),
            async {
                self.startup_entropy().await?;
                Ok(((), "start-up test passed".to_string()))
            },
        )
        .await
    }

    /// The start-up test, as run when the engine opens.
    async fn startup_entropy(&self) -> Result<()> {
        let source = self.inner.entropy.clone();
        let r = tokio::task::spawn_blocking(move || source.startup_test()).await?;
        self.record_entropy_events().await;
        r
    }

    /// `len` bytes of checked, conditioned entropy; fails closed.
    pub(crate) async fn entropy_seed(&self, len: usize) -> Result<Zeroizing<Vec<u8>>> {
        let source = self.inner.entropy.clone();
        // The kernel CSPRNG answers at once; a device may block.
        let r = if matches!(self.settings().entropy_source, EntropySourceKind::Os) {
            source.seed(len)
        } else {
            tokio::task::spawn_blocking(move || source.seed(len)).await?
        };
        self.record_entropy_events().await;
        r
    }

    async fn record_entropy_events(&self) {
        let events = self.inner.entropy.drain_events();
        if events.is_empty() {
            return;
        }
        let source = self.settings().entropy_source.to_string();
        for e in events {
            let kind = serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let test = e
                .test
                .map(|t| t.to_string())
                .unwrap_or_else(|| "none".into());
            if !matches!(e.kind, crate::entropy::EntropyEventKind::StartupPassed) {
                self.inner.metrics.observe_entropy_failure(&test, &kind);
            }
            if matches!(e.kind, crate::entropy::EntropyEventKind::StartupPassed) {
                tracing::info!(source = %source, detail = %e.detail, "entropy source passed its start-up test");
            } else {
                tracing::warn!(source = %source, kind = %kind, test = %test, detail = %e.detail, "entropy source event");
            }
            let r = crate::entropy::record_event(
                self.store().pool(),
                unix_ms(e.at),
                &source,
                &kind,
                &test,
                &e.detail,
            )
            .await;
            if let Err(err) = r {
                tracing::error!(error = %err, "entropy event could not be recorded");
            }
        }
    }

    /// Whether the appliance can do its work: the database answers and the
    /// entropy source is healthy.
    pub async fn readiness(&self) -> Readiness {
        let database_up = match self.store().ping().await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "database not ready");
                false
            }
        };
        let st = self.entropy_status();
        let entropy = match (&st.state, &st.last_failure) {
            (EntropyState::Ok, _) => format!("{}: ok", st.source),
            (EntropyState::Starting, _) => format!("{}: starting", st.source),
            (EntropyState::Failed, Some(f)) => {
                format!("{}: failed ({}: {})", st.source, f.test, f.detail)
            }
            (EntropyState::Failed, None) => format!("{}: failed", st.source),
        };
        Readiness {
            ready: database_up && st.state == EntropyState::Ok,
            database: if database_up { "ok" } else { "unavailable" }.to_string(),
            entropy,
        }
    }

    pub fn entropy_source_kind(&self) -> &EntropySourceKind {
        &self.settings().entropy_source
    }

    // --- metrics ----------------------------------------------------------

    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// The Prometheus text of `/metrics`.
    pub fn metrics_text(&self) -> String {
        let next = self.schedule_watch().borrow().next_run_at;
        self.inner.metrics.render(&crate::metrics::Gauges {
            entropy_up: self.entropy_status().state == EntropyState::Ok,
            next_run_unix: next.map(|t| t.unix_timestamp_nanos() as f64 / 1e9),
        })
    }

    // --- changes ----------------------------------------------------------

    /// Moves the change version on to `id` (never back), waking watchers.
    fn advance_changes(&self, id: i64) {
        self.inner.changes.send_if_modified(|v| {
            let newer = id > *v;
            if newer {
                *v = id;
            }
            newer
        });
    }

    /// An appliance setting kept in the database (`app_settings`).
    pub(crate) async fn app_setting(&self, key: &str) -> Result<Option<String>> {
        crate::store::shared::setting(self.store().pool(), key).await
    }

    /// Writes appliance settings, all in one transaction.
    pub(crate) async fn set_app_settings(&self, values: &[(&str, String)]) -> Result<()> {
        crate::store::shared::set_settings(self.store().pool(), values, unix_ms(self.now())).await
    }

    /// Picks up changes made by other processes (the CLI); the server calls
    /// it every half second.
    pub async fn poll_changes(&self) -> Result<()> {
        let id = crate::store::shared::last_change(self.store().pool()).await?;
        self.advance_changes(id);
        Ok(())
    }

    /// The current change version (moved on by [`Engine::poll_changes`] and by
    /// every change this process commits).
    pub(crate) fn change_version(&self) -> i64 {
        *self.inner.changes.borrow()
    }

    pub(crate) fn token_cache(&self) -> &Mutex<crate::auth::tokens::TokenCache> {
        &self.inner.token_cache
    }

    pub(crate) fn config_cache(&self) -> &Mutex<crate::partitions::ConfigCache> {
        &self.inner.config_cache
    }

    pub fn watch_changes(&self) -> watch::Receiver<i64> {
        self.inner.changes.subscribe()
    }

    pub(crate) fn schedule_watch(&self) -> &watch::Sender<ScheduleStatus> {
        &self.inner.schedule
    }

    pub(crate) fn mark_scheduler_running(&self) {
        self.inner.scheduler_running.store(true, Ordering::Relaxed);
    }

    pub(crate) fn scheduler_running(&self) -> bool {
        self.inner.scheduler_running.load(Ordering::Relaxed)
    }

    // --- history ----------------------------------------------------------

    pub async fn history_page(
        &self,
        filter: &HistoryFilter,
        page: u32,
        per_page: u32,
    ) -> Result<HistoryPage> {
        let mut conn = self.store().pool().acquire().await?;
        history::list(&mut conn, filter, page, per_page).await
    }

    pub async fn history_csv(&self, filter: &HistoryFilter) -> Result<String> {
        let mut conn = self.store().pool().acquire().await?;
        history::csv(&mut conn, filter).await
    }

    pub async fn history_stats(&self) -> Result<HistoryStats> {
        let mut conn = self.store().pool().acquire().await?;
        history::stats(&mut conn, self.now()).await
    }

    /// Applies the retention limits; returns how many rows went.
    pub async fn prune_history(&self) -> Result<u64> {
        let mut conn = self.store().pool().acquire().await?;
        let s = self.settings();
        history::prune(
            &mut conn,
            self.now(),
            s.history_retention_days,
            s.history_max_rows,
        )
        .await
    }
}
