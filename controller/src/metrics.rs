//! The controller's Prometheus registry: build information, reconcile counters, the tenancy
//! metrics (quota, usage and delegation per tenant and resource, quota requests per phase) and
//! the migration campaign's metrics (systems per tenant and phase, each campaign's progress and
//! projection, step durations, rollbacks, failures after the point of no return), rendered in
//! the text exposition format. Labels are bounded: `tenant` takes the names of `Tenant` objects
//! and `plan` those of `MigrationPlan` objects, managed, finite sets declared by operations
//! (about 30 tenants for a city, 1,300 for a province; a handful of campaigns); `resource`,
//! `phase`, `controller`, `category`, `kind` and `outcome` are fixed sets. Object names of
//! unbounded sets (systems, quota requests) and error texts never become labels.
//! `docs/metrics.md` documents every metric.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use govcloud_crds::quantity::{Amount, ResourceKind};
use prometheus::{
    Encoder as _, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use govcloud_core::tenancy::quota::{Partial, Quota};

/// The controller's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    tenant_quota: GaugeVec,
    tenant_delegated: GaugeVec,
    tenant_usage: GaugeVec,
    quota_requests: IntGaugeVec,
    reconciliations: IntCounterVec,
    reconcile_errors: IntCounterVec,
    reconcile_duration: HistogramVec,
    migration: MigrationMetrics,
    network: crate::network::metrics::NetworkMetrics,
    consolidation: crate::consolidation::metrics::ConsolidationMetrics,
    addressing: crate::addressing::metrics::AddressingMetrics,
    routing: crate::routing::metrics::RoutingMetrics,
    /// Tenants with series, to drop those of deleted tenants.
    tenants: Mutex<BTreeSet<String>>,
}

