-- PostgreSQL twin of ../20261130000009_users_sessions_sign_in.sql.

-- Each user has a random `uid` that a session is bound to, and a
-- `generation` that moves on at every password change or reset; ids are
-- never handed out again (an identity never repeats a value).
ALTER TABLE users ADD COLUMN uid TEXT;
UPDATE users SET uid = encode(sha256(random()::text::bytea || id::text::bytea), 'hex');
ALTER TABLE users ALTER COLUMN uid SET NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_uid_key UNIQUE (uid);
ALTER TABLE users ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;

-- The web sessions: the table tower-sessions' PostgreSQL store reads
-- (made here, not by the store, so that the console can end sessions on a
-- database where no server ran).
CREATE TABLE sessions (
    id          TEXT        PRIMARY KEY NOT NULL,
    data        BYTEA       NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);

CREATE TABLE user_sessions (
    session_id TEXT   PRIMARY KEY,
    user_uid   TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX user_sessions_by_user ON user_sessions (user_uid);

CREATE TABLE login_throttled (
    kind      TEXT   NOT NULL CHECK (kind IN ('user', 'addr')),
    key       TEXT   NOT NULL,
    last_user TEXT   NOT NULL,
    first_ms  BIGINT NOT NULL,
    last_ms   BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (kind, key)
);

-- The audit log's optional retention: a row can only be deleted inside
-- the engine's retention transaction, which sets the permit, deletes what
-- is older, records that it did, and takes the permit away again before
-- it commits. (A trigger's WHEN cannot hold a subquery in PostgreSQL: the
-- function asks.)
CREATE TABLE audit_prune_permit (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    before_ms BIGINT NOT NULL
);

CREATE FUNCTION audit_log_delete_permitted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_prune_permit WHERE OLD.at_ms < before_ms) THEN
        RAISE EXCEPTION 'the audit log is append-only';
    END IF;
    RETURN OLD;
END
$$;

DROP TRIGGER audit_log_no_delete ON audit_log;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_delete_permitted();
