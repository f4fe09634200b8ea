//! Who is calling the REST API: a signed-in administrator (session) or an
//! API token (`Authorization: Bearer hss_...`) with its scope. Handlers
//! take [`Reader`] or [`Seeder`]: the caller, already checked for the
//! scope the route needs.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use engine::auth::tokens::{Scope, TokenInfo};
use engine::auth::User;
use engine::Error;
use secrecy::SecretString;

use crate::error::ApiError;
use crate::AppState;

#[derive(Debug, Clone)]
pub enum Caller {
    Admin(User),
    Token(TokenInfo),
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
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        match self {
            Caller::Admin(_) => Ok(()),
            Caller::Token(t) if t.scope == scope => Ok(()),
            Caller::Token(t) => Err(ApiError(Error::Forbidden(format!(
                "token {} has scope {}; this needs scope {}",
                t.name,
                t.scope.as_str(),
                scope.as_str()
            )))),
        }
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError(Error::Unauthorized(message.into()))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
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
        match state.engine.auth().verify_token(&secret).await? {
            Some(info) => Ok(Caller::Token(info)),
            None => Err(unauthorized(
                "The API token is not valid (unknown or revoked).",
            )),
        }
    }
}

/// A caller allowed to read (scope `read`, or an administrator).
pub struct Reader(pub Caller);

/// A caller allowed to reseed (scope `seed`, or an administrator).
pub struct Seeder(pub Caller);

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(Scope::Read)?;
        Ok(Reader(caller))
    }
}

impl FromRequestParts<AppState> for Seeder {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(Scope::Seed)?;
        Ok(Seeder(caller))
    }
}
