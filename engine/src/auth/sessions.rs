//! Which web session belongs to which user (`user_sessions`), so that
//! removing a user or changing a password ends their sessions (`sessions`
//! is the server's session store, in the same database).

use crate::error::Result;
use crate::store::db::{self, Conn, Pool};
use crate::store::Store;

/// A web session's stored record, read on the calling thread.
#[derive(Debug, PartialEq, Eq)]
pub enum StoredSession {
    /// The session store's encoding of the record.
    Found(Vec<u8>),
    Missing,
    /// Not read here: ask the session store.
    NotRead,
}

/// The stored record of web session `session_id` (the server's session
/// store writes it; every signed-in request reads it).
pub(super) fn stored(store: &Store, session_id: &str) -> StoredSession {
    use rusqlite::OptionalExtension;
    let now = store.inline().and_then(|i| {
        i.read("session", |c| {
            c.prepare_cached("SELECT data FROM sessions WHERE id = $1")?
                .query_row([session_id], |r| r.get::<_, Vec<u8>>(0))
                .optional()
        })
    });
    match now {
        Some(Some(data)) => StoredSession::Found(data),
        Some(None) => StoredSession::Missing,
        None => StoredSession::NotRead,
    }
}

/// Records that web session `session_id` belongs to user `uid`.
pub(super) async fn bind(pool: &Pool, session_id: &str, uid: &str, now_ms: i64) -> Result<()> {
    db::query(
        "INSERT INTO user_sessions (session_id, user_uid, created_at) VALUES ($1, $2, $3) \
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
pub(super) async fn unbind(pool: &Pool, session_id: Option<&str>) -> Result<()> {
    db::query(
        "DELETE FROM user_sessions WHERE session_id = $1 \
         OR session_id NOT IN (SELECT id FROM sessions)",
    )
    .bind(session_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes the web sessions of user `uid` but `keep`; how many went.
pub(super) async fn end_for_user(conn: &mut Conn, uid: &str, keep: Option<&str>) -> Result<u64> {
    let keep = keep.unwrap_or("");
    let n = db::query(
        "DELETE FROM sessions WHERE id IN \
         (SELECT session_id FROM user_sessions WHERE user_uid = $1 AND session_id <> $2)",
    )
    .bind(uid)
    .bind(keep)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    db::query("DELETE FROM user_sessions WHERE user_uid = $1 AND session_id <> $2")
        .bind(uid)
        .bind(keep)
        .execute(&mut *conn)
        .await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_session_record_is_read_on_the_calling_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        db::query("INSERT INTO sessions VALUES ('s1', x'0102', 0)")
            .execute(store.pool())
            .await
            .unwrap();
        assert_eq!(stored(&store, "s1"), StoredSession::Found(vec![1, 2]));
        assert_eq!(stored(&store, "s2"), StoredSession::Missing);
        assert_eq!(store.inline().unwrap().idle(), 1);
        // A read that cannot be made here is left to the session store.
        db::query("DROP TABLE sessions")
            .execute(store.pool())
            .await
            .unwrap();
        assert_eq!(stored(&store, "s1"), StoredSession::NotRead);
    }
}
