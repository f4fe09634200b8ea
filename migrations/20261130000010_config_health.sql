-- Each configuration's health at a glance: when a reseed last worked, and
-- how many failed since (the history writer keeps both, in the batch's
-- transaction). Filled from the history that exists.
ALTER TABLE hsm_configs ADD COLUMN last_ok_at INTEGER;
ALTER TABLE hsm_configs ADD COLUMN failures_in_row INTEGER NOT NULL DEFAULT 0;

UPDATE hsm_configs SET last_ok_at =
    (SELECT max(h.at_ms) FROM seed_history h
     WHERE h.config_name = hsm_configs.name AND h.outcome = 'ok');

UPDATE hsm_configs SET failures_in_row =
    (SELECT count(*) FROM seed_history h
     WHERE h.config_name = hsm_configs.name AND h.outcome = 'error'
       AND h.at_ms > coalesce(hsm_configs.last_ok_at, -1));
