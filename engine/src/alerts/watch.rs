//! What is wrong right now, and what changed since the last look: the
//! alerts are the differences between two sets of troubles, so that a
//! configuration failing round after round gives one alert, not one a round.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use types::alerts::{Alert, Severity};
use types::entropy::{EntropyState, EntropyStatus};
use types::hsm::{ConfigState, HsmConfig};
use types::ntl::CertExpiry;

/// What the alerts watch, read at one moment.
pub(crate) struct Observed {
    pub configs: Vec<HsmConfig>,
    pub entropy: EntropyStatus,
    pub certs: Vec<CertExpiry>,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Configuration,
    Entropy,
    Certificate,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Configuration => "configuration",
            Kind::Entropy => "entropy",
            Kind::Certificate => "certificate",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Kind> {
        [Kind::Configuration, Kind::Entropy, Kind::Certificate]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A condition that is not fine. Its subject (`configuration HSM2`) is its
/// key; its state (`failing`, `held`, `failed`, `expiring`, `expired`) is
/// what a change is measured on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trouble {
    pub kind: Kind,
    pub state: String,
    /// One line for a person (not part of the comparison).
    pub message: String,
}

pub(crate) type Troubles = BTreeMap<String, Trouble>;

fn configuration(name: &str) -> String {
    format!("configuration {name}")
}

fn entropy_source(source: &str) -> String {
    format!("entropy source {source}")
}

fn certificate(name: &str) -> String {
    format!("certificate {name}")
}

/// Everything that is wrong in `o` at `now`.
pub(crate) fn troubles(o: &Observed, now: OffsetDateTime) -> Troubles {
    let mut out = Troubles::new();
    for c in &o.configs {
        let state = c.derive_state();
        let message = match state {
            ConfigState::Failing => {
                let n = c.failures_in_row;
                format!(
                    "configuration {} failing: {n} failed reseed{} in a row{}",
                    c.name,
                    if n == 1 { "" } else { "s" },
                    c.last_error
                        .as_deref()
                        .map(|e| format!(", last: {e}"))
                        .unwrap_or_default()
                )
            }
            ConfigState::Held => format!(
                "configuration {} held: no login is tried until its password is edited or an \
                 administrator retries{}",
                c.name,
                c.held
                    .as_ref()
                    .map(|h| format!(" (held after {}: {})", h.ckr, h.detail))
                    .unwrap_or_default()
            ),
            ConfigState::Unsupported => format!(
                "configuration {}: {}{}",
                c.name,
                types::hsm::SEED_NOT_ACCEPTED_TEXT,
                c.last_error
                    .as_deref()
                    .map(|e| format!(" (last: {e})"))
                    .unwrap_or_default()
            ),
            _ => continue,
        };
        out.insert(
            configuration(&c.name),
            Trouble {
                kind: Kind::Configuration,
                state: state.as_str().into(),
                message,
            },
        );
    }
    if o.entropy.state == EntropyState::Failed {
        let why = o
            .entropy
            .last_failure
            .as_ref()
            .map(|f| format!(" ({}: {})", f.test, f.detail))
            .unwrap_or_default();
        out.insert(
            entropy_source(&o.entropy.source),
            Trouble {
                kind: Kind::Entropy,
                state: "failed".into(),
                message: format!(
                    "entropy source {} failed{why}: no seed is delivered",
                    o.entropy.source
                ),
            },
        );
    }
    for c in &o.certs {
        let state = if now > c.cert.not_after {
            "expired"
        } else if c.cert.expires_soon(now) {
            "expiring"
        } else {
            continue;
        };
        out.insert(
            certificate(&c.name),
            Trouble {
                kind: Kind::Certificate,
                state: state.into(),
                message: format!(
                    "certificate of {} {} ({})",
                    c.name,
                    c.cert.expiry_text(now),
                    types::time::when(c.cert.not_after)
                ),
            },
        );
    }
    out
}

fn severity(kind: Kind, state: &str) -> Severity {
    match (kind, state) {
        (Kind::Configuration, "held") | (Kind::Entropy, "failed") => Severity::Critical,
        (_, "failing") | (_, "expired") => Severity::Error,
        (_, "expiring") => Severity::Warning,
        _ => Severity::Error,
    }
}

/// The alerts between what was wrong before and what is wrong now: a new
/// or changed trouble, and a trouble that went away (recovered when the
/// thing is fine again, cleared when it was switched off or removed).
pub(crate) fn changes(
    before: &Troubles,
    now_troubles: &Troubles,
    o: &Observed,
    now: OffsetDateTime,
) -> Vec<Alert> {
    let mut out = Vec::new();
    for (subject, t) in now_troubles {
        let previous = before.get(subject).map(|b| b.state.as_str());
        if previous == Some(t.state.as_str()) {
            continue;
        }
        out.push(Alert {
            event: format!("{}.{}", t.kind.as_str(), t.state),
            severity: severity(t.kind, &t.state),
            subject: subject.clone(),
            state: t.state.clone(),
            previous: previous.unwrap_or("ok").into(),
            message: t.message.clone(),
            at: now,
        });
    }
    for (subject, b) in before {
        if now_troubles.contains_key(subject) {
            continue;
        }
        let (event, state, message) = gone(subject, b, o, now);
        out.push(Alert {
            event: format!("{}.{event}", b.kind.as_str()),
            severity: Severity::Notice,
            subject: subject.clone(),
            state,
            previous: b.state.clone(),
            message,
            at: now,
        });
    }
    out
}

/// What became of a trouble that is gone: (`recovered` or `cleared`, the
/// state now, the message).
fn gone(
    subject: &str,
    b: &Trouble,
    o: &Observed,
    now: OffsetDateTime,
) -> (&'static str, String, String) {
    match b.kind {
        Kind::Configuration => match o.configs.iter().find(|c| configuration(&c.name) == subject) {
            Some(c) => {
                let state = c.derive_state();
                if state == ConfigState::Ok {
                    let when = c
                        .last_ok_at
                        .map(|t| format!(": reseeded at {}", types::time::when(t)))
                        .unwrap_or_default();
                    (
                        "recovered",
                        state.as_str().into(),
                        format!("{subject} recovered{when}"),
                    )
                } else {
                    (
                        "cleared",
                        state.as_str().into(),
                        format!("{subject} no longer {}: now {state}", b.state),
                    )
                }
            }
            None => (
                "cleared",
                "deleted".into(),
                format!("{subject} no longer {}: deleted", b.state),
            ),
        },
        Kind::Entropy => {
            let source = &o.entropy.source;
            if entropy_source(source) == subject && o.entropy.state == EntropyState::Ok {
                ("recovered", "ok".into(), format!("{subject} recovered"))
            } else {
                (
                    "cleared",
                    o.entropy.state.as_str().into(),
                    format!(
                        "{subject} no longer failed: the source is now {source} ({})",
                        o.entropy.state
                    ),
                )
            }
        }
        Kind::Certificate => match o.certs.iter().find(|c| certificate(&c.name) == subject) {
            Some(c) => (
                "recovered",
                "ok".into(),
                format!("{subject} {}", c.cert.expiry_text(now)),
            ),
            None => (
                "cleared",
                "removed".into(),
                format!("{subject} replaced or removed"),
            ),
        },
    }
}

/// The alert `alert-test` and the Settings page send.
pub(crate) fn test_alert(actor: &str, now: OffsetDateTime) -> Alert {
    Alert {
        event: "test".into(),
        severity: Severity::Info,
        subject: "appliance".into(),
        state: "test".into(),
        previous: "test".into(),
        message: format!("test alert sent by {actor}"),
        at: now,
    }
}
