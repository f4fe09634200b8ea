//! A small closed-loop HTTP load generator: N clients, each with its own
//! keep-alive connection, for a fixed time, on 127.0.0.1 only.
//!
//! Two kinds of client, checked against the server's own certificate:
//! * API clients ([`run`]): a pooled HTTP client each (reqwest, as scripts
//!   and automation use), one keep-alive connection in its pool;
//! * browser tabs ([`run_browsers`]): one HTTP/1.1 connection each (hyper's
//!   own), held and reused for every page as a browser does. A pooled
//!   client loading pages opened a new connection for about one page in
//!   five (2,373 connects for 10,800 dashboard views): its next request
//!   went out before the pool had taken back the connection of a streamed
//!   answer, so TLS handshakes no browser makes were charged to the page.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

/// The server under load: its address and a TLS client that trusts its
/// certificate (`tls/server.pem` in its data directory).
#[derive(Clone)]
pub struct Target {
    pub url: String,
    tls: tokio_rustls::TlsConnector,
}

impl Target {
    pub fn new(url: String, data_dir: &Path) -> anyhow::Result<Target> {
        let pem = std::fs::read_to_string(data_dir.join("tls").join("server.pem"))
            .context("reading the server's certificate")?;
        let mut roots = rustls::RootCertStore::empty();
        for der in engine::tls::parse_certificates(&pem, "the server's certificate")? {
            roots.add(der)?;
        }
        let mut config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Target {
            url,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// One browser tab's connection, with the header it authenticates by.
    async fn connect(&self, auth: Option<&Auth>) -> anyhow::Result<Tab> {
        let authority = self
            .url
            .strip_prefix("https://")
            .context("the server's URL is not https")?
            .to_string();
        let tcp = tokio::net::TcpStream::connect(&authority).await?;
        tcp.set_nodelay(true)?;
        let host = authority.rsplit_once(':').map_or(&*authority, |(h, _)| h);
        let name = rustls::pki_types::ServerName::try_from(host.to_string())?;
        let tls = self.tls.connect(name, tcp).await?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(conn);
        let auth = match auth {
            None => None,
            Some(Auth::Bearer(t)) => Some((
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(&format!("Bearer {t}"))?,
            )),
            Some(Auth::Cookie(jar)) => {
                use reqwest::cookie::CookieStore as _;
                let cookie = jar
                    .cookies(&self.url.parse()?)
                    .context("no session cookie")?;
                Some((http::header::COOKIE, cookie))
            }
        };
        Ok(Tab {
            send,
            authority,
            auth,
        })
    }
}

/// One browser tab: its connection and how it authenticates.
struct Tab {
    send: SendRequest<Empty<Bytes>>,
    authority: String,
    auth: Option<(http::HeaderName, http::HeaderValue)>,
}

#[derive(Debug, Clone, Copy)]
pub enum Method {
    Get,
    Post,
}

#[derive(Debug, Clone)]
pub enum Auth {
    Bearer(String),
    Cookie(Arc<reqwest::cookie::Jar>),
}

/// A pooled client (an API client's, or the sign-in's).
fn client(auth: Option<&Auth>) -> anyhow::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .http1_only()
        .pool_max_idle_per_host(1)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(Auth::Cookie(jar)) = auth {
        b = b.cookie_provider(jar.clone());
    }
    Ok(b.build()?)
}

/// Signs in and returns the cookie jar holding the session.
pub async fn login(
    url: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<Arc<reqwest::cookie::Jar>> {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let c = client(Some(&Auth::Cookie(jar.clone())))?;
    let r = c
        .post(format!("{url}/login"))
        .header("origin", url)
        .form(&[("username", user), ("password", password)])
        .send()
        .await?;
    anyhow::ensure!(
        r.headers().get("location").and_then(|v| v.to_str().ok()) == Some("/"),
        "sign-in failed"
    );
    Ok(jar)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One client of a load.
enum Client {
    Api {
        http: reqwest::Client,
        url: String,
        auth: Option<Auth>,
    },
    Browser(Tab),
}

impl Client {
    async fn send(&mut self, path: &str, method: Method) -> anyhow::Result<bool> {
        match self {
            Client::Api { http, url, auth } => {
                send(http, &format!("{url}{path}"), method, auth.as_ref()).await
            }
            Client::Browser(tab) => tab.send(path, method).await,
        }
    }
}

/// Runs `clients` API clients' loops of requests for `duration`; answers
/// requests per second, p50 and p99 latency (ms), the count of non-2xx
/// answers (and failed requests).
pub async fn run(
    target: &Target,
    path: &str,
    method: Method,
    auth: Option<Auth>,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Value> {
    let mut pool = Vec::with_capacity(clients);
    for _ in 0..clients {
        pool.push(Client::Api {
            http: client(auth.as_ref())?,
            url: target.url.clone(),
            auth: auth.clone(),
        });
    }
    closed_loop(target, pool, path, method, None, duration).await
}

/// [`run`] for `clients` browser tabs loading the page `path`; also
/// answers how many connections were opened again (after one failed).
pub async fn run_browsers(
    target: &Target,
    path: &str,
    auth: Option<Auth>,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Value> {
    let mut pool = Vec::with_capacity(clients);
    for _ in 0..clients {
        pool.push(Client::Browser(target.connect(auth.as_ref()).await?));
    }
    closed_loop(target, pool, path, Method::Get, auth, duration).await
}

/// The clients of `pool` send `path` again and again until `duration` is
/// over, each its next request once its last answer is read. A browser
/// whose request failed opens its connection again (with `auth`).
async fn closed_loop(
    target: &Target,
    pool: Vec<Client>,
    path: &str,
    method: Method,
    auth: Option<Auth>,
    duration: Duration,
) -> anyhow::Result<Value> {
    let clients = pool.len();
    let mut warm = Vec::with_capacity(clients);
    // Warm up the connections first, outside the measurement.
    for mut c in pool {
        anyhow::ensure!(c.send(path, method).await?, "{path}: not a 2xx answer");
        warm.push(c);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    let target = Arc::new(target.clone());
    for mut c in warm {
        let (path, auth, target) = (path.to_string(), auth.clone(), target.clone());
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let (mut errors, mut reconnects) = (0u64, 0u64);
            while Instant::now() < deadline {
                let t = Instant::now();
                match c.send(&path, method).await {
                    Ok(true) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    Ok(false) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        if let Client::Browser(tab) = &mut c {
                            match target.connect(auth.as_ref()).await {
                                Ok(fresh) => *tab = fresh,
                                Err(_) => break,
                            }
                            reconnects += 1;
                        }
                    }
                }
            }
            (lat, errors, reconnects)
        });
    }
    let mut all = Vec::new();
    let (mut errors, mut reconnects) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let (lat, e, n) = r?;
        all.extend(lat);
        errors += e;
        reconnects += n;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.total_cmp(b));
    let mut out = json!({
        "clients": clients,
        "seconds": elapsed,
        "requests": all.len(),
        "errors": errors,
        "per_s": all.len() as f64 / elapsed,
        "p50_ms": percentile(&all, 0.50),
        "p99_ms": percentile(&all, 0.99),
    });
    if reconnects > 0 {
        out["reconnects"] = json!(reconnects);
    }
    Ok(out)
}

/// The round with the median throughput, with every round's throughput
/// beside it (`rounds_per_s`).
pub fn median_round(mut rounds: Vec<Value>) -> Value {
    let per_s = |v: &Value| v["per_s"].as_f64().unwrap_or(0.0);
    let all: Vec<f64> = rounds.iter().map(per_s).collect();
    rounds.sort_by(|a, b| per_s(a).total_cmp(&per_s(b)));
    let mut median = rounds.swap_remove(rounds.len() / 2);
    median["rounds_per_s"] = json!(all);
    median
}

impl Tab {
    /// One request; its answer read to the end. `Ok(false)`: not a 2xx.
    async fn send(&mut self, path: &str, method: Method) -> anyhow::Result<bool> {
        // Ready once the last answer was read: the same connection again.
        self.send.ready().await?;
        let mut req = http::Request::builder()
            .method(match method {
                Method::Get => http::Method::GET,
                Method::Post => http::Method::POST,
            })
            .uri(path)
            .header(http::header::HOST, &self.authority);
        if let Some((name, value)) = &self.auth {
            req = req.header(name, value);
        }
        let answer = self.send.send_request(req.body(Empty::new())?).await?;
        let ok = answer.status().is_success();
        answer.into_body().collect().await?;
        Ok(ok)
    }
}

/// One request of an API client; its answer read to the end.
async fn send(
    c: &reqwest::Client,
    target: &str,
    method: Method,
    auth: Option<&Auth>,
) -> anyhow::Result<bool> {
    let mut req = match method {
        Method::Get => c.get(target),
        Method::Post => c.post(target),
    };
    if let Some(Auth::Bearer(t)) = auth {
        req = req.bearer_auth(t);
    }
    let r = req.send().await?;
    let ok = r.status().is_success();
    let _ = r.bytes().await?;
    Ok(ok)
}
