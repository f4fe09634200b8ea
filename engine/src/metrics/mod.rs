//! Prometheus metrics, kept by the engine and rendered as text: reseeds by
//! configuration, outcome and trigger, their duration, entropy health-test
//! failures, whether the entropy source is up, the next scheduled round,
//! and the build. Labels carry names and codes, never a secret.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the reseed duration histogram.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Reseeds of one configuration by (outcome, trigger).
type SeedCounts = BTreeMap<(&'static str, &'static str), u64>;

#[derive(Default)]
pub struct Metrics {
    /// Reseeds by configuration, then by (outcome, trigger): a reseed of a
    /// known configuration counts without allocating.
    seeds: Mutex<BTreeMap<String, SeedCounts>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    entropy_failures: Mutex<BTreeMap<(String, String), u64>>,
    /// Alerts sent, by (channel, delivered).
    alerts: Mutex<BTreeMap<(&'static str, bool), u64>>,
    /// Random-number answers by endpoint: (requests, bytes).
    random: Mutex<BTreeMap<&'static str, (u64, u64)>>,
}

/// What the engine knows at render time.
pub struct Gauges {
    pub entropy_up: bool,
    /// Every entropy source, in settings order.
    pub sources: Vec<types::entropy::EntropyStatus>,
    pub next_run_unix: Option<f64>,
    /// The appliance's state and its configurations by state (none when
    /// the database could not say).
    pub health: Option<(types::status::ApplianceState, types::status::ConfigCounts)>,
}

/// A per-source metric: name, type, help, and its value for a source
/// (`None`: not shown for that source).
type SourceMetric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&types::entropy::EntropyStatus) -> Option<f64>,
);

