//! `hsmseed serve`.

use std::io::Write;

use engine::config::{LoadReport, Settings};
use secrecy::ExposeSecret;

use crate::Application;

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}

pub async fn run(settings: Settings, report: LoadReport) -> anyhow::Result<()> {
    if let Some(f) = &report.file {
        tracing::info!(file = %f.display(), "settings file read");
    }
    let app = Application::build(settings).await?;
    for w in &app.warnings {
        tracing::warn!("{w}");
    }
    // What the operator must read goes to standard output, not the log.
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "hsmseed {} serving {}",
        env!("CARGO_PKG_VERSION"),
        app.url()
    )?;
    if let Some(fp) = &app.fingerprint {
        writeln!(out, "TLS certificate SHA-256 fingerprint: {fp}")?;
    }
    if let Some(first) = &app.first_admin {
        match &first.generated_password {
            Some(pw) => {
                writeln!(
                    out,
                    "First start: sign in as `{}` with password: {}",
                    first.name,
                    pw.expose_secret()
                )?;
                match &first.password_file {
                    Some(f) => writeln!(
                        out,
                        "(shown once; also kept in {} until the first sign-in; change it under Settings)",
                        f.display()
                    )?,
                    None => writeln!(out, "(shown once; change it under Settings)")?,
                }
            }
            None => writeln!(
                out,
                "First start: sign in as `{}` with the password from HSMSEED_ADMIN_PASSWORD",
                first.name
            )?,
        }
    }
    out.flush()?;
    drop(out);
    tracing::info!(url = %app.url(), "serving");
    // The listener is bound and the database open: a `Type=notify` unit
    // counts the service as started from here.
    crate::systemd::tell(&format!("READY=1\nSTATUS=serving {}", app.url()));
    app.run_until(async {
        shutdown_signal().await;
        crate::systemd::tell("STOPPING=1");
    })
    .await?;
    tracing::info!("stopped");
    Ok(())
}
