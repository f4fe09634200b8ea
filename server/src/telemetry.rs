//! Logging: `tracing` to standard error, as text or JSON. Standard output is
//! kept for what the operator must read (URL, fingerprint, CLI results).

use engine::config::LogFormat;
use tracing_subscriber::{fmt, EnvFilter};

/// Changes of state at info; each request at debug (`HSMSEED_LOG=debug`).
/// tower-sessions warns "possibly suspicious activity: record not found in
/// store" for every request that still carries the cookie of a session
/// that ended (each sign-out): nothing an operator can act on.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_sessions=warn,tower_sessions_core=error";

/// Installs the global subscriber; `HSMSEED_LOG` (an `EnvFilter`) overrides
/// the level. Calling it twice is harmless.
pub fn init(format: LogFormat, default_filter: Option<&str>) {
    let filter = EnvFilter::try_from_env("HSMSEED_LOG")
        .unwrap_or_else(|_| EnvFilter::new(default_filter.unwrap_or(DEFAULT_FILTER)));
    // Colours only for a person at a terminal, never into a file or journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
