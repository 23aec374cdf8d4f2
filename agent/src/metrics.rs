//! The agent's own metrics, for local scraping on the router: reports by outcome, the spool's
//! depth and drops, how long observation takes, and when the controller last took a report;
//! of the desired configuration: the generation applied, fetch failures, errors and
//! drift, and each reachability probe's result.

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Outcomes of a report send, the values of the `outcome` label.
pub const OUTCOMES: [&str; 3] = ["stored", "refused", "unreachable"];
/// Why a configuration fetch failed, the values of the `reason` label.
pub const FETCH_FAILURES: [&str; 2] = ["unreachable", "refused"];

/// The agent's registry and its metrics.
#[derive(Clone, Debug)]
pub struct AgentMetrics {
    registry: Registry,
    /// Reports sent, by outcome.
    pub reports: IntCounterVec,
    /// Reports waiting in the spool.
    pub spool_reports: IntGauge,
    /// Bytes waiting in the spool.
    pub spool_bytes: IntGauge,
    /// Reports dropped from a full spool.
    pub spool_dropped: IntCounter,
    /// Time to observe links, addresses and routes.
    pub observe_seconds: Histogram,
    /// Unix time of the last report the controller took.
    pub last_stored: IntGauge,
    /// The generation of the desired configuration last applied in full.
    pub config_applied_generation: IntGauge,
    /// Configuration fetches that failed, by reason.
    pub config_fetch_failures: IntCounterVec,
    /// Errors of the configuration last attempted (failed batches, a document refused whole,
    /// probes that could not run).
    pub config_errors: IntGauge,
    /// Differences between the desired and the observed state at the last check.
    pub config_drift: IntGauge,
    /// 1 when a probe's target answered at the last check, 0 when not; by probe name (the
    /// controller's configuration bounds the names).
    pub probe_reachable: IntGaugeVec,
}

impl AgentMetrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let reports = IntCounterVec::new(
            Opts::new(
                "govcloud_agent_reports_total",
                "Reports sent to the controller, by outcome (stored, refused, unreachable).",
            ),
            &["outcome"],
        )?;
        for outcome in OUTCOMES {
            reports.with_label_values(&[outcome]);
        }
        let spool_reports = IntGauge::new(
            "govcloud_agent_spool_reports",
            "Reports waiting in the spool for the controller.",
        )?;
        let spool_bytes = IntGauge::new(
            "govcloud_agent_spool_bytes",
            "Bytes of the reports waiting in the spool.",
        )?;
        let spool_dropped = IntCounter::new(
            "govcloud_agent_spool_dropped_total",
            "Reports dropped, oldest first, because the spool was full.",
        )?;
        let observe_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "govcloud_agent_observe_duration_seconds",
                "Time to observe links, addresses and routes through netlink.",
            )
            .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
        )?;
        let last_stored = IntGauge::new(
            "govcloud_agent_last_stored_timestamp_seconds",
            "Unix time at which the controller last took a report.",
        )?;
        let config_applied_generation = IntGauge::new(
            "govcloud_agent_config_applied_generation",
            "Generation of the desired configuration last applied with every batch succeeding.",
        )?;
        let config_fetch_failures = IntCounterVec::new(
            Opts::new(
                "govcloud_agent_config_fetch_failures_total",
                "Fetches of the desired configuration that failed, by reason (unreachable, refused).",
            ),
            &["reason"],
        )?;
        for reason in FETCH_FAILURES {
            config_fetch_failures.with_label_values(&[reason]);
        }
        let config_errors = IntGauge::new(
            "govcloud_agent_config_errors",
            "Errors of the desired configuration last attempted (failed batches, a refused document, probes that could not run).",
        )?;
        let config_drift = IntGauge::new(
            "govcloud_agent_config_drift",
            "Differences between the desired and the observed state at the last check.",
        )?;
        let probe_reachable = IntGaugeVec::new(
            Opts::new(
                "govcloud_agent_probe_reachable",
                "1 when the reachability probe's target answered at the last check, 0 when not.",
            ),
            &["probe"],
        )?;
        registry.register(Box::new(config_applied_generation.clone()))?;
        registry.register(Box::new(config_fetch_failures.clone()))?;
        registry.register(Box::new(config_errors.clone()))?;
        registry.register(Box::new(config_drift.clone()))?;
        registry.register(Box::new(probe_reachable.clone()))?;
        registry.register(Box::new(reports.clone()))?;
        registry.register(Box::new(spool_reports.clone()))?;
        registry.register(Box::new(spool_bytes.clone()))?;
        registry.register(Box::new(spool_dropped.clone()))?;
        registry.register(Box::new(observe_seconds.clone()))?;
        registry.register(Box::new(last_stored.clone()))?;
        Ok(Self {
            registry,
            reports,
            spool_reports,
            spool_bytes,
            spool_dropped,
            observe_seconds,
            last_stored,
            config_applied_generation,
            config_fetch_failures,
            config_errors,
            config_drift,
            probe_reachable,
        })
    }

    /// Sets the probes' gauges to `results` (name, reachable), removing probes no longer
    /// configured.
    pub fn set_probes<'a>(&self, results: impl IntoIterator<Item = (&'a str, bool)>) {
        self.probe_reachable.reset();
        for (name, reachable) in results {
            self.probe_reachable
                .with_label_values(&[name])
                .set(i64::from(reachable));
        }
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_is_exported_from_the_start() {
        let metrics = AgentMetrics::new().expect("metrics");
        metrics.reports.with_label_values(&["stored"]).inc();
        metrics.spool_reports.set(3);
        let text = metrics.render();
        assert!(text.contains("govcloud_agent_reports_total{outcome=\"stored\"} 1"));
        assert!(text.contains("govcloud_agent_reports_total{outcome=\"unreachable\"} 0"));
        assert!(text.contains("govcloud_agent_spool_reports 3"));
        assert!(text.contains("govcloud_agent_config_fetch_failures_total{reason=\"refused\"} 0"));
    }

    #[test]
    fn probes_no_longer_configured_disappear() {
        let metrics = AgentMetrics::new().expect("metrics");
        metrics.set_probes([("city-core", true), ("county-lan", false)]);
        let text = metrics.render();
        assert!(
            text.contains("govcloud_agent_probe_reachable{probe=\"city-core\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("govcloud_agent_probe_reachable{probe=\"county-lan\"} 0"),
            "{text}"
        );
        metrics.set_probes([("city-core", false)]);
        let text = metrics.render();
        assert!(
            text.contains("govcloud_agent_probe_reachable{probe=\"city-core\"} 0"),
            "{text}"
        );
        assert!(!text.contains("county-lan"), "{text}");
    }
}
