-- The appliances sharing this database: each serving process records a
-- heartbeat under its appliance_id (settings).
CREATE TABLE appliances (
    id           TEXT    PRIMARY KEY,
    version      TEXT    NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
) STRICT;

-- Reseeds attempted per appliance and hour (the history writer counts
-- them in its batch's transaction; the dashboard's fleet list reads them).
CREATE TABLE seed_hourly_appliance (
    hour_ms   INTEGER NOT NULL,
    appliance TEXT    NOT NULL,
    reseeds   INTEGER NOT NULL,
    PRIMARY KEY (hour_ms, appliance)
) STRICT;
