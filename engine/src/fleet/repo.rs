//! The `appliances` table and the per-appliance hourly counts.

use crate::store::db::{self, Pool};

use crate::error::Result;

pub(crate) async fn heartbeat(
    pool: &Pool,
    id: &str,
    version: &str,
    started_ms: i64,
    now_ms: i64,
) -> Result<()> {
    db::query(
        "INSERT INTO appliances (id, version, started_at, heartbeat_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, \
         started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
    )
    .bind(id)
    .bind(version)
    .bind(started_ms)
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets appliances not heard from since `silent_before_ms` and the
/// hourly counts before `hours_before_ms`; answers how many appliances.
pub(crate) async fn prune(pool: &Pool, silent_before_ms: i64, hours_before_ms: i64) -> Result<u64> {
    db::query("DELETE FROM seed_hourly_appliance WHERE hour_ms < $1")
        .bind(hours_before_ms)
        .execute(pool)
        .await?;
    Ok(db::query("DELETE FROM appliances WHERE heartbeat_at < $1")
        .bind(silent_before_ms)
        .execute(pool)
        .await?
        .rows_affected())
}

/// `(id, version, started_at, heartbeat_at, reseeds in hour_ms)`.
pub(crate) async fn list(
    pool: &Pool,
    hour_ms: i64,
) -> Result<Vec<(String, String, i64, i64, i64)>> {
    Ok(db::query_as(
        "SELECT a.id, a.version, a.started_at, a.heartbeat_at, coalesce(h.reseeds, 0) \
         FROM appliances a LEFT JOIN seed_hourly_appliance h \
         ON h.appliance = a.id AND h.hour_ms = $1 ORDER BY a.id",
    )
    .bind(hour_ms)
    .fetch_all(pool)
    .await?)
}
