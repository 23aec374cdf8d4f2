//! Tenancy: the `Tenant` and `QuotaRequest` reconcilers. Pure parts — the quota arithmetic
//! ([`quota`]), the hierarchy index ([`hierarchy`]), which tenant owns a namespace ([`ownership`]), the tenant planner ([`plan`]) and status
//! ([`status`]), the request state machine ([`requests`]) — do no I/O and are tested with plain
//! `#[test]`s; [`controller`] and [`request_controller`] are the thin kube glue around them.
//! The design choices are recorded in `docs/adr/0005-tenant-hierarchy-and-quota.md`.

pub mod controller;
pub mod error;
pub mod hierarchy;
pub mod ownership;
pub mod plan;
pub mod quota;
pub mod request_controller;
pub mod requests;
pub mod status;

#[cfg(test)]
mod testing;

pub use error::Error;
