//! The entropy capability: the configured sources, run off the runtime
//! when they may block, mixed as `entropy_mix` says, with their events
//! logged, counted and recorded.
//!
//! A remote source that failed comes back by itself: a supervisor task
//! fails an `ok` remote source as soon as its fetcher stops answering, and
//! runs a new start-up test once the fetcher answers again (no sooner than
//! [`RETRY_FIRST`] after the last try, doubling to [`RETRY_CAP`] while the
//! tests keep failing). A local source comes back by an admin action or a
//! restart, as before.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::condition::mix;
use super::remote::RemoteState;
use super::{
    EntropyEventKind, EntropySource, EntropyState, EntropyStatus, HealthConfig, MAX_SEED_LEN,
    STARTUP_SAMPLES,
};
use crate::audit::Actor;
use crate::clock::unix_ms;
use crate::config::{EntropyMix, EntropySourceKind};
use crate::core::Core;
use crate::error::{Error, Result};

/// Random answers up to this size from the kernel CSPRNG are made on the
/// runtime's thread.
const INLINE_RANDOM: usize = 64 * 1024;
/// How often the supervisor looks at the remote sources.
const SUPERVISE_EVERY: Duration = Duration::from_millis(250);
/// The first wait before a failed remote source's start-up test is tried
/// again, and the longest.
pub const RETRY_FIRST: Duration = Duration::from_secs(1);
pub const RETRY_CAP: Duration = Duration::from_secs(300);

/// Whether every one of `sources` is the kernel CSPRNG, which answers at
/// once (no device or network read).
fn all_os(sources: &[Arc<EntropySource>]) -> bool {
    sources
        .iter()
        .all(|s| matches!(s.kind(), EntropySourceKind::Os))
}

/// A seed and the sources it was extracted from.
pub struct Seed {
    pub bytes: Zeroizing<Vec<u8>>,
    /// The names of the contributing sources, in settings order.
    pub sources: Vec<String>,
}

struct Inner {
    core: Core,
    sources: Vec<Arc<EntropySource>>,
    mix: EntropyMix,
    /// Per source: when a failed remote source may be tried again, and the
    /// wait after that.
    retry: Mutex<Vec<(Instant, Duration)>>,
    supervised: std::sync::atomic::AtomicBool,
}

#[derive(Clone)]
pub struct Entropy(Arc<Inner>);

