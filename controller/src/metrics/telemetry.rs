//! The agent listener's metrics, registered in the controller's registry: telemetry reports
//! stored or ignored as duplicates, and refusals by reason (a fixed set, every reason always
//! present). `docs/metrics.md` documents them.

use prometheus::{IntCounterVec, Opts, Registry};

/// Why the agent listener refused a connection or a telemetry report: the `reason` label of
/// `govcloud_telemetry_refused_total`, a fixed set.
pub const TELEMETRY_REFUSAL_REASONS: [&str; 8] = [
    "handshake",
    "unknown_certificate",
    "revoked",
    "router_mismatch",
    "unknown_router",
    "malformed",
    "invalid",
    "too_large",
];

/// The agent listener's metrics: reports stored or ignored as duplicates, and refusals by
/// reason (every reason always present).
#[derive(Debug, Clone)]
pub struct TelemetryMetrics {
    reports: IntCounterVec,
    refused: IntCounterVec,
}

impl TelemetryMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let reports = IntCounterVec::new(
            Opts::new(
                "govcloud_telemetry_reports_total",
                "Telemetry reports accepted from router agents, by outcome (stored, duplicate).",
            ),
            &["outcome"],
        )?;
        let refused = IntCounterVec::new(
            Opts::new(
                "govcloud_telemetry_refused_total",
                "TLS handshakes and telemetry reports the agent listener refused, by reason.",
            ),
            &["reason"],
        )?;
        for outcome in ["stored", "duplicate"] {
            reports.with_label_values(&[outcome]);
        }
        for reason in TELEMETRY_REFUSAL_REASONS {
            refused.with_label_values(&[reason]);
        }
        registry.register(Box::new(reports.clone()))?;
        registry.register(Box::new(refused.clone()))?;
        Ok(Self { reports, refused })
    }

    /// Counts an accepted report: stored now, or a duplicate of one stored before.
    pub fn accepted(&self, stored: bool) {
        let outcome = if stored { "stored" } else { "duplicate" };
        self.reports.with_label_values(&[outcome]).inc();
    }

    /// Counts a refusal; `reason` is one of [`TELEMETRY_REFUSAL_REASONS`].
    pub fn refused(&self, reason: &'static str) {
        self.refused.with_label_values(&[reason]).inc();
    }

    /// Refusals for `reason` so far.
    pub fn refusals(&self, reason: &str) -> u64 {
        self.refused.with_label_values(&[reason]).get()
    }
}
