//! The harness of the controller suites (`tenancy.rs`, `migration.rs`): the embedded Kubernetes
//! API server with the CRDs, storage on a fresh SQLite file, and the controllers, which can be
//! stopped and started again as a restart or a crash would; and `eventually`, which polls until a
//! check passes. Each suite adds its own setup and helpers in `impl Harness` blocks of its own.
//!
//! The controllers run with a client of their own, built as a replica builds it
//! (`operator::cluster::clients`, the fenced one, its fence open for a century), whose user agent
//! names [`CONTROLLERS_IDENTITY`]. The API server writes an audit log, and `shutdown` fails the
//! test with every request of that client that the controller's RBAC
//! (`govcloud_controller::permissions::CONTROLLER`) does not allow: each code path a suite
//! exercises proves the permissions cover it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use govcloud_apiserver::server::{self, RunningServer, ServerConfig};
use govcloud_controller::leader::Fence;
use govcloud_controller::metrics::Metrics;
use govcloud_controller::migration::webhook::WebhookClient;
use govcloud_controller::runtime::run_controllers;
use govcloud_controller::storage::Storage;
use kube::Client;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The identity in the user agent of the controllers' client.
pub const CONTROLLERS_IDENTITY: &str = "test-controllers";

/// An API server with the CRDs, a SQLite storage and, while running, the controllers.
pub struct Harness {
    server: Option<RunningServer>,
    /// A client of the API server.
    pub client: Client,
    /// The controllers' client: announces [`CONTROLLERS_IDENTITY`], passes the fence.
    controllers_client: Client,
    /// The fence of `controllers_client`, open for a century.
    _fence: Fence,
    /// The controllers' storage (`govcloud.db` in `dir`).
    pub storage: Storage,
    /// The metrics of the controllers' latest run.
    pub metrics: Arc<Metrics>,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    /// The temporary directory of the API server's data and the storage, removed at the end.
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// A fresh API server with the CRDs installed, and a fresh storage; the controllers are not
    /// running yet.
    pub async fn start() -> Self {
        // `RUST_LOG=govcloud_controller=debug cargo test -p govcloud-controller --test integration
        // tenancy::` (or `migration::`) shows what the controllers do.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().expect("tempdir");
        let server = server::start(ServerConfig {
            data_dir: dir.path().join("api"),
            address: "127.0.0.1:0".parse().expect("address"),
            audit_log: Some(dir.path().join("audit.log")),
        })
        .await
        .expect("start the API server");
        let client = govcloud_controller::local::client_for(&server)
            .await
            .expect("client");
        let config = govcloud_controller::local::config_for(&server)
            .await
            .expect("the API server's client configuration");
        let fence = Fence::new();
        fence.open_until(tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600));
        let controllers_client =
            govcloud_controller::operator::cluster::clients(&config, CONTROLLERS_IDENTITY, &fence)
                .expect("the controllers' clients")
                .fenced;
        govcloud_controller::local::install(&client)
            .await
            .expect("install CRDs");
        let url = format!("sqlite://{}", dir.path().join("govcloud.db").display());
        let storage = Storage::open(&url).await.expect("storage");
        Self {
            server: Some(server),
            client,
            controllers_client,
            _fence: fence,
            storage,
            metrics: Arc::new(Metrics::new().expect("metrics")),
            running: None,
            dir,
        }
    }

    /// Starts the controllers with fresh metrics.
    pub fn run(&mut self) {
        assert!(self.running.is_none(), "already running");
        self.metrics = Arc::new(Metrics::new().expect("metrics"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_controllers(
            self.controllers_client.clone(),
            self.storage.clone(),
            self.metrics.clone(),
            WebhookClient::new().expect("an HTTPS client"),
            None,
            async move {
                let _ = stopped.await;
            },
            || {},
        ));
        self.running = Some((stop, task));
    }

    /// Stops the controllers and waits for them.
    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("the controllers stop within 30 s")
                .expect("the controllers did not panic");
        }
    }

    /// Stops the controllers, then the API server; then fails if the controllers made a request
    /// their RBAC does not allow.
    pub async fn shutdown(mut self) {
        self.stop().await;
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        let log = std::fs::read_to_string(self.dir.path().join("audit.log"))
            .expect("the API server's audit log");
        let agent = govcloud_controller::operator::cluster::user_agent(CONTROLLERS_IDENTITY);
        // The controllers run no leader election here: no request of theirs is namespaced to
        // the controller's own namespace.
        let refused = govcloud_controller::permissions::unpermitted(
            govcloud_controller::permissions::CONTROLLER,
            &log,
            &agent,
            "govcloud-system",
        )
        .expect("an audit log");
        assert!(
            refused.is_empty(),
            "the controllers made requests permissions::CONTROLLER does not allow:\n  {}",
            refused.join("\n  ")
        );
    }
}

/// Polls `check` until it returns `Some` or `seconds` pass.
pub async fn eventually<T, F, Fut>(what: &str, seconds: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {seconds} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The phase of a migration system's step `step`, if it has one.
pub fn step_phase(
    system: &govcloud_crds::SystemMigration,
    step: &str,
) -> Option<govcloud_crds::migration::system::StepPhase> {
    system
        .status
        .as_ref()?
        .steps
        .iter()
        .find(|s| s.name == step)
        .map(|s| s.phase)
}
