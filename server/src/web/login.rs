//! Sign-in and sign-out: ordinary form posts, so they work without
//! JavaScript; the answer is a redirect (post/redirect/get).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use secrecy::SecretString;
use serde::Deserialize;
use tower_sessions::Session;

use crate::error::ApiError;
use crate::middleware::auth::{SessionAuth, SESSION_AUTH, SESSION_NEXT};
use crate::AppState;
use app::ssr::OperationId;
use engine::audit::Actor;
use engine::clock::unix_ms;
use engine::history::Outcome;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: Option<SecretString>,
}

/// Only a local path may be returned to after sign-in (no open redirect).
fn safe_next(next: Option<String>) -> String {
    match next {
        Some(n)
            if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n != "/login" =>
        {
            n
        }
        _ => "/".into(),
    }
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    op: Option<axum::Extension<OperationId>>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let op = op.map(|o| o.0 .0).unwrap_or_default();
    let password = form
        .password
        .unwrap_or_else(|| SecretString::from(String::new()));
    let user = match state
        .engine
        .login(form.username.trim(), &password, Some(peer.ip()), "web")
        .await
    {
        Ok(u) => u,
        Err(engine::Error::BadCredentials) => {
            return Redirect::to("/login?m=invalid").into_response()
        }
        Err(engine::Error::Throttled { .. }) => {
            return Redirect::to("/login?m=throttled").into_response()
        }
        Err(e) => return ApiError::new(e, op).into_response(),
    };
    let next = session.remove::<String>(SESSION_NEXT).await.ok().flatten();
    // A new session id at sign-in: an id planted before cannot be used after.
    if let Err(e) = session.cycle_id().await {
        return ApiError::new(engine::Error::Internal(format!("session: {e}")), op).into_response();
    }
    let auth = SessionAuth {
        user_id: user.id,
        login_at_ms: unix_ms(state.engine.now()),
    };
    if let Err(e) = session.insert(SESSION_AUTH, auth).await {
        return ApiError::new(engine::Error::Internal(format!("session: {e}")), op).into_response();
    }
    Redirect::to(&safe_next(next)).into_response()
}

pub async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: Option<axum::Extension<engine::auth::User>>,
    session: Session,
) -> Response {
    if let Err(e) = session.flush().await {
        tracing::warn!(error = %e, "session could not be deleted");
    }
    if let Some(axum::Extension(u)) = user {
        let actor = Actor::user(u.name.clone(), Some(peer.ip()));
        if let Err(e) = state
            .engine
            .audit(&actor, "logout", &u.name, Outcome::Ok, "web")
            .await
        {
            tracing::error!(error = %e, "logout not audited");
        }
    }
    Redirect::to("/login?m=signed_out").into_response()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/hsms?x=1".into())), "/hsms?x=1");
        assert_eq!(safe_next(Some("//evil.example/".into())), "/");
        assert_eq!(safe_next(Some("https://evil.example/".into())), "/");
        assert_eq!(safe_next(Some("/\\evil".into())), "/");
        assert_eq!(safe_next(Some("/login".into())), "/");
        assert_eq!(safe_next(None), "/");
    }
}
