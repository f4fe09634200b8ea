//! A fleet's PostgreSQL database in a backup: its rows copied into the
//! SQLite file every backup holds (the same tables and columns, in the
//! other dialect, at the same schema version), and copied back.
//!
//! So one backup format serves both stores: an appliance on SQLite can be
//! restored into a fleet's database, and a fleet's backup into a single
//! appliance. The copy out reads one snapshot (a repeatable-read
//! transaction: consistent while the fleet runs); the copy in replaces
//! every row in one transaction (all or nothing). Sign-in sessions are not
//! copied either way. Identity sequences only move forward: an id handed
//! out before a restore is not handed out again after it.

use std::path::Path;

use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{QueryBuilder, Row, SqliteConnection};

use crate::error::{Error, Result};
use crate::store::{MIGRATOR, PG_MIGRATOR};

/// Not copied: sign-in sessions are bearer secrets of the browsers that
/// hold them; the migrations' own table is made by the migrations.
const NOT_COPIED: [&str; 2] = ["sessions", "_sqlx_migrations"];

/// The `application_name` of the restore's own connections (the
/// appliances' are [`crate::store::APPLICATION_NAME`]).
const RESTORE_NAME: &str = "hsmseed restore";

/// The four kinds of column the schema uses (the dialects test keeps both
/// schemas to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
}

#[derive(Debug)]
struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
    /// The identity column, whose sequence a restore moves on.
    identity: Option<String>,
}

/// One value of a row.
enum Value {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn column_list(t: &Table) -> String {
    t.columns
        .iter()
        .map(|(c, _)| quote(c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_of(table: &str, column: &str, data_type: &str) -> Result<Kind> {
    Ok(match data_type {
        "bigint" | "integer" | "smallint" => Kind::Int,
        "boolean" => Kind::Bool,
        "text" | "character varying" => Kind::Text,
        "bytea" => Kind::Bytes,
        other => {
            return Err(Error::Internal(format!(
                "the database's column {table}.{column} is of type {other}, which a backup \
                 does not copy"
            )))
        }
    })
}

fn read_pg(row: &PgRow, i: usize, kind: Kind) -> Result<Value> {
    Ok(match kind {
        Kind::Int => Value::Int(row.try_get(i)?),
        Kind::Bool => Value::Bool(row.try_get(i)?),
        Kind::Text => Value::Text(row.try_get(i)?),
        Kind::Bytes => Value::Bytes(row.try_get(i)?),
    })
}

fn read_sqlite(row: &SqliteRow, i: usize, kind: Kind) -> Result<Value> {
    Ok(match kind {
        Kind::Int => Value::Int(row.try_get(i)?),
        Kind::Bool => Value::Bool(row.try_get(i)?),
        Kind::Text => Value::Text(row.try_get(i)?),
        Kind::Bytes => Value::Bytes(row.try_get(i)?),
    })
}

/// The values of one row of `table`, read by `read` (column index, kind).
fn values_of(table: &Table, read: impl Fn(usize, Kind) -> Result<Value>) -> Result<Vec<Value>> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| read(i, *kind))
        .collect()
}

/// The tables of a SQLite database (hsmseed's schema), but SQLite's own.
async fn sqlite_tables(conn: &mut SqliteConnection) -> Result<Vec<String>> {
    let rows = sqlx::query("PRAGMA table_list")
        .fetch_all(&mut *conn)
        .await?;
    let mut names = Vec::new();
    for r in rows {
        let (schema, name, kind): (String, String, String) =
            (r.try_get("schema")?, r.try_get("name")?, r.try_get("type")?);
        if schema == "main" && kind == "table" && !name.starts_with("sqlite_") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// hsmseed's tables (`known`: those of the same schema in SQLite) in the
/// PostgreSQL database, those others reference first. Whatever else the
/// database holds is left alone.
async fn pg_tables(conn: &mut sqlx::PgConnection, known: &[String]) -> Result<Vec<Table>> {
    let present: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&mut *conn)
    .await?;
    let names: Vec<&String> = known
        .iter()
        .filter(|n| !NOT_COPIED.contains(&n.as_str()))
        .collect();
    if let Some(missing) = names.iter().find(|n| !present.contains(n)) {
        return Err(Error::Internal(format!(
            "the two dialects' schemas differ: PostgreSQL has no table {missing}"
        )));
    }
    let mut tables = Vec::new();
    for name in names.into_iter().cloned() {
        let cols: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text, is_identity::text \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 \
             ORDER BY ordinal_position",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?;
        let mut columns = Vec::new();
        let mut identity = None;
        for (column, data_type, is_identity) in cols {
            columns.push((column.clone(), kind_of(&name, &column, &data_type)?));
            if is_identity == "YES" {
                identity = Some(column);
            }
        }
        tables.push(Table {
            name,
            columns,
            identity,
        });
    }
    // Foreign keys: a referenced table's rows go in before its referrers'.
    let refs: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut ordered: Vec<Table> = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| {
            refs.iter().all(|(from, to)| {
                from != &t.name || to == &t.name || ordered.iter().any(|o| &o.name == to)
            })
        });
        // A cycle (none in this schema) would leave the order as it is.
        ordered.push(tables.remove(ready.unwrap_or(0)));
    }
    Ok(ordered)
}

/// The newest migration applied to the PostgreSQL database.
async fn pg_schema_version(conn: &mut sqlx::PgConnection) -> Result<i64> {
    Ok(sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
    )
    .fetch_one(&mut *conn)
    .await?
    .unwrap_or(0))
}

