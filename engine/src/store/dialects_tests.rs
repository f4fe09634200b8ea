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

/// The string literals of a Rust source file, unescaped (`\` + newline
/// and the next line's indentation dropped, as the compiler does); code
/// after the file's `#[cfg(test)]` module is left out.
fn string_literals(source: &str) -> Vec<String> {
    let code = source
        .find("#[cfg(test)]\nmod tests")
        .map_or(source, |at| &source[..at]);
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            // A char literal ('"', '\'', 'x'); otherwise a lifetime.
            b'\'' => {
                if b.get(i + 1) == Some(&b'\\') {
                    i += 4;
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && !b[i - 1].is_ascii_alphanumeric() =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                let start = i + 2 + hashes;
                let end_marker = format!("\"{}", "#".repeat(hashes));
                let len = code[start..].find(&end_marker).unwrap_or(0);
                out.push(code[start..start + len].to_string());
                i = start + len + end_marker.len();
            }
            b'"' => {
                let mut s = String::new();
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        match b[i + 1] {
                            b'\n' => {
                                i += 2;
                                while i < b.len() && b[i].is_ascii_whitespace() {
                                    i += 1;
                                }
                                continue;
                            }
                            b'n' => s.push('\n'),
                            b't' => s.push('\t'),
                            c => s.push(c as char),
                        }
                        i += 2;
                    } else {
                        let ch = code[i..].chars().next().unwrap();
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
                out.push(s);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Every whole SQL statement written as one literal in the engine's
/// source (format strings and fragments are not whole).
fn engine_statements() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, files);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap().display().to_string();
        if rel.contains("testing")
            || rel.ends_with("dialects_tests.rs")
            || rel.ends_with("fuzz_tests.rs")
        {
            continue;
        }
        for lit in string_literals(&std::fs::read_to_string(&f).unwrap()) {
            let t = lit.trim_start();
            let first = t
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            if matches!(
                first.as_str(),
                "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "WITH"
            ) && !lit.contains('{')
            {
                out.push((rel.clone(), lit));
            }
        }
    }
    out
}

