//! Why a pool, a ledger or a request cannot be allocated from. Pool errors name the spec field
//! to fix; each error has a static [`category`](PoolError::category) for conditions, events
//! and metric labels.

use super::level::Level;
use super::prefix::Prefix;

/// Why an `AddressPool` spec is refused. Permanent: only a change of the spec fixes it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Not an IPv6 prefix, or host bits set.
    #[error("{field}: {reason}")]
    InvalidPrefix { field: String, reason: String },
    /// A prefix or a length that is not a multiple of 4.
    #[error("{field}: /{length} is not on a nibble boundary (a multiple of 4)")]
    NotNibbleAligned { field: String, length: u8 },
    /// A level's length outside the schema's bounds.
    #[error("{field}: /{length} is outside /{min}–/{max}")]
    LengthOutOfRange {
        field: &'static str,
        length: u8,
        min: u8,
        max: u8,
    },
    /// The city's prefix would be larger than the pool.
    #[error(
        "{field}: /{length} is shorter than spec.prefix (/{pool}); the city's prefix lies inside the pool"
    )]
    CityLargerThanPool {
        field: &'static str,
        length: u8,
        pool: u8,
    },
    /// A level not longer than the level above it (e.g. a county longer than a township).
    #[error("{field}: /{length} must be longer than {above_field} (/{above})")]
    LengthsOutOfOrder {
        field: &'static str,
        length: u8,
        above_field: &'static str,
        above: u8,
    },
    /// A reserved prefix outside the pool.
    #[error("spec.reserved[{index}]: {reserved} does not lie inside spec.prefix ({pool})")]
    ReservedOutsidePool {
        index: usize,
        reserved: Prefix,
        pool: Prefix,
    },
    /// A hold that is not Go notation or does not fit a timestamp.
    #[error("spec.releaseHold: {reason}")]
    InvalidHold { reason: String },
    /// The pool's prefix overlaps another pool's.
    #[error("spec.prefix: {prefix} overlaps {other_prefix} of AddressPool {other}")]
    Overlaps {
        prefix: Prefix,
        other: String,
        other_prefix: Prefix,
    },
}

impl PoolError {
    /// Static category: condition reason, event reason and metric label.
    pub fn category(&self) -> &'static str {
        match self {
            Self::InvalidPrefix { .. } | Self::ReservedOutsidePool { .. } => "InvalidPrefix",
            Self::NotNibbleAligned { .. } => "NotNibbleAligned",
            Self::LengthOutOfRange { .. }
            | Self::CityLargerThanPool { .. }
            | Self::LengthsOutOfOrder { .. } => "InvalidLengths",
            Self::InvalidHold { .. } => "InvalidReleaseHold",
            Self::Overlaps { .. } => "PoolsOverlap",
        }
    }
}

/// Why the stored ledger of a pool cannot be read into an allocator: rows this pool's spec
/// does not explain (its prefix or lengths changed under live allocations) or that break the
/// ledger's own rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// A `level` outside 0–3.
    #[error("ledger row {prefix}: unknown level {level}")]
    UnknownLevel { prefix: String, level: i32 },
    /// A prefix that does not parse.
    #[error("ledger row {prefix}: {reason}")]
    InvalidPrefix { prefix: String, reason: String },
    /// A prefix outside the pool.
    #[error("ledger row {prefix}: outside the pool's prefix {pool}")]
    OutsidePool { prefix: Prefix, pool: Prefix },
    /// A prefix whose length is not its level's.
    #[error("ledger row {prefix}: a {level} prefix of this pool is a /{expected}")]
    WrongLength {
        prefix: Prefix,
        level: Level,
        expected: u8,
    },
    /// The same prefix active twice.
    #[error("ledger rows: {prefix} is allocated twice")]
    DuplicatePrefix { prefix: Prefix },
    /// An owner with two active prefixes at one level.
    #[error("ledger rows: {owner} holds both {first} and {second} at level {level}")]
    OwnerHasTwo {
        owner: String,
        level: Level,
        first: Prefix,
        second: Prefix,
    },
}

impl LedgerError {
    /// Static category: condition reason, event reason and metric label.
    pub fn category(&self) -> &'static str {
        "LedgerInconsistent"
    }
}

/// Why one request cannot be served.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AllocateError {
    /// The parent is not the pool's prefix nor an active allocation of a level above.
    #[error("parent {parent} of {owner}'s {level} prefix {reason}")]
    InvalidParent {
        owner: String,
        level: Level,
        parent: Prefix,
        reason: &'static str,
    },
    /// The owner's prefix at this level lies outside the requested parent (it moved): the
    /// caller releases it before asking again.
    #[error(
        "{owner} holds {held} at level {level}, outside the requested parent {parent}; release it first"
    )]
    OwnerOutsideParent {
        owner: String,
        level: Level,
        held: Prefix,
        parent: Prefix,
    },
    /// No free prefix of the level's length is left in the parent.
    #[error(
        "no free /{length} for {owner} ({level}) in {parent}: {used} of {total} {level} prefixes there are allocated or held{rest}",
        rest = if .used < .total { ", the rest overlap reserved prefixes or prefixes of other levels" } else { "" }
    )]
    Exhausted {
        owner: String,
        level: Level,
        length: u8,
        parent: Prefix,
        used: u128,
        total: u128,
    },
}

impl AllocateError {
    /// Static category: condition reason, event reason and metric label.
    pub fn category(&self) -> &'static str {
        match self {
            Self::InvalidParent { .. } => "InvalidParent",
            Self::OwnerOutsideParent { .. } => "OwnerMoved",
            Self::Exhausted { .. } => "Exhausted",
        }
    }
}
