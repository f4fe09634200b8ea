//! Which web session belongs to which user (`user_sessions`), so that
//! removing a user or changing a password ends their sessions (`sessions`
//! is the server's session store, in the same database).

use crate::error::Result;

/// Records that web session `session_id` belongs to user `uid`.
pub(super) async fn bind(
    pool: &sqlx::SqlitePool,
    session_id: &str,
    uid: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_sessions (session_id, user_uid, created_at) VALUES (?, ?, ?) \
         ON CONFLICT (session_id) DO UPDATE SET user_uid = excluded.user_uid",
    )
    .bind(session_id)
    .bind(uid)
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets a session's binding, and bindings of sessions the store no
/// longer has (expired).
pub(super) async fn unbind(pool: &sqlx::SqlitePool, session_id: Option<&str>) -> Result<()> {
    sqlx::query(
        "DELETE FROM user_sessions WHERE session_id = ? \
         OR session_id NOT IN (SELECT id FROM sessions)",
    )
    .bind(session_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes the web sessions of user `uid` but `keep`; how many went.
pub(super) async fn end_for_user(
    conn: &mut sqlx::SqliteConnection,
    uid: &str,
    keep: Option<&str>,
) -> Result<u64> {
    let keep = keep.unwrap_or("");
    let n = sqlx::query(
        "DELETE FROM sessions WHERE id IN \
         (SELECT session_id FROM user_sessions WHERE user_uid = ? AND session_id <> ?)",
    )
    .bind(uid)
    .bind(keep)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM user_sessions WHERE user_uid = ? AND session_id <> ?")
        .bind(uid)
        .bind(keep)
        .execute(&mut *conn)
        .await?;
    Ok(n)
}
