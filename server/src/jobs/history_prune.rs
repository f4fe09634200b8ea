//! Keeps the seed history within its retention limits (age and row count),
//! and the audit log within `audit_retention_days` when one is set.

use std::time::Duration;

use engine::Engine;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

pub const PERIOD: Duration = Duration::from_secs(600);

pub async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {
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
            }
            _ = shutdown.changed() => break,
        }
    }
}
