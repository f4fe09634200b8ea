//! The tables every capability shares: `changes` (the change counter every
//! process watches) and `app_settings` (small appliance settings: the seed
//! period, the certificate subject).

use crate::store::db::{self, Conn, Executor, Pool};

use crate::error::Result;

/// Where the changes stand: the newest change id (0 when nothing changed
/// yet); on PostgreSQL the count of commits to `changes` its change feed
/// heard (see [`super::notify`]). Only its moving matters.
pub(crate) async fn last_change(store: &super::Store) -> Result<i64> {
    if let Some(v) = store.versions() {
        return Ok(v.now().2);
    }
    let id: Option<i64> = db::query_scalar("SELECT MAX(id) FROM changes")
        .fetch_one(store.pool())
        .await?;
    Ok(id.unwrap_or(0))
}

/// Where the data the dashboard shows stands (the overview's data
/// version): the newest audit row, history row and change, in one read
/// (on the calling thread; on the pool when that cannot be made); on
/// PostgreSQL what its change feed heard.
pub(crate) async fn data_version(store: &super::Store) -> Result<(i64, i64, i64)> {
    const SQL: &str =
        "SELECT (SELECT MAX(id) FROM audit_log), (SELECT MAX(id) FROM seed_history), \
                       (SELECT MAX(id) FROM changes)";
    type Row = (Option<i64>, Option<i64>, Option<i64>);
    if let Some(v) = store.versions() {
        return Ok(v.now());
    }
    let now = store.inline().and_then(|i| {
        i.read("data version", |c| {
            c.prepare_cached(SQL)?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        })
    });
    let (audit, history, changes): Row = match now {
        Some(row) => row,
        None => db::query_as(SQL).fetch_one(store.pool()).await?,
    };
    Ok((
        audit.unwrap_or(0),
        history.unwrap_or(0),
        changes.unwrap_or(0),
    ))
}

/// Records a change (on the pool, or in an action's transaction);
/// returns its id.
pub(crate) async fn record_change<'c>(
    db: impl Executor<'c>,
    at_ms: i64,
    what: &str,
) -> Result<i64> {
    Ok(
        db::query_scalar("INSERT INTO changes (at_ms, what) VALUES ($1, $2) RETURNING id")
            .bind(at_ms)
            .bind(what)
            .fetch_one(db)
            .await?,
    )
}

/// One appliance setting.
pub(crate) async fn setting(pool: &Pool, key: &str) -> Result<Option<String>> {
    Ok(
        db::query_scalar("SELECT value FROM app_settings WHERE key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?,
    )
}

/// Writes appliance settings, all in one transaction.
pub(crate) async fn set_settings(
    pool: &Pool,
    values: &[(&str, String)],
    now_ms: i64,
) -> Result<()> {
    let mut tx = pool.begin_write().await?;
    write_settings(&mut tx, values, now_ms).await?;
    tx.commit().await?;
    Ok(())
}

/// Writes appliance settings in the caller's transaction.
pub(crate) async fn write_settings(
    conn: &mut Conn,
    values: &[(&str, String)],
    now_ms: i64,
) -> Result<()> {
    for (key, value) in values {
        db::query(
            "INSERT INTO app_settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
