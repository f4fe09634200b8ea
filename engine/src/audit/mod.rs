//! The audit log: who did what, from where, when, and how it went. Every
//! administrative action of every door is recorded here by the engine
//! itself (never by a door), append-only (database triggers refuse updates
//! and deletes), and never with a secret in it.

use crate::store::db::{self, Conn};
use std::future::Future;
use std::net::IpAddr;

use futures_util::future::BoxFuture;

use serde::{Deserialize, Serialize};

use crate::clock::unix_ms;
use crate::core::Core;
use crate::error::{Error, Result};
pub use types::audit::{AuditPage, AuditRow};
use types::Outcome;

/// Who acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// A signed-in administrator (web or console).
    User,
    /// An API token.
    Token,
    /// A console command run without signing in (`hsmseed hsm-conf-new ...`
    /// by whoever may read the data directory).
    Cli,
    /// The appliance itself.
    Scheduler,
    /// A caller without credentials from an address the settings allow
    /// (`reseed_anonymous_from`); the address names it.
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Token => "token",
            ActorKind::Cli => "cli",
            ActorKind::Scheduler => "scheduler",
            ActorKind::Anonymous => "anonymous",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub name: String,
    pub address: Option<String>,
}

impl Actor {
    pub fn user(name: impl Into<String>, address: Option<IpAddr>) -> Actor {
        Actor {
            kind: ActorKind::User,
            name: name.into(),
            address: address.map(|a| a.to_string()),
        }
    }

    pub fn token(name: impl Into<String>, address: Option<IpAddr>) -> Actor {
        Actor {
            kind: ActorKind::Token,
            name: name.into(),
            address: address.map(|a| a.to_string()),
        }
    }

    pub fn cli() -> Actor {
        Actor {
            kind: ActorKind::Cli,
            name: "cli".into(),
            address: None,
        }
    }

    pub fn anonymous(address: IpAddr) -> Actor {
        Actor {
            kind: ActorKind::Anonymous,
            name: "anonymous".into(),
            address: Some(address.to_string()),
        }
    }

    pub fn scheduler() -> Actor {
        Actor {
            kind: ActorKind::Scheduler,
            name: "scheduler".into(),
            address: None,
        }
    }

    /// As shown in lists: `admin`, `token:NAME`, `cli`, `scheduler`.
    pub fn label(&self) -> String {
        match self.kind {
            ActorKind::Token => format!("token:{}", self.name),
            ActorKind::Anonymous => format!("anonymous@{}", self.address.as_deref().unwrap_or("?")),
            _ => self.name.clone(),
        }
    }
}

/// The transaction an audited database action writes in
/// ([`Core::audited_tx`]).
pub(crate) type Tx = Conn;

/// One row to append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// Which appliance acted (settings `appliance_id`).
    pub appliance: String,
    pub actor: Actor,
    pub action: String,
    pub target: String,
    pub outcome: Outcome,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Actor name (a user, a token name, `cli`, `scheduler`).
    pub actor: Option<String>,
    /// Action, or an action prefix ending in `.` (e.g. `hsm.`).
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
}

impl AuditFilter {
    /// The filter of a form or a query string: an empty or missing field
    /// means "all".
    pub fn from_fields(
        actor: Option<&str>,
        action: Option<&str>,
        outcome: Option<&str>,
    ) -> Result<AuditFilter> {
        Ok(AuditFilter {
            actor: types::given(actor).map(str::to_string),
            action: types::given(action).map(str::to_string),
            outcome: types::given(outcome).map(str::parse).transpose()?,
        })
    }
}

/// One audit row; the history writer runs it too, for manual reseeds.
pub(crate) const INSERT_SQL: &str = "INSERT INTO audit_log \
     (at_ms, actor_kind, actor, address, action, target, outcome, detail, appliance) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(crate) async fn insert(
    conn: &mut Conn,
    e: &AuditEntry,
) -> std::result::Result<(), sqlx::Error> {
    db::query(INSERT_SQL)
        .bind(e.at_ms)
        .bind(e.actor.kind.as_str())
        .bind(&e.actor.name)
        .bind(&e.actor.address)
        .bind(&e.action)
        .bind(&e.target)
        .bind(e.outcome.as_str())
        .bind(&e.detail)
        .bind(&e.appliance)
        .execute(conn)
        .await?;
    Ok(())
}

fn push_filter<'a>(q: &mut db::Builder<'a>, f: &'a AuditFilter) {
    q.push(" WHERE 1 = 1");
    if let Some(a) = &f.actor {
        q.push(" AND actor = ").push_bind(a.as_str());
    }
    if let Some(a) = &f.action {
        if a.ends_with('.') {
            q.push(" AND substr(action, 1, length(")
                .push_bind(a.as_str())
                .push(")) = ")
                .push_bind(a.as_str());
        } else {
            q.push(" AND action = ").push_bind(a.as_str());
        }
    }
    if let Some(o) = f.outcome {
        q.push(" AND outcome = ").push_bind(o.as_str());
    }
}

