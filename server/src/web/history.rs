//! `GET /history.csv`: the seed history as CSV, with the page's filters.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::api::caller::OpId;
use crate::api::hsmseed::HistoryQuery;
use crate::api::query::ApiQuery;
use crate::error::ApiError;
use crate::AppState;

pub async fn csv(
    State(state): State<AppState>,
    OpId(op): OpId,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Response {
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return ApiError::new(e, op).into_response(),
    };
    match state.engine.history_csv(&filter).await {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"hsmseed-history.csv\"",
                ),
            ],
            text,
        )
            .into_response(),
        Err(e) => ApiError::new(e, op).into_response(),
    }
}
