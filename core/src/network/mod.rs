//! The e-government extranet, pure: each stage a function of typed inputs with no client, no
//! I/O and no clock.
//! 1. [`contract`]: a link's spec read and checked ([`LinkContract`]: contracted speed per
//!    member from the tier, the member interface pairs, the error threshold, the window);
//! 2. [`counters`]: rates from counter deltas (a decreasing counter starts a new series),
//!    error rates, percentiles;
//! 3. [`compliance`]: the verdict (`Compliant`, `Degraded`, `Down`, `Unknown`) from each end's
//!    newest report and its members' recent samples;
//! 4. [`utilisation`]: each member's p95 over the window, and when to compute it again;
//! 5. [`link_status`] and [`router_status`]: the resources' status, conditions and events;
//!    [`config_status`]: a router's configuration generations, drift and `ConfigApplied`;
//!    [`readiness`]: `Ipv6Ready`.

pub mod compliance;
pub mod config_status;
pub mod contract;
pub mod counters;
pub mod link_status;
pub mod readiness;
pub mod router_status;
pub mod utilisation;

#[cfg(test)]
mod compliance_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testing;

pub use compliance::{Verdict, evaluate};
pub use contract::{ContractError, LinkContract};
