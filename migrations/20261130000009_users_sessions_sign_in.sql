-- Sessions follow the user, not a reused number; sign-in attempts cannot
-- grow the database.
--
-- SQLite hands out the id of a deleted row again (INTEGER PRIMARY KEY
-- without AUTOINCREMENT), and a session that held only that number became
-- the next new user's session.
-- Now each user has a random `uid` that a session is bound to, with a
-- `generation` that moves on at every password change or reset (sessions
-- of an older generation end), and ids are never handed out again.
CREATE TABLE users_rebuilt (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    uid           TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    generation    INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

INSERT INTO users_rebuilt (id, uid, name, password_hash, generation, created_at, updated_at)
SELECT id, lower(hex(randomblob(16))), name, password_hash, 1, created_at, updated_at
FROM users;

DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;

-- The web sessions (the server's session store creates the same table if
-- missing; here so that the console can end sessions on a data directory
-- where the server never ran).
CREATE TABLE IF NOT EXISTS sessions
(
    id text primary key not null,
    data blob not null,
    expiry_date integer not null
);

-- Which user each signed-in session belongs to: removing a user or
-- changing a password deletes that user's sessions.
CREATE TABLE user_sessions (
    session_id TEXT    PRIMARY KEY,
    user_uid   TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX user_sessions_by_user ON user_sessions (user_uid);

-- Sign-in attempts refused while throttled: counted per bucket (a user
-- name, or a client address) and window, and audited once with the count,
-- so that a client cannot fill the append-only audit log.
CREATE TABLE login_throttled (
    kind      TEXT    NOT NULL CHECK (kind = 'user' OR kind = 'addr'),
    key       TEXT    NOT NULL,
    last_user TEXT    NOT NULL,
    first_ms  INTEGER NOT NULL,
    last_ms   INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) STRICT;

-- An optional retention for the audit log (`audit_retention_days`; the
-- default keeps every row). The log stays append-only for everyone: a
-- row can only be deleted inside the engine's retention transaction,
-- which sets the permit, deletes what is older, records that it did, and
-- takes the permit away again before it commits.
CREATE TABLE audit_prune_permit (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    before_ms INTEGER NOT NULL
) STRICT;

DROP TRIGGER audit_log_no_delete;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_prune_permit WHERE old.at_ms < before_ms)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
