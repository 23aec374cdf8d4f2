//! The migration campaign's metrics, registered in the controller's registry: systems per
//! tenant and phase, each campaign's progress and projection, step durations, rollbacks and
//! failures after the point of no return. `tenant` takes the names of `Tenant` objects and
//! `plan` those of `MigrationPlan` objects, managed, finite sets declared by operations;
//! `phase`, `kind` and `outcome` are fixed sets. System names (an unbounded set) never become
//! labels. Series of deleted plans and tenants are removed. `docs/metrics.md` documents them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};

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
pub struct MigrationMetrics {
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
    /// Tenants with a rollback counter.
    rollbacks: BTreeSet<String>,
}

impl MigrationMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
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

    /// Replaces the number of systems per `(tenant, phase)`: pairs absent from `counts` lose
    /// their series.
    pub fn set_migration_systems(&self, counts: &BTreeMap<(String, String), i64>) {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        for (tenant, phase) in series
            .systems
            .iter()
            .filter(|key| !counts.contains_key(*key))
        {
            let _ = self.systems.remove_label_values(&[tenant, phase]);
        }
        for ((tenant, phase), count) in counts {
            self.systems.with_label_values(&[tenant, phase]).set(*count);
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
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let labels = [plan];
        self.campaign_completion
            .with_label_values(&labels)
            .set(completion_ratio.clamp(0.0, 1.0));
        match projected_days_late {
            Some(days) => self.campaign_days_late.with_label_values(&labels).set(days),
            None => {
                let _ = self.campaign_days_late.remove_label_values(&labels);
            }
        }
        self.campaign_on_track
            .with_label_values(&labels)
            .set(i64::from(on_track));
        series.plans.insert(plan.to_owned());
    }

    /// Drops the series of campaigns not in `existing` (deleted plans).
    pub fn retain_campaigns(&self, existing: &BTreeSet<String>) {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        for plan in series.plans.difference(existing) {
            let labels = [plan.as_str()];
            let _ = self.campaign_completion.remove_label_values(&labels);
            let _ = self.campaign_days_late.remove_label_values(&labels);
            let _ = self.campaign_on_track.remove_label_values(&labels);
        }
        series.plans.retain(|plan| existing.contains(plan));
    }

    /// Observes a finished step of `kind` (`Job`, `Webhook`, `Manual`) that ended with `outcome`
    /// (`succeeded`, `failed`, `rolled_back`) after `seconds`.
    pub fn observe_step(&self, kind: &str, outcome: &str, seconds: f64) {
        self.step_duration
            .with_label_values(&[kind, outcome])
            .observe(seconds);
    }

    /// Counts a system of `tenant` rolled back.
    pub fn rolled_back(&self, tenant: &str) {
        self.rollbacks.with_label_values(&[tenant]).inc();
        self.series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .rollbacks
            .insert(tenant.to_owned());
    }

    /// Replaces the number of systems per tenant in phase `Failed` after their point of no
    /// return: tenants absent from `counts` lose their series.
    pub fn set_failed_after_point_of_no_return(&self, counts: &BTreeMap<String, i64>) {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        for tenant in series
            .failed_after_point_of_no_return
            .iter()
            .filter(|tenant| !counts.contains_key(*tenant))
        {
            let _ = self
                .failed_after_point_of_no_return
                .remove_label_values(&[tenant]);
        }
        for (tenant, count) in counts {
            self.failed_after_point_of_no_return
                .with_label_values(&[tenant])
                .set(*count);
        }
        series.failed_after_point_of_no_return = counts.keys().cloned().collect();
    }

    /// Drops the rollback counters of tenants not in `existing` (deleted tenants).
    pub fn retain_tenants(&self, existing: &BTreeSet<String>) {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        for tenant in series.rollbacks.difference(existing) {
            let _ = self.rollbacks.remove_label_values(&[tenant]);
        }
        series.rollbacks.retain(|tenant| existing.contains(tenant));
    }
}
