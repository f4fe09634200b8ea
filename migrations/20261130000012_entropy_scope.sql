-- API tokens may have the scope `entropy` (the random-number endpoints).
-- SQLite cannot change a CHECK: the table is made again, rows and ids kept.
CREATE TABLE api_tokens_new (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    scope        TEXT    NOT NULL CHECK (scope = 'seed' OR scope = 'read' OR scope = 'entropy'),
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash   TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
INSERT INTO api_tokens_new (id, name, scope, token_hash, prefix, created_at, created_by, last_used_at, revoked_at)
    SELECT id, name, scope, token_hash, prefix, created_at, created_by, last_used_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
