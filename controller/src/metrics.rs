//! The controller's Prometheus registry, rendered in the text exposition format, and what every
//! capability shares in it: build information and the reconcile counters (`controller` and
//! `category` are fixed sets). Each capability defines and registers its own metrics in its
//! module — [`crate::tenancy::metrics`], [`crate::migration::metrics`],
//! [`crate::network::metrics`], [`crate::routing::metrics`], [`crate::addressing::metrics`],
//! [`crate::consolidation::metrics`], the agent listener's in [`telemetry`], the leader's in
//! [`crate::leader::metrics`] — and drops the series of objects that are gone. `tenant` labels
//! are shared by tenancy and migration: [`Metrics::retain_tenants`] drops both. Object names of
//! unbounded sets (systems, quota requests) and error texts never become labels.
//! `docs/metrics.md` documents every metric.

mod telemetry;

use std::collections::BTreeSet;
use std::time::Duration;

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub use telemetry::{TELEMETRY_REFUSAL_REASONS, TelemetryMetrics};

use crate::addressing::metrics::AddressingMetrics;
use crate::consolidation::metrics::ConsolidationMetrics;
use crate::migration::metrics::MigrationMetrics;
use crate::network::metrics::NetworkMetrics;
use crate::routing::metrics::RoutingMetrics;
use crate::tenancy::metrics::TenancyMetrics;

/// The controller's metrics: the registry, the reconcile counters, and each capability's.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciliations: IntCounterVec,
    reconcile_errors: IntCounterVec,
    reconcile_duration: HistogramVec,
    tenancy: TenancyMetrics,
    migration: MigrationMetrics,
    network: NetworkMetrics,
    routing: RoutingMetrics,
    addressing: AddressingMetrics,
    consolidation: ConsolidationMetrics,
}

impl Metrics {
    /// A registry holding every metric of the controller.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let build_info = IntGaugeVec::new(
            Opts::new(
                "govcloud_build_info",
                "Always 1; the version of the running govcloud controller in a label.",
            ),
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let reconciliations = IntCounterVec::new(
            Opts::new(
                "govcloud_reconciliations_total",
                "Reconciles started, by controller.",
            ),
            &["controller"],
        )?;
        let reconcile_errors = IntCounterVec::new(
            Opts::new(
                "govcloud_reconcile_errors_total",
                "Reconciles that failed, by controller and error category.",
            ),
            &["controller", "category"],
        )?;
        let reconcile_duration = HistogramVec::new(
            HistogramOpts::new(
                "govcloud_reconcile_duration_seconds",
                "Time a reconcile took, by controller.",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["controller"],
        )?;
        registry.register(Box::new(build_info))?;
        registry.register(Box::new(reconciliations.clone()))?;
        registry.register(Box::new(reconcile_errors.clone()))?;
        registry.register(Box::new(reconcile_duration.clone()))?;
        Ok(Self {
            tenancy: TenancyMetrics::register(&registry)?,
            migration: MigrationMetrics::register(&registry)?,
            network: NetworkMetrics::register(&registry)?,
            routing: RoutingMetrics::register(&registry)?,
            addressing: AddressingMetrics::register(&registry)?,
            consolidation: ConsolidationMetrics::register(&registry)?,
            registry,
            reconciliations,
            reconcile_errors,
            reconcile_duration,
        })
    }

    /// The registry, for other parts of the controller to register their own metrics in (the
    /// audit log, the API) so that one endpoint serves them all.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Tenancy's metrics (quota, delegation and usage per tenant, quota requests per phase).
    pub fn tenancy(&self) -> &TenancyMetrics {
        &self.tenancy
    }

    /// The migration campaign's metrics.
    pub fn migration(&self) -> &MigrationMetrics {
        &self.migration
    }

    /// The extranet's metrics (links, members, agents).
    pub fn network(&self) -> &NetworkMetrics {
        &self.network
    }

    /// The desired configuration's and the IPv6 rollout's metrics.
    pub fn routing(&self) -> &RoutingMetrics {
        &self.routing
    }

    /// The address pools' metrics.
    pub fn addressing(&self) -> &AddressingMetrics {
        &self.addressing
    }

