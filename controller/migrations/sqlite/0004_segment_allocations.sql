-- govcloud storage, version 4 (SQLite). Kept in step with ../postgres/0004_segment_allocations.sql.

-- The VLAN and VRF of each site of a dedicated network migrating onto the extranet (issue 7):
-- per router, a VLAN id and a VRF routing table belong to one network; a network has one row
-- per router. The uniqueness rules are the ledger's guarantee: two networks never share a VLAN
-- or a table on a router, whatever the order or concurrency of their reconciles. Rows are
-- deleted when the network is decommissioned, leaves the router or is deleted.
CREATE TABLE segment_allocations (
    network      TEXT NOT NULL,
    router       TEXT NOT NULL,
    vlan_id      INTEGER NOT NULL CHECK (vlan_id BETWEEN 1 AND 4094),
    vrf_table    INTEGER NOT NULL CHECK (vrf_table BETWEEN 1 AND 4294967295),
    allocated_at TEXT NOT NULL,
    PRIMARY KEY (network, router),
    UNIQUE (router, vlan_id),
    UNIQUE (router, vrf_table)
);
