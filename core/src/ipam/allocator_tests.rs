//! The allocator on the Ankang pool: placement inside parents, stability, holds, exhaustion,
//! and ledgers it refuses.

use super::allocator::{Allocator, Outcome, Request};
use super::error::{AllocateError, LedgerError};
use super::ledger::{EntryState, LedgerEntry, Owner};
use super::level::Level;
use super::prefix::Prefix;
use super::release::{Release, releases};
use super::testing::{ankang_spec, at, p, router, segment, spec, valid};

fn ankang() -> Allocator {
    Allocator::new(valid(&ankang_spec()))
}

fn ask(
    a: &mut Allocator,
    owner: &Owner,
    level: Level,
    parent: Prefix,
) -> Result<Outcome, AllocateError> {
    a.allocate(&Request {
        owner,
        level,
        parent,
    })
}

fn get(a: &mut Allocator, owner: &Owner, level: Level, parent: Prefix) -> Outcome {
    ask(a, owner, level, parent).unwrap_or_else(|e| panic!("{owner} {level} in {parent}: {e}"))
}

fn refused(a: &mut Allocator, owner: &Owner, level: Level, parent: Prefix) -> AllocateError {
    match ask(a, owner, level, parent) {
        Ok(outcome) => panic!("{owner} got {outcome:?}"),
        Err(e) => e,
    }
}

const POOL: &str = "2001:db8:a00::/48";

#[test]
fn each_level_lands_inside_its_parent_lowest_first() {
    let mut a = ankang();
    let root = p(POOL);
    let city = get(&mut a, &router("ankang-core"), Level::City, root);
    assert_eq!(city, Outcome::Allocated(root));
    let hanbin = get(&mut a, &router("hanbin"), Level::County, root).prefix();
    let xunyang = get(&mut a, &router("xunyang"), Level::County, root).prefix();
    assert_eq!(hanbin, p("2001:db8:a00::/52"));
    assert_eq!(xunyang, p("2001:db8:a00:1000::/52"));
    let town = get(&mut a, &router("guanmiao"), Level::Township, xunyang).prefix();
    assert_eq!(town, p("2001:db8:a00:1000::/60"));
    let lan = get(&mut a, &segment("guanmiao-lan"), Level::Segment, town);
    assert_eq!(lan, Outcome::Allocated(p("2001:db8:a00:1000::/64")));
    let office = get(&mut a, &segment("office"), Level::Segment, town);
    assert_eq!(office.prefix(), p("2001:db8:a00:1001::/64"));
}

#[test]
fn an_owner_keeps_its_prefix_on_every_reconcile() {
    let mut a = ankang();
    let root = p(POOL);
    let first = get(&mut a, &router("hanbin"), Level::County, root);
    get(&mut a, &router("xunyang"), Level::County, root);
    let again = get(&mut a, &router("hanbin"), Level::County, root);
    assert_eq!(again, Outcome::Existing(first.prefix()));
    assert_eq!(
        a.owner_prefix(&router("hanbin"), Level::County),
        Some(first.prefix())
    );
}

#[test]
fn segments_directly_in_a_county_and_townships_avoid_each_other() {
    let mut a = ankang();
    let county = get(&mut a, &router("hanbin"), Level::County, p(POOL)).prefix();
    let town = get(&mut a, &router("jiangbei"), Level::Township, county).prefix();
    assert_eq!(town, p("2001:db8:a00::/60"));
    let lan = get(&mut a, &segment("county-lan"), Level::Segment, county);
    assert_eq!(lan.prefix(), p("2001:db8:a00:10::/64"));
    let next = get(&mut a, &router("laocheng"), Level::Township, county);
    assert_eq!(next.prefix(), p("2001:db8:a00:20::/60"));
}

#[test]
fn reserved_prefixes_are_never_handed_out_and_exhaustion_gives_counts() {
    let mut a = ankang();
    let root = p(POOL);
    let counties: Vec<Prefix> = (0..15)
        .map(|i| get(&mut a, &router(&format!("county-{i}")), Level::County, root).prefix())
        .collect();
    assert_eq!(counties[14], p("2001:db8:a00:e000::/52"));
    let e = refused(&mut a, &router("county-15"), Level::County, root);
    assert_eq!(e.category(), "Exhausted");
    assert_eq!(
        e.to_string(),
        "no free /52 for Router/county-15 (county) in 2001:db8:a00::/48: 15 of 16 county \
         prefixes there are allocated or held, the rest overlap reserved prefixes or prefixes \
         of other levels"
    );
}

#[test]
fn a_full_township_reports_its_segments() {
    let mut a = ankang();
    let county = get(&mut a, &router("hanbin"), Level::County, p(POOL)).prefix();
    let town = get(&mut a, &router("jiangbei"), Level::Township, county).prefix();
    for i in 0..16 {
        get(&mut a, &segment(&format!("s{i}")), Level::Segment, town);
    }
    let e = refused(&mut a, &segment("s16"), Level::Segment, town);
    assert_eq!(
        e,
        AllocateError::Exhausted {
            owner: "Segment/s16".to_owned(),
            level: Level::Segment,
            length: 64,
            parent: town,
            used: 16,
            total: 16,
        }
    );
    assert!(
        e.to_string()
            .ends_with("16 of 16 segment prefixes there are allocated or held")
    );
}

