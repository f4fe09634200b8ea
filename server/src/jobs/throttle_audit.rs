//! Writes the audit rows of throttled sign-in attempts once their window
//! has ended (one row per client address or user name and window, with
//! the count; see `engine/src/auth/throttle.rs`).

use std::time::Duration;

use engine::Engine;
use tokio::sync::watch;

pub const PERIOD: Duration = Duration::from_secs(10);

pub async fn run(engine: Engine, shutdown: watch::Receiver<bool>) {
    super::every(PERIOD, shutdown, || async {
        if let Err(e) = engine.auth().flush_throttled().await {
            tracing::warn!(error = %e, "auditing throttled sign-in attempts failed");
        }
    })
    .await;
}
