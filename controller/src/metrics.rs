//! The controller's Prometheus registry: build information, reconcile counters and the tenancy
//! metrics (quota, usage and delegation per tenant and resource, quota requests per phase),
//! rendered in the text exposition format. Labels are bounded: `tenant` takes the names of
//! `Tenant` objects, a managed, finite set declared by operations (about 30 for a city, 1,300
//! for a province); `resource`, `phase`, `controller` and `category` are fixed sets. Object
//! names of unbounded sets and error texts never become labels. `docs/metrics.md` documents
//! every metric.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use govcloud_crds::quantity::{Amount, ResourceKind};
use prometheus::{
    Encoder as _, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::tenancy::quota::{Partial, Quota};

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
        for phase in crate::tenancy::requests::PHASES {
            quota_requests
                .with_label_values(&[crate::tenancy::requests::phase_name(phase)])
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
        Ok(Self {
            registry,
            tenant_quota,
            tenant_delegated,
            tenant_usage,
            quota_requests,
            reconciliations,
            reconcile_errors,
            reconcile_duration,
            tenants: Mutex::new(BTreeSet::new()),
        })
    }

    /// The registry, for other parts of the controller to register their own metrics in (the
    /// audit log, the API) so that one endpoint serves them all.
    pub fn registry(&self) -> &Registry {
        &self.registry
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

    /// Drops the series of tenants not in `existing` (deleted tenants).
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
            tenants.remove(&tenant);
        }
    }

    /// Sets the number of quota requests in each phase.
    pub fn set_quota_requests(&self, counts: &BTreeMap<&'static str, i64>) {
        for (phase, count) in counts {
            self.quota_requests.with_label_values(&[phase]).set(*count);
        }
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
}