#[test]
fn the_city_prefix_is_the_pool_and_goes_to_one_owner() {
    let mut a = ankang();
    get(&mut a, &router("ankang-core"), Level::City, p(POOL));
    let e = refused(&mut a, &router("ankang-core-2"), Level::City, p(POOL));
    assert!(e.to_string().contains("1 of 1 city prefixes"), "{e}");
}

#[test]
fn parents_must_be_the_pool_or_active_allocations_above() {
    let mut a = ankang();
    let county = get(&mut a, &router("hanbin"), Level::County, p(POOL)).prefix();
    let unallocated = p("2001:db8:a00:5000::/52");
    let e = refused(&mut a, &router("t"), Level::Township, unallocated);
    assert!(e.to_string().contains("is not an active allocation"), "{e}");
    let e = refused(&mut a, &router("c"), Level::County, county);
    assert!(e.to_string().contains("is not of a level above"), "{e}");
    let e = refused(
        &mut a,
        &router("t"),
        Level::Township,
        p("2001:db8:b00::/52"),
    );
    assert!(e.to_string().contains("lies outside the pool"), "{e}");
    a.release(&router("hanbin"), at(0));
    let e = refused(&mut a, &router("t"), Level::Township, county);
    assert_eq!(e.category(), "InvalidParent");
}

#[test]
fn an_owner_whose_parent_changed_must_release_first() {
    let mut a = ankang();
    let hanbin = get(&mut a, &router("hanbin"), Level::County, p(POOL)).prefix();
    let xunyang = get(&mut a, &router("xunyang"), Level::County, p(POOL)).prefix();
    get(&mut a, &router("guanmiao"), Level::Township, hanbin);
    let e = refused(&mut a, &router("guanmiao"), Level::Township, xunyang);
    assert_eq!(e.category(), "OwnerMoved");
}

#[test]
fn released_prefixes_are_held_then_free() {
    let mut a = ankang();
    let root = p(POOL);
    let first = get(&mut a, &router("hanbin"), Level::County, root).prefix();
    let released = a.release(&router("hanbin"), at(0));
    assert_eq!(
        released,
        vec![Release {
            prefix: first,
            level: Level::County,
            hold_until: Some(at(168)),
        }]
    );
    let other = get(&mut a, &router("xunyang"), Level::County, root).prefix();
    assert_ne!(other, first);
    a.expire(at(167));
    assert_ne!(
        get(&mut a, &router("a"), Level::County, root).prefix(),
        first
    );
    a.expire(at(168));
    assert_eq!(
        get(&mut a, &router("b"), Level::County, root).prefix(),
        first
    );
}

#[test]
fn a_released_county_is_not_reused_while_its_townships_live() {
    let mut a = Allocator::new(valid(&spec(POOL, [48, 52, 60, 64])));
    let root = p(POOL);
    let county = get(&mut a, &router("hanbin"), Level::County, root).prefix();
    get(&mut a, &router("jiangbei"), Level::Township, county);
    a.release(&router("hanbin"), at(0));
    a.expire(at(1000));
    let next = get(&mut a, &router("hanbin-new"), Level::County, root).prefix();
    assert_eq!(next, p("2001:db8:a00:1000::/52"));
}

#[test]
fn a_restart_from_the_ledger_gives_the_same_prefixes() {
    let mut a = ankang();
    let root = p(POOL);
    let mut ledger = Vec::new();
    for name in ["hanbin", "xunyang", "ziyang"] {
        let owner = router(name);
        let prefix = get(&mut a, &owner, Level::County, root).prefix();
        ledger.push(LedgerEntry {
            prefix,
            level: Level::County,
            owner,
            state: EntryState::Active,
        });
    }
    let mut b = Allocator::from_ledger(valid(&ankang_spec()), ledger.clone(), at(0))
        .expect("a consistent ledger");
    for entry in &ledger {
        let again = get(&mut b, &entry.owner, Level::County, root);
        assert_eq!(again, Outcome::Existing(entry.prefix));
    }
    let next_a = get(&mut a, &router("shiquan"), Level::County, root);
    let next_b = get(&mut b, &router("shiquan"), Level::County, root);
    assert_eq!(next_a, next_b);
}

