//! The Quantis REST 2.0 random-number endpoints, as existing Quantis clients
//! call them: `streambytes`, `hexbytes`, `short`, `int`, `float`, `double`,
//! and the info endpoints. Every byte comes from the engine's checked
//! entropy (health-tested, fails closed: 503).
//!
//! Callers: a token of scope `entropy` (or a signed-in administrator); with
//! `entropy_public`, also anyone without credentials, rate-limited per
//! address. The answers are compact JSON (`["a4","b8"]`, `[1,2]`): one C
//! client reads anything else as zeros.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use engine::auth::tokens::Scope;
use engine::entropy::numbers;
use engine::Error;
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::query::ApiQuery;
use crate::error::ApiError;
use crate::AppState;

/// The paths of random numbers: this module's and the QRNG Open API's.
pub const PATHS: [&str; 13] = [
    "/v1/capabilities",
    "/v1/entropy",
    "/v1/healthtest",
    "/api/2.0/streambytes",
    "/api/2.0/hexbytes",
    "/api/2.0/short",
    "/api/2.0/int",
    "/api/2.0/float",
    "/api/2.0/double",
    "/api/2.0/firmwareinfo",
    "/api/2.0/softwareinfo",
    "/api/2.0/systeminfo",
    "/api/2.0/performance",
];

/// Whether `path` is open to anonymous callers (`entropy_public`).
pub fn is_open(state: &AppState, path: &str) -> bool {
    state.engine.settings().entropy_public && PATHS.contains(&path)
}

/// Requests per address and minute for anonymous callers: a fixed
/// one-minute window per address.
pub struct PerAddress {
    per_minute: u32,
    /// Addresses remembered at most.
    remembered: usize,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Addresses remembered before the ones whose window ended are forgotten.
const REMEMBERED: usize = 10_000;
const WINDOW: Duration = Duration::from_secs(60);

impl PerAddress {
    pub fn new(per_minute: u32) -> PerAddress {
        PerAddress {
            per_minute,
            remembered: REMEMBERED,
            windows: Mutex::default(),
        }
    }

    /// Counts a request from `addr`, or refuses it with the seconds until
    /// its window ends.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), Error> {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if w.len() >= self.remembered && !w.contains_key(&addr) {
            w.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            // Still full of live windows (a flood from many addresses): a
            // new address waits rather than the table growing without end.
            if w.len() >= self.remembered {
                return Err(Error::RateLimited {
                    retry_after_secs: WINDOW.as_secs(),
                });
            }
        }
        let (start, count) = w.entry(addr).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            (*start, *count) = (now, 0);
        }
        if *count >= self.per_minute {
            let left = WINDOW.saturating_sub(now.duration_since(*start));
            return Err(Error::RateLimited {
                retry_after_secs: left.as_secs().max(1),
            });
        }
        *count += 1;
        Ok(())
    }
}

/// The header the QRNG Open API names for a token.
pub const API_KEY: &str = "x-api-key";

/// Who may have random numbers: a caller with scope `entropy` (or an
/// administrator), or, with `entropy_public`, anyone (rate-limited).
pub struct RandomCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for RandomCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The QRNG Open API's clients may send the token as `X-API-KEY`.
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            if let Some(key) = parts.headers.get(API_KEY).and_then(|v| v.to_str().ok()) {
                let caller = Caller::from_secret(state, key, "API key").await?;
                caller.require(Scope::Entropy)?;
                return Ok(RandomCaller(Some(caller)));
            }
        }
        let presents = parts.headers.contains_key(header::AUTHORIZATION)
            || parts.extensions.get::<engine::auth::User>().is_some();
        if !presents && state.engine.settings().entropy_public {
            let addr = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
                .ok_or_else(|| ApiError(Error::Internal("no peer address".into())))?;
            state.random_limit.check(addr, Instant::now())?;
            return Ok(RandomCaller(None));
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(Scope::Entropy)?;
        Ok(RandomCaller(Some(caller)))
    }
}

fn bad(msg: String) -> ApiError {
    ApiError::bad_request(msg)
}

