//! One allocation pass over a pool, in memory: release the stale allocations, then serve every
//! want in order on the [`Allocator`] built from the ledger. Pure: the caller records the
//! pass's releases and new allocations in the ledger, and on a conflict (another writer got
//! there first) rebuilds the allocator from the ledger and runs the pass again — the prefixes
//! already recorded then come back as the owners' own.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::owners::{Parent, Wait, Want, router_owner};
use crate::ipam::{AllocateError, Allocator, Level, Outcome, Owner, Prefix, Release, Request};

/// What one want got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assignment {
    /// The owner's prefix (held before, or allocated now).
    Assigned(Prefix),
    /// The parent is not known, but the owner keeps the prefix it holds.
    Kept { prefix: Prefix, wait: Wait },
    /// The parent is not known and the owner holds nothing: nothing allocated.
    Waiting(Wait),
    /// The allocator refused (exhaustion, mostly).
    Failed(AllocateError),
}

impl Assignment {
    /// The owner's prefix, if it has one.
    pub fn prefix(&self) -> Option<Prefix> {
        match self {
            Self::Assigned(prefix) | Self::Kept { prefix, .. } => Some(*prefix),
            Self::Waiting(_) | Self::Failed(_) => None,
        }
    }
}

/// An allocation to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAllocation {
    pub owner: Owner,
    pub level: Level,
    pub prefix: Prefix,
}

/// A release to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released {
    pub owner: Owner,
    pub release: Release,
}

/// The result of a pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Each want's result, by owner.
    pub assignments: BTreeMap<Owner, Assignment>,
    /// New allocations, in the order made (parents first).
    pub allocated: Vec<NewAllocation>,
    /// Releases, in the order made (stale owners first, then owners that moved).
    pub released: Vec<Released>,
}

impl Pass {
    /// The refusals for lack of room, in want order.
    pub fn exhausted(&self) -> impl Iterator<Item = &AllocateError> {
        self.assignments.values().filter_map(|a| match a {
            Assignment::Failed(e @ AllocateError::Exhausted { .. }) => Some(e),
            _ => None,
        })
    }
}

/// Runs a pass at `now`: releases `stale`, then serves `wants` in order.
pub fn run(
    allocator: &mut Allocator,
    wants: &[Want],
    stale: &[(Owner, Level)],
    now: DateTime<Utc>,
) -> Pass {
    let mut pass = Pass::default();
    for (owner, level) in stale {
        if let Some(release) = allocator.release_level(owner, *level, now) {
            pass.released.push(Released {
                owner: owner.clone(),
                release,
            });
        }
    }
    for want in wants {
        let parent = match &want.parent {
            Parent::Pool => Ok(allocator.pool().prefix()),
            Parent::Router { name, level } => allocator
                .owner_prefix(&router_owner(name), *level)
                .ok_or_else(|| Wait::ParentWithoutPrefix {
                    router: name.clone(),
                }),
            Parent::Unknown(wait) => Err(wait.clone()),
        };
        let assignment = match parent {
            Ok(parent) => serve(allocator, want, parent, now, &mut pass),
            Err(wait) => match allocator.owner_prefix(&want.owner, want.level) {
                Some(prefix) => Assignment::Kept { prefix, wait },
                None => Assignment::Waiting(wait),
            },
        };
        pass.assignments.insert(want.owner.clone(), assignment);
    }
    pass
}

/// Serves one want inside `parent`; an owner whose prefix lies outside its (new) parent
/// releases it and is served again.
fn serve(
    allocator: &mut Allocator,
    want: &Want,
    parent: Prefix,
    now: DateTime<Utc>,
    pass: &mut Pass,
) -> Assignment {
    let request = Request {
        owner: &want.owner,
        level: want.level,
        parent,
    };
    let mut result = allocator.allocate(&request);
    if let Err(AllocateError::OwnerOutsideParent { .. }) = result {
        if let Some(release) = allocator.release_level(&want.owner, want.level, now) {
            pass.released.push(Released {
                owner: want.owner.clone(),
                release,
            });
        }
        result = allocator.allocate(&request);
    }
    match result {
        Ok(Outcome::Existing(prefix)) => Assignment::Assigned(prefix),
        Ok(Outcome::Allocated(prefix)) => {
            pass.allocated.push(NewAllocation {
                owner: want.owner.clone(),
                level: want.level,
                prefix,
            });
            Assignment::Assigned(prefix)
        }
        Err(error) => Assignment::Failed(error),
    }
}
