//! Takes over, every few seconds, what another appliance on the database
//! claimed for a scheduled round and did not finish within its lease (see
//! `Schedule::take_over`).

use std::time::Duration;

use engine::Engine;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

pub const PERIOD: Duration = Duration::from_secs(5);

pub async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match engine.schedule().take_over().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(configurations = n, "took over an unfinished round"),
                    Err(e) => tracing::warn!(error = %e, "looking for unfinished rounds failed"),
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}
