//! The users table.

use sqlx::SqliteConnection;

use super::UserName;
use crate::error::Result;

/// A signed-in administrator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
}

/// An administrator as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserInfo {
    pub name: String,
    pub created_at: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: i64,
    pub name: String,
    pub password_hash: String,
}

pub(crate) async fn count(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(conn)
        .await?)
}

pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    name: &UserName,
    hash: &str,
    now_ms: i64,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)",
    )
    .bind(name.as_str())
    .bind(hash)
    .bind(now_ms)
    .bind(now_ms)
    .execute(conn)
    .await;
    match r {
        Ok(r) => Ok(r.last_insert_rowid()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(
            crate::error::Error::Conflict(format!("user {}", name.as_str())),
        ),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn find_by_name(
    conn: &mut SqliteConnection,
    name: &UserName,
) -> Result<Option<UserRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, password_hash FROM users WHERE name = ?")
            .bind(name.as_str())
            .fetch_optional(conn)
            .await?,
    )
}

pub(crate) async fn find_by_id(conn: &mut SqliteConnection, id: i64) -> Result<Option<UserRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, password_hash FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

pub(crate) async fn update_password(
    conn: &mut SqliteConnection,
    name: &UserName,
    hash: &str,
    now_ms: i64,
) -> Result<bool> {
    let n = sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?")
        .bind(hash)
        .bind(now_ms)
        .bind(name.as_str())
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub(crate) async fn list(conn: &mut SqliteConnection) -> Result<Vec<UserInfo>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, created_at FROM users ORDER BY name")
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(name, at)| UserInfo {
            name,
            created_at: crate::history::rfc3339(at),
        })
        .collect())
}

pub(crate) async fn delete(conn: &mut SqliteConnection, name: &UserName) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM users WHERE name = ?")
        .bind(name.as_str())
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}