fn json<T: Serialize>(value: &T) -> Response {
    // serde_json writes compact JSON: no space after `,` or `:`.
    match serde_json::to_vec(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => ApiError(Error::Internal(format!("encoding the answer: {e}"))).into_response(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SizeQuery {
    /// How many bytes (1 to `random_max_size`, default 1 MiB).
    size: Option<u64>,
}

/// `size` random bytes, `application/octet-stream`.
#[utoipa::path(
    get,
    path = "/api/2.0/streambytes",
    tag = "random",
    params(SizeQuery),
    security((), ("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "`size` checked random bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "`size` missing, not a number, 0 or above `random_max_size`", body = app::ssr::ErrorBody),
        (status = 401, description = "No token or session (and `entropy_public` is off)", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `entropy`", body = app::ssr::ErrorBody),
        (status = 429, description = "Anonymous caller over `entropy_public_per_minute` (Retry-After)", body = app::ssr::ErrorBody),
        (status = 503, description = "The entropy source is failed: nothing is served", body = app::ssr::ErrorBody),
    )
)]
pub async fn streambytes(
    State(state): State<AppState>,
    _caller: RandomCaller,
    ApiQuery(q): ApiQuery<SizeQuery>,
) -> Result<Response, ApiError> {
    let max = u64::from(state.engine.settings().random_max_size);
    let size = q
        .size
        .ok_or_else(|| bad("`size` is required: how many bytes".into()))?;
    if !(1..=max).contains(&size) {
        return Err(bad(format!("`size` must be 1 to {max}, not {size}")));
    }
    let mut bytes = state
        .engine
        .entropy()
        .random(size as usize, "streambytes")
        .await?;
    // Handed to the client as they are, not copied (nothing secret is
    // left behind: these bytes are the client's).
    let body = std::mem::take(&mut *bytes);
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HexQuery {
    /// How many strings (1 to `random_max_quantity`, default 1).
    quantity: Option<u64>,
    /// Bytes per string (1 to `random_max_data_length`, default 1; also
    /// accepted as `DataLength`).
    #[serde(rename = "dataLength", alias = "DataLength")]
    #[param(rename = "dataLength")]
    data_length: Option<u64>,
}

fn quantity(state: &AppState, q: Option<u64>) -> Result<usize, ApiError> {
    let max = u64::from(state.engine.settings().random_max_quantity);
    let n = q.unwrap_or(1);
    if !(1..=max).contains(&n) {
        return Err(bad(format!("`quantity` must be 1 to {max}, not {n}")));
    }
    Ok(n as usize)
}

/// `quantity` lowercase hex strings of `dataLength` bytes each, as a
/// compact JSON array: `["a4","b8"]`.
#[utoipa::path(
    get,
    path = "/api/2.0/hexbytes",
    tag = "random",
    params(HexQuery),
    security((), ("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "A compact JSON array of lowercase hex strings", body = Vec<String>, example = json!(["a4", "b8"])),
        (status = 400, description = "A parameter out of its limits, or `quantity` times `dataLength` above `random_max_size`", body = app::ssr::ErrorBody),
        (status = 401, description = "No token or session (and `entropy_public` is off)", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `entropy`", body = app::ssr::ErrorBody),
        (status = 429, description = "Anonymous caller over `entropy_public_per_minute` (Retry-After)", body = app::ssr::ErrorBody),
        (status = 503, description = "The entropy source is failed", body = app::ssr::ErrorBody),
    )
)]
pub async fn hexbytes(
    State(state): State<AppState>,
    _caller: RandomCaller,
    ApiQuery(q): ApiQuery<HexQuery>,
) -> Result<Response, ApiError> {
    let n = quantity(&state, q.quantity)?;
    let settings = state.engine.settings();
    let max_len = u64::from(settings.random_max_data_length);
    let len = q.data_length.unwrap_or(1);
    if !(1..=max_len).contains(&len) {
        return Err(bad(format!(
            "`dataLength` must be 1 to {max_len}, not {len}"
        )));
    }
    let total = n as u64 * len;
    let max = u64::from(settings.random_max_size);
    if total > max {
        return Err(bad(format!(
            "`quantity` times `dataLength` is {total} bytes, above the {max} of random_max_size"
        )));
    }
    let bytes = state
        .engine
        .entropy()
        .random(total as usize, "hexbytes")
        .await?;
    Ok(json(&numbers::hex_strings(&bytes, len as usize)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IntQuery {
    /// The smallest value (inclusive; default the type's smallest).
    min: Option<i64>,
    /// The bound (exclusive; default the type's largest plus one).
    max: Option<i64>,
    /// How many values (1 to `random_max_quantity`, default 1).
    quantity: Option<u64>,
}

/// Integers uniform in `[lo, hi)`, checked against the type's range
/// `[type_min, type_max]`.
async fn integers(
    state: &AppState,
    q: IntQuery,
    (type_min, type_max): (i64, i64),
    endpoint: &'static str,
) -> Result<Response, ApiError> {
    let n = quantity(state, q.quantity)?;
    let min = q.min.unwrap_or(type_min);
    let max = q.max.unwrap_or(type_max + 1);
    if min < type_min || min > type_max {
        return Err(bad(format!(
            "`min` must be {type_min} to {type_max} for {endpoint}, not {min}"
        )));
    }
    if max <= min || max > type_max + 1 {
        return Err(bad(format!(
            "`max` (exclusive) must be above `min` ({min}) and at most {} for {endpoint}, not {max}",
            type_max + 1
        )));
    }
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        // Rejection takes at most half the draws (on average far fewer).
        let want = (n - out.len()) * numbers::INT_DRAW * 2;
        let bytes = state.engine.entropy().random(want, endpoint).await?;
        numbers::ints(&bytes, min, max, n, &mut out);
    }
    Ok(json(&out))
}

/// `quantity` 16-bit integers uniform in `[min, max)`, a compact JSON array.
#[utoipa::path(
    get,
    path = "/api/2.0/short",
    tag = "random",
    params(IntQuery),
    security((), ("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "A compact JSON array of integers in [min, max), min inclusive, max exclusive, within -32768..32767; no modulo bias", body = Vec<i16>, example = json!([-7, 1204])),
        (status = 400, description = "A parameter out of range (`min` >= `max`, outside the type, `quantity` above `random_max_quantity`)", body = app::ssr::ErrorBody),
        (status = 401, description = "No token or session (and `entropy_public` is off)", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `entropy`", body = app::ssr::ErrorBody),
        (status = 429, description = "Anonymous caller over `entropy_public_per_minute` (Retry-After)", body = app::ssr::ErrorBody),
        (status = 503, description = "The entropy source is failed", body = app::ssr::ErrorBody),
    )
)]
pub async fn short(
    State(state): State<AppState>,
    _caller: RandomCaller,
    ApiQuery(q): ApiQuery<IntQuery>,
) -> Result<Response, ApiError> {
    integers(&state, q, (i16::MIN.into(), i16::MAX.into()), "short").await
}

/// `quantity` 32-bit integers uniform in `[min, max)`, a compact JSON array.
#[utoipa::path(
    get,
    path = "/api/2.0/int",
    tag = "random",
    params(IntQuery),
    security((), ("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "A compact JSON array of integers in [min, max), min inclusive, max exclusive, within the 32-bit range; no modulo bias", body = Vec<i32>, example = json!([42, -100000])),
        (status = 400, description = "A parameter out of range", body = app::ssr::ErrorBody),
        (status = 401, description = "No token or session (and `entropy_public` is off)", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `entropy`", body = app::ssr::ErrorBody),
        (status = 429, description = "Anonymous caller over `entropy_public_per_minute` (Retry-After)", body = app::ssr::ErrorBody),
        (status = 503, description = "The entropy source is failed", body = app::ssr::ErrorBody),
    )
)]
pub async fn int(
    State(state): State<AppState>,
    _caller: RandomCaller,
    ApiQuery(q): ApiQuery<IntQuery>,
) -> Result<Response, ApiError> {
    integers(&state, q, (i32::MIN.into(), i32::MAX.into()), "int").await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RealQuery {
    /// The smallest value (inclusive; default 0).
    min: Option<f64>,
    /// The bound (exclusive; default 1).
    max: Option<f64>,
    /// How many values (1 to `random_max_quantity`, default 1).
    quantity: Option<u64>,
}

fn real_range(q: &RealQuery, finite_max: f64, endpoint: &str) -> Result<(f64, f64), ApiError> {
    let min = q.min.unwrap_or(0.0);
    let max = q.max.unwrap_or(1.0);
    for (name, v) in [("min", min), ("max", max)] {
        if !v.is_finite() || v.abs() > finite_max {
            return Err(bad(format!(
                "`{name}` must be a finite {endpoint}, not {v}"
            )));
        }
    }
    if min >= max {
        return Err(bad(format!(
            "`max` (exclusive) must be above `min` ({min}), not {max}"
        )));
    }
    Ok((min, max))
}

/// `quantity` single-precision values uniform in `[min, max)`.
#[utoipa::path(
    get,
    path = "/api/2.0/float",
    tag = "random",
    params(RealQuery),
    security((), ("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "A compact JSON array of numbers in [min, max)", body = Vec<f32>, example = json!([0.25, 0.7310586])),
        (status = 400, description = "A parameter out of range or not finite", body = app::ssr::ErrorBody),
        (status = 401, description = "No token or session (and `entropy_public` is off)", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `entropy`", body = app::ssr::ErrorBody),
        (status = 429, description = "Anonymous caller over `entropy_public_per_minute` (Retry-After)", body = app::ssr::ErrorBody),
        (status = 503, description = "The entropy source is failed", body = app::ssr::ErrorBody),
    )
)]
pub async fn float(
    State(state): State<AppState>,
    _caller: RandomCaller,
    ApiQuery(q): ApiQuery<RealQuery>,
) -> Result<Response, ApiError> {
    let n = quantity(&state, q.quantity)?;
    let (min, max) = real_range(&q, f64::from(f32::MAX), "float")?;
    let (min, max) = (min as f32, max as f32);
    if min >= max {
        return Err(bad("`min` and `max` are the same float".into()));
    }
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let want = (n - out.len()) * numbers::FLOAT_DRAW + numbers::FLOAT_DRAW;
        let bytes = state.engine.entropy().random(want, "float").await?;
        numbers::floats(&bytes, min, max, n, &mut out);
    }
    Ok(json(&out))
}

/// `quantity` double-precision values uniform in `[min, max)`.
#[utoipa::path(
    get,
    path = "/api/2.0/double",
    tag = "random",
    params(RealQuery),
    security((), ("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "A compact JSON array of numbers in [min, max)", body = Vec<f64>, example = json!([0.5, 0.125])),
        (status = 400, description = "A parameter out of range or not finite", body = app::ssr::ErrorBody),
        (status = 401, description = "No token or session (and `entropy_public` is off)", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `entropy`", body = app::ssr::ErrorBody),
        (status = 429, description = "Anonymous caller over `entropy_public_per_minute` (Retry-After)", body = app::ssr::ErrorBody),
        (status = 503, description = "The entropy source is failed", body = app::ssr::ErrorBody),
    )
)]
pub async fn double(
    State(state): State<AppState>,
    _caller: RandomCaller,
    ApiQuery(q): ApiQuery<RealQuery>,
) -> Result<Response, ApiError> {
    let n = quantity(&state, q.quantity)?;
    let (min, max) = real_range(&q, f64::MAX, "double")?;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let want = (n - out.len()) * numbers::DOUBLE_DRAW + numbers::DOUBLE_DRAW;
        let bytes = state.engine.entropy().random(want, "double").await?;
        numbers::doubles(&bytes, min, max, n, &mut out);
    }
    Ok(json(&out))
}

/// This appliance's firmware: the hsmseed build.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FirmwareInfo {
    /// `hsmseed`.
    pub name: &'static str,
    pub version: &'static str,
}

/// The software answering: hsmseed, and the API version it speaks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SoftwareInfo {
    pub name: &'static str,
    pub version: &'static str,
    /// `2.0`: the Quantis REST API version these endpoints follow.
    pub api: &'static str,
}

/// The entropy source behind every answer, and its health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SystemInfo {
    /// `ok` when the source delivers, else `failed` (answers are 503).
    pub state: String,
    pub sources: Vec<SourceInfo>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceInfo {
    /// `os`, `device:PATH`.
    pub source: String,
    /// `starting`, `ok` or `failed`.
    pub state: String,
    #[serde(rename = "bytesRead")]
    pub bytes_read: u64,
    #[serde(rename = "blocksTested")]
    pub blocks_tested: u64,
    #[serde(rename = "permanentFailures")]
    pub permanent_failures: u64,
}

/// A throughput measured now, over 64 KiB of checked random bytes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Performance {
    /// Megabits per second of checked random bytes, as drawn for answers.
    pub mbps: f64,
    /// Bytes the measurement drew.
    pub bytes: usize,
}

#[utoipa::path(get, path = "/api/2.0/firmwareinfo", tag = "random",
    security((), ("bearer" = []), ("session" = [])),
    responses((status = 200, description = "This appliance's firmware (the hsmseed build)", body = FirmwareInfo)))]
