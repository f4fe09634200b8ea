//! The web sessions' store: tower-sessions' SQLite store, whose `load`
//! (every signed-in request makes one) reads on the calling thread instead
//! of a round trip to an sqlx worker thread (see `engine::store::inline`).
//! Everything that writes (create, save, delete, the expiry sweep) is the
//! SQLite store's own; `load` falls back to it whenever the read cannot be
//! made here.

use async_trait::async_trait;
use engine::auth::StoredSession;
use engine::Engine;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_sqlx_store::SqliteStore;

/// The table the sessions live in (the engine's `auth::sessions` reads it
/// too: a sign-out or a removed user's sessions are deleted there).
pub const TABLE: &str = "sessions";

#[derive(Clone)]
pub struct Sessions {
    store: SqliteStore,
    engine: Engine,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    /// The store on the engine's database, its table created if missing.
    pub async fn open(engine: &Engine) -> anyhow::Result<Sessions> {
        let store = SqliteStore::new(engine.store().sqlite().clone())
            .with_table_name(TABLE)
            .map_err(|e| anyhow::anyhow!("session table name: {e}"))?;
        store.migrate().await?;
        Ok(Sessions {
            store,
            engine: engine.clone(),
        })
    }

    /// The SQLite store itself (the expiry sweep).
    pub fn sqlite(&self) -> &SqliteStore {
        &self.store
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store.save(record).await
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
            StoredSession::NotRead => self.store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete(id).await
    }
}