/// A quantity in base units (cores, bytes) as a sample value.
fn base_units(amount: Amount) -> f64 {
    // Exact up to 2^53 thousandths; beyond, the nearest double is what Prometheus stores anyway.
    #[allow(clippy::cast_precision_loss)]
    let milli = amount.milli() as f64;
    milli / 1000.0
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
        let tenant_quota = GaugeVec::new(
            Opts::new(
                "govcloud_tenant_quota",
                "A tenant's quota (spec.quota), in cores or bytes.",
            ),
            &["tenant", "resource"],
        )?;
        let tenant_delegated = GaugeVec::new(
            Opts::new(
                "govcloud_tenant_delegated",
                "Quota a tenant hands on to its child tenants, in cores or bytes.",
            ),
            &["tenant", "resource"],
        )?;
        let tenant_usage = GaugeVec::new(
            Opts::new(
                "govcloud_tenant_usage",
                "Resources requested in a tenant's own namespaces (summed ResourceQuota status), in cores or bytes.",
            ),
            &["tenant", "resource"],
        )?;
        let quota_requests = IntGaugeVec::new(
            Opts::new(
                "govcloud_quota_requests",
                "Quota requests by phase (Pending, Approved, Applied, Denied, Expired).",
            ),
            &["phase"],
        )?;
        for phase in govcloud_core::tenancy::requests::PHASES {
            quota_requests
                .with_label_values(&[govcloud_core::tenancy::requests::phase_name(phase)])
                .set(0);
        }
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
        registry.register(Box::new(tenant_quota.clone()))?;
        registry.register(Box::new(tenant_delegated.clone()))?;
        registry.register(Box::new(tenant_usage.clone()))?;
        registry.register(Box::new(quota_requests.clone()))?;
        registry.register(Box::new(reconciliations.clone()))?;
        registry.register(Box::new(reconcile_errors.clone()))?;
        registry.register(Box::new(reconcile_duration.clone()))?;
        let migration = MigrationMetrics::register(&registry)?;
        let network = crate::network::metrics::NetworkMetrics::register(&registry)?;
        let consolidation =
            crate::consolidation::metrics::ConsolidationMetrics::register(&registry)?;
        let addressing = crate::addressing::metrics::AddressingMetrics::register(&registry)?;
        let routing = crate::routing::metrics::RoutingMetrics::register(&registry)?;
        Ok(Self {
            registry,
            tenant_quota,
            tenant_delegated,
            tenant_usage,
            quota_requests,
            reconciliations,
            reconcile_errors,
            reconcile_duration,
            migration,
            network,
            consolidation,
            addressing,
            routing,
            tenants: Mutex::new(BTreeSet::new()),
        })
    }

    /// The registry, for other parts of the controller to register their own metrics in (the
    /// audit log, the API) so that one endpoint serves them all.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The extranet's metrics (links, members, agents).
    pub fn network(&self) -> &crate::network::metrics::NetworkMetrics {
        &self.network
    }

    /// The desired configuration's and the IPv6 rollout's metrics.
    pub fn routing(&self) -> &crate::routing::metrics::RoutingMetrics {
        &self.routing
    }

    /// The address pools' metrics.
    pub fn addressing(&self) -> &crate::addressing::metrics::AddressingMetrics {
        &self.addressing
    }

    /// The dedicated networks' metrics (by disposition and phase, annual cost retired).
    pub fn consolidation(&self) -> &crate::consolidation::metrics::ConsolidationMetrics {
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

    /// Sets a tenant's quota, delegation and usage; resources without reported usage have no
    /// usage series.
    pub fn set_tenant(&self, tenant: &str, quota: Quota, delegated: Quota, usage: &Partial) {
        for resource in ResourceKind::ALL {
            let labels = [tenant, resource.as_str()];
            self.tenant_quota
                .with_label_values(&labels)
                .set(base_units(quota.get(resource)));
            self.tenant_delegated
                .with_label_values(&labels)
                .set(base_units(delegated.get(resource)));
            match usage.get(&resource) {
                Some(used) => self
                    .tenant_usage
                    .with_label_values(&labels)
                    .set(base_units(*used)),
                None => {
                    let _ = self.tenant_usage.remove_label_values(&labels);
                }
            }
        }
        if let Ok(mut tenants) = self.tenants.lock() {
            tenants.insert(tenant.to_owned());
        }
    }

    /// Drops the series of tenants not in `existing` (deleted tenants): their tenancy metrics
    /// and their rollback counter.
    pub fn retain_tenants(&self, existing: &BTreeSet<String>) {
        let Ok(mut tenants) = self.tenants.lock() else {
            return;
        };
        let gone: Vec<String> = tenants.difference(existing).cloned().collect();
        for tenant in gone {
            for resource in ResourceKind::ALL {
                let labels = [tenant.as_str(), resource.as_str()];
                let _ = self.tenant_quota.remove_label_values(&labels);
                let _ = self.tenant_delegated.remove_label_values(&labels);
                let _ = self.tenant_usage.remove_label_values(&labels);
            }
            let _ = self.migration.rollbacks.remove_label_values(&[&tenant]);
            tenants.remove(&tenant);
        }
    }

    /// Sets the number of quota requests in each phase.
    pub fn set_quota_requests(&self, counts: &BTreeMap<&'static str, i64>) {
        for (phase, count) in counts {
            self.quota_requests.with_label_values(&[phase]).set(*count);
        }
    }

    /// Replaces the number of systems per `(tenant, phase)`: pairs absent from `counts` lose
    /// their series.
    pub fn set_migration_systems(&self, counts: &BTreeMap<(String, String), i64>) {
        let mut series = self
            .migration
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (tenant, phase) in series
            .systems
            .iter()
            .filter(|key| !counts.contains_key(*key))
        {
            let _ = self.migration.systems.remove_label_values(&[tenant, phase]);
        }
        for ((tenant, phase), count) in counts {
            self.migration
                .systems
                .with_label_values(&[tenant, phase])
                .set(*count);
        }
        series.systems = counts.keys().cloned().collect();
    }

    /// Sets a campaign's completion ratio (clamped to 0–1), projected days late (negative when
    /// early; `None` removes the series: no projection) and whether it is on track.
    pub fn set_campaign(
        &self,
        plan: &str,
        completion_ratio: f64,
        projected_days_late: Option<i64>,
        on_track: bool,
    ) {
        let mut series = self
            .migration
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let labels = [plan];
        self.migration
            .campaign_completion
            .with_label_values(&labels)
            .set(completion_ratio.clamp(0.0, 1.0));
        match projected_days_late {
            Some(days) => self
                .migration
                .campaign_days_late
                .with_label_values(&labels)
                .set(days),
            None => {
                let _ = self
                    .migration
                    .campaign_days_late
                    .remove_label_values(&labels);
            }
        }
        self.migration
            .campaign_on_track
            .with_label_values(&labels)
            .set(i64::from(on_track));
        series.plans.insert(plan.to_owned());
    }

    /// Drops the series of campaigns not in `existing` (deleted plans).
    pub fn retain_campaigns(&self, existing: &BTreeSet<String>) {
        let mut series = self
            .migration
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for plan in series.plans.difference(existing) {
            let labels = [plan.as_str()];
            let _ = self
                .migration
                .campaign_completion
                .remove_label_values(&labels);
            let _ = self
                .migration
                .campaign_days_late
                .remove_label_values(&labels);
            let _ = self
                .migration
                .campaign_on_track
                .remove_label_values(&labels);
        }
        series.plans.retain(|plan| existing.contains(plan));
    }

    /// Observes a finished step of `kind` (`Job`, `Webhook`, `Manual`) that ended with `outcome`
    /// (`succeeded`, `failed`, `rolled_back`) after `seconds`.
    pub fn observe_step(&self, kind: &str, outcome: &str, seconds: f64) {
        self.migration
            .step_duration
            .with_label_values(&[kind, outcome])
            .observe(seconds);
    }

    /// Counts a system of `tenant` rolled back.
    pub fn rolled_back(&self, tenant: &str) {
        self.migration.rollbacks.with_label_values(&[tenant]).inc();
        if let Ok(mut tenants) = self.tenants.lock() {
            tenants.insert(tenant.to_owned());
        }
    }

    /// Replaces the number of systems per tenant in phase `Failed` after their point of no
    /// return: tenants absent from `counts` lose their series.
    pub fn set_failed_after_point_of_no_return(&self, counts: &BTreeMap<String, i64>) {
        let mut series = self
            .migration
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for tenant in series
            .failed_after_point_of_no_return
            .iter()
            .filter(|tenant| !counts.contains_key(*tenant))
        {
            let _ = self
                .migration
                .failed_after_point_of_no_return
                .remove_label_values(&[tenant]);
        }
        for (tenant, count) in counts {
            self.migration
                .failed_after_point_of_no_return
                .with_label_values(&[tenant])
                .set(*count);
        }
        series.failed_after_point_of_no_return = counts.keys().cloned().collect();
    }
}

