//! The alerts' table: what was wrong at the last look (`alert_states`).

use crate::store::db::{self, Pool};

use super::watch::{Kind, Trouble, Troubles};
use crate::error::Result;

/// What was wrong at the last look.
pub(crate) async fn load(pool: &Pool) -> Result<Troubles> {
    let rows: Vec<(String, String, String, String)> =
        db::query_as("SELECT subject, kind, state, message FROM alert_states")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(subject, kind, state, message)| {
            let kind = Kind::parse(&kind)?;
            Some((
                subject,
                Trouble {
                    kind,
                    state,
                    message,
                },
            ))
        })
        .collect())
}

/// Replaces what was wrong with what is wrong now, in one transaction;
/// a subject whose state did not change keeps its `since_ms`.
pub(crate) async fn save(pool: &Pool, now: &Troubles, now_ms: i64) -> Result<()> {
    let mut tx = pool.begin_write().await?;
    let keep: Vec<&str> = now.keys().map(String::as_str).collect();
    let existing: Vec<(String, String)> = db::query_as("SELECT subject, state FROM alert_states")
        .fetch_all(&mut tx)
        .await?;
    for (subject, state) in &existing {
        if !keep.contains(&subject.as_str()) || now.get(subject).is_some_and(|t| &t.state != state)
        {
            db::query("DELETE FROM alert_states WHERE subject = $1")
                .bind(subject)
                .execute(&mut tx)
                .await?;
        }
    }
    for (subject, t) in now {
        db::query(
            "INSERT INTO alert_states (subject, kind, state, message, since_ms) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (subject) DO UPDATE SET message = excluded.message",
        )
        .bind(subject)
        .bind(t.kind.as_str())
        .bind(&t.state)
        .bind(&t.message)
        .bind(now_ms)
        .execute(&mut tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
