//! The e-government extranet's kube glue: the `Router` and `ExtranetLink` reconcilers around the
//! pure contract, counters, compliance, utilisation and status of `govcloud_core::network`.
//!
//! [`router_controller`], [`link_controller`] (with [`link_fetch`], which reads the agents'
//! reports and samples) and [`runtime`] (which runs both); [`metrics`] and [`retention`]
//! (deletion of old samples).

pub mod error;
pub mod link_controller;
pub mod link_fetch;
pub mod metrics;
pub mod retention;
pub mod router_controller;
pub mod runtime;

pub use runtime::{NetworkContext, run};
