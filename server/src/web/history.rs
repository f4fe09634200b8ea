//! `GET /history.csv`: the seed history as CSV, with the page's filters.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::api::history::HistoryQuery;
use crate::api::query::ApiQuery;
use crate::error::ApiError;
use crate::AppState;

pub async fn csv(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Response, ApiError> {
    let text = state.engine.history().csv(&q.filter()?).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"hsmseed-history.csv\"",
            ),
        ],
        text,
    )
        .into_response())
}
