//! API tokens at the console: `token-new`, `token-list`, `token-revoke`.

use std::io::Write;

use clap::Args;
use engine::audit::Actor;
use engine::Engine;

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Name of the new API token (letters, digits, _ . -; at most 64)
    #[arg(long)]
    pub name: String,
    /// What the token may do: seed (reseed, nothing else), read
    /// (configurations, history, status) or entropy (the random-number
    /// endpoints: streambytes, hexbytes, short, int, float, double)
    #[arg(long)]
    pub scope: String,
}

#[derive(Debug, Args)]
pub struct TokenNameArg {
    /// Name of the API token, as token-list shows it
    #[arg(long)]
    pub name: String,
}

pub async fn token_new(
    engine: &Engine,
    a: &TokenArgs,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let scope = a.scope.parse()?;
    let t = engine.auth().create_token(&a.name, scope, actor).await?;
    eprintln!(
        "API token {} created with scope {}; it is shown only this once:",
        t.info.name,
        t.info.scope.as_str()
    );
    writeln!(out, "{}", t.secret.expose_secret())?;
    Ok(())
}

pub async fn token_list(engine: &Engine, out: &mut impl Write) -> anyhow::Result<()> {
    let list = engine.auth().list_tokens().await?;
    if list.is_empty() {
        writeln!(
            out,
            "No API token yet (token-new --name=NAME --scope=seed)."
        )?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .into_iter()
        .map(|t| {
            vec![
                t.name,
                t.scope.as_str().into(),
                t.prefix,
                types::time::when(t.created_at),
                t.last_used_at
                    .map(types::time::when)
                    .unwrap_or_else(|| "never".into()),
            ]
        })
        .collect();
    super::columns(
        out,
        &["Name", "Scope", "Prefix", "Created", "Last used"],
        &rows,
    )
}

pub async fn token_revoke(
    engine: &Engine,
    a: &TokenNameArg,
    actor: &Actor,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    engine.auth().revoke_token(&a.name, actor).await?;
    writeln!(out, "API token {} revoked.", a.name)?;
    Ok(())
}
