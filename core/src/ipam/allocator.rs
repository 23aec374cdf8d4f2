//! [`Allocator`]: one pool's prefixes in use (from the ledger) and the allocation of the next.
//!
//! An owner that holds a prefix at the requested level gets it back (stable across restarts
//! and re-reconciles); otherwise it gets the lowest aligned prefix of the level's length inside
//! the requested parent that overlaps no active or held allocation of the pool and no reserved
//! prefix. The parent's ancestors (the prefixes containing it) are not conflicts: a township's
//! /60 lies inside its county's /56 by design. Deterministic: the same ledger and the same
//! requests in the same order give the same prefixes.
//!
//! Each parent keeps the addresses taken inside it as merged ranges ([`IntervalSet`]), built on
//! first use and kept up to date, so an allocation costs a few logarithmic look-ups.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::error::{AllocateError, LedgerError};
use super::intervals::IntervalSet;
use super::ledger::{EntryState, LedgerEntry, Owner};
use super::level::Level;
use super::pool::ValidPool;
use super::prefix::Prefix;

/// One request: `owner` wants a prefix of `level` inside `parent` — the pool's prefix, or an
/// active allocation of a level above (a township's county).
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub owner: &'a Owner,
    pub level: Level,
    pub parent: Prefix,
}

/// What a request got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The owner already held this prefix: nothing to record.
    Existing(Prefix),
    /// A new allocation, to record in the ledger.
    Allocated(Prefix),
}

impl Outcome {
    /// The owner's prefix.
    pub fn prefix(self) -> Prefix {
        match self {
            Self::Existing(prefix) | Self::Allocated(prefix) => prefix,
        }
    }
}

/// An allocation in use: active, or released and held.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub(super) level: Level,
    pub(super) state: EntryState,
}

/// The allocator of one pool. See the module documentation.
#[derive(Debug)]
pub struct Allocator {
    pub(super) pool: ValidPool,
    /// Prefixes in use, keyed by (first address, length).
    pub(super) in_use: BTreeMap<(u128, u8), Slot>,
    /// Each owner's active prefix per level (indexed by [`Level::index`]).
    pub(super) owners: HashMap<Owner, [Option<Prefix>; 4]>,
    /// Addresses taken strictly inside each parent used so far, and reserved ones.
    pub(super) taken: HashMap<Prefix, IntervalSet>,
}

fn key(prefix: Prefix) -> (u128, u8) {
    (prefix.first(), prefix.length())
}

impl Allocator {
    /// An allocator of `pool` with nothing allocated.
    pub fn new(pool: ValidPool) -> Self {
        Self {
            pool,
            in_use: BTreeMap::new(),
            owners: HashMap::new(),
            taken: HashMap::new(),
        }
    }

    /// The allocator of `pool` after the ledger's `entries`; released entries whose hold has
    /// passed at `now` are free. Rows the pool's spec does not explain are errors.
    pub fn from_ledger(
        pool: ValidPool,
        entries: impl IntoIterator<Item = LedgerEntry>,
        now: DateTime<Utc>,
    ) -> Result<Self, LedgerError> {
        let mut allocator = Self::new(pool);
        for entry in entries {
            if entry.state.in_use(now) {
                allocator.load(entry)?;
            }
        }
        Ok(allocator)
    }

    /// The pool allocated from.
    pub fn pool(&self) -> &ValidPool {
        &self.pool
    }

    /// The owner's active prefix at `level`, if any.
    pub fn owner_prefix(&self, owner: &Owner, level: Level) -> Option<Prefix> {
        self.owners.get(owner).and_then(|p| p[level.index()])
    }

    fn load(&mut self, entry: LedgerEntry) -> Result<(), LedgerError> {
        let (prefix, level) = (entry.prefix, entry.level);
        if !self.pool.prefix().contains(prefix) {
            return Err(LedgerError::OutsidePool {
                prefix,
                pool: self.pool.prefix(),
            });
        }
        let expected = self.pool.length(level);
        if prefix.length() != expected {
            return Err(LedgerError::WrongLength {
                prefix,
                level,
                expected,
            });
        }
        if entry.state == EntryState::Active {
            if let Some(first) = self.owner_prefix(&entry.owner, level) {
                return Err(LedgerError::OwnerHasTwo {
                    owner: entry.owner.to_string(),
                    level,
                    first: first.min(prefix),
                    second: first.max(prefix),
                });
            }
            self.owners.entry(entry.owner).or_default()[level.index()] = Some(prefix);
        }
        let Some(slot) = self.in_use.get_mut(&key(prefix)) else {
            let state = entry.state;
            self.record(prefix, Slot { level, state });
            return Ok(());
        };
        // One prefix in several rows: an active row wins over holds, the latest hold over
        // earlier ones; two active rows break the ledger's own rule.
        match (slot.state, entry.state) {
            (EntryState::Active, EntryState::Active) => {
                return Err(LedgerError::DuplicatePrefix { prefix });
            }
            (EntryState::Released { hold_until: a }, EntryState::Released { hold_until: b }) => {
                slot.state = EntryState::Released {
                    hold_until: a.max(b),
                };
            }
            (EntryState::Released { .. }, EntryState::Active) => slot.state = EntryState::Active,
            (EntryState::Active, EntryState::Released { .. }) => {}
        }
        Ok(())
    }

