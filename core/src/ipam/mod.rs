//! Hierarchical IPv6 allocation for `AddressPool`: pure — no client, no I/O,
//! no clock (the time is an argument).
//!
//! The pieces, in the order a reconciler uses them:
//! 1. [`pool`]: the pool's spec checked ([`ValidPool`]), and [`check_overlaps`] between pools;
//! 2. [`ledger`]: the SQL ledger's rows read as [`LedgerEntry`]s (active, or released and held);
//! 3. [`allocator`]: the [`Allocator`] of one pool built from its ledger, serving
//!    [`Request`]s — an owner's existing prefix, else the lowest free aligned one inside the
//!    parent ([`intervals`] keeps the taken ranges per parent);
//! 4. [`release`]: what an owner's deletion releases and until when it is held.
//!
//! [`prefix`] is the IPv6 prefix value they share (and the canonical text of any prefix the
//! ledger stores); [`level`] names the four levels.
//! The ledger (`Storage::ipam()`) stays the authority: its unique indexes refuse a prefix
//! recorded twice, so two controllers planning from stale ledgers cannot both record one.

pub mod allocator;
pub mod error;
mod intervals;
pub mod ledger;
pub mod level;
pub mod pool;
pub mod prefix;
pub mod release;

#[cfg(test)]
mod allocator_tests;
#[cfg(test)]
mod pool_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testing;

pub use allocator::{Allocator, Outcome, Request};
pub use error::{AllocateError, LedgerError, PoolError};
pub use ledger::{EntryState, LedgerEntry, Owner};
pub use level::Level;
pub use pool::{ValidPool, check_overlaps};
pub use prefix::{Prefix, PrefixError, canonical_prefix};
pub use release::{Release, hold_until, releases};
