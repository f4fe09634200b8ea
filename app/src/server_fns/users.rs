use leptos::prelude::*;

use crate::error::AppError;
use crate::model::UserView;

#[server(prefix = "/sfn", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let me = crate::ssr::require_admin().await?;
    let list = crate::ssr::engine()?.auth().list_users().await?;
    Ok(list
        .into_iter()
        .map(|user| UserView {
            is_me: user.name == me.name,
            user,
        })
        .collect())
}

/// Two password fields must agree.
#[cfg(feature = "ssr")]
fn confirmed(password: String, confirm: String) -> Result<secrecy::SecretString, AppError> {
    if password != confirm {
        return Err(AppError::Invalid("The two passwords differ.".into()));
    }
    Ok(secrecy::SecretString::from(password))
}

#[server(prefix = "/sfn", endpoint = "add_user")]
pub async fn add_user(name: String, password: String, confirm: String) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let pw = confirmed(password, confirm)?;
        crate::ssr::engine()?
            .auth()
            .add_user(&name, &pw, &actor)
            .await?;
        Ok(format!("Administrator {name} added."))
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}

#[server(prefix = "/sfn", endpoint = "remove_user")]
pub async fn remove_user(name: String, confirm: Option<String>) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        if confirm.as_deref() != Some("yes") {
            return Err(AppError::Invalid(format!(
                "Tick “confirm” to remove {name}."
            )));
        }
        let removed = crate::ssr::engine()?
            .auth()
            .remove_user(&name, &actor)
            .await?;
        Ok(format!(
            "Administrator {name} removed: {}.",
            removed.describe()
        ))
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}

/// Changes the signed-in administrator's own password.
#[server(prefix = "/sfn", endpoint = "change_password")]
pub async fn change_password(
    current: String,
    password: String,
    confirm: String,
) -> Result<String, AppError> {
    let result = async {
        use crate::ssr::{SessionAuth, SESSION_AUTH};
        let (me, actor) = crate::ssr::admin_actor().await?;
        let new = confirmed(password, confirm)?;
        let session: tower_sessions::Session = leptos_axum::extract()
            .await
            .map_err(|_| AppError::Unauthorized)?;
        let this = session.id().map(|id| id.to_string());
        let user = crate::ssr::engine()?
            .auth()
            .change_own_password(
                &me.name,
                &secrecy::SecretString::from(current),
                &new,
                this.as_deref(),
                &actor,
            )
            .await?;
        // This session goes on, at the new generation; every other one ended.
        let auth = session
            .get::<SessionAuth>(SESSION_AUTH)
            .await
            .ok()
            .flatten()
            .map(|a| SessionAuth {
                generation: user.generation,
                ..a
            });
        if let Some(auth) = auth {
            session
                .insert(SESSION_AUTH, auth)
                .await
                .map_err(|e| AppError::from(engine::Error::Internal(format!("session: {e}"))))?;
        }
        Ok("Your password has been changed; your other sessions have ended.".to_string())
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}
