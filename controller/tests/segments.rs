//! The segment (VLAN/VRF) ledger on a fresh SQLite file and, when `GOVCLOUD_TEST_DATABASE_URL`
//! is set (required when `GOVCLOUD_REQUIRE_ALL=1`), on a fresh PostgreSQL database: allocation
//! through the pure planner is unique per router and stable; the table's uniqueness rules refuse
//! a planner that picks a taken VLAN; concurrent allocations on one router all succeed with
//! distinct VLANs and tables (a transaction that loses the race plans again); release by site,
//! by network; the sites' /64 read from the IPAM ledger.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;

use chrono::Utc;
use govcloud_controller::storage::{NewIpamAllocation, Storage, StorageError};
use govcloud_core::consolidation::allocation::{NewSegment, Wanted, plan};
use govcloud_tests::database::TestDatabase;

/// A database made for one test (by `govcloud_tests::database`), dropped after it.
struct TestDb {
    storage: Storage,
    database: TestDatabase,
}

impl TestDb {
    async fn sqlite() -> Self {
        Self::open(TestDatabase::sqlite()).await
    }

    async fn postgres(test: &str) -> Option<Self> {
        Some(Self::open(TestDatabase::postgres(test).await?).await)
    }

    async fn open(database: TestDatabase) -> Self {
        Self {
            storage: Storage::open(database.url()).await.unwrap(),
            database,
        }
    }

    async fn finish(self, outcome: std::thread::Result<()>) {
        self.storage.close().await;
        self.database.remove().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            use futures::FutureExt as _;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = super::TestDb::sqlite().await;
                    let outcome = super::AssertUnwindSafe(super::$name(&db.storage))
                        .catch_unwind()
                        .await;
                    db.finish(outcome).await;
                }
            )+
        }
        mod postgres {
            use futures::FutureExt as _;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = super::TestDb::postgres(stringify!($name)).await else {
                        return;
                    };
                    let outcome = super::AssertUnwindSafe(super::$name(&db.storage))
                        .catch_unwind()
                        .await;
                    db.finish(outcome).await;
                }
            )+
        }
    };
}

on_both_backends! {
    allocation_is_unique_per_router_and_stable,
    the_ledger_refuses_a_shared_vlan,
    concurrent_allocations_get_distinct_vlans_and_tables,
    site_prefixes_come_from_the_ipam_ledger,
}

fn wanted(routers: &[(&str, Option<u16>)]) -> Vec<Wanted> {
    routers
        .iter()
        .enumerate()
        .map(|(index, (router, pinned))| Wanted {
            index,
            router: (*router).to_owned(),
            pinned: *pinned,
        })
        .collect()
}

fn names(routers: &[(&str, Option<u16>)]) -> Vec<String> {
    routers.iter().map(|(r, _)| (*r).to_owned()).collect()
}

/// Allocates `network` at `sites` with the controller's planner; the refusals as text.
async fn allocate(
    storage: &Storage,
    network: &str,
    sites: &[(&str, Option<u16>)],
) -> Result<Vec<(String, u16, u32)>, Vec<String>> {
    let wanted = wanted(sites);
    let outcome = storage
        .segments()
        .allocate(
            network,
            &names(sites),
            |held| plan(network, &wanted, held),
            Utc::now(),
        )
        .await
        .unwrap();
    outcome
        .map(|rows| {
            rows.into_iter()
                .map(|r| (r.router, r.vlan_id, r.vrf_table))
                .collect()
        })
        .map_err(|refusals| refusals.iter().map(ToString::to_string).collect())
}

