//! The two dialects of the schema (`migrations/` for SQLite,
//! `migrations/postgres/` for PostgreSQL) kept in step: the same versions,
//! the same tables, columns, nullability, indexes and append-only audit
//! log. Applied to a fresh SQLite database and to a fresh database of a
//! private PostgreSQL cluster (`testing::PgCluster`).

use std::collections::BTreeSet;

use sqlx::{Connection, PgConnection, SqliteConnection};

use super::testing::PgCluster;
use super::{MIGRATOR, PG_MIGRATOR};

/// (table, column, type class, not null)
type Column = (String, String, &'static str, bool);

/// SQLite's storage classes; PostgreSQL's types map onto them.
fn class_of_sqlite(ty: &str) -> &'static str {
    match ty.to_ascii_uppercase().as_str() {
        "INTEGER" => "integer",
        "TEXT" => "text",
        "BLOB" => "blob",
        _ => "other",
    }
}

fn class_of_postgres(table: &str, column: &str, ty: &str) -> &'static str {
    match ty {
        // Flags are 0/1 INTEGERs in SQLite, both read as bool.
        "bigint" | "boolean" => "integer",
        "text" => "text",
        "bytea" => "blob",
        // tower-sessions' stores: unix seconds in SQLite, a timestamp here.
        "timestamp with time zone" if (table, column) == ("sessions", "expiry_date") => "integer",
        _ => "other",
    }
}

async fn sqlite_schema() -> (BTreeSet<Column>, BTreeSet<String>) {
    let mut c = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    MIGRATOR.run_direct(&mut c).await.unwrap();
    let rows: Vec<(String, String, String, bool, i64)> = sqlx::query_as(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk \
         FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let columns = rows
        .into_iter()
        // A primary key column is never NULL in practice (SQLite allows it
        // unless told otherwise; every insert here gives one).
        .map(|(t, col, ty, notnull, pk)| (t, col, class_of_sqlite(&ty), notnull || pk > 0))
        .collect();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    (columns, indexes.into_iter().collect())
}

async fn postgres_schema(c: &mut PgConnection) -> (BTreeSet<Column>, BTreeSet<String>) {
    PG_MIGRATOR.run_direct(&mut *c).await.unwrap();
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap();
    let columns = rows
        .into_iter()
        .map(|(t, col, ty, nullable)| {
            let class = class_of_postgres(&t, &col, &ty);
            (t, col, class, nullable == "NO")
        })
        .collect();
    // Indexes made by a statement, not those behind a key or UNIQUE.
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' \
         AND indexname NOT IN (SELECT conname FROM pg_constraint)",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap();
    (columns, indexes.into_iter().collect())
}

#[test]
fn both_dialects_have_the_same_versions() {
    let versions = |m: &sqlx::migrate::Migrator| {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(versions(&MIGRATOR), versions(&PG_MIGRATOR));
}

#[tokio::test]
async fn both_dialects_make_the_same_schema() {
    let (lite_columns, lite_indexes) = sqlite_schema().await;
    let url = PgCluster::shared().database().await;
    let mut pg = PgConnection::connect(&url).await.unwrap();
    let (pg_columns, pg_indexes) = postgres_schema(&mut pg).await;
    assert!(lite_columns.len() > 100, "{lite_columns:?}");
    let only_lite: Vec<_> = lite_columns.difference(&pg_columns).collect();
    let only_pg: Vec<_> = pg_columns.difference(&lite_columns).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "columns differ:\n SQLite only: {only_lite:?}\n PostgreSQL only: {only_pg:?}"
    );
    assert!(
        lite_indexes.contains("hsm_configs_lease"),
        "{lite_indexes:?}"
    );
    assert_eq!(lite_indexes, pg_indexes);
}

#[tokio::test]
async fn the_audit_log_is_append_only_in_postgresql_too() {
    let url = PgCluster::shared().database().await;
    let mut pg = PgConnection::connect(&url).await.unwrap();
    PG_MIGRATOR.run_direct(&mut pg).await.unwrap();
    let insert =
        "INSERT INTO audit_log (at_ms, actor_kind, actor, action, target, outcome, detail) \
                  VALUES ($1, 'anonymous', 'a', 'hsm.reseed', 'HSM1', 'ok', '')";
    sqlx::query(insert)
        .bind(1000_i64)
        .execute(&mut pg)
        .await
        .unwrap();
    sqlx::query(insert)
        .bind(5000_i64)
        .execute(&mut pg)
        .await
        .unwrap();
    for refused in [
        "UPDATE audit_log SET actor = 'b'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let e = sqlx::query(refused).execute(&mut pg).await.unwrap_err();
        assert!(
            e.to_string().contains("the audit log is append-only"),
            "{refused}: {e}"
        );
    }
    // The retention's permit lets rows older than it go, in one
    // transaction, and nothing else.
    let mut tx = pg.begin().await.unwrap();
    sqlx::query("INSERT INTO audit_prune_permit (id, before_ms) VALUES (1, 2000)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let gone = sqlx::query("DELETE FROM audit_log WHERE at_ms < 2000")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(gone.rows_affected(), 1);
    assert!(sqlx::query("DELETE FROM audit_log")
        .execute(&mut *tx)
        .await
        .is_err());
    tx.rollback().await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(left, 2);
}
