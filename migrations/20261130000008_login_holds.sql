-- Never lock out or zeroize a partition. A failed login holds the
-- credential: nothing logs in with it again until its password or user
-- type is edited or an administrator retries. Shared by every process on
-- the data directory, kept across restarts.

-- What the last login of each configuration taught us. `credential` is a
-- keyed fingerprint (HMAC-SHA256 under a key derived from the master key)
-- of the user type and password, never the password itself.
CREATE TABLE config_logins (
    config_name  TEXT    PRIMARY KEY REFERENCES hsm_configs (name) ON DELETE CASCADE,
    credential   TEXT    NOT NULL,
    token_serial TEXT    NOT NULL,
    ok_at_ms     INTEGER,           -- last successful login with this credential
    held_ckr     TEXT,              -- set: held, with the CKR_* that caused it
    held_detail  TEXT,
    held_at_ms   INTEGER
) STRICT;

CREATE INDEX config_logins_by_token ON config_logins (token_serial, credential);

-- Failed logins in a row per token (by serial: slot ids change), reset by
-- a successful one. A token with too many is not logged in to with a
-- credential that never worked on it.
CREATE TABLE token_logins (
    token_serial    TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_ckr        TEXT,
    last_failure_ms INTEGER
) STRICT;

-- The history records `held` rounds: the outcome rule gains a value
-- (written as comparisons, see migration 7).
CREATE TABLE seed_history_rebuilt (
    id           INTEGER PRIMARY KEY,
    at_ms        INTEGER NOT NULL,
    config_name  TEXT    NOT NULL,
    slot         INTEGER,
    token_serial TEXT,
    trigger      TEXT    NOT NULL CHECK (trigger = 'schedule' OR trigger = 'api'
                                         OR trigger = 'ui' OR trigger = 'cli'),
    source       TEXT    NOT NULL,
    bits         INTEGER NOT NULL,
    duration_us  INTEGER NOT NULL,
    outcome      TEXT    NOT NULL CHECK (outcome = 'ok' OR outcome = 'error'
                                         OR outcome = 'held'),
    error_code   TEXT,
    message      TEXT
) STRICT;

INSERT INTO seed_history_rebuilt (id, at_ms, config_name, slot, token_serial,
    trigger, source, bits, duration_us, outcome, error_code, message)
SELECT id, at_ms, config_name, slot, token_serial,
    trigger, source, bits, duration_us, outcome, error_code, message
FROM seed_history;

DROP TABLE seed_history;
ALTER TABLE seed_history_rebuilt RENAME TO seed_history;
CREATE INDEX seed_history_at ON seed_history (at_ms);
CREATE INDEX seed_history_config ON seed_history (config_name, at_ms);
