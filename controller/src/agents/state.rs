//! What the agent listener's handlers share: storage, the `Router` objects (read from the API
//! server for each report: a cache would let a deleted router's reports in for a moment, and
//! a read per router per interval is cheap), the telemetry metrics, and what `GET /v1/config`
//! builds desired configurations from (a client, and one read of the inputs shared by the
//! requests waiting at the same time).

use std::sync::Arc;

use govcloud_crds::Router;
use kube::{Api, Client};

use crate::api::problem::ApiProblem;
use crate::api::state::kube_problem;
use crate::metrics::TelemetryMetrics;
use crate::routing::InputsCache;
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
    client: Client,
    inputs: InputsCache,
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
    pub fn new(storage: Storage, client: Client, metrics: TelemetryMetrics) -> Self {
        Self {
            inner: Arc::new(Inner {
                storage,
                routers: Api::all(client.clone()),
                metrics,
                client,
                inputs: InputsCache::default(),
            }),
        }
    }

    /// The Kubernetes client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The shared read of the desired configurations' inputs.
    pub fn inputs(&self) -> &InputsCache {
        &self.inner.inputs
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