/// Kinds of migration steps, the `kind` label of the step histogram.
pub const STEP_KINDS: [&str; 3] = ["Job", "Webhook", "Manual"];

/// How a migration step ended, the `outcome` label of the step histogram.
pub const STEP_OUTCOMES: [&str; 3] = ["succeeded", "failed", "rolled_back"];

/// Bounds of the step histogram, in seconds: a second to two days (a webhook call to a manual
/// step waiting for a weekend).
const STEP_BUCKETS: [f64; 14] = [
    1.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1_800.0, 3_600.0, 7_200.0, 14_400.0, 28_800.0, 43_200.0,
    86_400.0, 172_800.0,
];

/// The migration campaign's metrics.
#[derive(Debug)]
struct MigrationMetrics {
    systems: IntGaugeVec,
    campaign_completion: GaugeVec,
    campaign_days_late: IntGaugeVec,
    campaign_on_track: IntGaugeVec,
    step_duration: HistogramVec,
    rollbacks: IntCounterVec,
    failed_after_point_of_no_return: IntGaugeVec,
    /// Label values with series, to drop the stale ones.
    series: Mutex<MigrationSeries>,
}

/// Label values of the migration series that are replaced or retained as a whole.
#[derive(Debug, Default)]
struct MigrationSeries {
    systems: BTreeSet<(String, String)>,
    plans: BTreeSet<String>,
    failed_after_point_of_no_return: BTreeSet<String>,
}

