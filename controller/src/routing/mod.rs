//! The desired configuration of each router (issue 7, item 3): pure where it can be, served
//! to the agent with a generation and an ETag.
//!
//! - [`inputs`]: what it is built from, as typed values (routers, links, dedicated networks,
//!   pools, the ledger's active allocations) and the lookups made in them;
//! - [`build`]: the pure builder — addresses, routes over both link members, VLAN/VRF
//!   segments (never a classified one), protected interfaces, probes — sorted, so the same
//!   inputs give byte-identical JSON, and leaving out what is not allocated yet;
//! - [`etag`]: canonical JSON without the generation, and its SHA-256 ETag;
//! - [`fetch`]: the glue — the inputs read from the API server and the ledger (one read
//!   shared by concurrent requests), and the record that gives a configuration its generation
//!   (`router_configs`: the generation grows by one each time the ETag changes);
//! - [`metrics`]: configuration lag, drift and IPv6-ready sites.
//!
//! `GET /v1/config` on the agent listener (`crate::agents::config`) serves it; the `Router`
//! reconciler reports the desired and applied generations, drift and readiness.

pub mod build;
pub mod etag;
pub mod fetch;
pub mod inputs;
pub mod metrics;

#[cfg(test)]
mod build_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testing;

pub use build::{BuildError, CITY_PROBE, Desired, build};
pub use fetch::{FetchError, InputsCache, Served, read_inputs, record};
pub use inputs::{Allocation, Inputs, Pool};
