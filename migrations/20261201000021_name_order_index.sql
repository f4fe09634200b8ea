-- Configurations in byte order of their names: a round claims them a batch
-- at a time in that order (schedule/claims.rs). In SQLite it is the order
-- of the name's own unique index already (BINARY is SQLite's default);
-- this index is its PostgreSQL twin's, kept so both schemas match.
CREATE INDEX hsm_configs_name_bytes ON hsm_configs (name COLLATE BINARY);
