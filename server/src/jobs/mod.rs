//! Background jobs, one file each. Each runs until the shutdown signal and
//! logs (and carries on) when one of its runs fails.

pub mod change_poll;
pub mod heartbeat;
pub mod history_prune;
pub mod round_takeover;
pub mod session_cleanup;
pub mod throttle_audit;
pub mod watchdog;

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use engine::Engine;

/// Runs `work` every `period`, the first time at once, until `shutdown`
/// turns true. A tick missed while `work` ran is skipped, not run late.
pub async fn every<F, Fut>(period: Duration, mut shutdown: watch::Receiver<bool>, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => work().await,
            _ = shutdown.changed() => break,
        }
    }
}

/// Starts every background job; they stop when `shutdown` turns true.
pub fn spawn_all(
    engine: &Engine,
    sessions: crate::middleware::session_store::Sessions,
    shutdown: &watch::Receiver<bool>,
) -> JoinSet<&'static str> {
    let mut set = JoinSet::new();
    let (e, s) = (engine.clone(), shutdown.clone());
    set.spawn(async move {
        e.schedule().clone().run(s).await;
        "scheduler"
    });
    let (e, s) = (engine.clone(), shutdown.clone());
    set.spawn(async move {
        e.alerts().clone().run(s).await;
        "alerts"
    });
    let (e, s) = (engine.clone(), shutdown.clone());
    set.spawn(async move {
        change_poll::run(e, s).await;
        "change poll"
    });
    let (e, s) = (engine.clone(), shutdown.clone());
    set.spawn(async move {
        heartbeat::run(e, s).await;
        "heartbeat"
    });
    let (e, s) = (engine.clone(), shutdown.clone());
    set.spawn(async move {
        round_takeover::run(e, s).await;
        "round take-over"
    });
    let (e, s) = (engine.clone(), shutdown.clone());
    set.spawn(async move {
        history_prune::run(e, s).await;
        "history retention"
    });
    let (e, s) = (engine.clone(), shutdown.clone());
    set.spawn(async move {
        session_cleanup::run(e, sessions, s).await;
        "session cleanup"
    });
    let (e, s) = (engine.clone(), shutdown.clone());
    set.spawn(async move {
        throttle_audit::run(e, s).await;
        "throttle audit"
    });
    if let Some(interval) = crate::systemd::watchdog_interval() {
        let (e, s) = (engine.clone(), shutdown.clone());
        set.spawn(async move {
            watchdog::run(e, interval, s).await;
            "watchdog"
        });
    }
    set
}
