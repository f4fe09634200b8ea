//! Login throttling: after [`MAX_FAILURES`] failed attempts within
//! [`WINDOW`] for one user name or one client address, further attempts are
//! refused until the window has passed. Kept in the database so that every
//! process on the data directory (server and console) counts the same.

use sqlx::SqliteConnection;
use time::{Duration, OffsetDateTime};

use crate::clock::unix_ms;
use crate::error::{Error, Result};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::minutes(1);

/// The key a user name is counted under: bounded, so that a huge name cannot
/// bloat the table.
fn user_key(user: &str) -> String {
    user.chars().take(128).collect()
}

fn window_start_ms(now: OffsetDateTime) -> i64 {
    unix_ms(now - WINDOW)
}

/// When the oldest failure that still counts toward the limit stops counting,
/// in whole seconds from now; `None` when under the limit.
async fn retry_after(
    conn: &mut SqliteConnection,
    kind: &str,
    key: &str,
    now: OffsetDateTime,
) -> Result<Option<u64>> {
    let times: Vec<i64> = sqlx::query_scalar(
        "SELECT at_ms FROM login_failures WHERE kind = ? AND key = ? AND at_ms > ? ORDER BY at_ms DESC LIMIT ?",
    )
    .bind(kind)
    .bind(key)
    .bind(window_start_ms(now))
    .bind(MAX_FAILURES as i64)
    .fetch_all(conn)
    .await?;
    if times.len() < MAX_FAILURES {
        return Ok(None);
    }
    let oldest = times.last().copied().unwrap_or_default();
    let free_at = oldest + WINDOW.whole_milliseconds() as i64;
    let wait_ms = (free_at - unix_ms(now)).max(1);
    Ok(Some(((wait_ms + 999) / 1000) as u64))
}

pub(crate) async fn check(
    conn: &mut SqliteConnection,
    user: &str,
    addr: Option<&str>,
    now: OffsetDateTime,
) -> Result<()> {
    let mut wait = retry_after(conn, "user", &user_key(user), now).await?;
    if let Some(a) = addr {
        wait = wait.max(retry_after(conn, "addr", a, now).await?);
    }
    match wait {
        Some(retry_after_secs) => Err(Error::Throttled { retry_after_secs }),
        None => Ok(()),
    }
}

pub(crate) async fn record_failure(
    conn: &mut SqliteConnection,
    user: &str,
    addr: Option<&str>,
    now: OffsetDateTime,
) -> Result<()> {
    let at = unix_ms(now);
    sqlx::query("DELETE FROM login_failures WHERE at_ms <= ?")
        .bind(window_start_ms(now))
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO login_failures (kind, key, at_ms) VALUES ('user', ?, ?)")
        .bind(user_key(user))
        .bind(at)
        .execute(&mut *conn)
        .await?;
    if let Some(a) = addr {
        sqlx::query("INSERT INTO login_failures (kind, key, at_ms) VALUES ('addr', ?, ?)")
            .bind(a)
            .bind(at)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(crate) async fn clear_user(conn: &mut SqliteConnection, user: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE kind = 'user' AND key = ?")
        .bind(user_key(user))
        .execute(conn)
        .await?;
    Ok(())
}
