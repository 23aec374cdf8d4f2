//! `govcloud-agent`: runs on each Linux router of the government extranet, observes links,
//! addresses and routes through netlink, reports telemetry to the controller over mutual TLS,
//! and converges the kernel to the configuration the controller derives (issues 6 and 7).

pub mod atomic_file;
pub mod config;
pub mod configure;
pub mod fetch;
pub mod metrics;
pub mod netns;
pub mod probe;
pub mod report;
pub mod run;
pub mod spool;

// Observation: the netlink adapter, what it observes, and `inventory`.
pub mod inventory;
pub mod netlink;
pub mod observe;

// Convergence: desired configuration, pure diff, netlink executor with rollback.
pub mod apply;
