//! The command line: `hsmseed serve` and the console commands, all on the
//! same data directory.

mod alerts;
mod audit;
mod backup;
mod hsm;
mod manual;
mod ntl;
mod owner;
mod sample;
mod serve;
mod shell;
mod tokens;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use engine::audit::Actor;
use engine::config::{LoadReport, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "hsmseed",
    version,
    about = "hsmseed: checked entropy from a (quantum) RNG into PKCS#11 HSMs, on a schedule and on demand"
)]
pub struct Cli {
    /// Settings file [default: ./hsmseed.toml, else /etc/hsmseed/hsmseed.toml,
    /// the first that exists; env HSMSEED_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The appliance's data directory [default: data_dir of the settings,
    /// ./data; env HSMSEED_DATA_DIR]. Only `serve` creates it.
    #[arg(long = "data-dir", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the appliance: web dashboard, REST API and background jobs.
    #[command(after_help = engine::config::reference())]
    Serve,
    /// Open the appliance console: log in, then type commands at `qa-cli>`.
    Shell,
    /// Print the OpenAPI document of the REST API (/api/2.0/).
    Openapi,
    /// Write a backup of the data directory into a new file: the database
    /// (online, its secrets sealed by the master key; a fleet's PostgreSQL
    /// rows too) and the HTTPS identity; the master key only with
    /// --with-master-key.
    Backup {
        /// The new backup file (created 0600; never over an existing one)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Also put the master key in it: whoever has the file can then
        /// decrypt every partition password in it
        #[arg(long = "with-master-key")]
        with_master_key: bool,
    },
    /// Restore a backup into the data directory and its database (stop the
    /// server first; with database_url, every appliance of the fleet); what
    /// it replaces is kept in DATA_DIR/backups/.
    Restore {
        /// The backup file (from `hsmseed backup`)
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
    },
    /// Write bytes of the entropy source to standard output, for your own
    /// tests: --raw samples (before health tests and conditioning) for
    /// NIST's ea_non_iid, or the checked bytes that are delivered.
    #[command(name = "entropy-sample")]
    EntropySample(sample::SampleArgs),
    /// Write the manual pages (hsmseed.1 and one per command) into DIR.
    #[command(hide = true)]
    Manual {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
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
    /// Create many HSM configurations at once from a CSV file, all or
    /// nothing (passwords from their own file or standard input).
    #[command(name = "hsm-conf-import")]
    HsmConfImport(hsm::ImportArgs),
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
    /// Try one more login with a configuration whose login is held after a
    /// failed login (read the warning first: it needs --confirm).
    #[command(name = "hsm-login-retry")]
    HsmLoginRetry(hsm::RetryArgs),
    /// Create an API token; it is printed once on standard output.
    #[command(name = "token-new")]
    TokenNew(tokens::TokenArgs),
    /// List the API tokens (never their secrets).
    #[command(name = "token-list")]
    TokenList,
    /// Revoke an API token.
    #[command(name = "token-revoke")]
    TokenRevoke(tokens::TokenNameArg),
    /// Add an administrator (the password is read from the terminal or stdin).
    #[command(name = "user-add")]
    UserAdd(users::UserArg),
    /// Set an administrator's password (read from the terminal or stdin).
    #[command(name = "user-passwd")]
    UserPasswd(users::UserArg),
    /// Remove an administrator (never the last one).
    #[command(name = "user-remove")]
    UserRemove(users::UserArg),
    /// List the administrators.
    #[command(name = "user-list")]
    UserList,
    /// Import an HSM's server certificate and add the HSM to the server list.
    #[command(name = "ntl-hsm-cert-import")]
    NtlHsmCertImport(ntl::ImportArgs),
    /// List the HSM server list.
    #[command(name = "ntl-hsm-cert-list")]
    NtlHsmCertList,
    /// Remove an HSM from the server list.
    #[command(name = "ntl-hsm-cert-delete")]
    NtlHsmCertDelete(ntl::AddressArg),
    /// Create a new appliance (QA) certificate for the NTL.
    #[command(name = "ntl-qa-cert-new")]
    NtlQaCertNew,
    /// Display the appliance (QA) certificate.
    #[command(name = "ntl-qa-cert-show")]
    NtlQaCertShow,
    /// Export the appliance (QA) certificate to a file (never its key).
    #[command(name = "ntl-qa-cert-export")]
    NtlQaCertExport(ntl::ExportArgs),
    /// Show or set the QA certificate's subject (C, ST, L, O) and address (CN).
    #[command(name = "ntl-qa-subject")]
    NtlQaSubject(ntl::SubjectArgs),
    /// List the HSM slots/partitions the PKCS#11 module sees.
    #[command(name = "ntl-verify")]
    NtlVerify,
    /// Show the newest entries of the audit log.
    #[command(name = "audit-show")]
    AuditShow(audit::AuditArgs),
    /// Show where alerts go (the log, a webhook, syslog).
    #[command(name = "alert-conf-show")]
    AlertConfShow,
    /// Set where alerts go (only the flags given change).
    #[command(name = "alert-conf-edit")]
    AlertConfEdit(alerts::EditArgs),
    /// Send a test alert to the webhook and syslog now, and say how it went.
    #[command(name = "alert-test")]
    AlertTest,
}

/// Where a command reads a secret (a password given as `-`, or asked
/// for): the terminal without echo, or one line of standard input. The
/// shell hands in its own input, which already holds standard input.
pub trait SecretInput {
    fn secret(&mut self, prompt: &str) -> anyhow::Result<secrecy::SecretString>;
    /// Whether a person types (then a new password is asked twice).
    fn is_terminal(&self) -> bool;
    /// All of standard input up to its end (`--passwords=-`).
    fn read_to_end(&mut self) -> anyhow::Result<secrecy::SecretString>;
}

/// Standard input, for a command run on its own.
pub struct Stdin;

impl SecretInput for Stdin {
    fn secret(&mut self, prompt: &str) -> anyhow::Result<secrecy::SecretString> {
        users::read_password(prompt)
    }