impl MigrationMetrics {
    /// Creates the metrics and registers them in `registry`.
    fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let systems = IntGaugeVec::new(
            Opts::new(
                "govcloud_migration_systems",
                "Systems to migrate, by tenant and migration phase.",
            ),
            &["tenant", "phase"],
        )?;
        let campaign_completion = GaugeVec::new(
            Opts::new(
                "govcloud_migration_campaign_completion_ratio",
                "Share of a campaign's systems that completed their migration (0 to 1).",
            ),
            &["plan"],
        )?;
        let campaign_days_late = IntGaugeVec::new(
            Opts::new(
                "govcloud_migration_campaign_projected_days_late",
                "Days from a campaign's deadline to its projected completion; negative when early.",
            ),
            &["plan"],
        )?;
        let campaign_on_track = IntGaugeVec::new(
            Opts::new(
                "govcloud_migration_campaign_on_track",
                "1 when a campaign projects completion by its deadline with no blocked system, else 0.",
            ),
            &["plan"],
        )?;
        let step_duration = HistogramVec::new(
            HistogramOpts::new(
                "govcloud_migration_step_duration_seconds",
                "Time a migration step took, by step kind and outcome.",
            )
            .buckets(STEP_BUCKETS.to_vec()),
            &["kind", "outcome"],
        )?;
        for kind in STEP_KINDS {
            for outcome in STEP_OUTCOMES {
                let _ = step_duration.with_label_values(&[kind, outcome]);
            }
        }
        let rollbacks = IntCounterVec::new(
            Opts::new(
                "govcloud_migration_rollbacks_total",
                "Systems rolled back after a failed migration, by tenant.",
            ),
            &["tenant"],
        )?;
        let failed_after_point_of_no_return = IntGaugeVec::new(
            Opts::new(
                "govcloud_migration_failed_after_point_of_no_return",
                "Systems in phase Failed after their point of no return (no automatic rollback), by tenant.",
            ),
            &["tenant"],
        )?;
        registry.register(Box::new(systems.clone()))?;
        registry.register(Box::new(campaign_completion.clone()))?;
        registry.register(Box::new(campaign_days_late.clone()))?;
        registry.register(Box::new(campaign_on_track.clone()))?;
        registry.register(Box::new(step_duration.clone()))?;
        registry.register(Box::new(rollbacks.clone()))?;
        registry.register(Box::new(failed_after_point_of_no_return.clone()))?;
        Ok(Self {
            systems,
            campaign_completion,
            campaign_days_late,
            campaign_on_track,
            step_duration,
            rollbacks,
            failed_after_point_of_no_return,
            series: Mutex::new(MigrationSeries::default()),
        })
    }
}

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

#[cfg(test)]
mod tests {
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
        metrics.set_tenant("finance", quota, Quota::ZERO, &usage);
        metrics.set_quota_requests(&BTreeMap::from([("Pending", 2), ("Applied", 1)]));
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
        metrics.set_migration_systems(&systems(&[
            ("finance", "Completed", 3),
            ("finance", "Migrating", 1),
            ("hanbin", "Failed", 2),
        ]));
        metrics.set_failed_after_point_of_no_return(&BTreeMap::from([
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
        metrics.set_migration_systems(&systems(&[
            ("finance", "Completed", 4),
            ("hanbin", "RolledBack", 2),
        ]));
        metrics.set_failed_after_point_of_no_return(&BTreeMap::from([("finance".to_owned(), 0)]));
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
        metrics.set_migration_systems(&BTreeMap::new());
        metrics.set_failed_after_point_of_no_return(&BTreeMap::new());
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
        metrics.set_campaign("ankang-2025", 0.25, Some(12), false);
        metrics.set_campaign("hanbin-2025", 1.5, Some(-30), true);
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
        metrics.set_campaign("ankang-2025", 0.5, None, false);
        assert_lines(
            &metrics.render(),
            &[
                "govcloud_migration_campaign_completion_ratio{plan=\"ankang-2025\"} 0.5",
                "govcloud_migration_campaign_on_track{plan=\"ankang-2025\"} 0",
            ],
            &["govcloud_migration_campaign_projected_days_late{plan=\"ankang-2025\"}"],
        );
        metrics.retain_campaigns(&BTreeSet::from(["ankang-2025".to_owned()]));
        assert_lines(
            &metrics.render(),
            &["plan=\"ankang-2025\""],
            &["plan=\"hanbin-2025\""],
        );
        metrics.retain_campaigns(&BTreeSet::new());
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
        metrics.observe_step("Job", "succeeded", 420.0);
        metrics.observe_step("Manual", "succeeded", 100_000.0);
        metrics.observe_step("Webhook", "failed", 0.5);
        metrics.rolled_back("hanbin");
        metrics.rolled_back("hanbin");
        metrics.rolled_back("finance");
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
