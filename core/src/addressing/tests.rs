//! The pure stages of addressing: pool choice, wants in order, stale allocations, passes over a
//! small tree of routers, totals, and the statuses written.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use govcloud_crds::common::{Duration as GoDuration, Prefix as SpecPrefix};
use govcloud_crds::network::address_pool::{AddressPoolSpec, AddressPoolStatus, PrefixLengths};
use govcloud_crds::network::router::RouterStatus;
use k8s_openapi::jiff::Timestamp;

use super::owners::{
    self, LinkInput, NetworkInput, Parent, RouterInput, Unassigned, Wait, Want, pool_of, stale,
    wants,
};
use super::pass::{self, Assignment};
use super::status::{self, PoolOutcome, Totals};
use crate::ipam::{
    AllocateError, Allocator, EntryState, LedgerEntry, Level, Owner, Prefix, ValidPool,
};

fn p(text: &str) -> Prefix {
    Prefix::parse(text).expect("a prefix")
}

fn pool(prefix: &str, lengths: [u8; 4], hold: &str) -> ValidPool {
    let spec = AddressPoolSpec {
        prefix: SpecPrefix::from(prefix),
        lengths: PrefixLengths {
            city: lengths[0],
            county: lengths[1],
            township: lengths[2],
            segment: lengths[3],
        },
        reserved: Vec::new(),
        release_hold: GoDuration::from(hold),
    };
    ValidPool::from_spec(&spec).expect("a valid pool")
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .expect("a time")
        + TimeDelta::seconds(seconds)
}

fn router(name: &str, level: Level, upstream: Option<&str>, lans: &[&str]) -> RouterInput {
    RouterInput {
        name: name.to_owned(),
        level,
        upstream: upstream.map(str::to_owned),
        pool_label: None,
        lans: lans.iter().map(|l| (*l).to_owned()).collect(),
    }
}

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// A city, two counties, a township in the second; a LAN at the township; a link to it; a
/// dedicated network at the city and the township.
fn tree() -> (Vec<RouterInput>, Vec<LinkInput>, Vec<NetworkInput>) {
    let routers = vec![
        router("t1", Level::Township, Some("c2"), &["lan0"]),
        router("city", Level::City, None, &[]),
        router("c2", Level::County, Some("city"), &[]),
        router("c1", Level::County, Some("city"), &[]),
    ];
    let links = vec![LinkInput {
        name: "c2-t1".to_owned(),
        downstream: "t1".to_owned(),
    }];
    let networks = vec![NetworkInput {
        name: "medins".to_owned(),
        routers: vec!["t1".to_owned(), "city".to_owned(), "ghost".to_owned()],
    }];
    (routers, links, networks)
}

fn owner_names(wants: &[Want]) -> Vec<String> {
    wants.iter().map(|w| w.owner.to_string()).collect()
}

#[test]
fn a_router_draws_from_its_labelled_pool_else_the_only_one() {
    let mut r = router("x", Level::City, None, &[]);
    let two = names(&["a", "b"]);
    assert_eq!(pool_of(&r, &names(&["a"])), Ok("a"));
    assert_eq!(
        pool_of(&r, &two),
        Err(Unassigned::AmbiguousPool { pools: 2 })
    );
    assert_eq!(
        pool_of(&r, &BTreeSet::new()),
        Err(Unassigned::NoPool { label: None })
    );
    r.pool_label = Some("b".to_owned());
    assert_eq!(pool_of(&r, &two), Ok("b"));
    let missing = pool_of(&r, &names(&["a"])).expect_err("b does not exist");
    assert_eq!(missing.reason(), "NoPool");
    assert!(missing.to_string().contains("AddressPool b"), "{missing}");
}

#[test]
fn wants_put_parents_first_then_segments_by_owner() {
    let (routers, links, networks) = tree();
    let got = wants("v6", &names(&["v6"]), &routers, &links, &networks);
    assert_eq!(
        owner_names(&got),
        [
            "Router/city",
            "Router/c1",
            "Router/c2",
            "Router/t1",
            "LinkMember/c2-t1/0",
            "LinkMember/c2-t1/1",
            "NetworkSite/medins/city",
            "NetworkSite/medins/t1",
            "RouterLan/t1/lan0",
        ]
    );
    assert_eq!(got[0].parent, Parent::Pool);
    assert_eq!(
        got[3].parent,
        Parent::Router {
            name: "c2".to_owned(),
            level: Level::County
        }
    );
    assert!(got[4..].iter().all(|w| w.level == Level::Segment));
    assert_eq!(
        got[4].parent,
        Parent::Router {
            name: "t1".to_owned(),
            level: Level::Township
        },
        "a link member lies in the downstream router's prefix"
    );
}

