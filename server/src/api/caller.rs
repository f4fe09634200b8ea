//! Who is calling the REST API: a signed-in administrator (session) or an
//! API token (`Authorization: Bearer hss_...`) with its scope.

use app::ssr::OperationId;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::auth::tokens::{Scope, TokenInfo};
use engine::auth::User;
use secrecy::SecretString;
use serde_json::json;

use crate::error::ApiError;
use crate::AppState;

#[derive(Debug, Clone)]
pub enum Caller {
    Admin(User),
    Token(TokenInfo),
}

/// The operation id of the request (for error bodies).
pub struct OpId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for OpId {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(OpId(op_id(parts)))
    }
}

/// The operation id the middleware gave this request ("" without one).
pub fn op_id(parts: &Parts) -> String {
    parts
        .extensions
        .get::<OperationId>()
        .map(|o| o.0.clone())
        .unwrap_or_default()
}

fn unauthorized(message: &str) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "unauthorized", "message": message })),
    )
        .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

impl Caller {
    /// How the audit log names this caller.
    pub fn actor(&self, address: Option<std::net::IpAddr>) -> engine::audit::Actor {
        match self {
            Caller::Admin(u) => engine::audit::Actor::user(u.name.clone(), address),
            Caller::Token(t) => engine::audit::Actor::token(t.name.clone(), address),
        }
    }

    /// An administrator may do everything; a token only what its scope says.
    pub fn require(&self, scope: Scope) -> Result<(), Forbidden> {
        match self {
            Caller::Admin(_) => Ok(()),
            Caller::Token(t) if t.scope == scope => Ok(()),
            Caller::Token(t) => Err(Forbidden(format!(
                "token {} has scope {}; this needs scope {}",
                t.name,
                t.scope.as_str(),
                scope.as_str()
            ))),
        }
    }
}

/// A 403: the caller is known but may not do this.
#[derive(Debug)]
pub struct Forbidden(String);

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": "forbidden", "message": self.0 })),
        )
            .into_response()
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // An explicit token wins over a session the client may also hold.
        let Some(auth) = parts.headers.get(header::AUTHORIZATION) else {
            if let Some(u) = parts.extensions.get::<User>() {
                return Ok(Caller::Admin(u.clone()));
            }
            return Err(unauthorized(
                "Sign in, or present an API token (Authorization: Bearer ...).",
            ));
        };
        let Some(secret) = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) else {
            return Err(unauthorized(
                "The Authorization header is not `Bearer <token>`.",
            ));
        };
        let secret = SecretString::from(secret.trim().to_string());
        match state.engine.verify_token(&secret).await {
            Ok(Some(info)) => Ok(Caller::Token(info)),
            Ok(None) => Err(unauthorized(
                "The API token is not valid (unknown or revoked).",
            )),
            Err(e) => Err(ApiError::new(e, op_id(parts)).into_response()),
        }
    }
}