    fn is_terminal(&self) -> bool {
        std::io::IsTerminal::is_terminal(&std::io::stdin())
    }

    fn read_to_end(&mut self) -> anyhow::Result<secrecy::SecretString> {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
            .map_err(|e| anyhow::anyhow!("reading standard input: {e}"))?;
        Ok(secrecy::SecretString::from(text))
    }
}

/// Runs a console command on an engine opened on the data directory.
async fn run_command(settings: Settings, command: ConsoleCommand) -> anyhow::Result<()> {
    let engine = engine::Engine::open(settings).await?;
    let mut out = std::io::stdout().lock();
    run_console(&engine, &command, &Actor::cli(), &mut out, &mut Stdin).await
}

/// Runs one console command against `engine`, writing its result to `out`
/// and reading secrets from `input`.
pub async fn run_console(
    engine: &engine::Engine,
    command: &ConsoleCommand,
    actor: &Actor,
    out: &mut impl std::io::Write,
    input: &mut dyn SecretInput,
) -> anyhow::Result<()> {
    use ConsoleCommand as Command;
    match command {
        Command::HsmConfNew(a) => hsm::conf_new(engine, a, actor, out).await,
        Command::HsmConfEdit(a) => hsm::conf_edit(engine, a, actor, out, input).await,
        Command::HsmConfImport(a) => hsm::conf_import(engine, a, actor, out, input).await,
        Command::HsmConfShow(a) => hsm::conf_show(engine, a, out).await,
        Command::HsmConfList => hsm::conf_list(engine, out).await,
        Command::HsmConfDelete(a) => hsm::conf_delete(engine, a, actor, out).await,
        Command::HsmConfSeed(a) => hsm::conf_seed(engine, a, actor, out).await,
        Command::HsmSeed(a) => hsm::seed(engine, a, actor, out).await,
        Command::HsmLoginRetry(a) => hsm::login_retry(engine, a, actor, out).await,
        Command::TokenNew(a) => tokens::token_new(engine, a, actor, out).await,
        Command::TokenList => tokens::token_list(engine, out).await,
        Command::TokenRevoke(a) => tokens::token_revoke(engine, a, actor, out).await,
        Command::UserAdd(a) => users::user_add(engine, a, actor, out, input).await,
        Command::UserPasswd(a) => users::user_passwd(engine, a, actor, out, input).await,
        Command::UserRemove(a) => users::user_remove(engine, a, actor, out).await,
        Command::UserList => users::user_list(engine, out).await,
        Command::AuditShow(a) => audit::audit_show(engine, a, out).await,
        Command::AlertConfShow => alerts::conf_show(engine, out).await,
        Command::AlertConfEdit(a) => alerts::conf_edit(engine, a, actor, out).await,
        Command::AlertTest => alerts::test(engine, actor, out).await,
        Command::NtlHsmCertImport(a) => ntl::hsm_cert_import(engine, a, actor, out).await,
        Command::NtlHsmCertList => ntl::hsm_cert_list(engine, out).await,
        Command::NtlHsmCertDelete(a) => ntl::hsm_cert_delete(engine, a, actor, out).await,
        Command::NtlQaCertNew => ntl::qa_cert_new(engine, actor, out).await,
        Command::NtlQaCertShow => ntl::qa_cert_show(engine, out).await,
        Command::NtlQaCertExport(a) => ntl::qa_cert_export(engine, a, actor, out).await,
        Command::NtlQaSubject(a) => ntl::qa_subject(engine, a, actor, out).await,
        Command::NtlVerify => ntl::verify(engine, out).await,
    }
}

/// A table for a terminal: each column as wide as its widest cell (the
/// last one not padded), two spaces apart.
fn columns(
    out: &mut impl std::io::Write,
    headers: &[&str],
    rows: &[Vec<String>],
) -> anyhow::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c.to_string()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Loads the settings and reports what the loading found.
pub fn load_settings(config: Option<&std::path::Path>) -> anyhow::Result<(Settings, LoadReport)> {
    Ok(Settings::load(config, std::env::vars())?)
}

/// The variable that may carry the first administrator's password.
const ADMIN_PASSWORD_ENV: &str = "HSMSEED_ADMIN_PASSWORD";

/// `serve` with the first administrator's password in its environment:
/// the password moves to a pipe on standard input and the process runs
/// itself again without the variable (`HSMSEED_ADMIN_PASSWORD_FILE` names
/// the pipe), so that it cannot be read in `/proc/PID/environ` while the
/// appliance runs. Returns only if that failed.
fn serve_without_password_in_environment() -> anyhow::Error {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let run = || -> anyhow::Result<std::io::Error> {
        let password = std::env::var_os(ADMIN_PASSWORD_ENV).unwrap_or_default();
        // Written whole before anyone reads: it must fit the pipe's buffer.
        anyhow::ensure!(
            password.len() <= 4096,
            "{ADMIN_PASSWORD_ENV} is longer than 4096 bytes"
        );
        let (reader, mut writer) = std::io::pipe()?;
        writer.write_all(password.as_encoded_bytes())?;
        drop(writer);
        Ok(std::process::Command::new(std::env::current_exe()?)
            .args(std::env::args_os().skip(1))
            .env_remove(ADMIN_PASSWORD_ENV)
            .env(format!("{ADMIN_PASSWORD_ENV}_FILE"), "/dev/stdin")
            .stdin(reader)
            .exec())
    };
    match run() {
        Ok(exec_error) => {
            anyhow::anyhow!("running itself without {ADMIN_PASSWORD_ENV}: {exec_error}")
        }
        Err(e) => e,
    }
}

/// Refuses a data directory that does not exist (only `serve` creates
/// one), naming where it looked and how to point at the right one.
fn existing_data_dir(dir: &std::path::Path) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    Err(format!(
        "no data directory at {}: nothing was created. Point to the appliance's \
         data directory with --data-dir=DIR, HSMSEED_DATA_DIR=DIR or data_dir in \
         the settings file (--config=FILE); only `hsmseed serve` creates a new one.",
        shown.display()
    ))
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve) && std::env::var_os(ADMIN_PASSWORD_ENV).is_some() {
        eprintln!("hsmseed: {:#}", serve_without_password_in_environment());
        return ExitCode::FAILURE;
    }
    let (mut settings, report) = match load_settings(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hsmseed: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &cli.data_dir {
        settings.data_dir = dir.clone();
    }
    // Only the server sets up a data directory: a console command run from
    // the wrong directory must not make an empty appliance there and report
    // "no configuration".
    let needs_data = match &cli.command {
        Command::Console(_) | Command::Shell | Command::Backup { .. } => true,
        // The delivered bytes come through the engine; raw ones do not.
        Command::EntropySample(a) => !a.raw,
        _ => false,
    };
    if needs_data {
        if let Err(e) = existing_data_dir(&settings.data_dir) {
            eprintln!("hsmseed: {e}");
            return ExitCode::from(2);
        }
    }
    // The backup's own file, as whoever runs the command (root's stays
    // root's), before acting as the data directory's owner.
    let file = match &cli.command {
        Command::Backup { out, .. } => Some(backup::create_out(out)),
        Command::Restore { input } => Some(backup::open_in(input)),
        _ => None,
    };
    let file = match file.transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("hsmseed: {e:#}");
            return ExitCode::from(2);
        }
    };
    // Before any thread starts: root acting on the service's directory
    // acts as the service's user.
    let owner = match cli.command {
        Command::Openapi | Command::Manual { .. } => Ok(None),
        _ => owner::become_owner_of(&settings.data_dir),
    };
    match owner {
        Ok(None) => {}
        Ok(Some(note)) => eprintln!("{note}"),
        Err(e) => {
            if let Command::Backup { out, .. } = &cli.command {
                let _ = std::fs::remove_file(out);
            }
            eprintln!("hsmseed: {e}");
            return ExitCode::from(2);
        }
    }
    // Console commands log only warnings, so that their output stays clean.
    let quiet = !matches!(cli.command, Command::Serve);
    crate::telemetry::init(settings.log_format, quiet.then_some("error"));
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
    let result = match cli.command {
        Command::Serve => runtime.block_on(serve::run(settings, report)),
        Command::Console(c) => runtime.block_on(run_command(settings, c)),
        Command::Openapi => {
            print!("{}", crate::api::openapi::document());
            Ok(())
        }
        Command::Manual { out } => manual::write_pages(&out),
        Command::EntropySample(a) => runtime.block_on(sample::run(settings, a)),
        Command::Backup {
            out,
            with_master_key,
        } => match file {
            Some(f) => runtime.block_on(backup::backup(settings, f, out, with_master_key)),
            None => Err(anyhow::anyhow!("no backup file")),
        },
        Command::Restore { input } => match file {
            Some(f) => runtime.block_on(backup::restore(settings, f, &input)),
            None => Err(anyhow::anyhow!("no backup file")),
        },
        Command::Shell => runtime
            .block_on(engine::Engine::open(settings))
            .map_err(anyhow::Error::from)
            .and_then(|engine| shell::run(&runtime, engine)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsmseed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
