//! VLAN and VRF allocation at the sites of an extranet migration, pure: given what the
//! network's routers already hold (every network's rows of the segment ledger), the rows to
//! write for this network.
//!
//! Per router, a VLAN id and a VRF routing table belong to one network. A site keeps what it
//! holds (stable across reconciles and restarts) unless its pinned `vlanId` changed; a new site
//! takes its pinned VLAN, or the lowest free from [`FIRST_VLAN`], and the lowest free table from
//! [`FIRST_TABLE`]. A pinned VLAN another network holds on that router is refused, naming the
//! field and the holder. Device names: `vlan<id>`, `vrf<table>` (at most 14 characters, within
//! the kernel's 15).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};

/// The lowest VLAN id handed out when a site pins none.
pub const FIRST_VLAN: u16 = 100;
/// The highest VLAN id (802.1Q: 4095 is reserved).
pub const MAX_VLAN: u16 = 4094;
/// The lowest VRF routing table handed out.
pub const FIRST_TABLE: u32 = 1000;
/// The highest VRF routing table handed out (one per VLAN is enough: 1000 + 4094).
pub const MAX_TABLE: u32 = FIRST_TABLE + MAX_VLAN as u32;

/// A row of the segment ledger: `network` holds `vlan_id` and `vrf_table` on `router`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentAllocation {
    pub network: String,
    pub router: String,
    pub vlan_id: u16,
    pub vrf_table: u32,
    pub allocated_at: DateTime<Utc>,
}

/// A row to write for the network being allocated (its row at `router` is replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSegment {
    pub router: String,
    pub vlan_id: u16,
    pub vrf_table: u32,
}

/// A site to allocate: its position in `spec.sites`, its router, its pinned VLAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub index: usize,
    pub router: String,
    pub pinned: Option<u16>,
}

/// Why a site gets no VLAN or VRF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The pinned VLAN belongs to another network on that router.
    VlanTaken {
        index: usize,
        router: String,
        vlan: u16,
        holder: String,
    },
    /// Every VLAN id from [`FIRST_VLAN`] is taken on the router.
    NoFreeVlan { index: usize, router: String },
    /// Every VRF table from [`FIRST_TABLE`] is taken on the router.
    NoFreeTable { index: usize, router: String },
}

impl Refusal {
    /// The condition and event reason.
    pub fn category(&self) -> &'static str {
        match self {
            Self::VlanTaken { .. } => "VlanConflict",
            Self::NoFreeVlan { .. } => "VlanExhausted",
            Self::NoFreeTable { .. } => "VrfExhausted",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VlanTaken {
                index,
                router,
                vlan,
                holder,
            } => write!(
                f,
                "spec.sites[{index}].vlanId: VLAN {vlan} on router {router} belongs to dedicated \
                 network {holder}"
            ),
            Self::NoFreeVlan { index, router } => write!(
                f,
                "spec.sites[{index}].router: no VLAN id from {FIRST_VLAN} to {MAX_VLAN} is free on \
                 router {router}"
            ),
            Self::NoFreeTable { index, router } => write!(
                f,
                "spec.sites[{index}].router: no VRF table from {FIRST_TABLE} to {MAX_TABLE} is \
                 free on router {router}"
            ),
        }
    }
}

/// The VLAN device's name: `vlan120`.
pub fn vlan_device(vlan: u16) -> String {
    format!("vlan{vlan}")
}

/// The VRF device's name: `vrf1000`.
pub fn vrf_device(table: u32) -> String {
    format!("vrf{table}")
}

/// The rows to write for `network` at `wanted` (each replaces the network's row at its
/// router; sites that keep what they hold are left out), or every refusal.
pub fn plan(
    network: &str,
    wanted: &[Wanted],
    held: &[SegmentAllocation],
) -> Result<Vec<NewSegment>, Vec<Refusal>> {
    let mut writes = Vec::new();
    let mut refusals = Vec::new();
    for site in wanted {
        let others: Vec<&SegmentAllocation> = held
            .iter()
            .filter(|row| row.router == site.router && row.network != network)
            .collect();
        let mine = held
            .iter()
            .find(|row| row.router == site.router && row.network == network);
        let taken_by = |vlan: u16| {
            others
                .iter()
                .find(|row| row.vlan_id == vlan)
                .map(|row| row.network.clone())
        };
        let vlan = match (site.pinned, mine) {
            (None, Some(_)) => continue,
            (Some(pinned), Some(row)) if row.vlan_id == pinned => continue,
            (Some(pinned), _) => match taken_by(pinned) {
                Some(holder) => {
                    refusals.push(Refusal::VlanTaken {
                        index: site.index,
                        router: site.router.clone(),
                        vlan: pinned,
                        holder,
                    });
                    continue;
                }
                None => pinned,
            },
            (None, None) => {
                let used: BTreeSet<u16> = others.iter().map(|row| row.vlan_id).collect();
                if let Some(free) = (FIRST_VLAN..=MAX_VLAN).find(|v| !used.contains(v)) {
                    free
                } else {
                    refusals.push(Refusal::NoFreeVlan {
                        index: site.index,
                        router: site.router.clone(),
                    });
                    continue;
                }
            }
        };
        let vrf_table = if let Some(row) = mine {
            row.vrf_table
        } else {
            let used: BTreeSet<u32> = others.iter().map(|row| row.vrf_table).collect();
            if let Some(free) = (FIRST_TABLE..=MAX_TABLE).find(|t| !used.contains(t)) {
                free
            } else {
                refusals.push(Refusal::NoFreeTable {
                    index: site.index,
                    router: site.router.clone(),
                });
                continue;
            }
        };
        writes.push(NewSegment {
            router: site.router.clone(),
            vlan_id: vlan,
            vrf_table,
        });
    }
    if refusals.is_empty() {
        Ok(writes)
    } else {
        Err(refusals)
    }
}

