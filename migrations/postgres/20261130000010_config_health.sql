-- PostgreSQL twin of ../20261130000010_config_health.sql.
ALTER TABLE hsm_configs ADD COLUMN last_ok_at BIGINT;
ALTER TABLE hsm_configs ADD COLUMN failures_in_row BIGINT NOT NULL DEFAULT 0;

UPDATE hsm_configs SET last_ok_at =
    (SELECT max(h.at_ms) FROM seed_history h
     WHERE h.config_name = hsm_configs.name AND h.outcome = 'ok');

UPDATE hsm_configs SET failures_in_row =
    (SELECT count(*) FROM seed_history h
     WHERE h.config_name = hsm_configs.name AND h.outcome = 'error'
       AND h.at_ms > coalesce(hsm_configs.last_ok_at, -1));
