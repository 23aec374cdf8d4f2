//! govcloud's decisions, pure: each is a function of typed values — the custom resources'
//! specs, the ledgers' rows turned into core types, the time as an argument — with no client, no
//! database, no runtime and no clock. The controller crate fetches, calls these, and applies.
//!
//! - [`ipam`]: the hierarchical IPv6 allocator and its prefix type;
//! - [`addressing`]: which owners a pool serves, one allocation pass, the pool's status;
//! - [`migration`]: the migration campaign's planner (graph, waves, windows, projection), a
//!   system's gate and runbook;
//! - [`tenancy`]: the tenant hierarchy, quota arithmetic, the tenant planner, quota requests;
//! - [`network`]: extranet link contracts, counters, compliance and utilisation, routers'
//!   readiness and configuration status;
//! - [`routing`]: the desired configuration of each router and its ETag;
//! - [`consolidation`]: dispositions, VLAN/VRF allocation and phases of dedicated networks;
//! - [`lease`]: leader election's decision on a `Lease`'s record;
//! - [`conditions`] and [`kube_time`]: condition bookkeeping and time conversions shared by all.

pub mod addressing;
pub mod conditions;
pub mod consolidation;
pub mod ipam;
pub mod kube_time;
pub mod lease;
pub mod migration;
pub mod network;
pub mod routing;
pub mod tenancy;