#[test]
fn ledgers_the_spec_does_not_explain_are_refused() {
    let entry = |prefix: &str, level, name: &str, state| LedgerEntry {
        prefix: p(prefix),
        level,
        owner: router(name),
        state,
    };
    let active = EntryState::Active;
    let load =
        |entries: Vec<LedgerEntry>| Allocator::from_ledger(valid(&ankang_spec()), entries, at(0));
    let outside = load(vec![entry("2001:db8:b00::/52", Level::County, "x", active)]);
    assert!(matches!(outside, Err(LedgerError::OutsidePool { .. })));
    let wrong = load(vec![entry("2001:db8:a00::/56", Level::County, "x", active)]);
    assert_eq!(
        wrong.err().map(|e| e.to_string()),
        Some("ledger row 2001:db8:a00::/56: a county prefix of this pool is a /52".to_owned())
    );
    let twice = load(vec![
        entry("2001:db8:a00::/52", Level::County, "x", active),
        entry("2001:db8:a00::/52", Level::County, "y", active),
    ]);
    assert!(matches!(twice, Err(LedgerError::DuplicatePrefix { .. })));
    let two = load(vec![
        entry("2001:db8:a00:1000::/52", Level::County, "x", active),
        entry("2001:db8:a00::/52", Level::County, "x", active),
    ]);
    assert!(matches!(two, Err(LedgerError::OwnerHasTwo { .. })));
    // Expired holds are ignored; of two holds of one prefix the later counts, and an active
    // row outweighs a hold.
    let held = |h| EntryState::Released {
        hold_until: Some(at(h)),
    };
    let fine = load(vec![
        entry("2001:db8:a00::/52", Level::County, "x", held(-1)),
        entry("2001:db8:a00::/52", Level::County, "y", active),
        entry("2001:db8:a00:1000::/52", Level::County, "z", held(5)),
        entry("2001:db8:a00:1000::/52", Level::County, "w", held(9)),
        entry("2001:db8:a00:2000::/52", Level::County, "v", held(5)),
        entry("2001:db8:a00:2000::/52", Level::County, "u", active),
        entry("2001:db8:a00:3000::/52", Level::County, "t", active),
        entry("2001:db8:a00:3000::/52", Level::County, "s", held(5)),
    ]);
    let mut fine = fine.expect("a ledger the pool explains");
    let next = get(&mut fine, &router("r"), Level::County, p(POOL)).prefix();
    assert_eq!(next, p("2001:db8:a00:4000::/52"));
    assert_eq!(
        fine.owner_prefix(&router("u"), Level::County),
        Some(p("2001:db8:a00:2000::/52"))
    );
    fine.expire(at(8));
    let freed = get(&mut fine, &router("q"), Level::County, p(POOL)).prefix();
    assert_eq!(freed, p("2001:db8:a00:5000::/52"), "held until 9h");
    fine.expire(at(9));
    let freed = get(&mut fine, &router("o"), Level::County, p(POOL)).prefix();
    assert_eq!(freed, p("2001:db8:a00:1000::/52"));
}

#[test]
fn releases_lists_the_owners_active_prefixes_with_the_pools_hold() {
    let pool = valid(&ankang_spec());
    let entry = |prefix: &str, level, name: &str, state| LedgerEntry {
        prefix: p(prefix),
        level,
        owner: router(name),
        state,
    };
    let entries = vec![
        entry(
            "2001:db8:a00:1000::/64",
            Level::Segment,
            "x",
            EntryState::Active,
        ),
        entry(
            "2001:db8:a00:1000::/52",
            Level::County,
            "x",
            EntryState::Active,
        ),
        entry("2001:db8:a00::/52", Level::County, "y", EntryState::Active),
        entry(
            "2001:db8:a00:2000::/60",
            Level::Township,
            "x",
            EntryState::Released { hold_until: None },
        ),
    ];
    let got = releases(&pool, &entries, &router("x"), at(0));
    let want: Vec<(Prefix, Level)> = vec![
        (p("2001:db8:a00:1000::/52"), Level::County),
        (p("2001:db8:a00:1000::/64"), Level::Segment),
    ];
    assert_eq!(
        got.iter().map(|r| (r.prefix, r.level)).collect::<Vec<_>>(),
        want
    );
    assert!(got.iter().all(|r| r.hold_until == Some(at(168))));
    let mut no_hold = ankang_spec();
    no_hold.release_hold = govcloud_crds::common::Duration::from("0s");
    let got = releases(&valid(&no_hold), &entries, &router("x"), at(0));
    assert!(got.iter().all(|r| r.hold_until.is_none()));
}

#[test]
fn releasing_one_level_keeps_the_owners_other_levels() {
    let mut a = ankang();
    let root = p(POOL);
    let owner = router("hanbin");
    let county = get(&mut a, &owner, Level::County, root).prefix();
    let town = get(&mut a, &owner, Level::Township, county).prefix();
    let released = a.release_level(&owner, Level::Township, at(0));
    assert_eq!(
        released.map(|r| (r.prefix, r.level)),
        Some((town, Level::Township))
    );
    assert_eq!(a.owner_prefix(&owner, Level::County), Some(county));
    assert_eq!(a.owner_prefix(&owner, Level::Township), None);
    assert_eq!(a.release_level(&owner, Level::Township, at(0)), None);
    // Held: another owner gets the next /60, not the released one.
    let other = get(&mut a, &router("x"), Level::Township, county).prefix();
    assert_ne!(other, town);
}
