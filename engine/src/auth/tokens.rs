//! API tokens: bearer secrets for automation, shown once, stored as a
//! SHA-256 hash (they are 256 random bits, so a fast hash is enough), each
//! with one scope.

use crate::store::db::{self, Conn, Pool};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::Auth;
use crate::audit::Actor;
use crate::clock::unix_ms;
use crate::error::{Error, Result};
use crate::partitions::HsmName;
use crate::store::shared::record_change;

pub use types::auth::TokenInfo;
pub use types::Scope;

/// A token just created: the secret is shown this once.
pub struct NewToken {
    pub info: TokenInfo,
    pub secret: SecretString,
}

const PREFIX: &str = "hss_";
/// `last_used_at` is written at most this often per token.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    scope: String,
    prefix: String,
    created_at: i64,
    created_by: String,
    last_used_at: Option<i64>,
}

impl Row {
    fn info(self) -> Result<TokenInfo> {
        Ok(TokenInfo {
            name: self.name,
            scope: self.scope.parse()?,
            prefix: self.prefix,
            created_at: crate::clock::from_ms(self.created_at),
            created_by: self.created_by,
            last_used_at: self.last_used_at.map(crate::clock::from_ms),
        })
    }
}

impl Auth {
    /// `token-new`: a new token; its secret is returned once.
    #[tracing::instrument(skip(self, actor))]
    pub async fn create_token(&self, name: &str, scope: Scope, actor: &Actor) -> Result<NewToken> {
        let (this, owned, created_by) = (self.clone(), name.to_string(), actor.label());
        self.core
            .audited_tx(actor, "token.create", name, move |tx| {
                Box::pin(async move {
                    let t = this
                        .create_token_inner(tx, &owned, scope, &created_by)
                        .await?;
                    Ok((t, format!("scope {}", scope.as_str())))
                })
            })
            .await
    }

    async fn create_token_inner(
        &self,
        conn: &mut Conn,
        name: &str,
        scope: Scope,
        created_by: &str,
    ) -> Result<NewToken> {
        let name = HsmName::parse(name).map_err(|_| {
            Error::Invalid(format!(
                "token name `{}` is not 1 to 64 letters, digits, _ . or -",
                name.chars().take(80).collect::<String>()
            ))
        })?;
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let secret = format!("{PREFIX}{}", hex::encode(raw));
        zeroize::Zeroize::zeroize(&mut raw);
        let prefix: String = secret.chars().take(PREFIX.len() + 8).collect();
        let now = unix_ms(self.core.now());
        let r = insert(
            conn,
            name.as_str(),
            scope,
            &hash(&secret),
            &prefix,
            now,
            created_by,
        )
        .await;
        match r {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(Error::Conflict(format!("token {name}")))
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(token = %name, scope = scope.as_str(), "API token created");
        Ok(NewToken {
            info: TokenInfo {
                name: name.to_string(),
                scope,
                prefix,
                created_at: crate::clock::from_ms(now),
                created_by: created_by.to_string(),
                last_used_at: None,
            },
            secret: SecretString::from(secret),
        })
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        list(self.core.store().pool())
            .await?
            .into_iter()
            .map(Row::info)
            .collect()
    }

    /// Revokes (deletes) a token: it stops working at once.
    #[tracing::instrument(skip(self, actor))]
    pub async fn revoke_token(&self, name: &str, actor: &Actor) -> Result<()> {
        let (this, name) = (self.clone(), name.to_string());
        let target = name.clone();
        self.core
            .audited_tx(actor, "token.revoke", &target, move |tx| {
                Box::pin(async move {
                    if !delete(tx, &name).await? {
                        return Err(Error::NotFound(format!("token {name}")));
                    }
                    let now = unix_ms(this.core.now());
                    record_change(&mut *tx, now, &format!("token {name} revoked")).await?;
                    tracing::info!(token = %name, "API token revoked");
                    Ok(((), String::new()))
                })
            })
            .await
    }

    /// The token a bearer secret belongs to, if any.
    pub async fn verify_token(&self, secret: &SecretString) -> Result<Option<TokenInfo>> {
        let s = secret.expose_secret();
        if !s.starts_with(PREFIX) || s.len() != PREFIX.len() + 64 {
            return Ok(None);
        }
        let h = hash(s);
        let now = unix_ms(self.core.now());
        // Known tokens are remembered until the next change of
        // configuration (creating or revoking a token is one), so that a
        // busy automation costs no query per call.
        let version = self.core.change_version();
        let cached = self
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(version, &h);
        let (info, last_used) = match cached {
            Some(c) => c,
            None => {
                let row = find_by_hash(self.core.store().pool(), &h).await?;
                let Some(row) = row else { return Ok(None) };
                let last = row.last_used_at;
                (row.info()?, last)
            }
        };
        let mut last_used = last_used;
        if last_used.is_none_or(|t| now - t >= LAST_USED_GRANULARITY_MS) {
            mark_used(self.core.store().pool(), &h, now).await?;
            last_used = Some(now);
        }
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).put(
            version,
            h,
            info.clone(),
            last_used,
        );
        Ok(Some(info))
    }
}

/// Verified tokens, valid for one configuration version.
#[derive(Default)]
pub(crate) struct TokenCache {
    version: i64,
    entries: std::collections::HashMap<String, (TokenInfo, Option<i64>)>,
}

impl TokenCache {
    /// Most tokens remembered at once.
    const MAX: usize = 1024;

    fn get(&mut self, version: i64, hash: &str) -> Option<(TokenInfo, Option<i64>)> {
        if self.version != version {
            self.entries.clear();
            self.version = version;
        }
        self.entries.get(hash).cloned()
    }

    fn put(&mut self, version: i64, hash: String, info: TokenInfo, last_used: Option<i64>) {
        if self.version != version {
            return;
        }
        if self.entries.len() >= Self::MAX {
            self.entries.clear();
        }
        self.entries.insert(hash, (info, last_used));
    }
}

/// Revokes the tokens administrator `name` created (they are removed);
/// answers their names.
pub(crate) async fn revoke_created_by(conn: &mut Conn, name: &str) -> Result<Vec<String>> {
    Ok(
        db::query_scalar("DELETE FROM api_tokens WHERE created_by = $1 RETURNING name")
            .bind(name)
            .fetch_all(conn)
            .await?,
    )
}

// --- the repository: `api_tokens` -------------------------------------------

const COLUMNS: &str = "name, scope, prefix, created_at, created_by, last_used_at";

async fn insert(
    conn: &mut Conn,
    name: &str,
    scope: Scope,
    token_hash: &str,
    prefix: &str,
    now_ms: i64,
    created_by: &str,
) -> std::result::Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO api_tokens (name, scope, token_hash, prefix, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(name)
    .bind(scope.as_str())
    .bind(token_hash)
    .bind(prefix)
    .bind(now_ms)
    .bind(created_by)
    .execute(conn)
    .await?;
    Ok(())
}

async fn list(pool: &Pool) -> Result<Vec<Row>> {
    Ok(
        db::query_as(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY name"))
            .fetch_all(pool)
            .await?,
    )
}

async fn find_by_hash(pool: &Pool, token_hash: &str) -> Result<Option<Row>> {
    Ok(db::query_as(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await?)
}

async fn mark_used(pool: &Pool, token_hash: &str, now_ms: i64) -> Result<()> {
    db::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
        .bind(now_ms)
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Whether there was a token `name` to delete.
async fn delete(conn: &mut Conn, name: &str) -> Result<bool> {
    let n = db::query("DELETE FROM api_tokens WHERE name = $1")
        .bind(name)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n > 0)
}
