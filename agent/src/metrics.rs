//! The agent's own metrics, for local scraping on the router: reports by outcome, the spool's
//! depth and drops, how long observation takes, and when the controller last took a report.

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Outcomes of a report send, the values of the `outcome` label.
pub const OUTCOMES: [&str; 3] = ["stored", "refused", "unreachable"];

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
        })
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
    }
}
