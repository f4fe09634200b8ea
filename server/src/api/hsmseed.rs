//! `/api/2.0/hsmseed?name=HSM1`: reseed now.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::partitions::Trigger;
use serde::Deserialize;

use super::caller::{Caller, Seeder};
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
    let record = state
        .engine
        .partitions()
        .reseed(&name, Trigger::Api, &actor)
        .await?;
    Ok(Json(record).into_response())
}
