//! A remote source against a misbehaving server: a small HTTPS server on
//! 127.0.0.1 that answers the Quantis `streambytes` and the QRNG Open API
//! `entropy` calls, well or badly as the test sets it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::clock::{Clock, ManualClock};
use crate::config::EntropySourceKind;
use crate::entropy::{EntropySource, EntropyState, HealthConfig};

use super::RemoteState;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Good,
    /// Every byte the same.
    Stuck,
    /// One value in three bytes is 0.
    Biased,
    Status(u16),
    /// 429 with `Retry-After: 2`.
    TooMany,
    /// Answers after 2 s.
    Slow,
}

struct Server {
    port: u16,
    cert_pem: String,
    cert_der: Vec<u8>,
    mode: Arc<std::sync::Mutex<Mode>>,
    requests: Arc<AtomicUsize>,
    /// The token it wants (`None`: any).
    token: Arc<std::sync::Mutex<Option<String>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(mode: Mode) -> Server {
        let (acceptor, cert) = crate::tls::loopback_acceptor();
        let cert_der = cert.der().to_vec();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(std::sync::Mutex::new(mode));
        let requests = Arc::new(AtomicUsize::new(0));
        let token = Arc::new(std::sync::Mutex::new(None::<String>));
        let (m, r, t) = (mode.clone(), requests.clone(), token.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, m, r, t) = (acceptor.clone(), m.clone(), r.clone(), t.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    while let Some(req) = read_request(&mut tls).await {
                        r.fetch_add(1, Ordering::SeqCst);
                        let mode = *m.lock().unwrap();
                        let want = t.lock().unwrap().clone();
                        let answer = respond(&req, mode, want.as_deref()).await;
                        if tls.write_all(&answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Server {
            port,
            cert_pem: cert.pem(),
            cert_der,
            mode,
            requests,
            token,
            _task: task,
        }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// The request line, headers and body, or `None` at end of stream.
async fn read_request(s: &mut (impl AsyncReadExt + Unpin)) -> Option<(String, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).ok()?;
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0usize);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.ok()?;
    Some((head, body))
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

async fn respond((head, body): &(String, Vec<u8>), mode: Mode, token: Option<&str>) -> Vec<u8> {
    let status = |code: u16, extra: &str| {
        format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\n{extra}\r\n").into_bytes()
    };
    if let Some(t) = token {
        if header(head, "authorization").as_deref() != Some(&format!("Bearer {t}")) {
            return status(401, "");
        }
    }
    // How many bytes: `size=N` (Quantis) or block_size * block_count.
    let n: usize = if head.starts_with("GET ") {
        let line = head.lines().next().unwrap_or_default();
        line.split("size=")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    } else {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        (v["block_size"].as_u64().unwrap_or(0) * v["block_count"].as_u64().unwrap_or(0)) as usize
    };
    let mut bytes = vec![0u8; n];
    match mode {
        Mode::Good | Mode::Slow => rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes),
        Mode::Stuck => bytes.fill(0x5a),
        Mode::Biased => {
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            for b in bytes.iter_mut().step_by(3) {
                *b = 0;
            }
        }
        Mode::Status(code) => return status(code, ""),
        Mode::TooMany => return status(429, "retry-after: 2\r\n"),
    }
    if mode == Mode::Slow {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let (ctype, payload) = if head.starts_with("GET ") {
        ("application/octet-stream", bytes)
    } else {
        use base64::Engine as _;
        let blocks: Vec<String> = bytes
            .chunks(512)
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
            .collect();
        (
            "application/json",
            serde_json::to_vec(&serde_json::json!({ "entropy": blocks })).unwrap(),
        )
    };
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n",
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(&payload);
    out
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(
        time::macros::datetime!(2030-01-02 03:04:05 UTC),
    ))
}

/// A source on the server; `options` after the URL.
fn source(protocol: &str, port: u16, options: &str) -> Arc<EntropySource> {
    let kind: EntropySourceKind = format!("{protocol}:https://127.0.0.1:{port}/ {options}")
        .parse()
        .unwrap();
    let cfg = HealthConfig {
        raw_per_output_byte: 16,
        ..HealthConfig::default()
    };
    let s = Arc::new(EntropySource::new(kind, cfg, clock()));
    s.remote().unwrap().start();
    s
}

fn pin_of(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}

async fn startup(s: &Arc<EntropySource>) -> crate::Result<()> {
    let s = s.clone();
    tokio::task::spawn_blocking(move || s.startup_test())
        .await
        .unwrap()
}

async fn seed(s: &Arc<EntropySource>, len: usize) -> crate::Result<zeroize::Zeroizing<Vec<u8>>> {
    let s = s.clone();
    tokio::task::spawn_blocking(move || s.seed(len))
        .await
        .unwrap()
}

/// Waits (at most 10 s) until the fetcher is in `state`.
async fn until(s: &EntropySource, state: RemoteState) -> super::RemoteStatus {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let st = s.remote().unwrap().status();
        if st.state == state {
            return st;
        }
        assert!(Instant::now() < end, "fetcher never got to {state}: {st:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_server_feeds_checked_seeds_through_the_ca_file_or_the_pin() {
    let server = Server::start(Mode::Good).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("a.pem");
    std::fs::write(&ca, &server.cert_pem).unwrap();
    for (protocol, options) in [
        ("quantis", format!("ca_file={}", ca.display())),
        ("qrng", format!("pin={}", pin_of(&server.cert_der))),
    ] {
        let s = source(protocol, server.port, &options);
        startup(&s).await.unwrap();
        assert_eq!(s.state(), EntropyState::Ok);
        let a = seed(&s, 32).await.unwrap();
        let b = seed(&s, 32).await.unwrap();
        assert_ne!(*a, *b);
        let st = s.status();
        let r = st.remote.unwrap();
        assert_eq!(r.state, RemoteState::Ok, "{protocol}");
        assert!(r.last_latency_ms.is_some() && r.bytes >= 4096, "{r:?}");
        assert!(
            st.blocks_tested >= 8,
            "the start-up test read its 4096 samples"
        );
        // The Debug output shows no byte.
        assert!(!format!("{s:?}").contains(&format!("{:?}", &a[..4])));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_certificate_delivers_nothing() {
    let server = Server::start(Mode::Good).await;
    let other = Server::start(Mode::Good).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("other.pem");
    std::fs::write(&ca, &other.cert_pem).unwrap();
    for options in [
        format!("ca_file={}", ca.display()),
        format!("pin={}", pin_of(&other.cert_der)),
        // No CA file and no pin: the public roots, which do not know it.
        String::new(),
    ] {
        let s = source("quantis", server.port, &format!("timeout_ms=500 {options}"));
        let e = startup(&s).await.unwrap_err().to_string();
        assert_eq!(s.state(), EntropyState::Failed);
        let r = until(&s, RemoteState::Backoff).await;
        let why = r.last_error.unwrap();
        assert!(
            why.contains("certificate") || why.contains("pinned"),
            "{why}"
        );
        assert!(e.contains("start-up test"), "{e}");
        assert_eq!(r.bytes, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_asking_until_the_token_file_changes() {
    let server = Server::start(Mode::Good).await;
    *server.token.lock().unwrap() = Some("right".into());
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "wrong\n").unwrap();
    let pin = pin_of(&server.cert_der);
    let s = source(
        "qrng",
        server.port,
        &format!("pin={pin} token_file={}", token.display()),
    );
    let r = until(&s, RemoteState::Refused).await;
    assert!(r.last_error.unwrap().contains("401"));
    assert!(
        startup(&s).await.is_err(),
        "a refused source delivers nothing"
    );
    let asked = server.requests();
    tokio::time::sleep(super::RECHECK + Duration::from_millis(600)).await;
    assert_eq!(server.requests(), asked, "no request while refused");
    std::fs::write(&token, "right\n").unwrap();
    until(&s, RemoteState::Ok).await;
    startup(&s).await.unwrap();
    seed(&s, 32).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_waits_for_retry_after() {
    let server = Server::start(Mode::TooMany).await;
    let s = source(
        "quantis",
        server.port,
        &format!("pin={}", pin_of(&server.cert_der)),
    );
    let r = until(&s, RemoteState::Waiting).await;
    assert!(r.last_error.as_deref().unwrap().contains("429"));
    let wait = r.retry_at.unwrap() - time::OffsetDateTime::now_utc();
    assert!(
        wait > time::Duration::milliseconds(1500),
        "Retry-After: 2 honoured: {wait}"
    );
    let asked = server.requests();
    server.set(Mode::Good);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(server.requests(), asked, "nothing asked while waiting");
    until(&s, RemoteState::Ok).await;
    startup(&s).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_back_off_exponentially_and_recover() {
    let server = Server::start(Mode::Status(500)).await;
    let s = source(
        "quantis",
        server.port,
        &format!("pin={}", pin_of(&server.cert_der)),
    );
    let r = until(&s, RemoteState::Backoff).await;
    assert!(r.last_error.as_deref().unwrap().contains("500"));
    // A reader does not wait for a failing server.
    let started = Instant::now();
    assert!(startup(&s).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(1));
    tokio::time::sleep(Duration::from_secs(3)).await;
    // 0.5 s, 1 s, 2 s steps (each 50-100 %): at most 5 requests in 3 s,
    // where a retry loop without backoff would make hundreds.
    let n = server.requests();
    assert!((2..=5).contains(&n), "{n} requests in 3 s");
    server.set(Mode::Good);
    until(&s, RemoteState::Ok).await;
    startup(&s).await.unwrap();
    seed(&s, 32).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_never_holds_a_seed_past_its_deadline() {
    let server = Server::start(Mode::Good).await;
    let s = source(
        "quantis",
        server.port,
        &format!(
            "pin={} timeout_ms=400 prefetch=4096",
            pin_of(&server.cert_der)
        ),
    );
    startup(&s).await.unwrap();
    server.set(Mode::Slow);
    // Drain what was fetched ahead; then a seed waits at most timeout_ms.
    let started = Instant::now();
    let mut failed = None;
    for _ in 0..64 {
        let t = Instant::now();
        if let Err(e) = seed(&s, 32).await {
            failed = Some((e, t.elapsed()));
            break;
        }
    }
    let (e, waited) = failed.expect("a slow server ends the delivery");
    assert!(
        waited < Duration::from_millis(400 + 300),
        "waited {waited:?}: {e}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(s.state(), EntropyState::Failed);
    let r = until(&s, RemoteState::Backoff).await;
    assert!(r.last_error.unwrap().contains("no answer in time"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_and_biased_bytes_fail_the_health_tests() {
    for (mode, test) in [
        (Mode::Stuck, "repetition count"),
        (Mode::Biased, "adaptive proportion"),
    ] {
        let server = Server::start(mode).await;
        let s = source(
            "quantis",
            server.port,
            &format!("pin={}", pin_of(&server.cert_der)),
        );
        let e = startup(&s).await.unwrap_err().to_string();
        assert!(e.contains(test), "{mode:?}: {e}");
        assert!(seed(&s, 32).await.is_err());
        assert_eq!(s.status().last_failure.unwrap().test, test);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_is_noticed_within_refresh_and_its_bytes_forgotten() {
    let server = Server::start(Mode::Good).await;
    let s = source(
        "quantis",
        server.port,
        &format!("pin={} refresh_ms=200", pin_of(&server.cert_der)),
    );
    startup(&s).await.unwrap();
    // Let the buffer fill.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.set(Mode::Status(503));
    let r = until(&s, RemoteState::Backoff).await;
    assert_eq!(
        r.buffered, 0,
        "a failing source keeps nothing it sent before"
    );
    assert!(seed(&s, 32).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_ca_file_or_token_file_refuses_the_source_without_asking() {
    let server = Server::start(Mode::Good).await;
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    let with_key = dir.path().join("with-key.pem");
    std::fs::write(
        &with_key,
        format!(
            "{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            server.cert_pem
        ),
    )
    .unwrap();
    for (options, why) in [
        (
            format!("ca_file={}", not_pem.display()),
            "no -----BEGIN CERTIFICATE----- block",
        ),
        (format!("ca_file={}", with_key.display()), "never a key"),
        (
            format!("ca_file={}", dir.path().join("absent.pem").display()),
            "reading ca_file",
        ),
        (
            format!(
                "pin={} token_file={}",
                pin_of(&server.cert_der),
                dir.path().join("absent").display()
            ),
            "reading token_file",
        ),
    ] {
        let s = source("quantis", server.port, &options);
        let r = until(&s, RemoteState::Refused).await;
        let e = r.last_error.unwrap();
        assert!(e.contains(why), "{options}: {e}");
        assert!(startup(&s).await.is_err());
    }
    assert_eq!(server.requests(), 0, "nothing was asked of the server");
}
