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
    pub fn new(error: engine::Error, operation_id: impl Into<String>) -> Self {
        Self {
            error,
            operation_id: operation_id.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match &self.error {
            engine::Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            engine::Error::NotFound(_) => StatusCode::NOT_FOUND,
            engine::Error::Conflict(_) => StatusCode::CONFLICT,
            engine::Error::BadCredentials => StatusCode::UNAUTHORIZED,
            engine::Error::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            tracing::error!(operation_id = %self.operation_id, code = self.error.code(), error = %self.error, "request failed");
            format!(
                "Internal error; quote operation id {} when reporting it.",
                self.operation_id
            )
        } else {
            self.error.to_string()
        };
        let body = json!({
            "error": self.error.code(),
            "message": message,
            "operationId": self.operation_id,
        });
        (status, Json(body)).into_response()
    }
}
