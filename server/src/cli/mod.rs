//! The command line: `hsmseed serve` and the console commands, all on the
//! same data directory.

mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use engine::config::{LoadReport, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "hsmseed",
    version,
    about = "hsmseed: checked entropy from a (quantum) RNG into PKCS#11 HSMs, on a schedule and on demand"
)]
pub struct Cli {
    /// Settings file [default: ./hsmseed.toml when it exists; env HSMSEED_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the appliance: web dashboard, REST API and background jobs.
    #[command(after_help = engine::config::reference())]
    Serve,
}

/// Loads the settings and reports what the loading found.
pub fn load_settings(config: Option<&std::path::Path>) -> anyhow::Result<(Settings, LoadReport)> {
    Ok(Settings::load(config, std::env::vars())?)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let (settings, report) = match load_settings(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hsmseed: {e:#}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(settings.log_format, None);
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hsmseed: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve::run(settings, report).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsmseed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
