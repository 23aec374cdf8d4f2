//! Quotas of a city's tenants, computed from the bottom up so that every child fits inside its
//! parent and every tenant's own share holds all of its systems (were all of them approved);
//! the city keeps a quarter on top as headroom. Also the city's quota requests (one pending,
//! one approved that fits the headroom, one denied) and its weekly quota review.

use serde_json::{Value, json};

use super::layout::{CityLayout, Level};
use super::random::Stream;
use super::systems::SystemPlan;

/// CPU (cores), memory and storage (GiB).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    pub cpu: u64,
    pub memory_gi: u64,
    pub storage_gi: u64,
}

impl Amounts {
    fn add(&mut self, other: Amounts) {
        self.cpu += other.cpu;
        self.memory_gi += other.memory_gi;
        self.storage_gi += other.storage_gi;
    }

    /// As a quota or a request in Kubernetes quantities (`Ti` where it divides evenly).
    pub fn to_json(self) -> Value {
        json!({
            "cpu": self.cpu.to_string(),
            "memory": binary_quantity(self.memory_gi),
            "storage": binary_quantity(self.storage_gi),
        })
    }
}

/// `gi` GiB as a quantity: `Ti` when it divides evenly, else `Gi`.
pub fn binary_quantity(gi: u64) -> String {
    if gi >= 1024 && gi.is_multiple_of(1024) {
        format!("{}Ti", gi / 1024)
    } else {
        format!("{gi}Gi")
    }
}

fn round_up(value: u64, step: u64) -> u64 {
    value.div_ceil(step) * step
}

/// Each tenant's quota, by its index in the layout.
pub fn plan(layout: &CityLayout, systems: &[SystemPlan], stream: &mut Stream) -> Vec<Amounts> {
    let mut needed = vec![Amounts::default(); layout.tenants.len()];
    for system in systems {
        needed[system.tenant].add(system.resources);
    }
    let mut quotas = vec![Amounts::default(); layout.tenants.len()];
    // Children come after their parents, so walking backwards sees every child first.
    for index in (0..layout.tenants.len()).rev() {
        let tenant = &layout.tenants[index];
        let mut quota = Amounts::default();
        for &child in &tenant.children {
            quota.add(quotas[child]);
        }
        if tenant.level == Level::City {
            // A quarter on top, and at least room for the approved and pending requests.
            quota.cpu = round_up(quota.cpu + (quota.cpu / 4).max(128), 64);
            quota.memory_gi = round_up(quota.memory_gi + (quota.memory_gi / 4).max(512), 1024);
            quota.storage_gi = round_up(
                quota.storage_gi + (quota.storage_gi / 4).max(40 * 1024),
                1024,
            );
        } else {
            let own = needed[index];
            let slack = stream.between(1, 4) * 8;
            quota.cpu += round_up(own.cpu * 5 / 4 + slack, 8);
            quota.memory_gi += round_up(own.memory_gi * 5 / 4 + slack * 4, 64);
            quota.storage_gi += round_up(own.storage_gi * 5 / 4 + 1024, 1024);
        }
        quotas[index] = quota;
    }
    quotas
}

fn request(
    layout: &CityLayout,
    tenant: usize,
    suffix: &str,
    requested: &Value,
    justification: &str,
    approval: Option<(&str, &str)>,
) -> Value {
    let tenant_name = &layout.tenants[tenant].name;
    let mut object = json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "QuotaRequest",
        "metadata": {
            "name": format!("{tenant_name}-{suffix}"),
            "labels": {"govcloud.io/tenant": tenant_name},
        },
        "spec": {
            "tenant": tenant_name,
            "requested": requested,
            "justification": justification,
            "requestedBy": format!("it@{}", layout.domain()),
            "validFor": "720h",
        },
    });
    if let Some((decision, reason)) = approval {
        object["spec"]["approval"] = json!({
            "decision": decision,
            "decidedBy": format!("cloud-ops@{}", layout.domain()),
            "reason": reason,
        });
    }
    object
}

/// One pending request (storage), one approved (CPU and memory, inside the city's headroom)
/// and one denied (a county's memory).
pub fn requests(layout: &CityLayout, quotas: &[Amounts]) -> Vec<Value> {
    let approved = layout.departments[0];
    let pending = layout.departments[1 % layout.departments.len()];
    let denied = layout.counties.first().map_or(pending, |county| {
        layout
            .tenants
            .iter()
            .position(|t| t.name == county.name)
            .unwrap_or(pending)
    });
    vec![
        request(
            layout,
            pending,
            "storage",
            &json!({"storage": binary_quantity(quotas[pending].storage_gi + 10 * 1024)}),
            "业务数据需在线保存 5 年，现有存储预计下季度用满；申请增加 10Ti 存储配额。",
            None,
        ),
        request(
            layout,
            approved,
            "cpu",
            &json!({
                "cpu": (quotas[approved].cpu + 16).to_string(),
                "memory": binary_quantity(quotas[approved].memory_gi + 64),
            }),
            "迁移上云后接入的数据量翻倍，近两周 CPU 的 95 分位使用率超过 90%。",
            Some(("Approved", "效能评估为 Hot，与申请一致；批准。")),
        ),
        request(
            layout,
            denied,
            "memory",
            &json!({"memory": binary_quantity(quotas[denied].memory_gi * 2)}),
            "拟将各镇（街道）的便民服务系统集中部署到县级租户，申请将内存配额翻倍。",
            Some((
                "Denied",
                "近两周内存使用率偏低（Underused），现有配额可容纳集中部署。",
            )),
        ),
    ]
}

/// The city's weekly review of its departments' and counties' quotas.
pub fn review(layout: &CityLayout) -> Value {
    json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "QuotaReview",
        "metadata": {"name": format!("{}-weekly", layout.code)},
        "spec": {
            "schedule": "0 3 * * 1",
            "window": "336h",
            "usagePercentile": 95,
            "headroomPercent": 30,
            "thresholds": {"idleBelowPercent": 5, "underusedBelowPercent": 40, "hotAbovePercent": 85},
            "tenantSelector": {
                "matchLabels": {"govcloud.io/city": layout.code},
                "matchExpressions": [
                    {"key": "govcloud.io/level", "operator": "In", "values": ["department", "county"]},
                ],
            },
            "prometheusUrl": format!("https://prometheus.{}", layout.domain()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::province::{CitySize, systems};

    #[test]
    fn children_fit_their_parents_and_tenants_hold_their_systems() {
        let mut stream = Stream::new(9);
        let layout = CityLayout::new(1, &CitySize::small(), &mut stream);
        let planned = systems::plan(&layout, 300, &mut stream);
        let quotas = plan(&layout, &planned, &mut stream);
        for (index, tenant) in layout.tenants.iter().enumerate() {
            let mut children = Amounts::default();
            for &child in &tenant.children {
                children.add(quotas[child]);
            }
            let mut systems_here = Amounts::default();
            for system in planned.iter().filter(|s| s.tenant == index) {
                systems_here.add(system.resources);
            }
            let own_cpu = quotas[index].cpu - children.cpu;
            assert!(own_cpu >= systems_here.cpu, "{}", tenant.name);
            assert!(quotas[index].memory_gi - children.memory_gi >= systems_here.memory_gi);
            assert!(quotas[index].storage_gi - children.storage_gi >= systems_here.storage_gi);
        }
        assert_eq!(binary_quantity(2048), "2Ti");
        assert_eq!(binary_quantity(1536), "1536Gi");
    }
}
