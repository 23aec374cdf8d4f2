//! Tenancy's kube glue: the `Tenant` reconciler ([`controller`]) and the `QuotaRequest`
//! reconciler ([`request_controller`]), thin around the pure planner, quota arithmetic and
//! request state machine of `govcloud_core::tenancy`. The design choices are recorded in
//! `docs/adr/0005-tenant-hierarchy-and-quota.md`.

pub mod controller;
pub mod error;
pub mod request_controller;

pub use error::Error;
