-- PostgreSQL twin of ../20261201000021_name_order_index.sql: a round's
-- claim reads the next batch of names in byte order (COLLATE "C", whatever
-- the database's collation) through this index instead of sorting every
-- configuration.
CREATE INDEX hsm_configs_name_bytes ON hsm_configs (name COLLATE "C");