#[test]
fn routers_of_other_pools_and_bad_upstreams_are_noted() {
    let (mut routers, links, networks) = tree();
    routers[2].pool_label = Some("other".to_owned()); // c2 in another pool
    routers.push(router("lost", Level::Township, Some("nowhere"), &[]));
    routers.push(router("flat", Level::County, Some("c1"), &[]));
    let pools = names(&["v6", "other"]);
    for r in &mut routers {
        r.pool_label.get_or_insert_with(|| "v6".to_owned());
    }
    let got = wants("v6", &pools, &routers, &links, &networks);
    let parent_of = |name: &str| {
        got.iter()
            .find(|w| w.owner == owners::router_owner(name))
            .map(|w| w.parent.clone())
    };
    assert_eq!(parent_of("c2"), None, "c2 draws from the other pool");
    assert_eq!(
        parent_of("t1"),
        Some(Parent::Unknown(Wait::UpstreamElsewhere {
            upstream: "c2".to_owned()
        }))
    );
    assert_eq!(
        parent_of("lost"),
        Some(Parent::Unknown(Wait::UpstreamMissing {
            upstream: "nowhere".to_owned()
        }))
    );
    assert_eq!(
        parent_of("flat"),
        Some(Parent::Unknown(Wait::UpstreamNotAbove {
            upstream: "c1".to_owned(),
            level: Level::County
        }))
    );
    assert!(
        !owner_names(&got).iter().any(|o| o.contains("ghost")),
        "a site at an unknown router gets nothing"
    );
}

fn run_pass(
    pool: &ValidPool,
    entries: &[LedgerEntry],
    wants: &[Want],
    now: DateTime<Utc>,
) -> pass::Pass {
    let mut allocator =
        Allocator::from_ledger(pool.clone(), entries.to_vec(), now).expect("ledger");
    let stale = stale(entries, wants);
    pass::run(&mut allocator, wants, &stale, now)
}

/// The ledger after `pass` on `entries`.
fn apply(entries: &[LedgerEntry], pass: &pass::Pass) -> Vec<LedgerEntry> {
    let mut out: Vec<LedgerEntry> = entries.to_vec();
    for released in &pass.released {
        for e in out
            .iter_mut()
            .filter(|e| e.state == EntryState::Active && e.prefix == released.release.prefix)
        {
            e.state = EntryState::Released {
                hold_until: released.release.hold_until,
            };
        }
    }
    out.extend(pass.allocated.iter().map(|a| LedgerEntry {
        prefix: a.prefix,
        level: a.level,
        owner: a.owner.clone(),
        state: EntryState::Active,
    }));
    out
}

fn assigned(pass: &pass::Pass, kind: &str, name: &str) -> Prefix {
    pass.assignments
        .get(&Owner::new(kind, name))
        .and_then(Assignment::prefix)
        .unwrap_or_else(|| panic!("{kind}/{name} has no prefix: {pass:?}"))
}

#[test]
fn a_tree_gets_nested_prefixes_and_keeps_them() {
    let v6 = pool("2001:db8:a00::/48", [48, 56, 60, 64], "2s");
    let (routers, links, networks) = tree();
    let w = wants("v6", &names(&["v6"]), &routers, &links, &networks);
    let first = run_pass(&v6, &[], &w, at(0));
    assert_eq!(first.allocated.len(), w.len());
    assert_eq!(assigned(&first, "Router", "city"), p("2001:db8:a00::/48"));
    assert_eq!(assigned(&first, "Router", "c1"), p("2001:db8:a00::/56"));
    assert_eq!(assigned(&first, "Router", "c2"), p("2001:db8:a00:100::/56"));
    assert_eq!(assigned(&first, "Router", "t1"), p("2001:db8:a00:100::/60"));
    assert_eq!(
        assigned(&first, "RouterLan", "t1/lan0"),
        p("2001:db8:a00:103::/64")
    );
    assert_eq!(
        assigned(&first, "LinkMember", "c2-t1/0"),
        p("2001:db8:a00:100::/64")
    );
    // The city's own segment avoids the counties.
    assert_eq!(
        assigned(&first, "NetworkSite", "medins/city"),
        p("2001:db8:a00:200::/64")
    );
    let ledger = apply(&[], &first);
    let again = run_pass(&v6, &ledger, &w, at(10));
    assert!(
        again.allocated.is_empty() && again.released.is_empty(),
        "{again:?}"
    );
    assert_eq!(again.assignments, first.assignments, "stable across passes");
}

