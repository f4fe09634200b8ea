//! Keeps the seed history within its retention limits (age and row count),
//! and the audit log within `audit_retention_days` when one is set.

use std::time::Duration;

use engine::Engine;
use tokio::sync::watch;

pub const PERIOD: Duration = Duration::from_secs(600);

pub async fn run(engine: Engine, shutdown: watch::Receiver<bool>) {
    super::every(PERIOD, shutdown, || async {
        match engine.history().prune().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "old seed history deleted"),
            Err(e) => tracing::warn!(error = %e, "pruning the seed history failed"),
        }
        match engine.audit_log().prune().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "audit rows past their retention deleted"),
            Err(e) => tracing::warn!(error = %e, "pruning the audit log failed"),
        }
    })
    .await;
}
