//! Administrators: names, argon2id password hashes, first-run creation, login
//! with throttling.

mod name;
mod password;
mod sessions;
mod throttle;
pub mod tokens;
pub(crate) mod users;

pub use name::UserName;
pub use password::{hash_password, verify_password, MIN_PASSWORD_LEN};
pub use sessions::StoredSession;
pub use throttle::{CONSOLE_DOOR, MAX_FAILURES, WINDOW};
pub use users::{User, UserInfo};

use crate::store::db::Conn;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use rand::distributions::{Distribution, Uniform};
use secrecy::{ExposeSecret, SecretString};

use crate::audit::Actor;
use crate::clock::unix_ms;
use crate::core::Core;
use crate::error::{Error, Result};
use crate::store::shared::record_change;
use types::Outcome;

/// The name of the administrator created on first start.
pub const FIRST_ADMIN: &str = "admin";

/// The file in the data directory that holds a generated first
/// password (mode 0600) until the first successful sign-in removes it: a
/// service's standard output may be gone by the time someone looks.
pub const FIRST_PASSWORD_FILE: &str = "first-admin-password";

/// The first administrator, as created on first start.
pub struct FirstAdmin {
    pub name: String,
    /// Set when the password was generated and must be shown once.
    pub generated_password: Option<SecretString>,
    /// Where the generated password is kept until the first sign-in.
    pub password_file: Option<std::path::PathBuf>,
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

/// The auth capability: administrators, their sign-in (throttled), their
/// sessions, and API tokens.
#[derive(Clone)]
pub struct Auth {
    core: Core,
    tokens: Arc<Mutex<tokens::TokenCache>>,
}

impl Auth {
    pub(crate) fn new(core: Core) -> Auth {
        Auth {
            core,
            tokens: Arc::default(),
        }
    }
}

impl Auth {
    /// Creates the administrator `admin` when there is no user at all, with
    /// `password` or a random one (returned so it can be shown once).
    pub async fn ensure_first_admin(
        &self,
        password: Option<&SecretString>,
    ) -> Result<Option<FirstAdmin>> {
        let mut conn = self.core.store().pool().acquire().await?;
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
        // The file first: a user without a readable password would lock
        // the administrator out of a service whose output is lost.
        let password_file = if generated {
            let path = self.core.settings().data_dir.join(FIRST_PASSWORD_FILE);
            let text = format!("{}\n", password.expose_secret());
            crate::store::write_private_file(&path, text.as_bytes())?;
            Some(path)
        } else {
            None
        };
        users::insert(&mut conn, &name, &hash, unix_ms(self.core.now())).await?;
        tracing::info!(user = FIRST_ADMIN, "first administrator created");
        Ok(Some(FirstAdmin {
            name: FIRST_ADMIN.to_string(),
            generated_password: generated.then_some(password),
            password_file,
        }))
    }

    /// Removes the generated first password's file, once someone has
    /// signed in (it has served its purpose).
    fn forget_first_password(&self) {
        let path = self.core.settings().data_dir.join(FIRST_PASSWORD_FILE);
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!(
                file = %path.display(),
                "first sign-in done: the first password's file is removed"
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                file = %path.display(),
                error = %e,
                "cannot remove the first password's file; remove it by hand"
            ),
        }
    }