    /// Serves `request`: the owner's prefix at that level if it has one inside the parent,
    /// else the lowest free one, recorded as active.
    pub fn allocate(&mut self, request: &Request<'_>) -> Result<Outcome, AllocateError> {
        let Request {
            owner,
            level,
            parent,
        } = *request;
        if let Some(held) = self.owner_prefix(owner, level) {
            if parent.contains(held) {
                return Ok(Outcome::Existing(held));
            }
            return Err(AllocateError::OwnerOutsideParent {
                owner: owner.to_string(),
                level,
                held,
                parent,
            });
        }
        self.check_parent(request)?;
        let len = self.pool.length(level);
        let Some(prefix) = self.lowest_free(parent, len) else {
            return Err(self.exhausted(request, len));
        };
        self.record(
            prefix,
            Slot {
                level,
                state: EntryState::Active,
            },
        );
        self.owners.entry(owner.clone()).or_default()[level.index()] = Some(prefix);
        Ok(Outcome::Allocated(prefix))
    }

    /// The parent is the pool's prefix or an active allocation of a level above the request's.
    fn check_parent(&self, request: &Request<'_>) -> Result<(), AllocateError> {
        let parent = request.parent;
        let reason = if !self.pool.prefix().contains(parent) {
            Some("lies outside the pool")
        } else if parent == self.pool.prefix() {
            None
        } else {
            match self.in_use.get(&key(parent)) {
                Some(slot) if slot.state == EntryState::Active => {
                    (slot.level >= request.level).then_some("is not of a level above")
                }
                _ => Some("is not an active allocation of the pool"),
            }
        };
        match reason {
            None => Ok(()),
            Some(reason) => Err(AllocateError::InvalidParent {
                owner: request.owner.to_string(),
                level: request.level,
                parent,
                reason,
            }),
        }
    }

    /// The lowest free prefix of length `len` in `parent`. A prefix as long as its parent is
    /// the pool's own (the city's, at the city level): it contains the reserved prefixes by
    /// design, and is free while nothing in the pool is in use.
    fn lowest_free(&mut self, parent: Prefix, len: u8) -> Option<Prefix> {
        if len == parent.length() {
            return self.inside(parent).next().is_none().then_some(parent);
        }
        let (in_use, reserved) = (&self.in_use, self.pool.reserved());
        self.taken
            .entry(parent)
            .or_insert_with(|| taken_inside(in_use, reserved, parent))
            .lowest_free(parent, len)
    }

    /// The prefixes in use inside `parent` (itself included), by first address.
    fn inside(&self, parent: Prefix) -> impl Iterator<Item = (Prefix, &Slot)> {
        inside(&self.in_use, parent)
    }

    fn exhausted(&self, request: &Request<'_>, len: u8) -> AllocateError {
        let parent = request.parent;
        let used = self
            .inside(parent)
            .filter(|(p, _)| p.length() == len)
            .count();
        AllocateError::Exhausted {
            owner: request.owner.to_string(),
            level: request.level,
            length: len,
            parent,
            used: u128::try_from(used).unwrap_or(u128::MAX),
            total: parent.count_of(len).unwrap_or(u128::MAX),
        }
    }

    /// Marks `prefix` in use, and taken in every parent index containing it.
    pub(super) fn record(&mut self, prefix: Prefix, slot: Slot) {
        self.in_use.insert(key(prefix), slot);
        for len in self.parent_lengths(prefix) {
            if let Some(set) = self.taken.get_mut(&prefix.supernet(len)) {
                set.insert(prefix.first(), prefix.last());
            }
        }
    }

    /// Frees `prefix`: no longer in use; the indexes of its parents are rebuilt on next use.
    pub(super) fn free(&mut self, prefix: Prefix) {
        self.in_use.remove(&key(prefix));
        for len in self.parent_lengths(prefix) {
            self.taken.remove(&prefix.supernet(len));
        }
    }

    /// The lengths of the parents a prefix may have: the pool's and each shorter level's.
    fn parent_lengths(&self, prefix: Prefix) -> impl Iterator<Item = u8> + use<> {
        let pool = &self.pool;
        let lengths = [
            pool.prefix().length(),
            pool.length(Level::City),
            pool.length(Level::County),
            pool.length(Level::Township),
            pool.length(Level::Segment),
        ];
        let len = prefix.length();
        lengths.into_iter().filter(move |l| *l < len)
    }
}

/// The addresses taken strictly inside `parent`: prefixes in use longer than it, and the
/// reserved prefixes' parts inside it.
fn taken_inside(
    in_use: &BTreeMap<(u128, u8), Slot>,
    reserved: &[Prefix],
    parent: Prefix,
) -> IntervalSet {
    let mut set = IntervalSet::default();
    for (prefix, _) in inside(in_use, parent).filter(|(p, _)| p.length() > parent.length()) {
        set.insert(prefix.first(), prefix.last());
    }
    for r in reserved.iter().filter(|r| r.overlaps(parent)) {
        set.insert(r.first().max(parent.first()), r.last().min(parent.last()));
    }
    set
}

/// The prefixes of `in_use` inside `parent` (itself included), by first address.
fn inside(
    in_use: &BTreeMap<(u128, u8), Slot>,
    parent: Prefix,
) -> impl Iterator<Item = (Prefix, &Slot)> {
    in_use
        .range((parent.first(), 0)..=(parent.last(), 128))
        .map(|(&(first, len), slot)| (Prefix::truncate(first, len), slot))
        .filter(move |(prefix, _)| parent.contains(*prefix))
}
