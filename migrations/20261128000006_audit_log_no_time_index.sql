-- The audit log is read newest first by id, never by time: the index on
-- at_ms only cost every reseed's audit row one more page write.
DROP INDEX audit_log_at;
