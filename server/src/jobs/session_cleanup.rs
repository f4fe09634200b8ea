//! Deletes expired sessions from the session store every few minutes, and
//! the user bindings of sessions that are gone.

use std::time::Duration;

use engine::Engine;
use tokio::sync::watch;

use crate::middleware::session_store::Sessions;

pub const PERIOD: Duration = Duration::from_secs(300);

pub async fn run(engine: Engine, store: Sessions, shutdown: watch::Receiver<bool>) {
    super::every(PERIOD, shutdown, || async {
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "deleting expired sessions failed");
        }
        if let Err(e) = engine.auth().unbind_sessions(None).await {
            tracing::warn!(error = %e, "deleting bindings of ended sessions failed");
        }
    })
    .await;
}
