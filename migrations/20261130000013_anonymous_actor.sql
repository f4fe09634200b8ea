-- The audit log names a new kind of actor: `anonymous`, a caller without
-- credentials from an address `reseed_anonymous_from` allows (the guide's
-- reseed URL called by existing scripts). SQLite cannot change a CHECK:
-- the table is made again, rows and ids kept, with its append-only
-- triggers as migration 9 left them.

CREATE TABLE audit_log_rebuilt (
    id         INTEGER PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    actor_kind TEXT    NOT NULL CHECK (actor_kind = 'user' OR actor_kind = 'token'
                                       OR actor_kind = 'cli' OR actor_kind = 'scheduler'
                                       OR actor_kind = 'anonymous'),
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
WHEN NOT EXISTS (SELECT 1 FROM audit_prune_permit WHERE old.at_ms < before_ms)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