pub(crate) async fn list(
    conn: &mut Conn,
    f: &AuditFilter,
    page: u32,
    per_page: u32,
) -> Result<AuditPage> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, types::limits::PER_PAGE_MAX);
    let mut count = db::Builder::new("SELECT COUNT(*) FROM audit_log");
    push_filter(&mut count, f);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    let mut q = db::Builder::new(
        "SELECT id, at_ms, actor_kind, actor, address, action, target, outcome, detail, appliance \
         FROM audit_log",
    );
    push_filter(&mut q, f);
    q.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(per_page))
        .push(" OFFSET ")
        .push_bind(i64::from(page - 1) * i64::from(per_page));
    let rows: Vec<AuditRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    Ok(AuditPage {
        rows,
        total,
        page,
        per_page,
    })
}

/// Deletes the rows older than `before_ms` under the one-off permit the
/// append-only trigger checks; how many went.
async fn delete_before(conn: &mut Conn, before_ms: i64) -> Result<u64> {
    db::query("INSERT INTO audit_prune_permit (id, before_ms) VALUES (1, $1)")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?;
    let n = db::query("DELETE FROM audit_log WHERE at_ms < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    db::query("DELETE FROM audit_prune_permit")
        .execute(&mut *conn)
        .await?;
    Ok(n)
}

impl Core {
    /// The row of `action`, its texts bounded and free of control
    /// characters.
    fn audit_entry(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        outcome: Outcome,
        detail: &str,
    ) -> AuditEntry {
        let bound = |s: &str, n: usize| -> String {
            s.chars().filter(|c| !c.is_control()).take(n).collect()
        };
        AuditEntry {
            at_ms: unix_ms(self.now()),
            appliance: self.settings().appliance_id.clone(),
            actor: actor.clone(),
            action: action.to_string(),
            target: bound(target, 128),
            outcome,
            detail: bound(detail, 1024),
        }
    }

    /// Appends one row to the audit log. A row that cannot be written is
    /// an error of the action (an unaudited action must not look done).
    /// The engine's own: no door writes an audit row.
    pub(crate) async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        outcome: Outcome,
        detail: &str,
    ) -> Result<()> {
        let entry = self.audit_entry(actor, action, target, outcome, detail);
        let mut conn = self.store().pool().acquire().await?;
        insert(&mut conn, &entry).await.map_err(|e| {
            tracing::error!(error = %e, action, "audit row could not be written");
            Error::from(e)
        })
    }

    /// Runs an administrative action and records it: `ok` with the detail
    /// the action returns, or `error` with the error's message. For
    /// actions that reach beyond the database (the HSM, files); a database
    /// action uses [`Core::audited_tx`].
    pub(crate) async fn audited<T>(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        f: impl Future<Output = Result<(T, String)>>,
    ) -> Result<T> {
        match f.await {
            Ok((value, detail)) => {
                self.audit(actor, action, target, Outcome::Ok, &detail)
                    .await?;
                Ok(value)
            }
            Err(e) => Err(self.audit_failure(actor, action, target, e).await),
        }
    }

    /// Records that `action` failed with `e`, and hands `e` back: the
    /// failure is what matters to the caller, so a second failure writing
    /// its row is only logged (by `audit`).
    async fn audit_failure(&self, actor: &Actor, action: &str, target: &str, e: Error) -> Error {
        let _ = self
            .audit(actor, action, target, Outcome::Error, &e.to_string())
            .await;
        e
    }

    /// Runs a database action and its audit row in one transaction: the
    /// action's writes and its `ok` row commit together or not at all.
    /// After a failure nothing of the action stays, and its `error` row is
    /// written on its own. `f` writes through the transaction it is given
    /// and does nothing slow meanwhile (the transaction holds the write
    /// lock); changes it records reach this process's caches at commit.
    pub(crate) async fn audited_tx<T, F>(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        f: F,
    ) -> Result<T>
    where
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<(T, String)>>,
    {
        let done: Result<T> = async {
            let mut tx = self.store().pool().begin_write().await?;
            let (value, detail) = f(&mut tx).await?;
            let entry = self.audit_entry(actor, action, target, Outcome::Ok, &detail);
            insert(&mut tx, &entry).await?;
            tx.commit().await?;
            Ok(value)
        }
        .await;
        match done {
            Ok(value) => {
                if let Err(e) = self.committed_here().await {
                    tracing::warn!(error = %e, "changes not picked up at once (the poll will)");
                }
                Ok(value)
            }
            Err(e) => Err(self.audit_failure(actor, action, target, e).await),
        }
    }
}

/// The audit log as the pages, the API and the console read it.
#[derive(Clone)]
pub struct AuditLog {
    core: Core,
}

