-- govcloud storage, version 5 (SQLite). Kept in step with ../postgres/0005_router_configs.sql.

-- The desired configuration served to each router's agent (issue 7, item 3): the latest body,
-- its ETag (hex SHA-256 of the canonical JSON of the configuration without its generation) and
-- its generation, which grows by one each time the ETag changes (a conditional update, so two
-- concurrent requests computing the same change bump it once).
CREATE TABLE router_configs (
    router     TEXT PRIMARY KEY,
    generation INTEGER NOT NULL CHECK (generation > 0),
    etag       TEXT NOT NULL CHECK (length(etag) = 64),
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- What the agent last reported of its configuration (`TelemetryReport.config`, JSON), kept
-- with the router's latest report for the Router reconciler (applied generation, drift, probes).
ALTER TABLE telemetry_latest ADD COLUMN config TEXT;
