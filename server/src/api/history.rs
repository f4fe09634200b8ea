//! `/api/2.0/history`: the seed history with filters and pages; its query
//! is also the history page's CSV export's (`/history.csv`).

use axum::extract::State;
use axum::Json;
use engine::history::HistoryFilter;
use serde::Deserialize;

use super::caller::Reader;
use super::query::ApiQuery;
use crate::error::ApiError;
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    config: Option<String>,
    trigger: Option<String>,
    outcome: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

impl HistoryQuery {
    pub fn filter(&self) -> engine::Result<HistoryFilter> {
        HistoryFilter::from_fields(
            self.config.as_deref(),
            self.trigger.as_deref(),
            self.outcome.as_deref(),
        )
    }
}

/// The seed history, newest first: `?config=&trigger=&outcome=&page=&perPage=`.
#[utoipa::path(
    get,
    path = "/api/2.0/history",
    tag = "seeding",
    params(HistoryQuery),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of the seed history", body = engine::history::HistoryPage),
        (status = 400, description = "A filter is not valid", body = app::ssr::ErrorBody),
        (status = 401, description = "No valid token or session", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `read`", body = app::ssr::ErrorBody),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<engine::history::HistoryPage>, ApiError> {
    let filter = q.filter()?;
    let page = state
        .engine
        .history()
        .page(&filter, q.page.unwrap_or(1), q.per_page.unwrap_or(50))
        .await?;
    Ok(Json(page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Query strings as clients write them, and as they mistype them.
    fn query() -> impl Strategy<Value = String> {
        let pair = prop_oneof![
            (
                prop_oneof![
                    Just("config"),
                    Just("trigger"),
                    Just("outcome"),
                    Just("page"),
                    Just("perPage"),
                    Just("name"),
                    Just("x"),
                ],
                prop_oneof![
                    Just("api".to_string()),
                    Just("held".to_string()),
                    Just("-1".to_string()),
                    Just("99999999999".to_string()),
                    Just("%ZZ".to_string()),
                    "[ -~]{0,12}",
                ]
            )
                .prop_map(|(k, v)| format!("{k}={v}")),
            "\\PC{0,16}",
        ];
        prop::collection::vec(pair, 0..6).prop_map(|p| p.join("&"))
    }

    proptest! {
        #[test]
        fn fuzz_any_query_string_is_a_filter_or_a_clear_refusal(q in query()) {
            // What axum's query extractor does first.
            if let Ok(h) = serde_urlencoded::from_str::<HistoryQuery>(&q) {
                if let Err(e) = h.filter() {
                    prop_assert_eq!(e.code(), "invalid_input");
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }
    }
}