    /// The dedicated networks' metrics (by disposition and phase, annual cost retired).
    pub fn consolidation(&self) -> &ConsolidationMetrics {
        &self.consolidation
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding gathered families into a Vec cannot fail but for invalid metrics, which
        // registration already refused.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Counts a reconcile of `controller`.
    pub fn reconciled(&self, controller: &str, took: Duration) {
        self.reconciliations.with_label_values(&[controller]).inc();
        self.reconcile_duration
            .with_label_values(&[controller])
            .observe(took.as_secs_f64());
    }

    /// Counts a failed reconcile of `controller`.
    pub fn failed(&self, controller: &str, category: &str) {
        self.reconcile_errors
            .with_label_values(&[controller, category])
            .inc();
    }

    /// Reconciles of `controller` so far.
    pub fn reconciliations(&self, controller: &str) -> u64 {
        self.reconciliations.with_label_values(&[controller]).get()
    }

    /// Drops the series of tenants not in `existing` (deleted tenants): their tenancy metrics
    /// and their rollback counter.
    pub fn retain_tenants(&self, existing: &BTreeSet<String>) {
        self.tenancy.retain_tenants(existing);
        self.migration.retain_tenants(existing);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use govcloud_core::tenancy::quota::{Partial, Quota};
    use govcloud_crds::quantity::{Amount, ResourceKind};

    use super::*;

    #[test]
    fn renders_tenancy_metrics_in_base_units_and_forgets_deleted_tenants() {
        let metrics = Metrics::new().expect("metrics");
        let quota = Quota {
            cpu: Amount::parse("1500m").expect("cpu"),
            memory: Amount::parse("2Gi").expect("memory"),
            storage: Amount::parse("1Ti").expect("storage"),
        };
        let usage = Partial::from([(ResourceKind::Cpu, Amount::parse("250m").expect("cpu"))]);
        metrics
            .tenancy()
            .set_tenant("finance", quota, Quota::ZERO, &usage);
        metrics
            .tenancy()
            .set_quota_requests(&BTreeMap::from([("Pending", 2), ("Applied", 1)]));
        metrics.reconciled("tenant", Duration::from_millis(20));
        metrics.failed("tenant", "ParentCycle");
        let text = metrics.render();
        for line in [
            "govcloud_build_info{version=\"0.1.0\"} 1",
            "govcloud_tenant_quota{resource=\"cpu\",tenant=\"finance\"} 1.5",
            "govcloud_tenant_quota{resource=\"memory\",tenant=\"finance\"} 2147483648",
            "govcloud_tenant_quota{resource=\"storage\",tenant=\"finance\"} 1099511627776",
            "govcloud_tenant_usage{resource=\"cpu\",tenant=\"finance\"} 0.25",
            "govcloud_quota_requests{phase=\"Pending\"} 2",
            "govcloud_quota_requests{phase=\"Expired\"} 0",
            "govcloud_reconciliations_total{controller=\"tenant\"} 1",
            "govcloud_reconcile_errors_total{category=\"ParentCycle\",controller=\"tenant\"} 1",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(!text.contains("govcloud_tenant_usage{resource=\"memory\""));
        metrics.retain_tenants(&BTreeSet::new());
        assert!(!metrics.render().contains("tenant=\"finance\""));
    }

    fn systems(counts: &[(&str, &str, i64)]) -> BTreeMap<(String, String), i64> {
        counts
            .iter()
            .map(|(tenant, phase, count)| (((*tenant).to_owned(), (*phase).to_owned()), *count))
            .collect()
    }

    fn assert_lines(text: &str, present: &[&str], absent: &[&str]) {
        for line in present {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        for line in absent {
            assert!(!text.contains(line), "unexpected {line} in\n{text}");
        }
    }

    #[test]
    fn migration_systems_and_failures_after_the_point_of_no_return_replace_their_sets() {
        let metrics = Metrics::new().expect("metrics");
        metrics.migration().set_migration_systems(&systems(&[
            ("finance", "Completed", 3),
            ("finance", "Migrating", 1),
            ("hanbin", "Failed", 2),
        ]));
        metrics
            .migration()
            .set_failed_after_point_of_no_return(&BTreeMap::from([
                ("hanbin".to_owned(), 1),
                ("finance".to_owned(), 0),
            ]));
        assert_lines(
            &metrics.render(),
            &[
                "# TYPE govcloud_migration_systems gauge",
                "govcloud_migration_systems{phase=\"Completed\",tenant=\"finance\"} 3",
                "govcloud_migration_systems{phase=\"Migrating\",tenant=\"finance\"} 1",
                "govcloud_migration_systems{phase=\"Failed\",tenant=\"hanbin\"} 2",
                "# TYPE govcloud_migration_failed_after_point_of_no_return gauge",
                "govcloud_migration_failed_after_point_of_no_return{tenant=\"hanbin\"} 1",
                "govcloud_migration_failed_after_point_of_no_return{tenant=\"finance\"} 0",
            ],
            &[],
        );
        metrics.migration().set_migration_systems(&systems(&[
            ("finance", "Completed", 4),
            ("hanbin", "RolledBack", 2),
        ]));
        metrics
            .migration()
            .set_failed_after_point_of_no_return(&BTreeMap::from([("finance".to_owned(), 0)]));
        assert_lines(
            &metrics.render(),
            &[
                "govcloud_migration_systems{phase=\"Completed\",tenant=\"finance\"} 4",
                "govcloud_migration_systems{phase=\"RolledBack\",tenant=\"hanbin\"} 2",
                "govcloud_migration_failed_after_point_of_no_return{tenant=\"finance\"} 0",
            ],
            &[
                "phase=\"Migrating\"",
                "phase=\"Failed\"",
                "govcloud_migration_failed_after_point_of_no_return{tenant=\"hanbin\"}",
            ],
        );
        metrics.migration().set_migration_systems(&BTreeMap::new());
        metrics
            .migration()
            .set_failed_after_point_of_no_return(&BTreeMap::new());
        assert_lines(
            &metrics.render(),
            &[],
            &[
                "govcloud_migration_systems{",
                "govcloud_migration_failed_after_point_of_no_return{",
            ],
        );
    }

    #[test]
    fn campaigns_render_their_projection_and_deleted_ones_disappear() {
        let metrics = Metrics::new().expect("metrics");
        metrics
            .migration()
            .set_campaign("ankang-2025", 0.25, Some(12), false);
        metrics
            .migration()
            .set_campaign("hanbin-2025", 1.5, Some(-30), true);
        assert_lines(
            &metrics.render(),
            &[
                "# TYPE govcloud_migration_campaign_completion_ratio gauge",
                "govcloud_migration_campaign_completion_ratio{plan=\"ankang-2025\"} 0.25",
                "govcloud_migration_campaign_completion_ratio{plan=\"hanbin-2025\"} 1",
                "govcloud_migration_campaign_projected_days_late{plan=\"ankang-2025\"} 12",
                "govcloud_migration_campaign_projected_days_late{plan=\"hanbin-2025\"} -30",
                "govcloud_migration_campaign_on_track{plan=\"ankang-2025\"} 0",
                "govcloud_migration_campaign_on_track{plan=\"hanbin-2025\"} 1",
            ],
            &[],
        );
        // Blocked: no projection any more.
        metrics
            .migration()
            .set_campaign("ankang-2025", 0.5, None, false);
        assert_lines(
            &metrics.render(),
            &[
                "govcloud_migration_campaign_completion_ratio{plan=\"ankang-2025\"} 0.5",
                "govcloud_migration_campaign_on_track{plan=\"ankang-2025\"} 0",
            ],
            &["govcloud_migration_campaign_projected_days_late{plan=\"ankang-2025\"}"],
        );
        metrics
            .migration()
            .retain_campaigns(&BTreeSet::from(["ankang-2025".to_owned()]));
        assert_lines(
            &metrics.render(),
            &["plan=\"ankang-2025\""],
            &["plan=\"hanbin-2025\""],
        );
        metrics.migration().retain_campaigns(&BTreeSet::new());
        assert_lines(&metrics.render(), &[], &["plan=\""]);
    }

    #[test]
    fn steps_and_rollbacks_are_counted_and_rollbacks_of_deleted_tenants_disappear() {
        let metrics = Metrics::new().expect("metrics");
        let before = metrics.render();
        assert_lines(
            &before,
            &[
                "# TYPE govcloud_migration_step_duration_seconds histogram",
                "govcloud_migration_step_duration_seconds_count{kind=\"Manual\",outcome=\"rolled_back\"} 0",
            ],
            &["govcloud_migration_rollbacks_total{"],
        );
        metrics.migration().observe_step("Job", "succeeded", 420.0);
        metrics
            .migration()
            .observe_step("Manual", "succeeded", 100_000.0);
        metrics.migration().observe_step("Webhook", "failed", 0.5);
        metrics.migration().rolled_back("hanbin");
        metrics.migration().rolled_back("hanbin");
        metrics.migration().rolled_back("finance");
        assert_lines(
            &metrics.render(),
            &[
                "govcloud_migration_step_duration_seconds_bucket{kind=\"Job\",outcome=\"succeeded\",le=\"300\"} 0",
                "govcloud_migration_step_duration_seconds_bucket{kind=\"Job\",outcome=\"succeeded\",le=\"900\"} 1",
                "govcloud_migration_step_duration_seconds_bucket{kind=\"Manual\",outcome=\"succeeded\",le=\"86400\"} 0",
                "govcloud_migration_step_duration_seconds_bucket{kind=\"Manual\",outcome=\"succeeded\",le=\"172800\"} 1",
                "govcloud_migration_step_duration_seconds_bucket{kind=\"Webhook\",outcome=\"failed\",le=\"1\"} 1",
                "govcloud_migration_step_duration_seconds_sum{kind=\"Job\",outcome=\"succeeded\"} 420",
                "govcloud_migration_step_duration_seconds_count{kind=\"Job\",outcome=\"succeeded\"} 1",
                "# TYPE govcloud_migration_rollbacks_total counter",
                "govcloud_migration_rollbacks_total{tenant=\"hanbin\"} 2",
                "govcloud_migration_rollbacks_total{tenant=\"finance\"} 1",
            ],
            &[],
        );
        metrics.retain_tenants(&BTreeSet::from(["finance".to_owned()]));
        assert_lines(
            &metrics.render(),
            &["govcloud_migration_rollbacks_total{tenant=\"finance\"} 1"],
            &["govcloud_migration_rollbacks_total{tenant=\"hanbin\"}"],
        );
    }
}
