-- Each scheduled round once across the appliances sharing this database:
-- an appliance claims a due configuration atomically (next_due_at moves on
-- one period), reseeds it, then lets go of the lease; a lease left behind
-- (the appliance died) is taken over by another once it has run out.
ALTER TABLE hsm_configs ADD COLUMN next_due_at INTEGER;
ALTER TABLE hsm_configs ADD COLUMN lease_by TEXT;
ALTER TABLE hsm_configs ADD COLUMN lease_until INTEGER;
CREATE INDEX hsm_configs_lease ON hsm_configs (lease_until) WHERE lease_until IS NOT NULL;
