//! Administrators: names, argon2id password hashes, first-run creation, login
//! with throttling.

mod name;
mod password;
mod throttle;
pub mod tokens;
mod users;

pub use name::UserName;
pub use password::{hash_password, verify_password, MIN_PASSWORD_LEN};
pub use throttle::{MAX_FAILURES, WINDOW};
pub use users::{User, UserInfo};

use std::net::IpAddr;

use rand::distributions::{Distribution, Uniform};
use secrecy::SecretString;

use crate::audit::Actor;
use crate::clock::unix_ms;
use crate::error::{Error, Result};
use crate::history::Outcome;
use crate::Engine;

/// The name of the administrator created on first start.
pub const FIRST_ADMIN: &str = "admin";

/// The first administrator, as created on first start.
pub struct FirstAdmin {
    pub name: String,
    /// Set when the password was generated and must be shown once.
    pub generated_password: Option<SecretString>,
}

/// Fills `buf` from the OS random number generator.
pub fn fill_random(buf: &mut [u8]) {
    use rand::RngCore;
    rand::rngs::OsRng.fill_bytes(buf);
}

/// A random password of 20 characters from an unambiguous alphabet
/// (about 114 bits).
pub fn random_password() -> SecretString {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    let pick = Uniform::from(0..ALPHABET.len());
    let s: String = (0..20)
        .map(|_| char::from(ALPHABET[pick.sample(&mut rng)]))
        .collect();
    SecretString::from(s)
}

impl Engine {
    /// Creates the administrator `admin` when there is no user at all, with
    /// `password` or a random one (returned so it can be shown once).
    pub async fn ensure_first_admin(
        &self,
        password: Option<&SecretString>,
    ) -> Result<Option<FirstAdmin>> {
        let mut conn = self.store().pool().acquire().await?;
        if users::count(&mut conn).await? > 0 {
            return Ok(None);
        }
        let (password, generated) = match password {
            Some(p) => {
                password::check_policy(p)?;
                (p.clone(), false)
            }
            None => (random_password(), true),
        };
        let hash = hash_password(password.clone()).await?;
        let name = UserName::parse(FIRST_ADMIN)?;
        users::insert(&mut conn, &name, &hash, unix_ms(self.now())).await?;
        tracing::info!(user = FIRST_ADMIN, "first administrator created");
        Ok(Some(FirstAdmin {
            name: FIRST_ADMIN.to_string(),
            generated_password: generated.then_some(password),
        }))
    }

    /// Checks a user name and password. Refused while the user or the address
    /// has had too many recent failures (then the password is not even
    /// checked); an unknown user costs the same time as a wrong password.
    #[tracing::instrument(skip(self, password), fields(user = %name))]
    pub async fn login(
        &self,
        name: &str,
        password: &SecretString,
        addr: Option<IpAddr>,
        door: &str,
    ) -> Result<User> {
        let r = self.login_inner(name, password, addr).await;
        // The name as typed, bounded and printable: it may be anything.
        let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
        let (outcome, detail) = match &r {
            Ok(_) => (Outcome::Ok, door.to_string()),
            Err(e) => (Outcome::Error, format!("{door}: {e}")),
        };
        self.audit(
            &Actor::user(shown.clone(), addr),
            "login",
            &shown,
            outcome,
            &detail,
        )
        .await?;
        r
    }

    async fn login_inner(
        &self,
        name: &str,
        password: &SecretString,
        addr: Option<IpAddr>,
    ) -> Result<User> {
        let now = self.now();
        let mut conn = self.store().pool().acquire().await?;
        let addr_key = addr.map(|a| a.to_string());
        throttle::check(&mut conn, name, addr_key.as_deref(), now).await?;
        let user = match UserName::parse(name) {
            Ok(n) => users::find_by_name(&mut conn, &n).await?,
            Err(_) => None,
        };
        let ok = verify_password(
            user.as_ref().map(|u| u.password_hash.clone()),
            password.clone(),
        )
        .await?;
        match user {
            Some(u) if ok => {
                throttle::clear_user(&mut conn, name).await?;
                tracing::info!("login succeeded");
                Ok(User {
                    id: u.id,
                    name: u.name,
                })
            }
            _ => {
                throttle::record_failure(&mut conn, name, addr_key.as_deref(), now).await?;
                tracing::warn!("login failed");
                Err(Error::BadCredentials)
            }
        }
    }

