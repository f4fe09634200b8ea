//! The accept loop: plain TCP or TLS (rustls), HTTP/1.1 and HTTP/2, the
//! client address for every request, and a graceful shutdown that lets
//! requests under way finish.
//!
//! No client can pin the server: a request's headers must arrive within
//! `header_read_timeout_secs` (HTTP/1.1, also between requests of a
//! keep-alive connection), a connection that moves no byte for
//! `idle_timeout_secs` is closed (any protocol, before and after the TLS
//! handshake), HTTP/2 connections are pinged, and at most
//! `max_connections` are open at once (fewer when the process may not open
//! that many files): at the cap, the connection that has been silent
//! longest makes room for the new one, so a crowd of slow or idle clients
//! never keeps a real one out. Accept errors (out of file descriptors)
//! back off and are logged once per burst. `TCP_NODELAY` is set on every
//! connection (without it HTTP/2 answers wait ~40 ms for the client's
//! delayed ACK).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests under way may take to finish after shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 pings: how often on a quiet connection, and how long to wait for
/// the answer before closing it.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);
/// File descriptors kept free for everything but client connections (the
/// database, the PKCS#11 module, the log, outgoing connections).
const FD_RESERVE: u64 = 64;
/// Accept errors: the first wait, and the longest.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The connection limits (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Limits {
    pub fn from_settings(s: &engine::config::Settings) -> Limits {
        Limits {
            max_connections: s.max_connections as usize,
            header_read_timeout: Duration::from_secs(u64::from(s.header_read_timeout_secs)),
            idle_timeout: Duration::from_secs(u64::from(s.idle_timeout_secs)),
        }
    }

    /// The cap, lowered to what the process may open (its file limit less
    /// a reserve); says so when it had to.
    fn effective_cap(&self) -> usize {
        match open_file_limit() {
            Some(limit) if (limit.saturating_sub(FD_RESERVE) as usize) < self.max_connections => {
                let cap = (limit.saturating_sub(FD_RESERVE) as usize).max(1);
                tracing::warn!(
                    max_connections = self.max_connections,
                    open_file_limit = limit,
                    cap,
                    "max_connections is above what this process may open; at most {cap} connections at once"
                );
                cap
            }
            _ => self.max_connections,
        }
    }
}

/// The soft limit of open files, from `/proc/self/limits` (Linux).
fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A rustls server configuration from PEM texts (aws-lc-rs, TLS 1.2 and 1.3,
/// h2 and http/1.1).
pub fn tls_acceptor(cert_pem: &str, key_pem: &str) -> anyhow::Result<TlsAcceptor> {
    let certs = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("reading the TLS certificate")?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .context("reading the TLS key")?
        .context("no private key in the TLS key file")?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate does not match its key")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

// ---------------------------------------------------------------------------
// The open connections
// ---------------------------------------------------------------------------

/// The open connections: counted for `/metrics`, each with the time it
/// last moved a byte, so that the most silent one can be evicted.
#[derive(Default)]
pub struct Connections {
    epoch: OnceInstant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    closed_idle: AtomicU64,
    evicted: AtomicU64,
}

/// An `Instant` fixed at first use (`Default` for [`Connections`]).
struct OnceInstant(Instant);

impl Default for OnceInstant {
    fn default() -> Self {
        OnceInstant(Instant::now())
    }
}

/// One open connection.
struct Conn {
    /// Milliseconds since [`Connections::epoch`] of the last byte moved.
    last_ms: AtomicU64,
    evict: Notify,
}

impl Connections {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// How many are open now.
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Prometheus lines about the connections.
    pub fn metrics_text(&self) -> String {
        format!(
            "# HELP hsmseed_http_connections_open Client connections open now.\n\
             # TYPE hsmseed_http_connections_open gauge\n\
             hsmseed_http_connections_open {}\n\
             # HELP hsmseed_http_connections_closed_total Client connections the server closed, by reason.\n\
             # TYPE hsmseed_http_connections_closed_total counter\n\
             hsmseed_http_connections_closed_total{{reason=\"idle\"}} {}\n\
             hsmseed_http_connections_closed_total{{reason=\"evicted\"}} {}\n",
            self.open(),
            self.closed_idle.load(Ordering::Relaxed),
            self.evicted.load(Ordering::Relaxed),
        )
    }

    /// Registers a new connection; at `cap`, evicts the most silent one.
    fn add(&self, cap: usize) -> (u64, Arc<Conn>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            last_ms: AtomicU64::new(self.now_ms()),
            evict: Notify::new(),
        });
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.len() >= cap {
            let silent = open
                .iter()
                .min_by_key(|(_, c)| c.last_ms.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            if let Some(victim) = silent.and_then(|id| open.remove(&id)) {
                victim.evict.notify_one();
                self.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
        open.insert(id, conn.clone());
        (id, conn)
    }

    fn remove(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }
}

/// A socket that notes when it last moved a byte.
struct Tracked {
    inner: TcpStream,
    conns: Arc<Connections>,
    conn: Arc<Conn>,
}

impl Tracked {
    fn touch(&self) {
        self.conn
            .last_ms
            .store(self.conns.now_ms(), Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------
// Accept errors
// ---------------------------------------------------------------------------

/// Backs off after accept errors and logs one line per burst of them.
#[derive(Debug, Default)]
pub(crate) struct AcceptBackoff {
    failures: u64,
    wait: Duration,
    since: Option<Instant>,
}

impl AcceptBackoff {
    /// An accept failed: how long to wait, and whether to log it (the first
    /// of a burst only).
    pub(crate) fn failed(&mut self) -> (Duration, bool) {
        self.failures += 1;
        self.wait = if self.failures == 1 {
            ACCEPT_BACKOFF_MIN
        } else {
            (self.wait * 2).min(ACCEPT_BACKOFF_MAX)
        };
        let first = self.since.is_none();
        self.since.get_or_insert_with(Instant::now);
        (self.wait, first)
    }

    /// An accept succeeded: the burst that ended, if any (failures, length).
    pub(crate) fn succeeded(&mut self) -> Option<(u64, Duration)> {
        let burst = self.since.take().map(|s| (self.failures, s.elapsed()));
        self.failures = 0;
        burst
    }
}

// ---------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    conns: Arc<Connections>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    let cap = limits.effective_cap();
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => {
                    if let Some((n, took)) = backoff.succeeded() {
                        tracing::warn!(failures = n, seconds = took.as_secs_f64(), "accepting connections again");
                    }
                    a
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    let (wait, log) = backoff.failed();
                    if log {
                        tracing::warn!(error = %e, "accept failed; backing off (one line per burst)");
                    }
                    tokio::time::sleep(wait).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        no_delay(&stream, peer);
        let (id, conn) = conns.add(cap);
        let stream = Tracked {
            inner: stream,
            conns: conns.clone(),
            conn: conn.clone(),
        };
        let service = router.clone().map_request(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req
            },
        );
        let service = TowerToHyperService::new(service);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let conns = conns.clone();
        tokio::spawn(async move {
            let served = async {
                match tls {
                    Some(acceptor) => {
                        let stream =
                            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                                .await
                            {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                    return Ok(());
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return Ok(());
                                }
                            };
                        let conn =
                            builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        watcher.watch(conn.into_owned()).await
                    }
                    None => {
                        let conn =
                            builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        watcher.watch(conn.into_owned()).await
                    }
                }
            };
            let idle = idle_for(&conns, &conn, limits.idle_timeout);
            // Whichever ends first; dropping the connection closes it.
            tokio::select! {
                result = served => if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                },
                () = idle => {
                    conns.closed_idle.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, "connection closed: idle");
                }
                () = conn.evict.notified() => {
                    tracing::debug!(%peer, "connection closed: evicted for a new one");
                }
            }
            conns.remove(id);
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for requests under way");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("connections still open after the drain timeout"),
    }
}

/// Sets `TCP_NODELAY`: without it an answer written in several pieces
/// waits for the client's delayed ACK (~40 ms per HTTP/2 answer).
fn no_delay(stream: &TcpStream, peer: SocketAddr) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "TCP_NODELAY could not be set");
    }
}

