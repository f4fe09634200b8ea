//! What every view of the appliance's state shows (the dashboard,
//! `/api/2.0/status`, `/metrics`): each configuration's state, the last
//! reseeds, the hourly counts and the certificates' expiry.
//!
//! Every open dashboard asks for them every few seconds, and reading them
//! takes several queries; on SQLite each is a round trip to a connection's
//! worker thread, which cost more than the page itself under load. So they
//! are kept as of one [`DataVersion`]: one query (which is also the
//! database's ping) tells whether anything they show changed since, in this
//! process or another one on the same database, and they are read again
//! only then. Nothing is ever shown older than the version it was read at:
//! the version is read first, the data after it.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::history::HistoryStats;
use crate::partitions::HsmConfig;
use types::ntl::CertExpiry;
use types::status::ConfigCounts;

/// Where the data of an [`Overview`] stands. Every change to what it shows
/// moves one of these on, at its commit or after it:
/// * configurations, users, tokens, settings, the trust link: their audit
///   row (in the change's transaction, or written after the change);
/// * reseed outcomes, the last reseeds, the hourly counts: their history
///   row (the history writer updates the configuration in the same
///   transaction);
/// * login holds: a row in `changes` (with the hold);
/// * the hour: the 24 hourly buckets end at the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DataVersion {
    pub audit: i64,
    pub history: i64,
    pub changes: i64,
    pub hour: i64,
}

/// Each configuration's state, the last reseeds and the certificates.
#[derive(Debug)]
pub struct Overview {
    pub configs: Vec<HsmConfig>,
    /// The configurations by state.
    pub counts: ConfigCounts,
    pub stats: HistoryStats,
    /// `Err` (its message) when the certificates could not be read: only
    /// the dashboard shows them, and the state and counts of
    /// `/api/2.0/status` and `/metrics` do not wait on them. Such an
    /// overview is not kept: the next view reads them again.
    pub certificates: std::result::Result<Vec<CertExpiry>, String>,
}

/// The newest [`Overview`] with the version it was read at.
#[derive(Default)]
pub(crate) struct OverviewCache {
    // A tokio mutex, held while a new overview is read: the views that
    // arrive meanwhile wait for it instead of reading it too.
    last: Mutex<Option<(DataVersion, Arc<Overview>)>>,
}

