//! The web sessions' store: tower-sessions' store for the engine's
//! database (SQLite, or PostgreSQL for a fleet: a session made on one
//! appliance is good on every other). On SQLite its `load` (every
//! signed-in request makes one) reads on the calling thread instead of a
//! round trip to an sqlx worker thread (see `engine::store::inline`).
//! Everything that writes (create, save, delete, the expiry sweep) is the
//! store's own; `load` falls back to it whenever the read cannot be made
//! here.

use async_trait::async_trait;
use engine::auth::StoredSession;
use engine::Engine;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// The table the sessions live in (the engine's `auth::sessions` reads it
/// too: a sign-out or a removed user's sessions are deleted there).
pub const TABLE: &str = "sessions";

#[derive(Clone)]
pub struct Sessions {
    store: Store,
    engine: Engine,
}

#[derive(Clone)]
enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    /// The store on the engine's database, its table created if missing.
    /// (PostgreSQL: the table is the engine's migration's.)
    pub async fn open(engine: &Engine) -> anyhow::Result<Sessions> {
        let name = |e: String| anyhow::anyhow!("session table name: {e}");
        let store = match engine.store().pool() {
            engine::store::db::Pool::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone())
                    .with_table_name(TABLE)
                    .map_err(name)?;
                store.migrate().await?;
                Store::Sqlite(store)
            }
            engine::store::db::Pool::Postgres(pool) => Store::Postgres(
                PostgresStore::new(pool.clone())
                    .with_schema_name("public")
                    .map_err(name)?
                    .with_table_name(TABLE)
                    .map_err(name)?,
            ),
        };
        Ok(Sessions {
            store,
            engine: engine.clone(),
        })
    }

    /// tower-sessions' SQLite store itself (tests compare with it); none
    /// on PostgreSQL.
    pub fn sqlite(&self) -> Option<&SqliteStore> {
        match &self.store {
            Store::Sqlite(s) => Some(s),
            Store::Postgres(_) => None,
        }
    }

    /// Deletes the expired sessions (the sweep every few minutes).
    pub async fn delete_expired(&self) -> session_store::Result<()> {
        match &self.store {
            Store::Sqlite(s) => s.delete_expired().await,
            Store::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// Runs `$call` on whichever store the engine's database has.
macro_rules! each {
    ($self:ident, $s:ident => $call:expr) => {
        match &$self.store {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        each!(self, s => s.create(record).await)
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        each!(self, s => s.save(record).await)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self.engine.auth().stored_session(&id.to_string()) {
            StoredSession::Missing => Ok(None),
            // The SQLite store's encoding; an expired record is no session,
            // as the SQLite store's own `load` has it (`expiry_date > now`).
            StoredSession::Found(data) => match rmp_serde::from_slice::<Record>(&data) {
                Ok(record) if record.expiry_date > OffsetDateTime::now_utc() => Ok(Some(record)),
                Ok(_) => Ok(None),
                Err(e) => Err(session_store::Error::Decode(e.to_string())),
            },
            StoredSession::NotRead => each!(self, s => s.load(id).await),
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        each!(self, s => s.delete(id).await)
    }
}
