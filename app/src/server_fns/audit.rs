use leptos::prelude::*;

use crate::error::AppError;
use crate::model::AuditPageView;

/// One page of the audit log, newest first; empty filters mean "all".
#[server(prefix = "/sfn", endpoint = "audit_page")]
pub async fn audit_page(
    actor: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    page: Option<u32>,
) -> Result<AuditPageView, AppError> {
    use crate::model::AuditRowView;
    use engine::audit::AuditFilter;
    crate::ssr::require_admin().await?;
    let filter = AuditFilter::from_fields(actor.as_deref(), action.as_deref(), outcome.as_deref())?;
    let p = crate::ssr::engine()?
        .audit_log()
        .page(&filter, page.unwrap_or(1), 50)
        .await?;
    Ok(AuditPageView {
        rows: p
            .rows
            .into_iter()
            .map(|r| AuditRowView {
                at: super::convert::when(r.at),
                actor: if r.actor_kind == "token" {
                    format!("token:{}", r.actor)
                } else {
                    r.actor
                },
                actor_kind: r.actor_kind,
                address: r.address,
                action: r.action,
                target: r.target,
                outcome: r.outcome,
                detail: r.detail,
            })
            .collect(),
        total: p.total,
        page: p.page,
        per_page: p.per_page,
    })
}
