//! The guide's trust-link commands (`ntl-*`), with file paths where the
//! Quantis Appliance asked for a USB stick.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use engine::audit::Actor;
use engine::ntl::QaSubject;
use engine::Engine;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The HSM's server certificate (PEM file, e.g. server.pem from the HSM)
    #[arg(long = "hsmCert", value_name = "FILE")]
    pub hsm_cert: PathBuf,
    /// The HSM's IP address or host name
    #[arg(long = "hsmIp", value_name = "ADDRESS")]
    pub hsm_ip: String,
    /// Replace the certificate already listed for this address
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Args)]
pub struct AddressArg {
    /// The HSM's IP address or host name
    #[arg(long = "hsmIp", value_name = "ADDRESS")]
    pub hsm_ip: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// File name of the exported certificate, e.g. 192.168.1.21.pem
    #[arg(long)]
    pub name: String,
    /// Directory to save it in (default: the current directory)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// C: two-letter country code
    #[arg(long)]
    pub country: Option<String>,
    /// ST: state or province
    #[arg(long)]
    pub state: Option<String>,
    /// L: locality (city)
    #[arg(long)]
    pub locality: Option<String>,
    /// O: organization
    #[arg(long)]
    pub organization: Option<String>,
    /// CN: the appliance's IP address or host name, as the HSMs reach it
    #[arg(long)]
    pub address: Option<String>,
}

/// The largest file read as a certificate (the engine refuses what is over
/// 64 KiB with its own message; this only bounds the read).
const READ_LIMIT: u64 = 1024 * 1024;

fn read_bounded(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut buf = Vec::new();
    f.take(READ_LIMIT).read_to_end(&mut buf)?;
    Ok(buf)
}

pub async fn hsm_cert_import(
    engine: &Engine,
    a: &ImportArgs,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let pem = read_bounded(&a.hsm_cert)?;
    let imported = engine
        .trust()
        .import_server_cert(&a.hsm_ip, &pem, a.replace, actor)
        .await?;
    for w in &imported.cert.warnings {
        eprintln!("Warning: {w}");
    }
    if imported.replaced {
        writeln!(
            out,
            "Server {} replaced in the list successfully",
            imported.cert.address
        )?;
    } else {
        writeln!(out, "New server added to the list successfully")?;
    }
    Ok(())
}

pub async fn hsm_cert_list(engine: &Engine, out: &mut impl Write) -> anyhow::Result<()> {
    let list = engine.trust().server_certs().await?;
    if list.is_empty() {
        writeln!(out, "The HSM server list is empty (ntl-hsm-cert-import --hsmCert=server.pem --hsmIp=ADDRESS).")?;
        return Ok(());
    }
    for s in list {
        writeln!(out, "{}", s.address)?;
        writeln!(out, "  Subject:     {}", s.info.subject)?;
        writeln!(out, "  Issuer:      {}", s.info.issuer)?;
        writeln!(
            out,
            "  Valid until: {} ({})",
            types::time::when(s.info.not_after),
            s.info.expiry_text(engine.now())
        )?;
        writeln!(out, "  SHA-256:     {}", s.info.fingerprint_sha256)?;
        for w in s.warnings {
            writeln!(out, "  Warning:     {w}")?;
        }
    }
    Ok(())
}

pub async fn hsm_cert_delete(
    engine: &Engine,
    a: &AddressArg,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    engine.trust().delete_server_cert(&a.hsm_ip, actor).await?;
    writeln!(
        out,
        "Server {} removed from the list successfully",
        a.hsm_ip
    )?;
    Ok(())
}

pub async fn qa_cert_new(
    engine: &Engine,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // The guide's command takes no confirmation; say what re-creating means.
    let (cert, replaced) = engine.trust().create_qa_cert(true, actor).await?;
    if replaced {
        eprintln!(
            "Warning: the previous QA certificate was replaced: every HSM must register the appliance ({}) again.",
            cert.address
        );
    }
    writeln!(out, "New QA certificate created successfully for the NTL.")?;
    Ok(())
}

pub async fn qa_cert_show(engine: &Engine, out: &mut impl Write) -> anyhow::Result<()> {
    let cert =
        engine.trust().qa_cert().await?.ok_or_else(|| {
            anyhow::anyhow!("no QA certificate yet: create it with ntl-qa-cert-new")
        })?;
    write!(out, "{}", cert.text)?;
    Ok(())
}

/// A plain file name: no directory part, no hidden file.
fn file_name(name: &str) -> anyhow::Result<&str> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control);
    if !ok {
        anyhow::bail!("--name `{name}` is not a plain file name (use --dir for the directory)");
    }
    Ok(name)
}

pub async fn qa_cert_export(
    engine: &Engine,
    a: &ExportArgs,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let name = file_name(&a.name)?;
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    if !dir.is_dir() {
        anyhow::bail!("directory {} does not exist", dir.display());
    }
    let (_, pem) = engine.trust().export_qa_cert(actor).await?;
    let path = dir.join(name);
    std::fs::write(&path, pem)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    writeln!(out, "Certificate saved successfully")?;
    Ok(())
}

pub async fn qa_subject(
    engine: &Engine,
    a: &SubjectArgs,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let current = engine.trust().qa_settings().await?;
    if a.country.is_none()
        && a.state.is_none()
        && a.locality.is_none()
        && a.organization.is_none()
        && a.address.is_none()
    {
        let s = &current.subject;
        writeln!(out, "country={}", s.country.as_deref().unwrap_or(""))?;
        writeln!(out, "state={}", s.state.as_deref().unwrap_or(""))?;
        writeln!(out, "locality={}", s.locality.as_deref().unwrap_or(""))?;
        writeln!(
            out,
            "organization={}",
            s.organization.as_deref().unwrap_or("")
        )?;
        writeln!(
            out,
            "address={}",
            current
                .address
                .clone()
                .or(current.default_address.map(|d| format!("{d} (default)")))
                .unwrap_or_default()
        )?;
        return Ok(());
    }
    // Flags given change those fields; the others stay.
    let pick = |new: &Option<String>, old: &Option<String>| new.clone().or_else(|| old.clone());
    let subject = QaSubject {
        country: pick(&a.country, &current.subject.country),
        state: pick(&a.state, &current.subject.state),
        locality: pick(&a.locality, &current.subject.locality),
        organization: pick(&a.organization, &current.subject.organization),
    };
    let address = pick(&a.address, &current.address);
    engine
        .trust()
        .set_qa_settings(&subject, address.as_deref(), actor)
        .await?;
    writeln!(out, "QA certificate subject configured successfully.")?;
    Ok(())
}

pub async fn verify(engine: &Engine, out: &mut impl Write) -> anyhow::Result<()> {
    let slots = engine.partitions().slots().await?;
    writeln!(
        out,
        "The following SafeNet Luna Network HSM Slots/Partitions were found:"
    )?;
    writeln!(out)?;
    writeln!(out, "Slot\tSerial #\tLabel")?;
    writeln!(out, "====\t=====\t=====")?;
    for s in slots
        .iter()
        .filter(|s| !s.serial.is_empty() || !s.label.is_empty())
    {
        writeln!(out, "{}\t{}\t{}", s.slot_id, s.serial, s.label)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn export_names_are_plain_file_names() {
        assert!(file_name("192.168.1.21.pem").is_ok());
        for bad in ["", "../x.pem", "a/b.pem", ".hidden", "x\\y"] {
            assert!(file_name(bad).is_err(), "{bad}");
        }
    }
}
