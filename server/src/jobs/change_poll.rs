//! Picks up configuration changes made by other processes on the same data
//! directory (the CLI) within half a second.

use std::time::Duration;

use engine::Engine;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

pub const PERIOD: Duration = Duration::from_millis(500);

pub async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = engine.poll_changes().await {
                    tracing::warn!(error = %e, "polling for changes failed");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}
