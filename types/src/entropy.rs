//! The entropy source's state as every interface shows it.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where a source is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EntropyState {
    /// Not (yet) through a start-up test: delivers nothing.
    Starting,
    /// Start-up test passed, no permanent failure since: delivers.
    Ok,
    /// Start-up test or a permanent health test failed: delivers nothing.
    Failed,
}

impl fmt::Display for EntropyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EntropyState {
    pub fn as_str(self) -> &'static str {
        match self {
            EntropyState::Starting => "starting",
            EntropyState::Ok => "ok",
            EntropyState::Failed => "failed",
        }
    }
}

/// The most recent failure of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FailureInfo {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `"repetition count"`, `"adaptive proportion"`, or `"none"` when no
    /// health test is involved (I/O, configuration).
    pub test: String,
    /// `"intermittent"` (block discarded, source still up), `"permanent"`
    /// (health test during operation), `"startup"` (start-up test failed,
    /// whatever the cause) or `"io"` (read error or end of file during
    /// operation).
    pub kind: String,
    /// What happened, for an operator; never holds sample bytes.
    pub detail: String,
}

/// A snapshot of a source, cheap to take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EntropyStatus {
    /// The configured source, e.g. `os` or `device:/dev/hwrng`.
    pub source: String,
    pub state: EntropyState,
    /// The claim the cutoffs derive from (8 for `os`).
    pub min_entropy_per_byte: f64,
    /// Whether seeds are raw tested bytes (always true for `os`).
    pub full_entropy: bool,
    /// Intermittent RCT cutoff (alpha 2^-30); 0 when not health tested (`os`).
    pub rct_cutoff: u32,
    /// Intermittent APT cutoff (alpha 2^-30, window 512); 0 when not health
    /// tested (`os`).
    pub apt_cutoff: u32,
    /// Bytes read from the source, start-up tests included.
    pub bytes_read: u64,
    /// Blocks that went through the health tests, start-up tests included.
    pub blocks_tested: u64,
    /// Blocks thrown away after an intermittent failure.
    pub blocks_discarded: u64,
    /// Times the source went to `failed` (permanent health-test failures,
    /// I/O failures and failed start-up tests).
    pub permanent_failures: u64,
    pub last_failure: Option<FailureInfo>,
    /// The fetcher of a remote source (`qrng:` or `quantis:`); `None` for
    /// a local one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteStatus>,
}

/// What a remote source's fetcher is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RemoteState {
    /// No answer yet.
    Connecting,
    /// The last fetch succeeded.
    Ok,
    /// 5xx, a reset, a timeout or a bad answer: trying again later
    /// (exponential backoff with jitter).
    Backoff,
    /// 403 or 429: waiting as the server asked (Retry-After, else 60 s).
    Waiting,
    /// 400 or 401 (or an unusable token or CA file): nothing more is asked
    /// until the source's files or settings change.
    Refused,
}

impl RemoteState {
    pub fn as_str(self) -> &'static str {
        match self {
            RemoteState::Connecting => "connecting",
            RemoteState::Ok => "ok",
            RemoteState::Backoff => "backoff",
            RemoteState::Waiting => "waiting",
            RemoteState::Refused => "refused",
        }
    }
}

impl fmt::Display for RemoteState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A remote source's fetcher: state, counters, latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RemoteStatus {
    pub state: RemoteState,
    /// Raw bytes fetched ahead, waiting to be tested and used.
    pub buffered: u64,
    /// Requests made.
    pub fetches: u64,
    /// Requests that failed.
    pub failures: u64,
    /// Raw bytes received.
    pub bytes: u64,
    /// The last successful request's time, in milliseconds.
    pub last_latency_ms: Option<f64>,
    /// The last failure, for an operator (never a byte or the token).
    pub last_error: Option<String>,
    /// When the next request is made, while backing off or waiting.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub retry_at: Option<OffsetDateTime>,
}
