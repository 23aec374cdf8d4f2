//! Exact amounts of the three accounted resources (CPU, memory, storage) as one value: parsed
//! from a tenant's quota or a `ResourceQuota`, added, clamped, split by percent and printed for
//! the API (`ResourceList`) or for people (`4 cores`, `256 GiB`).

use std::collections::BTreeMap;

use govcloud_crds::common::{QuotaAmounts, ResourceAmounts, ResourceList};
use govcloud_crds::quantity::{Amount, QuantityError, ResourceKind};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// The `ResourceQuota` key that bounds `resource` in a namespace.
///
/// Quotas bound what containers and volumes *request* (what the scheduler reserves and the
/// efficiency reviews compare usage with); limits are not bounded, so CPU stays burstable.
pub fn quota_key(resource: ResourceKind) -> &'static str {
    match resource {
        ResourceKind::Cpu => "requests.cpu",
        ResourceKind::Memory => "requests.memory",
        ResourceKind::Storage => "requests.storage",
    }
}

/// The smallest step a namespace's share is rounded down to: a millicore for CPU, a mebibyte
/// for memory and storage (so quotas read `337Mi`, not `354334801920m`).
fn granularity(resource: ResourceKind) -> i128 {
    match resource {
        ResourceKind::Cpu => 1,
        ResourceKind::Memory | ResourceKind::Storage => 1024 * 1024 * 1000,
    }
}

/// Why an amount could not be read, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {source}")]
pub struct InvalidAmount {
    /// The field, e.g. `spec.quota.cpu`.
    pub field: String,
    /// What was wrong with it.
    #[source]
    pub source: QuantityError,
}

/// CPU, memory and storage, each an exact [`Amount`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Quota {
    /// CPU, in cores.
    pub cpu: Amount,
    /// Memory, in bytes.
    pub memory: Amount,
    /// Storage, in bytes.
    pub storage: Amount,
}

fn parse(field: impl FnOnce() -> String, quantity: &Quantity) -> Result<Amount, InvalidAmount> {
    let amount = Amount::from_quantity(quantity).map_err(|source| InvalidAmount {
        field: field(),
        source,
    })?;
    Ok(amount)
}

impl Quota {
    /// Nothing of anything.
    pub const ZERO: Self = Self {
        cpu: Amount::ZERO,
        memory: Amount::ZERO,
        storage: Amount::ZERO,
    };

    /// The amounts `partial` gives, zero for the resources it does not name.
    pub fn from_partial(partial: &Partial) -> Self {
        Self::ZERO.map(|resource, _| partial.get(&resource).copied().unwrap_or_default())
    }

    /// Reads a tenant's `spec.quota`; `path` prefixes the field names in errors.
    pub fn from_spec(quota: &QuotaAmounts, path: &str) -> Result<Self, InvalidAmount> {
        Ok(Self {
            cpu: parse(|| format!("{path}.cpu"), &quota.cpu)?,
            memory: parse(|| format!("{path}.memory"), &quota.memory)?,
            storage: parse(|| format!("{path}.storage"), &quota.storage)?,
        })
    }

    /// The amount of `resource`.
    pub fn get(&self, resource: ResourceKind) -> Amount {
        match resource {
            ResourceKind::Cpu => self.cpu,
            ResourceKind::Memory => self.memory,
            ResourceKind::Storage => self.storage,
        }
    }

    /// Sets the amount of `resource`.
    pub fn set(&mut self, resource: ResourceKind, amount: Amount) {
        match resource {
            ResourceKind::Cpu => self.cpu = amount,
            ResourceKind::Memory => self.memory = amount,
            ResourceKind::Storage => self.storage = amount,
        }
    }

    /// Applies `f` to each resource.
    #[must_use]
    pub fn map(self, mut f: impl FnMut(ResourceKind, Amount) -> Amount) -> Self {
        let mut out = Self::ZERO;
        for resource in ResourceKind::ALL {
            out.set(resource, f(resource, self.get(resource)));
        }
        out
    }

    /// Resource by resource sum.
    #[must_use]
    pub fn plus(self, other: Self) -> Self {
        self.map(|r, a| a + other.get(r))
    }

    /// Resource by resource difference, never below zero.
    #[must_use]
    pub fn minus_floor_zero(self, other: Self) -> Self {
        self.map(|r, a| {
            let left = a - other.get(r);
            if left.is_negative() {
                Amount::ZERO
            } else {
                left
            }
        })
    }

    /// `percent`% of each resource, rounded down to the resource's granularity (a millicore or
    /// a mebibyte).
    #[must_use]
    pub fn share(self, percent: u8) -> Self {
        self.map(|r, a| {
            let step = granularity(r);
            let exact = a.percent(percent).milli();
            Amount::from_milli(exact - exact.rem_euclid(step))
        })
    }

    /// Whether every resource of `self` is at most that of `other`.
    pub fn fits_in(&self, other: &Self) -> bool {
        ResourceKind::ALL
            .iter()
            .all(|r| self.get(*r) <= other.get(*r))
    }

