//! The seed history: one row per reseed attempt (never the seed bytes),
//! written through a group-committing writer so that concurrent reseeds
//! share a transaction; read with filters and pages, exported as CSV,
//! summarised for the dashboard, pruned by age and count.

mod writer;

pub use types::history::{HistoryPage, HistoryRow, HistoryStats, HourBucket};
pub use writer::HistoryWriter;
pub(crate) use writer::{committed, stopped};

use crate::store::db::{self, Conn};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::unix_ms;
use crate::error::Result;
use types::Trigger;

pub use crate::clock::rfc3339;
pub use types::Outcome;

/// A row to record.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub at_ms: i64,
    /// Which appliance acted (settings `appliance_id`).
    pub appliance: String,
    pub config_name: String,
    pub slot: Option<i64>,
    pub token_serial: Option<String>,
    pub trigger: Trigger,
    pub source: String,
    pub bits: u32,
    pub duration_us: i64,
    pub outcome: Outcome,
    pub error_code: Option<String>,
    pub message: Option<String>,
    /// The audit row of a manual reseed, written in the same transaction.
    pub audit: Option<crate::audit::AuditEntry>,
}

/// Which rows to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryFilter {
    pub config: Option<String>,
    pub trigger: Option<Trigger>,
    pub outcome: Option<Outcome>,
}

impl HistoryFilter {
    /// The filter of a form or a query string: an empty or missing field
    /// means "all"; a trigger or outcome must be one of the words.
    pub fn from_fields(
        config: Option<&str>,
        trigger: Option<&str>,
        outcome: Option<&str>,
    ) -> Result<HistoryFilter> {
        Ok(HistoryFilter {
            config: types::given(config).map(str::to_string),
            trigger: types::given(trigger).map(str::parse).transpose()?,
            outcome: types::given(outcome).map(str::parse).transpose()?,
        })
    }
}

pub use types::limits::PER_PAGE_MAX as MAX_PER_PAGE;

const COLUMNS: &str = "id, at_ms, config_name, slot, token_serial, trigger, source, bits, duration_us, outcome, error_code, message, appliance";

fn push_filter<'a>(q: &mut db::Builder<'a>, f: &'a HistoryFilter) {
    q.push(" WHERE 1 = 1");
    if let Some(c) = &f.config {
        q.push(" AND config_name = ").push_bind(c.as_str());
    }
    if let Some(t) = f.trigger {
        q.push(" AND trigger = ").push_bind(t.as_str());
    }
    if let Some(o) = f.outcome {
        q.push(" AND outcome = ").push_bind(o.as_str());
    }
}

/// One page (1-based) of the rows matching `filter`, newest first.
pub async fn list(
    conn: &mut Conn,
    filter: &HistoryFilter,
    page: u32,
    per_page: u32,
) -> Result<HistoryPage> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let mut count = db::Builder::new("SELECT COUNT(*) FROM seed_history");
    push_filter(&mut count, filter);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    let mut q = db::Builder::new(format!("SELECT {COLUMNS} FROM seed_history"));
    push_filter(&mut q, filter);
    q.push(" ORDER BY at_ms DESC, id DESC LIMIT ")
        .push_bind(i64::from(per_page))
        .push(" OFFSET ")
        .push_bind(i64::from(page - 1) * i64::from(per_page));
    let rows: Vec<HistoryRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    Ok(HistoryPage {
        rows,
        total,
        page,
        per_page,
    })
}

/// At most this many rows go into one CSV export.
pub const CSV_LIMIT: i64 = 100_000;

