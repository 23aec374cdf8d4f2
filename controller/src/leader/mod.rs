//! Leader election on a `coordination.k8s.io/v1` `Lease`: only the leader runs the reconcilers;
//! every replica serves the APIs and metrics. `govcloud_core::lease` decides (pure), [`elector`] reads and
//! writes the lease, [`fence`] refuses the reconcilers' writes once leadership is no longer
//! certain, in their client ([`fence::FenceLayer`]) and in its sockets ([`socket`]).
//! See `docs/adr/0014-leader-election-and-fencing.md`.

pub mod elector;
pub mod fence;
pub mod metrics;
pub mod socket;

pub use elector::{ElectionConfig, ElectionConfigError, Elector, LeaseSettings};
pub use fence::{Fence, FenceLayer, NotLeader};
pub use metrics::LeaderMetrics;
pub use socket::{FencedClientError, fenced_client};
