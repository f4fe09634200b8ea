use leptos::prelude::*;

use crate::error::AppError;
use crate::model::TokenInfo;

#[server(prefix = "/sfn", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenInfo>, AppError> {
    crate::ssr::require_admin().await?;
    Ok(crate::ssr::engine()?.auth().list_tokens().await?)
}

/// How this appliance is reached, for the settings page's example:
/// the origin the browser used, and whether it serves HTTPS.
#[server(prefix = "/sfn", endpoint = "api_origin")]
pub async fn api_origin() -> Result<(String, bool), AppError> {
    crate::ssr::require_admin().await?;
    let tls = crate::ssr::engine()?.settings().tls == engine::config::TlsMode::On;
    let host = use_context::<http::request::Parts>()
        .and_then(|p| {
            p.headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
                .or_else(|| p.uri.authority().map(|a| a.to_string()))
        })
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or_else(|| "APPLIANCE".into());
    Ok((
        format!("{}://{host}", if tls { "https" } else { "http" }),
        tls,
    ))
}

/// A new API token: the answer carries the secret, shown this once.
#[server(prefix = "/sfn", endpoint = "create_token")]
pub async fn create_token(name: String, scope: String) -> Result<(String, String), AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let scope = scope.parse()?;
        let t = crate::ssr::engine()?
            .auth()
            .create_token(&name, scope, &actor)
            .await?;
        use secrecy::ExposeSecret;
        Ok((
            format!(
                "API token {} created with scope {}. Copy it now: it is shown only this once.",
                t.info.name,
                t.info.scope.as_str()
            ),
            t.secret.expose_secret().to_string(),
        ))
    }
    .await;
    crate::ssr::outcome(result, |(text, secret)| crate::model::Flash {
        kind: "ok".into(),
        text: text.clone(),
        secret: Some(secret.clone()),
        edit: None,
    })
    .await
}

#[server(prefix = "/sfn", endpoint = "revoke_token")]
pub async fn revoke_token(name: String) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        crate::ssr::engine()?
            .auth()
            .revoke_token(&name, &actor)
            .await?;
        Ok(format!("API token {name} revoked."))
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}
