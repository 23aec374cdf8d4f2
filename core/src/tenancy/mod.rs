//! Tenancy, pure: the quota arithmetic ([`quota`]), the hierarchy index ([`hierarchy`]), which
//! tenant owns a namespace ([`ownership`]), the tenant planner ([`plan`]) and status
//! ([`status`]), the quota request state machine ([`requests`]). Tested with plain `#[test]`s;
//! the design choices are recorded in `docs/adr/0005-tenant-hierarchy-and-quota.md`.

pub mod hierarchy;
pub mod ownership;
pub mod plan;
pub mod quota;
pub mod requests;
pub mod status;

#[cfg(test)]
mod testing;
