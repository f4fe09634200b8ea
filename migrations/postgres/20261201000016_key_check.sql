-- PostgreSQL twin of ../20261201000016_key_check.sql.
CREATE TABLE key_check (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
