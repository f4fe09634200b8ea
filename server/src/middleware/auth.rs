//! The sign-in gate. Every route but the sign-in page, the health probes and
//! static assets needs a signed-in administrator: pages redirect to
//! `/login`, the REST API and server functions answer 401. A session ends
//! after the idle timeout (the session store) or the absolute timeout
//! counted from sign-in (checked here), and when its user no longer exists
//! or has changed their password since (the session is bound to the user's
//! random uid and credential generation, never to a reusable number).
//!
//! An anonymous request never creates a session: the page asked for rides
//! along in the sign-in URL (`/login?next=...`, bounded).

use app::ssr::Unauthenticated;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use engine::auth::User;
use engine::clock::unix_ms;
use futures_util::future::Either;
use std::convert::Infallible;
use std::task::{Context, Poll};
use tower::util::Oneshot;
use tower::{Layer, Service, ServiceExt};
use tower_sessions::Session;

use crate::AppState;

pub use app::ssr::{SessionAuth, SESSION_AUTH};

/// The longest page address carried through sign-in (`next`).
pub const MAX_NEXT: usize = 512;

fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/healthz" | "/readyz" | "/favicon.svg" | "/api/2.0/openapi.json"
    ) || path.starts_with("/pkg/")
}

fn is_programmatic(path: &str) -> bool {
    takes_tokens(path) || path.starts_with("/sfn/")
}

/// Where a bearer token is judged by the handler instead of a session.
fn takes_tokens(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/v1/") || path == "/metrics"
}

/// A call that presents an API token where tokens are taken: the handler's
/// `Caller` judges it, and the token wins over any session cookie.
fn is_token_call(req: &Request) -> bool {
    let h = req.headers();
    takes_tokens(req.uri().path())
        && (h.contains_key(axum::http::header::AUTHORIZATION)
            || h.contains_key(crate::api::random::API_KEY))
}

/// Wraps the session layers so that token calls go around them: automation
/// with an API token neither reads nor extends a browser session, and pays
/// nothing for the cookie and session machinery.
#[derive(Clone)]
pub struct SessionsUnlessToken<L>(pub L);

impl<L: Layer<S>, S: Clone> Layer<S> for SessionsUnlessToken<L> {
    type Service = SessionsUnlessTokenService<L::Service, S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionsUnlessTokenService {
            with_sessions: self.0.layer(inner.clone()),
            token_call: inner,
        }
    }
}

#[derive(Clone)]
pub struct SessionsUnlessTokenService<A, B> {
    with_sessions: A,
    token_call: B,
}

impl<A, B> Service<Request> for SessionsUnlessTokenService<A, B>
where
    A: Service<Request, Response = Response, Error = Infallible> + Clone,
    B: Service<Request, Response = Response, Error = Infallible> + Clone,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Oneshot<A, Request>, Oneshot<B, Request>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Each call drives a clone of the service it picks to readiness.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if is_token_call(&req) {
            Either::Right(self.token_call.clone().oneshot(req))
        } else {
            Either::Left(self.with_sessions.clone().oneshot(req))
        }
    }
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
        tracing::info!("session reached its absolute timeout");
        let _ = session.flush().await;
        return Err(Ended);
    }
    match state
        .engine
        .auth()
        .session_user(&auth.user_uid, auth.generation)
        .await
    {
        Ok(Some(u)) => Ok(Some(u)),
        Ok(None) => {
            tracing::info!("session ended: its user was removed or changed their password");
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

/// The session key of when the idle timer last moved on (ms).
const TOUCHED: &str = "touched_at_ms";

/// Moves the session's idle timer on, at most once a minute (a quarter of
/// the idle timeout when that is shorter): the session is written to the
/// database then, not on every request. Writing it on every request made
/// every page view wait for SQLite's write lock behind the others.
async fn keep_alive(state: &AppState, session: &Session) {
    let idle_ms = i64::from(state.engine.settings().session_idle_minutes) * 60_000;
    let every = (idle_ms / 4).min(60_000);
    // The wall clock, as tower-sessions counts the expiry.
    let now = unix_ms(time::OffsetDateTime::now_utc());
    let last: Option<i64> = session.get(TOUCHED).await.ok().flatten();
    if last.is_none_or(|t| now - t >= every || t > now) {
        if let Err(e) = session.insert(TOUCHED, now).await {
            tracing::warn!(error = %e, "session not kept alive");
        }
    }
}

pub async fn require_session(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let user = session_user(&state, &session).await;
    let path = req.uri().path().to_string();
    if let Ok(Some(user)) = user {
        keep_alive(&state, &session).await;
        if path == "/login" && req.method() == Method::GET {
            return Redirect::to("/").into_response();
        }
        req.extensions_mut().insert(user);
        return next.run(req).await;
    }
    if is_public(&path) {
        return next.run(req).await;
    }
    if crate::api::random::is_open(&state, &path)
        || (path == "/api/2.0/hsmseed"
            && crate::api::caller::reseed_anonymous_allows(&state, req.extensions()).is_some())
    {
        // `entropy_public` (the random-number endpoints) and
        // `reseed_anonymous_from` (the reseed URL) take anonymous callers;
        // the handler's caller judges them again and rate-limits them.
        return next.run(req).await;
    }
    if is_programmatic(&path) {
        // Calls with a bearer token do not come here: they go around the
        // session layers (`SessionsUnlessToken`) to the handler's `Caller`.
        return Unauthenticated {
            operation_id: crate::error::operation_id(),
        }
        .into_response();
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return crate::error::ApiError(engine::Error::Unauthorized("Sign in first.".into()))
            .into_response();
    }
    let why = if user.is_err() { "expired" } else { "required" };
    let next = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.len() <= MAX_NEXT && *p != "/");
    Redirect::to(&login_url(why, next)).into_response()
}

/// `/login?m=WHY[&next=PAGE]`, the page percent-encoded.
pub fn login_url(why: &str, next: Option<&str>) -> String {
    let mut q = vec![("m", why)];
    q.extend(next.map(|n| ("next", n)));
    match serde_urlencoded::to_string(q) {
        Ok(q) => format!("/login?{q}"),
        Err(_) => format!("/login?m={why}"),
    }
}