/// The columns of SQLite table `t`, which must be those of `table`.
async fn check_sqlite_columns(conn: &mut SqliteConnection, table: &Table) -> Result<()> {
    let info = sqlx::query(&format!("PRAGMA table_info({})", quote(&table.name)))
        .fetch_all(&mut *conn)
        .await?;
    let have = info
        .iter()
        .map(|r| r.try_get::<String, _>("name"))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut want: Vec<&str> = table.columns.iter().map(|(c, _)| c.as_str()).collect();
    let mut have: Vec<&str> = have.iter().map(String::as_str).collect();
    want.sort_unstable();
    have.sort_unstable();
    if want != have {
        return Err(Error::Internal(format!(
            "the two dialects' schemas differ at table {}: {want:?} against {have:?}",
            table.name
        )));
    }
    Ok(())
}

/// Copies the PostgreSQL database `pg` (one snapshot) into a new SQLite
/// file `to`, migrated to the same schema version; answers that version.
pub(super) async fn export(pg: &PgPool, to: &Path) -> Result<i64> {
    let mut snapshot = pg.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *snapshot)
        .await?;
    let version = pg_schema_version(&mut snapshot).await?;
    let pg_versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut *snapshot)
            .await?;
    let sqlite_versions: Vec<i64> = MIGRATOR
        .iter()
        .map(|m| m.version)
        .filter(|v| *v <= version)
        .collect();
    if pg_versions != sqlite_versions {
        return Err(Error::Invalid(format!(
            "the database's schema (migrations {pg_versions:?}) is not one this hsmseed knows: \
             back it up with the hsmseed that migrated it"
        )));
    }
    let opts = SqliteConnectOptions::new()
        .filename(to)
        .create_if_missing(true)
        .foreign_keys(false);
    let file = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    let result = async {
        let at_version = sqlx::migrate::Migrator {
            migrations: MIGRATOR
                .iter()
                .filter(|m| m.version <= version)
                .cloned()
                .collect(),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        at_version.run(&file).await?;
        let mut out = file.begin().await?;
        let tables = pg_tables(&mut snapshot, &sqlite_tables(&mut out).await?).await?;
        for table in &tables {
            check_sqlite_columns(&mut out, table).await?;
            let select = format!("SELECT {} FROM {}", column_list(table), quote(&table.name));
            let mut chunks = sqlx::query(&select)
                .fetch(&mut *snapshot)
                .try_chunks(rows_per_insert(table.columns.len()));
            while let Some(chunk) = chunks.try_next().await.map_err(|e| e.1)? {
                let rows = chunk
                    .iter()
                    .map(|row| values_of(table, |i, kind| read_pg(row, i, kind)))
                    .collect::<Result<Vec<_>>>()?;
                insert_of::<sqlx::Sqlite>(table, "", rows)
                    .build()
                    .execute(&mut *out)
                    .await?;
            }
        }
        let broken = sqlx::query("PRAGMA foreign_key_check")
            .fetch_optional(&mut *out)
            .await?;
        if let Some(t) = broken.map(|r| r.try_get::<String, _>(0)).transpose()? {
            return Err(Error::Internal(format!(
                "the copy of table {t} refers to rows that are not there"
            )));
        }
        out.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    file.close().await;
    snapshot.rollback().await?;
    result.map(|()| version)
}

/// Connects to the PostgreSQL database at `url` for a restore; answers
/// whether hsmseed had made its tables there before.
pub(super) async fn connect(url: &str) -> Result<(PgPool, bool)> {
    use std::str::FromStr;
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| {
            Error::Config(format!(
                "database_url cannot be read as a PostgreSQL URL: {e}"
            ))
        })?
        .application_name(RESTORE_NAME);
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(opts)
        .await
        .map_err(|e| Error::Config(format!("cannot connect to database_url: {e}")))?;
    let existed: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&pool)
        .await?;
    Ok((pool, existed))
}

/// Applies every pending migration (a new, empty database is how a SQLite
/// appliance moves into a fleet; a database from a newer hsmseed is
/// refused here, unchanged).
pub(super) async fn migrate(pg: &PgPool) -> Result<()> {
    PG_MIGRATOR.run(pg).await?;
    Ok(())
}

/// How many connections of hsmseed processes other than this restore the
/// database has. An appliance that just stopped may take a moment to
/// close its own: asked again for up to three seconds before answering.
pub(super) async fn appliances_connected(pg: &PgPool) -> Result<i64> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1",
        )
        .bind(crate::store::APPLICATION_NAME)
        .fetch_one(pg)
        .await?;
        if n == 0 || std::time::Instant::now() >= deadline {
            return Ok(n);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The check value of the master key the PostgreSQL database's secrets
/// are sealed with, when it has recorded one.
pub(super) async fn key_check_value(pg: &PgPool) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM key_check WHERE id = 1")
            .fetch_optional(pg)
            .await?,
    )
}

