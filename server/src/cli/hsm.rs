//! The guide's HSM commands (`hsm-conf-*`, `hsm-seed`) and
//! `hsm-login-retry`, on the same data directory as the server. Success
//! lines match the Quantis Appliance CLI.

use std::io::Write;

use clap::Args;
use engine::audit::Actor;
use engine::partitions::{ConfigEdit, ModuleChoice, SerialPin, SlotId, Trigger};
use engine::schedule::SeedPeriod;
use engine::Engine;
use secrecy::SecretString;

#[derive(Debug, Args)]
pub struct NameArg {
    /// Name of the configuration (letters, digits, _ . -; at most 64)
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// Name of the configuration
    #[arg(long)]
    pub name: String,
    /// The partition name as defined in the HSM
    #[arg(long = "partitionName", value_name = "NAME")]
    pub partition_name: Option<String>,
    /// The partition password (`-` reads it from standard input, which keeps
    /// it out of the process list)
    #[arg(long = "partitionPwd", value_name = "PASSWORD")]
    pub partition_pwd: Option<String>,
    /// The slot, as `ntl-verify` shows it
    #[arg(long, value_name = "SLOT")]
    pub slot: Option<String>,
    /// CKU_USER, CKU_SO or CKU_CRYPTO_USER
    #[arg(long = "userType", value_name = "TYPE")]
    pub user_type: Option<String>,
    /// true or false: whether the scheduler and the API may reseed it
    #[arg(long, value_name = "BOOL")]
    pub enabled: Option<String>,
    /// Pin the token serial: a serial, `slot` (the token the slot holds now)
    /// or `none`
    #[arg(long = "tokenSerial", value_name = "SERIAL")]
    pub token_serial: Option<String>,
    /// The PKCS#11 module to seed through: a name from the settings'
    /// `pkcs11_modules`, or `default` (the `pkcs11_module`)
    #[arg(long, value_name = "NAME")]
    pub module: Option<String>,
    /// Confirm `--userType=CKU_SO`: on a Luna HSM, 10 failed Partition SO
    /// logins zeroize the partition
    #[arg(long = "confirmSO")]
    pub confirm_so: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The configurations: CSV whose first line names the columns name,
    /// partition, slot, token_serial, user_type, module (name and a slot or
    /// a token serial are needed; a serial alone finds its slot)
    #[arg(long, value_name = "CSV")]
    pub file: std::path::PathBuf,
    /// Their passwords: CSV with the header name,password, from a file or
    /// `-` (standard input, to its end); never on the command line
    #[arg(long, value_name = "FILE")]
    pub passwords: String,
    /// Confirm rows with user type CKU_SO: on a Luna HSM, 10 failed
    /// Partition SO logins zeroize the partition
    #[arg(long = "confirmSO")]
    pub confirm_so: bool,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Name of the configuration
    #[arg(long)]
    pub name: String,
    /// I have read the warning: try the stored password once more
    #[arg(long)]
    pub confirm: bool,
}

#[derive(Debug, Args)]
pub struct PeriodArgs {
    /// Minutes between reseeds: 0 = scheduler off (on demand only), 1 to 9
    #[arg(long)]
    pub period: String,
}

fn parse_bool(v: &str) -> engine::Result<bool> {
    match v {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(engine::Error::Invalid(format!(
            "enabled `{v}` is not true or false"
        ))),
    }
}

/// Turns the flags into an edit; every value is checked before anything is
/// changed.
fn edit_of(a: &EditArgs, input: &mut dyn super::SecretInput) -> anyhow::Result<ConfigEdit> {
    let partition_pwd = match a.partition_pwd.as_deref() {
        None => None,
        Some("-") => Some(input.secret("Partition password: ")?),
        Some(p) => Some(SecretString::from(p.to_string())),
    };
    Ok(ConfigEdit {
        partition_name: a.partition_name.clone(),
        partition_pwd,
        slot: a.slot.as_deref().map(SlotId::parse).transpose()?,
        user_type: a.user_type.as_deref().map(str::parse).transpose()?,
        enabled: a.enabled.as_deref().map(parse_bool).transpose()?,
        token_serial: a.token_serial.as_deref().map(|s| match s {
            "none" => SerialPin::Clear,
            "slot" => SerialPin::FromSlot,
            other => SerialPin::Set(other.to_string()),
        }),
        module: a.module.as_deref().map(ModuleChoice::parse).transpose()?,
        confirm_so: a.confirm_so,
    })
}

pub async fn conf_new(
    engine: &Engine,
    a: &NameArg,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let c = engine.partitions().create_config(&a.name, actor).await?;
    writeln!(out, "New {} configuration created successfully.", c.name)?;
    Ok(())
}

pub async fn conf_edit(
    engine: &Engine,
    a: &EditArgs,
    actor: &Actor,
    out: &mut impl Write,
    input: &mut dyn super::SecretInput,
) -> anyhow::Result<()> {
    let edit = edit_of(a, input)?;
    engine
        .partitions()
        .edit_config(&a.name, edit, actor)
        .await?;
    writeln!(out, "Configuration edited successfully.")?;
    Ok(())
}

/// The largest file `hsm-conf-import` reads (ten thousand configurations
/// take about 1 MiB).
const IMPORT_MAX_BYTES: u64 = 64 << 20;

fn read_import_file(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot read the {what} file {}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(IMPORT_MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| anyhow::anyhow!("cannot read the {what} file {}: {e}", path.display()))?;
    if text.len() as u64 > IMPORT_MAX_BYTES {
        anyhow::bail!(
            "the {what} file {} is larger than {} MiB",
            path.display(),
            IMPORT_MAX_BYTES >> 20
        );
    }
    Ok(text)
}

