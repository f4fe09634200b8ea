-- PostgreSQL twin of ../20261130000008_login_holds.sql.
CREATE TABLE config_logins (
    config_name  TEXT   PRIMARY KEY REFERENCES hsm_configs (name) ON DELETE CASCADE,
    credential   TEXT   NOT NULL,
    token_serial TEXT   NOT NULL,
    ok_at_ms     BIGINT,
    held_ckr     TEXT,
    held_detail  TEXT,
    held_at_ms   BIGINT
);

CREATE INDEX config_logins_by_token ON config_logins (token_serial, credential);

CREATE TABLE token_logins (
    token_serial    TEXT   PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_ckr        TEXT,
    last_failure_ms BIGINT
);

-- The history records `held` rounds.
ALTER TABLE seed_history DROP CONSTRAINT seed_history_outcome;
ALTER TABLE seed_history ADD CONSTRAINT seed_history_outcome
    CHECK (outcome IN ('ok', 'error', 'held'));
