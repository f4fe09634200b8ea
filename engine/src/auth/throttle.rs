//! Login throttling: after [`MAX_FAILURES`] failed attempts within
//! [`WINDOW`] for one user name or one client address, further attempts are
//! refused until the window has passed. Kept in the database so that every
//! process on the data directory (server and console) counts the same.
//!
//! The check and the record are one step: an attempt is recorded as a
//! failure *before* its password is checked, in the transaction that
//! counts the earlier ones, and the record is taken back when the password
//! was right. So however many attempts arrive at once, at most
//! [`MAX_FAILURES`] per bucket reach the password check.
//!
//! The console on the appliance's own terminal counts in buckets of its
//! own: failures on the network cannot lock an operator out of
//! `hsmseed shell`.
//!
//! Refused (throttled) attempts are counted, not audited one by one: the
//! audit log gets one row per throttled bucket and window, with the count.

use crate::store::db::{self, Conn, Pool};
use time::{Duration, OffsetDateTime};

use crate::clock::unix_ms;
use crate::error::Result;

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::minutes(1);

/// The door whose failures count apart (see the module documentation).
pub const CONSOLE_DOOR: &str = "console";

/// The key a user name is counted under: bounded, so that a huge name cannot
/// bloat the table; the console's apart.
fn user_key(door: &str, user: &str) -> String {
    let name: String = user.chars().take(128).collect();
    if door == CONSOLE_DOOR {
        format!("{CONSOLE_DOOR}:{name}")
    } else {
        name
    }
}

fn window_start_ms(now: OffsetDateTime) -> i64 {
    unix_ms(now - WINDOW)
}

/// The buckets one attempt counts in.
pub(crate) struct Attempt<'a> {
    pub door: &'a str,
    pub user: &'a str,
    pub addr: Option<&'a str>,
}

/// An attempt allowed to check its password, recorded as failed until
/// [`succeeded`] takes it back.
pub(crate) struct Reserved {
    ids: Vec<i64>,
    user_key: String,
}

/// Throttled attempts of one bucket, for its audit row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct ThrottledCount {
    /// `user` or `addr`.
    pub kind: String,
    pub key: String,
    /// The user name last tried, as typed (bounded).
    pub last_user: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub count: i64,
}

pub(crate) enum Verdict {
    Reserved(Reserved),
    /// Refused; a bucket's finished count to audit, if this attempt closed
    /// one.
    Throttled {
        retry_after_secs: u64,
        finished: Option<ThrottledCount>,
    },
}

