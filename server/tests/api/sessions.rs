//! Sessions follow the user, not a reused number: removal and password
//! changes end them, and an id is never anyone else's.

use engine::audit::Actor;
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::helpers::{location, sqlx_count, TestApp, ADMIN_PASSWORD};

const BOB: &str = "bob's long password";

async fn user_id(app: &TestApp, name: &str) -> i64 {
    engine::store::db::query_scalar("SELECT id FROM users WHERE name = $1")
        .bind(name)
        .fetch_one(app.engine.store().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_removed_administrators_session_never_becomes_the_next_users() {
    let app = TestApp::spawn().await;
    let cli = Actor::cli();
    app.engine
        .auth()
        .add_user("bob", &SecretString::from(BOB), &cli)
        .await
        .unwrap();
    let bob_id = user_id(&app, "bob").await;
    let (bob, _) = app.new_client();
    let r = app
        .post_as(&bob, "/login", &[("username", "bob"), ("password", BOB)])
        .await;
    assert_eq!(location(&r), "/");
    let r = app
        .post_as(
            &bob,
            "/sfn/create_token",
            &[("name", "bobs"), ("scope", "seed")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let token = app.token("admins", engine::auth::tokens::Scope::Read).await;

    // The settings page says what removing bob does, before it is done.
    app.login_as_admin().await;
    let page = app.get("/settings").await.text().await.unwrap();
    assert!(
        page.contains("revokes the API tokens they created: bobs"),
        "{page}"
    );
    let r = app
        .server_fn("remove_user", &[("name", "bob"), ("confirm", "yes")])
        .await;
    let text = r.text().await.unwrap();
    assert!(text.contains("1 sessions ended"), "{text}");
    assert!(text.contains("API tokens revoked: bobs"), "{text}");

    // A new user gets a new id; bob's cookie is nobody's session.
    app.engine
        .auth()
        .add_user("carol", &SecretString::from(BOB), &cli)
        .await
        .unwrap();
    assert!(user_id(&app, "carol").await > bob_id);
    let r = app.post_as(&bob, "/sfn/current_user", &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = bob.get(app.at("/settings")).send().await.unwrap();
    assert_eq!(location(&r), "/login?m=required&next=%2Fsettings");
    assert_eq!(
        sqlx_count(&app.engine, "SELECT COUNT(*) FROM user_sessions").await,
        1,
        "only the admin's session is left"
    );
    assert_eq!(app.session_rows().await, 1);
    let tokens: Vec<String> = app
        .engine
        .auth()
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(tokens, ["admins"], "bob's token is revoked, no other");
    assert_eq!(
        app.get_with_token("/api/2.0/status", &token).await.status(),
        StatusCode::OK
    );
    let audit = app
        .engine
        .audit_log()
        .page(
            &engine::audit::AuditFilter {
                action: Some("user.remove".into()),
                ..Default::default()
            },
            1,
            10,
        )
        .await
        .unwrap();
    assert!(audit.rows[0].detail.contains("bobs"), "{:?}", audit.rows);
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_a_reset_ends_all() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let (other, _) = app.new_client();
    let r = app
        .post_as(
            &other,
            "/login",
            &[("username", "admin"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(location(&r), "/");
    assert_eq!(app.session_rows().await, 2);

    let new = "a brand new password";
    let r = app
        .server_fn(
            "change_password",
            &[
                ("current", ADMIN_PASSWORD),
                ("password", new),
                ("confirm", new),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // This browser goes on; the other one is signed out.
    assert_eq!(app.get("/settings").await.status(), StatusCode::OK);
    let r = other.get(app.at("/settings")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.session_rows().await, 1);

    // A reset at the console ends the rest.
    let out = app
        .cli_with_stdin(&["user-passwd", "--name=admin"], "reset by the console\n")
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("sessions have ended"), "{}", out.stdout);
    let r = app.get("/settings").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.session_rows().await, 0);
}

/// A session is written when its idle timer moves on, a quarter of the idle
/// timeout (at most a minute) after the last move, not on every request;
/// and it does move on while the administrator keeps working.
#[tokio::test]
async fn a_session_is_kept_alive_without_a_write_per_request() {
    fn one_minute_idle(s: &mut engine::config::Settings) {
        s.session_idle_minutes = 1;
    }
    let app = TestApp::spawn_with(crate::helpers::Options {
        settings: Some(one_minute_idle),
        ..Default::default()
    })
    .await;
    app.login_as_admin().await;
    if crate::helpers::on_postgres() {
        return; // the expiry's text below is SQLite's column
    }
    let expiry = || async {
        sqlx::query_scalar::<_, String>("SELECT expiry_date FROM sessions")
            .fetch_one(app.engine.store().sqlite())
            .await
            .unwrap()
    };
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    let first = expiry().await;
    for _ in 0..5 {
        assert_eq!(app.get("/hsms").await.status(), StatusCode::OK);
    }
    assert_eq!(expiry().await, first, "no write for requests within 15 s");
    tokio::time::sleep(std::time::Duration::from_millis(15_200)).await;
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    assert!(expiry().await > first, "the idle timer moved on");
}

/// The session store reads a session on the request's own thread; what it
/// reads is what tower-sessions' SQLite store reads: the same record, none
/// once expired or deleted.
#[tokio::test]
async fn the_session_store_reads_what_the_sqlite_store_reads() {
    use std::str::FromStr;
    use tower_sessions::session::Id;
    use tower_sessions::session_store::SessionStore;

    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let cookie = app.session_cookie().expect("signed in");
    let id = Id::from_str(cookie.split_once('=').unwrap().1).unwrap();
    let sessions = server::middleware::session_store::Sessions::open(&app.engine)
        .await
        .unwrap();
    let Some(sqlite) = sessions.sqlite().cloned() else {
        return; // PostgreSQL: its store's own load is the only one
    };

    let record = sessions.load(&id).await.unwrap().expect("the session");
    assert_eq!(Some(&record), sqlite.load(&id).await.unwrap().as_ref());
    assert!(
        record
            .data
            .contains_key(server::middleware::auth::SESSION_AUTH),
        "{:?}",
        record.data.keys()
    );
    let unknown = Id::default();
    assert_eq!(sessions.load(&unknown).await.unwrap(), None);

    // Expired: no session, as the SQLite store has it.
    let mut expired = record.clone();
    expired.expiry_date = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    sessions.save(&expired).await.unwrap();
    assert_eq!(sqlite.load(&id).await.unwrap(), None);
    assert_eq!(sessions.load(&id).await.unwrap(), None);
    let r = app.get("/").await;
    assert!(location(&r).starts_with("/login"), "{}", location(&r));

    // Back, then signed out: gone from both.
    sessions.save(&record).await.unwrap();
    assert_eq!(sessions.load(&id).await.unwrap(), Some(record));
    sessions.delete(&id).await.unwrap();
    assert_eq!(sessions.load(&id).await.unwrap(), None);
    assert_eq!(sqlite.load(&id).await.unwrap(), None);
}
