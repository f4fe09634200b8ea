//! The Quantis REST 2.0 random-number endpoints, as Quantis clients call
//! them: exact answer forms, ranges and uniformity, every refusal a 400
//! JSON body, the `entropy` scope, `entropy_public` with its rate limit, a
//! failed source serving nothing, and the served bytes judged by Debian's
//! `rngtest` and `ent`.

use std::io::Write;
use std::process::{Command, Stdio};

use engine::auth::tokens::Scope;
use engine::config::EntropySourceKind;
use reqwest::StatusCode;

use crate::helpers::{anonymous_client, Options, TestApp};

async fn entropy_token(app: &TestApp) -> String {
    app.token("quantis-client", Scope::Entropy).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.get_with_token(path, token).await
}

async fn text(app: &TestApp, token: &str, path: &str) -> String {
    let r = get(app, token, path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    assert_eq!(r.headers()["content-type"], "application/json", "{path}");
    r.text().await.unwrap()
}

async fn refused(app: &TestApp, token: &str, path: &str) -> String {
    let r = get(app, token, path).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_input", "{path}: {body}");
    body["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_answers_have_the_forms_quantis_clients_parse() {
    let app = TestApp::spawn().await;
    let t = entropy_token(&app).await;

    let r = get(&app, &t, "/api/2.0/streambytes?size=1000").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.bytes().await.unwrap().len(), 1000);

    // hexbytes: a compact array of lowercase hex, `DataLength` too.
    for q in ["quantity=3&dataLength=2", "quantity=3&DataLength=2"] {
        let body = text(&app, &t, &format!("/api/2.0/hexbytes?{q}")).await;
        let re = regex_lite(&body);
        assert!(re, "{body}");
    }
    let one = text(&app, &t, "/api/2.0/hexbytes").await;
    assert_eq!(one.len(), r#"["a4"]"#.len(), "{one}");

    // Integers: in [min, max), compact.
    let body = text(&app, &t, "/api/2.0/int?min=-5&max=5&quantity=1000").await;
    assert!(!body.contains(' '), "{body}");
    let ints: Vec<i64> = serde_json::from_str(&body).unwrap();
    assert_eq!(ints.len(), 1000);
    assert!(ints.iter().all(|v| (-5..5).contains(v)), "{body}");
    // Every value of a small range shows up, and only those.
    let mut seen = [false; 10];
    for v in &ints {
        seen[(v + 5) as usize] = true;
    }
    assert!(seen.iter().all(|s| *s));
    let shorts: Vec<i64> = serde_json::from_str(
        &text(&app, &t, "/api/2.0/short?min=-32768&max=32768&quantity=500").await,
    )
    .unwrap();
    assert!(shorts.iter().all(|v| (-32768..32768).contains(v)));
    // Defaults: one value of the type's whole range.
    let full: Vec<i64> = serde_json::from_str(&text(&app, &t, "/api/2.0/int").await).unwrap();
    assert_eq!(full.len(), 1);
    assert!(i32::try_from(full[0]).is_ok());

    for (path, min, max) in [
        (
            "/api/2.0/double?min=-2.5&max=-1.5&quantity=1000",
            -2.5,
            -1.5,
        ),
        ("/api/2.0/float?min=10&max=20&quantity=1000", 10.0, 20.0),
        ("/api/2.0/double?quantity=10", 0.0, 1.0),
    ] {
        let body = text(&app, &t, path).await;
        assert!(!body.contains(' '), "{body}");
        let vals: Vec<f64> = serde_json::from_str(&body).unwrap();
        assert!(vals.iter().all(|v| *v >= min && *v < max), "{path}: {body}");
    }
}

/// `["ab12","..."]` exactly: three strings of four lowercase hex digits.
fn regex_lite(body: &str) -> bool {
    let Some(inner) = body.strip_prefix('[').and_then(|b| b.strip_suffix(']')) else {
        return false;
    };
    let parts: Vec<&str> = inner.split(',').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            p.len() == 6
                && p.starts_with('"')
                && p.ends_with('"')
                && p[1..5]
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

#[tokio::test]
async fn bad_parameters_are_400_with_the_json_body() {
    let app = TestApp::spawn().await;
    let t = entropy_token(&app).await;
    let max = app.engine.settings().random_max_size;
    for (path, says) in [
        ("/api/2.0/streambytes", "`size` is required".to_string()),
        ("/api/2.0/streambytes?size=0", "`size` must be 1 to".into()),
        (
            &*format!("/api/2.0/streambytes?size={}", max + 1),
            "`size` must be 1 to".into(),
        ),
        (
            "/api/2.0/streambytes?size=lots",
            "query string is not valid".into(),
        ),
        (
            "/api/2.0/hexbytes?quantity=0",
            "`quantity` must be 1 to".into(),
        ),
        (
            "/api/2.0/hexbytes?dataLength=100000",
            "`dataLength` must be 1 to".into(),
        ),
        (
            "/api/2.0/hexbytes?quantity=100000&dataLength=1000",
            "above the".into(),
        ),
        ("/api/2.0/int?min=5&max=5", "must be above `min`".into()),
        (
            "/api/2.0/int?min=0&max=2147483649",
            "at most 2147483648".into(),
        ),
        (
            "/api/2.0/short?min=-40000&max=0",
            "`min` must be -32768 to 32767".into(),
        ),
        ("/api/2.0/short?max=40000", "at most 32768".into()),
        (
            "/api/2.0/int?quantity=100001",
            "`quantity` must be 1 to 100000".into(),
        ),
        ("/api/2.0/double?min=nan", "must be a finite double".into()),
        ("/api/2.0/double?max=inf", "must be a finite double".into()),
        ("/api/2.0/float?min=1e39", "must be a finite float".into()),
        ("/api/2.0/float?min=2&max=1", "must be above `min`".into()),
    ] {
        let message = refused(&app, &t, path).await;
        assert!(message.contains(&says), "{path}: {message}");
    }
}

#[tokio::test]
async fn only_the_entropy_scope_or_an_administrator_gets_numbers() {
    let app = TestApp::spawn().await;
    let read = app.token("reader", Scope::Read).await;
    let entropy = entropy_token(&app).await;
    let r = get(&app, &read, "/api/2.0/int").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The entropy scope reads nothing else.
    let r = get(&app, &entropy, "/api/2.0/status").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // No credentials: 401 (entropy_public is off by default).
    let anonymous = anonymous_client();
    let r = anonymous.get(app.at("/api/2.0/int")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    // A signed-in administrator.
    app.login_as_admin().await;
    let r = app.get("/api/2.0/short?quantity=2").await;
    assert_eq!(r.status(), StatusCode::OK);
    // The info endpoints.
    let info: serde_json::Value = get(&app, &entropy, "/api/2.0/softwareinfo")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], "hsmseed");
    assert_eq!(info["api"], "2.0");
    let sys: serde_json::Value = get(&app, &entropy, "/api/2.0/systeminfo")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sys["state"], "ok");
    assert_eq!(sys["sources"][0]["source"], "os");
    let perf: serde_json::Value = get(&app, &entropy, "/api/2.0/performance")
        .await
        .json()
        .await
        .unwrap();
    assert!(perf["mbps"].as_f64().unwrap() > 0.0, "{perf}");
    let fw: serde_json::Value = get(&app, &entropy, "/api/2.0/firmwareinfo")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fw["name"], "hsmseed");
    // Counted.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("hsmseed_random_requests_total{endpoint=\"short\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn entropy_public_opens_only_the_random_endpoints_rate_limited() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| {
            s.entropy_public = true;
            s.entropy_public_per_minute = 5;
        }),
        ..Options::default()
    })
    .await;
    let anonymous = anonymous_client();
    for path in [
        "/api/2.0/int",
        "/api/2.0/hexbytes?quantity=2",
        "/api/2.0/systeminfo",
    ] {
        let r = anonymous.get(app.at(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    // Nothing else opens.
    for path in [
        "/api/2.0/status",
        "/api/2.0/hsms",
        "/api/2.0/history",
        "/metrics",
    ] {
        let r = anonymous.get(app.at(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Five a minute from one address (the three above among them).
    for _ in 0..2 {
        let r = anonymous.get(app.at("/api/2.0/int")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = anonymous.get(app.at("/api/2.0/int")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    // A token is not limited by it.
    let t = entropy_token(&app).await;
    let r = get(&app, &t, "/api/2.0/int").await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_failed_source_serves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stuck = dir.path().join("stuck");
    std::fs::write(&stuck, vec![0x55u8; 1 << 16]).unwrap();
    let app = TestApp::spawn_with(Options {
        entropy: Some(EntropySourceKind::Device(stuck)),
        ..Options::default()
    })
    .await;
    let t = entropy_token(&app).await;
    for path in [
        "/api/2.0/streambytes?size=32",
        "/api/2.0/hexbytes",
        "/api/2.0/int",
        "/api/2.0/double",
        "/api/2.0/performance",
    ] {
        let r = get(&app, &t, path).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "entropy_failed", "{path}");
    }
    let sys: serde_json::Value = get(&app, &t, "/api/2.0/systeminfo")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sys["state"], "failed");
}

/// 2.5 MB from `streambytes`, judged by Debian's `rngtest` (FIPS 140-2
/// tests on 2,500-byte blocks: good data fails about 1 block in 1,000, so
/// the gate is the failure rate, not the exit code) and `ent`.
#[tokio::test]
async fn served_bytes_pass_rngtest_and_ent() {
    for tool in ["rngtest", "ent"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .unwrap()
                .success(),
            "{tool} is missing: scripts/deps.sh test installs rng-tools5 and ent"
        );
    }
    let app = TestApp::spawn().await;
    let t = entropy_token(&app).await;
    let mut data = Vec::new();
    while data.len() < 2_600_000 {
        let r = get(&app, &t, "/api/2.0/streambytes?size=1048576").await;
        assert_eq!(r.status(), StatusCode::OK);
        data.extend_from_slice(&r.bytes().await.unwrap());
    }

    let mut rngtest = Command::new("rngtest")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    rngtest.stdin.take().unwrap().write_all(&data).unwrap();
    let out = rngtest.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stderr);
    let count = |what: &str| -> u64 {
        report
            .lines()
            .find_map(|l| l.split_once(what).map(|(_, n)| n.trim().parse().unwrap()))
            .unwrap_or_else(|| panic!("no `{what}` in {report}"))
    };
    let (ok, failed) = (
        count("FIPS 140-2 successes:"),
        count("FIPS 140-2 failures:"),
    );
    assert!(ok + failed >= 1000, "{report}");
    assert!(
        failed <= 6,
        "{failed} of {} blocks failed: {report}",
        ok + failed
    );

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &data).unwrap();
    let out = Command::new("ent")
        .arg("-t")
        .arg(file.path())
        .output()
        .unwrap();
    // -t: `0,File-bytes,Entropy,Chi-square,Mean,Monte-Carlo-Pi,Serial-Correlation`.
    let csv = String::from_utf8_lossy(&out.stdout);
    let row: Vec<f64> = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    let (entropy, mean, pi, serial) = (row[1], row[3], row[4], row[5]);
    assert!(entropy > 7.999, "entropy {entropy} bits per byte: {csv}");
    assert!((mean - 127.5).abs() < 0.5, "mean {mean}: {csv}");
    assert!((pi - std::f64::consts::PI).abs() < 0.02, "pi {pi}: {csv}");
    assert!(serial.abs() < 0.005, "serial correlation {serial}: {csv}");
}

/// `hsmseed entropy-sample`: raw samples are the source's bytes as they
/// are (for `ea_non_iid`); without `--raw`, the delivered bytes.
#[tokio::test]
async fn entropy_sample_writes_raw_or_delivered_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("qrng");
    let mut content = vec![0u8; 200_000];
    engine::random::fill_random(&mut content);
    std::fs::write(&device, &content).unwrap();
    let source = format!("device:{}", device.display());
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hsmseed"))
            .args(args)
            .env_remove("HSMSEED_CONFIG")
            .env("HSMSEED_DATA_DIR", &data)
            .env("HSMSEED_ENTROPY_SOURCE", &source)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&[
        "entropy-sample",
        &format!("--source={source}"),
        "--bytes=70000",
        "--raw",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout,
        content[..70_000],
        "raw means as the device gave them"
    );
    assert!(!data.exists(), "a raw sample needs no data directory");

    let out = run(&["entropy-sample", "--source=os", "--bytes=10", "--raw"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("the configured ones are `{source}`")),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // Delivered bytes: tested and conditioned, so not the device's.
    std::fs::create_dir(&data).unwrap();
    let out = run(&[
        "entropy-sample",
        &format!("--source={source}"),
        "--bytes=3000",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 3000);
    assert!(!content.windows(64).any(|w| w == &out.stdout[..64]));
}
