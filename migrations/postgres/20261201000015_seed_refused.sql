-- PostgreSQL twin of ../20261201000015_seed_refused.sql.
ALTER TABLE hsm_configs ADD COLUMN seed_refused BOOLEAN NOT NULL DEFAULT FALSE;
