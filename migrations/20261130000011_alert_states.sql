-- What the alerts last saw wrong, one row a subject (`configuration HSM2`,
-- `entropy source os`, `certificate HSM 10.0.0.5`): an alert goes out when
-- this changes, so a restart neither repeats nor forgets one.
CREATE TABLE alert_states (
    subject  TEXT PRIMARY KEY NOT NULL,
    kind     TEXT NOT NULL CHECK (kind = 'configuration' OR kind = 'entropy' OR kind = 'certificate'),
    state    TEXT NOT NULL,
    message  TEXT NOT NULL,
    since_ms INTEGER NOT NULL
) STRICT;