#[test]
fn deleted_owners_are_released_and_held_then_their_prefix_is_free() {
    let v6 = pool("2001:db8:a00::/48", [48, 56, 60, 64], "2s");
    let (mut routers, links, networks) = tree();
    let w = wants("v6", &names(&["v6"]), &routers, &links, &networks);
    let ledger = apply(&[], &run_pass(&v6, &[], &w, at(0)));
    routers.retain(|r| r.name != "c1");
    routers.push(router("c3", Level::County, Some("city"), &[]));
    let w = wants("v6", &names(&["v6"]), &routers, &links, &[]);
    let gone = run_pass(&v6, &ledger, &w, at(5));
    let released: Vec<String> = gone.released.iter().map(|r| r.owner.to_string()).collect();
    assert_eq!(
        released,
        [
            "Router/c1",
            "NetworkSite/medins/city",
            "NetworkSite/medins/t1"
        ]
    );
    assert_eq!(gone.released[0].release.hold_until, Some(at(7)));
    assert_eq!(
        assigned(&gone, "Router", "c3"),
        p("2001:db8:a00:300::/56"),
        "c1's /56 is held, and so is 2001:db8:a00:200::/64, a site's"
    );
    // After the hold, a new county takes c1's old prefix.
    let ledger = apply(&ledger, &gone);
    routers.push(router("c4", Level::County, Some("city"), &[]));
    let w = wants("v6", &names(&["v6"]), &routers, &links, &[]);
    let later = run_pass(&v6, &ledger, &w, at(8));
    assert_eq!(assigned(&later, "Router", "c4"), p("2001:db8:a00::/56"));
}

#[test]
fn a_township_waits_for_its_county_and_an_exhausted_parent_says_so() {
    let small = pool("2001:db8:a00::/48", [48, 52, 56, 64], "0s");
    let mut routers = vec![router("city", Level::City, None, &[])];
    for c in 0..17 {
        routers.push(router(
            &format!("c{c:02}"),
            Level::County,
            Some("city"),
            &[],
        ));
    }
    routers.push(router("t", Level::Township, Some("c16"), &[]));
    let w = wants("v6", &names(&["v6"]), &routers, &[], &[]);
    let got = run_pass(&small, &[], &w, at(0));
    let Some(Assignment::Failed(error @ AllocateError::Exhausted { used, total, .. })) =
        got.assignments.get(&owners::router_owner("c16"))
    else {
        panic!("c16 should find no room: {got:?}");
    };
    assert_eq!((*used, *total), (16, 16));
    assert!(
        error.to_string().contains("16 of 16 county prefixes"),
        "{error}"
    );
    assert_eq!(got.exhausted().count(), 1);
    assert_eq!(
        got.assignments.get(&owners::router_owner("t")),
        Some(&Assignment::Waiting(Wait::ParentWithoutPrefix {
            router: "c16".to_owned()
        }))
    );
    let address = status::router_address("v6", &got.assignments[&owners::router_owner("t")]);
    assert_eq!(
        (address.status, address.reason),
        ("False", "WaitingForUpstream")
    );
    let address = status::router_address("v6", &got.assignments[&owners::router_owner("c16")]);
    assert_eq!((address.status, address.reason), ("False", "Exhausted"));
}

#[test]
fn an_owner_whose_upstream_goes_keeps_its_prefix_and_one_that_moves_is_served_again() {
    let v6 = pool("2001:db8:a00::/48", [48, 56, 60, 64], "1h");
    let (mut routers, links, networks) = tree();
    let w = wants("v6", &names(&["v6"]), &routers, &links, &networks);
    let first = run_pass(&v6, &[], &w, at(0));
    let ledger = apply(&[], &first);
    let t1 = assigned(&first, "Router", "t1");
    // c2 goes: t1 keeps its prefix while its upstream is missing.
    routers.retain(|r| r.name != "c2");
    let w = wants("v6", &names(&["v6"]), &routers, &links, &networks);
    let kept = run_pass(&v6, &ledger, &w, at(1));
    assert!(matches!(
        kept.assignments.get(&owners::router_owner("t1")),
        Some(Assignment::Kept { prefix, .. }) if *prefix == t1
    ));
    // t1 now hangs off c1: its prefix moves inside c1's, the old one released.
    let ledger = apply(&ledger, &kept);
    routers
        .iter_mut()
        .filter(|r| r.name == "t1")
        .for_each(|r| r.upstream = Some("c1".to_owned()));
    let w = wants("v6", &names(&["v6"]), &routers, &links, &networks);
    let moved = run_pass(&v6, &ledger, &w, at(2));
    assert_eq!(assigned(&moved, "Router", "t1"), p("2001:db8:a00::/60"));
    assert!(moved.released.iter().any(|r| r.release.prefix == t1));
}

