//! The engine every door holds: the capabilities, composed. A door asks
//! the capability it needs (`engine.partitions().reseed(...)`,
//! `engine.auth().login(...)`); the engine itself only opens them and
//! answers what spans several (readiness, metrics).

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::alerts::Alerts;
use crate::audit::AuditLog;
use crate::auth::Auth;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::core::Core;
use crate::entropy::{Entropy, EntropyState};
use crate::error::Result;
use crate::history::History;
use crate::ntl::TrustLink;
use crate::overview::{DataVersion, Overview, OverviewCache};
use crate::partitions::Partitions;
use crate::schedule::Schedule;
use crate::secrets::MasterKey;
use crate::store::lock::FileLock;
use crate::store::Store;
use types::status::{ApplianceState, ConfigCounts};

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    core: Core,
    auth: Auth,
    partitions: Partitions,
    entropy: Entropy,
    history: History,
    audit: AuditLog,
    trust: TrustLink,
    schedule: Schedule,
    alerts: Alerts,
    fleet: crate::fleet::Fleet,
    overview: OverviewCache,
    warnings: Vec<String>,
}

/// Takes the data directory's set-up lock (waiting off the runtime).
async fn init_lock(data_dir: &std::path::Path) -> Result<FileLock> {
    let dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || FileLock::exclusive(&dir, INIT_LOCK)).await?
}

/// The lock file of first-time set-up and migrations.
pub(crate) const INIT_LOCK: &str = "init.lock";

