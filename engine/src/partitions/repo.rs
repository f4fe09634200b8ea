//! The hsm_configs table.

use sqlx::SqliteConnection;

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

/// A configuration's state in SQL (over [`SELECT`]'s `c` and `l`), as
/// [`HsmConfig::derive_state`] derives it (a test holds the two together).
pub(crate) const STATE_SQL: &str = "CASE WHEN NOT c.enabled THEN 'disabled' \
     WHEN l.held_ckr IS NOT NULL THEN 'held' \
     WHEN c.slot IS NULL OR c.partition_pwd IS NULL THEN 'incomplete' \
     WHEN c.seed_refused THEN 'unsupported' \
     WHEN c.failures_in_row > 0 THEN 'failing' \
     WHEN c.last_ok_at IS NOT NULL THEN 'ok' \
     ELSE 'never' END";

/// Which configurations a search wants (see `Partitions::find_configs`).
pub(crate) struct Find<'a> {
    /// Part of the name, the partition name or the pinned serial (any
    /// case), or a slot in `slots`.
    pub text: Option<&'a str>,
    /// `(module, slot)` whose token matches `text`.
    pub slots: &'a [(Option<String>, i64)],
    pub state: Option<types::hsm::ConfigState>,
}

fn push_find<'a>(q: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>, f: &Find<'a>) {
    q.push(" WHERE 1 = 1");
    if let Some(state) = f.state {
        q.push(format!(" AND ({STATE_SQL}) = "))
            .push_bind(state.as_str());
    }
    if let Some(text) = f.text {
        // LIKE's own wildcards in the text are taken literally.
        let mut pattern = String::from("%");
        for ch in text.chars() {
            if matches!(ch, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(ch);
        }
        pattern.push('%');
        q.push(" AND (c.name LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR c.partition_name LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR c.token_serial LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\'");
        for (module, slot) in f.slots {
            q.push(" OR (c.module IS ")
                .push_bind(module.as_deref())
                .push(" AND c.slot = ")
                .push_bind(*slot)
                .push(")");
        }
        q.push(")");
    }
}

/// How many configurations `f` finds.
pub(crate) async fn count_found(conn: &mut SqliteConnection, f: &Find<'_>) -> Result<i64> {
    let mut count = sqlx::QueryBuilder::new(
        "SELECT COUNT(*) FROM hsm_configs c LEFT JOIN config_logins l ON l.config_name = c.name",
    );
    push_find(&mut count, f);
    Ok(count.build_query_scalar().fetch_one(conn).await?)
}

/// The configurations `f` finds, by name, `limit` from `offset`.
pub(crate) async fn find(
    conn: &mut SqliteConnection,
    f: &Find<'_>,
    offset: i64,
    limit: i64,
) -> Result<Vec<Row>> {
    let mut q = sqlx::QueryBuilder::new(SELECT);
    push_find(&mut q, f);
    q.push(" ORDER BY c.name LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    Ok(q.build_query_as().fetch_all(conn).await?)
}

/// Every configuration's name.
pub(crate) async fn names(conn: &mut SqliteConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT name FROM hsm_configs")
        .fetch_all(conn)
        .await?)
}

/// How many configurations are in each state.
pub(crate) async fn count_states(conn: &mut SqliteConnection) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {STATE_SQL}, COUNT(*) FROM hsm_configs c \
         LEFT JOIN config_logins l ON l.config_name = c.name GROUP BY 1"
    ))
    .fetch_all(conn)
    .await?)
}

pub(crate) async fn insert(conn: &mut SqliteConnection, name: &HsmName, now_ms: i64) -> Result<()> {
    let r = sqlx::query("INSERT INTO hsm_configs (name, created_at, updated_at) VALUES (?, ?, ?)")
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

pub(crate) async fn get(conn: &mut SqliteConnection, name: &HsmName) -> Result<Option<Row>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE c.name = ?"))
        .bind(name.as_str())
        .fetch_optional(conn)
        .await?)
}

pub(crate) async fn list(conn: &mut SqliteConnection) -> Result<Vec<Row>> {
    Ok(sqlx::query_as(&format!("{SELECT} ORDER BY c.name"))
        .fetch_all(conn)
        .await?)
}

pub(crate) async fn update(conn: &mut SqliteConnection, row: &Row) -> Result<()> {
    sqlx::query(
        // Another token (slot, serial or module) may take seeds: the
        // refusal is forgotten (the right-hand sides read the old row).
        "UPDATE hsm_configs SET \
         seed_refused = CASE WHEN slot IS ? AND token_serial IS ? AND module IS ? \
         THEN seed_refused ELSE 0 END, \
         partition_name = ?, partition_pwd = ?, slot = ?, token_serial = ?, \
         user_type = ?, module = ?, enabled = ?, updated_at = ? WHERE name = ?",
    )
    .bind(row.slot)
    .bind(&row.token_serial)
    .bind(&row.module)
    .bind(&row.partition_name)
    .bind(&row.partition_pwd)
    .bind(row.slot)
    .bind(&row.token_serial)
    .bind(row.user_type)
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
pub(crate) async fn release_login(conn: &mut SqliteConnection, name: &HsmName) -> Result<bool> {
    Ok(
        sqlx::query("DELETE FROM config_logins WHERE config_name = ?")
            .bind(name.as_str())
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

pub(crate) async fn delete(conn: &mut SqliteConnection, name: &HsmName) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM hsm_configs WHERE name = ?")
        .bind(name.as_str())
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}
