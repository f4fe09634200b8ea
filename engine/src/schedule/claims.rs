//! A round's claims on configurations, shared by the appliances on one
//! database: the same statements job queues use (an atomic conditional
//! `UPDATE ... RETURNING`), so two appliances never both claim one
//! configuration for the same period.

use crate::store::db::{self, Backend, Conn, Pool};

use crate::error::Result;

/// What a configuration must be for a round to claim it: enabled,
/// complete, its token taking seeds, not held, and due at `$4`.
const CLAIMABLE: &str = "enabled AND slot IS NOT NULL AND partition_pwd IS NOT NULL \
     AND NOT seed_refused AND coalesce(next_due_at, 0) <= $4 \
     AND name NOT IN (SELECT config_name FROM config_logins WHERE held_ckr IS NOT NULL)";

/// Claims, for a round at `now_ms`, at most `limit` configurations named
/// after `after` (the round's last claim: a round goes through the names
/// once, whatever the period) that are due and would be reseeded (see
/// [`CLAIMABLE`]), in name order: moves
/// each one's next due time on to `next_due_ms` and leases it to
/// `appliance` until `lease_until_ms`, in one statement. Answers the names
/// this appliance got. A round claims a batch at a time, so appliances
/// whose rounds run together split it; another appliance's round later in
/// the same period finds them not due.
///
/// PostgreSQL: the batch is chosen `FOR UPDATE SKIP LOCKED` (what another
/// appliance is claiming at that moment is passed over, not waited for),
/// and the outer `WHERE` checks the row again as it is once locked. SQLite
/// has one writer at a time: the statement sees every commit before it.
pub(crate) async fn claim_due(
    pool: &Pool,
    appliance: &str,
    now_ms: i64,
    next_due_ms: i64,
    lease_until_ms: i64,
    after: &str,
    limit: i64,
) -> Result<Vec<String>> {
    // Names compared byte by byte, as the caller's `after` is the largest
    // claimed name by Rust's order (SQLite's default; PostgreSQL's column
    // follows the database's collation unless told).
    let (lock, bytes) = match pool.backend() {
        Backend::Postgres => (" FOR UPDATE SKIP LOCKED", " COLLATE \"C\""),
        Backend::Sqlite => ("", ""),
    };
    let sql = format!(
        "UPDATE hsm_configs SET next_due_at = $1, lease_by = $2, lease_until = $3 \
         WHERE {CLAIMABLE} AND name{bytes} > $5 AND name IN (SELECT name FROM hsm_configs \
         WHERE {CLAIMABLE} AND name{bytes} > $5 ORDER BY name{bytes} LIMIT $6{lock}) RETURNING name"
    );
    Ok(db::query_scalar(&sql)
        .bind(next_due_ms)
        .bind(appliance)
        .bind(lease_until_ms)
        .bind(now_ms)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// Claims the one `held` history row of a configuration's hold for this
/// appliance (see [`super::Schedule::record_held`]): marks its last
/// outcome `held` unless it is already. Answers whether this appliance
/// did: of a fleet's rounds at once, one does; the row it then writes
/// sets the same outcome.
pub(crate) async fn claim_held(pool: &Pool, name: &str) -> Result<bool> {
    let done = db::query(
        "UPDATE hsm_configs SET last_outcome = 'held' \
         WHERE name = $1 AND coalesce(last_outcome, '') <> 'held'",
    )
    .bind(name)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives back a claim of [`claim_held`] whose `held` row was not written
/// (the last outcome is `previous` again), so that a later round writes
/// it: a hold is never left without its row.
pub(crate) async fn give_back_held(pool: &Pool, name: &str, previous: Option<&str>) -> Result<()> {
    db::query("UPDATE hsm_configs SET last_outcome = $2 WHERE name = $1 AND last_outcome = 'held'")
        .bind(name)
        .bind(previous)
        .execute(pool)
        .await?;
    Ok(())
}

/// Takes over every lease that ran out before `now_ms` (its appliance
/// died, or hung, mid-round): leased to `appliance` until
/// `lease_until_ms`. Answers their names.
pub(crate) async fn take_over(
    pool: &Pool,
    appliance: &str,
    now_ms: i64,
    lease_until_ms: i64,
) -> Result<Vec<String>> {
    Ok(db::query_scalar(
        "UPDATE hsm_configs SET lease_by = $1, lease_until = $2 \
         WHERE lease_until IS NOT NULL AND lease_until < $3 RETURNING name",
    )
    .bind(appliance)
    .bind(lease_until_ms)
    .bind(now_ms)
    .fetch_all(pool)
    .await?)
}

/// Lets go of `appliance`'s lease on `name` (its reseed ended without a
/// history row, which would have let go of it: see the history writer).
pub(crate) async fn release(pool: &Pool, name: &str, appliance: &str) -> Result<()> {
    db::query(
        "UPDATE hsm_configs SET lease_by = NULL, lease_until = NULL \
         WHERE name = $1 AND lease_by = $2",
    )
    .bind(name)
    .bind(appliance)
    .execute(pool)
    .await?;
    Ok(())
}

/// Every configuration due at once (a new period: rounds start afresh).
pub(crate) async fn all_due(conn: &mut Conn) -> Result<()> {
    db::query("UPDATE hsm_configs SET next_due_at = NULL")
        .execute(conn)
        .await?;
    Ok(())
}
