//! Addressing, pure: which owners get which prefix of an `AddressPool`, around the allocator
//! of [`crate::ipam`].
//! 1. [`owners`]: the owners a pool serves (routers' site prefixes, their LAN segments, the
//!    members of extranet links, the sites of dedicated networks migrating to the extranet), in
//!    order (parents first), each with its parent; and the ledger's stale allocations;
//! 2. [`pass`]: one pass of releases and allocations on the allocator, in memory;
//! 3. [`status`]: the pool's totals and status, each router's prefix and `AddressAssigned`.

pub mod owners;
pub mod pass;
pub mod status;

#[cfg(test)]
mod tests;