pub async fn firmwareinfo(_caller: RandomCaller) -> Response {
    json(&FirmwareInfo {
        name: "hsmseed",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[utoipa::path(get, path = "/api/2.0/softwareinfo", tag = "random",
    security((), ("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The software and the API version", body = SoftwareInfo)))]
pub async fn softwareinfo(_caller: RandomCaller) -> Response {
    json(&SoftwareInfo {
        name: "hsmseed",
        version: env!("CARGO_PKG_VERSION"),
        api: "2.0",
    })
}

#[utoipa::path(get, path = "/api/2.0/systeminfo", tag = "random",
    security((), ("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The entropy source and its health", body = SystemInfo)))]
pub async fn systeminfo(State(state): State<AppState>, _caller: RandomCaller) -> Response {
    let s = state.engine.entropy().status();
    let source_state = serde_json::to_value(s.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    json(&SystemInfo {
        state: if source_state == "ok" { "ok" } else { "failed" }.to_string(),
        sources: vec![SourceInfo {
            source: s.source,
            state: source_state,
            bytes_read: s.bytes_read,
            blocks_tested: s.blocks_tested,
            permanent_failures: s.permanent_failures,
        }],
    })
}

#[utoipa::path(get, path = "/api/2.0/performance", tag = "random",
    security((), ("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Throughput of checked random bytes, measured now over 64 KiB", body = Performance),
        (status = 503, description = "The entropy source is failed", body = app::ssr::ErrorBody),
    ))]
