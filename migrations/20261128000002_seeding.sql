-- HSM configurations, seed history, API tokens, appliance settings, change
-- notifications and entropy source events.

CREATE TABLE hsm_configs (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    partition_name  TEXT    NOT NULL DEFAULT '',
    -- AES-256-GCM under the master key (nonce || ciphertext || tag); NULL = not set.
    partition_pwd   BLOB,
    slot            INTEGER,
    -- When set, the slot must hold the token with this serial.
    token_serial    TEXT,
    user_type       TEXT    NOT NULL DEFAULT 'CKU_USER',
    enabled         INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_outcome    TEXT,
    last_error      TEXT,
    last_at         INTEGER
) STRICT;

-- One row per reseed attempt. Seed bytes are never stored.
CREATE TABLE seed_history (
    id           INTEGER PRIMARY KEY,
    at_ms        INTEGER NOT NULL,
    config_name  TEXT    NOT NULL,
    slot         INTEGER,
    token_serial TEXT,
    trigger      TEXT    NOT NULL CHECK (trigger IN ('schedule', 'api', 'ui', 'cli')),
    source       TEXT    NOT NULL,
    bits         INTEGER NOT NULL,
    duration_us  INTEGER NOT NULL,
    outcome      TEXT    NOT NULL CHECK (outcome IN ('ok', 'error')),
    error_code   TEXT,
    message      TEXT
) STRICT;

CREATE INDEX seed_history_at ON seed_history (at_ms);
CREATE INDEX seed_history_config ON seed_history (config_name, at_ms);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    scope        TEXT    NOT NULL CHECK (scope IN ('seed', 'read')),
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash   TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE TABLE app_settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Every change of configuration from any process; a running server polls
-- the highest id to pick up changes made by the CLI.
CREATE TABLE changes (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    what  TEXT    NOT NULL
) STRICT;

CREATE TABLE entropy_events (
    id     INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    source TEXT    NOT NULL,
    kind   TEXT    NOT NULL,
    test   TEXT    NOT NULL,
    detail TEXT    NOT NULL
) STRICT;

CREATE INDEX entropy_events_at ON entropy_events (at_ms);
