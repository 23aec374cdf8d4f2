//! The configuration task of `govcloud-agent run`, beside the report loop: fetch the
//! desired configuration (a long poll, [`crate::fetch`]), parse it ([`apply::desired::parse`]),
//! converge the kernel to it ([`apply::converge`]), and every reporting interval recompute the
//! drift and run the reachability probes ([`crate::probe`]) — a route someone deleted by hand is
//! drift even when the configuration did not change, and drift is converged away at once. What it finds is kept as a
//! [`ConfigReport`] that the next telemetry report carries.
//!
//! Two tasks: the poller only fetches and hands the latest document over (a watch channel keeps
//! only the newest, so configurations arriving faster than they converge are skipped, not
//! queued); the converger parses, converges and checks, one thing at a time, so a convergence
//! and a drift check never overlap. The kernel work runs on blocking threads inside the observed
//! namespace ([`netns::run_in`]).
//!
//! A document that does not parse, or is for another router, is reported in `errors` and the
//! kernel is left as it is; the last accepted configuration stays the reference for drift and
//! probes. The last accepted one is cached in the state directory, so a restarted agent
//! converges to it at once, even while the controller is away.
//!
//! [`ConfigStatus`] is the pure part (what the report says after each step), tested alone.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use govcloud_crds::api::{ConfigReport, ProbeConfig, ProbeResult, RouterConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::apply::{self, ConvergeOutcome, DesiredState};
use crate::config::Config;
use crate::fetch::{self, CachedConfig, ConfigFetcher, Fetched};
use crate::metrics::AgentMetrics;
use crate::netlink::Netlink;
use crate::netns;
use crate::probe::{self, ProbeOptions, ProbeOutcome};

/// The shortest time between two fetches, whatever the controller answers (a controller that
/// ignores `waitSeconds` must not make the poller spin).
const MIN_FETCH_SPACING: Duration = Duration::from_secs(1);

/// Where the agent stands with its desired configuration.
#[derive(Clone, Debug, Default)]
pub struct ConfigStatus {
    /// The configuration last accepted: what the kernel converges to, drift and probes are
    /// measured against.
    desired: Option<DesiredState>,
    applied_generation: Option<i64>,
    attempted_generation: Option<i64>,
    /// Errors of the last attempt: a document refused whole, refused items, conflicts, failed
    /// batches.
    attempt_errors: Vec<String>,
    /// Errors of the last check: drift that could not be computed, probes that could not run.
    check_errors: Vec<String>,
    drift: Vec<String>,
    probes: Vec<ProbeResult>,
}

impl ConfigStatus {
    /// Takes a fetched document for `router`. Returns the desired state to converge to; `None`
    /// when the document is refused (the error is recorded, the kernel must be left as it is).
    pub fn accept(
        &mut self,
        text: &str,
        router: &str,
        protected: &[String],
    ) -> Option<DesiredState> {
        let parsed = apply::desired::parse(text, protected).map_err(|error| error.to_string());
        self.take(parsed, router, || generation_of(text))
    }

    /// Takes the cached configuration at start (see [`ConfigStatus::accept`]).
    pub fn accept_cached(
        &mut self,
        config: &RouterConfig,
        router: &str,
        protected: &[String],
    ) -> Option<DesiredState> {
        let parsed = apply::desired::validate(config, protected)
            .map_err(|error| format!("the cached configuration: {error}"));
        self.take(parsed, router, || Some(config.generation))
    }

    fn take(
        &mut self,
        parsed: Result<DesiredState, String>,
        router: &str,
        generation: impl FnOnce() -> Option<i64>,
    ) -> Option<DesiredState> {
        let refused = match parsed {
            Ok(desired) if desired.router == router => {
                self.desired = Some(desired.clone());
                return Some(desired);
            }
            Ok(desired) => format!(
                "failed to accept the configuration of generation {}: it is for router {:?}, this is {router:?}",
                desired.generation, desired.router
            ),
            Err(error) => error,
        };
        self.attempted_generation = generation().or(self.attempted_generation);
        self.attempt_errors = vec![refused];
        None
    }

    /// Records what a convergence did.
    pub fn converged(&mut self, outcome: &ConvergeOutcome) {
        self.attempted_generation = Some(outcome.generation);
        if outcome.complete() {
            self.applied_generation = Some(outcome.generation);
        }
        self.attempt_errors.clone_from(&outcome.errors);
        self.drift.clone_from(&outcome.drift);
    }