/// Completes once `conn` has moved no byte for `limit`.
async fn idle_for(conns: &Connections, conn: &Conn, limit: Duration) {
    let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    loop {
        let silent = conns
            .now_ms()
            .saturating_sub(conn.last_ms.load(Ordering::Relaxed));
        if silent >= limit_ms {
            return;
        }
        tokio::time::sleep(Duration::from_millis(limit_ms - silent)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_back_off_and_log_once_per_burst() {
        let mut b = AcceptBackoff::default();
        let waits: Vec<(Duration, bool)> = (0..10).map(|_| b.failed()).collect();
        assert_eq!(waits[0], (ACCEPT_BACKOFF_MIN, true));
        assert!(waits[1..].iter().all(|(_, log)| !log), "one line per burst");
        assert_eq!(waits[1].0, ACCEPT_BACKOFF_MIN * 2);
        assert_eq!(waits[9].0, ACCEPT_BACKOFF_MAX);
        let (n, _) = b.succeeded().unwrap();
        assert_eq!(n, 10);
        assert_eq!(b.succeeded(), None);
        assert_eq!(
            b.failed(),
            (ACCEPT_BACKOFF_MIN, true),
            "a new burst logs again"
        );
    }

    #[test]
    fn at_the_cap_the_most_silent_connection_makes_room() {
        let conns = Connections::default();
        let (a, ca) = conns.add(2);
        let (_b, cb) = conns.add(2);
        // b was silent longest.
        cb.last_ms.store(0, Ordering::Relaxed);
        ca.last_ms.store(10, Ordering::Relaxed);
        let (_c, _) = conns.add(2);
        assert_eq!(conns.open(), 2);
        assert!(conns.open.lock().unwrap().contains_key(&a));
        assert_eq!(conns.evicted.load(Ordering::Relaxed), 1);
        assert!(conns
            .metrics_text()
            .contains("hsmseed_http_connections_open 2"));
    }

    #[tokio::test]
    async fn accepted_sockets_send_without_delay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        assert!(
            !stream.nodelay().unwrap(),
            "the default is Nagle's algorithm"
        );
        no_delay(&stream, peer);
        assert!(stream.nodelay().unwrap());
    }

    #[test]
    fn the_open_file_limit_is_read() {
        assert!(open_file_limit().is_some_and(|n| n > 0));
    }
}