#[test]
fn stale_lists_only_managed_kinds_not_wanted() {
    let entry = |kind: &str, name: &str, level, prefix: &str| LedgerEntry {
        prefix: p(prefix),
        level,
        owner: Owner::new(kind, name),
        state: EntryState::Active,
    };
    let entries = vec![
        entry("Router", "a", Level::City, "2001:db8::/48"),
        entry("Router", "b", Level::County, "2001:db8::/56"),
        entry("Segment", "x", Level::Segment, "2001:db8:0:100::/64"),
    ];
    let w = vec![Want {
        owner: owners::router_owner("a"),
        level: Level::City,
        parent: Parent::Pool,
    }];
    assert_eq!(
        stale(&entries, &w),
        [(owners::router_owner("b"), Level::County)]
    );
}

#[test]
fn totals_count_allocated_held_and_free_under_the_parents() {
    let v6 = pool("2001:db8:a00::/48", [48, 56, 60, 64], "1h");
    let (routers, links, networks) = tree();
    let w = wants("v6", &names(&["v6"]), &routers, &links, &networks);
    let mut ledger = apply(&[], &run_pass(&v6, &[], &w, at(0)));
    ledger[1].state = EntryState::Released {
        hold_until: Some(at(100)),
    };
    let totals = status::totals(&v6, &ledger, at(1));
    assert_eq!(totals.allocated, [1, 1, 1, 5]);
    assert_eq!(totals.held, [0, 1, 0, 0]);
    // Counties: 256 in the city; c1 (held), c2 and the /56 around the city's own /64 taken.
    // Townships: under the city, outside c1, c2 and the city's /64; and under c2, one taken.
    assert_eq!(totals.free[1], 253);
    assert_eq!(totals.free[2], 4096 - 33 + 15);
    assert_eq!(totals.free[0], 0, "the city's prefix is taken");
    assert_eq!(Totals::default().utilisation(Level::City), None);
}

fn stamp(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + seconds).expect("a timestamp")
}

#[test]
fn pool_status_holds_totals_and_conditions_that_move_only_on_change() {
    let totals = Totals {
        allocated: [1, 2, 0, 0],
        held: [0, 0, 0, 1],
        free: [0, 14, 32, 0],
    };
    let served = PoolOutcome::Served {
        totals,
        exhausted: vec![],
    };
    let first = status::pool_status(&AddressPoolStatus::default(), &served, Some(1), stamp(0));
    assert_eq!((first.allocated, first.on_hold), (3, 1));
    assert_eq!(first.free_by_level.get("county"), Some(&14));
    let again = status::pool_status(&first, &served, Some(1), stamp(9));
    assert_eq!(again, first, "nothing changed: nothing to write");
    let full = PoolOutcome::Served {
        totals,
        exhausted: vec!["no room a".to_owned(), "no room b".to_owned()],
    };
    let exhausted = status::pool_status(&first, &full, Some(1), stamp(20));
    let events = status::pool_announcements(&first, &exhausted);
    assert_eq!(
        events,
        [(
            true,
            "Exhausted",
            "no room a (and 1 more requests unserved)".to_owned()
        )]
    );
    let refused = PoolOutcome::NotReady {
        reason: "PoolsOverlap",
        message: "spec.prefix: overlaps".to_owned(),
    };
    let bad = status::pool_status(&first, &refused, Some(2), stamp(30));
    assert_eq!(bad.allocated, 3, "totals stay");
    assert_eq!(
        status::pool_announcements(&first, &bad)[0].1,
        "PoolsOverlap"
    );
}

