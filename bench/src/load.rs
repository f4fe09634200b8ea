//! A small closed-loop HTTP load generator: N clients, each with its own
//! keep-alive connection, for a fixed time, on 127.0.0.1 only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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

/// Runs `clients` loops of requests for `duration`; answers requests per
/// second, p50 and p99 latency (ms) and the count of non-2xx answers.
pub async fn run(
    url: &str,
    path: &str,
    method: Method,
    auth: Option<Auth>,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Value> {
    let target = format!("{url}{path}");
    // Warm up the connections first, outside the measurement.
    let mut pool = Vec::with_capacity(clients);
    for _ in 0..clients {
        let c = client(auth.as_ref())?;
        send(&c, &target, method, auth.as_ref()).await?;
        pool.push(c);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for c in pool {
        let (target, auth) = (target.clone(), auth.clone());
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                match send(&c, &target, method, auth.as_ref()).await {
                    Ok(true) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        });
    }
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (lat, e) = r?;
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.total_cmp(b));
    Ok(json!({
        "clients": clients,
        "seconds": elapsed,
        "requests": all.len(),
        "errors": errors,
        "per_s": all.len() as f64 / elapsed,
        "p50_ms": percentile(&all, 0.50),
        "p99_ms": percentile(&all, 0.99),
    }))
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
