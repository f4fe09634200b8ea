//! Administrators at the console. Passwords are read from
//! the terminal (not echoed) or, for scripts, one line of standard input;
//! never from a flag.

use std::io::{BufRead, IsTerminal, Write};

use engine::audit::Actor;
use engine::Engine;
use secrecy::SecretString;

/// Reads a password: from the terminal without echo, or a line of stdin.

#[derive(Debug, clap::Args)]
pub struct UserArg {
    /// Name of the administrator (the sign-in name: letters, digits, _ . -;
    /// at most 64)
    #[arg(long)]
    pub name: String,
}

pub fn read_password(prompt: &str) -> anyhow::Result<SecretString> {
    if std::io::stdin().is_terminal() {
        Ok(SecretString::from(rpassword::prompt_password(prompt)?))
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(SecretString::from(
            line.trim_end_matches(['\r', '\n']).to_string(),
        ))
    }
}

/// A new password, asked twice on a terminal.
fn new_password(input: &mut dyn super::SecretInput) -> anyhow::Result<SecretString> {
    use secrecy::ExposeSecret;
    let first = input.secret("New password: ")?;
    if input.is_terminal() {
        let again = input.secret("Again: ")?;
        if again.expose_secret() != first.expose_secret() {
            anyhow::bail!("the two passwords differ");
        }
    }
    Ok(first)
}

pub async fn user_add(
    engine: &Engine,
    a: &UserArg,
    actor: &Actor,
    out: &mut impl Write,
    input: &mut dyn super::SecretInput,
) -> anyhow::Result<()> {
    let pw = new_password(input)?;
    engine.auth().add_user(&a.name, &pw, actor).await?;
    writeln!(out, "User {} added successfully.", a.name)?;
    Ok(())
}

pub async fn user_passwd(
    engine: &Engine,
    a: &UserArg,
    actor: &Actor,
    out: &mut impl Write,
    input: &mut dyn super::SecretInput,
) -> anyhow::Result<()> {
    let pw = new_password(input)?;
    engine.auth().set_password(&a.name, &pw, actor).await?;
    writeln!(
        out,
        "Password of {} changed successfully; their web sessions have ended.",
        a.name
    )?;
    Ok(())
}

pub async fn user_remove(
    engine: &Engine,
    a: &UserArg,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let removed = engine.auth().remove_user(&a.name, actor).await?;
    writeln!(
        out,
        "User {} removed successfully: {}.",
        a.name,
        removed.describe()
    )?;
    Ok(())
}

pub async fn user_list(engine: &Engine, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "{:<32} Since", "Name")?;
    for u in engine.auth().list_users().await? {
        writeln!(out, "{:<32} {}", u.name, types::time::when(u.created_at))?;
    }
    Ok(())
}
