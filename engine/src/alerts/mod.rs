//! Alerts: a change of state an administrator must hear of without
//! watching the dashboard (a configuration failing, held or recovered; the
//! entropy source failed or recovered; a certificate expiring) goes to the
//! log (one line a change), to a webhook (JSON over HTTPS, retried) and to
//! syslog (RFC 5424), as configured on the Settings page or with
//! `alert-conf-edit`. The server looks every few seconds and at every
//! change; what was wrong at the last look is kept in `alert_states`, so
//! a restart neither repeats an alert nor forgets one. An alert is
//! delivered at most once: the state is saved before it is sent.

pub(crate) mod repo;
pub mod syslog;
mod watch;
pub mod webhook;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch as signal};
pub use types::alerts::{Alert, AlertSettings, Delivery, Severity};

use crate::audit::Actor;
use crate::clock::unix_ms;
use crate::core::Core;
use crate::entropy::Entropy;
use crate::error::{Error, Result};
use crate::ntl::TrustLink;
use crate::partitions::Partitions;
pub use webhook::Retry;

/// How often the server looks, besides at every change.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Alerts waiting for delivery at most; more are logged and dropped.
const QUEUE: usize = 1024;

const WEBHOOK_URL: &str = "alert_webhook_url";
const WEBHOOK_CA: &str = "alert_webhook_ca";
const SYSLOG: &str = "alert_syslog";

/// A change of the alert settings: each field given replaces the one
/// stored (an empty text removes it); a field not given stays.
#[derive(Debug, Clone, Default)]
pub struct AlertEdit {
    pub webhook_url: Option<String>,
    pub webhook_ca: Option<String>,
    pub syslog: Option<String>,
}

/// The alerts capability.
#[derive(Clone)]
pub struct Alerts {
    core: Core,
    partitions: Partitions,
    entropy: Entropy,
    trust: TrustLink,
    state: Arc<State>,
}

struct State {
    /// The last delivery to each channel (this process's).
    deliveries: Mutex<BTreeMap<&'static str, Delivery>>,
    retry: Mutex<Retry>,
    hostname: String,
}

/// Checked settings, ready to send with.
struct Channels {
    webhook: Option<webhook::Webhook>,
    syslog: Option<syslog::Target>,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "hsmseed".into())
}