async fn allocation_is_unique_per_router_and_stable(storage: &Storage) {
    let sites = [("ankang-core", Some(210)), ("hanbin-core", None)];
    let medins = allocate(storage, "medins-net", &sites).await.unwrap();
    assert_eq!(
        medins,
        [
            ("ankang-core".to_owned(), 210, 1000),
            ("hanbin-core".to_owned(), 100, 1000)
        ]
    );
    let both = [("ankang-core", None), ("hanbin-core", None)];
    let hrss = allocate(storage, "hrss-net", &both).await.unwrap();
    assert_eq!(
        hrss,
        [
            ("ankang-core".to_owned(), 100, 1001),
            ("hanbin-core".to_owned(), 101, 1001)
        ]
    );
    // Stable: allocating again changes nothing.
    assert_eq!(allocate(storage, "hrss-net", &both).await.unwrap(), hrss);
    // A pinned VLAN of another network is refused, naming the field and the holder.
    let refused = allocate(storage, "clash-net", &[("ankang-core", Some(210))])
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        [
            "spec.sites[0].vlanId: VLAN 210 on router ankang-core belongs to dedicated network \
          medins-net"
        ]
    );
    assert!(
        storage
            .segments()
            .of_network("clash-net")
            .await
            .unwrap()
            .is_empty()
    );
    // Release by site, then by network; the VLAN is free again.
    let segments = storage.segments();
    assert_eq!(
        segments
            .release_except("medins-net", &["hanbin-core".to_owned()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(segments.of_network("medins-net").await.unwrap().len(), 1);
    assert_eq!(
        segments.networks().await.unwrap(),
        ["hrss-net", "medins-net"]
    );
    assert_eq!(segments.release_network("medins-net").await.unwrap(), 1);
    assert_eq!(segments.networks().await.unwrap(), ["hrss-net"]);
    let taken = allocate(storage, "clash-net", &[("ankang-core", Some(210))])
        .await
        .unwrap();
    assert_eq!(taken, [("ankang-core".to_owned(), 210, 1000)]);
    let on_router = segments.on_router("ankang-core").await.unwrap();
    assert_eq!(on_router.len(), 2);
}

async fn the_ledger_refuses_a_shared_vlan(storage: &Storage) {
    allocate(storage, "medins-net", &[("ankang-core", None)])
        .await
        .unwrap();
    // A planner that ignores what is held: the table's uniqueness rules refuse its choice,
    // every time it plans again.
    let careless = |_: &[govcloud_core::consolidation::allocation::SegmentAllocation]| {
        Ok::<_, ()>(vec![NewSegment {
            router: "ankang-core".to_owned(),
            vlan_id: 100,
            vrf_table: 2000,
        }])
    };
    let error = storage
        .segments()
        .allocate(
            "hrss-net",
            &["ankang-core".to_owned()],
            careless,
            Utc::now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StorageError::Conflict { .. }), "{error:?}");
    let careless_table = |_: &[govcloud_core::consolidation::allocation::SegmentAllocation]| {
        Ok::<_, ()>(vec![NewSegment {
            router: "ankang-core".to_owned(),
            vlan_id: 300,
            vrf_table: 1000,
        }])
    };
    let error = storage
        .segments()
        .allocate(
            "hrss-net",
            &["ankang-core".to_owned()],
            careless_table,
            Utc::now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StorageError::Conflict { .. }), "{error:?}");
    assert!(
        storage
            .segments()
            .of_network("hrss-net")
            .await
            .unwrap()
            .is_empty()
    );
    // Out of range values are refused by the table too.
    let out_of_range = |_: &[govcloud_core::consolidation::allocation::SegmentAllocation]| {
        Ok::<_, ()>(vec![NewSegment {
            router: "hanbin-core".to_owned(),
            vlan_id: 4095,
            vrf_table: 3000,
        }])
    };
    let error = storage
        .segments()
        .allocate(
            "hrss-net",
            &["hanbin-core".to_owned()],
            out_of_range,
            Utc::now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StorageError::InvalidInput { .. }),
        "{error:?}"
    );
}

async fn concurrent_allocations_get_distinct_vlans_and_tables(storage: &Storage) {
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let storage = storage.clone();
            tokio::spawn(async move {
                let network = format!("net-{i}");
                allocate(
                    &storage,
                    &network,
                    &[("ankang-core", None), ("hanbin-core", None)],
                )
                .await
                .unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().len(), 2);
    }
    for router in ["ankang-core", "hanbin-core"] {
        let rows = storage.segments().on_router(router).await.unwrap();
        assert_eq!(rows.len(), 12);
        let vlans: BTreeSet<u16> = rows.iter().map(|r| r.vlan_id).collect();
        let tables: BTreeSet<u32> = rows.iter().map(|r| r.vrf_table).collect();
        assert_eq!(vlans, (100..112).collect(), "{router}");
        assert_eq!(tables, (1000..1012).collect(), "{router}");
    }
}

async fn site_prefixes_come_from_the_ipam_ledger(storage: &Storage) {
    for (owner, prefix) in [
        ("medins-net/ankang-core", "2001:db8:0:10::/64"),
        ("medins-net/hanbin-core", "2001:db8:100:10::/64"),
        ("medins-net-2/ankang-core", "2001:db8:0:11::/64"),
    ] {
        storage
            .ipam()
            .allocate(&NewIpamAllocation {
                pool: "ankang-v6".to_owned(),
                prefix: prefix.to_owned(),
                level: 3,
                owner_kind: "NetworkSite".to_owned(),
                owner_name: owner.to_owned(),
                allocated_at: Utc::now(),
            })
            .await
            .unwrap();
    }
    let prefixes = storage
        .segments()
        .site_prefixes("medins-net")
        .await
        .unwrap();
    assert_eq!(
        prefixes,
        [
            ("ankang-core".to_owned(), "2001:db8:0:10::/64".to_owned()),
            ("hanbin-core".to_owned(), "2001:db8:100:10::/64".to_owned()),
        ]
    );
    storage
        .ipam()
        .release("ankang-v6", "2001:db8:0:10::/64", Utc::now(), None)
        .await
        .unwrap();
    let prefixes = storage
        .segments()
        .site_prefixes("medins-net")
        .await
        .unwrap();
    assert_eq!(prefixes.len(), 1, "a released /64 is no longer the site's");
}
