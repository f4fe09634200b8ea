//! Alerts as every interface shows them: what an alert says, where alerts
//! go, and how the last deliveries went.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How bad an alert is (RFC 5424 severities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Notice,
    Info,
}

words!(Severity, |s| format!("unknown severity `{}`", crate::shown(s)),
    Critical => "critical",
    Error => "error",
    Warning => "warning",
    Notice => "notice",
    Info => "info",
);

impl Severity {
    /// The RFC 5424 severity number (2 critical ... 6 informational).
    pub fn code(self) -> u8 {
        match self {
            Severity::Critical => 2,
            Severity::Error => 3,
            Severity::Warning => 4,
            Severity::Notice => 5,
            Severity::Info => 6,
        }
    }
}

/// One change of state worth telling an administrator who is not looking
/// at the dashboard. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// What happened, e.g. `configuration.failing`,
    /// `configuration.recovered`, `entropy.failed`, `certificate.expiring`,
    /// `test`.
    pub event: String,
    pub severity: Severity,
    /// What it is about: `configuration HSM2`, `entropy source os`,
    /// `certificate HSM 192.168.1.31`.
    pub subject: String,
    /// The state now (`failing`, `ok`, `held`, `expiring`, ...).
    pub state: String,
    /// The state before (`ok` when nothing was wrong).
    pub previous: String,
    /// One line for a person.
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where alerts go, as configured (the log always gets them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertSettings {
    /// `https://...`: each alert is POSTed there as JSON.
    pub webhook_url: Option<String>,
    /// The CA certificate(s) (PEM) the webhook's server certificate must
    /// chain to; none: the public web roots.
    pub webhook_ca: Option<String>,
    /// `local` (the system log socket /dev/log), `unix:/path` or
    /// `udp:HOST:PORT`; none: no syslog.
    pub syslog: Option<String>,
}

/// How the last alert sent to one channel went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// `webhook` or `syslog`.
    pub channel: String,
    /// The alert's event.
    pub event: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub ok: bool,
    /// `HTTP 200 after 2 attempts`, or why it failed.
    pub detail: String,
}
