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
use crate::middleware::auth::{login_url, SessionAuth, MAX_NEXT, SESSION_AUTH};
use crate::AppState;
use engine::clock::unix_ms;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: Option<SecretString>,
    /// The page asked for before sign-in (from `/login?next=`).
    #[serde(default)]
    next: Option<String>,
}

/// Only a local path may be returned to after sign-in (no open redirect),
/// and only one a `Location` header can hold.
fn safe_next(next: Option<String>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.starts_with("/login")
                && n.len() <= MAX_NEXT
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/".into(),
    }
}

/// The sign-in page again after a refusal, with the user name typed (when it
/// is a valid one) so that only the password is typed again.
fn retry_url(why: &str, next: Option<&str>, user: &str) -> String {
    let url = login_url(why, next);
    let user = user.trim();
    match engine::auth::UserName::parse(user) {
        Ok(_) => match serde_urlencoded::to_string([("user", user)]) {
            Ok(q) => format!("{url}&{q}"),
            Err(_) => url,
        },
        Err(_) => url,
    }
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let password = form
        .password
        .unwrap_or_else(|| SecretString::from(String::new()));
    let next = safe_next(form.next);
    let back = (next != "/").then_some(next.as_str());
    let user = match state
        .engine
        .auth()
        .login(form.username.trim(), &password, Some(peer.ip()), "web")
        .await
    {
        Ok(u) => u,
        Err(engine::Error::BadCredentials) => {
            return Redirect::to(&retry_url("invalid", back, &form.username)).into_response()
        }
        Err(engine::Error::Throttled { retry_after_secs }) => {
            let mut r = Redirect::to(&retry_url("throttled", back, &form.username)).into_response();
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
            return r;
        }
        Err(e) => return ApiError(e).into_response(),
    };
    // A new session id at sign-in: an id planted before cannot be used after.
    if let Err(e) = session.cycle_id().await {
        return ApiError(engine::Error::Internal(format!("session: {e}"))).into_response();
    }
    let auth = SessionAuth {
        user_uid: user.uid.clone(),
        generation: user.generation,
        login_at_ms: unix_ms(state.engine.now()),
    };
    if let Err(e) = session.insert(SESSION_AUTH, auth).await {
        return ApiError(engine::Error::Internal(format!("session: {e}"))).into_response();
    }
    // Saved now (not at the end of the request) to learn its id: removing
    // the user or changing their password must be able to end it.
    let bound = match session.save().await {
        Ok(()) => match session.id() {
            Some(id) => {
                state
                    .engine
                    .auth()
                    .bind_session(&id.to_string(), &user)
                    .await
            }
            None => Err(engine::Error::Internal(
                "session: no id after saving".into(),
            )),
        },
        Err(e) => Err(engine::Error::Internal(format!("session: {e}"))),
    };
    if let Err(e) = bound {
        let _ = session.flush().await;
        return ApiError(e).into_response();
    }
    Redirect::to(&next).into_response()
}

pub async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: Option<axum::Extension<engine::auth::User>>,
    session: Session,
) -> Response {
    let id = session.id().map(|id| id.to_string());
    if let Err(e) = session.flush().await {
        tracing::warn!(error = %e, "session could not be deleted");
    }
    if let Err(e) = state.engine.auth().unbind_sessions(id.as_deref()).await {
        tracing::warn!(error = %e, "session binding could not be deleted");
    }
    if let Some(axum::Extension(u)) = user {
        if let Err(e) = state
            .engine
            .auth()
            .signed_out(&u, Some(peer.ip()), "web")
            .await
        {
            tracing::error!(error = %e, "logout not audited");
        }
    }
    Redirect::to("/login?m=signed_out").into_response()
}

#[cfg(test)]
mod tests {
    use super::{safe_next, MAX_NEXT};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fuzz_only_a_local_path_is_ever_returned_to(next in prop_oneof![
            "\\PC{0,40}",
            "/[ -~]{0,40}",
            "//[ -~]{0,20}",
            "/\\\\[a-z.]{0,20}",
            "/.{500,600}",
            "/[a-z]{0,5}[\\x00-\\x1f\\x7f][a-z]{0,5}",
        ]) {
            let to = safe_next(Some(next.clone()));
            prop_assert!(to == "/" || to == next, "{to}");
            prop_assert!(to.starts_with('/') && !to.starts_with("//") && !to.contains('\\'));
            prop_assert!(!to.starts_with("/login") && to.len() <= MAX_NEXT);
            // It becomes a Location header: nothing a header cannot hold.
            prop_assert!(axum::http::HeaderValue::try_from(to.as_str()).is_ok(), "{to:?}");
        }
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/hsms?x=1".into())), "/hsms?x=1");
        assert_eq!(safe_next(Some("//evil.example/".into())), "/");
        assert_eq!(safe_next(Some("https://evil.example/".into())), "/");
        assert_eq!(safe_next(Some("/\\evil".into())), "/");
        assert_eq!(safe_next(Some("/login".into())), "/");
        assert_eq!(safe_next(Some("/login?next=/x".into())), "/");
        assert_eq!(safe_next(Some(format!("/{}", "a".repeat(600)))), "/");
        assert_eq!(safe_next(None), "/");
    }
}
