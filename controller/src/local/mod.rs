//! Local mode: the whole control plane on one machine, with no cluster. Starts the embedded
//! API server on loopback, installs what the Helm chart installs (the CRDs, the tenant-admin
//! role), applies a seed directory, starts one replica of the operator exactly as
//! `govcloud-controller run` does ([`crate::operator`]), and writes what `kubectl` and `govctl`
//! need into the data directory, until stopped.

mod govctl_config;
mod metrics;
mod seed;

use std::net::SocketAddr;
use std::path::PathBuf;

use govcloud_apiserver::server::{self, RunningServer, ServerConfig};
use govcloud_apiserver::tls;
use govcloud_crds::Tenant;
use k8s_openapi::api::rbac::v1::ClusterRole;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use govctl_config::GOVCTL_CONFIG_FILE;
pub use seed::{SeedError, SeedReport, apply_seed};

use crate::agents::{self, AgentCa};
use crate::leader::LeaseSettings;
use crate::operator::{self, OperatorConfig, OperatorError, RunningOperator};
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
    /// Where the embedded API server appends its audit log, if anywhere.
    pub audit_log: Option<PathBuf>,
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
    /// The tenant-admin `ClusterRole` could not be installed.
    #[error("failed to install ClusterRole {name}")]
    InstallRole { name: String, source: kube::Error },
    /// The seed directory could not be applied.
    #[error("failed to apply the seed directory")]
    Seed(#[source] SeedError),
    /// The controller's database could not be opened.
    #[error("failed to open the controller's database")]
    Storage(#[source] crate::storage::StorageError),
    /// The serving certificate could not be loaded.
    #[error("failed to load the serving certificate")]
    Certificates(#[source] tls::TlsError),
    /// The agent CA could not be loaded or created.
    #[error("failed to load the agent CA")]
    AgentCa(#[source] agents::CaError),
    /// The operator did not start.
    #[error("failed to start the operator")]
    Operator(#[source] OperatorError),
    /// The operations token could not be issued.
    #[error("failed to issue the operations token")]
    Token(#[source] crate::api::ApiError),
    /// `govctl.toml` could not be written.
    #[error("failed to write {path}")]
    GovctlConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The tenants could not be listed to find the operations token's tenant.
    #[error("failed to list tenants")]
    Tenants(#[source] kube::Error),
}

/// A running local control plane: the embedded API server and one replica of the operator,
/// composed exactly as `govcloud-controller run` composes it.
pub struct LocalControlPlane {
    /// The embedded API server.
    pub api: RunningServer,
    /// A client of it.
    pub client: Client,
    /// The operator: the controllers, the controller's HTTPS API, the agent listener (mutual
    /// TLS, certificates of the agent CA in `pki/agents-ca.crt`), metrics and health.
    pub operator: RunningOperator,
    /// `govctl`'s settings (server, CA, an operations token).
    pub govctl_config: PathBuf,
    /// What the seed directory contained.
    pub seed: Option<SeedReport>,
}

impl std::fmt::Debug for LocalControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalControlPlane")
            .field("api", &self.api.url)
            .field("operator", &self.operator)
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
            self.operator.controller_api.url,
            self.operator.agent_api.url,
            self.govctl_config.display(),
            self.operator.metrics_address
        )
    }

    /// Stops the operator (controllers, APIs, database), then the API server.
    pub async fn shutdown(self) {
        self.operator.shutdown().await;
        self.api.shutdown().await;
    }
}

/// The namespace of local mode's leader lease: the one kube-controller-manager uses, which every
/// cluster (and the embedded API server) has.
pub const LEASE_NAMESPACE: &str = "kube-system";

/// Starts the local control plane and returns once it is ready.
pub async fn start(options: &LocalOptions) -> Result<LocalControlPlane, LocalError> {
    let api = server::start(ServerConfig {
        data_dir: options.data_dir.clone(),
        address: options.api_address,
        audit_log: options.audit_log.clone(),
    })
    .await
    .map_err(LocalError::ApiServer)?;
    let kube_config = config_for(&api).await?;
    let client = Client::try_from(kube_config.clone()).map_err(|e| LocalError::Client {
        path: api.kubeconfig.clone(),
        source: Box::new(e),
    })?;
    install(&client).await?;
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
    let serving = tls::load_or_create(&options.data_dir, &["127.0.0.1", "localhost"])
        .map_err(LocalError::Certificates)?;
    let agent_ca = AgentCa::load_or_create(&options.data_dir.join(tls::PKI_DIR))
        .map_err(LocalError::AgentCa)?;
    let operator = operator::start(OperatorConfig {
        kube: kube_config,
        namespace: LEASE_NAMESPACE.to_owned(),
        identity: local_identity(),
        storage: storage.clone(),
        serving,
        agent_ca,
        agent_server_names: Vec::new(),
        api_address: options.controller_api_address,
        agent_api_address: options.agent_api_address,
        metrics_address: options.metrics_address,
        election: Some(LeaseSettings::default()),
        telemetry_retention: options.telemetry_retention,
    })
    .await
    .map_err(LocalError::Operator)?;
    metrics::record_seed(&operator.metrics, seed.as_ref());
    let operations_tenant = match &options.operations_tenant {
        Some(tenant) => tenant.clone(),
        None => root_tenant(&client).await?,
    };
    let govctl_config = govctl_config::write(
        &options.data_dir,
        &operator.controller_api.url,
        &storage,
        &operations_tenant,
    )
    .await?;
    Ok(LocalControlPlane {
        api,
        client,
        operator,
        govctl_config,
        seed,
    })
}

/// Local mode's name in its lease: the same at every start on this host, so that a restart
/// after a crash takes its own lease back at once instead of waiting for it to expire (only one
/// local mode can use a data directory, whose API server dies with it).
fn local_identity() -> String {
    operator::host_name().map_or_else(
        || "govcloud-local".to_owned(),
        |host| format!("govcloud-local-{host}"),
    )
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

/// The configuration of a client of the embedded server, from the kubeconfig it wrote (as
/// kubectl uses it).
pub async fn config_for(api: &RunningServer) -> Result<Config, LocalError> {
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| LocalError::Client {
        path: api.kubeconfig.clone(),
        source,
    };
    let kubeconfig = Kubeconfig::read_from(&api.kubeconfig).map_err(|e| failed(Box::new(e)))?;
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| failed(Box::new(e)))
}

/// A kube client of the embedded server, from the kubeconfig it wrote (as kubectl uses it).
pub async fn client_for(api: &RunningServer) -> Result<Client, LocalError> {
    let config = config_for(api).await?;
    Client::try_from(config).map_err(|e| LocalError::Client {
        path: api.kubeconfig.clone(),
        source: Box::new(e),
    })
}

/// Installs (or updates) what the Helm chart installs on a cluster, with server-side apply:
/// every govcloud CRD and the tenant-admin `ClusterRole` that tenants' role bindings refer to.
pub async fn install(client: &Client) -> Result<(), LocalError> {
    install_crds(client).await?;
    let role = govcloud_core::tenancy::plan::tenant_admin_role();
    let name = role.metadata.name.clone().unwrap_or_default();
    Api::<ClusterRole>::all(client.clone())
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&role),
        )
        .await
        .map_err(|source| LocalError::InstallRole { name, source })?;
    Ok(())
}

/// Installs (or updates) every govcloud CRD with server-side apply.
async fn install_crds(client: &Client) -> Result<(), LocalError> {
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
