//! How engine errors become HTTP answers: a status per code and the one
//! JSON error body ([`ErrorBody`]) with the request's operation id; for
//! 5xx a generic message (the detail goes to the log under that id).
//! Handlers return `Result<_, ApiError>` and use `?`: the operation id is
//! the request's, set by the operation middleware for the whole request.

use app::ssr::ErrorBody;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

tokio::task_local! {
    /// The operation id of the request being served (see
    /// `middleware/operation.rs`).
    pub static OPERATION_ID: String;
}

/// The operation id of the request being served, if any.
pub fn operation_id() -> Option<String> {
    OPERATION_ID.try_with(Clone::clone).ok()
}

#[derive(Debug)]
pub struct ApiError(pub engine::Error);

impl From<engine::Error> for ApiError {
    fn from(e: engine::Error) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    /// A 400 for a request that lacks what it needs.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError(engine::Error::Invalid(message.into()))
    }

    pub fn status(&self) -> StatusCode {
        match &self.0 {
            engine::Error::Invalid(_) => StatusCode::BAD_REQUEST,
            engine::Error::Unauthorized(_) | engine::Error::BadCredentials => {
                StatusCode::UNAUTHORIZED
            }
            engine::Error::Forbidden(_) => StatusCode::FORBIDDEN,
            engine::Error::NotFound(_) => StatusCode::NOT_FOUND,
            engine::Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            engine::Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            engine::Error::Conflict(_)
            | engine::Error::InUse(_)
            | engine::Error::NeedsConfirmation(_)
            | engine::Error::Disabled(_)
            | engine::Error::NotConfigured(_)
            | engine::Error::LoginHeld { .. } => StatusCode::CONFLICT,
            engine::Error::Hsm { .. } => StatusCode::BAD_GATEWAY,
            engine::Error::EntropyFailed(_) | engine::Error::Busy { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            engine::Error::Throttled { .. } | engine::Error::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body of this error (the message of a 5xx is generic unless it
    /// names what failed: the HSM's `CKR_*`, the entropy source).
    pub fn body(&self) -> ErrorBody {
        let operation_id = operation_id();
        let says_what_failed = matches!(
            self.0,
            engine::Error::Hsm { .. }
                | engine::Error::EntropyFailed(_)
                | engine::Error::Busy { .. }
        );
        let message = if self.status().is_server_error() && !says_what_failed {
            let op = operation_id.clone().unwrap_or_default();
            tracing::error!(operation_id = %op, code = self.0.code(), error = %self.0, "request failed");
            format!("Internal error; quote operation id {op} when reporting it.")
        } else {
            self.0.to_string()
        };
        let ckr = match &self.0 {
            engine::Error::Hsm { ckr, .. } | engine::Error::LoginHeld { ckr, .. } => {
                Some(ckr.clone())
            }
            _ => None,
        };
        ErrorBody {
            error: self.0.code().to_string(),
            message,
            operation_id,
            ckr,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        match &self.0 {
            engine::Error::Throttled { retry_after_secs }
            | engine::Error::RateLimited { retry_after_secs }
            | engine::Error::Busy { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, (*retry_after_secs).into());
            }
            engine::Error::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}
