//! Tenancy's metrics, registered in the controller's registry: quota, delegation and usage per
//! tenant and resource (in base units: cores, bytes), and quota requests per phase. `tenant`
//! takes the names of `Tenant` objects, a managed, finite set declared by operations (about 30
//! tenants for a city, 1,300 for a province); `resource` and `phase` are fixed sets. Series of
//! deleted tenants are removed. `docs/metrics.md` documents them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use govcloud_crds::quantity::{Amount, ResourceKind};
use prometheus::{GaugeVec, IntGaugeVec, Opts, Registry};

use govcloud_core::tenancy::quota::{Partial, Quota};

/// Tenancy's metrics.
#[derive(Debug)]
pub struct TenancyMetrics {
    tenant_quota: GaugeVec,
    tenant_delegated: GaugeVec,
    tenant_usage: GaugeVec,
    quota_requests: IntGaugeVec,
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

impl TenancyMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
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
        registry.register(Box::new(tenant_quota.clone()))?;
        registry.register(Box::new(tenant_delegated.clone()))?;
        registry.register(Box::new(tenant_usage.clone()))?;
        registry.register(Box::new(quota_requests.clone()))?;
        Ok(Self {
            tenant_quota,
            tenant_delegated,
            tenant_usage,
            quota_requests,
            tenants: Mutex::new(BTreeSet::new()),
        })
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
        self.tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tenant.to_owned());
    }

    /// Drops the series of tenants not in `existing` (deleted tenants).
    pub fn retain_tenants(&self, existing: &BTreeSet<String>) {
        let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        for tenant in tenants.difference(existing) {
            for resource in ResourceKind::ALL {
                let labels = [tenant.as_str(), resource.as_str()];
                let _ = self.tenant_quota.remove_label_values(&labels);
                let _ = self.tenant_delegated.remove_label_values(&labels);
                let _ = self.tenant_usage.remove_label_values(&labels);
            }
        }
        tenants.retain(|tenant| existing.contains(tenant));
    }

    /// Sets the number of quota requests in each phase.
    pub fn set_quota_requests(&self, counts: &BTreeMap<&'static str, i64>) {
        for (phase, count) in counts {
            self.quota_requests.with_label_values(&[phase]).set(*count);
        }
    }
}