    /// The user with this id, if it still exists (sessions are checked
    /// against it on every request).
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let mut conn = self.store().pool().acquire().await?;
        Ok(users::find_by_id(&mut conn, id).await?.map(|u| User {
            id: u.id,
            name: u.name,
        }))
    }

    /// The administrators.
    pub async fn list_users(&self) -> Result<Vec<UserInfo>> {
        let mut conn = self.store().pool().acquire().await?;
        users::list(&mut conn).await
    }

    /// Adds an administrator.
    #[tracing::instrument(skip(self, password, actor))]
    pub async fn add_user(&self, name: &str, password: &SecretString, actor: &Actor) -> Result<()> {
        self.audited(actor, "user.add", name, async {
            let name = UserName::parse(name)?;
            password::check_policy(password)?;
            let hash = hash_password(password.clone()).await?;
            let mut conn = self.store().pool().acquire().await?;
            users::insert(&mut conn, &name, &hash, unix_ms(self.now())).await?;
            Ok(((), String::new()))
        })
        .await
    }

    /// Removes an administrator; the last one cannot be removed.
    #[tracing::instrument(skip(self, actor))]
    pub async fn remove_user(&self, name: &str, actor: &Actor) -> Result<()> {
        self.audited(actor, "user.remove", name, async {
            let name = UserName::parse(name)?;
            let mut tx = self.store().pool().begin().await?;
            if users::find_by_name(&mut tx, &name).await?.is_none() {
                return Err(Error::NotFound(format!("user {}", name.as_str())));
            }
            if users::count(&mut tx).await? <= 1 {
                return Err(Error::Invalid(
                    "the last administrator cannot be removed: add another one first".into(),
                ));
            }
            users::delete(&mut tx, &name).await?;
            tx.commit().await?;
            Ok(((), String::new()))
        })
        .await
    }

    /// Changes one's own password: the current one is required.
    #[tracing::instrument(skip(self, current, new, actor))]
    pub async fn change_own_password(
        &self,
        name: &str,
        current: &SecretString,
        new: &SecretString,
        actor: &Actor,
    ) -> Result<()> {
        self.audited(actor, "user.password", name, async {
            let uname = UserName::parse(name)?;
            let mut conn = self.store().pool().acquire().await?;
            let user = users::find_by_name(&mut conn, &uname).await?;
            drop(conn);
            let ok = verify_password(user.map(|u| u.password_hash), current.clone()).await?;
            if !ok {
                return Err(Error::Invalid("the current password is not right".into()));
            }
            self.store_password(&uname, new).await?;
            Ok(((), "own password".to_string()))
        })
        .await
    }

    /// Sets a user's password (console `user-passwd`, by whoever holds the
    /// data directory).
    #[tracing::instrument(skip(self, password, actor))]
    pub async fn set_password(
        &self,
        name: &str,
        password: &SecretString,
        actor: &Actor,
    ) -> Result<()> {
        self.audited(actor, "user.password", name, async {
            self.store_password(&UserName::parse(name)?, password)
                .await?;
            Ok(((), String::new()))
        })
        .await
    }

    async fn store_password(&self, name: &UserName, password: &SecretString) -> Result<()> {
        password::check_policy(password)?;
        let hash = hash_password(password.clone()).await?;
        let mut conn = self.store().pool().acquire().await?;
        if !users::update_password(&mut conn, name, &hash, unix_ms(self.now())).await? {
            return Err(Error::NotFound(format!("user {}", name.as_str())));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::Settings;
    use secrecy::ExposeSecret;
    use std::sync::Arc;

    async fn engine(dir: &tempfile::TempDir) -> (Engine, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(
            time::macros::datetime!(2026-11-28 12:00 UTC),
        ));
        let e = Engine::open_with_clock(Settings::for_data_dir(dir.path()), clock.clone())
            .await
            .unwrap();
        (e, clock)
    }

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[tokio::test]
    async fn first_admin_is_created_once_with_a_random_password() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        let first = e.ensure_first_admin(None).await.unwrap().expect("created");
        assert_eq!(first.name, "admin");
        let generated = first.generated_password.expect("generated");
        assert_eq!(generated.expose_secret().len(), 20);
        assert!(e.ensure_first_admin(None).await.unwrap().is_none());
        e.login("admin", &generated, None, "test").await.unwrap();
    }

    #[tokio::test]
    async fn given_admin_password_is_used_and_not_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        let first = e
            .ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap()
            .unwrap();
        assert!(first.generated_password.is_none());
        e.login("admin", &pw("correct horse battery"), None, "test")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn short_admin_password_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        let err = e
            .ensure_first_admin(Some(&pw("short")))
            .await
            .err()
            .unwrap();
        assert_eq!(err.code(), "invalid_input");
        assert!(
            e.ensure_first_admin(None).await.unwrap().is_some(),
            "nothing was created"
        );
    }

    #[tokio::test]
    async fn wrong_password_and_unknown_user_look_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        e.ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        let a = e
            .login("admin", &pw("wrong password!"), None, "test")
            .await
            .unwrap_err();
        let b = e
            .login("nobody", &pw("wrong password!"), None, "test")
            .await
            .unwrap_err();
        assert_eq!(a.to_string(), b.to_string());
        assert_eq!(a.code(), "bad_credentials");
    }

    #[tokio::test]
    async fn five_failures_lock_the_user_for_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let (e, clock) = engine(&dir).await;
        e.ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        for i in 0..MAX_FAILURES {
            let addr = Some(IpAddr::from([10, 0, 0, i as u8]));
            assert_eq!(
                e.login("admin", &pw("nope nope nope"), addr, "test")
                    .await
                    .unwrap_err()
                    .code(),
                "bad_credentials"
            );
        }
        // Even the right password is refused now, from any address.
        let err = e
            .login(
                "admin",
                &pw("correct horse battery"),
                Some(IpAddr::from([10, 9, 9, 9])),
                "test",
            )
            .await
            .unwrap_err();
        match err {
            Error::Throttled { retry_after_secs } => assert!((1..=60).contains(&retry_after_secs)),
            other => panic!("expected throttled, got {other:?}"),
        }
        clock.advance(time::Duration::seconds(61));
        e.login("admin", &pw("correct horse battery"), None, "test")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn five_failures_lock_the_address_for_any_user() {
        let dir = tempfile::tempdir().unwrap();
        let (e, clock) = engine(&dir).await;
        e.ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        let addr = Some(IpAddr::from([192, 0, 2, 7]));
        for i in 0..MAX_FAILURES {
            e.login(&format!("user{i}"), &pw("guess guess guess"), addr, "test")
                .await
                .unwrap_err();
        }
        assert_eq!(
            e.login("admin", &pw("correct horse battery"), addr, "test")
                .await
                .unwrap_err()
                .code(),
            "throttled"
        );
        // Another address is not affected.
        e.login(
            "admin",
            &pw("correct horse battery"),
            Some(IpAddr::from([192, 0, 2, 8])),
            "test",
        )
        .await
        .unwrap();
        clock.advance(time::Duration::seconds(61));
        e.login("admin", &pw("correct horse battery"), addr, "test")
            .await
            .unwrap();
    }
}
