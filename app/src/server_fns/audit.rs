use leptos::prelude::*;

use crate::error::AppError;

/// One page of the audit log, newest first; empty filters mean "all".
#[server(prefix = "/sfn", endpoint = "audit_page")]
pub async fn audit_page(
    actor: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    page: Option<u32>,
) -> Result<crate::model::AuditPage, AppError> {
    use engine::audit::AuditFilter;
    crate::ssr::require_admin().await?;
    let filter = AuditFilter::from_fields(actor.as_deref(), action.as_deref(), outcome.as_deref())?;
    Ok(crate::ssr::engine()?
        .audit_log()
        .page(&filter, page.unwrap_or(1), 50)
        .await?)
}