    /// As the API writes a tenant's amounts: `cpu`, `memory`, `storage` in canonical form.
    pub fn to_list(self) -> ResourceList {
        ResourceKind::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), self.get(*r).to_quantity(*r)))
            .collect()
    }

    /// As a `ResourceQuota`'s `hard`: [`quota_key`] of each resource.
    pub fn to_quota_hard(self) -> BTreeMap<String, Quantity> {
        ResourceKind::ALL
            .iter()
            .map(|r| (quota_key(*r).to_owned(), self.get(*r).to_quantity(*r)))
            .collect()
    }

    /// As `QuotaAmounts` (a tenant's `spec.quota`).
    pub fn to_amounts(self) -> QuotaAmounts {
        QuotaAmounts {
            cpu: self.cpu.to_quantity(ResourceKind::Cpu),
            memory: self.memory.to_quantity(ResourceKind::Memory),
            storage: self.storage.to_quantity(ResourceKind::Storage),
        }
    }

    /// For people: `cpu 4 cores, memory 256 GiB, storage 10 TiB`.
    pub fn human(&self) -> String {
        ResourceKind::ALL
            .iter()
            .map(|r| format!("{r} {}", self.get(*r).human(*r)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Amounts known for some resources only (usage reported by some quotas, a request for some
/// resources).
pub type Partial = BTreeMap<ResourceKind, Amount>;

/// The resources `amounts` names, parsed; `path` prefixes the field names in errors.
pub fn partial_from_amounts(
    amounts: &ResourceAmounts,
    path: &str,
) -> Result<Partial, InvalidAmount> {
    let mut out = Partial::new();
    for (resource, quantity) in [
        (ResourceKind::Cpu, &amounts.cpu),
        (ResourceKind::Memory, &amounts.memory),
        (ResourceKind::Storage, &amounts.storage),
    ] {
        if let Some(quantity) = quantity {
            out.insert(resource, parse(|| format!("{path}.{resource}"), quantity)?);
        }
    }
    Ok(out)
}

/// The resources of a `ResourceList` keyed `cpu`/`memory`/`storage` (a tenant's status),
/// ignoring other keys.
pub fn partial_from_list(list: &ResourceList, path: &str) -> Result<Partial, InvalidAmount> {
    let mut out = Partial::new();
    for resource in ResourceKind::ALL {
        if let Some(quantity) = list.get(resource.as_str()) {
            out.insert(resource, parse(|| format!("{path}.{resource}"), quantity)?);
        }
    }
    Ok(out)
}

/// What a `ResourceQuota` reports as used, by [`quota_key`]; unreadable values are skipped
/// (another controller writes them, and one bad value must not stall the tenant).
pub fn usage_from_quota_status(used: &BTreeMap<String, Quantity>) -> Partial {
    ResourceKind::ALL
        .iter()
        .filter_map(|r| {
            let quantity = used.get(quota_key(*r))?;
            Amount::from_quantity(quantity).ok().map(|a| (*r, a))
        })
        .collect()
}

/// Adds `more` into `total`, resource by resource.
pub fn add_partial(total: &mut Partial, more: &Partial) {
    for (resource, amount) in more {
        let entry = total.entry(*resource).or_insert(Amount::ZERO);
        *entry = *entry + *amount;
    }
}

/// A partial amount as the API writes it.
pub fn partial_to_list(partial: &Partial) -> ResourceList {
    partial
        .iter()
        .map(|(r, a)| (r.as_str().to_owned(), a.to_quantity(*r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity(text.to_owned())
    }

    fn quota(cpu: &str, memory: &str, storage: &str) -> Quota {
        Quota::from_spec(
            &QuotaAmounts {
                cpu: q(cpu),
                memory: q(memory),
                storage: q(storage),
            },
            "spec.quota",
        )
        .expect("valid quota")
    }

    #[test]
    fn shares_round_down_to_a_millicore_or_a_mebibyte() {
        let total = quota("10", "1Gi", "1Ti");
        let third = total.share(33);
        assert_eq!(third.cpu.canonical(ResourceKind::Cpu), "3300m");
        assert_eq!(third.memory.canonical(ResourceKind::Memory), "337Mi");
        assert_eq!(third.storage.canonical(ResourceKind::Storage), "346030Mi");
        assert!(third.fits_in(&total));
    }

    #[test]
    fn subtraction_stops_at_zero_and_lists_are_canonical() {
        let a = quota("4", "8Gi", "1Ti");
        let b = quota("6", "2Gi", "1Ti");
        let left = a.minus_floor_zero(b);
        assert_eq!(left.cpu, Amount::ZERO);
        assert_eq!(left.memory.canonical(ResourceKind::Memory), "6Gi");
        assert_eq!(left.storage, Amount::ZERO);
        let list = a.plus(b).to_list();
        assert_eq!(list["cpu"], q("10"));
        assert_eq!(list["memory"], q("10Gi"));
        assert_eq!(list["storage"], q("2Ti"));
        assert_eq!(a.to_quota_hard()["requests.memory"], q("8Gi"));
        assert_eq!(a.human(), "cpu 4 cores, memory 8 GiB, storage 1 TiB");
    }

    #[test]
    fn unreadable_amounts_name_their_field() {
        let error = Quota::from_spec(
            &QuotaAmounts {
                cpu: q("4"),
                memory: q("lots"),
                storage: q("1Ti"),
            },
            "spec.quota",
        )
        .expect_err("lots is no quantity");
        assert!(
            error
                .to_string()
                .starts_with("spec.quota.memory: failed to parse quantity")
        );
    }

    #[test]
    fn quota_status_usage_ignores_unknown_and_unreadable_keys() {
        let used: BTreeMap<String, Quantity> = [
            ("requests.cpu", "1500m"),
            ("requests.memory", "garbage"),
            ("pods", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), q(v)))
        .collect();
        let usage = usage_from_quota_status(&used);
        assert_eq!(usage.len(), 1);
        assert_eq!(usage[&ResourceKind::Cpu].milli(), 1500);
        let mut total = Partial::new();
        add_partial(&mut total, &usage);
        add_partial(&mut total, &usage);
        assert_eq!(partial_to_list(&total)["cpu"], q("3"));
    }
}
