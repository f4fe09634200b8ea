//! Entropy: sources, SP 800-90B continuous health tests, conditioning.
//!
//! * [`health`]: the Repetition Count and Adaptive Proportion tests
//!   ([`HealthTester`], [`rct_cutoff`], [`apt_cutoff`]).
//! * [`condition`](mod@condition): SHA-256 conditioning of tested raw bytes
//!   ([`condition()`]).
//! * [`source`]: [`EntropySource`], the service the engine calls for seeds.
//!   It fails closed: a source that has not passed its start-up test, or
//!   whose health tests failed permanently, delivers nothing.

pub mod condition;
pub mod health;
pub mod source;

pub use condition::condition;
pub use health::{
    apt_cutoff, rct_cutoff, Cutoffs, HealthTest, HealthTester, Verdict, APT_WINDOW,
    DEFAULT_MIN_ENTROPY_PER_BYTE,
};
pub use source::{
    EntropyEvent, EntropyEventKind, EntropySource, EntropyState, EntropyStatus, FailureInfo,
    HealthConfig, BLOCK_SIZE, MAX_SEED_LEN, STARTUP_SAMPLES,
};

/// Appends one event of a source to `entropy_events` (its repository).
pub(crate) async fn record_event(
    pool: &sqlx::SqlitePool,
    at_ms: i64,
    source: &str,
    kind: &str,
    test: &str,
    detail: &str,
) -> crate::Result<()> {
    sqlx::query(
        "INSERT INTO entropy_events (at_ms, source, kind, test, detail) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(at_ms)
    .bind(source)
    .bind(kind)
    .bind(test)
    .bind(detail)
    .execute(pool)
    .await?;
    Ok(())
}
