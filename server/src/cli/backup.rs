//! `hsmseed backup --out=FILE [--with-master-key]` and
//! `hsmseed restore --in=FILE`: moving an appliance.
//!
//! The backup file is created (and the restored one opened) by whoever ran
//! the command, before it acts as the data directory's owner: root's backup
//! in /root stays root's.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;
use engine::config::Settings;

/// Creates the new backup file, mode 0600; never over an existing one.
pub fn create_out(path: &Path) -> anyhow::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating {} (name a new file; nothing was written)",
                path.display()
            )
        })
}

pub fn open_in(path: &Path) -> anyhow::Result<File> {
    File::open(path).with_context(|| format!("opening {}", path.display()))
}

pub async fn backup(
    settings: Settings,
    out: File,
    out_path: PathBuf,
    with_master_key: bool,
) -> anyhow::Result<()> {
    let key_path = settings
        .master_key_file
        .clone()
        .unwrap_or_else(|| settings.data_dir.join(engine::secrets::DEFAULT_FILE));
    let written = async {
        let engine = engine::Engine::open(settings).await?;
        engine.backup(out, with_master_key).await
    }
    .await;
    let report = match written {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&out_path);
            return Err(e).context("writing the backup (nothing was kept)");
        }
    };
    println!(
        "Backup written to {} ({} KiB): {}",
        out_path.display(),
        report.bytes.div_ceil(1024),
        report.files.join(", ")
    );
    if report.master_key_included {
        eprintln!(
            "WARNING: this backup holds the master key. Whoever has the file can decrypt every \
             partition password and private key in it: keep it encrypted and apart."
        );
    } else {
        println!(
            "The master key is not in it: a restore needs the same key, so keep a copy of {} \
             apart from the backups.",
            key_path.display()
        );
    }
    Ok(())
}

pub async fn restore(settings: Settings, input: File, in_path: &Path) -> anyhow::Result<()> {
    let dir = settings.data_dir.clone();
    let shown = in_path.display().to_string();
    let report = engine::backup::restore(&settings, input, &shown).await?;
    println!(
        "Restored the backup made {} by hsmseed {} into {}{}.",
        report.created_at,
        report.hsmseed_version,
        if report.fleet {
            "the fleet's database (database_url)".to_string()
        } else {
            dir.display().to_string()
        },
        if report.master_key_restored {
            ", master key included"
        } else {
            ""
        }
    );
    if let Some(p) = &report.previous {
        println!("What it replaced is kept in {}.", p.display());
    }
    if report.fleet {
        if report.master_key_restored {
            println!(
                "Every appliance of the fleet needs this master key: copy {} to each before \
                 starting it.",
                settings
                    .master_key_file
                    .clone()
                    .unwrap_or_else(|| dir.join(engine::secrets::DEFAULT_FILE))
                    .display()
            );
        }
        println!("Start the fleet's appliances again; everyone signs in afresh.");
    } else {
        println!("Start the server again (systemctl start hsmseed); everyone signs in afresh.");
    }
    Ok(())
}
