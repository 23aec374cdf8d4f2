//! Tenancy's kube glue: the `Tenant` reconciler ([`controller`]) and the `QuotaRequest`
//! reconciler ([`request_controller`]), thin around the pure planner, quota arithmetic and
//! request state machine of `govcloud_core::tenancy`; [`runtime`] runs both and publishes the
//! tenant cache ([`cache`]) to the other capabilities; [`metrics`]. The design choices are
//! recorded in `docs/adr/0005-tenant-hierarchy-and-quota.md`.

pub mod cache;
pub mod controller;
pub mod error;
pub mod metrics;
pub mod request_controller;
pub mod runtime;

pub use cache::TenantCache;
pub use error::Error;
pub use runtime::{TenancyContext, run};
