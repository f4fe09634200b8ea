use reqwest::StatusCode;

use crate::helpers::{location, Options, TestApp, ADMIN_PASSWORD};

const PAGES: &[&str] = &[
    "/",
    "/hsms",
    "/trust",
    "/schedule",
    "/history",
    "/audit",
    "/settings",
];

#[tokio::test]
async fn login_with_the_right_password_opens_the_dashboard() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let r = app.get("/").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = crate::helpers::html(r).await;
    assert!(body.contains("<h1>Dashboard</h1>"));
    assert!(body.contains(r#"data-testid="user-name""#));
    assert!(body.contains(">admin</span>"));
}

#[tokio::test]
async fn every_page_of_the_shell_is_reachable_after_login() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    for (path, title) in PAGES.iter().zip([
        "Dashboard",
        "HSMs",
        "Trust link",
        "Schedule",
        "History",
        "Audit",
        "Settings",
    ]) {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let body = crate::helpers::html(r).await;
        assert!(
            body.contains(&format!("<h1>{title}</h1>")),
            "{path} shows {title}"
        );
        assert!(
            body.contains(r#"action="/logout""#),
            "{path} has the sign-out button"
        );
        // Islands mode: the page is its HTML and the one island; none of
        // its data is written into it a second time for the browser.
        assert!(
            body.contains(r#"<leptos-island data-component="Enhance_"#),
            "{path} has the island"
        );
        assert!(
            !body.contains("__RESOLVED_RESOURCES["),
            "{path} carries no data for hydration"
        );
    }
}

#[tokio::test]
async fn wrong_password_is_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let r = app.login("admin", "not the password").await;
    assert_eq!(location(&r), "/login?m=invalid&user=admin");
    let (_, page) = app.follow(r).await;
    assert!(page.contains("Invalid user name or password."));
    // The user name typed stays in the form (only a valid one is sent back).
    assert!(page.contains("value=\"admin\""), "{page}");
    let r = app.login("<b>x</b>", "not the password").await;
    assert_eq!(location(&r), "/login?m=invalid");
    // Every valid user name, `@` included, comes back to the form.
    let r = app.login("ops@corp", "not the password").await;
    assert_eq!(location(&r), "/login?m=invalid&user=ops%40corp");
    let (_, page) = app.follow(r).await;
    assert!(page.contains("value=\"ops@corp\""), "{page}");
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "still signed out"
    );
}

#[tokio::test]
async fn unknown_user_gets_the_same_answer_as_a_wrong_password() {
    let app = TestApp::spawn().await;
    let r = app.login("mallory", ADMIN_PASSWORD).await;
    assert_eq!(location(&r), "/login?m=invalid&user=mallory");
    let (_, page) = app.follow(r).await;
    assert!(page.contains("Invalid user name or password."));
}

#[tokio::test]
async fn five_failures_refuse_further_attempts_for_a_minute() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let r = app.login("admin", "guessing wrongly").await;
        assert_eq!(location(&r), "/login?m=invalid&user=admin");
    }
    // Now even the right password is refused, with its own message.
    let r = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(location(&r), "/login?m=throttled&user=admin");
    let (_, page) = app.follow(r).await;
    assert!(page.contains("Too many failed attempts. Try again in a minute."));
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);

    // A minute later it works again.
    app.clock.advance(time::Duration::seconds(61));
    app.login_as_admin().await;
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn failures_from_one_address_block_that_address_for_every_user() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.login(&format!("user{i}"), "guessing wrongly").await;
    }
    let r = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(location(&r), "/login?m=throttled&user=admin");
    let wait: u64 = crate::helpers::header(&r, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
}

#[tokio::test]
async fn protected_pages_redirect_to_login_without_creating_a_session() {
    let app = TestApp::spawn().await;
    for path in PAGES {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        let want = match *path {
            "/" => "/login?m=required".to_string(),
            p => format!("/login?m=required&next=%2F{}", &p[1..]),
        };
        assert_eq!(location(&r), want, "{path}");
        assert!(r.headers().get("set-cookie").is_none(), "{path}");
    }
    // A long address rides along only when short enough.
    let long = format!("/history?config={}", "x".repeat(600));
    assert_eq!(location(&app.get(&long).await), "/login?m=required");
    let r = app.get("/login").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.session_rows().await,
        0,
        "anonymous requests store nothing"
    );
}

