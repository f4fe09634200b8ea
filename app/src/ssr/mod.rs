//! Server-side helpers for server functions and handlers: the engine, the
//! operation id, the signed-in user ([`auth`]) and the messages of plain
//! form posts ([`flash`]). Absent from the WASM build.

mod auth;
mod flash;

pub use auth::{
    admin_actor, require_admin, ErrorBody, RequireAdmin, SessionAuth, Unauthenticated, SESSION_AUTH,
};
pub use flash::{leave_flash, ok_flash, outcome, outcome_of, take_flash, FlashStore};

use engine::Engine;
use http::request::Parts;
use leptos::prelude::*;

use crate::error::AppError;

/// The id of the current request, shown on error pages and written to the
/// log next to the detail (set by the server's middleware).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationId(pub String);

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

impl From<engine::Error> for AppError {
    fn from(e: engine::Error) -> Self {
        match e {
            engine::Error::Invalid(m)
            | engine::Error::MethodNotAllowed(m)
            | engine::Error::TooLarge(m) => AppError::Invalid(m),
            engine::Error::NotFound(what) => AppError::NotFound(what),
            e @ (engine::Error::Conflict(_)
            | engine::Error::InUse(_)
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
