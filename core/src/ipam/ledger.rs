//! What the allocator reads from the SQL ledger: one [`LedgerEntry`] per allocation — its
//! prefix, level, owner and whether it is active or released (and held until when) — read from
//! a storage row without trusting it.

use std::fmt;

use chrono::{DateTime, Utc};

use super::error::LedgerError;
use super::level::Level;
use super::prefix::Prefix;

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
    /// Reads one allocation as the ledger stores it; a prefix that does not parse or an
    /// unknown level is an error naming the prefix. Released when `released_at` is set, held
    /// until `hold_until`.
    pub fn read(
        prefix: &str,
        level: i32,
        owner: Owner,
        released_at: Option<DateTime<Utc>>,
        hold_until: Option<DateTime<Utc>>,
    ) -> Result<Self, LedgerError> {
        let parsed = Prefix::parse(prefix).map_err(|e| LedgerError::InvalidPrefix {
            prefix: prefix.to_owned(),
            reason: e.to_string(),
        })?;
        let level = Level::from_ledger(level).ok_or_else(|| LedgerError::UnknownLevel {
            prefix: prefix.to_owned(),
            level,
        })?;
        let state = match released_at {
            None => EntryState::Active,
            Some(_) => EntryState::Released { hold_until },
        };
        Ok(Self {
            prefix: parsed,
            level,
            owner,
            state,
        })
    }
}