/// A spreadsheet cannot take a cell for a formula: cells starting with
/// = + - @ get a leading apostrophe; cells with , " or a newline are quoted.
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The rows matching `filter`, newest first, as CSV with a header line.
pub async fn csv(conn: &mut Conn, filter: &HistoryFilter) -> Result<String> {
    let mut q = db::Builder::new(format!("SELECT {COLUMNS} FROM seed_history"));
    push_filter(&mut q, filter);
    q.push(" ORDER BY at_ms DESC, id DESC LIMIT ")
        .push_bind(CSV_LIMIT);
    let rows: Vec<HistoryRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    let mut out = String::from("time,configuration,slot,token_serial,trigger,source,bits,duration_ms,outcome,error,message,appliance\n");
    for r in rows {
        let cells = [
            rfc3339(unix_ms(r.at)),
            r.config_name,
            r.slot.map(|s| s.to_string()).unwrap_or_default(),
            r.token_serial.unwrap_or_default(),
            r.trigger.to_string(),
            r.source,
            r.bits.to_string(),
            format!("{:.3}", r.duration_ms),
            r.outcome.to_string(),
            r.error_code.unwrap_or_default(),
            r.message.unwrap_or_default(),
            r.appliance.unwrap_or_default(),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    Ok(out)
}

pub async fn stats(conn: &mut Conn, now: OffsetDateTime) -> Result<HistoryStats> {
    let now_ms = unix_ms(now);
    let hour_ms = 3_600_000i64;
    let end = (now_ms / hour_ms + 1) * hour_ms;
    let start = end - 24 * hour_ms;
    let last: Vec<HistoryRow> = db::query_as(&format!(
        "SELECT {COLUMNS} FROM seed_history ORDER BY at_ms DESC, id DESC LIMIT 10"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let buckets: Vec<(i64, i64, i64)> = db::query_as(
        "SELECT hour_ms, ok, failed FROM seed_hourly WHERE hour_ms >= $1 AND hour_ms < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?;
    let mut hourly: Vec<HourBucket> = (0..24)
        .map(|i| HourBucket {
            hour: crate::clock::from_ms(start + i * hour_ms),
            ok: 0,
            failed: 0,
        })
        .collect();
    for (at, ok, failed) in buckets {
        if let Some(h) = usize::try_from((at - start) / hour_ms)
            .ok()
            .and_then(|b| hourly.get_mut(b))
        {
            h.ok = ok;
            h.failed = failed;
        }
    }
    // The last 24 hours at hour granularity: the chart's buckets.
    let total_24h = hourly.iter().map(|h| h.ok + h.failed).sum();
    let failures_24h = hourly.iter().map(|h| h.failed).sum();
    Ok(HistoryStats {
        last,
        total_24h,
        failures_24h,
        hourly,
    })
}

/// Deletes rows older than `retention_days` and beyond the newest
/// `max_rows`; returns how many went.
pub async fn prune(
    conn: &mut Conn,
    now: OffsetDateTime,
    retention_days: u32,
    max_rows: u32,
) -> Result<u64> {
    let cutoff = unix_ms(now) - i64::from(retention_days) * 86_400_000;
    let old = db::query("DELETE FROM seed_history WHERE at_ms < $1")
        .bind(cutoff)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    db::query("DELETE FROM seed_hourly WHERE hour_ms < $1")
        .bind(cutoff - 3_600_000)
        .execute(&mut *conn)
        .await?;
    let extra = db::query(
        "DELETE FROM seed_history WHERE id NOT IN (SELECT id FROM seed_history ORDER BY at_ms DESC, id DESC LIMIT $1)",
    )
    .bind(i64::from(max_rows))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(old + extra)
}

/// The history capability: its writer thread and its reads.
#[derive(Clone)]
pub struct History {
    core: crate::core::Core,
    writer: HistoryWriter,
}

impl History {
    pub(crate) fn new(core: crate::core::Core) -> History {
        let writer = HistoryWriter::spawn(core.store());
        History { core, writer }
    }

    pub(crate) fn writer(&self) -> &HistoryWriter {
        &self.writer
    }

    pub async fn page(
        &self,
        filter: &HistoryFilter,
        page: u32,
        per_page: u32,
    ) -> Result<HistoryPage> {
        let mut conn = self.core.store().pool().acquire().await?;
        list(&mut conn, filter, page, per_page).await
    }

    pub async fn csv(&self, filter: &HistoryFilter) -> Result<String> {
        let mut conn = self.core.store().pool().acquire().await?;
        csv(&mut conn, filter).await
    }

    pub async fn stats(&self) -> Result<HistoryStats> {
        let mut conn = self.core.store().pool().acquire().await?;
        stats(&mut conn, self.core.now()).await
    }

    /// Applies the retention limits; returns how many rows went.
    pub async fn prune(&self) -> Result<u64> {
        let mut conn = self.core.store().pool().acquire().await?;
        let s = self.core.settings();
        prune(
            &mut conn,
            self.core.now(),
            s.history_retention_days,
            s.history_max_rows,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A store with these (empty) configurations: a SQLite file in `dir`,
    /// or a new database of the tests' PostgreSQL.
    async fn store_with_configs(dir: &tempfile::TempDir, names: &[&str], pg: bool) -> Store {
        let store = if pg {
            let url = crate::store::testing::PgCluster::shared().database().await;
            Store::open_postgres(&url, dir.path()).await.unwrap()
        } else {
            Store::open(dir.path()).await.unwrap()
        };
        for name in names {
            db::query("INSERT INTO hsm_configs (name, created_at, updated_at) VALUES ($1, 0, 0)")
                .bind(*name)
                .execute(store.pool())
                .await
                .unwrap();
        }
        store
    }

    fn entry(at_ms: i64, config: &str, outcome: Outcome) -> HistoryEntry {
        HistoryEntry {
            at_ms,
            appliance: "test".into(),
            config_name: config.into(),
            slot: Some(1),
            token_serial: None,
            trigger: Trigger::Api,
            source: "os".into(),
            bits: 256,
            duration_us: 1500,
            outcome,
            error_code: (outcome == Outcome::Error).then(|| "CKR_PIN_INCORRECT".into()),
            message: None,
            audit: None,
        }
    }

    #[tokio::test]
    async fn retention_keeps_recent_rows_and_at_most_max_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let w = HistoryWriter::spawn(&store);
        let now = time::macros::datetime!(2026-11-28 12:00 UTC);
        let day = 86_400_000i64;
        for age_days in [200, 100, 89, 10, 1, 0] {
            w.record(entry(unix_ms(now) - age_days * day, "HSM1", Outcome::Ok))
                .await
                .unwrap();
        }
        let mut conn = store.pool().acquire().await.unwrap();
        assert_eq!(
            prune(&mut conn, now, 90, 1000).await.unwrap(),
            2,
            "older than 90 days"
        );
        assert_eq!(
            prune(&mut conn, now, 90, 3).await.unwrap(),
            1,
            "beyond 3 rows"
        );
        let left = list(&mut conn, &HistoryFilter::default(), 1, 10)
            .await
            .unwrap();
        assert_eq!(left.total, 3);
        assert!(
            left.rows
                .iter()
                .all(|r| unix_ms(r.at) >= unix_ms(now) - 10 * day),
            "the newest stay"
        );
    }

    #[tokio::test]
    async fn stats_count_the_last_day_per_hour() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let w = HistoryWriter::spawn(&store);
        let now = time::macros::datetime!(2026-11-28 12:30 UTC);
        let hour = 3_600_000i64;
        w.record(entry(unix_ms(now) - 5 * 60_000, "HSM1", Outcome::Ok))
            .await
            .unwrap();
        w.record(entry(unix_ms(now) - 10 * 60_000, "HSM1", Outcome::Error))
            .await
            .unwrap();
        w.record(entry(unix_ms(now) - 3 * hour, "HSM1", Outcome::Ok))
            .await
            .unwrap();
        w.record(entry(unix_ms(now) - 30 * hour, "HSM1", Outcome::Error))
            .await
            .unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        let s = stats(&mut conn, now).await.unwrap();
        assert_eq!((s.total_24h, s.failures_24h), (3, 1));
        assert_eq!(s.hourly.len(), 24);
        let last = s.hourly.last().unwrap();
        assert_eq!(last.hour, time::macros::datetime!(2026-11-28 12:00 UTC));
        assert_eq!((last.ok, last.failed), (1, 1));
        assert_eq!(
            (s.hourly[20].ok, s.hourly[20].failed),
            (1, 0),
            "three hours earlier"
        );
        assert_eq!(s.last.len(), 4);
    }

    #[tokio::test]
    async fn failures_in_a_row_and_the_last_success_follow_the_rows() {
        health_follows_the_rows(false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failures_in_a_row_and_the_last_success_follow_the_rows_on_postgresql() {
        health_follows_the_rows(true).await;
    }

    /// Each configuration's health follows its rows, within a batch and
    /// across batches: a success starts the count again, held rows are
    /// not failures.
    async fn health_follows_the_rows(pg: bool) {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_configs(&dir, &["A", "B"], pg).await;
        let w = HistoryWriter::spawn(&store);
        let health = || async {
            let rows: Vec<(String, Option<i64>, i64)> = db::query_as(
                "SELECT name, last_ok_at, failures_in_row FROM hsm_configs ORDER BY name",
            )
            .fetch_all(store.pool())
            .await
            .unwrap();
            rows
        };
        // One batch: A fails, works, fails twice; B is held, then fails.
        let (r1, r2, r3, r4, r5, r6) = tokio::join!(
            w.record(entry(10, "A", Outcome::Error)),
            w.record(entry(11, "A", Outcome::Ok)),
            w.record(entry(12, "A", Outcome::Error)),
            w.record(entry(13, "A", Outcome::Error)),
            w.record(entry(14, "B", Outcome::Held)),
            w.record(entry(15, "B", Outcome::Error)),
        );
        for r in [r1, r2, r3, r4, r5, r6] {
            r.unwrap();
        }
        assert_eq!(
            health().await,
            [("A".into(), Some(11), 2), ("B".into(), None, 1)]
        );
        // Later batches add to the count, and a success ends it.
        w.record(entry(20, "A", Outcome::Error)).await.unwrap();
        w.record(entry(21, "B", Outcome::Held)).await.unwrap();
        assert_eq!(
            health().await,
            [("A".into(), Some(11), 3), ("B".into(), None, 1)]
        );
        w.record(entry(30, "A", Outcome::Ok)).await.unwrap();
        assert_eq!(
            health().await,
            [("A".into(), Some(30), 0), ("B".into(), None, 1)]
        );
    }

    #[tokio::test]
    async fn one_batch_writes_history_audit_hourly_counts_and_last_outcomes() {
        one_batch_writes_everything(false).await;
    }

    /// PostgreSQL's writer: the same rows through its bulk statements.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_batch_writes_history_audit_hourly_counts_and_last_outcomes_on_postgresql() {
        one_batch_writes_everything(true).await;
    }

    async fn one_batch_writes_everything(pg: bool) {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_configs(&dir, &["HSM1", "HSM2"], pg).await;
        let w = HistoryWriter::spawn(&store);
        let at = unix_ms(time::macros::datetime!(2026-11-28 12:30 UTC));
        let mut manual = entry(at + 2, "HSM2", Outcome::Error);
        manual.message = Some("C_Login: \"quoted\" \\ text, ünïcode".into());
        manual.audit = Some(crate::audit::AuditEntry {
            at_ms: at + 2,
            appliance: "test".into(),
            actor: crate::audit::Actor::token("automation", "127.0.0.1".parse().ok()),
            action: "hsm.reseed".into(),
            target: "HSM2".into(),
            outcome: Outcome::Error,
            detail: "trigger api: CKR_PIN_INCORRECT".into(),
        });
        // Sent together, so the writer takes them as one batch.
        let (a, b, c) = tokio::join!(
            w.record(entry(at, "HSM1", Outcome::Error)),
            w.record(entry(at + 1, "HSM1", Outcome::Ok)),
            w.record(manual),
        );
        a.unwrap();
        b.unwrap();
        c.unwrap();

        let mut conn = store.pool().acquire().await.unwrap();
        let page = list(&mut conn, &HistoryFilter::default(), 1, 10)
            .await
            .unwrap();
        assert_eq!(page.total, 3);
        let newest = &page.rows[0];
        assert_eq!(newest.config_name, "HSM2");
        assert_eq!(
            newest.message.as_deref(),
            Some("C_Login: \"quoted\" \\ text, ünïcode"),
            "text survives the trip intact"
        );
        type Last = (String, Option<String>, Option<String>, Option<i64>);
        let last: Vec<Last> = db::query_as(
            "SELECT name, last_outcome, last_error, last_at FROM hsm_configs ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            last,
            vec![
                ("HSM1".into(), Some("ok".into()), None, Some(at + 1)),
                (
                    "HSM2".into(),
                    Some("error".into()),
                    Some("CKR_PIN_INCORRECT".into()),
                    Some(at + 2)
                ),
            ]
        );
        let hourly: (i64, i64) = db::query_as("SELECT ok, failed FROM seed_hourly")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(hourly, (1, 2));
        let audit: Vec<(String, String, Option<String>, String)> =
            db::query_as("SELECT actor_kind, actor, address, detail FROM audit_log")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert_eq!(
            audit,
            vec![(
                "token".into(),
                "automation".into(),
                Some("127.0.0.1".into()),
                "trigger api: CKR_PIN_INCORRECT".into()
            )]
        );
    }

    #[tokio::test]
    async fn a_failed_batch_writes_nothing_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        // As if the disk refused one row of the batch.
        db::query(
            "CREATE TRIGGER refuse BEFORE INSERT ON seed_history WHEN NEW.config_name = 'BAD'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        )
        .execute(store.pool())
        .await
        .unwrap();
        let w = HistoryWriter::spawn(&store);
        let at = unix_ms(time::macros::datetime!(2026-11-28 12:00 UTC));
        let (good, bad) = tokio::join!(
            w.record(entry(at, "HSM1", Outcome::Ok)),
            w.record(entry(at + 1, "BAD", Outcome::Ok)),
        );
        let e = bad.unwrap_err().to_string();
        assert!(e.contains("refused by the test"), "{e}");
        // Whether the good row shared the failed batch or not, it is
        // recorded exactly when it was answered Ok.
        let count = || async {
            db::query_scalar::<i64>("SELECT count(*) FROM seed_history")
                .fetch_one(store.pool())
                .await
                .unwrap()
        };
        let hourly = || async {
            db::query_scalar::<i64>("SELECT coalesce(sum(ok), 0) FROM seed_hourly")
                .fetch_one(store.pool())
                .await
                .unwrap()
        };
        let written = i64::from(good.is_ok());
        assert_eq!((count().await, hourly().await), (written, written));

        w.record(entry(at + 2, "HSM1", Outcome::Ok)).await.unwrap();
        assert_eq!((count().await, hourly().await), (written + 1, written + 1));
    }

    #[tokio::test]
    async fn the_wal_stays_bounded_under_a_stream_of_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let w = HistoryWriter::spawn(&store);
        let at = unix_ms(time::macros::datetime!(2026-11-28 12:00 UTC));
        // One commit each, several pages each: without the writer's own
        // checkpoints the WAL passes 9,000 pages.
        for i in 0..1500 {
            w.record(entry(at + i, "HSM1", Outcome::Ok)).await.unwrap();
        }
        let wal = std::fs::metadata(dir.path().join(format!("{}-wal", crate::store::DB_FILE)))
            .unwrap()
            .len();
        let page: i64 = db::query_scalar("PRAGMA page_size")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let bound = (u64::from(writer::CHECKPOINT_PAGES) + 1000) * (page as u64 + 24);
        assert!(wal <= bound, "WAL of {wal} bytes, more than {bound}");
    }

    #[tokio::test]
    async fn the_writers_statements_build_no_temporary_btree() {
        // A CHECK (x IN (...)) of more than two values builds and drops a
        // temporary b-tree on every insert (see migration 7).
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        for sql in [
            writer::INSERT_HISTORY,
            writer::COUNT_HOUR,
            writer::COUNT_APPLIANCE_HOUR,
            writer::LAST_OUTCOME,
            crate::audit::INSERT_SQL,
        ] {
            let opcodes: Vec<String> = sqlx::query(&format!("EXPLAIN {sql}"))
                .fetch_all(store.sqlite())
                .await
                .unwrap()
                .iter()
                .map(|r| sqlx::Row::get::<String, _>(r, "opcode"))
                .collect();
            assert!(!opcodes.is_empty(), "{sql}");
            assert!(
                !opcodes.iter().any(|o| o == "OpenEphemeral"),
                "{sql}: {opcodes:?}"
            );
        }
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("HSM1"), "HSM1");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("-x"), "'-x");
    }
}