    /// Records a check: the drift (or why it could not be computed) and the probes' outcomes.
    pub fn checked(&mut self, drift: Result<Vec<String>, String>, probes: Vec<ProbeOutcome>) {
        self.check_errors.clear();
        match drift {
            Ok(drift) => self.drift = drift,
            Err(error) => {
                self.drift.clear();
                self.check_errors.push(error);
            }
        }
        self.probes = Vec::with_capacity(probes.len());
        for outcome in probes {
            self.check_errors.extend(outcome.error);
            self.probes.push(outcome.result);
        }
    }

    /// The configuration drift and probes are measured against.
    pub fn desired(&self) -> Option<&DesiredState> {
        self.desired.as_ref()
    }

    /// What the next telemetry report says; `None` before any configuration arrived.
    pub fn report(&self) -> Option<ConfigReport> {
        if self.desired.is_none()
            && self.attempted_generation.is_none()
            && self.attempt_errors.is_empty()
        {
            return None;
        }
        Some(ConfigReport {
            applied_generation: self.applied_generation,
            attempted_generation: self.attempted_generation,
            errors: self
                .attempt_errors
                .iter()
                .chain(&self.check_errors)
                .cloned()
                .collect(),
            drift: self.drift.clone(),
            probes: self.probes.clone(),
        })
    }
}

/// The `generation` of a document that was refused, if it has one where expected.
fn generation_of(text: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()?
        .get("generation")?
        .as_i64()
}

/// A fetched document, as the poller hands it over.
#[derive(Clone, Debug)]
struct Arrival {
    etag: Option<String>,
    body: Vec<u8>,
}

/// What the tasks need of the agent's configuration.
#[derive(Clone, Debug)]
struct Context {
    router: String,
    state_dir: PathBuf,
    netns: Option<PathBuf>,
    protected: Vec<String>,
    probe: ProbeOptions,
    interval: Duration,
    poll_wait: Duration,
    metrics: AgentMetrics,
}

/// The running configuration task; stopped when dropped.
#[derive(Debug)]
pub struct ConfigTask {
    reports: watch::Receiver<Option<ConfigReport>>,
    tasks: Vec<JoinHandle<()>>,
}

impl ConfigTask {
    /// Starts the poller and the converger; `client` is the reports' mutual-TLS client.
    pub fn start(config: &Config, client: reqwest::Client, metrics: &AgentMetrics) -> Self {
        let context = Context {
            router: config.router.clone(),
            state_dir: config.state_dir.clone(),
            netns: config.netns.clone(),
            protected: config.desired.protected_interfaces.clone(),
            probe: ProbeOptions {
                timeout: config.desired.probe_timeout,
                attempts: config.desired.probe_attempts,
            },
            interval: config.interval,
            poll_wait: config.desired.poll_wait,
            metrics: metrics.clone(),
        };
        let mut status = ConfigStatus::default();
        let mut etag = None;
        match fetch::load_cache(&context.state_dir) {
            Ok(Some(cached)) => {
                if status
                    .accept_cached(&cached.config, &context.router, &context.protected)
                    .is_some()
                {
                    tracing::info!(
                        generation = cached.config.generation,
                        "converging to the cached configuration until the controller answers"
                    );
                    etag = cached.etag;
                }
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "ignoring the cached configuration"),
        }
        let (arrivals, arrived) = watch::channel(None);
        let (published, reports) = watch::channel(status.report());
        let fetcher = ConfigFetcher::new(client, config);
        tracing::info!(url = fetcher.url(), wait = ?context.poll_wait, "fetching the desired configuration");
        let tasks = vec![
            tokio::spawn(poll(fetcher, etag, context.clone(), arrivals)),
            tokio::spawn(converge_loop(context, status, arrived, published)),
        ];
        Self { reports, tasks }
    }

    /// The latest report of the configuration (`None` before any arrived).
    pub fn report(&self) -> Option<ConfigReport> {
        self.reports.borrow().clone()
    }
}

