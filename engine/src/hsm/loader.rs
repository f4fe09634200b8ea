//! Loading the configured PKCS#11 module: once, off the async runtime and
//! under the PKCS#11 deadline (`C_Initialize` of a vendor library may be
//! slow or hang). After a failed load the same error is answered, without
//! trying again, until a backoff has passed (1 s, doubling up to a minute):
//! a broken library is not initialised again on every request.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use super::{ckr, Hsm};
use crate::clock::Clock;
use crate::config::ModuleSpec;
use crate::error::{Error, Result};

const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// The modules of one engine: the default (`pkcs11_module`) and the named
/// ones (`pkcs11_modules`), each loaded at first use.
pub(crate) struct Modules {
    default: ModuleLoader,
    named: BTreeMap<String, ModuleLoader>,
}

impl Modules {
    pub(crate) fn new(
        default: Option<ModuleSpec>,
        named: &BTreeMap<String, ModuleSpec>,
        deadline: Duration,
        clock: Arc<dyn Clock>,
    ) -> Modules {
        Modules {
            default: ModuleLoader::with_spec(default, deadline, clock.clone()),
            named: named
                .iter()
                .map(|(n, spec)| {
                    let loader =
                        ModuleLoader::with_spec(Some(spec.clone()), deadline, clock.clone());
                    (n.clone(), loader)
                })
                .collect(),
        }
    }

    /// The module named `name` (`None`: the default one), loaded at first
    /// use; a name the settings do not have is refused plainly.
    pub(crate) async fn get(&self, name: Option<&str>) -> Result<Hsm> {
        match self.loader(name) {
            Some(loader) => loader.get().await,
            None => Err(Error::Hsm {
                ckr: ckr::MODULE_LOAD.into(),
                detail: format!(
                    "no PKCS#11 module named `{}` in the settings (pkcs11_modules)",
                    name.unwrap_or_default()
                ),
            }),
        }
    }

    /// The module named `name` if it is loaded already (never loads it).
    pub(crate) fn loaded(&self, name: Option<&str>) -> Option<Hsm> {
        self.loader(name)?.current()
    }

    /// The loader of module `name` (`None`: the default one).
    fn loader(&self, name: Option<&str>) -> Option<&ModuleLoader> {
        match name {
            None => Some(&self.default),
            Some(n) => self.named.get(n),
        }
    }

    /// Whether the settings name module `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.named.contains_key(name)
    }

    /// The named modules' names, in order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.named.keys().cloned().collect()
    }
}

/// One module, loaded at first use.
pub(crate) struct ModuleLoader {
    path: Option<PathBuf>,
    /// The largest seed one `C_SeedRandom` of this module takes.
    max_seed_bytes: Option<usize>,
    deadline: Duration,
    clock: Arc<dyn Clock>,
    /// Set once loaded: the fast path of every reseed.
    loaded: Mutex<Option<Hsm>>,
    /// One load at a time; what the last one left.
    loading: tokio::sync::Mutex<Loading>,
}

#[derive(Default)]
struct Loading {
    /// A load that passed its deadline and may still finish: the next
    /// caller waits for it instead of starting another.
    pending: Option<tokio::task::JoinHandle<Result<Hsm>>>,
    failure: Option<Failure>,
    /// Loads started (tests).
    attempts: u32,
}

struct Failure {
    ckr: String,
    detail: String,
    retry_at: OffsetDateTime,
    wait: Duration,
}

impl ModuleLoader {
    #[cfg(test)]
    pub(crate) fn new(path: Option<PathBuf>, deadline: Duration, clock: Arc<dyn Clock>) -> Self {
        Self::with_spec(path.map(ModuleSpec::path), deadline, clock)
    }

    pub(crate) fn with_spec(
        spec: Option<ModuleSpec>,
        deadline: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let (path, max_seed_bytes) = match spec {
            Some(s) => (Some(s.path), s.max_seed_bytes),
            None => (None, None),
        };
        ModuleLoader {
            path,
            max_seed_bytes,
            deadline,
            clock,
            loaded: Mutex::new(None),
            loading: tokio::sync::Mutex::default(),
        }
    }