impl AuditLog {
    pub(crate) fn new(core: Core) -> AuditLog {
        AuditLog { core }
    }

    /// Applies `audit_retention_days` (nothing when 0): deletes older rows
    /// inside one transaction that permits just that and records it as an
    /// `audit.prune` row. Returns how many rows went.
    pub async fn prune(&self) -> Result<u64> {
        let days = self.core.settings().audit_retention_days;
        if days == 0 {
            return Ok(0);
        }
        let now = self.core.now();
        let before = unix_ms(now - time::Duration::days(i64::from(days)));
        let mut tx = self.core.store().pool().begin_write().await?;
        let n = delete_before(&mut tx, before).await?;
        if n > 0 {
            let entry = AuditEntry {
                at_ms: unix_ms(now),
                appliance: self.core.settings().appliance_id.clone(),
                actor: Actor::scheduler(),
                action: "audit.prune".into(),
                target: "audit log".into(),
                outcome: Outcome::Ok,
                detail: format!("{n} rows older than {days} days deleted (audit_retention_days)"),
            };
            insert(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    pub async fn page(&self, filter: &AuditFilter, page: u32, per_page: u32) -> Result<AuditPage> {
        let mut conn = self.core.store().pool().acquire().await?;
        list(&mut conn, filter, page, per_page).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::Engine;
    use std::sync::Arc;

    #[tokio::test]
    async fn rows_are_appended_listed_and_never_changed() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(Settings::for_data_dir(dir.path()))
            .await
            .unwrap();
        let admin = Actor::user("admin", Some("192.0.2.1".parse().unwrap()));
        engine
            .core()
            .audit(&admin, "hsm.create", "HSM1", Outcome::Ok, "")
            .await
            .unwrap();
        engine
            .core()
            .audit(
                &Actor::cli(),
                "hsm.delete",
                "HSM1",
                Outcome::Error,
                "not found",
            )
            .await
            .unwrap();
        let p = engine
            .audit_log()
            .page(&AuditFilter::default(), 1, 10)
            .await
            .unwrap();
        assert_eq!(p.total, 2);
        assert_eq!(p.rows[0].action, "hsm.delete", "newest first");
        assert_eq!(p.rows[1].address.as_deref(), Some("192.0.2.1"));
        let only_cli = AuditFilter {
            actor: Some("cli".into()),
            ..Default::default()
        };
        assert_eq!(
            engine
                .audit_log()
                .page(&only_cli, 1, 10)
                .await
                .unwrap()
                .total,
            1
        );
        let hsm = AuditFilter {
            action: Some("hsm.".into()),
            ..Default::default()
        };
        assert_eq!(engine.audit_log().page(&hsm, 1, 10).await.unwrap().total, 2);

        // Append-only, whoever asks.
        let pool = engine.store().pool();
        let e = db::query("UPDATE audit_log SET actor = 'mallory'")
            .execute(pool)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        let e = db::query("DELETE FROM audit_log")
            .execute(pool)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        assert_eq!(
            engine
                .audit_log()
                .page(&AuditFilter::default(), 1, 10)
                .await
                .unwrap()
                .total,
            2
        );
    }

    #[tokio::test]
    async fn retention_deletes_only_old_rows_records_it_and_nothing_else_can() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(crate::clock::ManualClock::new(
            time::macros::datetime!(2026-01-01 12:00 UTC),
        ));
        let mut settings = Settings::for_data_dir(dir.path());
        settings.audit_retention_days = 30;
        let engine = Engine::open_with_clock(settings, clock.clone())
            .await
            .unwrap();
        let cli = Actor::cli();
        for i in 0..3 {
            engine
                .core()
                .audit(&cli, "hsm.create", &format!("OLD{i}"), Outcome::Ok, "")
                .await
                .unwrap();
        }
        clock.advance(time::Duration::days(29));
        engine
            .core()
            .audit(&cli, "hsm.create", "RECENT", Outcome::Ok, "")
            .await
            .unwrap();
        clock.advance(time::Duration::days(2));
        assert_eq!(engine.audit_log().prune().await.unwrap(), 3);
        let p = engine
            .audit_log()
            .page(&AuditFilter::default(), 1, 10)
            .await
            .unwrap();
        let targets: Vec<&str> = p.rows.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(targets, ["audit log", "RECENT"]);
        assert!(p.rows[0].detail.contains("3 rows older than 30 days"));
        // The permit is gone with the transaction: the log is append-only again.
        let e = db::query("DELETE FROM audit_log")
            .execute(engine.store().pool())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        assert_eq!(engine.audit_log().prune().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn without_a_retention_nothing_is_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(Settings::for_data_dir(dir.path()))
            .await
            .unwrap();
        engine
            .core()
            .audit(&Actor::cli(), "hsm.create", "HSM1", Outcome::Ok, "")
            .await
            .unwrap();
        assert_eq!(engine.audit_log().prune().await.unwrap(), 0);
    }
}
