//! A remote entropy source: another appliance or a network QRNG, read over
//! HTTPS into a prefetch buffer.
//!
//! A task ([`Remote::start`]) keeps up to `prefetch` raw bytes fetched
//! ahead; the [`EntropySource`](super::EntropySource) reads them
//! ([`Remote::read_exact`]) exactly as it reads a device, so they go through
//! the same start-up and continuous SP 800-90B tests and the same
//! conditioning. Bytes are never logged and are zeroized when consumed or
//! forgotten ([`Remote::forget`]).
//!
//! What a failed fetch does (as rngd learned it):
//! * 400, 401 (and 404, 422): the request or the credentials are wrong.
//!   The source is `refused` and asks nothing more until its token or CA
//!   file changes (checked every [`RECHECK`]) or the settings do (restart).
//! * 403, 429: the server asks us to wait: `waiting` for its Retry-After
//!   (seconds), else [`DEFAULT_WAIT`].
//! * 5xx, a reset, a timeout, a TLS failure, an answer of the wrong size:
//!   `backoff`, exponential from [`BACKOFF_FIRST`] to [`BACKOFF_CAP`] with
//!   jitter (a random 50 % to 100 % of the step).
//!
//! When the buffer stays full, a fetch is still made every `refresh_ms`
//! (replacing the oldest bytes), so that a server that stopped answering
//! is noticed. A failing fetch forgets every buffered byte.
//!
//! A reader waits for bytes at most the source's `timeout_ms`, and not at
//! all once the fetcher is failing: a seed never waits past its deadline,
//! and a failed source delivers nothing.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rand::Rng;
use reqwest::StatusCode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::sync::Notify;
use zeroize::{Zeroize, Zeroizing};

pub use types::entropy::{RemoteState, RemoteStatus};

use crate::config::{RemoteProtocol, RemoteSpec};

/// The first backoff step after a transient failure.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(500);
/// The longest backoff step.
pub const BACKOFF_CAP: Duration = Duration::from_secs(60);
/// A 403 or 429 without a usable Retry-After waits this long.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);
/// How often a refused source checks whether its files changed.
pub const RECHECK: Duration = Duration::from_secs(2);
/// The longest Retry-After honoured.
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Bytes per QRNG Open API block asked for.
const QRNG_BLOCK: usize = 512;
/// The most raw bytes one fetch asks for.
const MAX_CHUNK: usize = 16 * 1024;

/// Why a fetch failed, and what to do.
enum Failure {
    Refused(String),
    Wait(Duration, String),
    Transient(String),
}

struct Inner {
    /// Raw bytes fetched and not yet read; consumed bytes are zeroized.
    buf: Zeroizing<Vec<u8>>,
    state: RemoteState,
    fetches: u64,
    failures: u64,
    bytes: u64,
    last_latency: Option<Duration>,
    last_error: Option<String>,
    retry_at: Option<OffsetDateTime>,
}

/// A remote source's fetcher and buffer. `Send + Sync`; share it in an
/// `Arc`.
pub struct Remote {
    spec: RemoteSpec,
    name: String,
    inner: Mutex<Inner>,
    /// Signalled when bytes arrive or the state changes.
    arrived: Condvar,
    /// Signalled when bytes were taken: the fetcher may refill.
    taken: Notify,
    started: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Remote {
    /// The name and state; never a byte or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("name", &self.name)
            .field("state", &self.lock().state)
            .finish_non_exhaustive()
    }
}

