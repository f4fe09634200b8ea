//! Takes over, every few seconds, what another appliance on the database
//! claimed for a scheduled round and did not finish within its lease (see
//! `Schedule::take_over`).

use std::time::Duration;

use engine::Engine;
use tokio::sync::watch;

pub const PERIOD: Duration = Duration::from_secs(5);

pub async fn run(engine: Engine, shutdown: watch::Receiver<bool>) {
    super::every(PERIOD, shutdown, || async {
        match engine.schedule().take_over().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(configurations = n, "took over an unfinished round"),
            Err(e) => tracing::warn!(error = %e, "looking for unfinished rounds failed"),
        }
    })
    .await;
}
