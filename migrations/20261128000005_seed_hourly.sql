-- Reseeds and failures per hour, kept by the history writer, so that the
-- dashboard reads 24 rows however large the history is.
CREATE TABLE seed_hourly (
    hour_ms INTEGER PRIMARY KEY,
    ok      INTEGER NOT NULL,
    failed  INTEGER NOT NULL
) STRICT;

INSERT INTO seed_hourly (hour_ms, ok, failed)
SELECT (at_ms / 3600000) * 3600000, SUM(outcome = 'ok'), SUM(outcome = 'error')
FROM seed_history
GROUP BY 1;