/// Escapes a label value (backslash, double quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn observe_seed(
        &self,
        hsm: &str,
        outcome: &'static str,
        trigger: &'static str,
        took: Duration,
    ) {
        self.count_seed(hsm, outcome, trigger);
        let secs = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            took.as_micros().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
    }

    /// Counts a reseed that never reached the HSM (a `held` round), so
    /// out of the duration histogram.
    pub fn count_seed(&self, hsm: &str, outcome: &'static str, trigger: &'static str) {
        let mut m = self.seeds.lock().unwrap_or_else(|p| p.into_inner());
        match m.get_mut(hsm) {
            Some(counts) => *counts.entry((outcome, trigger)).or_default() += 1,
            None => {
                m.insert(hsm.to_owned(), SeedCounts::from([((outcome, trigger), 1)]));
            }
        }
    }

    pub fn observe_entropy_failure(&self, test: &str, kind: &str) {
        let mut m = self
            .entropy_failures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *m.entry((test.to_string(), kind.to_string())).or_default() += 1;
    }

    pub fn count_alert(&self, channel: &'static str, delivered: bool) {
        let mut m = self.alerts.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((channel, delivered)).or_default() += 1;
    }

    pub fn count_random(&self, endpoint: &'static str, bytes: usize) {
        let mut m = self.random.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry(endpoint).or_default();
        e.0 += 1;
        e.1 += bytes as u64;
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP hsmseed_seeds_total Reseeds attempted, by configuration, outcome and trigger."
        );
        let _ = writeln!(out, "# TYPE hsmseed_seeds_total counter");
        let seeds = self.seeds.lock().unwrap_or_else(|p| p.into_inner());
        for (hsm, counts) in seeds.iter() {
            for ((outcome, trigger), n) in counts {
                let _ = writeln!(
                    out,
                    "hsmseed_seeds_total{{hsm=\"{}\",outcome=\"{outcome}\",trigger=\"{trigger}\"}} {n}",
                    label(hsm)
                );
            }
        }
        drop(seeds);
        let _ = writeln!(out, "# HELP hsmseed_seed_duration_seconds Time of one reseed, entropy and PKCS#11 included.");
        let _ = writeln!(out, "# TYPE hsmseed_seed_duration_seconds histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "hsmseed_seed_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "hsmseed_seed_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "hsmseed_seed_duration_seconds_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "hsmseed_seed_duration_seconds_count {count}");
        let _ = writeln!(out, "# HELP hsmseed_entropy_health_failures_total Entropy health-test failures, by test and kind.");
        let _ = writeln!(out, "# TYPE hsmseed_entropy_health_failures_total counter");
        for ((test, kind), n) in self
            .entropy_failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "hsmseed_entropy_health_failures_total{{test=\"{}\",kind=\"{}\"}} {n}",
                label(test),
                label(kind)
            );
        }
        let _ = writeln!(out, "# HELP hsmseed_alerts_total Alerts sent, by channel and outcome (delivered or failed, after retries).");
        let _ = writeln!(out, "# TYPE hsmseed_alerts_total counter");
        for ((channel, delivered), n) in
            self.alerts.lock().unwrap_or_else(|p| p.into_inner()).iter()
        {
            let outcome = if *delivered { "delivered" } else { "failed" };
            let _ = writeln!(
                out,
                "hsmseed_alerts_total{{channel=\"{channel}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP hsmseed_random_requests_total Random-number answers served, by endpoint."
        );
        let _ = writeln!(out, "# TYPE hsmseed_random_requests_total counter");
        let random = self
            .random
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (endpoint, (n, _)) in &random {
            let _ = writeln!(
                out,
                "hsmseed_random_requests_total{{endpoint=\"{endpoint}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP hsmseed_random_bytes_total Checked random bytes drawn for random-number answers, by endpoint.");
        let _ = writeln!(out, "# TYPE hsmseed_random_bytes_total counter");
        for (endpoint, (_, bytes)) in &random {
            let _ = writeln!(
                out,
                "hsmseed_random_bytes_total{{endpoint=\"{endpoint}\"}} {bytes}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP hsmseed_entropy_source_up 1 when the entropy source is healthy and delivering."
        );
        let _ = writeln!(out, "# TYPE hsmseed_entropy_source_up gauge");
        let _ = writeln!(out, "hsmseed_entropy_source_up {}", u8::from(g.entropy_up));
        let per_source: [SourceMetric; 5] = [
            (
                "hsmseed_entropy_source_healthy",
                "gauge",
                "1 when this source is healthy and delivering.",
                |s| {
                    Some(f64::from(u8::from(
                        s.state == types::entropy::EntropyState::Ok,
                    )))
                },
            ),
            (
                "hsmseed_entropy_source_bytes_total",
                "counter",
                "Raw bytes read from this source.",
                |s| Some(s.bytes_read as f64),
            ),
            (
                "hsmseed_entropy_source_failures_total",
                "counter",
                "Times this source failed (health tests, I/O, start-up tests).",
                |s| Some(s.permanent_failures as f64),
            ),
            (
                "hsmseed_entropy_remote_fetch_failures_total",
                "counter",
                "Failed requests to this remote source.",
                |s| s.remote.as_ref().map(|r| r.failures as f64),
            ),
            (
                "hsmseed_entropy_remote_latency_seconds",
                "gauge",
                "The last successful request to this remote source, in seconds.",
                |s| {
                    s.remote
                        .as_ref()
                        .and_then(|r| r.last_latency_ms)
                        .map(|ms| ms / 1000.0)
                },
            ),
        ];
        for (name, kind, help, value) in per_source {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for src in &g.sources {
                if let Some(v) = value(src) {
                    let _ = writeln!(out, "{name}{{source=\"{}\"}} {v}", label(&src.source));
                }
            }
        }
        let _ = writeln!(out, "# HELP hsmseed_scheduler_next_run_timestamp_seconds When the next scheduled round runs (0: scheduler off).");
        let _ = writeln!(
            out,
            "# TYPE hsmseed_scheduler_next_run_timestamp_seconds gauge"
        );
        let _ = writeln!(
            out,
            "hsmseed_scheduler_next_run_timestamp_seconds {}",
            g.next_run_unix.unwrap_or(0.0)
        );
        if let Some((state, counts)) = &g.health {
            let _ = writeln!(out, "# HELP hsmseed_degraded 1 when an enabled configuration is failing or held (see /api/2.0/status).");
            let _ = writeln!(out, "# TYPE hsmseed_degraded gauge");
            let degraded = *state == types::status::ApplianceState::Degraded;
            let _ = writeln!(out, "hsmseed_degraded {}", u8::from(degraded));
            let _ = writeln!(
                out,
                "# HELP hsmseed_configurations HSM configurations by state."
            );
            let _ = writeln!(out, "# TYPE hsmseed_configurations gauge");
            for &st in types::hsm::ConfigState::ALL {
                let _ = writeln!(
                    out,
                    "hsmseed_configurations{{state=\"{st}\"}} {}",
                    counts.get(st)
                );
            }
        }
        let _ = writeln!(out, "# HELP hsmseed_build_info The running build.");
        let _ = writeln!(out, "# TYPE hsmseed_build_info gauge");
        let _ = writeln!(
            out,
            "hsmseed_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.observe_seed("HSM1", "ok", "api", Duration::from_micros(800));
        m.observe_seed("HSM1", "ok", "api", Duration::from_millis(3));
        m.observe_seed("HSM\"2", "error", "schedule", Duration::from_secs(20));
        m.observe_entropy_failure("repetition count", "permanent");
        let counts = types::status::ConfigCounts {
            total: 3,
            ok: 2,
            failing: 1,
            ..Default::default()
        };
        let text = m.render(&Gauges {
            sources: Vec::new(),
            entropy_up: false,
            next_run_unix: Some(1_800_000_000.0),
            health: Some((types::status::ApplianceState::Degraded, counts)),
        });
        assert!(text.contains("hsmseed_degraded 1\n"));
        assert!(text.contains("hsmseed_configurations{state=\"failing\"} 1\n"));
        assert!(text.contains("hsmseed_configurations{state=\"ok\"} 2\n"));
        assert!(text.contains("hsmseed_configurations{state=\"held\"} 0\n"));
        assert!(
            text.contains("hsmseed_seeds_total{hsm=\"HSM1\",outcome=\"ok\",trigger=\"api\"} 2\n")
        );
        assert!(text.contains(
            "hsmseed_seeds_total{hsm=\"HSM\\\"2\",outcome=\"error\",trigger=\"schedule\"} 1\n"
        ));
        assert!(text.contains("hsmseed_seed_duration_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("hsmseed_seed_duration_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("hsmseed_seed_duration_seconds_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("hsmseed_seed_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("hsmseed_seed_duration_seconds_count 3\n"));
        assert!(text.contains("hsmseed_entropy_health_failures_total{test=\"repetition count\",kind=\"permanent\"} 1\n"));
        assert!(text.contains("hsmseed_entropy_source_up 0\n"));
        assert!(text.contains("hsmseed_scheduler_next_run_timestamp_seconds 1800000000\n"));
        assert!(text.contains("hsmseed_build_info{version=\""));
    }
}
