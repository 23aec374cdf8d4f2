-- govcloud storage, version 1 (PostgreSQL). Kept in step with ../sqlite/0001_initial.sql.

-- API bearer tokens: only the SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    id          BIGSERIAL PRIMARY KEY,
    tenant      TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'operations', 'auditor')),
    token_hash  TEXT NOT NULL CHECK (length(token_hash) = 64),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    description TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);
CREATE INDEX api_tokens_tenant_idx ON api_tokens (tenant);

-- The audit log: append-only, each record carries the hash of the previous one. `detail` is
-- the exact JSON text that was hashed, so it is TEXT rather than JSONB (which re-encodes).
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY CHECK (seq > 0),
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    tenant      TEXT,
    action      TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_name TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_log_prev_hash_key ON audit_log (prev_hash);
CREATE UNIQUE INDEX audit_log_hash_key ON audit_log (hash);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant, seq);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Link telemetry reported by the router agents.
CREATE TABLE telemetry_samples (
    id         BIGSERIAL PRIMARY KEY,
    router     TEXT NOT NULL,
    interface  TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    rx_bytes   BIGINT NOT NULL,
    tx_bytes   BIGINT NOT NULL,
    rx_errors  BIGINT NOT NULL,
    tx_errors  BIGINT NOT NULL,
    oper_up    BOOLEAN NOT NULL,
    speed_mbps BIGINT
);
CREATE INDEX telemetry_samples_series_idx ON telemetry_samples (router, interface, at);
CREATE INDEX telemetry_samples_at_idx ON telemetry_samples (at);

-- Quota review runs and the decision taken on each finding.
CREATE TABLE review_runs (
    id          BIGSERIAL PRIMARY KEY,
    review      TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    summary     JSONB
);
CREATE INDEX review_runs_review_idx ON review_runs (review, id);

CREATE TABLE review_decisions (
    id             BIGSERIAL PRIMARY KEY,
    run_id         BIGINT NOT NULL REFERENCES review_runs (id) ON DELETE CASCADE,
    tenant         TEXT NOT NULL,
    resource       TEXT NOT NULL,
    classification TEXT NOT NULL,
    decision       TEXT NOT NULL CHECK (decision IN ('accept', 'decline', 'defer')),
    reason         TEXT NOT NULL,
    decided_by     TEXT NOT NULL,
    decided_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX review_decisions_run_idx ON review_decisions (run_id, id);

-- The IPv6 address ledger: an allocation is active until released, then held until hold_until.
CREATE TABLE ipam_allocations (
    id           BIGSERIAL PRIMARY KEY,
    pool         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    level        INTEGER NOT NULL CHECK (level >= 0),
    owner_kind   TEXT NOT NULL,
    owner_name   TEXT NOT NULL,
    allocated_at TIMESTAMPTZ NOT NULL,
    released_at  TIMESTAMPTZ,
    hold_until   TIMESTAMPTZ
);
CREATE UNIQUE INDEX ipam_allocations_active_prefix_key
    ON ipam_allocations (pool, prefix) WHERE released_at IS NULL;
CREATE UNIQUE INDEX ipam_allocations_active_owner_key
    ON ipam_allocations (pool, owner_kind, owner_name, level) WHERE released_at IS NULL;
CREATE INDEX ipam_allocations_prefix_idx ON ipam_allocations (pool, prefix);

-- Evidence kept from disaster-recovery drills.
CREATE TABLE drill_evidence (
    id          BIGSERIAL PRIMARY KEY,
    namespace   TEXT NOT NULL,
    drill       TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    kind        TEXT NOT NULL,
    payload     JSONB NOT NULL
);
CREATE INDEX drill_evidence_drill_idx ON drill_evidence (namespace, drill, id);

-- Reports waiting to be pushed to the provincial multi-cloud manager.
CREATE TABLE provincial_outbox (
    id              BIGSERIAL PRIMARY KEY,
    created_at      TIMESTAMPTZ NOT NULL,
    kind            TEXT NOT NULL,
    payload         JSONB NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX provincial_outbox_due_idx
    ON provincial_outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
