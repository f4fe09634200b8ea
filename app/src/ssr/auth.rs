//! Who is signed in: the session's binding to a user, the extractor of
//! the signed-in administrator, and the answer without one.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use engine::auth::User;
use http::request::Parts;
use http::StatusCode;
use leptos::prelude::*;

use super::OperationId;
use crate::error::AppError;

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
