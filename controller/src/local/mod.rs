//! Local mode: the whole control plane on one machine, with no cluster. Starts the embedded
//! API server on loopback, installs the CRDs, applies a seed directory, runs the controllers,
//! serves the controller's HTTPS API and metrics, and writes what `kubectl` and `govctl` need
//! into the data directory, until stopped.

mod govctl_config;
mod metrics;
mod seed;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use govcloud_apiserver::server::{self, RunningServer, ServerConfig};
use govcloud_apiserver::tls;
use govcloud_crds::Tenant;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tokio::sync::oneshot;

pub use govctl_config::GOVCTL_CONFIG_FILE;
pub use seed::{SeedError, SeedReport, apply_seed};

use crate::agents::{self, AgentApiConfig, AgentCa, RunningAgentApi};
use crate::api::{self, ApiConfig, RunningApi};
use crate::metrics::Metrics;
use crate::migration::webhook::WebhookClient;
use crate::runtime::run_controllers;
use crate::storage::Storage;

/// The field manager of everything local mode writes.
pub const FIELD_MANAGER: &str = "govcloud-local";

/// What to run.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// State directory: the API server's database, certificates, token and kubeconfig, the
    /// controller's database and `govctl.toml`.
    pub data_dir: PathBuf,
    /// Manifests to apply at start, like `kubectl apply --server-side -f DIR`.
    pub seed: Option<PathBuf>,
    /// Address of the embedded Kubernetes API server.
    pub api_address: SocketAddr,
    /// Address of the controller's HTTPS API (for `govctl`).
    pub controller_api_address: SocketAddr,
    /// Address of the metrics endpoint.
    pub metrics_address: SocketAddr,
    /// Address of the agent listener (mutual TLS), which router agents report to.
    pub agent_api_address: SocketAddr,
    /// How long link telemetry samples are kept (deleted every hour).
    pub telemetry_retention: std::time::Duration,
    /// Tenant of the operations token written for `govctl`; the single root tenant when absent.
    pub operations_tenant: Option<String>,
}

