//! The alerts' table: what was wrong at the last look (`alert_states`).

use sqlx::SqlitePool;

use super::watch::{Kind, Trouble, Troubles};
use crate::error::Result;

/// What was wrong at the last look.
pub(crate) async fn load(pool: &SqlitePool) -> Result<Troubles> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT subject, kind, state, message FROM alert_states")
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
pub(crate) async fn save(pool: &SqlitePool, now: &Troubles, now_ms: i64) -> Result<()> {
    let mut tx = crate::store::write_tx(pool).await?;
    let keep: Vec<&str> = now.keys().map(String::as_str).collect();
    let existing: Vec<(String, String)> = sqlx::query_as("SELECT subject, state FROM alert_states")
        .fetch_all(&mut *tx)
        .await?;
    for (subject, state) in &existing {
        if !keep.contains(&subject.as_str()) || now.get(subject).is_some_and(|t| &t.state != state)
        {
            sqlx::query("DELETE FROM alert_states WHERE subject = $1")
                .bind(subject)
                .execute(&mut *tx)
                .await?;
        }
    }
    for (subject, t) in now {
        sqlx::query(
            "INSERT INTO alert_states (subject, kind, state, message, since_ms) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (subject) DO UPDATE SET message = excluded.message",
        )
        .bind(subject)
        .bind(t.kind.as_str())
        .bind(&t.state)
        .bind(&t.message)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
