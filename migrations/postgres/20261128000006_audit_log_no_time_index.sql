-- PostgreSQL twin of ../20261128000006_audit_log_no_time_index.sql.
DROP INDEX audit_log_at;
