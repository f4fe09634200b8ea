//! The sign-in gate. Every route but the sign-in page, the health probes and
//! static assets needs a signed-in administrator: pages redirect to
//! `/login`, the REST API and server functions answer 401. A session ends
//! after the idle timeout (the session store) or the absolute timeout
//! counted from sign-in (checked here), and when its user no longer exists.

use app::ssr::Unauthenticated;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use engine::auth::User;
use engine::clock::unix_ms;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::AppState;

/// Session key of the signed-in user.
pub const SESSION_AUTH: &str = "auth";
/// Session key of the page to return to after sign-in.
pub const SESSION_NEXT: &str = "next";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: i64,
    pub login_at_ms: i64,
}

fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/healthz" | "/readyz" | "/favicon.svg" | "/api/2.0/openapi.json"
    ) || path.starts_with("/pkg/")
}

fn is_programmatic(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/sfn/") || path == "/metrics"
}

/// Where a bearer token is judged by the handler instead of a session.
fn takes_tokens(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

/// The signed-in user of this session, if any; `Err` when the session has
/// just ended (absolute timeout, or the user is gone).
async fn session_user(state: &AppState, session: &Session) -> Result<Option<User>, Ended> {
    let auth = match session.get::<SessionAuth>(SESSION_AUTH).await {
        Ok(Some(a)) => a,
        Ok(None) => return Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable session ignored");
            return Ok(None);
        }
    };
    let max_ms = i64::from(state.engine.settings().session_absolute_hours) * 3_600_000;
    if unix_ms(state.engine.now()) - auth.login_at_ms > max_ms {
        tracing::info!(
            user_id = auth.user_id,
            "session reached its absolute timeout"
        );
        let _ = session.flush().await;
        return Err(Ended);
    }
    match state.engine.user_by_id(auth.user_id).await {
        Ok(Some(u)) => Ok(Some(u)),
        Ok(None) => {
            let _ = session.flush().await;
            Err(Ended)
        }
        Err(e) => {
            tracing::error!(error = %e, "session user lookup failed");
            Ok(None)
        }
    }
}

struct Ended;

pub async fn require_session(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let user = session_user(&state, &session).await;
    let path = req.uri().path().to_string();
    if let Ok(Some(user)) = user {
        if path == "/login" && req.method() == Method::GET {
            return Redirect::to("/").into_response();
        }
        req.extensions_mut().insert(user);
        return next.run(req).await;
    }
    if is_public(&path) {
        return next.run(req).await;
    }
    if is_programmatic(&path) {
        // A REST call with a bearer token is judged by the handler's
        // `Caller` extractor (token validity and scope).
        if takes_tokens(&path)
            && req
                .headers()
                .contains_key(axum::http::header::AUTHORIZATION)
        {
            return next.run(req).await;
        }
        return Unauthenticated.into_response();
    }
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        if let Err(e) = session.insert(SESSION_NEXT, target).await {
            tracing::warn!(error = %e, "could not remember the requested page");
        }
    } else {
        return (StatusCode::UNAUTHORIZED, "Sign in first.\n").into_response();
    }
    let why = if user.is_err() { "expired" } else { "required" };
    Redirect::to(&format!("/login?m={why}")).into_response()
}
