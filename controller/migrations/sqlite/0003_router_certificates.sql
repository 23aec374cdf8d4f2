-- govcloud storage, version 3 (SQLite). Kept in step with ../postgres/0003_router_certificates.sql.

-- Client certificates issued to router agents by the agent CA (issue 6). The serial number
-- (lowercase hex) is what the agent listener looks up on every request: a certificate unknown
-- here, revoked, or naming another router is refused. Private keys are never stored.
CREATE TABLE router_certificates (
    serial      TEXT PRIMARY KEY CHECK (length(serial) BETWEEN 2 AND 40),
    router      TEXT NOT NULL,
    fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),
    key_origin  TEXT NOT NULL CHECK (key_origin IN ('server', 'csr')),
    issued_by   TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    revoked_at  TEXT,
    revoked_by  TEXT
);
CREATE INDEX router_certificates_router_idx ON router_certificates (router, issued_at);

-- The telemetry reports stored, so that a report sent twice (an agent's spool replayed) is
-- stored once. The observation time is part of the key: an agent whose state directory was
-- lost counts its sequence from 1 again. Pruned with the samples.
CREATE TABLE telemetry_reports (
    router      TEXT NOT NULL,
    sequence    INTEGER NOT NULL CHECK (sequence > 0),
    observed_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (router, sequence, observed_at)
);
CREATE INDEX telemetry_reports_observed_at_idx ON telemetry_reports (observed_at);

-- The latest report of each router, whole: what the Router and ExtranetLink reconcilers read.
-- `links` and `routes` are the report's JSON arrays.
CREATE TABLE telemetry_latest (
    router           TEXT PRIMARY KEY,
    sequence         INTEGER NOT NULL CHECK (sequence > 0),
    observed_at      TEXT NOT NULL,
    received_at      TEXT NOT NULL,
    agent_version    TEXT NOT NULL,
    interval_seconds INTEGER NOT NULL CHECK (interval_seconds > 0),
    links            TEXT NOT NULL,
    routes           TEXT NOT NULL
);
