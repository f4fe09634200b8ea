//! Records this appliance's heartbeat every few seconds (the dashboard's
//! fleet list shows the appliances sharing the database and how long
//! since each was heard of).

use engine::Engine;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

pub async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    let started = engine.now();
    let mut tick = tokio::time::interval(engine::fleet::HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut failing = false;
    let mut beats = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // Every 10 minutes, the appliances silent for a day go.
                if beats.is_multiple_of(120) {
                    if let Err(e) = engine.fleet().prune().await {
                        tracing::warn!(error = %e, "the fleet list was not pruned");
                    }
                }
                beats = beats.wrapping_add(1);
                match engine.fleet().heartbeat(started).await {
                    Ok(()) => failing = false,
                    // Once per failing spell, not every few seconds.
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "heartbeat not recorded");
                    }
                    Err(_) => {}
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}
