//! Consolidation of the departments' dedicated networks, kube glue: the `DedicatedNetwork`
//! reconciler ([`controller`]: fetch, the segment ledger's transaction, status, events) around
//! the pure disposition, site checks, VLAN/VRF allocation and phases of
//! `govcloud_core::consolidation`; [`runtime`] (the controller and the sweep of deleted
//! networks' rows), [`metrics`]. The segment ledger is `crate::storage::Segments`.

pub mod controller;
pub mod error;
pub mod metrics;
pub mod runtime;

pub use runtime::{ConsolidationContext, run};
