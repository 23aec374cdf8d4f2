//! Consolidation of the departments' dedicated networks (清理整合业务专网, issue 7 item 2): the
//! `DedicatedNetwork` reconciler around a pure core.
//!
//! The pure stages, each a function of typed inputs with no client, no I/O and no clock:
//! 1. [`disposition`]: `MigrateToExtranet`, `MigrateToIntranet` or `Retire`, from the
//!    classification and `retire`;
//! 2. [`sites`]: the sites checked against the known routers (field named);
//! 3. [`allocation`]: a VLAN id and a VRF table per site, unique per router;
//! 4. [`phase`]: `Inventoried → Planned → CuttingOver → Migrated → Decommissioned`;
//! 5. [`status`]: the status, its conditions and the events of a change.
//!
//! The glue: [`controller`] (fetch, ledger transaction, status, events), [`runtime`] (the
//! controller and the sweep of deleted networks' rows), [`metrics`]. The segment ledger is
//! `crate::storage::Segments`.

pub mod allocation;
pub mod controller;
pub mod disposition;
pub mod error;
pub mod metrics;
pub mod phase;
pub mod runtime;
pub mod sites;
pub mod status;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testing;

pub use runtime::{ConsolidationContext, run};