    /// The module if it is loaded (the fast path of every reseed).
    fn current(&self) -> Option<Hsm> {
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The module, loaded at first use (see the module documentation).
    pub(crate) async fn get(&self) -> Result<Hsm> {
        if let Some(h) = self.current() {
            return Ok(h);
        }
        let Some(path) = self.path.clone() else {
            return Err(Error::Hsm {
                ckr: ckr::MODULE_LOAD.into(),
                detail:
                    "no PKCS#11 module is configured (set pkcs11_module / HSMSEED_PKCS11_MODULE)"
                        .into(),
            });
        };
        let mut loading = self.loading.lock().await;
        // Loaded by the caller we waited for?
        if let Some(h) = self.current() {
            return Ok(h);
        }
        let now = self.clock.now();
        if let Some(f) = &loading.failure {
            if loading.pending.is_none() && now < f.retry_at {
                let secs = (f.retry_at - now).whole_seconds().max(1);
                return Err(Error::Hsm {
                    ckr: f.ckr.clone(),
                    detail: format!("{} (next attempt in {secs} s)", f.detail),
                });
            }
        }
        let mut task = match loading.pending.take() {
            Some(t) => t,
            None => {
                loading.attempts += 1;
                let (deadline, max_seed) = (self.deadline, self.max_seed_bytes);
                tokio::task::spawn_blocking(move || {
                    Hsm::load(&path, deadline).map(|h| h.with_max_seed_bytes(max_seed))
                })
            }
        };
        let result = match tokio::time::timeout(self.deadline, &mut task).await {
            Ok(joined) => joined.map_err(Error::from).and_then(|r| r),
            Err(_) => {
                loading.pending = Some(task);
                Err(Error::Hsm {
                    ckr: ckr::TIMEOUT.into(),
                    detail: format!(
                        "loading the PKCS#11 module did not finish within {} s",
                        self.deadline.as_secs_f64()
                    ),
                })
            }
        };
        match result {
            Ok(h) => {
                loading.failure = None;
                *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = Some(h.clone());
                Ok(h)
            }
            Err(e) => {
                let wait = match &loading.failure {
                    Some(f) => (f.wait * 2).min(LONGEST_WAIT),
                    None => FIRST_WAIT,
                };
                let (ckr, detail) = match &e {
                    Error::Hsm { ckr, detail } => (ckr.clone(), detail.clone()),
                    other => (ckr::MODULE_LOAD.to_owned(), other.to_string()),
                };
                tracing::error!(%ckr, %detail, retry_in_s = wait.as_secs(), "the PKCS#11 module could not be loaded");
                loading.failure = Some(Failure {
                    ckr,
                    detail,
                    retry_at: now + wait,
                    wait,
                });
                Err(e)
            }
        }
    }

    #[cfg(test)]
    async fn attempts(&self) -> u32 {
        self.loading.lock().await.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::hsm::testing::SoftHsmFixture;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_load_is_not_tried_again_before_its_backoff() {
        let f = SoftHsmFixture::shared();
        let _access = f.shared_access().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libvendor.so");
        let clock = Arc::new(ManualClock::new(
            time::macros::datetime!(2026-11-30 12:00 UTC),
        ));
        let loader = ModuleLoader::new(Some(path.clone()), Duration::from_secs(5), clock.clone());

        let e = loader.get().await.unwrap_err();
        assert!(
            matches!(&e, Error::Hsm { ckr, .. } if ckr == "MODULE_LOAD"),
            "{e}"
        );
        assert_eq!(loader.attempts().await, 1);
        // The library appears, but the backoff has not passed: same answer.
        std::os::unix::fs::symlink(f.module_to_load(), &path).unwrap();
        let e = loader.get().await.unwrap_err();
        assert!(e.to_string().contains("next attempt in 1 s"), "{e}");
        assert_eq!(loader.attempts().await, 1, "not tried again");
        // After it, the next call loads the module, once.
        clock.advance(time::Duration::seconds(2));
        let h = loader.get().await.unwrap();
        assert!(!h.slots().await.unwrap().is_empty());
        loader.get().await.unwrap();
        assert_eq!(loader.attempts().await, 2);
    }

    #[tokio::test]
    async fn the_backoff_doubles_up_to_a_minute() {
        let clock = Arc::new(ManualClock::new(
            time::macros::datetime!(2026-11-30 12:00 UTC),
        ));
        let loader = ModuleLoader::new(
            Some(PathBuf::from("/nonexistent/libvendor.so")),
            Duration::from_secs(5),
            clock.clone(),
        );
        let mut waits = Vec::new();
        for _ in 0..9 {
            let e = loader.get().await.unwrap_err();
            assert!(!e.to_string().contains("next attempt"), "{e}");
            let wait = loader.loading.lock().await.failure.as_ref().unwrap().wait;
            waits.push(wait.as_secs());
            clock.advance(time::Duration::seconds(61));
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[tokio::test]
    async fn no_module_configured_is_said_plainly() {
        let clock = Arc::new(ManualClock::new(
            time::macros::datetime!(2026-11-30 12:00 UTC),
        ));
        let loader = ModuleLoader::new(None, Duration::from_secs(5), clock);
        let e = loader.get().await.unwrap_err();
        assert!(
            e.to_string().contains("no PKCS#11 module is configured"),
            "{e}"
        );
    }
}
