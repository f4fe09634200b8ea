//! Records this appliance's heartbeat every few seconds (the dashboard's
//! fleet list shows the appliances sharing the database and how long
//! since each was heard of); every 10 minutes, forgets the appliances
//! silent for a day.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

use engine::Engine;
use tokio::sync::watch;

pub async fn run(engine: Engine, shutdown: watch::Receiver<bool>) {
    let started = engine.now();
    let (beats, failing) = (AtomicU32::new(0), AtomicBool::new(false));
    super::every(engine::fleet::HEARTBEAT_EVERY, shutdown, || async {
        if beats.fetch_add(1, Relaxed).is_multiple_of(120) {
            if let Err(e) = engine.fleet().prune().await {
                tracing::warn!(error = %e, "the fleet list was not pruned");
            }
        }
        match engine.fleet().heartbeat(started).await {
            Ok(()) => failing.store(false, Relaxed),
            // Once per failing spell, not every few seconds.
            Err(e) if !failing.swap(true, Relaxed) => {
                tracing::warn!(error = %e, "heartbeat not recorded");
            }
            Err(_) => {}
        }
    })
    .await;
}
