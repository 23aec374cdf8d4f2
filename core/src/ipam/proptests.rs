//! Property tests of the allocator against a model of the SQL ledger: whatever the order of
//! allocations, deletions and holds expiring, prefixes in use never overlap (beyond a prefix
//! lying in its parent's), reserved prefixes are never handed out, and an allocator rebuilt
//! from the ledger (a restart) gives every owner its prefix back and then allocates exactly as
//! the one that never stopped.

use chrono::{DateTime, TimeDelta, Utc};
use govcloud_crds::common::{Duration, Prefix as SpecPrefix};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;

use super::allocator::{Allocator, Outcome, Request};
use super::error::AllocateError;
use super::ledger::{EntryState, LedgerEntry, Owner};
use super::level::Level;
use super::pool::ValidPool;
use super::prefix::Prefix;
use super::testing::{at, spec, valid};

#[derive(Clone, Debug)]
enum Op {
    Allocate {
        owner: u8,
        level: Level,
        parent: Index,
    },
    Delete {
        owner: u8,
    },
    Advance {
        hours: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..24_u8, prop::sample::select(Level::ALL.to_vec()), any::<Index>())
            .prop_map(|(owner, level, parent)| Op::Allocate { owner, level, parent }),
        2 => (0..24_u8).prop_map(|owner| Op::Delete { owner }),
        1 => (1..150_i64).prop_map(|hours| Op::Advance { hours }),
    ]
}

/// A small pool so that collisions, holds and exhaustion happen: 16 counties of 16 townships
/// of 16 segments, a /56 and a /60 reserved, held 100 hours.
fn pool() -> ValidPool {
    let mut spec = spec("2001:db8::/48", [48, 52, 56, 60]);
    spec.reserved = vec![
        SpecPrefix::from("2001:db8:0:1100::/56"),
        SpecPrefix::from("2001:db8:0:20::/60"),
    ];
    spec.release_hold = Duration::from("100h");
    valid(&spec)
}

fn owner(i: u8) -> Owner {
    Owner::new(
        if i.is_multiple_of(2) {
            "Router"
        } else {
            "Segment"
        },
        format!("o{i}"),
    )
}

/// The ledger as a reconciler writes it, and the parent each active allocation asked for.
struct Model {
    ledger: Vec<LedgerEntry>,
    parents: Vec<Prefix>,
    now: DateTime<Utc>,
}

impl Model {
    fn in_use(&self) -> impl Iterator<Item = &LedgerEntry> {
        self.ledger.iter().filter(|e| e.state.in_use(self.now))
    }

    /// The parents a request of `level` may name: the pool, and active allocations above.
    fn parents_for(&self, root: Prefix, level: Level) -> Vec<Prefix> {
        let mut parents: Vec<Prefix> = self
            .ledger
            .iter()
            .filter(|e| e.state == EntryState::Active && e.level < level)
            .map(|e| e.prefix)
            .collect();
        parents.sort();
        parents.insert(0, root);
        parents
    }

    /// A new allocation overlaps nothing in use but its parent and the parent's ancestors,
    /// and no reserved prefix (unless it is the pool's own, which contains them).
    fn check_new(&self, new: Prefix, level: Level, parent: Prefix, pool: &ValidPool) {
        assert!(parent.contains(new), "{new} outside its parent {parent}");
        for e in self.in_use().filter(|e| e.prefix.overlaps(new)) {
            assert!(
                e.level != level && e.prefix.contains(parent),
                "{new} ({level}) overlaps {} ({}, {:?}) inside parent {parent}",
                e.prefix,
                e.level,
                e.state
            );
        }
        assert!(!overlaps_reserved(pool, new), "{new} reserved");
    }

    fn release(&mut self, owner: &Owner, hold_until: Option<DateTime<Utc>>) {
        for e in &mut self.ledger {
            if e.owner == *owner && e.state == EntryState::Active {
                e.state = EntryState::Released { hold_until };
            }
        }
    }
}

