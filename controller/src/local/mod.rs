//! Local mode: the whole control plane on one machine, with no cluster. Starts the embedded
//! API server on loopback, installs the CRDs, applies a seed directory, runs the controllers and
//! serves metrics, until stopped.

mod metrics;
mod seed;

use std::net::SocketAddr;
use std::path::PathBuf;

use govcloud_apiserver::server::{self, RunningServer, ServerConfig};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use seed::{SeedError, SeedReport, apply_seed};

/// The field manager of everything local mode writes.
pub const FIELD_MANAGER: &str = "govcloud-local";

/// What to run.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// State directory: the API server's database, certificates, token and kubeconfig.
    pub data_dir: PathBuf,
    /// Manifests to apply at start, like `kubectl apply --server-side -f DIR`.
    pub seed: Option<PathBuf>,
    /// Address of the embedded API server.
    pub api_address: SocketAddr,
    /// Address of the metrics endpoint.
    pub metrics_address: SocketAddr,
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
    /// The metrics endpoint could not listen.
    #[error("failed to serve metrics on {address}")]
    Metrics {
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
    /// Where metrics are served.
    pub metrics_address: SocketAddr,
    /// What the seed directory contained.
    pub seed: Option<SeedReport>,
    metrics: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for LocalControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalControlPlane")
            .field("api", &self.api.url)
            .field("metrics_address", &self.metrics_address)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl LocalControlPlane {
    /// One line with the addresses, for people and scripts.
    pub fn ready_line(&self) -> String {
        format!(
            "govcloud local mode ready: api {} kubeconfig {} metrics http://{}/metrics",
            self.api.url,
            self.api.kubeconfig.display(),
            self.metrics_address
        )
    }

    /// Stops everything.
    pub async fn shutdown(self) {
        self.metrics.abort();
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
    let listener = tokio::net::TcpListener::bind(options.metrics_address)
        .await
        .map_err(|source| LocalError::Metrics {
            address: options.metrics_address,
            source,
        })?;
    let metrics_address = listener
        .local_addr()
        .map_err(|source| LocalError::Metrics {
            address: options.metrics_address,
            source,
        })?;
    let metrics = tokio::spawn(metrics::serve(listener, seed.clone()));
    Ok(LocalControlPlane {
        api,
        client,
        metrics_address,
        seed,
        metrics,
    })
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