impl Drop for ConfigTask {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Fetches for ever, handing every new document to the converger.
async fn poll(
    fetcher: ConfigFetcher,
    mut etag: Option<String>,
    context: Context,
    arrivals: watch::Sender<Option<Arrival>>,
) {
    let mut failing = false;
    loop {
        let started = Instant::now();
        let mut pause = MIN_FETCH_SPACING;
        match fetcher.fetch(etag.as_deref(), context.poll_wait).await {
            Ok(answer) => {
                if failing {
                    tracing::info!("the controller answers configuration fetches again");
                    failing = false;
                }
                if let Fetched::Changed { etag: new, body } = answer {
                    if new.is_none() {
                        // Without an ETag the next fetch could not wait for a change.
                        pause = context.interval;
                    }
                    etag.clone_from(&new);
                    arrivals.send_replace(Some(Arrival { etag: new, body }));
                }
            }
            Err(error) => {
                context
                    .metrics
                    .config_fetch_failures
                    .with_label_values(&[error.reason()])
                    .inc();
                if !failing {
                    tracing::warn!(%error, "cannot fetch the desired configuration; converging to the last known one and trying again every interval");
                    failing = true;
                }
                pause = context.interval;
            }
        }
        tokio::time::sleep(pause.saturating_sub(started.elapsed())).await;
    }
}

/// Converges to every new document, and checks drift and probes every interval.
async fn converge_loop(
    context: Context,
    mut status: ConfigStatus,
    mut arrived: watch::Receiver<Option<Arrival>>,
    published: watch::Sender<Option<ConfigReport>>,
) {
    if let Some(desired) = status.desired().cloned() {
        converge(&context, &mut status, desired).await;
    }
    let mut ticker = tokio::time::interval(context.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = arrived.changed() => {
                if changed.is_err() {
                    return;
                }
                let arrival = arrived.borrow_and_update().clone();
                if let Some(arrival) = arrival {
                    take(&context, &mut status, arrival).await;
                }
            }
            _ = ticker.tick() => {}
        }
        if let Some(desired) = status.desired().cloned() {
            let (drift, probes) = check(&context, desired.clone()).await;
            // Drift is repaired, not only reported: what someone removed by hand (or the
            // kernel flushed) is put back, and the check after it says what still differs.
            if drift.as_ref().is_ok_and(|drift| !drift.is_empty()) {
                tracing::info!(drift = ?drift, "the kernel drifted from the desired configuration; converging again");
                converge(&context, &mut status, desired.clone()).await;
                let (drift, probes) = check(&context, desired).await;
                status.checked(drift, probes);
            } else {
                status.checked(drift, probes);
            }
        }
        publish(&context.metrics, &status, &published);
    }
}

/// Accepts (and caches) or refuses a fetched document, and converges to it when accepted.
async fn take(context: &Context, status: &mut ConfigStatus, arrival: Arrival) {
    let text = String::from_utf8_lossy(&arrival.body);
    let Some(desired) = status.accept(&text, &context.router, &context.protected) else {
        if let Some(report) = status.report() {
            tracing::error!(errors = ?report.errors, "refused the desired configuration; the kernel is left as it is");
        }
        return;
    };
    match serde_json::from_str::<RouterConfig>(&text) {
        Ok(config) => {
            let cached = CachedConfig {
                etag: arrival.etag,
                config,
            };
            if let Err(error) = fetch::store_cache(&context.state_dir, &cached) {
                tracing::warn!(%error, "cannot cache the desired configuration");
            }
        }
        Err(error) => tracing::warn!(%error, "cannot cache the desired configuration"),
    }
    converge(context, status, desired).await;
}

/// Converges the kernel to `desired` on a blocking thread in the router's namespace.
async fn converge(context: &Context, status: &mut ConfigStatus, desired: DesiredState) {
    let generation = desired.generation;
    let netns = context.netns.clone();
    let state_dir = context.state_dir.clone();
    let result = tokio::task::spawn_blocking(move || {
        netns::run_in(netns.as_deref(), || match Netlink::route() {
            Ok(mut netlink) => apply::converge(&mut netlink, &desired, &state_dir),
            Err(error) => failed(generation, error.to_string()),
        })
    })
    .await;
    let outcome = match result {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => failed(generation, error.to_string()),
        Err(error) => failed(
            generation,
            format!("the convergence thread failed: {error}"),
        ),
    };
    if outcome.complete() {
        tracing::info!(
            generation,
            batches = outcome.batches.len(),
            drift = outcome.drift.len(),
            "converged to the desired configuration"
        );
    } else {
        tracing::error!(generation, errors = ?outcome.errors, "the desired configuration was not applied in full");
    }
    status.converged(&outcome);
}