#[test]
fn a_router_patch_is_made_only_when_the_prefix_or_condition_changes() {
    let address = status::router_address("v6", &Assignment::Assigned(p("2001:db8::/56")));
    let patch = status::router_patch(None, &address, Some(1), stamp(0)).expect("a first patch");
    assert_eq!(patch["prefix"], "2001:db8::/56");
    assert_eq!(patch["conditions"][0]["type"], "AddressAssigned");
    let status: RouterStatus = serde_json::from_value(patch).expect("a router status");
    assert_eq!(
        status::router_patch(Some(&status), &address, Some(1), stamp(5)),
        None
    );
    assert_eq!(
        status::router_announcement(None, &address).map(|a| a.1),
        Some("PrefixAssigned")
    );
    let lost = status::unassigned(&Unassigned::AmbiguousPool { pools: 2 });
    let patch = status::router_patch(Some(&status), &lost, Some(1), stamp(9)).expect("a change");
    assert!(
        patch.get("prefix").is_none(),
        "no prefix: the field is dropped"
    );
    assert_eq!(
        status::router_announcement(Some(&status), &lost).map(|a| a.1),
        Some("PrefixWithdrawn")
    );
}

mod properties {
    //! Whatever routers come and go, in whatever order: prefixes never overlap beyond a prefix
    //! lying in its parent router's, each lies in its parent's, and a pass on a ledger rebuilt
    //! from the records (a restart) changes nothing.

    use proptest::prelude::*;
    use proptest::test_runner::FileFailurePersistence;

    use super::*;

    /// A step: a router created (its index, its level by `index % 3` shape) or deleted.
    #[derive(Clone, Debug)]
    enum Step {
        Create { router: u8, lans: u8 },
        Delete { router: u8 },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (0_u8..16, 0_u8..3).prop_map(|(router, lans)| Step::Create { router, lans }),
            1 => (0_u8..16).prop_map(|router| Step::Delete { router }),
        ]
    }

    /// Router `i`: 0 the city, 1–4 counties under it, 5–15 townships under county 1 + i % 4.
    fn input(i: u8, lans: u8) -> RouterInput {
        let lan_names: Vec<String> = (0..lans).map(|l| format!("lan{l}")).collect();
        let lans: Vec<&str> = lan_names.iter().map(String::as_str).collect();
        match i {
            0 => router("r0", Level::City, None, &lans),
            1..=4 => router(&format!("r{i}"), Level::County, Some("r0"), &lans),
            _ => router(
                &format!("r{i}"),
                Level::Township,
                Some(&format!("r{}", 1 + i % 4)),
                &lans,
            ),
        }
    }

    fn check(ledger: &[LedgerEntry], pass: &pass::Pass, routers: &[RouterInput]) {
        let active: Vec<&LedgerEntry> = ledger
            .iter()
            .filter(|e| e.state == EntryState::Active)
            .collect();
        for (i, a) in active.iter().enumerate() {
            for b in &active[i + 1..] {
                if a.prefix.overlaps(b.prefix) {
                    assert_ne!(a.level, b.level, "{a:?} and {b:?} overlap");
                }
            }
        }
        for r in routers {
            let Some(mine) = pass
                .assignments
                .get(&owners::router_owner(&r.name))
                .and_then(Assignment::prefix)
            else {
                continue;
            };
            if let Some(up) = r.upstream.as_ref().and_then(|u| {
                pass.assignments
                    .get(&owners::router_owner(u))
                    .and_then(Assignment::prefix)
            }) {
                assert!(
                    up.contains(mine),
                    "{} {mine} outside its upstream's {up}",
                    r.name
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 64,
            failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
            ..ProptestConfig::default()
        })]

        #[test]
        fn any_order_of_routers_keeps_prefixes_apart_and_stable(steps in prop::collection::vec(step(), 1..40)) {
            let v6 = pool("2001:db8:a00::/48", [48, 52, 56, 60], "10s");
            let pools = names(&["v6"]);
            let mut live: BTreeMap<u8, u8> = BTreeMap::new();
            let mut ledger: Vec<LedgerEntry> = Vec::new();
            for (t, step) in steps.into_iter().enumerate() {
                match step {
                    Step::Create { router, lans } => { live.entry(router).or_insert(lans); }
                    Step::Delete { router } => { live.remove(&router); }
                }
                let routers: Vec<RouterInput> = live.iter().map(|(i, l)| input(*i, *l)).collect();
                let w = wants("v6", &pools, &routers, &[], &[]);
                let now = at(i64::try_from(t).unwrap_or_default() * 3);
                let pass = run_pass(&v6, &ledger, &w, now);
                ledger = apply(&ledger, &pass);
                check(&ledger, &pass, &routers);
                let again = run_pass(&v6, &ledger, &w, now);
                prop_assert!(again.allocated.is_empty() && again.released.is_empty(), "{again:?}");
                prop_assert_eq!(&again.assignments, &pass.assignments);
            }
        }
    }
}
