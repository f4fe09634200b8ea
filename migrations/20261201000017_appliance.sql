-- Which appliance acted (settings `appliance_id`): several appliances may
-- share one database. Rows from before have none.
ALTER TABLE seed_history ADD COLUMN appliance TEXT;
ALTER TABLE audit_log ADD COLUMN appliance TEXT;
