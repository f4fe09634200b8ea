-- Administrators of the appliance and the login throttle.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,  -- unix milliseconds
    updated_at    INTEGER NOT NULL
) STRICT;

-- One row per failed login, per user name and per client address; read to
-- refuse further attempts for a while. Shared by every process on the data
-- directory (web server and console).
CREATE TABLE login_failures (
    id    INTEGER PRIMARY KEY,
    kind  TEXT    NOT NULL CHECK (kind IN ('user', 'addr')),
    key   TEXT    NOT NULL,
    at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX login_failures_by_key ON login_failures (kind, key, at_ms);
