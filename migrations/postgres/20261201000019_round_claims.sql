-- PostgreSQL twin of ../20261201000019_round_claims.sql.
ALTER TABLE hsm_configs ADD COLUMN next_due_at BIGINT;
ALTER TABLE hsm_configs ADD COLUMN lease_by TEXT;
ALTER TABLE hsm_configs ADD COLUMN lease_until BIGINT;
CREATE INDEX hsm_configs_lease ON hsm_configs (lease_until) WHERE lease_until IS NOT NULL;