fn run(ops: &[Op]) -> (Allocator, Model) {
    let mut live = Allocator::new(pool());
    let root = live.pool().prefix();
    let pool = live.pool().clone();
    let mut model = Model {
        ledger: Vec::new(),
        parents: Vec::new(),
        now: at(0),
    };
    for op in ops {
        match *op {
            Op::Allocate {
                owner: i,
                level,
                parent,
            } => {
                let candidates = model.parents_for(root, level);
                let parent = candidates[parent.index(candidates.len())];
                let owner = owner(i);
                let request = Request {
                    owner: &owner,
                    level,
                    parent,
                };
                match live.allocate(&request) {
                    Ok(Outcome::Allocated(prefix)) => {
                        model.check_new(prefix, level, parent, &pool);
                        model.ledger.push(LedgerEntry {
                            prefix,
                            level,
                            owner,
                            state: EntryState::Active,
                        });
                        model.parents.push(parent);
                    }
                    Ok(Outcome::Existing(prefix)) => assert!(model.ledger.iter().any(|e| {
                        e.prefix == prefix && e.owner == owner && e.state == EntryState::Active
                    })),
                    Err(
                        AllocateError::Exhausted { .. } | AllocateError::OwnerOutsideParent { .. },
                    ) => {}
                    Err(e) => panic!("unexpected refusal: {e}"),
                }
            }
            Op::Delete { owner: i } => {
                let released = live.release(&owner(i), model.now);
                let hold = released.first().and_then(|r| r.hold_until);
                model.release(&owner(i), hold);
            }
            Op::Advance { hours } => {
                model.now += TimeDelta::hours(hours);
                live.expire(model.now);
            }
        }
    }
    (live, model)
}

fn overlaps_reserved(pool: &ValidPool, prefix: Prefix) -> bool {
    prefix != pool.prefix() && pool.reserved().iter().any(|r| r.overlaps(prefix))
}

/// No two prefixes in use at one level overlap, none but the pool's own overlaps a reserved
/// prefix.
fn check_disjoint(model: &Model, pool: &ValidPool) {
    let in_use: Vec<&LedgerEntry> = model.in_use().collect();
    for (i, a) in in_use.iter().enumerate() {
        assert!(!overlaps_reserved(pool, a.prefix), "{} reserved", a.prefix);
        for b in &in_use[i + 1..] {
            assert!(
                (a.level != b.level && a.prefix != b.prefix) || !a.prefix.overlaps(b.prefix),
                "{} and {} overlap",
                a.prefix,
                b.prefix
            );
        }
    }
}

proptest! {
    // Failing cases are kept beside this file (`proptests.regressions`), within the module.
    #![proptest_config(ProptestConfig {
        cases: 200,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn allocations_never_overlap(ops in prop::collection::vec(op(), 1..200)) {
        let (live, model) = run(&ops);
        check_disjoint(&model, live.pool());
    }

    #[test]
    fn a_restart_gives_the_same_prefixes(
        ops in prop::collection::vec(op(), 1..200),
        after in prop::collection::vec((0..30_u8, prop::sample::select(Level::ALL.to_vec()), any::<Index>()), 1..20),
    ) {
        let (mut live, model) = run(&ops);
        let mut restarted = Allocator::from_ledger(pool(), model.ledger.clone(), model.now)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        // `parents` runs alongside `ledger`: each entry with the parent it was asked in.
        let entries = model.ledger.iter().zip(&model.parents);
        for (entry, parent) in entries.filter(|(e, _)| e.state == EntryState::Active) {
            let request = Request { owner: &entry.owner, level: entry.level, parent: *parent };
            prop_assert_eq!(restarted.allocate(&request), Ok(Outcome::Existing(entry.prefix)));
        }
        let root = live.pool().prefix();
        for (i, level, parent) in after {
            let candidates = model.parents_for(root, level);
            let parent = candidates[parent.index(candidates.len())];
            let owner = owner(i);
            let request = Request { owner: &owner, level, parent };
            prop_assert_eq!(live.allocate(&request), restarted.allocate(&request));
        }
    }
}