    /// Checks a user name and password. Refused while the user or the
    /// address has had too many recent failures (then the password is not
    /// even checked); an unknown user costs the same time as a wrong
    /// password. `door` is `web` or `console` (the console counts its
    /// failures apart). Every attempt that gets its password checked is
    /// audited; throttled ones are counted and audited once per window.
    #[tracing::instrument(skip(self, password), fields(user = %name))]
    pub async fn login(
        &self,
        name: &str,
        password: &SecretString,
        addr: Option<IpAddr>,
        door: &str,
    ) -> Result<User> {
        let r = self.login_inner(name, password, addr, door).await;
        // The name as typed, bounded and printable: it may be anything.
        let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
        let (outcome, detail) = match &r {
            Ok(_) => (Outcome::Ok, door.to_string()),
            Err(Error::Throttled { .. }) => return r,
            Err(e) => (Outcome::Error, format!("{door}: {e}")),
        };
        self.core
            .audit(
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
        door: &str,
    ) -> Result<User> {
        let addr_key = addr.map(|a| a.to_string());
        let attempt = throttle::Attempt {
            door,
            user: name,
            addr: addr_key.as_deref(),
        };
        let pool = self.core.store().pool();
        let reserved = match throttle::reserve(pool, &attempt, self.core.now()).await? {
            throttle::Verdict::Reserved(r) => r,
            throttle::Verdict::Throttled {
                retry_after_secs,
                finished,
            } => {
                if let Some(count) = finished {
                    self.audit_throttled(&count, door).await?;
                }
                tracing::warn!(retry_after_secs, "login throttled");
                return Err(Error::Throttled { retry_after_secs });
            }
        };
        // No connection is held while the password is checked.
        let user = match UserName::parse(name) {
            Ok(n) => {
                let mut conn = pool.acquire().await?;
                users::find_by_name(&mut conn, &n).await?
            }
            Err(_) => None,
        };
        let checked = verify_password(
            user.as_ref().map(|u| u.password_hash.clone()),
            password.clone(),
        )
        .await;
        let ok = match checked {
            Ok(ok) => ok,
            Err(e) => {
                // Not judged: the attempt does not count.
                throttle::released(pool, &reserved).await?;
                return Err(e);
            }
        };
        match user {
            Some(u) if ok => {
                throttle::succeeded(pool, &reserved).await?;
                tracing::info!("login succeeded");
                self.forget_first_password();
                Ok(u.user())
            }
            // The reservation stays: a failure.
            _ => {
                tracing::warn!("login failed");
                Err(Error::BadCredentials)
            }
        }
    }

    /// The audit row of a throttled bucket's window: how many attempts
    /// were refused, from when to when.
    async fn audit_throttled(&self, c: &throttle::ThrottledCount, door: &str) -> Result<()> {
        let (who, target) = match c.kind.as_str() {
            "addr" => (
                Actor {
                    kind: crate::audit::ActorKind::User,
                    name: c.last_user.clone(),
                    address: Some(c.key.clone()),
                },
                format!("address {}", c.key),
            ),
            _ => (Actor::user(c.last_user.clone(), None), c.key.clone()),
        };
        let detail = format!(
            "{door}: {} sign-in attempts refused while throttled, {} to {}",
            c.count,
            crate::clock::rfc3339(c.first_ms),
            crate::clock::rfc3339(c.last_ms)
        );
        self.core
            .audit(&who, "login.throttled", &target, Outcome::Error, &detail)
            .await
    }

    /// Audits the throttled attempts of windows that have ended (the
    /// server calls it every few seconds); returns how many rows it wrote.
    pub async fn flush_throttled(&self) -> Result<usize> {
        let counts = throttle::finished_counts(self.core.store().pool(), self.core.now()).await?;
        for c in &counts {
            self.audit_throttled(c, "sign-in").await?;
        }
        Ok(counts.len())
    }

    /// Records that `user` signed out through `door` (the door ends the
    /// session; the audit row is the engine's).
    pub async fn signed_out(&self, user: &User, addr: Option<IpAddr>, door: &str) -> Result<()> {
        self.core
            .audit(
                &Actor::user(user.name.clone(), addr),
                "logout",
                &user.name,
                Outcome::Ok,
                door,
            )
            .await
    }

    /// The user a session is bound to, if they still exist with the same
    /// credential generation (a password change or reset, or removal, ends
    /// every older session).
    pub async fn session_user(&self, uid: &str, generation: i64) -> Result<Option<User>> {
        Ok(users::find_by_uid_now(self.core.store(), uid)
            .await?
            .filter(|u| u.generation == generation)
            .map(users::UserRow::user))
    }

    /// The stored record of web session `session_id`, read on the calling
    /// thread (the session store's `load` on every signed-in request; its
    /// expiry is the caller's to check).
    pub fn stored_session(&self, session_id: &str) -> sessions::StoredSession {
        sessions::stored(self.core.store(), session_id)
    }

    /// Records that web session `session_id` belongs to `user` (at sign-in),
    /// so that removing the user or changing their password ends it.
    pub async fn bind_session(&self, session_id: &str, user: &User) -> Result<()> {
        sessions::bind(
            self.core.store().pool(),
            session_id,
            &user.uid,
            unix_ms(self.core.now()),
        )
        .await
    }

    /// Forgets a session's binding (sign-out), and bindings of sessions the
    /// store no longer has (expired).
    pub async fn unbind_sessions(&self, session_id: Option<&str>) -> Result<()> {
        sessions::unbind(self.core.store().pool(), session_id).await
    }

    /// The administrators.
    pub async fn list_users(&self) -> Result<Vec<UserInfo>> {
        let mut conn = self.core.store().pool().acquire().await?;
        users::list(&mut conn).await
    }

    /// Adds an administrator.
    #[tracing::instrument(skip(self, password, actor))]
    pub async fn add_user(&self, name: &str, password: &SecretString, actor: &Actor) -> Result<()> {
        // The slow part (argon2) before the transaction.
        let prepared = prepare_credentials(name, password).await;
        let this = self.clone();
        self.core
            .audited_tx(actor, "user.add", name, move |tx| {
                Box::pin(async move {
                    let (name, hash) = prepared?;
                    users::insert(tx, &name, &hash, unix_ms(this.core.now())).await?;
                    Ok(((), String::new()))
                })
            })
            .await
    }

    /// Removes an administrator (never the last one): their sessions end
    /// at once and the API tokens they created are revoked (the answer and
    /// the audit log say which), all with the audit row.
    #[tracing::instrument(skip(self, actor))]
    pub async fn remove_user(&self, name: &str, actor: &Actor) -> Result<UserRemoved> {
        let (this, parsed) = (self.clone(), UserName::parse(name));
        self.core
            .audited_tx(actor, "user.remove", name, move |tx| {
                Box::pin(async move {
                    let name = parsed?;
                    let Some(user) = users::find_by_name(tx, &name).await? else {
                        return Err(Error::NotFound(format!("user {}", name.as_str())));
                    };
                    if users::count(tx).await? <= 1 {
                        return Err(Error::Invalid(
                            "the last administrator cannot be removed: add another one first"
                                .into(),
                        ));
                    }
                    users::delete(tx, &name).await?;
                    let sessions = sessions::end_for_user(tx, &user.uid, None).await?;
                    let tokens = tokens::revoke_created_by(tx, name.as_str()).await?;
                    if !tokens.is_empty() {
                        let what = format!("user {} removed: tokens revoked", name.as_str());
                        record_change(&mut *tx, unix_ms(this.core.now()), &what).await?;
                    }
                    let removed = UserRemoved { sessions, tokens };
                    let detail = removed.describe();
                    tracing::info!(user = name.as_str(), %detail, "administrator removed");
                    Ok((removed, detail))
                })
            })
            .await
    }

    /// Changes one's own password: the current one is required. Every other
    /// session of the user ends; `keep_session` (the one asking) stays, and
    /// the answer is the user's new generation for it.
    #[tracing::instrument(skip(self, current, new, actor))]
    pub async fn change_own_password(
        &self,
        name: &str,
        current: &SecretString,
        new: &SecretString,
        keep_session: Option<&str>,
        actor: &Actor,
    ) -> Result<User> {
        let prepared = async {
            let uname = UserName::parse(name)?;
            let mut conn = self.core.store().pool().acquire().await?;
            let user = users::find_by_name(&mut conn, &uname).await?;
            drop(conn);
            let ok = verify_password(user.map(|u| u.password_hash), current.clone()).await?;
            if !ok {
                return Err(Error::Invalid("the current password is not right".into()));
            }
            password::check_policy(new)?;
            Ok((uname, hash_password(new.clone()).await?))
        }
        .await;
        let (this, keep) = (self.clone(), keep_session.map(str::to_string));
        self.core
            .audited_tx(actor, "user.password", name, move |tx| {
                Box::pin(async move {
                    let (uname, hash) = prepared?;
                    let (user, ended) = this
                        .store_password(tx, &uname, &hash, keep.as_deref())
                        .await?;
                    Ok((user, format!("own password; {ended} other sessions ended")))
                })
            })
            .await
    }

    /// Sets a user's password (console `user-passwd`, by whoever holds the
    /// data directory): every session of the user ends.
    #[tracing::instrument(skip(self, password, actor))]
    pub async fn set_password(
        &self,
        name: &str,
        password: &SecretString,
        actor: &Actor,
    ) -> Result<()> {
        let prepared = prepare_credentials(name, password).await;
        let this = self.clone();
        self.core
            .audited_tx(actor, "user.password", name, move |tx| {
                Box::pin(async move {
                    let (uname, hash) = prepared?;
                    let (_, ended) = this.store_password(tx, &uname, &hash, None).await?;
                    Ok(((), format!("reset; {ended} sessions ended")))
                })
            })
            .await
    }

    /// A new hash and generation, and the user's sessions but `keep` ended,
    /// in the caller's transaction; answers the user as now and how many
    /// sessions ended.
    async fn store_password(
        &self,
        conn: &mut Conn,
        name: &UserName,
        hash: &str,
        keep: Option<&str>,
    ) -> Result<(User, u64)> {
        let user = users::update_password(conn, name, hash, unix_ms(self.core.now()))
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {}", name.as_str())))?;
        let ended = sessions::end_for_user(conn, &user.uid, keep).await?;
        Ok((user, ended))
    }
}

/// What removing an administrator did besides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRemoved {
    /// Their web sessions that ended.
    pub sessions: u64,
    /// The API tokens they had created, now revoked.
    pub tokens: Vec<String>,
}

