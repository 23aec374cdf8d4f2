//! The desired configuration of each router, served to the agent with a generation and an ETag:
//! the pure builder is `govcloud_core::routing`; here is the glue.
//! - [`fetch`]: the inputs read from the API server and the ledger (one read shared by
//!   concurrent requests), and the record that gives a configuration its generation
//!   (`router_configs`: the generation grows by one each time the ETag changes);
//! - [`metrics`]: configuration lag, drift and IPv6-ready sites.
//!
//! `GET /v1/config` on the agent listener (`crate::agents::config`) serves it; the `Router`
//! reconciler reports the desired and applied generations, drift and readiness.

pub mod fetch;
pub mod metrics;

pub use fetch::{FetchError, InputsCache, Served, read_inputs, record};
