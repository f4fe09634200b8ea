//! Hundreds of configurations: the HSMs page pages and searches them (by
//! name, partition, pinned serial, the live token's serial, and state),
//! the dashboard lists those in trouble first and links to the rest, the
//! History filter takes a typed name.

use engine::audit::Actor;
use secrecy::SecretString;

use crate::helpers::{fixture, html, Options, TestApp};

/// 250 configurations `N000` .. `N249` (partition `part-NNN`), spread
/// over the fixture's tokens 2 and 3 by slot; every tenth pins its serial.
async fn many(app: &TestApp) {
    let f = fixture();
    let (t2, t3) = (f.token(2), f.token(3));
    let mut csv = String::from("name,partition,slot,token_serial\n");
    let mut pwds = String::from("name,password\n");
    for i in 0..250 {
        let t = if i % 2 == 0 { t2 } else { t3 };
        let pinned = if i % 10 == 0 { t.serial.as_str() } else { "" };
        csv.push_str(&format!("N{i:03},part-{i:03},{},{pinned}\n", t.slot));
        pwds.push_str(&format!("N{i:03},{}\n", t.user_pin));
    }
    let n = app
        .engine
        .partitions()
        .import_configs(
            &csv,
            &SecretString::from(pwds),
            false,
            "test",
            &Actor::cli(),
        )
        .await
        .unwrap();
    assert_eq!(n, 250);
}

fn rows(page: &str) -> usize {
    page.matches("<tr data-hsm=").count()
}

#[tokio::test]
async fn the_hsms_page_pages_and_searches_hundreds_of_configurations() {
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    app.login_as_admin().await;
    many(&app).await;
    let t3 = fixture().token(3);

    let page = html(app.get("/hsms").await).await;
    assert_eq!(rows(&page), 50, "one page");
    assert!(page.contains("1–50 of 250 · page 1 of 5"), "{page}");
    assert!(page.contains(r#"data-testid="hsm-search""#), "{page}");
    assert!(
        page.contains("any (250)") && page.contains("never (250)"),
        "{page}"
    );
    assert!(page.contains(r#"href="/hsms?page=2""#), "{page}");

    let last = html(app.get("/hsms?page=5").await).await;
    assert_eq!(rows(&last), 50);
    assert!(last.contains("<tr data-hsm=\"N249\""), "{last}");
    // Past the end: the last page.
    let past = html(app.get("/hsms?page=99").await).await;
    assert!(past.contains("page 5 of 5"), "{past}");

    // By name and partition, any case.
    let found = html(app.get("/hsms?q=n01").await).await;
    assert_eq!(rows(&found), 10, "N010..N019");
    let found = html(app.get("/hsms?q=PART-24").await).await;
    assert_eq!(rows(&found), 10, "part-240..part-249");
    // By the serial of the token a slot holds now (token 3: odd ones).
    let found = html(app.get(&format!("/hsms?q={}", t3.serial)).await).await;
    assert!(found.contains("1–50 of 125"), "{found}");
    assert!(
        found.contains(r#"href="/hsms?q="#) && found.contains("page=2"),
        "{found}"
    );

    // By state, with the text: the filter keeps both in its links.
    // Two really failing: their slot holds no token.
    for name in ["N011", "N120"] {
        app.edit(
            name,
            engine::partitions::ConfigEdit {
                slot: Some(engine::partitions::SlotId(987_654_321)),
                ..Default::default()
            },
        )
        .await;
        let reseed = app
            .engine
            .partitions()
            .reseed(name, engine::partitions::Trigger::Api, &Actor::cli())
            .await;
        assert!(reseed.is_err());
    }
    let failing = html(app.get("/hsms?state=failing").await).await;
    assert_eq!(rows(&failing), 2, "{failing}");
    assert!(failing.contains("failing (2)"), "{failing}");
    let both = html(app.get("/hsms?q=n01&state=failing").await).await;
    assert_eq!(rows(&both), 1);
    let none = html(app.get("/hsms?q=nothing-like-it").await).await;
    assert!(
        none.contains("No configuration matches the search."),
        "{none}"
    );
    let bad = html(app.get("/hsms?state=sideways").await).await;
    assert!(
        bad.contains("unknown configuration state `sideways`"),
        "{bad}"
    );

    // The dashboard: the two in trouble first, 25 rows, a link to all.
    let dash = html(app.get("/").await).await;
    assert_eq!(dash.matches("<tr data-config=").count(), 25);
    let first: Vec<&str> = dash
        .split("<tr data-config=\"")
        .skip(1)
        .take(2)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert_eq!(first, ["N011", "N120"]);
    assert!(
        dash.contains("The first 25 of 250 (those in trouble first)."),
        "{dash}"
    );

    // History: the configuration is typed, not chosen among 250.
    let history = html(app.get("/history").await).await;
    assert!(
        history.contains(r#"<input id="f-config" name="config" type="search""#),
        "{history}"
    );
}
