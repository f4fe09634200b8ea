//! Alerts at the console: `alert-conf-show`, `alert-conf-edit`,
//! `alert-test`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use engine::alerts::{AlertEdit, AlertSettings};
use engine::audit::Actor;
use engine::Engine;

/// The largest CA file read (a few certificates).
const MAX_CA_FILE: u64 = 64 * 1024;

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The webhook every alert is POSTed to as JSON: an https:// URL, or
    /// `none` to stop sending to a webhook
    #[arg(long = "webhookUrl", value_name = "URL")]
    pub webhook_url: Option<String>,
    /// PEM file of the CA the webhook's certificate must chain to, or `none`
    /// for the public web roots
    #[arg(long = "webhookCa", value_name = "FILE")]
    pub webhook_ca: Option<PathBuf>,
    /// Where alerts go to syslog (RFC 5424): `local` (/dev/log),
    /// `unix:/PATH`, `udp:HOST:PORT`, or `off`
    #[arg(long, value_name = "TARGET")]
    pub syslog: Option<String>,
}

fn none_is_empty(v: &str) -> String {
    if v.trim() == "none" {
        String::new()
    } else {
        v.to_string()
    }
}

pub async fn conf_edit(
    engine: &Engine,
    a: &EditArgs,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let webhook_ca = match &a.webhook_ca {
        Some(p) if p.as_os_str() == "none" => Some(String::new()),
        Some(p) => {
            let size = std::fs::metadata(p)
                .map_err(|e| anyhow::anyhow!("--webhookCa {}: {e}", p.display()))?
                .len();
            anyhow::ensure!(
                size <= MAX_CA_FILE,
                "--webhookCa {}: {size} bytes is more than a CA file holds (at most {MAX_CA_FILE})",
                p.display()
            );
            Some(
                std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("--webhookCa {}: {e}", p.display()))?,
            )
        }
        None => None,
    };
    anyhow::ensure!(
        a.webhook_url.is_some() || webhook_ca.is_some() || a.syslog.is_some(),
        "nothing to change: give --webhookUrl, --webhookCa or --syslog"
    );
    let edit = AlertEdit {
        webhook_url: a.webhook_url.as_deref().map(none_is_empty),
        webhook_ca,
        syslog: a.syslog.clone(),
    };
    let s = engine.alerts().set_settings(&edit, actor).await?;
    writeln!(out, "Alert settings saved.")?;
    show(&s, out)
}

pub async fn conf_show(engine: &Engine, out: &mut impl Write) -> anyhow::Result<()> {
    show(&engine.alerts().settings().await?, out)
}

fn show(s: &AlertSettings, out: &mut impl Write) -> anyhow::Result<()> {
    let ca = match &s.webhook_ca {
        Some(pem) => engine::alerts::webhook::ca_subjects(pem)?.join(" + "),
        None => "the public web roots".into(),
    };
    writeln!(out, "Log        : always (one line a change of state)")?;
    writeln!(
        out,
        "Webhook    : {}",
        s.webhook_url.as_deref().unwrap_or("none")
    )?;
    if s.webhook_url.is_some() || s.webhook_ca.is_some() {
        writeln!(out, "Webhook CA : {ca}")?;
    }
    writeln!(out, "Syslog     : {}", s.syslog.as_deref().unwrap_or("off"))?;
    Ok(())
}

pub async fn test(engine: &Engine, actor: &Actor, out: &mut impl Write) -> anyhow::Result<()> {
    let done = engine.alerts().send_test(actor).await?;
    let mut failed = 0;
    for d in &done {
        let word = if d.ok { "delivered" } else { "FAILED" };
        writeln!(out, "{:<8}: {word}: {}", d.channel, d.detail)?;
        failed += usize::from(!d.ok);
    }
    anyhow::ensure!(
        failed == 0,
        "the test alert did not reach {failed} of {} channels",
        done.len()
    );
    Ok(())
}
