//! The operator process, one composition for production (`govcloud-controller run`), local
//! mode and the tests: storage, the controller's HTTPS API and the agent listener (served by
//! every replica: they are stateless over the shared database), `/metrics`, `/livez` and
//! `/readyz`, and the reconcilers, run by the leader only when an election is configured.

pub mod cluster;
pub mod health;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use govcloud_apiserver::tls::ServerCertificates;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use cluster::{Clients, ClusterError};
pub use health::Readiness;

use crate::agents::{self, AgentApiConfig, AgentCa, RunningAgentApi};
use crate::api::{self, ApiConfig, RunningApi};
use crate::leader::{ElectionConfig, Elector, Fence, LeaderMetrics, LeaseSettings};
use crate::metrics::Metrics;
use crate::migration::webhook::WebhookClient;
use crate::runtime::run_controllers;
use crate::storage::Storage;

/// Everything a replica needs, resolved: the caller (the `run` command, local mode, a test)
/// has parsed its flags, opened the database and read the certificates.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// How to reach the Kubernetes API server.
    pub kube: kube::Config,
    /// The controller's namespace: where its lease lives.
    pub namespace: String,
    /// This replica's name: in the lease, in events, in the user agent of its requests.
    pub identity: String,
    /// The controller's database.
    pub storage: Storage,
    /// The controller API's serving certificate.
    pub serving: ServerCertificates,
    /// The agent CA (the same on every replica).
    pub agent_ca: AgentCa,
    /// Extra names of the agent listener's serving certificate (how routers reach it).
    pub agent_server_names: Vec<String>,
    /// Address of the controller's HTTPS API.
    pub api_address: SocketAddr,
    /// Address of the agent listener.
    pub agent_api_address: SocketAddr,
    /// Address of `/metrics`, `/livez` and `/readyz` (plain HTTP).
    pub metrics_address: SocketAddr,
    /// The lease of the election in `namespace`; `None` runs the reconcilers unconditionally
    /// (one replica only).
    pub election: Option<LeaseSettings>,
    /// How long link telemetry samples are kept.
    pub telemetry_retention: Duration,
}

/// Why a replica did not start.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The API server cannot be used.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The election's timing cannot fence.
    #[error(transparent)]
    Election(#[from] crate::leader::ElectionConfigError),
    /// The metrics registry could not be built.
    #[error("failed to create the metrics registry")]
    Metrics(#[source] prometheus::Error),
    /// The HTTPS client of webhook steps could not be built.
    #[error("failed to build the HTTPS client of webhook steps")]
    Webhooks(#[source] crate::migration::webhook::WebhookError),
    /// The controller's API did not start.
    #[error("failed to start the controller's API on {address}")]
    Api {
        address: SocketAddr,
        #[source]
        source: api::ApiError,
    },
    /// The agent listener did not start.
    #[error("failed to start the agent listener on {address}")]
    AgentApi {
        address: SocketAddr,
        #[source]
        source: agents::AgentApiError,
    },
    /// The metrics endpoint could not listen.
    #[error("failed to serve metrics on {address}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running replica.
pub struct RunningOperator {
    /// The controller's HTTPS API.
    pub controller_api: RunningApi,
    /// The agent listener.
    pub agent_api: RunningAgentApi,
    /// Where `/metrics`, `/livez` and `/readyz` are served.
    pub metrics_address: SocketAddr,
    /// The controller's database.
    pub storage: Storage,
    /// The replica's unfenced client.
    pub client: kube::Client,
    /// The replica's metrics.
    pub metrics: Arc<Metrics>,
    /// Whether this replica leads.
    pub leader: LeaderMetrics,
    stop: oneshot::Sender<()>,
    controllers: JoinHandle<()>,
    health: JoinHandle<()>,
}

impl std::fmt::Debug for RunningOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningOperator")
            .field("controller_api", &self.controller_api.url)
            .field("agent_api", &self.agent_api.url)
            .field("metrics_address", &self.metrics_address)
            .field("leading", &self.leader.is_leader())
            .finish_non_exhaustive()
    }
}

impl RunningOperator {
    /// Stops the reconcilers (releasing the lease if held), then the APIs, the health endpoint
    /// and the database; within the controllers' shutdown grace plus a few seconds.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.controllers.await;
        self.controller_api.shutdown().await;
        self.agent_api.shutdown().await;
        self.health.abort();
        self.storage.close().await;
    }
}

