//! The hsm_configs table.

use crate::store::db::{self, Conn};

use super::{HsmConfig, HsmName};
use crate::error::{Error, Result};
use crate::hsm::UserType;

#[derive(Clone, sqlx::FromRow)]
pub(crate) struct Row {
    pub name: String,
    pub partition_name: String,
    pub partition_pwd: Option<Vec<u8>>,
    pub slot: Option<i64>,
    pub token_serial: Option<String>,
    pub user_type: UserType,
    /// A named module (settings `pkcs11_modules`); none: the default.
    pub module: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    pub last_at: Option<i64>,
    pub last_ok_at: Option<i64>,
    pub failures_in_row: i64,
    /// Its token refused the last seed as such (`SEED_NOT_ACCEPTED`).
    pub seed_refused: bool,
    /// Set while the login is held (see `hold.rs`): the CKR that held it.
    pub held_ckr: Option<String>,
    pub held_detail: Option<String>,
    pub held_at_ms: Option<i64>,
}

use crate::clock::from_ms;

impl Row {
    pub fn into_config(self) -> HsmConfig {
        let mut c = HsmConfig {
            name: self.name,
            partition_name: self.partition_name,
            password_set: self.partition_pwd.is_some(),
            slot: self.slot.map(|s| s as u64),
            token_serial: self.token_serial,
            user_type: self.user_type,
            module: self.module,
            enabled: self.enabled,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            last_outcome: self.last_outcome,
            last_error: self.last_error,
            last_at: self.last_at.map(from_ms),
            held: self.held_ckr.map(|ckr| super::LoginHold {
                ckr,
                detail: self.held_detail.unwrap_or_default(),
                since: from_ms(self.held_at_ms.unwrap_or_default()),
            }),
            last_ok_at: self.last_ok_at.map(from_ms),
            failures_in_row: u32::try_from(self.failures_in_row).unwrap_or(u32::MAX),
            seed_refused: self.seed_refused,
            state: types::hsm::ConfigState::Never,
        };
        c.state = c.derive_state();
        c
    }
}

/// A configuration with its login hold, if any.
const SELECT: &str = "SELECT c.name, c.partition_name, c.partition_pwd, c.slot, c.token_serial, \
     c.user_type, c.module, c.enabled, c.created_at, c.updated_at, c.last_outcome, c.last_error, \
     c.last_at, c.last_ok_at, c.failures_in_row, c.seed_refused, l.held_ckr, l.held_detail, l.held_at_ms \
     FROM hsm_configs c LEFT JOIN config_logins l ON l.config_name = c.name";

/// Every configuration's name.
pub(crate) async fn names(conn: &mut Conn) -> Result<Vec<String>> {
    Ok(db::query_scalar("SELECT name FROM hsm_configs")
        .fetch_all(conn)
        .await?)
}

/// After many configurations were added at once (an import): PostgreSQL's
/// planner learns the table's new size now, not at autovacuum's next
/// visit (until then it plans for the table as it was: scans of every
/// row where the name's index answers). SQLite plans without it.
pub(crate) async fn refresh_statistics(pool: &db::Pool) -> Result<()> {
    if pool.backend() == db::Backend::Postgres {
        db::query("ANALYZE hsm_configs").execute(pool).await?;
    }
    Ok(())
}

pub(crate) async fn insert(conn: &mut Conn, name: &HsmName, now_ms: i64) -> Result<()> {
    let r = db::query("INSERT INTO hsm_configs (name, created_at, updated_at) VALUES ($1, $2, $3)")
        .bind(name.as_str())
        .bind(now_ms)
        .bind(now_ms)
        .execute(conn)
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(Error::Conflict(format!("configuration {name}")))
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn get(conn: &mut Conn, name: &HsmName) -> Result<Option<Row>> {
    Ok(db::query_as(&format!("{SELECT} WHERE c.name = $1"))
        .bind(name.as_str())
        .fetch_optional(conn)
        .await?)
}

pub(crate) async fn list(conn: &mut Conn) -> Result<Vec<Row>> {
    Ok(db::query_as(&format!("{SELECT} ORDER BY c.name"))
        .fetch_all(conn)
        .await?)
}

pub(crate) async fn update(conn: &mut Conn, row: &Row) -> Result<()> {
    db::query(
        // Another token (slot, serial or module) may take seeds: the
        // refusal is forgotten (the right-hand sides read the old row).
        "UPDATE hsm_configs SET \
         seed_refused = CASE WHEN slot IS NOT DISTINCT FROM $1 \
         AND token_serial IS NOT DISTINCT FROM $2 AND module IS NOT DISTINCT FROM $3 \
         THEN seed_refused ELSE FALSE END, \
         partition_name = $4, partition_pwd = $5, slot = $6, token_serial = $7, \
         user_type = $8, module = $9, enabled = $10, updated_at = $11 WHERE name = $12",
    )
    .bind(row.slot)
    .bind(&row.token_serial)
    .bind(&row.module)
    .bind(&row.partition_name)
    .bind(&row.partition_pwd)
    .bind(row.slot)
    .bind(&row.token_serial)
    .bind(row.user_type.as_str())
    .bind(&row.module)
    .bind(row.enabled)
    .bind(row.updated_at)
    .bind(&row.name)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the login hold of `name` (its password or user type was edited):
/// its next login is tried.
pub(crate) async fn release_login(conn: &mut Conn, name: &HsmName) -> Result<bool> {
    Ok(
        db::query("DELETE FROM config_logins WHERE config_name = $1")
            .bind(name.as_str())
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

pub(crate) async fn delete(conn: &mut Conn, name: &HsmName) -> Result<bool> {
    Ok(db::query("DELETE FROM hsm_configs WHERE name = $1")
        .bind(name.as_str())
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}
