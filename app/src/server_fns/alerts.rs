use leptos::prelude::*;

use crate::error::AppError;
use crate::model::AlertsView;

/// Where alerts go, and how the last ones went.
#[server(prefix = "/sfn", endpoint = "alert_settings")]
pub async fn alert_settings() -> Result<AlertsView, AppError> {
    crate::ssr::require_admin().await?;
    let engine = crate::ssr::engine()?;
    let settings = engine.alerts().settings().await?;
    let ca_subjects = match &settings.webhook_ca {
        Some(pem) => engine::alerts::webhook::ca_subjects(pem)?,
        None => Vec::new(),
    };
    Ok(AlertsView {
        settings,
        ca_subjects,
        deliveries: engine.alerts().deliveries(),
    })
}

/// Saves the whole form: an empty field removes that setting.
#[server(prefix = "/sfn", endpoint = "save_alerts")]
pub async fn save_alerts(
    webhook_url: String,
    webhook_ca: String,
    syslog: String,
) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let edit = engine::alerts::AlertEdit {
            webhook_url: Some(webhook_url),
            webhook_ca: Some(webhook_ca),
            syslog: Some(syslog),
        };
        crate::ssr::engine()?
            .alerts()
            .set_settings(&edit, &actor)
            .await?;
        Ok("Alert settings saved.".to_string())
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}

/// Sends a test alert to every configured channel and says how each went.
#[server(prefix = "/sfn", endpoint = "send_test_alert")]
pub async fn send_test_alert() -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let done = crate::ssr::engine()?.alerts().send_test(&actor).await?;
        let text = done
            .iter()
            .map(|d| {
                let word = if d.ok { "delivered" } else { "failed" };
                format!("{} {word} ({})", d.channel, d.detail)
            })
            .collect::<Vec<_>>()
            .join("; ");
        if done.iter().all(|d| d.ok) {
            Ok(format!("Test alert sent: {text}."))
        } else {
            Err(AppError::Unavailable(format!(
                "Test alert not delivered everywhere: {text}."
            )))
        }
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}