pub async fn conf_import(
    engine: &Engine,
    a: &ImportArgs,
    actor: &Actor,
    out: &mut impl Write,
    input: &mut dyn super::SecretInput,
) -> anyhow::Result<()> {
    let configs = read_import_file(&a.file, "configurations")?;
    let passwords = match a.passwords.as_str() {
        "-" => input.read_to_end()?,
        path => SecretString::from(read_import_file(path.as_ref(), "passwords")?),
    };
    let n = engine
        .partitions()
        .import_configs(
            &configs,
            &passwords,
            a.confirm_so,
            &a.file.display().to_string(),
            actor,
        )
        .await?;
    writeln!(
        out,
        "{n} configuration{} imported successfully.",
        if n == 1 { "" } else { "s" }
    )?;
    Ok(())
}

pub async fn conf_show(engine: &Engine, a: &NameArg, out: &mut impl Write) -> anyhow::Result<()> {
    let c = engine.partitions().get_config(&a.name).await?;
    writeln!(out, "partitionName={}", c.partition_name)?;
    writeln!(
        out,
        "partitionPwd={}",
        if c.password_set { "********" } else { "" }
    )?;
    writeln!(
        out,
        "slot={}",
        c.slot.map(|s| s.to_string()).unwrap_or_default()
    )?;
    writeln!(out, "userType={}", c.user_type)?;
    // The guide's four lines; more only when something needs attention or
    // differs from the guide's single module.
    if let Some(m) = &c.module {
        writeln!(out, "module={m}")?;
    }
    if c.state == engine::partitions::ConfigState::Failing {
        writeln!(
            out,
            "state=failing ({} failed reseeds in a row, last {}; last good {})",
            c.failures_in_row,
            c.last_error.as_deref().unwrap_or("error"),
            c.last_ok_at
                .map(types::time::when)
                .unwrap_or_else(|| "never".into())
        )?;
    }
    if c.state == engine::partitions::ConfigState::Unsupported {
        writeln!(
            out,
            "state=unsupported ({}: {})",
            types::hsm::SEED_NOT_ACCEPTED,
            types::hsm::SEED_NOT_ACCEPTED_TEXT
        )?;
    }
    if let Some(h) = &c.held {
        writeln!(
            out,
            "loginHeld={} since {} ({}; edit the password, or hsm-login-retry --name={} --confirm)",
            h.ckr,
            types::time::when(h.since),
            h.detail,
            c.name
        )?;
    }
    Ok(())
}

pub async fn conf_list(engine: &Engine, out: &mut impl Write) -> anyhow::Result<()> {
    let list = engine.partitions().list_configs().await?;
    if list.is_empty() {
        writeln!(out, "No HSM configuration yet (hsm-conf-new --name=HSM1).")?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            let last = match &c.held {
                Some(h) => format!(
                    "LOGIN HELD ({}): edit the password or hsm-login-retry",
                    h.ckr
                ),
                None => last_reseed(c),
            };
            vec![
                c.name.clone(),
                // A named module beside the slot: `42 (kry)`.
                match (c.slot, &c.module) {
                    (Some(s), Some(m)) => format!("{s} ({m})"),
                    (Some(s), None) => s.to_string(),
                    (None, _) => "-".into(),
                },
                c.user_type.to_string(),
                if c.enabled { "yes" } else { "no" }.into(),
                if c.password_set { "set" } else { "not set" }.into(),
                if c.partition_name.is_empty() {
                    "-".into()
                } else {
                    c.partition_name.clone()
                },
                last,
            ]
        })
        .collect();
    super::columns(
        out,
        &[
            "Name",
            "Slot",
            "User type",
            "Enabled",
            "Password",
            "Partition",
            "Last reseed",
        ],
        &rows,
    )
}

/// The list's "Last reseed" column: outcome, error and time, or `never`.
fn last_reseed(c: &engine::partitions::HsmConfig) -> String {
    match (&c.last_outcome, &c.last_error, &c.last_at) {
        (Some(o), e, Some(at)) => format!(
            "{o}{} at {}",
            e.as_ref().map(|e| format!(" ({e})")).unwrap_or_default(),
            types::time::when(*at)
        ),
        _ => "never".into(),
    }
}

pub async fn conf_delete(
    engine: &Engine,
    a: &NameArg,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    engine.partitions().delete_config(&a.name, actor).await?;
    writeln!(out, "Configuration {} deleted successfully.", a.name)?;
    Ok(())
}

pub async fn seed(
    engine: &Engine,
    a: &NameArg,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let r = engine
        .partitions()
        .reseed(&a.name, Trigger::Cli, actor)
        .await?;
    writeln!(
        out,
        "HSM {} reseeded successfully with {} bits (slot {}, token {}, {:.1} ms).",
        r.name, r.bits, r.slot, r.token_serial, r.duration_ms
    )?;
    Ok(())
}

pub async fn login_retry(
    engine: &Engine,
    a: &RetryArgs,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if !a.confirm {
        writeln!(out, "{}", engine::partitions::RETRY_WARNING)?;
        anyhow::bail!(
            "nothing was tried: add --confirm to log in to {} once more",
            a.name
        );
    }
    let info = engine.partitions().retry_login(&a.name, actor).await?;
    writeln!(
        out,
        "Login of {} succeeded (slot {}, token {}); its login is no longer held.",
        a.name, info.slot_id, info.serial
    )?;
    Ok(())
}

pub async fn conf_seed(
    engine: &Engine,
    a: &PeriodArgs,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let p = SeedPeriod::parse(&a.period)?;
    engine.schedule().set_seed_period(p, actor).await?;
    writeln!(out, "Seed period configured successfully.")?;
    Ok(())
}
