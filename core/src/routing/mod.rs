//! The desired configuration of each router, pure:
//! - [`inputs`]: what it is built from, as typed values (routers, links, dedicated networks,
//!   pools, the ledger's active allocations) and the lookups made in them;
//! - [`mod@build`]: the builder — addresses, routes over both link members, VLAN/VRF segments
//!   (never a classified one), protected interfaces, probes — sorted, so the same inputs give
//!   byte-identical JSON, and leaving out what is not allocated yet;
//! - [`etag`]: canonical JSON without the generation, and its SHA-256 ETag.

pub mod build;
pub mod etag;
pub mod inputs;

#[cfg(test)]
mod build_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testing;

pub use build::{BuildError, CITY_PROBE, Desired, build};
pub use inputs::{Allocation, Inputs, Pool};
