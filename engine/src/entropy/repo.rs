//! The entropy capability's table: `entropy_events`.

use crate::store::db::{self, Pool};

/// Appends one event of a source to `entropy_events`.
pub(crate) async fn record_event(
    pool: &Pool,
    at_ms: i64,
    source: &str,
    kind: &str,
    test: &str,
    detail: &str,
) -> crate::Result<()> {
    db::query(
        "INSERT INTO entropy_events (at_ms, source, kind, test, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(at_ms)
    .bind(source)
    .bind(kind)
    .bind(test)
    .bind(detail)
    .execute(pool)
    .await?;
    Ok(())
}