pub async fn performance(
    State(state): State<AppState>,
    _caller: RandomCaller,
) -> Result<Response, ApiError> {
    const BYTES: usize = 64 * 1024;
    let started = Instant::now();
    state.engine.entropy().random(BYTES, "performance").await?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let mbps = (BYTES as f64 * 8.0 / secs / 1e6 * 10.0).round() / 10.0;
    Ok(json(&Performance { mbps, bytes: BYTES }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_quota_a_minute_then_waits() {
        let limit = PerAddress::new(3);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            limit.check(a, t0).unwrap();
        }
        match limit.check(a, t0 + Duration::from_secs(20)) {
            Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 40),
            other => panic!("{other:?}"),
        }
        // Another address has its own quota.
        limit.check(b, t0).unwrap();
        // A new window starts after a minute.
        limit.check(a, t0 + WINDOW).unwrap();
    }

    #[test]
    fn a_flood_of_addresses_does_not_grow_the_table_without_end() {
        let limit = PerAddress {
            remembered: 2,
            ..PerAddress::new(5)
        };
        let t0 = Instant::now();
        let ip = |n: u8| IpAddr::from([10, 0, 0, n]);
        limit.check(ip(1), t0).unwrap();
        limit.check(ip(2), t0).unwrap();
        assert!(matches!(
            limit.check(ip(3), t0),
            Err(Error::RateLimited { .. })
        ));
        // Known addresses go on; once windows end, new ones get room.
        limit.check(ip(1), t0).unwrap();
        limit.check(ip(3), t0 + WINDOW).unwrap();
        assert!(limit.windows.lock().unwrap().len() <= 2);
    }
}