impl UserRemoved {
    /// For the audit log and the answer.
    pub fn describe(&self) -> String {
        let tokens = if self.tokens.is_empty() {
            "no API token to revoke".to_string()
        } else {
            format!("API tokens revoked: {}", self.tokens.join(", "))
        };
        format!("{} sessions ended; {tokens}", self.sessions)
    }
}

/// Checks a user name and password and hashes the password (argon2, slow):
/// done before a transaction opens, so the write lock is never held for it.
/// A failure is kept for the audited action to report.
async fn prepare_credentials(name: &str, password: &SecretString) -> Result<(UserName, String)> {
    let name = UserName::parse(name)?;
    password::check_policy(password)?;
    Ok((name, hash_password(password.clone()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::Settings;
    use crate::Engine;
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
        let first = e
            .auth()
            .ensure_first_admin(None)
            .await
            .unwrap()
            .expect("created");
        assert_eq!(first.name, "admin");
        let generated = first.generated_password.expect("generated");
        assert_eq!(generated.expose_secret().len(), 20);
        // Kept in a private file until the first successful sign-in.
        let file = first.password_file.expect("a password file");
        assert_eq!(file, dir.path().join(FIRST_PASSWORD_FILE));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("{}\n", generated.expose_secret())
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(e.auth().ensure_first_admin(None).await.unwrap().is_none());
        assert!(e
            .auth()
            .login("admin", &pw("not the password at all"), None, "test")
            .await
            .is_err());
        assert!(file.exists(), "a failed sign-in keeps the file");
        e.auth()
            .login("admin", &generated, None, "test")
            .await
            .unwrap();
        assert!(!file.exists(), "the first sign-in removes the file");
    }

    #[tokio::test]
    async fn given_admin_password_is_used_and_not_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        let first = e
            .auth()
            .ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap()
            .unwrap();
        assert!(first.generated_password.is_none());
        assert!(first.password_file.is_none());
        assert!(!dir.path().join(FIRST_PASSWORD_FILE).exists());
        e.auth()
            .login("admin", &pw("correct horse battery"), None, "test")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn short_admin_password_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        let err = e
            .auth()
            .ensure_first_admin(Some(&pw("short")))
            .await
            .err()
            .unwrap();
        assert_eq!(err.code(), "invalid_input");
        assert!(
            e.auth().ensure_first_admin(None).await.unwrap().is_some(),
            "nothing was created"
        );
    }

    #[tokio::test]
    async fn wrong_password_and_unknown_user_look_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        e.auth()
            .ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        let a = e
            .auth()
            .login("admin", &pw("wrong password!"), None, "test")
            .await
            .unwrap_err();
        let b = e
            .auth()
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
        e.auth()
            .ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        for i in 0..MAX_FAILURES {
            let addr = Some(IpAddr::from([10, 0, 0, i as u8]));
            assert_eq!(
                e.auth()
                    .login("admin", &pw("nope nope nope"), addr, "test")
                    .await
                    .unwrap_err()
                    .code(),
                "bad_credentials"
            );
        }
        // Even the right password is refused now, from any address.
        let err = e
            .auth()
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
        e.auth()
            .login("admin", &pw("correct horse battery"), None, "test")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn five_failures_lock_the_address_for_any_user() {
        let dir = tempfile::tempdir().unwrap();
        let (e, clock) = engine(&dir).await;
        e.auth()
            .ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        let addr = Some(IpAddr::from([192, 0, 2, 7]));
        for i in 0..MAX_FAILURES {
            e.auth()
                .login(&format!("user{i}"), &pw("guess guess guess"), addr, "test")
                .await
                .unwrap_err();
        }
        assert_eq!(
            e.auth()
                .login("admin", &pw("correct horse battery"), addr, "test")
                .await
                .unwrap_err()
                .code(),
            "throttled"
        );
        // Another address is not affected.
        e.auth()
            .login(
                "admin",
                &pw("correct horse battery"),
                Some(IpAddr::from([192, 0, 2, 8])),
                "test",
            )
            .await
            .unwrap();
        clock.advance(time::Duration::seconds(61));
        e.auth()
            .login("admin", &pw("correct horse battery"), addr, "test")
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn forty_attempts_at_once_get_five_password_checks() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        e.auth()
            .ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40u8 {
            let e = e.clone();
            tasks.spawn(async move {
                let addr = Some(IpAddr::from([10, 1, 0, i]));
                e.auth()
                    .login("admin", &pw("nope nope nope"), addr, "web")
                    .await
                    .unwrap_err()
                    .code()
            });
        }
        let mut codes = Vec::new();
        while let Some(c) = tasks.join_next().await {
            codes.push(c.unwrap());
        }
        let checked = codes.iter().filter(|c| **c == "bad_credentials").count();
        let throttled = codes.iter().filter(|c| **c == "throttled").count();
        assert_eq!((checked, throttled), (MAX_FAILURES, 40 - MAX_FAILURES));
    }

    #[tokio::test]
    async fn the_console_has_its_own_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        e.auth()
            .ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        for i in 0..MAX_FAILURES {
            let addr = Some(IpAddr::from([10, 2, 0, i as u8]));
            e.auth()
                .login("admin", &pw("nope nope nope"), addr, "web")
                .await
                .unwrap_err();
        }
        let web = e
            .auth()
            .login("admin", &pw("correct horse battery"), None, "web")
            .await
            .unwrap_err();
        assert_eq!(web.code(), "throttled");
        // Anyone on the network cannot keep the operator out of the console.
        e.auth()
            .login("admin", &pw("correct horse battery"), None, CONSOLE_DOOR)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn throttled_attempts_are_counted_and_audited_once_per_window() {
        let dir = tempfile::tempdir().unwrap();
        let (e, clock) = engine(&dir).await;
        e.auth()
            .ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        let addr = Some(IpAddr::from([192, 0, 2, 9]));
        for i in 0..(MAX_FAILURES + 200) {
            e.auth()
                .login(&format!("guess{i}"), &pw("guess guess guess"), addr, "web")
                .await
                .unwrap_err();
        }
        let rows = |action: &'static str| {
            let e = e.clone();
            async move {
                let f = crate::audit::AuditFilter {
                    action: Some(action.into()),
                    ..Default::default()
                };
                e.audit_log().page(&f, 1, 200).await.unwrap()
            }
        };
        assert_eq!(rows("login").await.total, MAX_FAILURES as i64);
        assert_eq!(
            rows("login.throttled").await.total,
            0,
            "not yet: the window runs"
        );
        assert_eq!(e.auth().flush_throttled().await.unwrap(), 0);
        clock.advance(time::Duration::seconds(61));
        assert_eq!(e.auth().flush_throttled().await.unwrap(), 1);
        let t = rows("login.throttled").await;
        assert_eq!(t.total, 1);
        assert!(
            t.rows[0].detail.contains("200 sign-in attempts refused"),
            "{:?}",
            t.rows[0]
        );
        assert_eq!(t.rows[0].address.as_deref(), Some("192.0.2.9"));
        assert_eq!(e.auth().flush_throttled().await.unwrap(), 0, "audited once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_database_connection_waits_on_a_password_check() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        e.auth()
            .ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        // Every argon2 turn taken: sign-ins queue for their password check.
        let turns = password::occupy_argon2().await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16u8 {
            let e = e.clone();
            tasks.spawn(async move {
                let addr = Some(IpAddr::from([10, 3, 0, i]));
                let _ = e
                    .auth()
                    .login(&format!("u{i}"), &pw("guess guess guess"), addr, "web")
                    .await;
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // Meanwhile the whole pool is free for everything else.
        let pool = e.store().pool().clone();
        let all = async {
            let mut held = Vec::new();
            for _ in 0..8 {
                held.push(pool.acquire().await.unwrap());
            }
            held.len()
        };
        let got = tokio::time::timeout(std::time::Duration::from_secs(3), all).await;
        assert_eq!(
            got.ok(),
            Some(8),
            "sign-ins waiting for argon2 hold connections"
        );
        drop(turns);
        while tasks.join_next().await.is_some() {}
    }

    #[tokio::test]
    async fn user_ids_are_never_reused_and_sessions_follow_the_generation() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(&dir).await;
        e.auth()
            .ensure_first_admin(Some(&pw("correct horse battery")))
            .await
            .unwrap();
        let cli = Actor::cli();
        e.auth()
            .add_user("bob", &pw("bob's long password"), &cli)
            .await
            .unwrap();
        let bob = e
            .auth()
            .login("bob", &pw("bob's long password"), None, "test")
            .await
            .unwrap();
        assert!(e
            .auth()
            .session_user(&bob.uid, bob.generation)
            .await
            .unwrap()
            .is_some());
        e.auth().remove_user("bob", &cli).await.unwrap();
        e.auth()
            .add_user("bob", &pw("bob's long password"), &cli)
            .await
            .unwrap();
        let bob2 = e
            .auth()
            .login("bob", &pw("bob's long password"), None, "test")
            .await
            .unwrap();
        assert!(bob2.id > bob.id, "{} after {}", bob2.id, bob.id);
        assert_ne!(bob2.uid, bob.uid);
        assert!(e
            .auth()
            .session_user(&bob.uid, bob.generation)
            .await
            .unwrap()
            .is_none());
        e.auth()
            .set_password("bob", &pw("a reset password"), &cli)
            .await
            .unwrap();
        assert!(e
            .auth()
            .session_user(&bob2.uid, bob2.generation)
            .await
            .unwrap()
            .is_none());
        assert!(e
            .auth()
            .session_user(&bob2.uid, bob2.generation + 1)
            .await
            .unwrap()
            .is_some());
    }
}