/// Starts a replica: checks the API server and the namespace, serves the APIs and the health
/// endpoint, and starts the reconcilers (at once, or on winning the election).
pub async fn start(config: OperatorConfig) -> Result<RunningOperator, OperatorError> {
    if let Some(lease) = &config.election {
        lease.validate()?;
    }
    let fence = Fence::new();
    let clients = cluster::clients(&config.kube, &config.identity, &fence)?;
    cluster::preflight(
        &clients.plain,
        config.kube.cluster_url.to_string().trim_end_matches('/'),
        &config.namespace,
    )
    .await?;
    let metrics = Arc::new(Metrics::new().map_err(OperatorError::Metrics)?);
    let leader = LeaderMetrics::register(metrics.registry()).map_err(OperatorError::Metrics)?;
    let webhooks = WebhookClient::new().map_err(OperatorError::Webhooks)?;

    let controller_api = api::serve(
        ApiConfig {
            address: config.api_address,
            certificates: config.serving.clone(),
            agent_ca: Some(config.agent_ca.clone()),
        },
        clients.plain.clone(),
        config.storage.clone(),
        metrics.registry(),
    )
    .await
    .map_err(|source| OperatorError::Api {
        address: config.api_address,
        source,
    })?;
    let agent_api = agents::serve(
        AgentApiConfig {
            address: config.agent_api_address,
            ca: config.agent_ca.clone(),
            server_names: config.agent_server_names.clone(),
        },
        clients.plain.clone(),
        config.storage.clone(),
        metrics.registry(),
    )
    .await
    .map_err(|source| OperatorError::AgentApi {
        address: config.agent_api_address,
        source,
    })?;
    let listen_error = |source| OperatorError::Listen {
        address: config.metrics_address,
        source,
    };
    let listener = tokio::net::TcpListener::bind(config.metrics_address)
        .await
        .map_err(listen_error)?;
    let metrics_address = listener.local_addr().map_err(listen_error)?;
    let readiness = Readiness::new(config.storage.clone(), clients.plain.clone());
    let health = tokio::spawn(health::serve(
        listener,
        Arc::clone(&metrics),
        readiness.clone(),
    ));

    let lead = leader_work(
        LeaderWork {
            client: clients.fenced.clone(),
            storage: config.storage.clone(),
            metrics: Arc::clone(&metrics),
            webhooks,
            identity: config.identity.clone(),
            telemetry_retention: config.telemetry_retention,
        },
        readiness,
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let election = config.election.clone().map(|lease| ElectionConfig {
        namespace: config.namespace.clone(),
        identity: config.identity.clone(),
        lease,
    });
    let controllers = run_reconcilers(
        election,
        clients.plain.clone(),
        fence,
        leader.clone(),
        lead,
        async {
            let _ = stopped.await;
        },
    );
    Ok(RunningOperator {
        controller_api,
        agent_api,
        metrics_address,
        storage: config.storage,
        client: clients.plain,
        metrics,
        leader,
        stop,
        controllers,
        health,
    })
}

/// Runs the reconcilers: under `election` when there is one, else at once and until `stopped`.
fn run_reconcilers(
    election: Option<ElectionConfig>,
    client: kube::Client,
    fence: Fence,
    leader: LeaderMetrics,
    mut lead: impl FnMut(BoxFuture<'static, ()>) -> BoxFuture<'static, ()> + Send + 'static,
    stopped: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<()> {
    if let Some(election) = election {
        let elector = Elector::new(client, election, fence, leader);
        tokio::spawn(async move { elector.run(lead, stopped).await })
    } else {
        fence.open_until(tokio::time::Instant::now() + FOREVER);
        leader.acquired();
        tokio::spawn(lead(Box::pin(stopped)))
    }
}

/// This machine's host name (the pod's name in a pod), if it has one.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// The fence's validity without an election: a century.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// What the leader's work needs.
#[derive(Clone)]
struct LeaderWork {
    client: kube::Client,
    storage: Storage,
    metrics: Arc<Metrics>,
    webhooks: WebhookClient,
    identity: String,
    telemetry_retention: Duration,
}

/// What the leader does for one term: the reconcilers and the pruning of old telemetry, until
/// the term ends.
fn leader_work(
    work: LeaderWork,
    readiness: Readiness,
) -> impl FnMut(BoxFuture<'static, ()>) -> BoxFuture<'static, ()> {
    move |term_end| {
        let work = work.clone();
        let readiness = readiness.clone();
        Box::pin(async move {
            readiness.term_started();
            let pruning =
                crate::network::retention::spawn(work.storage.clone(), work.telemetry_retention);
            let synced = readiness.clone();
            Box::pin(run_controllers(
                work.client,
                work.storage,
                work.metrics,
                work.webhooks,
                Some(work.identity),
                term_end,
                move || synced.caches_synced(),
            ))
            .await;
            pruning.abort();
            readiness.term_ended();
        })
    }
}
