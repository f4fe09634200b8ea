//! Picks up configuration changes made by other processes on the same data
//! directory (the CLI) within half a second.

use std::time::Duration;

use engine::Engine;
use tokio::sync::watch;

pub const PERIOD: Duration = Duration::from_millis(500);

pub async fn run(engine: Engine, shutdown: watch::Receiver<bool>) {
    super::every(PERIOD, shutdown, || async {
        if let Err(e) = engine.poll_changes().await {
            tracing::warn!(error = %e, "polling for changes failed");
        }
    })
    .await;
}
