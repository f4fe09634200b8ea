-- PostgreSQL twin of ../20261201000020_change_feed.sql: every commit that
-- adds to (or prunes) the audit log, the history or the changes notifies
-- the channel `hsmseed_data` with the table's name. PostgreSQL delivers a
-- notification at commit, in commit order, to every appliance listening
-- (sequences hand out ids in another order than commits make them
-- visible, so the newest id does not tell what was added).
CREATE FUNCTION hsmseed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hsmseed_data', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_log_notify AFTER INSERT OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION hsmseed_notify();
CREATE TRIGGER seed_history_notify AFTER INSERT OR DELETE ON seed_history
    FOR EACH STATEMENT EXECUTE FUNCTION hsmseed_notify();
CREATE TRIGGER changes_notify AFTER INSERT ON changes
    FOR EACH STATEMENT EXECUTE FUNCTION hsmseed_notify();