#[tokio::test]
async fn what_prepares_in_sqlite_prepares_in_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let mut c = SqliteConnection::connect_with(
            &sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
        MIGRATOR.run_direct(&mut c).await.unwrap();
    }
    let lite = rusqlite::Connection::open(&path).unwrap();
    let url = PgCluster::shared().database().await;
    let mut pg = PgConnection::connect(&url).await.unwrap();
    PG_MIGRATOR.run_direct(&mut pg).await.unwrap();

    let statements = engine_statements();
    assert!(statements.len() > 60, "{}", statements.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for (file, sql) in &statements {
        // A fragment (completed by code) does not prepare in SQLite either.
        if lite.prepare(sql).is_err() {
            continue;
        }
        checked += 1;
        if let Err(e) = sqlx::Executor::prepare(&mut pg, sql.as_str()).await {
            failures.push(format!("{file}: {e}\n    {sql}"));
        }
    }
    assert!(checked > 60, "{checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked} do not prepare in PostgreSQL:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The capabilities' statements, run through [`super::db`] on a migrated
/// PostgreSQL database: binds, flags (BOOLEAN there), NULLs, upserts,
/// `RETURNING`, the claims of a round, and the built filters.
#[tokio::test]
async fn the_repositories_run_on_postgresql() {
    use super::db::{self, Pool};
    use crate::audit::{Actor, AuditEntry, AuditFilter};
    use crate::partitions::{repo as configs, HsmName};
    use types::Outcome;

    let url = PgCluster::shared().database().await;
    let dir = tempfile::tempdir().unwrap();
    let store = super::Store::open_postgres(&url, dir.path()).await.unwrap();
    let pool: &Pool = store.pool();

    // Configurations: insert, a conflict, update (flags, NULLs, the
    // refusal kept only while slot, serial and module stay), list, delete.
    let name = HsmName::parse("HSM1").unwrap();
    // (PostgreSQL ends a transaction at its first failed statement, where
    // SQLite goes on: the conflict is a transaction of its own.)
    let mut tx = pool.begin_write().await.unwrap();
    configs::insert(&mut tx, &name, 1000).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = pool.begin_write().await.unwrap();
    assert!(matches!(
        configs::insert(&mut tx, &name, 1000).await,
        Err(crate::Error::Conflict(_))
    ));
    drop(tx);
    let mut c = pool.acquire().await.unwrap();
    let mut row = configs::get(&mut c, &name).await.unwrap().unwrap();
    assert!(row.enabled && !row.seed_refused && row.slot.is_none());
    row.slot = Some(7);
    row.partition_pwd = Some(vec![1, 2, 3]);
    row.enabled = false;
    row.updated_at = 2000;
    configs::update(&mut c, &row).await.unwrap();
    db::query("UPDATE hsm_configs SET seed_refused = TRUE")
        .execute(pool)
        .await
        .unwrap();
    row.partition_name = "p".into();
    configs::update(&mut c, &row).await.unwrap();
    let kept = configs::get(&mut c, &name).await.unwrap().unwrap();
    assert!(kept.seed_refused, "same token: the refusal stays");
    assert_eq!(
        (kept.slot, kept.enabled, kept.partition_pwd),
        (Some(7), false, Some(vec![1, 2, 3]))
    );
    row.slot = Some(8);
    configs::update(&mut c, &row).await.unwrap();
    assert!(
        !configs::get(&mut c, &name)
            .await
            .unwrap()
            .unwrap()
            .seed_refused
    );
    assert_eq!(
        configs::names(&mut c).await.unwrap(),
        vec!["HSM1".to_string()]
    );
    assert_eq!(configs::list(&mut c).await.unwrap().len(), 1);

    // A round's claims: once per period, whoever asks.
    row.enabled = true;
    configs::update(&mut c, &row).await.unwrap();
    let claims = crate::schedule::claims::claim_due;
    assert_eq!(
        claims(pool, "a", 5000, 65_000, 35_000, "", 10)
            .await
            .unwrap(),
        vec!["HSM1"]
    );
    assert!(claims(pool, "b", 5000, 65_000, 35_000, "", 10)
        .await
        .unwrap()
        .is_empty());
    let taken = crate::schedule::claims::take_over(pool, "b", 40_000, 70_000)
        .await
        .unwrap();
    assert_eq!(taken, vec!["HSM1"]);
    crate::schedule::claims::release(pool, "HSM1", "b")
        .await
        .unwrap();
    crate::schedule::claims::all_due(&mut c).await.unwrap();

    // Changes and settings (upsert), users (RETURNING id).
    // The change feed hears commits (its own and any other connection's).
    let before = super::shared::last_change(&store).await.unwrap();
    let first = super::shared::record_change(pool, 1, "a").await.unwrap();
    let second = super::shared::record_change(&mut c, 2, "b").await.unwrap();
    assert!(second > first);
    let heard = async {
        while super::shared::last_change(&store).await.unwrap() < before + 2 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), heard)
        .await
        .expect("two changes heard");
    super::shared::set_settings(pool, &[("k", "1".into())], 1)
        .await
        .unwrap();
    super::shared::set_settings(pool, &[("k", "2".into())], 2)
        .await
        .unwrap();
    assert_eq!(
        super::shared::setting(pool, "k").await.unwrap().as_deref(),
        Some("2")
    );
    let admin = crate::auth::UserName::parse("admin").unwrap();
    let id = crate::auth::users::insert(&mut c, &admin, "hash", 1)
        .await
        .unwrap();
    assert!(id > 0);
    assert!(crate::auth::users::insert(&mut c, &admin, "hash", 1)
        .await
        .is_err());
    let found = crate::auth::users::find_by_name(&mut c, &admin)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, found.generation), (id, 1));

    // The audit log's built filter, with an action prefix.
    for (action, outcome) in [
        ("hsm.reseed", Outcome::Ok),
        ("hsm.edit", Outcome::Error),
        ("user.add", Outcome::Ok),
    ] {
        let e = AuditEntry {
            at_ms: 1,
            appliance: "a".into(),
            actor: Actor::cli(),
            action: action.into(),
            target: "t".into(),
            outcome,
            detail: String::new(),
        };
        crate::audit::insert(&mut c, &e).await.unwrap();
    }
    let f = AuditFilter {
        action: Some("hsm.".into()),
        ..AuditFilter::default()
    };
    let page = crate::audit::list(&mut c, &f, 1, 10).await.unwrap();
    assert_eq!(page.total, 2);
    let f = AuditFilter {
        action: Some("hsm.".into()),
        outcome: Some(Outcome::Ok),
        ..AuditFilter::default()
    };
    let page = crate::audit::list(&mut c, &f, 1, 10).await.unwrap();
    assert_eq!(
        (page.total, page.rows[0].action.as_str()),
        (1, "hsm.reseed")
    );

    // The history's page (built filter) and its hourly counts.
    db::query(
        "INSERT INTO seed_history (at_ms, config_name, trigger, source, bits, duration_us, outcome) \
         VALUES ($1, 'HSM1', 'api', 'os', 256, 10, 'ok')",
    )
    .bind(3_600_000_i64)
    .execute(pool)
    .await
    .unwrap();
    let filter = crate::history::HistoryFilter {
        config: Some("HSM1".into()),
        ..Default::default()
    };
    let page = crate::history::list(&mut c, &filter, 1, 10).await.unwrap();
    assert_eq!((page.total, page.rows.len()), (1, 1));

    // The fleet's heartbeats.
    crate::fleet::repo::heartbeat(pool, "a", "1", 1, 2)
        .await
        .unwrap();
    crate::fleet::repo::heartbeat(pool, "a", "1", 1, 3)
        .await
        .unwrap();
    let fleet = crate::fleet::repo::list(pool, 0).await.unwrap();
    assert_eq!(fleet, vec![("a".to_string(), "1".to_string(), 1, 3, 0)]);

    assert!(configs::delete(&mut c, &name).await.unwrap());
}
