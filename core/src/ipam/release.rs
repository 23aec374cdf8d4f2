//! Release: an owner's deletion releases every active prefix it holds in the pool, each held
//! for the pool's `releaseHold` before another owner may have it. Prefixes other owners hold
//! inside a released one stay theirs, and keep the released prefix from being handed out
//! whole until they go too.

use chrono::{DateTime, Utc};

use super::allocator::Allocator;
use super::ledger::{EntryState, LedgerEntry, Owner};
use super::level::Level;
use super::pool::ValidPool;
use super::prefix::Prefix;

/// One prefix to release in the ledger (`Storage::ipam().release`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    pub prefix: Prefix,
    pub level: Level,
    /// Not handed out again before this; `None` when the pool holds nothing (`releaseHold: 0s`).
    pub hold_until: Option<DateTime<Utc>>,
}

/// Until when a prefix released at `now` is held: `now` plus the pool's hold (the latest
/// representable time if that overflows), `None` for a zero hold.
pub fn hold_until(pool: &ValidPool, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let hold = pool.hold();
    (hold > chrono::TimeDelta::zero()).then(|| {
        now.checked_add_signed(hold)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    })
}

/// What deleting `owner` at `now` releases, from the ledger's entries: its active prefixes in
/// the pool, shallowest level first.
pub fn releases(
    pool: &ValidPool,
    entries: &[LedgerEntry],
    owner: &Owner,
    now: DateTime<Utc>,
) -> Vec<Release> {
    let mut releases: Vec<Release> = entries
        .iter()
        .filter(|e| e.state == EntryState::Active && e.owner == *owner)
        .map(|e| Release {
            prefix: e.prefix,
            level: e.level,
            hold_until: hold_until(pool, now),
        })
        .collect();
    releases.sort_by_key(|r| (r.level, r.prefix));
    releases
}

impl Allocator {
    /// Releases every active prefix of `owner` at `now` (as [`releases`] lists them): each is
    /// held, or free at once when the pool holds nothing.
    pub fn release(&mut self, owner: &Owner, now: DateTime<Utc>) -> Vec<Release> {
        let Some(levels) = self.owners.remove(owner) else {
            return Vec::new();
        };
        let hold_until = hold_until(&self.pool, now);
        let mut released = Vec::new();
        for (level, prefix) in Level::ALL.into_iter().zip(levels) {
            let Some(prefix) = prefix else { continue };
            let state = EntryState::Released { hold_until };
            if state.in_use(now) {
                if let Some(slot) = self.in_use.get_mut(&(prefix.first(), prefix.length())) {
                    slot.state = state;
                }
            } else {
                self.free(prefix);
            }
            released.push(Release {
                prefix,
                level,
                hold_until,
            });
        }
        released
    }

    /// Releases the active prefix of `owner` at `level` only (its other levels stay), held as
    /// [`Allocator::release`] holds it; `None` when the owner has none at that level.
    pub fn release_level(
        &mut self,
        owner: &Owner,
        level: Level,
        now: DateTime<Utc>,
    ) -> Option<Release> {
        let levels = self.owners.get_mut(owner)?;
        let prefix = levels[level.index()].take()?;
        if levels.iter().all(Option::is_none) {
            self.owners.remove(owner);
        }
        let hold_until = hold_until(&self.pool, now);
        let state = EntryState::Released { hold_until };
        if state.in_use(now) {
            if let Some(slot) = self.in_use.get_mut(&(prefix.first(), prefix.length())) {
                slot.state = state;
            }
        } else {
            self.free(prefix);
        }
        Some(Release {
            prefix,
            level,
            hold_until,
        })
    }

    /// Frees the released prefixes whose hold has passed at `now`. Rebuilding the allocator
    /// from the ledger at `now` gives the same result.
    pub fn expire(&mut self, now: DateTime<Utc>) {
        let expired: Vec<Prefix> = self
            .in_use
            .iter()
            .filter(|(_, slot)| !slot.state.in_use(now))
            .map(|(&(first, len), _)| Prefix::truncate(first, len))
            .collect();
        for prefix in expired {
            self.free(prefix);
        }
    }
}
