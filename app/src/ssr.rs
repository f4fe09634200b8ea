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

/// The signed-in administrator of this request (the server's session
/// middleware puts [`User`] in the request extensions).
#[derive(Debug, Clone)]
pub struct RequireAdmin(pub User);

/// Answer when a protected handler is reached without a session.
#[derive(Debug)]
pub struct Unauthenticated;

impl IntoResponse for Unauthenticated {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": "unauthorized",
            "message": "Sign in, or present an API token.",
        });
        (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequireAdmin {
    type Rejection = Unauthenticated;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<User>()
            .cloned()
            .map(RequireAdmin)
            .ok_or(Unauthenticated)
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

impl From<engine::Error> for AppError {
    fn from(e: engine::Error) -> Self {
        match e {
            engine::Error::Invalid(m) => AppError::Invalid(m),
            engine::Error::NotFound(what) => AppError::NotFound(what),
            e @ (engine::Error::Conflict(_)
            | engine::Error::BadCredentials
            | engine::Error::Throttled { .. }) => AppError::Invalid(e.to_string()),
            other => {
                let op = operation_id();
                tracing::error!(operation_id = %op, code = other.code(), error = %other, "request failed");
                AppError::Internal(op)
            }
        }
    }
}
