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
    /// No credentials, from an address `reseed_anonymous_from` allows: it
    /// may reseed, nothing else.
    Anonymous(std::net::IpAddr),
}

impl Caller {
    /// How the audit log names this caller.
    pub fn actor(&self, address: Option<std::net::IpAddr>) -> engine::audit::Actor {
        match self {
            Caller::Admin(u) => engine::audit::Actor::user(u.name.clone(), address),
            Caller::Token(t) => engine::audit::Actor::token(t.name.clone(), address),
            Caller::Anonymous(a) => engine::audit::Actor::anonymous(*a),
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
            Caller::Anonymous(_) if scope == Scope::Seed => Ok(()),
            Caller::Anonymous(_) => Err(ApiError(Error::Unauthorized(
                "Present an API token (Authorization: Bearer ...).".into(),
            ))),
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
        Caller::from_secret(state, secret, "API token").await
    }
}

impl Caller {
    /// The caller a presented token secret names (`what` says how it came:
    /// `API token`, `API key`), or 401.
    pub async fn from_secret(
        state: &AppState,
        secret: &str,
        what: &str,
    ) -> Result<Caller, ApiError> {
        let secret = SecretString::from(secret.trim().to_string());
        match state.engine.auth().verify_token(&secret).await? {
            Some(info) => Ok(Caller::Token(info)),
            None => Err(ApiError(Error::Unauthorized(format!(
                "The {what} is not valid (unknown or revoked)."
            )))),
        }
    }
}

/// The peer's address when `reseed_anonymous_from` holds it (whatever
/// credentials the request carries).
pub fn reseed_anonymous_allows(
    state: &AppState,
    extensions: &axum::http::Extensions,
) -> Option<std::net::IpAddr> {
    let allowed = &state.engine.settings().reseed_anonymous_from;
    if allowed.is_empty() {
        return None;
    }
    let addr = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?
        .0
        .ip();
    allowed.iter().any(|c| c.contains(addr)).then_some(addr)
}

/// The caller's address when it presents no credentials and
/// `reseed_anonymous_from` holds it.
pub fn anonymous_reseeder(parts: &Parts, state: &AppState) -> Option<std::net::IpAddr> {
    if parts.headers.contains_key(header::AUTHORIZATION) || parts.extensions.get::<User>().is_some()
    {
        return None;
    }
    reseed_anonymous_allows(state, &parts.extensions)
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
        // The guide's scripts call the reseed URL without credentials: from
        // an address the settings allow, that is an anonymous seeder
        // (rate-limited per address).
        if let Some(addr) = anonymous_reseeder(parts, state) {
            state.reseed_limit.check(addr, std::time::Instant::now())?;
            return Ok(Seeder(Caller::Anonymous(addr)));
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(Scope::Seed)?;
        Ok(Seeder(caller))
    }
}
