//! The outcome of a plain form post (no JavaScript) as a message for the
//! page the browser returns to, kept in memory and named in the session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::request::Parts;
use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Flash;

/// Session key of the pending message's id.
const FLASH_KEY: &str = "flash";
/// A message not shown within this time is dropped.
const FLASH_TTL: Duration = Duration::from_secs(300);

/// Messages for the next page of a session, kept in memory only (one may
/// hold a new API token shown once; it never reaches the database). The
/// session holds just a random id.
#[derive(Clone, Default)]
pub struct FlashStore(Arc<Mutex<HashMap<String, (Instant, Flash)>>>);

impl FlashStore {
    fn put(&self, flash: Flash) -> String {
        use rand_id::new_id;
        let id = new_id();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < FLASH_TTL);
        map.insert(id.clone(), (Instant::now(), flash));
        id
    }

    fn take(&self, id: &str) -> Option<Flash> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id)
            .filter(|(at, _)| at.elapsed() < FLASH_TTL)
            .map(|(_, f)| f)
    }
}

mod rand_id {
    pub fn new_id() -> String {
        use std::fmt::Write;
        let mut b = [0u8; 16];
        engine::random::fill_random(&mut b);
        b.iter().fold(String::new(), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
    }
}

/// Whether this request is an HTML form posted without JavaScript (then
/// the answer is a redirect back, and a message must travel in the session).
fn plain_form_post() -> bool {
    use_context::<Parts>()
        .and_then(|p| {
            p.headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// Passes `result` through; for a form post (the page's HTML asked for:
/// without JavaScript, or through the page's island) it also leaves the
/// outcome as a message for the page the browser returns to.
pub async fn outcome<T>(
    result: Result<T, AppError>,
    ok: impl FnOnce(&T) -> Flash,
) -> Result<T, AppError> {
    outcome_of(result, ok, None).await
}

/// [`outcome`] of an action on configuration `config`: an error links to
/// its edit page.
pub async fn outcome_of<T>(
    result: Result<T, AppError>,
    ok: impl FnOnce(&T) -> Flash,
    config: Option<&str>,
) -> Result<T, AppError> {
    if plain_form_post() {
        let flash = match &result {
            Ok(v) => ok(v),
            Err(e) => Flash {
                kind: "error".into(),
                text: e.to_string(),
                secret: None,
                edit: config.map(str::to_string),
            },
        };
        if let (Ok(session), Some(store)) = (
            leptos_axum::extract::<tower_sessions::Session>().await,
            use_context::<FlashStore>(),
        ) {
            leave_flash(&session, &store, flash).await;
        }
    }
    result
}

/// Leaves `flash` for the next page of this session (plain handlers).
pub async fn leave_flash(session: &tower_sessions::Session, store: &FlashStore, flash: Flash) {
    let id = store.put(flash);
    if let Err(e) = session.insert(FLASH_KEY, id).await {
        tracing::warn!(error = %e, "could not keep the message for the next page");
    }
}

/// The message left for this page, if any (taken: shown once).
pub async fn take_flash() -> Option<Flash> {
    let session = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .ok()?;
    // Looked at before it is taken: a removal marks the session changed,
    // and a changed session is written to the database.
    session.get::<String>(FLASH_KEY).await.ok().flatten()?;
    let id = session.remove::<String>(FLASH_KEY).await.ok().flatten()?;
    use_context::<FlashStore>()?.take(&id)
}

pub fn ok_flash(text: impl Into<String>) -> Flash {
    Flash {
        kind: "ok".into(),
        text: text.into(),
        secret: None,
        edit: None,
    }
}
