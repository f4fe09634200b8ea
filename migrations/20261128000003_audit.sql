-- The audit log: every administrative action from every door. Append-only:
-- the triggers refuse any UPDATE or DELETE, whoever asks.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    actor_kind TEXT    NOT NULL CHECK (actor_kind IN ('user', 'token', 'cli', 'scheduler')),
    actor      TEXT    NOT NULL,
    address    TEXT,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    outcome    TEXT    NOT NULL CHECK (outcome IN ('ok', 'error')),
    detail     TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_log_at ON audit_log (at_ms);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