impl Remote {
    pub fn new(spec: RemoteSpec, name: String) -> Remote {
        let capacity = spec.prefetch + chunk_size(spec.prefetch);
        Remote {
            spec,
            name,
            inner: Mutex::new(Inner {
                buf: Zeroizing::new(Vec::with_capacity(capacity)),
                state: RemoteState::Connecting,
                fetches: 0,
                failures: 0,
                bytes: 0,
                last_latency: None,
                last_error: None,
                retry_at: None,
            }),
            arrived: Condvar::new(),
            taken: Notify::new(),
            started: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Starts the fetcher on the current Tokio runtime, once; it ends when
    /// the `Remote` is dropped.
    pub fn start(self: &Arc<Self>) {
        if self.started.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(fetch_loop(weak));
    }

    /// Fills `out` with fetched bytes, waiting at most the source's
    /// timeout, and not at all while the fetcher is failing. `Err` says
    /// why, for an operator.
    pub fn read_exact(&self, out: &mut [u8]) -> std::result::Result<(), String> {
        let deadline = Instant::now() + self.spec.timeout;
        let mut g = self.lock();
        loop {
            if g.buf.len() >= out.len() {
                let n = out.len();
                out.copy_from_slice(&g.buf[..n]);
                super::source::consume(&mut g.buf, n);
                drop(g);
                self.taken.notify_one();
                return Ok(());
            }
            if matches!(
                g.state,
                RemoteState::Refused | RemoteState::Backoff | RemoteState::Waiting
            ) {
                return Err(format!(
                    "{}: {} ({})",
                    self.name,
                    g.state.as_str(),
                    g.last_error.as_deref().unwrap_or("no answer yet")
                ));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "{}: no bytes within {} ms (timeout_ms)",
                    self.name,
                    self.spec.timeout.as_millis()
                ));
            }
            g = self
                .arrived
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Forgets every fetched byte (zeroized): the next read waits for
    /// fresh ones.
    pub fn forget(&self) {
        self.lock().buf.zeroize();
        self.taken.notify_one();
    }

    /// Whether the fetcher is answering and `n` bytes are ready: a failed
    /// source may try its start-up test again.
    pub fn ready_for(&self, n: usize) -> bool {
        let g = self.lock();
        g.state == RemoteState::Ok && g.buf.len() >= n.min(self.spec.prefetch)
    }

    pub fn status(&self) -> RemoteStatus {
        let g = self.lock();
        RemoteStatus {
            state: g.state,
            buffered: g.buf.len() as u64,
            fetches: g.fetches,
            failures: g.failures,
            bytes: g.bytes,
            last_latency_ms: g.last_latency.map(|d| d.as_secs_f64() * 1000.0),
            last_error: g.last_error.clone(),
            retry_at: g.retry_at,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Counters and a buffer only ever changed whole: a panic elsewhere
        // cannot leave them inconsistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a state change and wakes readers.
    fn set(&self, state: RemoteState, error: Option<String>, retry: Option<Duration>) {
        let mut g = self.lock();
        if state != RemoteState::Ok && state != g.state {
            tracing::warn!(source = %self.name, state = state.as_str(),
                error = error.as_deref().unwrap_or(""), "remote entropy source is not delivering");
        } else if state == RemoteState::Ok && g.state != RemoteState::Ok {
            tracing::info!(source = %self.name, "remote entropy source is answering");
        }
        if matches!(
            state,
            RemoteState::Refused | RemoteState::Backoff | RemoteState::Waiting
        ) {
            g.failures += 1;
            // A failing source delivers nothing, not even what it sent
            // before.
            g.buf.zeroize();
        }
        g.state = state;
        if error.is_some() {
            g.last_error = error;
        }
        g.retry_at = retry.map(|d| OffsetDateTime::now_utc() + d);
        drop(g);
        self.arrived.notify_all();
    }
}

/// Raw bytes one fetch asks for: half the buffer, at most [`MAX_CHUNK`], a
/// whole number of QRNG blocks.
fn chunk_size(prefetch: usize) -> usize {
    ((prefetch / 2).min(MAX_CHUNK) / QRNG_BLOCK).max(1) * QRNG_BLOCK
}

/// What the fetcher was built from: a change in either file makes a
/// refused source try again.
#[derive(PartialEq)]
struct Fingerprint([u8; 32]);

fn fingerprint(spec: &RemoteSpec) -> Fingerprint {
    let mut h = Sha256::new();
    for f in [&spec.token_file, &spec.ca_file].into_iter().flatten() {
        match std::fs::read(f) {
            Ok(mut bytes) => {
                h.update(b"1");
                h.update(&bytes);
                bytes.zeroize();
            }
            Err(_) => h.update(b"0"),
        }
    }
    Fingerprint(h.finalize().into())
}

/// A client for `spec`, with its token; `Err` is a settings problem.
fn client(
    spec: &RemoteSpec,
) -> std::result::Result<(reqwest::Client, Option<Zeroizing<String>>), String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?;
    let tls = if let Some(pin) = spec.pin {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned { pin, provider }))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &spec.ca_file {
            Some(path) => {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| format!("reading ca_file {}: {e}", path.display()))?;
                let certs =
                    crate::tls::parse_certificates(&pem, &format!("ca_file {}", path.display()))
                        .map_err(|e| e.to_string())?;
                for der in certs {
                    roots
                        .add(der)
                        .map_err(|e| format!("ca_file {}: not usable: {e}", path.display()))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    let token = match &spec.token_file {
        Some(path) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("reading token_file {}: {e}", path.display()))?,
            );
            let t = text.trim();
            if t.is_empty() || t.contains(char::is_whitespace) {
                return Err(format!(
                    "token_file {} holds no single token",
                    path.display()
                ));
            }
            Some(Zeroizing::new(t.to_string()))
        }
        None => None,
    };
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(spec.connect_timeout)
        .timeout(spec.timeout)
        .tcp_nodelay(true)
        .user_agent(concat!("hsmseed/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    Ok((client, token))
}

/// Trusts exactly the certificate whose DER has this SHA-256; the
/// handshake's signatures are still checked against it.
#[derive(Debug)]
struct Pinned {
    pin: [u8; 32],
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if got == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server certificate (SHA-256 {}) is not the pinned one",
                hex::encode(got)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The fetcher: keeps the buffer full, following the error policy of the
/// module documentation. Ends when the `Remote` is dropped.
async fn fetch_loop(weak: Weak<Remote>) {
    let Some(remote) = weak.upgrade() else { return };
    let spec = remote.spec.clone();
    let chunk = chunk_size(spec.prefetch);
    drop(remote);
    let mut built: Option<(reqwest::Client, Option<Zeroizing<String>>)> = None;
    let mut print = fingerprint(&spec);
    let mut backoff = BACKOFF_FIRST;
    loop {
        let Some(remote) = weak.upgrade() else { return };
        let (state, buffered) = {
            let g = remote.lock();
            (g.state, g.buf.len())
        };
        if state == RemoteState::Refused {
            drop(remote);
            tokio::time::sleep(RECHECK).await;
            let now = fingerprint(&spec);
            if now != print {
                print = now;
                built = None;
                if let Some(r) = weak.upgrade() {
                    r.set(RemoteState::Connecting, None, None);
                }
            }
            continue;
        }
        let full = buffered + chunk > spec.prefetch;
        if full
            && tokio::time::timeout(spec.refresh, remote.taken.notified())
                .await
                .is_ok()
        {
            continue; // a reader took bytes: look again
        }
        // Not full, or still full after `refresh`: fetch anyway, replacing
        // the oldest bytes, so that a server that stopped answering is
        // noticed (and its buffered bytes forgotten) within `refresh`.
        if built.is_none() {
            match client(&spec) {
                Ok(c) => built = Some(c),
                Err(e) => {
                    remote.set(RemoteState::Refused, Some(e), None);
                    continue;
                }
            }
        }
        let Some((http, token)) = built.as_ref() else {
            continue;
        };
        let started = Instant::now();
        let result = fetch(http, token.as_deref().map(|t| t.as_str()), &spec, chunk).await;
        remote.lock().fetches += 1;
        match result {
            Ok(bytes) => {
                backoff = BACKOFF_FIRST;
                {
                    let mut g = remote.lock();
                    g.bytes += bytes.len() as u64;
                    g.last_latency = Some(started.elapsed());
                    // Stays within capacity (prefetch + chunk): the oldest
                    // bytes go first when the buffer is full.
                    if g.buf.len() + bytes.len() > spec.prefetch {
                        let n = g.buf.len() + bytes.len() - spec.prefetch;
                        super::source::consume(&mut g.buf, n);
                    }
                    g.buf.extend_from_slice(&bytes);
                }
                remote.set(RemoteState::Ok, None, None);
            }
            Err(Failure::Refused(e)) => {
                remote.set(RemoteState::Refused, Some(e), None);
                print = fingerprint(&spec);
            }
            Err(Failure::Wait(d, e)) => {
                remote.set(RemoteState::Waiting, Some(e), Some(d));
                drop(remote);
                tokio::time::sleep(d).await;
            }
            Err(Failure::Transient(e)) => {
                let step = backoff;
                backoff = (backoff * 2).min(BACKOFF_CAP);
                let wait = step.mul_f64(rand::thread_rng().gen_range(0.5..=1.0));
                remote.set(RemoteState::Backoff, Some(e), Some(wait));
                drop(remote);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// One fetch of `chunk` raw bytes.
async fn fetch(
    http: &reqwest::Client,
    token: Option<&str>,
    spec: &RemoteSpec,
    chunk: usize,
) -> std::result::Result<Zeroizing<Vec<u8>>, Failure> {
    let url = spec.request_url(chunk);
    let mut req = match spec.protocol {
        RemoteProtocol::Quantis => http.get(url),
        RemoteProtocol::Qrng => {
            let body = serde_json::json!({
                "block_size": QRNG_BLOCK,
                "block_count": chunk / QRNG_BLOCK,
                "entropy_type": "full",
            });
            http.post(url).json(&body)
        }
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
        if spec.protocol == RemoteProtocol::Qrng {
            req = req.header("x-api-key", t);
        }
    }
    let answer = req
        .send()
        .await
        .map_err(|e| Failure::Transient(crate::tls::describe_request_error(&e)))?;
    let status = answer.status();
    if !status.is_success() {
        let what = format!("HTTP {}", status.as_u16());
        return Err(match status {
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
                let wait = retry_after(answer.headers()).unwrap_or(DEFAULT_WAIT);
                Failure::Wait(wait, format!("{what}: asked to wait {} s", wait.as_secs()))
            }
            s if s.is_server_error() => Failure::Transient(what),
            StatusCode::UNAUTHORIZED => Failure::Refused(format!(
                "{what}: the token was refused; fix token_file (it is read again when it changes)"
            )),
            _ => Failure::Refused(format!(
                "{what}: the request was refused; check the URL and the source's options"
            )),
        });
    }
    let body = Zeroizing::new(
        answer
            .bytes()
            .await
            .map_err(|e| Failure::Transient(crate::tls::describe_request_error(&e)))?
            .to_vec(),
    );
    let bytes = match spec.protocol {
        RemoteProtocol::Quantis => body,
        RemoteProtocol::Qrng => decode_qrng(&body).map_err(Failure::Transient)?,
    };
    if bytes.len() != chunk {
        return Err(Failure::Transient(format!(
            "the answer holds {} bytes, not the {chunk} asked for",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// The bytes of `{"entropy": ["<base64>", ...]}`.
fn decode_qrng(body: &[u8]) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        entropy: Vec<String>,
    }
    let mut a: Answer = serde_json::from_slice(body)
        .map_err(|_| "the answer is not a QRNG Open API entropy answer".to_string())?;
    let mut out = Zeroizing::new(Vec::new());
    for block in &a.entropy {
        let mut b = base64::engine::general_purpose::STANDARD
            .decode(block)
            .map_err(|_| "an entropy block is not base64".to_string())?;
        out.extend_from_slice(&b);
        b.zeroize();
    }
    for block in &mut a.entropy {
        block.zeroize();
    }
    Ok(out)
}

/// Retry-After in seconds (an HTTP date is not honoured: the default wait
/// applies).
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = h
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_WAIT))
}

#[cfg(test)]
mod tests;
