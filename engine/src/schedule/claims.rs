//! A round's claims on configurations, shared by the appliances on one
//! database: the same statements job queues use (an atomic conditional
//! `UPDATE ... RETURNING`), so two appliances never both claim one
//! configuration for the same period.

use crate::store::db::{self, Conn, Pool};

use crate::error::Result;

/// Claims, for a round at `now_ms`, every configuration that is due and
/// would be reseeded (enabled, complete, not held, its token takes seeds):
/// moves its next due time on to `next_due_ms` and leases it to
/// `appliance` until `lease_until_ms`, in one statement. Answers the names
/// this appliance got; another appliance's round in the same period finds
/// them not due.
pub(crate) async fn claim_due(
    pool: &Pool,
    appliance: &str,
    now_ms: i64,
    next_due_ms: i64,
    lease_until_ms: i64,
) -> Result<Vec<String>> {
    Ok(db::query_scalar(
        "UPDATE hsm_configs SET next_due_at = $1, lease_by = $2, lease_until = $3 \
         WHERE enabled AND slot IS NOT NULL AND partition_pwd IS NOT NULL AND NOT seed_refused \
         AND coalesce(next_due_at, 0) <= $4 \
         AND name NOT IN (SELECT config_name FROM config_logins WHERE held_ckr IS NOT NULL) \
         RETURNING name",
    )
    .bind(next_due_ms)
    .bind(appliance)
    .bind(lease_until_ms)
    .bind(now_ms)
    .fetch_all(pool)
    .await?)
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
