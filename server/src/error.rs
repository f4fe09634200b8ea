//! How engine errors become HTTP answers: a status per code, a JSON body, and
//! for 5xx a generic message with the operation id (the detail goes to the
//! log under that id).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub error: engine::Error,
    pub operation_id: String,
}

impl ApiError {
    /// A 400 for a request that lacks what it needs.
    pub fn bad_request(message: impl Into<String>, operation_id: impl Into<String>) -> Self {
        Self::new(engine::Error::Invalid(message.into()), operation_id)
    }

    pub fn new(error: engine::Error, operation_id: impl Into<String>) -> Self {
        Self {
            error,
            operation_id: operation_id.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match &self.error {
            engine::Error::Invalid(_) => StatusCode::BAD_REQUEST,
            engine::Error::NotFound(_) => StatusCode::NOT_FOUND,
            engine::Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            engine::Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            engine::Error::Conflict(_)
            | engine::Error::NeedsConfirmation(_)
            | engine::Error::Disabled(_)
            | engine::Error::NotConfigured(_)
            | engine::Error::LoginHeld { .. } => StatusCode::CONFLICT,
            engine::Error::Hsm { .. } => StatusCode::BAD_GATEWAY,
            engine::Error::EntropyFailed(_) | engine::Error::Busy { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            engine::Error::BadCredentials => StatusCode::UNAUTHORIZED,
            engine::Error::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // 502 and 503 say what failed (the HSM's CKR_* code, the entropy
        // source): an operator needs it and it holds no secret. Other 5xx
        // answers are generic; the detail goes to the log.
        let message = if status.is_server_error()
            && !matches!(
                self.error,
                engine::Error::Hsm { .. }
                    | engine::Error::EntropyFailed(_)
                    | engine::Error::Busy { .. }
            ) {
            tracing::error!(operation_id = %self.operation_id, code = self.error.code(), error = %self.error, "request failed");
            format!(
                "Internal error; quote operation id {} when reporting it.",
                self.operation_id
            )
        } else {
            self.error.to_string()
        };
        let mut body = json!({
            "error": self.error.code(),
            "message": message,
            "operationId": self.operation_id,
        });
        if let engine::Error::Hsm { ckr, .. } | engine::Error::LoginHeld { ckr, .. } = &self.error {
            body["ckr"] = json!(ckr);
        }
        let mut response = (status, Json(body)).into_response();
        if let engine::Error::Throttled { retry_after_secs }
        | engine::Error::Busy { retry_after_secs } = &self.error
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, (*retry_after_secs).into());
        }
        response
    }
}
