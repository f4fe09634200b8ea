-- PostgreSQL twin of ../20261128000005_seed_hourly.sql.
CREATE TABLE seed_hourly (
    hour_ms BIGINT PRIMARY KEY,
    ok      BIGINT NOT NULL,
    failed  BIGINT NOT NULL
);

INSERT INTO seed_hourly (hour_ms, ok, failed)
SELECT (at_ms / 3600000) * 3600000,
       count(*) FILTER (WHERE outcome = 'ok'),
       count(*) FILTER (WHERE outcome = 'error')
FROM seed_history
GROUP BY 1;
