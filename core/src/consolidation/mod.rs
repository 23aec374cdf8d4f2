//! Consolidation of the departments' dedicated networks, pure: each stage a function of typed
//! inputs with no client, no I/O and no clock.
//! 1. [`disposition`]: `MigrateToExtranet`, `MigrateToIntranet` or `Retire`, from the
//!    classification and `retire`;
//! 2. [`sites`]: the sites checked against the known routers (field named);
//! 3. [`allocation`]: a VLAN id and a VRF table per site, unique per router;
//! 4. [`phase`]: `Inventoried → Planned → CuttingOver → Migrated → Decommissioned`;
//! 5. [`status`]: the status, its conditions and the events of a change.

pub mod allocation;
pub mod disposition;
pub mod phase;
pub mod sites;
pub mod status;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testing;