impl OverviewCache {
    /// The overview of `version`: the kept one when it was read at this
    /// version, else `read` (which must read the data after `version` was).
    pub(crate) async fn at<F>(&self, version: DataVersion, read: F) -> crate::Result<Arc<Overview>>
    where
        F: Future<Output = crate::Result<Overview>>,
    {
        let mut last = self.last.lock().await;
        if let Some((v, o)) = last.as_ref() {
            if *v == version {
                return Ok(o.clone());
            }
        }
        let fresh = Arc::new(read.await?);
        if fresh.certificates.is_ok() {
            *last = Some((version, fresh.clone()));
        }
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn overview(n: usize) -> Overview {
        Overview {
            configs: Vec::with_capacity(n),
            counts: ConfigCounts::default(),
            stats: HistoryStats {
                last: vec![],
                total_24h: n as i64,
                failures_24h: 0,
                hourly: vec![],
            },
            certificates: Ok(vec![]),
        }
    }

    fn version(history: i64) -> DataVersion {
        DataVersion {
            audit: 1,
            history,
            changes: 0,
            hour: 7,
        }
    }

    #[tokio::test]
    async fn reads_again_only_when_the_version_moves() {
        let cache = OverviewCache::default();
        let reads = AtomicUsize::new(0);
        let read = |n| {
            let reads = &reads;
            async move {
                reads.fetch_add(1, Ordering::SeqCst);
                Ok(overview(n))
            }
        };
        let a = cache.at(version(1), read(1)).await.unwrap();
        let b = cache.at(version(1), read(2)).await.unwrap();
        assert_eq!(b.stats.total_24h, 1, "the kept overview");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(reads.load(Ordering::SeqCst), 1, "read once");
        let c = cache.at(version(2), read(3)).await.unwrap();
        assert_eq!(c.stats.total_24h, 3, "a new version reads again");
        let d = cache.at(version(1), read(4)).await.unwrap();
        assert_eq!(d.stats.total_24h, 4, "any other version reads again");
    }

    #[tokio::test]
    async fn certificates_not_read_are_read_again_at_the_next_view() {
        let cache = OverviewCache::default();
        let mut broken = overview(1);
        broken.certificates = Err("certificate of HSM 10.0.0.1: not PEM".into());
        let o = cache.at(version(1), async { Ok(broken) }).await.unwrap();
        assert!(o.certificates.is_err() && o.stats.total_24h == 1);
        let o = cache
            .at(version(1), async { Ok(overview(2)) })
            .await
            .unwrap();
        assert_eq!(o.stats.total_24h, 2, "not kept: read again");
    }

    #[tokio::test]
    async fn a_failed_read_keeps_nothing() {
        let cache = OverviewCache::default();
        let failed = cache
            .at(version(1), async {
                Err(crate::Error::Invalid("database gone".into()))
            })
            .await;
        assert!(failed.is_err());
        let o = cache
            .at(version(1), async { Ok(overview(5)) })
            .await
            .unwrap();
        assert_eq!(o.stats.total_24h, 5);
    }

    /// On a real engine (SoftHSM2, the SQLite file): what another process
    /// on the same database changes (here a second engine, as the console
    /// is) shows at the next view, and so does this one's; nothing is read
    /// again while nothing changed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_change_shows_at_the_next_view_whoever_made_it() {
        use crate::audit::Actor;
        use crate::config::Settings;
        use crate::hsm::testing::SoftHsmFixture;
        use crate::partitions::{ConfigEdit, SlotId};
        use crate::Engine;
        use types::hsm::ConfigState;
        use types::{Trigger, UserType};

        let f = SoftHsmFixture::shared();
        let _access = f.shared_access().await;
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_data_dir(dir.path());
        settings.pkcs11_module = Some(f.module_to_load().to_path_buf());
        let server = Engine::open(settings.clone()).await.unwrap();
        let console = Engine::open(settings).await.unwrap();
        let cli = Actor::cli();
        let state = |o: &Overview| {
            o.configs
                .iter()
                .map(|c| (c.name.clone(), c.state, c.failures_in_row))
                .collect::<Vec<_>>()
        };

        let first = server.overview().await.unwrap();
        assert!(first.configs.is_empty() && first.stats.last.is_empty());
        let again = server.overview().await.unwrap();
        assert!(Arc::ptr_eq(&first, &again), "nothing changed: kept");

        // Created and reseeded by the other process.
        console
            .partitions()
            .create_config_with(
                "OV1",
                ConfigEdit::for_token(f.token(2), UserType::User),
                &cli,
            )
            .await
            .unwrap();
        let o = server.overview().await.unwrap();
        assert_eq!(state(&o), [("OV1".into(), ConfigState::Never, 0)]);
        console
            .partitions()
            .reseed("OV1", Trigger::Api, &cli)
            .await
            .unwrap();
        let o = server.overview().await.unwrap();
        assert_eq!(state(&o), [("OV1".into(), ConfigState::Ok, 0)]);
        assert_eq!((o.stats.last.len(), o.stats.total_24h), (1, 1));

        // This process: an edit that breaks it, a failed reseed.
        let mut broken = ConfigEdit::for_token(f.token(2), UserType::User);
        broken.slot = Some(SlotId(99_999));
        server
            .partitions()
            .edit_config("OV1", broken, &cli)
            .await
            .unwrap();
        server
            .partitions()
            .reseed("OV1", Trigger::Api, &cli)
            .await
            .unwrap_err();
        let o = server.overview().await.unwrap();
        assert_eq!(state(&o), [("OV1".into(), ConfigState::Failing, 1)]);
        assert_eq!((o.stats.total_24h, o.stats.failures_24h), (2, 1));
        let health = server.health().await.unwrap();
        assert_eq!(health.state, types::status::ApplianceState::Degraded);

        // Deleted by the other process.
        console
            .partitions()
            .delete_config("OV1", &cli)
            .await
            .unwrap();
        assert!(server.overview().await.unwrap().configs.is_empty());
    }

    /// A stored certificate that no longer reads (a damaged row) fails the
    /// dashboard's certificates, never the state that `/api/2.0/status`
    /// and `/metrics` report; once it is gone they read again.
    #[tokio::test]
    async fn an_unreadable_certificate_fails_only_the_certificates() {
        use crate::config::Settings;
        use crate::Engine;

        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(Settings::for_data_dir(dir.path()))
            .await
            .unwrap();
        db::query(
            "INSERT INTO ntl_servers (address, cert_pem, created_at, updated_at) \
             VALUES ('10.0.0.1', 'not a certificate', 0, 0)",
        )
        .execute(engine.store().pool())
        .await
        .unwrap();
        // The state is still there (health() is Ok), without certificates.
        let health = engine.health().await.unwrap();
        assert!(health.overview.certificates.is_err());
        assert!(engine
            .metrics_text()
            .await
            .contains("hsmseed_configurations"));

        db::query("DELETE FROM ntl_servers")
            .execute(engine.store().pool())
            .await
            .unwrap();
        let o = engine.overview().await.unwrap();
        assert_eq!(o.certificates.as_ref().map(Vec::len), Ok(0));
    }
}
