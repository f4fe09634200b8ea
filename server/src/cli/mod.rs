//! The command line: `hsmseed serve` and the console commands, all on the
//! same data directory.

mod hsm;
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
    #[command(flatten)]
    Console(ConsoleCommand),
}

/// The commands of the appliance console (also valid at the `qa-cli>`
/// prompt).
#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// Create a new HSM configuration.
    #[command(name = "hsm-conf-new")]
    HsmConfNew(hsm::NameArg),
    /// Edit an HSM configuration (only the flags given change).
    #[command(name = "hsm-conf-edit")]
    HsmConfEdit(hsm::EditArgs),
    /// Display an HSM configuration (the password is never shown).
    #[command(name = "hsm-conf-show")]
    HsmConfShow(hsm::NameArg),
    /// List the HSM configurations.
    #[command(name = "hsm-conf-list")]
    HsmConfList,
    /// Delete an HSM configuration.
    #[command(name = "hsm-conf-delete")]
    HsmConfDelete(hsm::NameArg),
    /// Define the period of time between two reseedings (0 = off, 1 to 9 minutes).
    #[command(name = "hsm-conf-seed")]
    HsmConfSeed(hsm::PeriodArgs),
    /// Reseed an HSM partition now.
    #[command(name = "hsm-seed")]
    HsmSeed(hsm::NameArg),
    /// Create an API token; it is printed once on standard output.
    #[command(name = "token-new")]
    TokenNew(hsm::TokenArgs),
    /// List the API tokens (never their secrets).
    #[command(name = "token-list")]
    TokenList,
    /// Revoke an API token.
    #[command(name = "token-revoke")]
    TokenRevoke(hsm::NameArg),
}

/// Runs a console command on an engine opened on the data directory.
async fn run_command(settings: Settings, command: ConsoleCommand) -> anyhow::Result<()> {
    let engine = engine::Engine::open(settings).await?;
    let mut out = std::io::stdout().lock();
    run_console(&engine, &command, &mut out).await
}

/// Runs one console command against `engine`, writing its result to `out`.
pub async fn run_console(
    engine: &engine::Engine,
    command: &ConsoleCommand,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    use ConsoleCommand as Command;
    match command {
        Command::HsmConfNew(a) => hsm::conf_new(engine, a, out).await,
        Command::HsmConfEdit(a) => hsm::conf_edit(engine, a, out).await,
        Command::HsmConfShow(a) => hsm::conf_show(engine, a, out).await,
        Command::HsmConfList => hsm::conf_list(engine, out).await,
        Command::HsmConfDelete(a) => hsm::conf_delete(engine, a, out).await,
        Command::HsmConfSeed(a) => hsm::conf_seed(engine, a, out).await,
        Command::HsmSeed(a) => hsm::seed(engine, a, out).await,
        Command::TokenNew(a) => hsm::token_new(engine, a, out).await,
        Command::TokenList => hsm::token_list(engine, out).await,
        Command::TokenRevoke(a) => hsm::token_revoke(engine, a, out).await,
    }
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
    // Console commands log only warnings, so that their output stays clean.
    let quiet = !matches!(cli.command, Command::Serve);
    crate::telemetry::init(settings.log_format, quiet.then_some("warn,sqlx=error"));
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
            Command::Console(c) => run_command(settings, c).await,
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
