//! The engine's one error type. Each variant has a stable code and a message
//! fit for an operator; none of them carries a secret.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not parse or breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    /// Something else holds what the action needs (a running server on
    /// the data directory or the fleet's database); the message says what.
    #[error("{0}")]
    InUse(String),
    /// The configuration exists but is disabled.
    #[error("configuration {0} is disabled")]
    Disabled(String),
    /// The configuration lacks what the action needs (slot, password).
    #[error("{0}")]
    NotConfigured(String),
    /// The request's method does not fit the caller (a door's rule).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request's body is larger than the door takes.
    #[error("{0}")]
    TooLarge(String),
    /// The action would replace something; the caller must confirm.
    #[error("{0}")]
    NeedsConfirmation(String),
    #[error("invalid user name or password")]
    BadCredentials,
    /// No valid session or API token (a door's rule).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but may not do this (a token's scope).
    #[error("{0}")]
    Forbidden(String),
    #[error("too many failed login attempts; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// Too many requests from one address (anonymous random numbers).
    #[error("too many requests from this address; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Too much of a bounded kind of work at once (password checks).
    #[error("the appliance is busy with other sign-ins; try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("configuration error: {0}")]
    Config(String),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The entropy source is not healthy: nothing is delivered from it.
    #[error("entropy source failed: {0}")]
    EntropyFailed(String),
    /// A PKCS#11 call failed; `ckr` is the `CKR_*` name (or `TIMEOUT`,
    /// `TOKEN_MISMATCH`, `MODULE_LOAD` for failures around the calls).
    #[error("{ckr}: {detail}")]
    Hsm { ckr: String, detail: String },
    /// The configuration's login is held after a failed login: nothing
    /// logs in with this credential until its password or user type is
    /// edited or an administrator retries. `ckr` is what held it.
    #[error(
        "configuration {name}: login held after {ckr} ({detail}); no login is tried with this \
         password until it is edited or an administrator retries the login"
    )]
    LoginHeld {
        name: String,
        ckr: String,
        detail: String,
    },
    #[error("certificate error: {0}")]
    Certificate(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A stable, machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_input",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::InUse(_) => "in_use",
            Error::Disabled(_) => "disabled",
            Error::NotConfigured(_) => "not_configured",
            Error::NeedsConfirmation(_) => "needs_confirmation",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::TooLarge(_) => "too_large",
            Error::BadCredentials => "bad_credentials",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::Throttled { .. } => "throttled",
            Error::Busy { .. } => "busy",
            Error::RateLimited { .. } => "rate_limited",
            Error::Config(_) => "config",
            Error::Io { .. } => "io",
            Error::Database(_) => "database",
            Error::Migration(_) => "migration",
            Error::EntropyFailed(_) => "entropy_failed",
            Error::Hsm { .. } => "hsm_error",
            Error::LoginHeld { .. } => "login_held",
            Error::Certificate(_) => "certificate",
            Error::Internal(_) => "internal",
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl From<types::Invalid> for Error {
    fn from(e: types::Invalid) -> Self {
        Error::Invalid(e.0)
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("background task failed: {e}"))
    }
}
