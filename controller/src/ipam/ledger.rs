//! What the allocator reads from the SQL ledger: one [`LedgerEntry`] per allocation — its
//! prefix, level, owner and whether it is active or released (and held until when) — read from
//! a storage row without trusting it.

use std::fmt;

use chrono::{DateTime, Utc};

use super::error::LedgerError;
use super::level::Level;
use super::prefix::Prefix;
use crate::storage::IpamAllocation;

/// The object an allocation belongs to, e.g. `Router/hanbin-core`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner {
    /// The owner's kind (`Router`, `DedicatedNetwork`, …).
    pub kind: String,
    /// The owner's name (cluster-scoped kinds) or `namespace/name`.
    pub name: String,
}

impl Owner {
    /// An owner from its kind and name.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// Whether an allocation still belongs to its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Allocated and not released.
    Active,
    /// Released; not handed out again before `hold_until` (never held when `None`).
    Released { hold_until: Option<DateTime<Utc>> },
}

impl EntryState {
    /// Whether the prefix may not go to another owner at `now`: active, or held past `now`.
    pub fn in_use(self, now: DateTime<Utc>) -> bool {
        match self {
            Self::Active => true,
            Self::Released { hold_until } => hold_until.is_some_and(|until| until > now),
        }
    }
}

/// One allocation of the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    pub prefix: Prefix,
    pub level: Level,
    pub owner: Owner,
    pub state: EntryState,
}

impl LedgerEntry {
    /// Reads a storage row; a prefix that does not parse or an unknown level is an error.
    pub fn from_row(row: &IpamAllocation) -> Result<Self, LedgerError> {
        let prefix = Prefix::parse(&row.prefix).map_err(|e| LedgerError::InvalidPrefix {
            prefix: row.prefix.clone(),
            reason: e.to_string(),
        })?;
        let level = Level::from_ledger(row.level).ok_or_else(|| LedgerError::UnknownLevel {
            prefix: row.prefix.clone(),
            level: row.level,
        })?;
        let state = match row.released_at {
            None => EntryState::Active,
            Some(_) => EntryState::Released {
                hold_until: row.hold_until,
            },
        };
        Ok(Self {
            prefix,
            level,
            owner: Owner::new(row.owner_kind.clone(), row.owner_name.clone()),
            state,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::*;

    fn row(prefix: &str, level: i32, released: bool) -> IpamAllocation {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        IpamAllocation {
            id: 1,
            pool: "ankang".to_owned(),
            prefix: prefix.to_owned(),
            level,
            owner_kind: "Router".to_owned(),
            owner_name: "hanbin".to_owned(),
            allocated_at: at,
            released_at: released.then_some(at),
            hold_until: released.then(|| at + TimeDelta::hours(168)),
        }
    }

    #[test]
    fn rows_become_entries() {
        let entry = LedgerEntry::from_row(&row("2001:db8:a00:1000::/52", 1, false));
        let entry = entry.expect("a valid row");
        assert_eq!(entry.level, Level::County);
        assert_eq!(entry.owner.to_string(), "Router/hanbin");
        assert_eq!(entry.state, EntryState::Active);
        let held = LedgerEntry::from_row(&row("2001:db8:a00:1000::/52", 1, true)).expect("held");
        let until = Utc
            .with_ymd_and_hms(2026, 11, 8, 0, 0, 0)
            .single()
            .unwrap_or_default();
        assert!(held.state.in_use(until - TimeDelta::seconds(1)));
        assert!(!held.state.in_use(until));
    }

    #[test]
    fn bad_rows_are_errors() {
        assert!(matches!(
            LedgerEntry::from_row(&row("2001:db8:a00:1000::/52", 7, false)),
            Err(LedgerError::UnknownLevel { level: 7, .. })
        ));
        assert!(matches!(
            LedgerEntry::from_row(&row("2001:db8:a00:1000::1/52", 1, false)),
            Err(LedgerError::InvalidPrefix { .. })
        ));
    }
}
