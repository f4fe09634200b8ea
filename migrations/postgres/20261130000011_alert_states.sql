-- PostgreSQL twin of ../20261130000011_alert_states.sql.
CREATE TABLE alert_states (
    subject  TEXT   PRIMARY KEY NOT NULL,
    kind     TEXT   NOT NULL CHECK (kind IN ('configuration', 'entropy', 'certificate')),
    state    TEXT   NOT NULL,
    message  TEXT   NOT NULL,
    since_ms BIGINT NOT NULL
);
