//! The users table.

use crate::store::db::{self, Conn};

use super::UserName;
use crate::error::Result;
use crate::store::Store;
pub use types::auth::UserInfo;

/// A signed-in administrator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    /// Random and never reused: what a session is bound to.
    pub uid: String,
    /// Moves on at every password change or reset; a session of an older
    /// generation has ended.
    pub generation: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: i64,
    pub uid: String,
    pub name: String,
    pub password_hash: String,
    pub generation: i64,
}

impl UserRow {
    pub fn user(self) -> User {
        User {
            id: self.id,
            name: self.name,
            uid: self.uid,
            generation: self.generation,
        }
    }
}

const SELECT: &str = "SELECT id, uid, name, password_hash, generation FROM users";

pub(crate) async fn count(conn: &mut Conn) -> Result<i64> {
    Ok(db::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(conn)
        .await?)
}

pub(crate) async fn insert(
    conn: &mut Conn,
    name: &UserName,
    hash: &str,
    now_ms: i64,
) -> Result<i64> {
    let mut uid = [0u8; 16];
    crate::random::fill_random(&mut uid);
    let r = db::query_scalar(
        "INSERT INTO users (uid, name, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(hex::encode(uid))
    .bind(name.as_str())
    .bind(hash)
    .bind(now_ms)
    .bind(now_ms)
    .fetch_one(conn)
    .await;
    match r {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(
            crate::error::Error::Conflict(format!("user {}", name.as_str())),
        ),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn find_by_name(conn: &mut Conn, name: &UserName) -> Result<Option<UserRow>> {
    Ok(db::query_as(&format!("{SELECT} WHERE name = $1"))
        .bind(name.as_str())
        .fetch_optional(conn)
        .await?)
}

pub(crate) async fn find_by_uid(conn: &mut Conn, uid: &str) -> Result<Option<UserRow>> {
    Ok(db::query_as(&format!("{SELECT} WHERE uid = $1"))
        .bind(uid)
        .fetch_optional(conn)
        .await?)
}

/// [`find_by_uid`] on the calling thread (every signed-in request makes
/// it); on the pool when that read cannot be made.
pub(crate) async fn find_by_uid_now(store: &Store, uid: &str) -> Result<Option<UserRow>> {
    use rusqlite::OptionalExtension;
    let now = store.inline().and_then(|i| {
        i.read("session user", |c| {
            c.prepare_cached(&format!("{SELECT} WHERE uid = $1"))?
                .query_row([uid], |r| {
                    Ok(UserRow {
                        id: r.get(0)?,
                        uid: r.get(1)?,
                        name: r.get(2)?,
                        password_hash: r.get(3)?,
                        generation: r.get(4)?,
                    })
                })
                .optional()
        })
    });
    match now {
        Some(row) => Ok(row),
        None => find_by_uid(&mut store.pool().acquire().await?, uid).await,
    }
}

/// Sets a new password hash and moves the user's generation on (their
/// sessions of older generations end); the user as they are now.
pub(crate) async fn update_password(
    conn: &mut Conn,
    name: &UserName,
    hash: &str,
    now_ms: i64,
) -> Result<Option<User>> {
    let row: Option<UserRow> = db::query_as(
        "UPDATE users SET password_hash = $1, generation = generation + 1, updated_at = $2 \
         WHERE name = $3 RETURNING id, uid, name, password_hash, generation",
    )
    .bind(hash)
    .bind(now_ms)
    .bind(name.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(UserRow::user))
}

pub(crate) async fn list(conn: &mut Conn) -> Result<Vec<UserInfo>> {
    let rows: Vec<(String, i64)> = db::query_as("SELECT name, created_at FROM users ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    let tokens: Vec<(String, String)> =
        db::query_as("SELECT created_by, name FROM api_tokens ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(name, at)| UserInfo {
            tokens: tokens
                .iter()
                .filter(|(by, _)| *by == name)
                .map(|(_, t)| t.clone())
                .collect(),
            name,
            created_at: crate::clock::from_ms(at),
        })
        .collect())
}

pub(crate) async fn delete(conn: &mut Conn, name: &UserName) -> Result<bool> {
    Ok(db::query("DELETE FROM users WHERE name = $1")
        .bind(name.as_str())
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_session_user_is_read_on_the_calling_thread_as_on_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        let name = UserName::parse("bob").unwrap();
        insert(&mut conn, &name, "hash", 1).await.unwrap();
        let on_pool = find_by_name(&mut conn, &name).await.unwrap().unwrap();

        let now = find_by_uid_now(&store, &on_pool.uid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.inline().unwrap().idle(),
            1,
            "read on the calling thread"
        );
        assert_eq!(now.password_hash, on_pool.password_hash);
        assert_eq!(now.user(), on_pool.user());
        assert!(find_by_uid_now(&store, "nobody").await.unwrap().is_none());
    }
}
