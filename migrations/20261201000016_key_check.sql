-- Which master key this database's secrets are sealed with: a keyed hash
-- under the key itself (the backup manifest's master key id), never the
-- key. An engine opened with another key refuses to start: every process
-- (and every appliance of a fleet) on one database must hold the same key.
CREATE TABLE key_check (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
