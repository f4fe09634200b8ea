-- PostgreSQL twin of ../20261201000014_config_module.sql.
ALTER TABLE hsm_configs ADD COLUMN module TEXT;
