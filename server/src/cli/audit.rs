//! The audit log at the console: `audit-show`.

use std::io::Write;

use clap::Args;
use engine::audit::AuditFilter;
use engine::Engine;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// How many of the newest actions to show
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

pub async fn audit_show(
    engine: &Engine,
    a: &AuditArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if a.limit == 0 || a.limit > 10_000 {
        anyhow::bail!("--limit must be from 1 to 10000");
    }
    let mut rows = Vec::new();
    let mut page = 1;
    while rows.len() < a.limit as usize {
        let p = engine
            .audit_log()
            .page(&AuditFilter::default(), page, 200)
            .await?;
        if p.rows.is_empty() {
            break;
        }
        rows.extend(p.rows);
        page += 1;
    }
    rows.truncate(a.limit as usize);
    writeln!(
        out,
        "{:<25} {:<20} {:<16} {:<18} {:<20} {:<6} Detail",
        "Time", "Actor", "Address", "Action", "Target", "Result"
    )?;
    for r in rows {
        let actor = if r.actor_kind == "token" {
            format!("token:{}", r.actor)
        } else {
            r.actor
        };
        writeln!(
            out,
            "{:<25} {:<20} {:<16} {:<18} {:<20} {:<6} {}",
            types::time::when(r.at),
            actor,
            r.address.unwrap_or_else(|| "-".into()),
            r.action,
            r.target,
            r.outcome,
            r.detail
        )?;
    }
    Ok(())
}