/// The appliance's health: readiness, and every configuration's state
/// (with the rest of the [`Overview`]).
#[derive(Debug, Clone)]
pub struct Health {
    pub readiness: Readiness,
    pub state: ApplianceState,
    pub counts: ConfigCounts,
    pub overview: Arc<Overview>,
}

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
        let store = match &settings.database_url {
            None => Store::open(&settings.data_dir).await?,
            Some(url) => {
                use secrecy::ExposeSecret;
                Store::open_postgres(url.expose_secret(), &settings.data_dir).await?
            }
        };
        let (master_key, warnings) =
            MasterKey::load_or_create(&settings.data_dir, settings.master_key_file.as_deref())?;
        crate::secrets::check::check_key(
            store.pool(),
            &master_key,
            crate::clock::unix_ms(clock.now()),
        )
        .await?;
        drop(init);
        let last_change = crate::store::shared::last_change(&store).await?;
        let core = Core::new(settings, store, clock, Arc::new(master_key), last_change);
        let entropy = Entropy::new(core.clone());
        let history = History::new(core.clone());
        let partitions = Partitions::new(core.clone(), entropy.clone(), history.clone());
        let trust = TrustLink::new(core.clone());
        let alerts = Alerts::new(
            core.clone(),
            partitions.clone(),
            entropy.clone(),
            trust.clone(),
        );
        let engine = Engine {
            inner: Arc::new(Inner {
                auth: Auth::new(core.clone()),
                schedule: Schedule::new(core.clone(), partitions.clone()),
                audit: AuditLog::new(core.clone()),
                trust,
                alerts,
                fleet: crate::fleet::Fleet::new(core.clone()),
                overview: OverviewCache::default(),
                partitions,
                entropy,
                history,
                core,
                warnings,
            }),
        };
        if let Err(e) = engine.entropy().startup().await {
            tracing::error!(error = %e, "entropy source failed its start-up test; no seed will be delivered");
        }
        Ok(engine)
    }

    // --- the capabilities -------------------------------------------------

    /// Administrators, sign-in, sessions, API tokens.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// HSM configurations, their logins, the reseed, the PKCS#11 module.
    pub fn partitions(&self) -> &Partitions {
        &self.inner.partitions
    }

    /// The entropy source and its health.
    pub fn entropy(&self) -> &Entropy {
        &self.inner.entropy
    }

    /// The seed history.
    pub fn history(&self) -> &History {
        &self.inner.history
    }

    /// The audit log (read and pruned here; written by the capabilities).
    pub fn audit_log(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// The trust link: HSM server certificates, the appliance certificate.
    pub fn trust(&self) -> &TrustLink {
        &self.inner.trust
    }

    /// The appliances sharing this database: heartbeats, the fleet list.
    pub fn fleet(&self) -> &crate::fleet::Fleet {
        &self.inner.fleet
    }

    /// Alerts: where they go, the test alert, the watch.
    pub fn alerts(&self) -> &Alerts {
        &self.inner.alerts
    }

    /// The reseed period and the scheduler's state.
    pub fn schedule(&self) -> &Schedule {
        &self.inner.schedule
    }

    /// What the capabilities share (the engine's own modules and tests).
    pub(crate) fn core(&self) -> &Core {
        &self.inner.core
    }

    // --- what they share --------------------------------------------------

    pub fn settings(&self) -> &Settings {
        self.inner.core.settings()
    }

    /// The data directory's set-up lock, for one-time set-up that other
    /// processes must not race (the first administrator, the TLS
    /// certificate).
    pub async fn init_lock(&self) -> Result<FileLock> {
        init_lock(&self.settings().data_dir).await
    }

    pub fn store(&self) -> &Store {
        self.inner.core.store()
    }

    pub fn now(&self) -> OffsetDateTime {
        self.inner.core.now()
    }

    /// Things the operator should hear about at start (e.g. key files
    /// readable by others).
    pub fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }

    /// Picks up changes made by other processes (the CLI); the server calls
    /// it every half second.
    pub async fn poll_changes(&self) -> Result<()> {
        self.inner.core.poll_changes().await
    }

    pub fn watch_changes(&self) -> watch::Receiver<i64> {
        self.inner.core.watch_changes()
    }

    // --- what spans several -------------------------------------------------

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
        self.readiness_with(database_up)
    }

    fn readiness_with(&self, database_up: bool) -> Readiness {
        let st = self.entropy().status();
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

    /// Each configuration's state, the last reseeds and the certificates'
    /// expiry, as of now: read again only when something they show has
    /// changed since the last read (see [`crate::overview`]).
    pub async fn overview(&self) -> Result<Arc<Overview>> {
        let (audit, history, changes) = crate::store::shared::data_version(self.store()).await?;
        let version = DataVersion {
            audit,
            history,
            changes,
            hour: crate::clock::unix_ms(self.now()).div_euclid(3_600_000),
        };
        self.inner
            .overview
            .at(version, async {
                let certificates = self.trust().expiries().await.map_err(|e| {
                    tracing::error!(error = %e, "certificates' expiry not read");
                    e.to_string()
                });
                let configs = self.partitions().list_configs().await?;
                Ok(Overview {
                    counts: ConfigCounts::of(&configs),
                    configs,
                    stats: self.history().stats().await?,
                    certificates,
                })
            })
            .await
    }

    /// One page of the configurations `query` finds (see
    /// [`crate::partitions::ConfigQuery`]), searched in the overview's
    /// configurations: as of the database's data version, like the
    /// dashboard.
    pub async fn find_configs(
        &self,
        query: &crate::partitions::ConfigQuery,
        page: u32,
        per_page: u32,
    ) -> Result<crate::partitions::ConfigPage> {
        let overview = self.overview().await?;
        query.page_of(&overview.configs, overview.counts, page, per_page)
    }

    /// The appliance's state: `degraded` when an enabled configuration is
    /// failing or held, `not_ready` when nothing can be seeded. `Err` when
    /// the database does not answer.
    pub async fn health(&self) -> Result<Health> {
        let overview = self.overview().await.inspect_err(|e| {
            tracing::error!(error = %e, "database not ready");
        })?;
        // The overview's version was just read: the database answers.
        let readiness = self.readiness_with(true);
        let counts = overview.counts;
        Ok(Health {
            state: ApplianceState::of(readiness.ready, &counts),
            readiness,
            counts,
            overview,
        })
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        let next = self.schedule().next_run_at();
        let health = match self.health().await {
            Ok(h) => Some((h.state, h.counts)),
            Err(e) => {
                tracing::warn!(error = %e, "metrics without the configurations' state");
                None
            }
        };
        self.inner.core.metrics().render(&crate::metrics::Gauges {
            entropy_up: self.entropy().status().state == EntropyState::Ok,
            sources: self.entropy().sources(),
            next_run_unix: next.map(|t| t.unix_timestamp_nanos() as f64 / 1e9),
            health,
        })
    }
}
