//! Logging: `tracing` to standard error, as text or JSON. Standard output is
//! kept for what the operator must read (URL, fingerprint, CLI results).

use engine::config::LogFormat;
use tracing_subscriber::{fmt, EnvFilter};

const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_sessions=warn,tower_sessions_core=warn";

/// Installs the global subscriber; `HSMSEED_LOG` (an `EnvFilter`) overrides
/// the level. Calling it twice is harmless.
pub fn init(format: LogFormat, default_filter: Option<&str>) {
    let filter = EnvFilter::try_from_env("HSMSEED_LOG")
        .unwrap_or_else(|_| EnvFilter::new(default_filter.unwrap_or(DEFAULT_FILTER)));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
