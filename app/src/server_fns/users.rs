use leptos::prelude::*;

use crate::error::AppError;
use crate::model::UserView;

#[server(prefix = "/sfn", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let me = crate::ssr::require_admin().await?;
    let list = crate::ssr::engine()?.list_users().await?;
    Ok(list
        .into_iter()
        .map(|u| UserView {
            is_me: u.name == me.name,
            name: u.name,
            created_at: super::convert::when_text(&u.created_at),
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
        crate::ssr::engine()?.add_user(&name, &pw, &actor).await?;
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
        crate::ssr::engine()?.remove_user(&name, &actor).await?;
        Ok(format!("Administrator {name} removed."))
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
        let (me, actor) = crate::ssr::admin_actor().await?;
        let new = confirmed(password, confirm)?;
        crate::ssr::engine()?
            .change_own_password(
                &me.name,
                &secrecy::SecretString::from(current),
                &new,
                &actor,
            )
            .await?;
        Ok("Your password has been changed.".to_string())
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}
