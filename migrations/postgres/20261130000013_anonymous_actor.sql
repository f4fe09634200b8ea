-- PostgreSQL twin of ../20261130000013_anonymous_actor.sql: the audit log
-- names the actor kind `anonymous`. Changing a CHECK updates no row: the
-- append-only triggers stay as they are.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_kind
    CHECK (actor_kind IN ('user', 'token', 'cli', 'scheduler', 'anonymous'));
