//! The metrics endpoint of local mode: `/metrics` in Prometheus' text format and `/healthz`.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{Encoder, IntGaugeVec, Opts, Registry, TextEncoder};

use super::seed::SeedReport;

fn registry(seed: Option<&SeedReport>) -> Registry {
    let registry = Registry::new();
    let info = IntGaugeVec::new(
        Opts::new(
            "govcloud_build_info",
            "Version of the running govcloud controller.",
        ),
        &["version"],
    )
    .unwrap_or_else(|_| unreachable!("the metric definition is static and valid"));
    info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
    let seeded = IntGaugeVec::new(
        Opts::new(
            "govcloud_local_seed_objects",
            "Objects applied from the seed directory at start, by kind.",
        ),
        &["kind"],
    )
    .unwrap_or_else(|_| unreachable!("the metric definition is static and valid"));
    for (kind, count) in seed.map(|s| s.objects_by_kind.clone()).unwrap_or_default() {
        seeded
            .with_label_values(&[kind.as_str()])
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    for collector in [
        Box::new(info) as Box<dyn prometheus::core::Collector>,
        Box::new(seeded),
    ] {
        let _ = registry.register(collector);
    }
    registry
}

/// Serves metrics until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, seed: Option<SeedReport>) {
    let registry = registry(seed.as_ref());
    let metrics = move || {
        let registry = registry.clone();
        async move {
            let mut text = Vec::new();
            let encoder = TextEncoder::new();
            let _ = encoder.encode(&registry.gather(), &mut text);
            (
                [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
                text,
            )
                .into_response()
        }
    };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }));
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(%error, "metrics endpoint stopped");
    }
}
