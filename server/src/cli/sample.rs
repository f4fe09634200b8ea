//! `hsmseed entropy-sample --source=NAME --bytes=N [--raw]`: bytes of one
//! source on standard output, for an operator's own tests (NIST's SP
//! 800-90B `ea_non_iid` on `--raw` samples; `ent` or `rngtest` on either).

use std::io::IsTerminal;

use anyhow::Context;
use clap::Args;
use engine::config::Settings;

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The source, as the settings name it (`os`, `device:/dev/qrandom0`,
    /// `qrng:https://10.0.0.5/`), without its options
    #[arg(long)]
    pub source: String,
    /// How many bytes (1 to 1 GiB)
    #[arg(long)]
    pub bytes: u64,
    /// Raw samples as the source gives them, before health tests and
    /// conditioning (without it: the checked bytes that are delivered)
    #[arg(long)]
    pub raw: bool,
}

const MAX_BYTES: u64 = 1 << 30;

pub async fn run(settings: Settings, a: SampleArgs) -> anyhow::Result<()> {
    let Some(kind) = settings
        .entropy_source
        .iter()
        .find(|k| k.to_string() == a.source)
        .cloned()
    else {
        let names: Vec<String> = settings
            .entropy_source
            .iter()
            .map(|k| k.to_string())
            .collect();
        anyhow::bail!(
            "no source `{}`: the configured ones are {} (entropy_source)",
            a.source,
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    if !(1..=MAX_BYTES).contains(&a.bytes) {
        anyhow::bail!("--bytes must be 1 to {MAX_BYTES}, not {}", a.bytes);
    }
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        anyhow::bail!("standard output is a terminal: redirect it to a file (> sample.bin)");
    }
    if a.raw {
        let len = a.bytes;
        return tokio::task::spawn_blocking(move || {
            engine::entropy::source::raw_sample(&kind, len, &mut std::io::stdout().lock())
        })
        .await?
        .context("sampling the source");
    }
    let engine = engine::Engine::open(settings).await?;
    let mut out = stdout.lock();
    let mut left = a.bytes;
    while left > 0 {
        let n = left.min(1 << 20);
        let bytes = engine
            .entropy()
            .random_from(Some(&a.source), n as usize, "sample")
            .await?;
        std::io::Write::write_all(&mut out, &bytes).context("writing standard output")?;
        left -= n;
    }
    std::io::Write::flush(&mut out).context("writing standard output")?;
    Ok(())
}
