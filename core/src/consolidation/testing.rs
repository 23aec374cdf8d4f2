//! Builders shared by the consolidation module's unit tests and property tests.

use chrono::{DateTime, TimeZone as _, Utc};
use govcloud_crds::common::Classification;
use govcloud_crds::network::dedicated_network::{DedicatedNetworkSpec, Lifecycle, NetworkSite};

use super::allocation::SegmentAllocation;
use super::allocation::Wanted;

/// A fixed instant.
pub fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0)
        .single()
        .expect("a valid instant")
}

/// A site at `router`, pinning `vlan`.
pub fn site(router: &str, vlan: Option<u16>) -> NetworkSite {
    NetworkSite {
        router: router.to_owned(),
        vlan_id: vlan,
    }
}

/// An existing network of `classification` at `routers`.
pub fn spec(classification: Classification, routers: &[&str]) -> DedicatedNetworkSpec {
    DedicatedNetworkSpec {
        display_name: "医保专网".to_owned(),
        department: "city-medins".to_owned(),
        classification,
        sensitivity: None,
        lifecycle: Lifecycle::Existing,
        exemption: None,
        retire: false,
        sites: routers.iter().map(|r| site(r, None)).collect(),
        technology: None,
        bandwidth_mbps: None,
        annual_cost_yuan: Some(1_000),
        decommission: None,
    }
}

/// A ledger row.
pub fn row(network: &str, router: &str, vlan: u16, table: u32) -> SegmentAllocation {
    SegmentAllocation {
        network: network.to_owned(),
        router: router.to_owned(),
        vlan_id: vlan,
        vrf_table: table,
        allocated_at: at(),
    }
}

/// A site to allocate.
pub fn wanted(index: usize, router: &str, pinned: Option<u16>) -> Wanted {
    Wanted {
        index,
        router: router.to_owned(),
        pinned,
    }
}