/// Errors of local mode.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The embedded API server did not start.
    #[error("failed to start the embedded API server")]
    ApiServer(#[source] server::ServerError),
    /// The kubeconfig it wrote could not be used.
    #[error("failed to connect to the embedded API server with {path}")]
    Client {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A CRD could not be installed.
    #[error("failed to install CRD {name}")]
    InstallCrd { name: String, source: kube::Error },
    /// The seed directory could not be applied.
    #[error("failed to apply the seed directory")]
    Seed(#[source] SeedError),
    /// The controller's database could not be opened.
    #[error("failed to open the controller's database")]
    Storage(#[source] crate::storage::StorageError),
    /// The metrics registry could not be built.
    #[error("failed to create the metrics registry")]
    Metrics(#[source] prometheus::Error),
    /// The HTTPS client of webhook steps could not be built.
    #[error("failed to build the HTTPS client of webhook steps")]
    Webhooks(#[source] crate::migration::webhook::WebhookError),
    /// The serving certificate could not be loaded.
    #[error("failed to load the serving certificate")]
    Certificates(#[source] tls::TlsError),
    /// The controller's API did not start.
    #[error("failed to start the controller's API")]
    Api(#[source] api::ApiError),
    /// The agent CA could not be loaded or created.
    #[error("failed to load the agent CA")]
    AgentCa(#[source] agents::CaError),
    /// The agent listener did not start.
    #[error("failed to start the agent listener")]
    AgentApi(#[source] agents::AgentApiError),
    /// `govctl.toml` could not be written.
    #[error("failed to write {path}")]
    GovctlConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The tenants could not be listed to find the operations token's tenant.
    #[error("failed to list tenants")]
    Tenants(#[source] kube::Error),
    /// The metrics endpoint could not listen.
    #[error("failed to serve metrics on {address}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// A running local control plane.
pub struct LocalControlPlane {
    /// The embedded API server.
    pub api: RunningServer,
    /// A client of it.
    pub client: Client,
    /// The controller's HTTPS API.
    pub controller_api: RunningApi,
    /// The agent listener (mutual TLS, certificates of the agent CA in `pki/agents-ca.crt`).
    pub agent_api: RunningAgentApi,
    /// Where metrics are served.
    pub metrics_address: SocketAddr,
    /// `govctl`'s settings (server, CA, an operations token).
    pub govctl_config: PathBuf,
    /// What the seed directory contained.
    pub seed: Option<SeedReport>,
    /// The controller's database.
    pub storage: Storage,
    stop_controllers: oneshot::Sender<()>,
    pruning: tokio::task::JoinHandle<()>,
    controllers: tokio::task::JoinHandle<()>,
    metrics: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for LocalControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalControlPlane")
            .field("api", &self.api.url)
            .field("controller_api", &self.controller_api.url)
            .field("agent_api", &self.agent_api.url)
            .field("metrics_address", &self.metrics_address)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl LocalControlPlane {
    /// One line with the addresses, for people and scripts.
    pub fn ready_line(&self) -> String {
        format!(
            "govcloud local mode ready: api {} kubeconfig {} controller-api {} agent-api {} govctl-config {} metrics http://{}/metrics",
            self.api.url,
            self.api.kubeconfig.display(),
            self.controller_api.url,
            self.agent_api.url,
            self.govctl_config.display(),
            self.metrics_address
        )
    }

    /// Stops the controllers, the APIs and the API server, in that order.
    pub async fn shutdown(self) {
        let _ = self.stop_controllers.send(());
        let _ = self.controllers.await;
        self.controller_api.shutdown().await;
        self.agent_api.shutdown().await;
        self.metrics.abort();
        self.pruning.abort();
        self.storage.close().await;
        self.api.shutdown().await;
    }
}

/// Starts the local control plane and returns once it is ready.
pub async fn start(options: &LocalOptions) -> Result<LocalControlPlane, LocalError> {
    let api = server::start(ServerConfig {
        data_dir: options.data_dir.clone(),
        address: options.api_address,
    })
    .await
    .map_err(LocalError::ApiServer)?;
    let client = client_for(&api).await?;
    install_crds(&client).await?;
    let seed = match &options.seed {
        Some(dir) => Some(
            apply_seed(&client, dir, FIELD_MANAGER)
                .await
                .map_err(LocalError::Seed)?,
        ),
        None => None,
    };
    let database = format!(
        "sqlite://{}",
        options.data_dir.join("govcloud.db").display()
    );
    let storage = Storage::open(&database)
        .await
        .map_err(LocalError::Storage)?;
    let metrics = Arc::new(Metrics::new().map_err(LocalError::Metrics)?);
    let (stop_controllers, stopped) = oneshot::channel::<()>();
    let webhooks = WebhookClient::new().map_err(LocalError::Webhooks)?;
    let controllers = tokio::spawn(run_controllers(
        client.clone(),
        storage.clone(),
        Arc::clone(&metrics),
        webhooks,
        async {
            let _ = stopped.await;
        },
    ));
    let pruning = crate::network::retention::spawn(storage.clone(), options.telemetry_retention);
    let (controller_api, agent_api) =
        serve_apis(options, &client, &storage, metrics.registry()).await?;
    let operations_tenant = match &options.operations_tenant {
        Some(tenant) => tenant.clone(),
        None => root_tenant(&client).await?,
    };
    let govctl_config = govctl_config::write(
        &options.data_dir,
        &controller_api.url,
        &storage,
        &operations_tenant,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(options.metrics_address)
        .await
        .map_err(|source| LocalError::Listen {
            address: options.metrics_address,
            source,
        })?;
    let metrics_address = listener.local_addr().map_err(|source| LocalError::Listen {
        address: options.metrics_address,
        source,
    })?;
    metrics::record_seed(&metrics, seed.as_ref());
    let metrics = tokio::spawn(metrics::serve(listener, metrics));
    Ok(LocalControlPlane {
        api,
        client,
        controller_api,
        agent_api,
        metrics_address,
        govctl_config,
        seed,
        storage,
        stop_controllers,
        pruning,
        controllers,
        metrics,
    })
}

/// Starts the controller's API (for `govctl`, with the embedded API server's CA) and the agent
/// listener (mutual TLS, with the agent CA of `DATA_DIR/pki/agents-ca.{crt,key}`).
async fn serve_apis(
    options: &LocalOptions,
    client: &Client,
    storage: &Storage,
    registry: &prometheus::Registry,
) -> Result<(RunningApi, RunningAgentApi), LocalError> {
    let certificates = tls::load_or_create(&options.data_dir, &["127.0.0.1", "localhost"])
        .map_err(LocalError::Certificates)?;
    let agent_ca = AgentCa::load_or_create(&options.data_dir.join(tls::PKI_DIR))
        .map_err(LocalError::AgentCa)?;
    let controller_api = api::serve(
        ApiConfig {
            address: options.controller_api_address,
            certificates,
            agent_ca: Some(agent_ca.clone()),
        },
        client.clone(),
        storage.clone(),
        registry,
    )
    .await
    .map_err(LocalError::Api)?;
    let agent_api = agents::serve(
        AgentApiConfig {
            address: options.agent_api_address,
            ca: agent_ca,
            server_names: Vec::new(),
        },
        client.clone(),
        storage.clone(),
        registry,
    )
    .await
    .map_err(LocalError::AgentApi)?;
    Ok((controller_api, agent_api))
}

/// The tenant without a parent, when there is exactly one (the city); `city` otherwise.
async fn root_tenant(client: &Client) -> Result<String, LocalError> {
    let tenants: Api<Tenant> = Api::all(client.clone());
    let list = tenants
        .list(&ListParams::default())
        .await
        .map_err(LocalError::Tenants)?;
    let roots: Vec<String> = list
        .items
        .iter()
        .filter(|t| t.spec.parent.is_none())
        .filter_map(|t| t.metadata.name.clone())
        .collect();
    if let [root] = roots.as_slice() {
        return Ok(root.clone());
    }
    tracing::warn!(
        roots = roots.len(),
        "no single root tenant: the operations token is scoped to `city`; pass --operations-tenant"
    );
    Ok("city".to_owned())
}

/// A kube client of the embedded server, from the kubeconfig it wrote (as kubectl uses it).
pub async fn client_for(api: &RunningServer) -> Result<Client, LocalError> {
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| LocalError::Client {
        path: api.kubeconfig.clone(),
        source,
    };
    let kubeconfig = Kubeconfig::read_from(&api.kubeconfig).map_err(|e| failed(Box::new(e)))?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| failed(Box::new(e)))?;
    Client::try_from(config).map_err(|e| failed(Box::new(e)))
}

/// Installs (or updates) every govcloud CRD with server-side apply.
pub async fn install_crds(client: &Client) -> Result<(), LocalError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for crd in govcloud_crds::crdgen::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .map_err(|source| LocalError::InstallCrd { name, source })?;
    }
    Ok(())
}
