-- A CHECK (x IN ('a', 'b', 'c', ...)) of more than two values makes SQLite
-- build and drop a temporary b-tree of the list on every INSERT: about a
-- tenth of the history writer's time per reseed. The same rule written as
-- comparisons costs nothing, so the two tables every reseed writes to are
-- rebuilt with it (SQLite cannot change a CHECK in place). Rows, ids,
-- indexes and the audit log's append-only triggers stay as they were.

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
    outcome      TEXT    NOT NULL CHECK (outcome IN ('ok', 'error')),
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

CREATE TABLE audit_log_rebuilt (
    id         INTEGER PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    actor_kind TEXT    NOT NULL CHECK (actor_kind = 'user' OR actor_kind = 'token'
                                       OR actor_kind = 'cli' OR actor_kind = 'scheduler'),
    actor      TEXT    NOT NULL,
    address    TEXT,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    outcome    TEXT    NOT NULL CHECK (outcome IN ('ok', 'error')),
    detail     TEXT    NOT NULL
) STRICT;

INSERT INTO audit_log_rebuilt (id, at_ms, actor_kind, actor, address, action,
    target, outcome, detail)
SELECT id, at_ms, actor_kind, actor, address, action, target, outcome, detail
FROM audit_log;

-- Dropping a table runs no DELETE trigger; its triggers go with it.
DROP TABLE audit_log;
ALTER TABLE audit_log_rebuilt RENAME TO audit_log;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