#[tokio::test]
async fn a_call_with_a_bad_token_is_refused_on_every_token_route_even_beside_a_session() {
    // Token calls go around the session layers; the handler's Caller is
    // what refuses them, so every route that takes tokens must have one.
    let app = TestApp::spawn().await;
    app.login_as_admin().await; // the cookie must not help a bad token
    let routes = [
        ("GET", "/api/2.0/status"),
        ("GET", "/api/2.0/hsms"),
        ("GET", "/api/2.0/history"),
        ("GET", "/api/2.0/hsmseed?name=HSM1"),
        ("POST", "/api/2.0/hsmseed?name=HSM1"),
        ("GET", "/metrics"),
    ];
    for (method, path) in routes {
        for auth in ["Bearer hss_not-a-token", "Basic YWRtaW46YWRtaW4=", ""] {
            let req = match method {
                "GET" => app.client.get(app.at(path)),
                _ => app.client.post(app.at(path)),
            };
            let r = req.header("authorization", auth).send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with `{auth}`"
            );
        }
    }
    // The session alone still works.
    assert_eq!(app.get("/api/2.0/status").await.status(), StatusCode::OK);
    let audit = app
        .engine
        .audit_log()
        .page(&Default::default(), 1, 100)
        .await
        .unwrap();
    assert!(
        audit.rows.iter().all(|r| r.action != "hsm.reseed"),
        "a refused call reseeded"
    );
}

#[tokio::test]
async fn api_and_server_functions_answer_401_without_a_session() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/2.0/status").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    let r = app.post_form("/sfn/system_status", &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    app.login_as_admin().await;
    let r = app.get("/api/2.0/status").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["ready"], true);
}

#[tokio::test]
async fn after_login_the_page_first_asked_for_is_shown() {
    let app = TestApp::spawn().await;
    let r = app.get("/history?page=2").await;
    // The sign-in page carries the address in its form.
    let (_, page) = app.follow(r).await;
    assert!(
        page.contains(r#"name="next" value="/history?page=2""#),
        "{page}"
    );
    // A wrong password keeps it; the right one goes there.
    let form = |pw: &'static str| {
        [
            ("username", "admin"),
            ("password", pw),
            ("next", "/history?page=2"),
        ]
    };
    let r = app.post_form("/login", &form("wrong password!!")).await;
    assert_eq!(
        location(&r),
        "/login?m=invalid&next=%2Fhistory%3Fpage%3D2&user=admin"
    );
    let r = app.post_form("/login", &form(ADMIN_PASSWORD)).await;
    assert_eq!(location(&r), "/history?page=2");
    // Never to another site.
    app.post_form("/logout", &[]).await;
    let r = app
        .post_form(
            "/login",
            &[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/");
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let cookie = app.session_cookie().expect("a session cookie");
    let r = app.post_form("/logout", &[]).await;
    assert_eq!(location(&r), "/login?m=signed_out");
    let (_, page) = app.follow(r).await;
    assert!(page.contains("You have been signed out."));
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);

    // Replaying the old cookie from elsewhere gets nothing either.
    let (other, _) = app.new_client();
    let r = other
        .get(app.at("/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_id_changes_at_login() {
    let app = TestApp::spawn().await;
    // A session the browser already holds is replaced at the next sign-in.
    app.login("admin", ADMIN_PASSWORD).await;
    let before = app.session_cookie().expect("a session before login");
    app.login("admin", ADMIN_PASSWORD).await;
    let after = app.session_cookie().expect("a session after login");
    assert_ne!(before, after);

    // The id from before the login does not carry the login.
    let (other, _) = app.new_client();
    let r = other
        .get(app.at("/"))
        .header("cookie", before)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = other
        .get(app.at("/"))
        .header("cookie", after)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn session_cookie_is_httponly_secure_and_strict_under_tls() {
    let app = TestApp::spawn().await;
    let r = app.login("admin", ADMIN_PASSWORD).await;
    let set_cookie = crate::helpers::header(&r, "set-cookie");
    assert!(set_cookie.starts_with("__Host-hsmseed="), "{set_cookie}");
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=1800",
    ] {
        assert!(set_cookie.contains(attr), "{attr} in {set_cookie}");
    }
}

#[tokio::test]
async fn plain_http_cookie_is_not_secure() {
    let app = TestApp::spawn_with(Options {
        tls: false,
        ..Options::default()
    })
    .await;
    assert!(app.url.starts_with("http://"));
    let r = app.login("admin", ADMIN_PASSWORD).await;
    let set_cookie = crate::helpers::header(&r, "set-cookie");
    assert!(set_cookie.starts_with("hsmseed="), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_timeout() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    app.clock.advance(time::Duration::hours(11));
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    app.clock.advance(time::Duration::hours(2));
    let r = app.get("/").await;
    assert_eq!(location(&r), "/login?m=expired");
    let (_, page) = app.follow(r).await;
    assert!(page.contains("Your session has ended. Please sign in again."));
}

#[tokio::test]
async fn cross_site_login_post_is_refused() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .post(app.at("/login"))
        .header("origin", "https://evil.example")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.text().await.unwrap(), "Cross-site request refused.\n");
    assert!(app.session_cookie().is_none(), "no session was created");
}

#[tokio::test]
async fn cross_site_logout_is_refused_and_the_session_survives() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let r = app
        .client
        .post(app.at("/logout"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}
