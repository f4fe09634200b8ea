//! `/api/2.0/hsmseed?name=HSM1` (reseed now) and the read endpoints.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::history::{HistoryFilter, Outcome};
use engine::partitions::Trigger;
use serde::Deserialize;

use super::caller::{Caller, Reader, Seeder};
use super::query::ApiQuery;
use crate::error::ApiError;
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NameQuery {
    /// The configuration to reseed, e.g. `HSM1`.
    name: Option<String>,
}

/// Reseeds the named configuration now. 200 with the record; 400 without a
/// name; 404 unknown; 409 disabled, incomplete or login held (`login_held`
/// with the `CKR_*` that held it); 502 HSM error (names the `CKR_*`); 503
/// entropy source failed.
#[utoipa::path(
    method(get, post),
    path = "/api/2.0/hsmseed",
    tag = "seeding",
    params(NameQuery),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Reseeded: 256 bits of checked entropy went into the partition", body = engine::partitions::SeedRecord),
        (status = 400, description = "No `name`", body = app::ssr::ErrorBody),
        (status = 401, description = "No valid token or session", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `seed`", body = app::ssr::ErrorBody),
        (status = 404, description = "No configuration of that name", body = app::ssr::ErrorBody),
        (status = 405, description = "GET with a session (a session must POST; GET is for API tokens)", body = app::ssr::ErrorBody),
        (status = 409, description = "The configuration is disabled or incomplete, or its login is held after a failed login (`login_held`, `ckr` names what held it): nothing reached the HSM", body = app::ssr::ErrorBody),
        (status = 502, description = "The HSM refused or failed; `ckr` names the CKR_* code", body = app::ssr::ErrorBody),
        (status = 503, description = "The entropy source is failed: nothing was delivered", body = app::ssr::ErrorBody),
    )
)]
pub async fn reseed(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    Seeder(caller): Seeder,
    ApiQuery(q): ApiQuery<NameQuery>,
) -> Result<Response, ApiError> {
    // GET is the guide's URL for automation with a token. A browser's
    // session must POST: a GET can be triggered by any link or image, and
    // the same-origin check only looks at state-changing methods.
    if matches!(caller, Caller::Admin(_)) && method != axum::http::Method::POST {
        let mut r = ApiError(engine::Error::MethodNotAllowed(
            "a signed-in session reseeds with POST; GET is for API tokens".into(),
        ))
        .into_response();
        r.headers_mut().insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static("POST"),
        );
        return Ok(r);
    }
    let Some(name) = q.name.filter(|n| !n.is_empty()) else {
        return Err(ApiError::bad_request(
            "the query parameter `name` is required, e.g. ?name=HSM1",
        ));
    };
    let actor = caller.actor(Some(peer.ip()));
    tracing::info!(actor = %actor.label(), hsm = %name, "reseed requested over the API");
    let record = state.engine.reseed(&name, Trigger::Api, &actor).await?;
    Ok(Json(record).into_response())
}

/// Every configuration (never a password).
#[utoipa::path(
    get,
    path = "/api/2.0/hsms",
    tag = "seeding",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The HSM configurations", body = Vec<engine::partitions::HsmConfig>),
        (status = 401, description = "No valid token or session", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `read`", body = app::ssr::ErrorBody),
    )
)]
pub async fn list_hsms(
    State(state): State<AppState>,
    _: Reader,
) -> Result<Json<Vec<engine::partitions::HsmConfig>>, ApiError> {
    Ok(Json(state.engine.list_configs().await?))
}

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
        let non_empty =
            |s: &Option<String>| s.as_deref().filter(|v| !v.is_empty()).map(str::to_string);
        Ok(HistoryFilter {
            config: non_empty(&self.config),
            trigger: non_empty(&self.trigger)
                .map(|t| t.parse::<Trigger>())
                .transpose()?,
            outcome: non_empty(&self.outcome)
                .map(|o| o.parse::<Outcome>())
                .transpose()?,
        })
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
        .history_page(&filter, q.page.unwrap_or(1), q.per_page.unwrap_or(50))
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
            if let Ok(n) = serde_urlencoded::from_str::<NameQuery>(&q) {
                if let Some(name) = n.name {
                    prop_assert!(
                        engine::partitions::HsmName::parse(&name).is_ok()
                            || engine::partitions::HsmName::parse(&name).is_err()
                    );
                }
            }
        }
    }
}
