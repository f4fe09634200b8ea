//! Server-side helpers for server functions and handlers: the engine, the
//! signed-in user, the operation id. Absent from the WASM build.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use engine::{auth::User, Engine};
use http::request::Parts;
use http::StatusCode;
use leptos::prelude::*;

use crate::error::AppError;

/// The id of the current request, shown on error pages and written to the
/// log next to the detail (set by the server's middleware).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationId(pub String);

/// Session key of the signed-in user ([`SessionAuth`]).
pub const SESSION_AUTH: &str = "auth";

/// Who a session is signed in as: bound to the user's random uid and the
/// generation of their credentials, so that a removed user's session, or
/// one from before a password change, can never be anyone's again.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SessionAuth {
    /// The user's random id (never reused).
    pub user_uid: String,
    /// The user's credential generation at sign-in.
    pub generation: i64,
    pub login_at_ms: i64,
}

/// The signed-in administrator of this request (the server's session
/// middleware puts [`User`] in the request extensions).
#[derive(Debug, Clone)]
pub struct RequireAdmin(pub User);

/// The one body of every error answer over HTTP (REST, probes, the
/// sign-in gate), whoever writes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(description = "Every error answer.")]
pub struct ErrorBody {
    /// A stable code: `invalid_input`, `not_found`, `disabled`, `hsm_error`, ...
    pub error: String,
    /// For an operator; never holds a secret.
    pub message: String,
    /// Quote it when reporting a problem: the log has the detail under it.
    pub operation_id: Option<String>,
    /// For `hsm_error` and `login_held`: the PKCS#11 code, e.g. `CKR_PIN_INCORRECT`.
    pub ckr: Option<String>,
}

/// Answer when a protected handler is reached without a session.
#[derive(Debug)]
pub struct Unauthenticated {
    pub operation_id: Option<String>,
}

impl Unauthenticated {
    /// For the request of `parts` (its operation id goes in the body).
    pub fn of(parts: &Parts) -> Self {
        Unauthenticated {
            operation_id: parts.extensions.get::<OperationId>().map(|o| o.0.clone()),
        }
    }
}

impl IntoResponse for Unauthenticated {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: "unauthorized".into(),
            message: "Sign in, or present an API token.".into(),
            operation_id: self.operation_id,
            ckr: None,
        };
        (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequireAdmin {
    type Rejection = Unauthenticated;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<User>() {
            Some(u) => Ok(RequireAdmin(u.clone())),
            None => Err(Unauthenticated::of(parts)),
        }
    }
}

/// The operation id of the request being served ("" outside a request).
pub fn operation_id() -> String {
    use_context::<Parts>()
        .and_then(|p| p.extensions.get::<OperationId>().map(|o| o.0.clone()))
        .unwrap_or_default()
}

/// The engine, provided by the server to every page and server function.
pub fn engine() -> Result<Engine, AppError> {
    use_context::<Engine>().ok_or_else(|| {
        tracing::error!("engine missing from the Leptos context");
        AppError::Internal(operation_id())
    })
}

/// The signed-in administrator, or [`AppError::Unauthorized`].
pub async fn require_admin() -> Result<User, AppError> {
    leptos_axum::extract::<RequireAdmin>()
        .await
        .map(|RequireAdmin(u)| u)
        .map_err(|_| AppError::Unauthorized)
}

/// The signed-in administrator, and how the audit log names them (with
/// the client's address).
pub async fn admin_actor() -> Result<(User, engine::audit::Actor), AppError> {
    let user = require_admin().await?;
    let addr = use_context::<Parts>().and_then(|p| {
        p.extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
    });
    let actor = engine::audit::Actor::user(user.name.clone(), addr);
    Ok((user, actor))
}

impl From<engine::Error> for AppError {
    fn from(e: engine::Error) -> Self {
        match e {
            engine::Error::Invalid(m)
            | engine::Error::MethodNotAllowed(m)
            | engine::Error::TooLarge(m) => AppError::Invalid(m),
            engine::Error::NotFound(what) => AppError::NotFound(what),
            e @ (engine::Error::Conflict(_)
            | engine::Error::Disabled(_)
            | engine::Error::NeedsConfirmation(_)
            | engine::Error::NotConfigured(_)
            | engine::Error::BadCredentials
            | engine::Error::LoginHeld { .. }
            | engine::Error::Throttled { .. }) => AppError::Invalid(e.to_string()),
            e @ engine::Error::Hsm { .. } => AppError::Hsm(e.to_string()),
            e @ (engine::Error::EntropyFailed(_) | engine::Error::Busy { .. }) => {
                AppError::Unavailable(e.to_string())
            }
            other => {
                let op = operation_id();
                tracing::error!(operation_id = %op, code = other.code(), error = %other, "request failed");
                AppError::Internal(op)
            }
        }
    }
}

// --- outcomes of plain form posts ------------------------------------------

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
        engine::auth::fill_random(&mut b);
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

/// Passes `result` through; for a plain form post it also leaves the
/// outcome as a message for the page the browser returns to.
pub async fn outcome<T>(
    result: Result<T, AppError>,
    ok: impl FnOnce(&T) -> Flash,
) -> Result<T, AppError> {
    if plain_form_post() {
        let flash = match &result {
            Ok(v) => ok(v),
            Err(e) => Flash {
                kind: "error".into(),
                text: e.to_string(),
                secret: None,
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
    let id = session.remove::<String>(FLASH_KEY).await.ok().flatten()?;
    use_context::<FlashStore>()?.take(&id)
}

pub fn ok_flash(text: impl Into<String>) -> Flash {
    Flash {
        kind: "ok".into(),
        text: text.into(),
        secret: None,
    }
}
