//! What the agent listener's handlers share: storage, the `Router` objects (read from the API
//! server for each report: a cache would let a deleted router's reports in for a moment, and
//! a read per router per interval is cheap) and the telemetry metrics.

use std::sync::Arc;

use govcloud_crds::Router;
use kube::Api;

use crate::api::problem::ApiProblem;
use crate::api::state::kube_problem;
use crate::metrics::TelemetryMetrics;
use crate::storage::Storage;

/// The handlers' state. Cheap to clone.
#[derive(Clone)]
pub struct AgentState {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Storage,
    routers: Api<Router>,
    metrics: TelemetryMetrics,
}

impl std::fmt::Debug for AgentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentState")
            .field("storage", &self.inner.storage.redacted_url())
            .finish_non_exhaustive()
    }
}

impl AgentState {
    /// The state of a listener.
    pub fn new(storage: Storage, routers: Api<Router>, metrics: TelemetryMetrics) -> Self {
        Self {
            inner: Arc::new(Inner {
                storage,
                routers,
                metrics,
            }),
        }
    }

    /// Storage.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The telemetry metrics.
    pub fn metrics(&self) -> &TelemetryMetrics {
        &self.inner.metrics
    }

    /// Whether the `Router` object `name` exists, as the API server says now.
    pub async fn router_exists(&self, name: &str) -> Result<bool, ApiProblem> {
        self.inner
            .routers
            .get_opt(name)
            .await
            .map(|router| router.is_some())
            .map_err(|error| kube_problem("read the router", &error))
    }
}