/// When the oldest failure that still counts toward the limit stops counting,
/// in whole seconds from now; `None` when under the limit.
async fn retry_after(
    conn: &mut Conn,
    kind: &str,
    key: &str,
    now: OffsetDateTime,
) -> Result<Option<u64>> {
    let times: Vec<i64> = db::query_scalar(
        "SELECT at_ms FROM login_failures WHERE kind = $1 AND key = $2 AND at_ms > $3 ORDER BY at_ms DESC LIMIT $4",
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

/// Counts an attempt against both buckets: reserved (recorded as a failure
/// until it succeeds) or throttled (counted in `login_throttled`).
pub(crate) async fn reserve(pool: &Pool, a: &Attempt<'_>, now: OffsetDateTime) -> Result<Verdict> {
    let user_key = user_key(a.door, a.user);
    let at = unix_ms(now);
    let mut tx = pool.begin_write().await?;
    // A write first: the transaction holds the write lock from here on, so
    // concurrent attempts count one after the other.
    db::query("DELETE FROM login_failures WHERE at_ms <= $1")
        .bind(window_start_ms(now))
        .execute(&mut tx)
        .await?;
    let user_wait = retry_after(&mut tx, "user", &user_key, now).await?;
    let addr_wait = match a.addr {
        Some(addr) => retry_after(&mut tx, "addr", addr, now).await?,
        None => None,
    };
    if let Some(retry_after_secs) = user_wait.max(addr_wait) {
        // Counted under the address when it is throttled (one row however
        // many names it tries), else under the user.
        let (kind, key) = match (addr_wait, a.addr) {
            (Some(_), Some(addr)) => ("addr", addr.to_string()),
            _ => ("user", user_key),
        };
        let shown: String = a
            .user
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect();
        let finished = count_throttled(&mut tx, kind, &key, &shown, at).await?;
        tx.commit().await?;
        return Ok(Verdict::Throttled {
            retry_after_secs,
            finished,
        });
    }
    let mut ids = Vec::with_capacity(2);
    ids.push(
        db::query_scalar(
            "INSERT INTO login_failures (kind, key, at_ms) VALUES ('user', $1, $2) RETURNING id",
        )
        .bind(&user_key)
        .bind(at)
        .fetch_one(&mut tx)
        .await?,
    );
    if let Some(addr) = a.addr {
        ids.push(
            db::query_scalar(
                "INSERT INTO login_failures (kind, key, at_ms) VALUES ('addr', $1, $2) RETURNING id",
            )
            .bind(addr)
            .bind(at)
            .fetch_one(&mut tx)
            .await?,
        );
    }
    tx.commit().await?;
    Ok(Verdict::Reserved(Reserved { ids, user_key }))
}

/// One more throttled attempt of a bucket; returns the bucket's previous
/// count when its window had ended (to audit), starting a new one.
async fn count_throttled(
    conn: &mut Conn,
    kind: &str,
    key: &str,
    shown: &str,
    at: i64,
) -> Result<Option<ThrottledCount>> {
    let window_ms = WINDOW.whole_milliseconds() as i64;
    let finished: Option<ThrottledCount> = db::query_as(
        "DELETE FROM login_throttled WHERE kind = $1 AND key = $2 AND first_ms <= $3 \
         RETURNING kind, key, last_user, first_ms, last_ms, count",
    )
    .bind(kind)
    .bind(key)
    .bind(at - window_ms)
    .fetch_optional(&mut *conn)
    .await?
    .map(
        |(kind, key, last_user, first_ms, last_ms, count)| ThrottledCount {
            kind,
            key,
            last_user,
            first_ms,
            last_ms,
            count,
        },
    );
    db::query(
        "INSERT INTO login_throttled (kind, key, last_user, first_ms, last_ms, count) \
         VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (kind, key) DO UPDATE SET \
         last_user = excluded.last_user, last_ms = excluded.last_ms, count = login_throttled.count + 1",
    )
    .bind(kind)
    .bind(key)
    .bind(shown)
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(finished)
}

/// The counts of buckets whose window has ended, taken out of the table
/// (to audit); the server asks every few seconds.
pub(crate) async fn finished_counts(
    pool: &Pool,
    now: OffsetDateTime,
) -> Result<Vec<ThrottledCount>> {
    let rows: Vec<(String, String, String, i64, i64, i64)> = db::query_as(
        "DELETE FROM login_throttled WHERE first_ms <= $1 \
         RETURNING kind, key, last_user, first_ms, last_ms, count",
    )
    .bind(window_start_ms(now))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(kind, key, last_user, first_ms, last_ms, count)| ThrottledCount {
                kind,
                key,
                last_user,
                first_ms,
                last_ms,
                count,
            },
        )
        .collect())
}

/// The password was right: the attempt is no failure, and the user's
/// earlier failures are forgotten.
pub(crate) async fn succeeded(pool: &Pool, r: &Reserved) -> Result<()> {
    let mut tx = pool.begin_write().await?;
    db::query("DELETE FROM login_failures WHERE kind = 'user' AND key = $1")
        .bind(&r.user_key)
        .execute(&mut tx)
        .await?;
    take_back(&mut tx, r).await?;
    tx.commit().await?;
    Ok(())
}

/// The attempt did not get to judge its password (an internal error): it
/// does not count.
pub(crate) async fn released(pool: &Pool, r: &Reserved) -> Result<()> {
    let mut conn = pool.acquire().await?;
    take_back(&mut conn, r).await
}

async fn take_back(conn: &mut Conn, r: &Reserved) -> Result<()> {
    for id in &r.ids {
        db::query("DELETE FROM login_failures WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
