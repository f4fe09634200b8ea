//! The entropy capability: the configured source, run off the runtime when
//! it may block, with its events logged, counted and recorded.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::{EntropyEventKind, EntropySource, EntropyStatus, HealthConfig, MAX_SEED_LEN};

/// Random answers up to this size from the kernel CSPRNG are made on the
/// runtime's thread.
const INLINE_RANDOM: usize = 64 * 1024;
use crate::audit::Actor;
use crate::clock::unix_ms;
use crate::config::EntropySourceKind;
use crate::core::Core;
use crate::error::Result;

#[derive(Clone)]
pub struct Entropy {
    core: Core,
    source: Arc<EntropySource>,
}

impl Entropy {
    pub(crate) fn new(core: Core) -> Entropy {
        let s = core.settings();
        let source = Arc::new(EntropySource::new(
            s.entropy_source.clone(),
            HealthConfig {
                min_entropy_per_byte: s.entropy_min_entropy,
                full_entropy: s.entropy_full_entropy,
                raw_per_output_byte: s.entropy_condition_ratio as usize,
            },
            core.clock().clone(),
        ));
        Entropy { core, source }
    }

    pub fn status(&self) -> EntropyStatus {
        self.source.status()
    }

    pub fn source_kind(&self) -> &EntropySourceKind {
        &self.core.settings().entropy_source
    }

    /// Runs a fresh start-up test of the source: how a failed source comes
    /// back (an admin action, or a restart).
    pub async fn restart(&self, actor: &Actor) -> Result<()> {
        self.core
            .audited(
                actor,
                "entropy.restart",
                &self.source_kind().to_string(),
                async {
                    self.startup().await?;
                    Ok(((), "start-up test passed".to_string()))
                },
            )
            .await
    }

    /// Runs `op` on the source, on the runtime's thread when `inline` (it
    /// cannot block for long), else on a blocking thread; then records
    /// what the source reported meanwhile.
    async fn run<T: Send + 'static>(
        &self,
        inline: bool,
        op: impl FnOnce(&EntropySource) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let source = self.source.clone();
        let r = if inline {
            op(&source)
        } else {
            tokio::task::spawn_blocking(move || op(&source)).await?
        };
        self.record_events().await;
        r
    }

    /// The start-up test, as run when the engine opens.
    pub(crate) async fn startup(&self) -> Result<()> {
        self.run(false, |s| s.startup_test()).await
    }

    /// `len` bytes of checked, conditioned entropy; fails closed.
    pub(crate) async fn seed(&self, len: usize) -> Result<Zeroizing<Vec<u8>>> {
        // The kernel CSPRNG answers at once; a device may block.
        let os = matches!(self.source_kind(), EntropySourceKind::Os);
        self.run(os, move |s| s.seed(len)).await
    }

    /// `len` checked random bytes for a client (random-number endpoints),
    /// made as seeds are, in pieces of at most [`MAX_SEED_LEN`]; fails
    /// closed. Counted in the metrics by `endpoint`.
    pub async fn random(&self, len: usize, endpoint: &'static str) -> Result<Zeroizing<Vec<u8>>> {
        // The kernel CSPRNG answers at once (a few KiB on the runtime); a
        // device, or a large answer, goes off it.
        let inline = matches!(self.source_kind(), EntropySourceKind::Os) && len <= INLINE_RANDOM;
        let r = self
            .run(inline, move |source| {
                let mut out = Zeroizing::new(Vec::with_capacity(len));
                while out.len() < len {
                    let piece = source.seed((len - out.len()).min(MAX_SEED_LEN))?;
                    out.extend_from_slice(&piece);
                }
                Ok(out)
            })
            .await;
        if r.is_ok() {
            self.core.metrics().count_random(endpoint, len);
        }
        r
    }

    async fn record_events(&self) {
        let events = self.source.drain_events();
        if events.is_empty() {
            return;
        }
        let source = self.source_kind().to_string();
        for e in events {
            let kind = serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let test = e
                .test
                .map(|t| t.to_string())
                .unwrap_or_else(|| "none".into());
            if matches!(e.kind, EntropyEventKind::StartupPassed) {
                tracing::info!(source = %source, detail = %e.detail, "entropy source passed its start-up test");
            } else {
                self.core.metrics().observe_entropy_failure(&test, &kind);
                tracing::warn!(source = %source, kind = %kind, test = %test, detail = %e.detail, "entropy source event");
            }
            let r = super::repo::record_event(
                self.core.store().pool(),
                unix_ms(e.at),
                &source,
                &kind,
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