fn failed(generation: i64, error: String) -> ConvergeOutcome {
    ConvergeOutcome {
        generation,
        errors: vec![error],
        ..ConvergeOutcome::default()
    }
}

/// Recomputes the drift and runs the probes, on a blocking thread in the router's namespace.
async fn check(
    context: &Context,
    desired: DesiredState,
) -> (Result<Vec<String>, String>, Vec<ProbeOutcome>) {
    let netns = context.netns.clone();
    let state_dir = context.state_dir.clone();
    let options = context.probe;
    let probes: Vec<ProbeConfig> = desired
        .probes
        .iter()
        .map(|probe| ProbeConfig {
            name: probe.name.clone(),
            target: probe.target,
            source: probe.source,
        })
        .collect();
    let result = tokio::task::spawn_blocking(move || {
        let drift = netns::run_in(netns.as_deref(), || {
            let mut netlink = Netlink::route().map_err(|error| error.to_string())?;
            apply::drift(&mut netlink, &desired, &state_dir).map_err(|error| error.to_string())
        })
        .map_err(|error| error.to_string())
        .and_then(|drift| drift);
        let outcomes = probe::run(netns.as_deref(), &probes, &options)
            .unwrap_or_else(|error| not_run(&probes, &error.to_string()));
        (drift, outcomes)
    })
    .await;
    result.unwrap_or_else(|error| {
        let error = format!("the checking thread failed: {error}");
        (Err(error.clone()), Vec::new())
    })
}

/// Every probe unreachable, with why none could run.
fn not_run(probes: &[ProbeConfig], error: &str) -> Vec<ProbeOutcome> {
    probes
        .iter()
        .map(|probe| ProbeOutcome {
            result: ProbeResult {
                name: probe.name.clone(),
                target: probe.target,
                reachable: false,
            },
            error: Some(format!("probe {}: {error}", probe.name)),
        })
        .collect()
}