/// Rows of one multi-row INSERT: PostgreSQL takes at most 65,535 values
/// in a statement, SQLite 32,766.
fn rows_per_insert(columns: usize) -> usize {
    (30_000 / columns.max(1)).clamp(1, 1_000)
}

/// Replaces every row of the PostgreSQL database `pg` (migrated to the
/// newest schema) with those of the SQLite database `from` (migrated to
/// the same) and appends `record` to the audit log, in one transaction:
/// all or nothing. Sessions end.
pub(super) async fn import(
    pg: &PgPool,
    from: &SqlitePool,
    record: &crate::audit::AuditEntry,
) -> Result<u64> {
    let mut tx = pg.begin().await?;
    let mut src = from.acquire().await?;
    let tables = pg_tables(&mut tx, &sqlite_tables(&mut src).await?).await?;
    for table in &tables {
        check_sqlite_columns(&mut src, table).await?;
    }
    // The audit log refuses TRUNCATE whoever asks: a restore replaces it
    // whole (the backup's own log comes in its place), inside this
    // transaction only.
    let all: Vec<String> = tables
        .iter()
        .map(|t| quote(&t.name))
        .chain(std::iter::once(quote("sessions")))
        .collect();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("TRUNCATE {}", all.join(", ")))
        .execute(&mut *tx)
        .await?;
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate")
        .execute(&mut *tx)
        .await?;

    let mut copied = 0u64;
    for table in &tables {
        let select = format!("SELECT {} FROM {}", column_list(table), quote(&table.name));
        let mut chunks = sqlx::query(&select)
            .fetch(&mut *src)
            .try_chunks(rows_per_insert(table.columns.len()));
        while let Some(chunk) = chunks.try_next().await.map_err(|e| e.1)? {
            let rows = chunk
                .iter()
                .map(|row| values_of(table, |i, kind| read_sqlite(row, i, kind)))
                .collect::<Result<Vec<_>>>()?;
            copied += rows.len() as u64;
            insert_of::<sqlx::Postgres>(table, "OVERRIDING SYSTEM VALUE ", rows)
                .build()
                .execute(&mut *tx)
                .await?;
        }
        if let Some(id) = &table.identity {
            // Forward only: past the restored rows and past every id the
            // sequence gave out before.
            let seq = format!(
                "pg_get_serial_sequence('{}', '{}')::regclass",
                quote(&table.name).replace('\'', "''"),
                id.replace('\'', "''")
            );
            sqlx::query(&format!(
                "SELECT setval({seq}, GREATEST(COALESCE(pg_sequence_last_value({seq}), 0), \
                 COALESCE((SELECT MAX({}) FROM {}), 0)) + 1, false)",
                quote(id),
                quote(&table.name)
            ))
            .execute(&mut *tx)
            .await?;
        }
    }
    let mut tx = crate::store::db::Conn::PgTx(tx);
    crate::audit::insert(&mut tx, record).await?;
    tx.commit().await?;
    Ok(copied)
}

/// `INSERT INTO table (columns) [OVERRIDING SYSTEM VALUE] VALUES (…), (…)`
/// of the rows of `batch`, in either dialect.
fn insert_of<'a, DB>(
    table: &Table,
    overriding: &str,
    batch: Vec<Vec<Value>>,
) -> QueryBuilder<'a, DB>
where
    DB: sqlx::Database,
    Option<i64>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<bool>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<Vec<u8>>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::<DB>::new(format!(
        "INSERT INTO {} ({}) {overriding}",
        quote(&table.name),
        column_list(table)
    ));
    q.push_values(batch, |mut b, values| {
        for v in values {
            match v {
                Value::Int(v) => b.push_bind(v),
                Value::Bool(v) => b.push_bind(v),
                Value::Text(v) => b.push_bind(v),
                Value::Bytes(v) => b.push_bind(v),
            };
        }
    });
    q
}

/// A SQLite file of a backup, opened for reading into PostgreSQL after
/// being migrated to the newest schema.
pub(super) async fn open_staged(path: &Path) -> Result<SqlitePool> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .foreign_keys(false);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_whole() {
        assert_eq!(quote("audit_log"), "\"audit_log\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn an_insert_stays_under_postgres_value_limit() {
        for cols in [1, 3, 9, 17, 40, 200] {
            let rows = rows_per_insert(cols);
            assert!(rows >= 1 && rows * cols <= 32_766, "{cols}: {rows}");
        }
    }

    #[test]
    fn only_the_schema_kinds_are_copied() {
        assert_eq!(kind_of("t", "c", "bigint").unwrap(), Kind::Int);
        assert_eq!(kind_of("t", "c", "bytea").unwrap(), Kind::Bytes);
        let err = kind_of("t", "c", "jsonb").unwrap_err();
        assert!(err.to_string().contains("t.c"), "{err}");
    }
}