/// `held` with `network`'s `writes` applied, as the ledger holds it after the transaction.
pub fn apply(
    network: &str,
    held: &[SegmentAllocation],
    writes: &[NewSegment],
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<SegmentAllocation> {
    let mut rows: Vec<SegmentAllocation> = held
        .iter()
        .filter(|row| row.network != network || !writes.iter().any(|w| w.router == row.router))
        .cloned()
        .collect();
    rows.extend(writes.iter().map(|w| SegmentAllocation {
        network: network.to_owned(),
        router: w.router.clone(),
        vlan_id: w.vlan_id,
        vrf_table: w.vrf_table,
        allocated_at: at,
    }));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consolidation::testing::{at, row, wanted};

    #[test]
    fn new_sites_take_the_lowest_free_vlan_and_table() {
        let held = [row("medins-net", "ankang-core", 100, 1000)];
        let writes = plan(
            "hrss-net",
            &[
                wanted(0, "ankang-core", None),
                wanted(1, "hanbin-core", None),
            ],
            &held,
        )
        .expect("allocated");
        assert_eq!(
            writes,
            [
                NewSegment {
                    router: "ankang-core".into(),
                    vlan_id: 101,
                    vrf_table: 1001
                },
                NewSegment {
                    router: "hanbin-core".into(),
                    vlan_id: 100,
                    vrf_table: 1000
                },
            ]
        );
        assert_eq!(vlan_device(101), "vlan101");
        assert_eq!(vrf_device(MAX_TABLE), "vrf5094");
    }

    #[test]
    fn what_a_site_holds_is_kept() {
        let held = [row("hrss-net", "ankang-core", 130, 1004)];
        let writes = plan("hrss-net", &[wanted(0, "ankang-core", None)], &held).expect("kept");
        assert!(writes.is_empty());
        let writes = plan("hrss-net", &[wanted(0, "ankang-core", Some(130))], &held).expect("kept");
        assert!(writes.is_empty());
        // A new pin moves the VLAN and keeps the table.
        let writes =
            plan("hrss-net", &[wanted(0, "ankang-core", Some(210))], &held).expect("moved");
        assert_eq!(
            writes,
            [NewSegment {
                router: "ankang-core".into(),
                vlan_id: 210,
                vrf_table: 1004
            }]
        );
    }

    #[test]
    fn a_pinned_vlan_of_another_network_is_refused_naming_the_field_and_holder() {
        let held = [row("medins-net", "ankang-core", 210, 1000)];
        let refusals = plan(
            "forestry-fire-net",
            &[
                wanted(0, "hanbin-core", None),
                wanted(3, "ankang-core", Some(210)),
            ],
            &held,
        )
        .expect_err("a clash");
        assert_eq!(
            refusals[0].to_string(),
            "spec.sites[3].vlanId: VLAN 210 on router ankang-core belongs to dedicated network \
             medins-net"
        );
        assert_eq!(refusals[0].category(), "VlanConflict");
        // The same VLAN on another router is no clash.
        assert!(
            plan(
                "forestry-fire-net",
                &[wanted(0, "hanbin-core", Some(210))],
                &held
            )
            .is_ok()
        );
    }

    #[test]
    fn a_full_router_is_reported() {
        let held: Vec<SegmentAllocation> = (FIRST_VLAN..=MAX_VLAN)
            .map(|v| row(&format!("n{v}"), "ankang-core", v, u32::from(v) + 5000))
            .collect();
        let refusals = plan("late", &[wanted(0, "ankang-core", None)], &held).expect_err("full");
        assert_eq!(refusals[0].category(), "VlanExhausted");
        let applied = apply("late", &held[..1], &[], at());
        assert_eq!(applied.len(), 1);
    }
}