/// Publishes the status to the report loop and the metrics.
fn publish(
    metrics: &AgentMetrics,
    status: &ConfigStatus,
    published: &watch::Sender<Option<ConfigReport>>,
) {
    let report = status.report();
    if let Some(report) = &report {
        if let Some(generation) = report.applied_generation {
            metrics.config_applied_generation.set(generation);
        }
        metrics
            .config_errors
            .set(i64::try_from(report.errors.len()).unwrap_or(i64::MAX));
        metrics
            .config_drift
            .set(i64::try_from(report.drift.len()).unwrap_or(i64::MAX));
        metrics.set_probes(
            report
                .probes
                .iter()
                .map(|probe| (probe.name.as_str(), probe.reachable)),
        );
    }
    published.send_replace(report);
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTER: &str = "hanbin-county";

    fn document(router: &str, generation: i64) -> String {
        serde_json::json!({
            "router": router,
            "generation": generation,
            "addresses": [{"interface": "lan0", "address": "2001:db8:a00:10::1/64"}],
            "probes": [{"name": "city-core", "target": "2001:db8:a00::1"}],
        })
        .to_string()
    }

    fn outcome(generation: i64, errors: &[&str], drift: &[&str]) -> ConvergeOutcome {
        ConvergeOutcome {
            generation,
            errors: errors.iter().map(|e| (*e).to_owned()).collect(),
            drift: drift.iter().map(|d| (*d).to_owned()).collect(),
            ..ConvergeOutcome::default()
        }
    }

    fn probe(name: &str, reachable: bool, error: Option<&str>) -> ProbeOutcome {
        ProbeOutcome {
            result: ProbeResult {
                name: name.to_owned(),
                target: "2001:db8:a00::1".parse().expect("ip"),
                reachable,
            },
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn nothing_is_reported_before_a_configuration_arrives() {
        assert_eq!(ConfigStatus::default().report(), None);
    }

    #[test]
    fn a_complete_convergence_is_applied_a_partial_one_only_attempted() {
        let mut status = ConfigStatus::default();
        let desired = status
            .accept(&document(ROUTER, 3), ROUTER, &[])
            .expect("accepted");
        assert_eq!(desired.generation, 3);
        status.converged(&outcome(3, &[], &[]));
        let report = status.report().expect("a report");
        assert_eq!(report.applied_generation, Some(3));
        assert_eq!(report.attempted_generation, Some(3));
        assert!(report.errors.is_empty());

        status
            .accept(&document(ROUTER, 4), ROUTER, &[])
            .expect("accepted");
        status.converged(&outcome(
            4,
            &["batch segment yibao failed"],
            &["route 2001:db8:a00:100::/56 missing"],
        ));
        let report = status.report().expect("a report");
        assert_eq!(
            report.applied_generation,
            Some(3),
            "4 was not applied in full"
        );
        assert_eq!(report.attempted_generation, Some(4));
        assert_eq!(report.errors, ["batch segment yibao failed"]);
        assert_eq!(report.drift, ["route 2001:db8:a00:100::/56 missing"]);
    }

    #[test]
    fn a_document_that_does_not_parse_is_reported_and_the_last_one_kept() {
        let mut status = ConfigStatus::default();
        status
            .accept(&document(ROUTER, 3), ROUTER, &[])
            .expect("accepted");
        status.converged(&outcome(3, &[], &[]));
        let bad = document(ROUTER, 4).replace("2001:db8:a00:10::1/64", "2001:db8:a00:10::1");
        assert!(status.accept(&bad, ROUTER, &[]).is_none(), "refused");
        let report = status.report().expect("a report");
        assert_eq!(report.applied_generation, Some(3));
        assert_eq!(report.attempted_generation, Some(4));
        assert_eq!(report.errors.len(), 1, "{report:?}");
        assert!(
            report.errors[0].contains("addresses[0].address"),
            "names the field: {report:?}"
        );
        assert_eq!(
            status.desired().expect("kept").generation,
            3,
            "drift and probes still measure generation 3"
        );
        // Not even JSON: the generation attempted stays the last known.
        assert!(status.accept("{\"router\":", ROUTER, &[]).is_none());
        let report = status.report().expect("a report");
        assert_eq!(report.attempted_generation, Some(4));
        assert!(
            report.errors[0].starts_with("failed to parse the desired configuration"),
            "{report:?}"
        );
    }

    #[test]
    fn a_document_for_another_router_is_refused() {
        let mut status = ConfigStatus::default();
        assert!(
            status
                .accept(&document("hanyin-county", 2), ROUTER, &[])
                .is_none()
        );
        let report = status.report().expect("a report");
        assert_eq!(report.applied_generation, None);
        assert_eq!(report.attempted_generation, Some(2));
        assert_eq!(
            report.errors,
            [
                "failed to accept the configuration of generation 2: it is for router \"hanyin-county\", this is \"hanbin-county\""
            ]
        );
        assert!(status.desired().is_none());
    }

    #[test]
    fn checks_replace_drift_and_probes_and_keep_attempt_errors() {
        let mut status = ConfigStatus::default();
        status
            .accept(&document(ROUTER, 3), ROUTER, &[])
            .expect("accepted");
        status.converged(&outcome(3, &["refused segments[0]: classified"], &[]));
        status.checked(
            Ok(vec!["address 2001:db8:a00:10::1/64 on lan0 missing".to_owned()]),
            vec![
                probe("city-core", true, None),
                probe(
                    "from-lan",
                    false,
                    Some("probe from-lan: failed to probe from 2001:db8:9::1: no such source address on this router"),
                ),
            ],
        );
        let report = status.report().expect("a report");
        assert_eq!(
            report.drift,
            ["address 2001:db8:a00:10::1/64 on lan0 missing"]
        );
        assert_eq!(report.probes.len(), 2);
        assert!(report.probes[0].reachable);
        assert_eq!(report.errors.len(), 2, "{report:?}");
        assert_eq!(report.errors[0], "refused segments[0]: classified");
        // The next check replaces the last one's findings, not the attempt's.
        status.checked(
            Err("failed to enter the network namespace".to_owned()),
            vec![probe("city-core", false, None)],
        );
        let report = status.report().expect("a report");
        assert!(report.drift.is_empty());
        assert_eq!(
            report.errors,
            [
                "refused segments[0]: classified",
                "failed to enter the network namespace"
            ]
        );
        assert!(!report.probes[0].reachable);
    }

    #[test]
    fn the_cached_configuration_is_validated_like_a_fetched_one() {
        let config: RouterConfig = serde_json::from_str(&document(ROUTER, 5)).expect("json");
        let mut status = ConfigStatus::default();
        assert_eq!(
            status
                .accept_cached(&config, ROUTER, &[])
                .expect("accepted")
                .generation,
            5
        );
        let mut status = ConfigStatus::default();
        assert!(status.accept_cached(&config, "other", &[]).is_none());
    }
}