/// Empty and blank texts are no setting.
fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl Alerts {
    pub(crate) fn new(
        core: Core,
        partitions: Partitions,
        entropy: Entropy,
        trust: TrustLink,
    ) -> Alerts {
        Alerts {
            core,
            partitions,
            entropy,
            trust,
            state: Arc::new(State {
                deliveries: Mutex::default(),
                retry: Mutex::new(Retry::default()),
                hostname: hostname(),
            }),
        }
    }

    /// Shorter waits for a webhook that does not answer (tests).
    pub fn set_retry(&self, retry: Retry) {
        *self.state.retry.lock().unwrap_or_else(|p| p.into_inner()) = retry;
    }

    fn retry(&self) -> Retry {
        *self.state.retry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where alerts go.
    pub async fn settings(&self) -> Result<AlertSettings> {
        Ok(AlertSettings {
            webhook_url: given(self.core.app_setting(WEBHOOK_URL).await?),
            webhook_ca: given(self.core.app_setting(WEBHOOK_CA).await?),
            syslog: given(self.core.app_setting(SYSLOG).await?),
        })
    }

    /// Changes where alerts go; every field is checked before anything is
    /// written, and the change is audited (the URL by its host only).
    pub async fn set_settings(&self, edit: &AlertEdit, actor: &Actor) -> Result<AlertSettings> {
        let old = self.settings().await?;
        let new = AlertSettings {
            webhook_url: match &edit.webhook_url {
                Some(v) => given(Some(v.clone())),
                None => old.webhook_url,
            },
            webhook_ca: match &edit.webhook_ca {
                Some(v) => given(Some(v.clone())),
                None => old.webhook_ca,
            },
            syslog: match &edit.syslog {
                Some(v) => given(Some(v.clone())).filter(|s| s != "off"),
                None => old.syslog,
            },
        };
        let checked = Self::channels(&new, &self.retry())?;
        let new = AlertSettings {
            // As the parser writes them.
            webhook_url: new.webhook_url.as_deref().map(|u| u.trim().to_string()),
            syslog: checked.syslog.as_ref().map(ToString::to_string),
            ..new
        };
        let detail = describe(&new)?;
        let values = [
            (WEBHOOK_URL, new.webhook_url.clone().unwrap_or_default()),
            (WEBHOOK_CA, new.webhook_ca.clone().unwrap_or_default()),
            (SYSLOG, new.syslog.clone().unwrap_or_default()),
        ];
        let now_ms = unix_ms(self.core.now());
        self.core
            .audited_tx(actor, "alerts.settings", "alerts", move |tx| {
                Box::pin(async move {
                    crate::store::shared::write_settings(tx, &values, now_ms).await?;
                    Ok(((), detail))
                })
            })
            .await?;
        Ok(new)
    }

    fn channels(s: &AlertSettings, retry: &Retry) -> Result<Channels> {
        let webhook = match &s.webhook_url {
            Some(url) => Some(webhook::Webhook::new(
                webhook::parse_url(url)?,
                s.webhook_ca.as_deref(),
                retry,
            )?),
            None => {
                if let Some(ca) = &s.webhook_ca {
                    webhook::parse_ca(ca)?;
                }
                None
            }
        };
        let syslog = s.syslog.as_deref().map(syslog::Target::parse).transpose()?;
        Ok(Channels { webhook, syslog })
    }

    /// How the last alert to each channel went (in this process).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Sends a test alert to every configured channel now and says how
    /// each went; audited. Refused when no channel is configured.
    pub async fn send_test(&self, actor: &Actor) -> Result<Vec<Delivery>> {
        let settings = self.settings().await?;
        if settings.webhook_url.is_none() && settings.syslog.is_none() {
            return Err(Error::NotConfigured(
                "no webhook and no syslog target is set: nothing to send a test alert to".into(),
            ));
        }
        let alert = watch::test_alert(&actor.label(), self.core.now());
        let done = self.deliver(&alert).await?;
        let detail = done
            .iter()
            .map(|d| format!("{}: {}", d.channel, d.detail))
            .collect::<Vec<_>>()
            .join("; ");
        let outcome = if done.iter().all(|d| d.ok) {
            types::Outcome::Ok
        } else {
            types::Outcome::Error
        };
        self.core
            .audit(actor, "alerts.test", "alerts", outcome, &detail)
            .await?;
        Ok(done)
    }

    /// Looks at everything the alerts watch, and answers the changes
    /// since the last look (saved before they are answered).
    pub async fn check(&self) -> Result<Vec<Alert>> {
        let now = self.core.now();
        let observed = watch::Observed {
            configs: self.partitions.list_configs().await?,
            entropy: self.entropy.status(),
            certs: self.trust.expiries().await?,
        };
        let pool = self.core.store().pool();
        let before = repo::load(pool).await?;
        let troubles = watch::troubles(&observed, now);
        let alerts = watch::changes(&before, &troubles, &observed, now);
        if !alerts.is_empty() || before != troubles {
            repo::save(pool, &troubles, unix_ms(now)).await?;
        }
        Ok(alerts)
    }

    /// Sends `alert` to every configured channel (the webhook retried as
    /// [`Retry`] says) and records how each went.
    pub async fn deliver(&self, alert: &Alert) -> Result<Vec<Delivery>> {
        let retry = self.retry();
        let channels = Self::channels(&self.settings().await?, &retry)?;
        let mut done = Vec::new();
        if let Some(target) = &channels.syslog {
            let line = syslog::format(alert, &self.state.hostname, std::process::id());
            let result = target
                .send(&line)
                .await
                .map(|()| format!("sent to {target}"));
            done.push(self.record("syslog", alert, result));
        }
        if let Some(hook) = &channels.webhook {
            let result = hook.post(alert, &self.state.hostname, &retry).await;
            done.push(self.record("webhook", alert, result));
        }
        Ok(done)
    }

    fn record(
        &self,
        channel: &'static str,
        alert: &Alert,
        result: std::result::Result<String, String>,
    ) -> Delivery {
        let ok = result.is_ok();
        let detail = result.unwrap_or_else(|e| e);
        if !ok {
            tracing::warn!(channel, event = %alert.event, "alert not delivered: {detail}");
        }
        self.core.metrics().count_alert(channel, ok);
        let d = Delivery {
            channel: channel.into(),
            event: alert.event.clone(),
            at: self.core.now(),
            ok,
            detail,
        };
        self.state
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(channel, d.clone());
        d
    }

    /// Watches until `shutdown` turns true: looks every [`CHECK_EVERY`]
    /// and at every change, logs each alert at once and hands it to a
    /// delivery task (alerts go out in order, one at a time).
    pub async fn run(self, mut shutdown: signal::Receiver<bool>) {
        let (queue, mut waiting) = mpsc::channel::<Alert>(QUEUE);
        let sender = tokio::spawn({
            let me = self.clone();
            async move {
                while let Some(alert) = waiting.recv().await {
                    if let Err(e) = me.deliver(&alert).await {
                        tracing::warn!(event = %alert.event, error = %e, "alert not delivered");
                    }
                }
            }
        });
        let mut changes = self.core.watch_changes();
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = changes.changed() => if changed.is_err() { break },
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
            match self.check().await {
                Ok(alerts) => {
                    for alert in alerts {
                        log(&alert);
                        if queue.try_send(alert).is_err() {
                            tracing::warn!(
                                "too many alerts waiting for delivery; this one is only logged"
                            );
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "alerts could not look at the appliance's state")
                }
            }
        }
        sender.abort();
    }
}

/// The log line of an alert: a warning for trouble, info for good news.
fn log(alert: &Alert) {
    if alert.severity <= Severity::Warning {
        tracing::warn!(event = %alert.event, "alert: {}", alert.message);
    } else {
        tracing::info!(event = %alert.event, "alert: {}", alert.message);
    }
}

/// The settings for the audit log: the webhook by its host only, the CA
/// by its subject.
fn describe(s: &AlertSettings) -> Result<String> {
    let webhook = match &s.webhook_url {
        Some(u) => webhook::shown_url(&webhook::parse_url(u)?),
        None => "off".into(),
    };
    let ca = match &s.webhook_ca {
        Some(pem) => webhook::ca_subjects(pem)?.join(" + "),
        None => "public roots".into(),
    };
    Ok(format!(
        "webhook={webhook} (CA: {ca}) syslog={}",
        s.syslog.as_deref().unwrap_or("off")
    ))
}

#[cfg(test)]
mod tests;
