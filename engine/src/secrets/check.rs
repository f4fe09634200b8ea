//! The master key's check: the database keeps the check value of the key
//! its secrets are sealed with, and an engine opened with another key
//! refuses to start, before it could seal a secret no other process can
//! open, or fail on every password it reads.

use crate::store::db::{self, Pool};

use super::MasterKey;
use crate::error::{Error, Result};

/// The first characters of a check value, enough to tell two apart in a
/// message.
fn short(v: &str) -> &str {
    v.get(..12).unwrap_or(v)
}

/// Compares `key` with the database's check value; on a database without
/// one (made before the check existed, or new), first proves the key on
/// a sealed partition password when there is one, then records it.
pub(crate) async fn check_key(pool: &Pool, key: &MasterKey, now_ms: i64) -> Result<()> {
    let value = key.check_value();
    let stored: Option<String> = db::query_scalar("SELECT value FROM key_check WHERE id = 1")
        .fetch_optional(pool)
        .await?;
    let stored = match stored {
        Some(v) => v,
        None => {
            let sealed: Option<(String, Vec<u8>)> = db::query_as(
                "SELECT name, partition_pwd FROM hsm_configs \
                 WHERE partition_pwd IS NOT NULL LIMIT 1",
            )
            .fetch_optional(pool)
            .await?;
            if let Some((name, sealed)) = sealed {
                if key
                    .open(&sealed, &super::partition_password_context(&name))
                    .is_err()
                {
                    return Err(Error::Config(format!(
                        "the master key {} cannot open this database's sealed partition \
                         passwords (configuration {name}): it is not the key they were sealed \
                         with; put that key there, or set master_key_file to it",
                        key.path.display()
                    )));
                }
            }
            // Another process may record its key first: then the two are
            // compared below like any stored value.
            db::query(
                "INSERT INTO key_check (id, value, created_at) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&value)
            .bind(now_ms)
            .execute(pool)
            .await?;
            db::query_scalar("SELECT value FROM key_check WHERE id = 1")
                .fetch_one(pool)
                .await?
        }
    };
    if stored != value {
        return Err(Error::Config(format!(
            "the master key {} is not the key this database's secrets are sealed with (its check \
             value {} differs from the database's {}): every process and every appliance on one \
             database must hold the same master key; put the right key there, or set \
             master_key_file to it",
            key.path.display(),
            short(&value),
            short(&stored)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::audit::Actor;
    use crate::config::Settings;
    use crate::partitions::ConfigEdit;
    use crate::store::db;
    use crate::Engine;

    fn other_key(dir: &std::path::Path) {
        std::fs::write(
            dir.join(super::super::DEFAULT_FILE),
            format!("{}\n", "5a".repeat(32)),
        )
        .unwrap();
    }

    async fn refused(dir: &std::path::Path) -> String {
        Engine::open(Settings::for_data_dir(dir))
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string()
    }

    /// The database names its key; another key is refused with what to do.
    #[tokio::test]
    async fn an_engine_with_another_master_key_refuses_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(Settings::for_data_dir(dir.path()))
            .await
            .unwrap();
        let recorded: String = db::query_scalar("SELECT value FROM key_check")
            .fetch_one(engine.store().pool())
            .await
            .unwrap();
        assert_eq!(recorded, engine.core().master_key().check_value());
        drop(engine);
        // The same key: fine, again and again.
        Engine::open(Settings::for_data_dir(dir.path()))
            .await
            .unwrap();
        let kept = std::fs::read(dir.path().join(super::super::DEFAULT_FILE)).unwrap();
        other_key(dir.path());
        let said = refused(dir.path()).await;
        assert!(
            said.contains("is not the key this database's secrets are sealed with")
                && said.contains("every process and every appliance on one database"),
            "{said}"
        );
        assert!(
            !said.contains(&"5a".repeat(8)),
            "never the key itself: {said}"
        );
        std::fs::write(dir.path().join(super::super::DEFAULT_FILE), kept).unwrap();
        Engine::open(Settings::for_data_dir(dir.path()))
            .await
            .unwrap();
    }

    /// A database from before the check: its sealed passwords prove the
    /// key (a wrong one is refused), then the check value is recorded.
    #[tokio::test]
    async fn a_database_without_a_check_value_is_proven_on_its_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(Settings::for_data_dir(dir.path()))
            .await
            .unwrap();
        let edit = ConfigEdit {
            partition_pwd: Some("sealed-password".to_string().into()),
            ..Default::default()
        };
        engine
            .partitions()
            .create_config_with("HSM1", edit, &Actor::cli())
            .await
            .unwrap();
        db::query("DELETE FROM key_check")
            .execute(engine.store().pool())
            .await
            .unwrap();
        drop(engine);
        let kept = std::fs::read(dir.path().join(super::super::DEFAULT_FILE)).unwrap();
        other_key(dir.path());
        let said = refused(dir.path()).await;
        assert!(
            said.contains(
                "cannot open this database's sealed partition passwords (configuration HSM1)"
            ),
            "{said}"
        );
        std::fs::write(dir.path().join(super::super::DEFAULT_FILE), kept).unwrap();
        let engine = Engine::open(Settings::for_data_dir(dir.path()))
            .await
            .unwrap();
        let n: i64 = db::query_scalar("SELECT COUNT(*) FROM key_check")
            .fetch_one(engine.store().pool())
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
}
