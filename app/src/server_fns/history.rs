use leptos::prelude::*;

use crate::error::AppError;
use crate::model::HistoryPage as Page;

/// One page of the seed history; empty filters mean "all".
#[server(prefix = "/sfn", endpoint = "history_page")]
pub async fn history_page(
    config: Option<String>,
    trigger: Option<String>,
    outcome: Option<String>,
    page: Option<u32>,
) -> Result<Page, AppError> {
    use engine::history::HistoryFilter;
    crate::ssr::require_admin().await?;
    let engine = crate::ssr::engine()?;
    let filter =
        HistoryFilter::from_fields(config.as_deref(), trigger.as_deref(), outcome.as_deref())?;
    Ok(engine
        .history()
        .page(&filter, page.unwrap_or(1), 25)
        .await?)
}

/// The configuration names the History filter offers.
#[server(prefix = "/sfn", endpoint = "history_configs")]
pub async fn history_configs() -> Result<Vec<String>, AppError> {
    crate::ssr::require_admin().await?;
    Ok(crate::ssr::engine()?
        .partitions()
        .list_configs()
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect())
}
