//! Pets the systemd watchdog (`WatchdogSec=` in the unit) at half its
//! interval, as long as the database answers within that half: a server
//! whose runtime or database hangs stops petting and gets restarted.

use std::time::Duration;

use engine::Engine;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::systemd;

pub async fn run(engine: Engine, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let half = interval / 2;
    let mut tick = tokio::time::interval(half);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match tokio::time::timeout(half, engine.store().ping()).await {
                    Ok(Ok(())) => systemd::tell("WATCHDOG=1"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "the database does not answer; the watchdog is not petted"),
                    Err(_) => tracing::warn!("the database did not answer in time; the watchdog is not petted"),
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}
