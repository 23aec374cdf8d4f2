//! Starts the server: state under a data directory (SQLite, certificates, token), HTTPS on a
//! loopback address, bearer-token authentication, an optional audit log, a kubeconfig for
//! clients, and a clean stop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::middleware;
use tokio::task::JoinHandle;

use crate::api::{self, ApiState};
use crate::audit::{self, AuditLog};
use crate::auth::{self, BearerAuth};
use crate::store::{COMPACTION_INTERVAL, Compactor, HISTORY_WINDOW, Store};
use crate::{kubeconfig, tls};

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Directory of the state database, certificates, token and kubeconfig.
    pub data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub address: SocketAddr,
    /// Where to append the audit log (one `audit.k8s.io/v1` event per request), if anywhere.
    pub audit_log: Option<PathBuf>,
}

/// Errors of starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory could not be prepared.
    #[error("failed to prepare the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The state database could not be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Certificates could not be loaded or created.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The token could not be loaded or created.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// The audit log could not be opened.
    #[error(transparent)]
    AuditLog(#[from] crate::audit::AuditLogError),
    /// The kubeconfig could not be written.
    #[error(transparent)]
    Kubeconfig(#[from] kubeconfig::KubeconfigError),
    /// Stored CRDs could not be served again.
    #[error("failed to load the stored CRDs: {0}")]
    State(String),
    /// The address could not be bound.
    #[error("failed to listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// A running server.
#[derive(Debug)]
pub struct RunningServer {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The bound address.
    pub address: SocketAddr,
    /// PEM of the CA that signed the serving certificate.
    pub ca_pem: String,
    /// The bearer token clients must send.
    pub token: String,
    /// The kubeconfig written for clients.
    pub kubeconfig: PathBuf,
    /// Shared state (for in-process use, e.g. tests).
    pub state: Arc<ApiState>,
    handle: axum_server::Handle<SocketAddr>,
    serving: JoinHandle<std::io::Result<()>>,
    compaction: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets open requests finish briefly, and closes the database.
    pub async fn shutdown(self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(2)));
        self.compaction.abort();
        let _ = self.serving.await;
        self.state.store.close().await;
    }
}

/// Starts serving.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let data_dir = config.data_dir.as_path();
    std::fs::create_dir_all(data_dir).map_err(|source| ServerError::DataDir {
        path: data_dir.into(),
        source,
    })?;
    let store = Store::open(&data_dir.join("state.db")).await?;
    let host = config.address.ip().to_string();
    let hosts: Vec<&str> = if config.address.ip().is_loopback() {
        vec![host.as_str(), "localhost"]
    } else {
        vec![host.as_str()]
    };
    let certificates = tls::load_or_create(data_dir, &hosts)?;
    let token = auth::load_or_create_token(data_dir)?;
    let listener =
        std::net::TcpListener::bind(config.address).map_err(|source| ServerError::Bind {
            address: config.address,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| ServerError::Bind {
        address: config.address,
        source,
    })?;
    let url = format!("https://{address}");
    let state = ApiState::new(store, url.clone())
        .await
        .map_err(|e| ServerError::State(e.message))?;
    ensure_system_namespaces(&state).await?;
    let auth = Arc::new(BearerAuth::new(token.clone()));
    let mut router = api::router(Arc::clone(&state))
        .layer(middleware::from_fn_with_state(auth, auth::require_bearer));
    if let Some(path) = &config.audit_log {
        let log = AuditLog::open(path)?;
        router = router.layer(middleware::from_fn_with_state(log, audit::record));
    }
    let rustls = tls::rustls_config(&certificates).await?;
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, rustls)
        .map_err(|source| ServerError::Bind { address, source })?;
    let serving = tokio::spawn(
        server
            .handle(handle.clone())
            .serve(router.into_make_service()),
    );
    let kubeconfig = data_dir.join("kubeconfig");
    kubeconfig::write_kubeconfig(
        &kubeconfig,
        &url,
        &certificates.ca_pem,
        &token,
        "govcloud-local",
    )?;
    let compaction = tokio::spawn(compact_periodically(state.store.clone()));
    tracing::info!(%url, kubeconfig = %kubeconfig.display(), "API server ready");
    Ok(RunningServer {
        url,
        address,
        ca_pem: certificates.ca_pem,
        token,
        kubeconfig,
        state,
        handle,
        serving,
        compaction,
    })
}

async fn compact_periodically(store: Store) {
    let mut compactor = Compactor::new(HISTORY_WINDOW);
    let mut ticker = tokio::time::interval(COMPACTION_INTERVAL);
    loop {
        ticker.tick().await;
        if let Err(error) = compactor.tick(&store).await {
            tracing::warn!(%error, "failed to compact the event log");
        }
    }
}

/// The kubeconfig path a server started on `data_dir` writes.
pub fn kubeconfig_path(data_dir: &Path) -> PathBuf {
    data_dir.join("kubeconfig")
}

/// Namespaces every cluster has from the start (`default`, `kube-system`, `kube-public`):
/// clients such as kube-rs's event recorder write into `default` without creating it.
pub const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

async fn ensure_system_namespaces(state: &ApiState) -> Result<(), ServerError> {
    for name in SYSTEM_NAMESPACES {
        let key = crate::store::ObjectKey {
            resource: "/namespaces".into(),
            namespace: String::new(),
            name: (*name).to_owned(),
        };
        if state.store.get(&key).await?.is_some() {
            continue;
        }
        let namespace = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "uid": uuid::Uuid::new_v4().to_string(),
                "creationTimestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "generation": 1,
                "labels": { "kubernetes.io/metadata.name": name },
            },
            "spec": {},
            "status": { "phase": "Active" },
        });
        // Another start may have created it meanwhile: that is as good.
        let _ = state.store.put(&key, namespace, None).await?;
    }
    Ok(())
}
