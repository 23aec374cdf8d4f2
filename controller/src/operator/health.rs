//! The operator's plain-HTTP endpoint: `/metrics` (Prometheus text), `/livez` (the process
//! serves) and `/readyz` (storage and the Kubernetes API answer, and — on the leader — the
//! controllers' caches have synced), each check listed in the body as kube-apiserver does.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::metrics::Metrics;
use crate::storage::Storage;

/// How long each readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` checks. Cheap to clone; clones share the flags.
#[derive(Clone)]
pub struct Readiness {
    storage: Storage,
    client: kube::Client,
    leading: Arc<AtomicBool>,
    synced: Arc<AtomicBool>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("storage", &self.storage.redacted_url())
            .field("leading", &self.leading)
            .field("synced", &self.synced)
            .finish_non_exhaustive()
    }
}

impl Readiness {
    /// Checks of `storage` and the API server `client` reaches.
    pub fn new(storage: Storage, client: kube::Client) -> Self {
        Self {
            storage,
            client,
            leading: Arc::default(),
            synced: Arc::default(),
        }
    }

    /// This replica started leading: ready again once the caches sync.
    pub fn term_started(&self) {
        self.synced.store(false, Ordering::SeqCst);
        self.leading.store(true, Ordering::SeqCst);
    }

    /// The controllers' caches have listed everything once.
    pub fn caches_synced(&self) {
        self.synced.store(true, Ordering::SeqCst);
    }

    /// This replica stopped leading.
    pub fn term_ended(&self) {
        self.leading.store(false, Ordering::SeqCst);
        self.synced.store(false, Ordering::SeqCst);
    }

    /// Each check's name and failure, in order.
    async fn check(&self) -> Vec<(&'static str, Option<String>)> {
        let storage = match tokio::time::timeout(CHECK_TIMEOUT, self.storage.ping()).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(crate::report::error_chain(&error)),
            Err(_) => Some(format!("no answer within {CHECK_TIMEOUT:?}")),
        };
        let kubernetes =
            match tokio::time::timeout(CHECK_TIMEOUT, self.client.apiserver_version()).await {
                Ok(Ok(_)) => None,
                Ok(Err(error)) => Some(crate::report::error_chain(&error)),
                Err(_) => Some(format!("no answer within {CHECK_TIMEOUT:?}")),
            };
        let caches = (self.leading.load(Ordering::SeqCst) && !self.synced.load(Ordering::SeqCst))
            .then(|| "the leader's caches have not listed everything yet".to_owned());
        vec![
            ("storage", storage),
            ("kubernetes-api", kubernetes),
            ("controller-caches", caches),
        ]
    }
}

#[derive(Clone)]
struct HealthState {
    metrics: Arc<Metrics>,
    readiness: Readiness,
}

/// Serves `/metrics`, `/livez` and `/readyz` on `listener` until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>, readiness: Readiness) {
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/livez", get(|| async { "ok" }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(HealthState { metrics, readiness });
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(%error, "the metrics and health endpoint stopped");
    }
}

async fn render_metrics(State(state): State<HealthState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn ready(State(state): State<HealthState>) -> Response {
    let checks = state.readiness.check().await;
    let mut body = String::new();
    let mut ready = true;
    for (name, failure) in &checks {
        match failure {
            None => {
                let _ = writeln!(body, "[+]{name} ok");
            }
            Some(reason) => {
                ready = false;
                let _ = writeln!(body, "[-]{name} failed: {reason}");
            }
        }
    }
    let status = if ready {
        body.push_str("readyz check passed\n");
        StatusCode::OK
    } else {
        body.push_str("readyz check failed\n");
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
}
