-- PostgreSQL twin of ../20261201000018_fleet.sql.
CREATE TABLE appliances (
    id           TEXT   PRIMARY KEY,
    version      TEXT   NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

CREATE TABLE seed_hourly_appliance (
    hour_ms   BIGINT NOT NULL,
    appliance TEXT   NOT NULL,
    reseeds   BIGINT NOT NULL,
    PRIMARY KEY (hour_ms, appliance)
);
