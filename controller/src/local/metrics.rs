//! The metrics endpoint of local mode: the controller's registry as Prometheus text at
//! `/metrics`, and `/healthz`.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{IntGaugeVec, Opts};

use super::seed::SeedReport;
use crate::metrics::Metrics;

/// Records what the seed directory held, as `govcloud_local_seed_objects{kind}`.
pub fn record_seed(metrics: &Metrics, seed: Option<&SeedReport>) {
    let Some(seed) = seed else { return };
    let Ok(seeded) = IntGaugeVec::new(
        Opts::new(
            "govcloud_local_seed_objects",
            "Objects applied from the seed directory at start, by kind.",
        ),
        &["kind"],
    ) else {
        return;
    };
    for (kind, count) in &seed.objects_by_kind {
        seeded
            .with_label_values(&[kind.as_str()])
            .set(i64::try_from(*count).unwrap_or(i64::MAX));
    }
    if let Err(error) = metrics.registry().register(Box::new(seeded)) {
        tracing::warn!(%error, "failed to register the seed metric");
    }
}

/// Serves metrics until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    let render = move || {
        let metrics = Arc::clone(&metrics);
        async move {
            (
                [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                metrics.render(),
            )
                .into_response()
        }
    };
    let app = Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(|| async { "ok" }));
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(%error, "metrics endpoint stopped");
    }
}
