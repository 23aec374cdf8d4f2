//! `govcloud-agent run`: every interval, observe (on a blocking thread, in the configured
//! namespace), spool the report, then send the spool oldest first until it is empty or the
//! controller is unreachable. Spooling before sending means a report is never lost inside the
//! spool's bound: not when the controller is down, not when the agent restarts; reports reach
//! the controller in order, and one it already has (a send whose answer was lost) is stored
//! once (the controller keys reports by router and sequence).
//!
//! With `[config] enabled = true`, the configuration task ([`crate::configure`]) runs beside the
//! loop: it fetches the desired configuration, converges the kernel to it, checks drift and
//! probes every interval, and each report carries where it stands (`config`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use govcloud_crds::api::{ConfigReport, TelemetryReport};
use tokio::sync::Mutex;

use crate::config::Config;
use crate::configure::ConfigTask;
use crate::metrics::AgentMetrics;
use crate::netns::{self, NetnsError};
use crate::observe::{self, ObserveError, ObserveOptions};
use crate::report::{self, Reporter, ReporterError, Sent};
use crate::spool::{Spool, SpoolError};

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Reporter(#[from] ReporterError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("failed to create the metrics registry: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("failed to serve metrics on {address}: {source}")]
    MetricsListener {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Why one observation failed (the agent logs it and tries again at the next interval).
#[derive(Debug, thiserror::Error)]
enum TickError {
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error(transparent)]
    Observe(#[from] ObserveError),
    #[error("the observation thread failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Runs until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let metrics = AgentMetrics::new()?;
    let client = report::client(&config)?;
    let reporter = Reporter::with_client(client.clone(), &config);
    let spool = Arc::new(Mutex::new(Spool::open(
        &config.state_dir,
        config.spool_max_bytes,
    )?));
    if let Some(address) = config.metrics_address {
        serve_metrics(address, metrics.clone()).await?;
    }
    tracing::info!(router = %config.router, controller = %config.controller_url, interval = ?config.interval, "reporting");
    let desired = config
        .desired
        .enabled
        .then(|| ConfigTask::start(&config, client, &metrics));
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let mut reachable = true;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = &mut shutdown => break,
        }
        let config_report = desired.as_ref().and_then(ConfigTask::report);
        match observe_once(&config, &metrics, config_report).await {
            Ok(report) => {
                let mut spool = spool.lock().await;
                let sequence = spool.next_sequence()?;
                let before = spool.dropped();
                spool.push(&TelemetryReport { sequence, ..report })?;
                metrics
                    .spool_dropped
                    .inc_by(spool.dropped().saturating_sub(before));
            }
            Err(error) => {
                tracing::warn!(error = %error, "observation failed; trying again at the next interval");
            }
        }
        let mut spool = spool.lock().await;
        reachable = drain(&reporter, &mut spool, &metrics, reachable).await?;
        metrics
            .spool_reports
            .set(i64::try_from(spool.len()).unwrap_or(i64::MAX));
        metrics
            .spool_bytes
            .set(i64::try_from(spool.bytes()).unwrap_or(i64::MAX));
    }
    drop(desired);
    tracing::info!("stopped");
    Ok(())
}

/// Observes once (sequence 0: the spool numbers it); the report carries `config_report`.
async fn observe_once(
    config: &Config,
    metrics: &AgentMetrics,
    config_report: Option<ConfigReport>,
) -> Result<TelemetryReport, TickError> {
    let options = ObserveOptions {
        interfaces: config.interfaces.clone(),
        ..ObserveOptions::default()
    };
    let netns = config.netns.clone();
    let started = Instant::now();
    let observation = tokio::task::spawn_blocking(move || {
        netns::run_in(netns.as_deref(), || observe::observe(&options))
    })
    .await???;
    metrics
        .observe_seconds
        .observe(started.elapsed().as_secs_f64());
    if !observation.missing.is_empty() {
        tracing::warn!(missing = ?observation.missing, "configured interfaces do not exist");
    }
    Ok(TelemetryReport {
        router: config.router.clone(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        sequence: 0,
        observed_at: Utc::now(),
        interval_seconds: u32::try_from(config.interval.as_secs()).unwrap_or(u32::MAX),
        links: observation.links,
        routes: observation.routes,
        config: config_report,
    })
}

/// Sends the spool oldest first; stops at the first report the controller cannot take now.
/// Returns whether the controller was reachable (a change is logged once, not every interval).
async fn drain(
    reporter: &Reporter,
    spool: &mut Spool,
    metrics: &AgentMetrics,
    was_reachable: bool,
) -> Result<bool, SpoolError> {
    while let Some((entry, body)) = spool.oldest()? {
        match reporter.send(body).await {
            Sent::Stored => {
                spool.remove(entry.sequence)?;
                metrics.reports.with_label_values(&["stored"]).inc();
                metrics.last_stored.set(Utc::now().timestamp());
                if !was_reachable {
                    tracing::info!(
                        waiting = spool.len(),
                        "the controller is reachable again; sending the spool"
                    );
                }
            }
            Sent::Refused { status, message } => {
                // It will never be taken: keep the rest of the spool moving.
                spool.remove(entry.sequence)?;
                metrics.reports.with_label_values(&["refused"]).inc();
                tracing::error!(sequence = entry.sequence, status, %message, "the controller refused a report; it is dropped");
            }
            Sent::Unreachable { message } => {
                metrics.reports.with_label_values(&["unreachable"]).inc();
                if was_reachable {
                    tracing::warn!(%message, waiting = spool.len(), "the controller is unreachable; spooling reports");
                }
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Serves `/metrics` on `address` in the background.
async fn serve_metrics(address: SocketAddr, metrics: AgentMetrics) -> Result<(), RunError> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| RunError::MetricsListener { address, source })?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(())
}
