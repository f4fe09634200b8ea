//! `/api/2.0/hsms`: the configurations (never a password).

use axum::extract::State;
use axum::Json;

use super::caller::Reader;
use crate::error::ApiError;
use crate::AppState;

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
    Ok(Json(state.engine.partitions().list_configs().await?))
}