impl Entropy {
    pub(crate) fn new(core: Core) -> Entropy {
        let s = core.settings();
        let cfg = HealthConfig {
            min_entropy_per_byte: s.entropy_min_entropy,
            full_entropy: s.entropy_full_entropy,
            raw_per_output_byte: s.entropy_condition_ratio as usize,
        };
        let sources: Vec<Arc<EntropySource>> = s
            .entropy_source
            .iter()
            .map(|kind| {
                // A remote source is a QRNG whose output the health tests
                // judge: conditioned, never declared full-entropy.
                let cfg = match kind {
                    EntropySourceKind::Remote(_) => HealthConfig {
                        full_entropy: false,
                        ..cfg
                    },
                    _ => cfg,
                };
                Arc::new(EntropySource::new(kind.clone(), cfg, core.clock().clone()))
            })
            .collect();
        let now = Instant::now();
        Entropy(Arc::new(Inner {
            retry: Mutex::new(vec![(now, RETRY_FIRST); sources.len()]),
            mix: s.entropy_mix,
            sources,
            core,
            supervised: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// Every source's state, in settings order.
    pub fn sources(&self) -> Vec<EntropyStatus> {
        self.0.sources.iter().map(|s| s.status()).collect()
    }

    pub fn mix(&self) -> EntropyMix {
        self.0.mix
    }

    /// The sources together: `ok` when a seed can be made as `entropy_mix`
    /// asks (with one source, that source's own status).
    pub fn status(&self) -> EntropyStatus {
        let all = self.sources();
        if all.len() == 1 {
            return all.into_iter().next().unwrap_or_else(|| unreachable!());
        }
        let ok = all.iter().filter(|s| s.state == EntropyState::Ok).count();
        let state = match self.0.mix {
            EntropyMix::All if ok == all.len() => EntropyState::Ok,
            EntropyMix::Any if ok > 0 => EntropyState::Ok,
            _ if all.iter().any(|s| s.state == EntropyState::Failed) => EntropyState::Failed,
            _ => EntropyState::Starting,
        };
        let first = &all[0];
        EntropyStatus {
            source: all
                .iter()
                .map(|s| s.source.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            state,
            min_entropy_per_byte: all
                .iter()
                .map(|s| s.min_entropy_per_byte)
                .fold(0.0, f64::max),
            full_entropy: all.iter().all(|s| s.full_entropy),
            rct_cutoff: first.rct_cutoff,
            apt_cutoff: first.apt_cutoff,
            bytes_read: all.iter().map(|s| s.bytes_read).sum(),
            blocks_tested: all.iter().map(|s| s.blocks_tested).sum(),
            blocks_discarded: all.iter().map(|s| s.blocks_discarded).sum(),
            permanent_failures: all.iter().map(|s| s.permanent_failures).sum(),
            last_failure: all
                .iter()
                .filter_map(|s| s.last_failure.clone())
                .max_by_key(|f| f.at),
            remote: None,
        }
    }

    /// The sources' names, as the settings give them.
    pub fn source_names(&self) -> Vec<String> {
        self.0
            .sources
            .iter()
            .map(|s| s.kind().to_string())
            .collect()
    }

    /// Runs a fresh start-up test of every source: how a failed source
    /// comes back (an admin action, or a restart).
    pub async fn restart(&self, actor: &Actor) -> Result<()> {
        let target = self.source_names().join(", ");
        self.0
            .core
            .audited(actor, "entropy.restart", &target, async {
                self.startup().await?;
                // With `any`, some may still be failed: say which.
                let down: Vec<String> = self
                    .sources()
                    .into_iter()
                    .filter(|s| s.state != EntropyState::Ok)
                    .map(|s| s.source)
                    .collect();
                let detail = if down.is_empty() {
                    "start-up test passed".to_string()
                } else {
                    format!("start-up test passed; still failed: {}", down.join(", "))
                };
                Ok(((), detail))
            })
            .await
    }

    /// Runs `op` on the sources, on the runtime's thread when `inline` (it
    /// cannot block for long), else on a blocking thread; then records
    /// what the sources reported meanwhile.
    async fn run<T: Send + 'static>(
        &self,
        inline: bool,
        op: impl FnOnce(&[Arc<EntropySource>]) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let r = if inline {
            op(&self.0.sources)
        } else {
            let sources = self.0.sources.clone();
            tokio::task::spawn_blocking(move || op(&sources)).await?
        };
        self.record_events().await;
        r
    }

    /// The start-up test of every source, as run when the engine opens;
    /// starts the remote fetchers and their supervisor. Fails when the
    /// sources cannot make a seed as `entropy_mix` asks.
    pub(crate) async fn startup(&self) -> Result<()> {
        for s in &self.0.sources {
            if let Some(r) = s.remote() {
                r.start();
            }
        }
        self.supervise();
        let results = self
            .run(false, |sources| {
                Ok(sources.iter().map(|s| s.startup_test()).collect::<Vec<_>>())
            })
            .await?;
        let mut failed = results.into_iter().filter_map(|r| r.err());
        match (self.0.mix, failed.next()) {
            (_, None) => Ok(()),
            (EntropyMix::All, Some(e)) => Err(e),
            (EntropyMix::Any, Some(e)) if self.status().state != EntropyState::Ok => Err(e),
            (EntropyMix::Any, Some(_)) => Ok(()),
        }
    }

    /// The sources a seed is taken from now: every one (`all`, failing
    /// unless each is `ok`) or the `ok` ones (`any`, at least one).
    fn chosen(&self) -> Result<Vec<Arc<EntropySource>>> {
        let sources = &self.0.sources;
        if let [one] = sources.as_slice() {
            // One source: its own words when it cannot deliver.
            one.ensure_ok()?;
            return Ok(vec![one.clone()]);
        }
        let (ok, down): (Vec<_>, Vec<_>) = sources
            .iter()
            .cloned()
            .partition(|s| s.state() == EntropyState::Ok);
        let why = || {
            down.iter()
                .filter_map(|s| match s.ensure_ok() {
                    Err(Error::EntropyFailed(why)) => Some(why),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        if self.0.mix == EntropyMix::All && !down.is_empty() {
            return Err(Error::EntropyFailed(format!(
                "{} (entropy_mix = all: every source must be healthy; nothing is delivered)",
                why()
            )));
        }
        if ok.is_empty() {
            return Err(Error::EntropyFailed(format!(
                "no entropy source is healthy ({}); nothing is delivered",
                why()
            )));
        }
        Ok(ok)
    }

    /// `len` bytes of checked entropy extracted from the chosen sources
    /// (see [`mix`]); fails closed.
    fn take(chosen: &[Arc<EntropySource>], mix_policy: EntropyMix, len: usize) -> Result<Seed> {
        let mut shares = Vec::with_capacity(chosen.len());
        let mut names = Vec::with_capacity(chosen.len());
        let mut last_error = None;
        for s in chosen {
            match s.seed(len) {
                Ok(b) => {
                    shares.push(b);
                    names.push(s.kind().to_string());
                }
                Err(e) if mix_policy == EntropyMix::All || chosen.len() == 1 => return Err(e),
                Err(e) => last_error = Some(e),
            }
        }
        if shares.is_empty() {
            return Err(last_error.unwrap_or_else(|| {
                Error::EntropyFailed("no entropy source is healthy; nothing is delivered".into())
            }));
        }
        Ok(Seed {
            bytes: mix(&shares, len)?,
            sources: names,
        })
    }

    /// `len` bytes of checked, conditioned entropy, with the sources it
    /// came from; fails closed.
    pub(crate) async fn seed(&self, len: usize) -> Result<Seed> {
        let chosen = self.chosen()?;
        // The kernel CSPRNG answers at once; a device or a network may
        // block.
        let inline = all_os(&chosen);
        let policy = self.0.mix;
        self.run(inline, move |_| Self::take(&chosen, policy, len))
            .await
    }

    /// `len` checked random bytes for a client (random-number endpoints),
    /// made as seeds are, in pieces of at most [`MAX_SEED_LEN`]; fails
    /// closed. Counted in the metrics by `endpoint`.
    pub async fn random(&self, len: usize, endpoint: &'static str) -> Result<Zeroizing<Vec<u8>>> {
        self.random_from(None, len, endpoint).await
    }

    /// [`random`](Self::random) from the source named `only` (its checked
    /// output alone), or from the mix when `None`.
    pub async fn random_from(
        &self,
        only: Option<&str>,
        len: usize,
        endpoint: &'static str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let chosen = match only {
            None => self.chosen()?,
            Some(name) => {
                let s = self
                    .0
                    .sources
                    .iter()
                    .find(|s| s.kind().to_string() == name)
                    .ok_or_else(|| Error::NotFound(format!("no entropy source `{name}`")))?;
                vec![s.clone()]
            }
        };
        // The kernel CSPRNG answers at once (a few KiB on the runtime); a
        // device, a network, or a large answer goes off it.
        let inline = len <= INLINE_RANDOM && all_os(&chosen);
        let policy = self.0.mix;
        let r = self
            .run(inline, move |_| {
                if let [one] = chosen.as_slice() {
                    // One source: its own random bytes (see
                    // `EntropySource::random`).
                    let mut out = Zeroizing::new(vec![0u8; len]);
                    one.random(&mut out)?;
                    return Ok(out);
                }
                let mut out = Zeroizing::new(Vec::with_capacity(len));
                while out.len() < len {
                    let piece = Self::take(&chosen, policy, (len - out.len()).min(MAX_SEED_LEN))?;
                    out.extend_from_slice(&piece.bytes);
                }
                Ok(out)
            })
            .await;
        if r.is_ok() {
            self.0.core.metrics().count_random(endpoint, len);
        }
        r
    }

    /// Starts the supervisor of the remote sources, once, when there is
    /// one; it ends with the engine.
    fn supervise(&self) {
        let remote = self.0.sources.iter().any(|s| s.remote().is_some());
        if !remote
            || self
                .0
                .supervised
                .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SUPERVISE_EVERY).await;
                let Some(inner) = weak.upgrade() else { return };
                Entropy(inner).supervise_once().await;
            }
        });
    }

    /// One look at the remote sources (see the module documentation).
    async fn supervise_once(&self) {
        for (i, s) in self.0.sources.iter().enumerate() {
            let Some(remote) = s.remote() else { continue };
            let fetcher = remote.status();
            let failing = matches!(
                fetcher.state,
                RemoteState::Refused | RemoteState::Backoff | RemoteState::Waiting
            );
            let state = s.state();
            if state == EntropyState::Ok && failing {
                let detail = format!(
                    "{} stopped answering: {} ({})",
                    s.kind(),
                    fetcher.state,
                    fetcher.last_error.as_deref().unwrap_or("no detail")
                );
                let s = s.clone();
                let _ = tokio::task::spawn_blocking(move || s.fail_unavailable(detail)).await;
                self.record_events().await;
                continue;
            }
            if state == EntropyState::Ok || !remote.ready_for(STARTUP_SAMPLES) {
                continue;
            }
            let now = Instant::now();
            let due = {
                let r = self.0.retry.lock().unwrap_or_else(|p| p.into_inner());
                r.get(i).is_some_and(|(at, _)| now >= *at)
            };
            if !due {
                continue;
            }
            let src = s.clone();
            let passed = tokio::task::spawn_blocking(move || src.startup_test())
                .await
                .is_ok_and(|r| r.is_ok());
            self.record_events().await;
            let mut r = self.0.retry.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(slot) = r.get_mut(i) {
                *slot = if passed {
                    (Instant::now(), RETRY_FIRST)
                } else {
                    (Instant::now() + slot.1, (slot.1 * 2).min(RETRY_CAP))
                };
            }
        }
    }

    async fn record_events(&self) {
        for s in &self.0.sources {
            self.record_events_of(s).await;
        }
    }

    async fn record_events_of(&self, s: &EntropySource) {
        let events = s.drain_events();
        if events.is_empty() {
            return;
        }
        let core = &self.0.core;
        let source = s.kind().to_string();
        for e in events {
            let kind = e.kind.as_str();
            let test = e
                .test
                .map(|t| t.to_string())
                .unwrap_or_else(|| "none".into());
            if matches!(e.kind, EntropyEventKind::StartupPassed) {
                tracing::info!(source = %source, detail = %e.detail, "entropy source passed its start-up test");
            } else {
                core.metrics().observe_entropy_failure(&test, kind);
                tracing::warn!(source = %source, kind = %kind, test = %test, detail = %e.detail, "entropy source event");
            }
            let r = super::repo::record_event(
                core.store().pool(),
                unix_ms(e.at),
                &source,
                kind,
                &test,
                &e.detail,
            )
            .await;
            if let Err(err) = r {
                tracing::error!(error = %err, "entropy event could not be recorded");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use rand::RngCore;

    use crate::clock::ManualClock;
    use crate::config::{EntropyMix, EntropySourceKind, Settings};
    use crate::entropy::EntropyState;
    use crate::Engine;

    /// A device file: `good` random bytes, then `stuck` equal ones.
    fn device(dir: &Path, name: &str, good: usize, stuck: usize) -> EntropySourceKind {
        let mut bytes = vec![0u8; good];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        bytes.extend(std::iter::repeat_n(0x33u8, stuck));
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        EntropySourceKind::Device(path)
    }

    async fn engine(dir: &Path, sources: Vec<EntropySourceKind>, mix: EntropyMix) -> Engine {
        let mut s = Settings::for_data_dir(dir.join("data"));
        s.entropy_source = sources;
        s.entropy_mix = mix;
        s.entropy_condition_ratio = 2;
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        Engine::open_with_clock(s, clock).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_healthy_source_contributes_to_each_seed() {
        let dir = tempfile::tempdir().unwrap();
        let dev = device(dir.path(), "qrandom0", 1 << 20, 0);
        let e = engine(
            dir.path(),
            vec![EntropySourceKind::Os, dev.clone()],
            EntropyMix::All,
        )
        .await;
        let seed = e.entropy().seed(32).await.unwrap();
        assert_eq!(seed.sources, vec!["os".to_string(), dev.to_string()]);
        assert_eq!(e.entropy().status().state, EntropyState::Ok);
        assert_eq!(e.entropy().sources().len(), 2);
        // 64 raw bytes a seed, read in blocks of 512.
        let before = e.entropy().sources()[1].bytes_read;
        for _ in 0..16 {
            e.entropy().seed(32).await.unwrap();
        }
        assert!(
            e.entropy().sources()[1].bytes_read > before,
            "the device gave its share"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_all_one_failed_source_stops_delivery_with_any_it_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let stuck = device(dir.path(), "stuck", 0, 1 << 16);
        let all = engine(
            &dir.path().join("a"),
            vec![EntropySourceKind::Os, stuck.clone()],
            EntropyMix::All,
        )
        .await;
        assert_eq!(all.entropy().status().state, EntropyState::Failed);
        let e = all.entropy().seed(32).await.err().unwrap().to_string();
        assert!(
            e.contains(&stuck.to_string()) && e.contains("entropy_mix = all"),
            "{e}"
        );
        assert!(all.entropy().random(16, "test").await.is_err());

        let any = engine(
            &dir.path().join("b"),
            vec![stuck.clone(), EntropySourceKind::Os],
            EntropyMix::Any,
        )
        .await;
        assert_eq!(any.entropy().status().state, EntropyState::Ok);
        assert_eq!(any.entropy().sources()[0].state, EntropyState::Failed);
        let seed = any.entropy().seed(32).await.unwrap();
        assert_eq!(
            seed.sources,
            vec!["os".to_string()],
            "the stuck source is not in the seed"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_source_that_gets_stuck_mid_way_never_shows_in_a_seed() {
        let dir = tempfile::tempdir().unwrap();
        // Passes its start-up test (4096 samples), then sticks.
        let dev = device(dir.path(), "qrandom0", 4096 + 2048, 1 << 16);
        let e = engine(
            dir.path(),
            vec![EntropySourceKind::Os, dev.clone()],
            EntropyMix::Any,
        )
        .await;
        assert_eq!(e.entropy().sources()[1].state, EntropyState::Ok);
        let mut with_device = 0;
        for _ in 0..64 {
            let seed = e.entropy().seed(32).await.unwrap();
            if seed.sources.contains(&dev.to_string()) {
                with_device += 1;
            }
        }
        // 2048 good bytes make 32 seeds of 64 raw bytes; the stuck run
        // fails the repetition count test before any stuck block is used.
        assert!((1..=32).contains(&with_device), "{with_device}");
        let st = &e.entropy().sources()[1];
        assert_eq!(st.state, EntropyState::Failed);
        assert_eq!(st.last_failure.as_ref().unwrap().test, "repetition count");
    }
}
