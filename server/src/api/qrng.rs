//! The QRNG Open API (the vendor-neutral interface of Palo Alto Networks
//! with ID Quantique, Qrypt, Quantinuum, Quside and others), served from the
//! same checked entropy: `GET /v1/capabilities`, `POST /v1/entropy`,
//! `GET /v1/healthtest`. Its errors are 422 for a bad parameter and 503
//! when the source is unavailable, with the JSON error body. Callers as
//! for the Quantis endpoints (scope `entropy`, or `entropy_public`); the
//! token may also come as `X-API-KEY`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::random::RandomCaller;
use crate::error::ApiError;
use crate::AppState;

/// The one entropy type served: tested and, for a device, conditioned
/// (full-entropy) bytes.
pub const ENTROPY_TYPE: &str = "full";

/// A QRNG Open API error: a client error is 422, as the spec has it.
fn answer(e: ApiError) -> Response {
    let mut r = e.into_response();
    if r.status() == StatusCode::BAD_REQUEST {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

fn unprocessable(msg: String) -> Response {
    answer(ApiError::bad_request(msg))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Capabilities {
    pub entropy: EntropyCapabilities,
    pub healthtest: HealthtestCapabilities,
    /// How many sources feed the answers.
    pub source_count: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntropyCapabilities {
    /// Bytes per block.
    pub min_block_size: u32,
    pub max_block_size: u32,
    pub min_block_count: u32,
    pub max_block_count: u32,
    /// `["full"]`.
    pub entropy_types: Vec<&'static str>,
    /// None.
    pub extensions: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthtestCapabilities {
    /// `["nist_90b"]`: the SP 800-90B start-up and continuous tests.
    pub test_types: Vec<&'static str>,
}

/// What this appliance serves through `POST /v1/entropy`.
#[utoipa::path(get, path = "/v1/capabilities", tag = "qrng",
    security((), ("bearer" = []), ("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Block sizes and counts, entropy types, health tests, sources", body = Capabilities),
        (status = 401, description = "No token (and `entropy_public` is off)", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `entropy`", body = app::ssr::ErrorBody),
    ))]
pub async fn capabilities(State(state): State<AppState>, _caller: RandomCaller) -> Response {
    let s = state.engine.settings();
    Json(Capabilities {
        entropy: EntropyCapabilities {
            min_block_size: 1,
            max_block_size: s.random_max_data_length,
            min_block_count: 1,
            max_block_count: s.random_max_quantity,
            entropy_types: vec![ENTROPY_TYPE],
            extensions: Vec::new(),
        },
        healthtest: HealthtestCapabilities {
            test_types: vec!["nist_90b"],
        },
        source_count: state.engine.entropy().sources().len() as u32,
    })
    .into_response()
}

/// `POST /v1/entropy`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntropyRequest {
    /// Bytes per block (1 to `random_max_data_length`).
    pub block_size: u64,
    /// Blocks (1 to `random_max_quantity`; size times count at most
    /// `random_max_size`).
    pub block_count: u64,
    /// `full` (the default).
    pub entropy_type: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntropyAnswer {
    /// `block_count` blocks, each base64 of `block_size` bytes.
    pub entropy: Vec<String>,
}

/// Blocks of checked random bytes, base64.
#[utoipa::path(post, path = "/v1/entropy", tag = "qrng",
    request_body = EntropyRequest,
    security((), ("bearer" = []), ("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The blocks, base64", body = EntropyAnswer),
        (status = 401, description = "No token (and `entropy_public` is off)", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `entropy`", body = app::ssr::ErrorBody),
        (status = 422, description = "A parameter is missing, out of range, or an unknown entropy type", body = app::ssr::ErrorBody),
        (status = 429, description = "Anonymous caller over `entropy_public_per_minute` (Retry-After)", body = app::ssr::ErrorBody),
        (status = 503, description = "The entropy source is unavailable: nothing is served", body = app::ssr::ErrorBody),
    ))]
pub async fn entropy(
    State(state): State<AppState>,
    _caller: RandomCaller,
    body: Bytes,
) -> Response {
    let req: EntropyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return unprocessable(format!("the request body is not an entropy request: {e}")),
    };
    if let Some(t) = req.entropy_type.as_deref().filter(|t| *t != ENTROPY_TYPE) {
        return unprocessable(format!(
            "entropy_type `{}` is not served; the types are [\"{ENTROPY_TYPE}\"]",
            t.chars().take(32).collect::<String>()
        ));
    }
    let s = state.engine.settings();
    let (max_size, max_count) = (
        u64::from(s.random_max_data_length),
        u64::from(s.random_max_quantity),
    );
    if !(1..=max_size).contains(&req.block_size) {
        return unprocessable(format!(
            "block_size must be 1 to {max_size}, not {}",
            req.block_size
        ));
    }
    if !(1..=max_count).contains(&req.block_count) {
        return unprocessable(format!(
            "block_count must be 1 to {max_count}, not {}",
            req.block_count
        ));
    }
    let total = req.block_size * req.block_count;
    let max = u64::from(s.random_max_size);
    if total > max {
        return unprocessable(format!(
            "block_size times block_count is {total} bytes, above the {max} of random_max_size"
        ));
    }
    match state.engine.entropy().random(total as usize, "qrng").await {
        Ok(bytes) => Json(EntropyAnswer {
            entropy: bytes
                .chunks(req.block_size as usize)
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
                .collect(),
        })
        .into_response(),
        Err(e) => answer(ApiError(e)),
    }
}

/// The latest SP 800-90B results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Healthtest {
    /// `nist_90b`.
    pub test_type: &'static str,
    /// `passed` while the source delivers; `failed` after a permanent
    /// failure (or a failed start-up test); `pending` before the start-up
    /// test ends.
    pub test_result: &'static str,
    /// When: the last failure's time when failed, else now (the continuous
    /// tests judge every block as it is read).
    pub time_stamp: String,
    /// The source the result is of.
    pub source: String,
}

#[utoipa::path(get, path = "/v1/healthtest", tag = "qrng",
    security((), ("bearer" = []), ("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The latest SP 800-90B result of the source", body = Healthtest),
        (status = 401, description = "No token (and `entropy_public` is off)", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `entropy`", body = app::ssr::ErrorBody),
    ))]
pub async fn healthtest(State(state): State<AppState>, _caller: RandomCaller) -> Response {
    let s = state.engine.entropy().status();
    let (result, at) = match s.state {
        engine::entropy::EntropyState::Ok => ("passed", state.engine.now()),
        engine::entropy::EntropyState::Failed => (
            "failed",
            s.last_failure
                .as_ref()
                .map_or_else(|| state.engine.now(), |f| f.at),
        ),
        _ => ("pending", state.engine.now()),
    };
    Json(Healthtest {
        test_type: "nist_90b",
        test_result: result,
        time_stamp: at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        source: s.source,
    })
    .into_response()
}
