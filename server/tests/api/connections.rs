//! No client can pin the server: slow and idle connections are closed,
//! and a crowd of them never keeps a real client out.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Options, TestApp};

fn slow_limits(s: &mut engine::config::Settings) {
    s.header_read_timeout_secs = 1;
    s.idle_timeout_secs = 2;
    s.max_connections = 1000;
}

/// Opens `n` connections that each send half a request header and stop.
async fn trickle(addr: std::net::SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    held
}

/// Whether the server closed `s` within `within` (EOF or a reset).
async fn closed(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or similar before the close: read on.
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_slow_clients_leave_healthz_answering_and_are_closed() {
    let app = TestApp::spawn_with(Options {
        tls: false,
        settings: Some(slow_limits),
        ..Options::default()
    })
    .await;
    let addr: std::net::SocketAddr = app.url.trim_start_matches("http://").parse().unwrap();
    let mut slow = trickle(addr, 500).await;

    let r = tokio::time::timeout(Duration::from_secs(1), app.get("/healthz"))
        .await
        .expect("/healthz answers within 1 s beside 500 slow clients");
    assert_eq!(r.status(), StatusCode::OK);

    // Every slow one is closed once its headers are overdue.
    for s in &mut slow {
        assert!(
            closed(s, Duration::from_secs(5)).await,
            "a slow client still open"
        );
    }
    // (A new browser: the first one's kept-alive connection has timed out
    // by now, and reusing it would race its closing.)
    let (fresh, _) = app.new_client();
    let r = fresh.get(app.at("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_most_silent_connection_makes_room_for_a_new_one() {
    fn capped(s: &mut engine::config::Settings) {
        s.max_connections = 20;
        s.header_read_timeout_secs = 60;
        s.idle_timeout_secs = 60;
    }
    let app = TestApp::spawn_with(Options {
        tls: false,
        settings: Some(capped),
        ..Options::default()
    })
    .await;
    let addr: std::net::SocketAddr = app.url.trim_start_matches("http://").parse().unwrap();
    let mut slow = trickle(addr, 100).await;
    let r = tokio::time::timeout(Duration::from_secs(1), app.get("/healthz"))
        .await
        .expect("/healthz answers although the cap is reached");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(app.connections.open() <= 20, "{}", app.connections.open());
    // The first ones were evicted long before their timeouts.
    assert!(closed(&mut slow[0], Duration::from_secs(2)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_tls_connections_are_closed() {
    let app = TestApp::spawn_with(Options {
        settings: Some(slow_limits),
        ..Options::default()
    })
    .await;
    // Twenty browsers, each with a kept-alive TLS connection (HTTP/2 or
    // HTTP/1.1 as they agree), then silent.
    let mut clients = Vec::new();
    for _ in 0..20 {
        let (c, _) = app.new_client();
        let r = c.get(app.at("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        clients.push(c);
    }
    assert!(app.connections.open() >= 20, "{}", app.connections.open());
    let deadline = Instant::now() + Duration::from_secs(6);
    while app.connections.open() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.connections.open(), 0, "idle connections still open");
    // TLS connections that never finish their handshake go too.
    let addr: std::net::SocketAddr = app.url.trim_start_matches("https://").parse().unwrap();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(closed(&mut silent, Duration::from_secs(5)).await);
    // The metrics say why they went.
    app.login_as_admin().await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains("hsmseed_http_connections_closed_total{reason=\"idle\"}"),
        "{text}"
    );
}
