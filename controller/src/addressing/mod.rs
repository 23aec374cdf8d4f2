//! Addressing's kube glue: the `AddressPool` reconciler around the pure allocator of
//! `govcloud_core::ipam` and the owners, pass and status of `govcloud_core::addressing` — which
//! owners get which prefix of which pool, recorded in the SQL ledger, shown in each `Router`'s
//! status, totalled in the pool's.
//!
//! [`controller`] (the pool controller, the controller of routers with no pool, and [`run`]);
//! [`metrics`].

pub mod controller;
pub mod error;
pub mod metrics;

pub use controller::run;
