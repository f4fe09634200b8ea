-- The change feed of a PostgreSQL store (see postgres/ and
-- engine/src/store/notify.rs). SQLite has nothing to add: one writer
-- commits at a time, so the newest id of a table tells whether anything
-- was added to it.
SELECT 1;
