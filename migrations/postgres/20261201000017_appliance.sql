-- PostgreSQL twin of ../20261201000017_appliance.sql.
ALTER TABLE seed_history ADD COLUMN appliance TEXT;
ALTER TABLE audit_log ADD COLUMN appliance TEXT;
