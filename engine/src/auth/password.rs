//! argon2id hashing with explicit parameters, off the async runtime.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::{Error, Result};

/// Shortest password accepted for an administrator.
pub const MIN_PASSWORD_LEN: usize = types::limits::ADMIN_PASSWORD_MIN;

/// OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub(crate) fn check_policy(password: &SecretString) -> Result<()> {
    let n = password.expose_secret().chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(Error::Invalid(format!(
            "a password has at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if n > types::limits::ADMIN_PASSWORD_MAX {
        return Err(Error::Invalid(format!(
            "a password has at most {} characters",
            types::limits::ADMIN_PASSWORD_MAX
        )));
    }
    Ok(())
}

fn hash_blocking(password: &SecretString) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()?
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map_err(|e| Error::Internal(format!("hashing failed: {e}")))?
        .to_string())
}

/// How long an argon2 computation waits for its turn before it is refused
/// as busy.
const ARGON2_WAIT: Duration = Duration::from_secs(10);

/// Turns for argon2 computations: each takes a core for tens of
/// milliseconds, so at most half the cores (at least one) compute at once
/// and a sign-in flood waits here instead of taking every core and every
/// blocking thread from the API. Per process, as the cores are.
fn argon2_turns() -> &'static Semaphore {
    static TURNS: OnceLock<Semaphore> = OnceLock::new();
    TURNS.get_or_init(|| Semaphore::new(argon2_turn_count()))
}

fn argon2_turn_count() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / 2).max(1)
}

async fn argon2_turn() -> Result<SemaphorePermit<'static>> {
    match tokio::time::timeout(ARGON2_WAIT, argon2_turns().acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_)) => Err(Error::Internal("the argon2 turns are closed".into())),
        Err(_) => Err(Error::Busy {
            retry_after_secs: ARGON2_WAIT.as_secs(),
        }),
    }
}

/// Runs argon2 work `f` on the blocking pool in its turn.
async fn with_argon2<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let _turn = argon2_turn().await?;
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f)).await?
}

/// Test hook: takes every argon2 turn until the permits are dropped.
#[cfg(test)]
pub(crate) async fn occupy_argon2() -> SemaphorePermit<'static> {
    let all = u32::try_from(argon2_turn_count()).unwrap_or(u32::MAX);
    argon2_turns().acquire_many(all).await.unwrap()
}

/// Hashes a password with argon2id (PHC string).
pub async fn hash_password(password: SecretString) -> Result<String> {
    with_argon2(move || hash_blocking(&password)).await
}

/// A hash of a random password, checked against when the user is unknown so
/// that the answer takes as long as for a known user.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking(&super::random_password()).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000".into()
        })
    })
}

/// Verifies `password` against `hash`; with no hash, verifies against a
/// dummy and answers false.
pub async fn verify_password(hash: Option<String>, password: SecretString) -> Result<bool> {
    with_argon2(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return Ok(false);
        };
        let ok = argon2()?
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(known && ok)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_is_argon2id_with_the_chosen_parameters_and_verifies() {
        let h = hash_password(SecretString::from("a long enough password".to_string()))
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(
            Some(h.clone()),
            SecretString::from("a long enough password".to_string())
        )
        .await
        .unwrap());
        assert!(
            !verify_password(Some(h), SecretString::from("another password".to_string()))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(
            !verify_password(None, SecretString::from("anything at all".to_string()))
                .await
                .unwrap()
        );
    }

    #[test]
    fn policy_requires_length() {
        assert!(check_policy(&SecretString::from("short".to_string())).is_err());
        assert!(check_policy(&SecretString::from("x".repeat(1025))).is_err());
        assert!(check_policy(&SecretString::from("x".repeat(1024))).is_ok());
        assert!(check_policy(&SecretString::from("twelve chars".to_string())).is_ok());
    }
}
