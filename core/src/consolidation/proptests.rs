//! Properties of the VLAN/VRF allocation: whatever the order in which networks are allocated,
//! re-allocated with new pins and released, no two networks share a VLAN or a VRF table on a
//! router, every allocated VLAN and table is in range, and re-planning a network that holds its
//! sites writes nothing (allocation is stable).

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::allocation::SegmentAllocation;
use super::allocation::{FIRST_TABLE, FIRST_VLAN, MAX_TABLE, MAX_VLAN, Wanted, apply, plan};
use super::testing::at;

const ROUTERS: [&str; 3] = ["ankang-core", "hanbin-core", "hanyin-core"];

#[derive(Clone, Debug)]
enum Step {
    /// Allocate network `n` at these routers (index into ROUTERS) with these pins.
    Allocate(u8, Vec<(u8, Option<u16>)>),
    /// Release every row of network `n`.
    Release(u8),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let pin = prop_oneof![
        3 => Just(None),
        1 => (98_u16..106).prop_map(Some),
    ];
    let step = prop_oneof![
        4 => (0_u8..6, prop::collection::vec((0_u8..3, pin), 1..4)).prop_map(|(n, s)| Step::Allocate(n, s)),
        1 => (0_u8..6).prop_map(Step::Release),
    ];
    prop::collection::vec(step, 1..40)
}

fn wanted_of(sites: &[(u8, Option<u16>)]) -> Vec<Wanted> {
    let mut seen = BTreeSet::new();
    sites
        .iter()
        .enumerate()
        .filter(|(_, (router, _))| seen.insert(*router))
        .map(|(index, (router, pinned))| Wanted {
            index,
            router: ROUTERS[usize::from(*router)].to_owned(),
            pinned: *pinned,
        })
        .collect()
}

fn assert_unique(rows: &[SegmentAllocation]) {
    let mut vlans = BTreeSet::new();
    let mut tables = BTreeSet::new();
    let mut sites = BTreeSet::new();
    for row in rows {
        assert!(
            vlans.insert((row.router.clone(), row.vlan_id)),
            "VLAN shared: {rows:?}"
        );
        assert!(
            tables.insert((row.router.clone(), row.vrf_table)),
            "table shared: {rows:?}"
        );
        assert!(
            sites.insert((row.network.clone(), row.router.clone())),
            "two rows: {rows:?}"
        );
        assert!((1..=MAX_VLAN).contains(&row.vlan_id));
        assert!((FIRST_TABLE..=MAX_TABLE).contains(&row.vrf_table));
    }
}

proptest! {
    #[test]
    fn no_two_networks_share_a_vlan_or_a_table_on_a_router(steps in steps()) {
        let mut ledger: Vec<SegmentAllocation> = Vec::new();
        for step in steps {
            match step {
                Step::Allocate(n, sites) => {
                    let network = format!("net-{n}");
                    let wanted = wanted_of(&sites);
                    if let Ok(writes) = plan(&network, &wanted, &ledger) {
                        let before = ledger.clone();
                        ledger = apply(&network, &ledger, &writes, at());
                        // Stable: planning again writes nothing.
                        prop_assert_eq!(plan(&network, &wanted, &ledger), Ok(Vec::new()));
                        for site in &wanted {
                            let row = ledger
                                .iter()
                                .find(|r| r.network == network && r.router == site.router)
                                .expect("a row per wanted site");
                            match site.pinned {
                                Some(pinned) => prop_assert_eq!(row.vlan_id, pinned),
                                // A new site takes from FIRST_VLAN; a held one keeps its VLAN.
                                None => prop_assert!(
                                    row.vlan_id >= FIRST_VLAN || before.contains(row)
                                ),
                            }
                        }
                    }
                }
                Step::Release(n) => {
                    let network = format!("net-{n}");
                    ledger.retain(|r| r.network != network);
                }
            }
            assert_unique(&ledger);
        }
    }
}
