use leptos::prelude::*;

use crate::error::AppError;
use crate::model::HistoryData;

/// One page of the seed history; empty filters mean "all".
#[server(prefix = "/sfn", endpoint = "history_page")]
pub async fn history_page(
    config: Option<String>,
    trigger: Option<String>,
    outcome: Option<String>,
    page: Option<u32>,
) -> Result<HistoryData, AppError> {
    use engine::history::HistoryFilter;
    crate::ssr::require_admin().await?;
    let engine = crate::ssr::engine()?;
    let filter =
        HistoryFilter::from_fields(config.as_deref(), trigger.as_deref(), outcome.as_deref())?;
    let page = engine
        .history()
        .page(&filter, page.unwrap_or(1), 25)
        .await?;
    let configs = engine
        .partitions()
        .list_configs()
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    Ok(HistoryData { page, configs })
}
