//! Addressing (issue 7, item 1): the `AddressPool` reconciler around the pure allocator of
//! [`crate::ipam`] — which owners get which prefix of which pool, recorded in the SQL ledger,
//! shown in each `Router`'s status, totalled in the pool's.
//!
//! The pure stages:
//! 1. [`owners`]: the owners a pool serves (routers' site prefixes, their LAN segments, the
//!    members of extranet links, the sites of dedicated networks migrating to the extranet), in
//!    order (parents first), each with its parent; and the ledger's stale allocations;
//! 2. [`pass`]: one pass of releases and allocations on the allocator, in memory;
//! 3. [`status`]: the pool's totals and status, each router's prefix and `AddressAssigned`.
//!
//! The kube glue: [`controller`] (the pool controller, the controller of routers with no pool,
//! and [`run`]); [`metrics`].

pub mod controller;
pub mod error;
pub mod metrics;
pub mod owners;
pub mod pass;
pub mod status;

#[cfg(test)]
mod tests;

pub use controller::run;
