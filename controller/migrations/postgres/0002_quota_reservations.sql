-- govcloud storage, version 2 (PostgreSQL). Kept in step with ../sqlite/0002_quota_reservations.sql.

-- Quota reserved by scheduled systems (issue 5): one row per system, checked against the
-- tenant's free quota in the transaction that inserts it (under a per-tenant advisory lock), so
-- two systems cannot both claim the same headroom. Amounts are thousandths of the unit
-- (millicores, millibytes), as exact as Kubernetes quantities.
CREATE TABLE quota_reservations (
    system        TEXT PRIMARY KEY,
    system_uid    TEXT NOT NULL,
    tenant        TEXT NOT NULL,
    cpu_milli     BIGINT NOT NULL CHECK (cpu_milli >= 0),
    memory_milli  BIGINT NOT NULL CHECK (memory_milli >= 0),
    storage_milli BIGINT NOT NULL CHECK (storage_milli >= 0),
    reserved_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX quota_reservations_tenant_idx ON quota_reservations (tenant);
