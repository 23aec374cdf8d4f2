//! The consolidation's metrics, registered in the controller's registry: dedicated networks by
//! disposition and phase (three times five series, always present), and the annual cost of the
//! old networks decommissioned (the savings, in yuan). No label names a network: the
//! reconciler keeps each network's last figures here and the gauges count them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use govcloud_crds::network::dedicated_network::{ConsolidationPhase, Disposition};
use prometheus::{IntGauge, IntGaugeVec, Opts, Registry};

use govcloud_core::consolidation::disposition::disposition_name;

/// Every disposition.
pub const DISPOSITIONS: [Disposition; 3] = [
    Disposition::MigrateToExtranet,
    Disposition::MigrateToIntranet,
    Disposition::Retire,
];
/// Every phase.
pub const PHASES: [ConsolidationPhase; 5] = [
    ConsolidationPhase::Inventoried,
    ConsolidationPhase::Planned,
    ConsolidationPhase::CuttingOver,
    ConsolidationPhase::Migrated,
    ConsolidationPhase::Decommissioned,
];

/// The phase's name, as the `phase` label writes it.
pub fn phase_name(phase: ConsolidationPhase) -> &'static str {
    match phase {
        ConsolidationPhase::Inventoried => "Inventoried",
        ConsolidationPhase::Planned => "Planned",
        ConsolidationPhase::CuttingOver => "CuttingOver",
        ConsolidationPhase::Migrated => "Migrated",
        ConsolidationPhase::Decommissioned => "Decommissioned",
    }
}

/// What one network counts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkFigures {
    pub disposition: Disposition,
    pub phase: ConsolidationPhase,
    /// `status.annualSavingsYuan`.
    pub savings_yuan: Option<u64>,
}

/// The consolidation's metrics.
#[derive(Debug)]
pub struct ConsolidationMetrics {
    networks: IntGaugeVec,
    retired: IntGauge,
    figures: Mutex<BTreeMap<String, NetworkFigures>>,
}

impl ConsolidationMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let networks = IntGaugeVec::new(
            Opts::new(
                "govcloud_dedicated_networks",
                "Dedicated networks by disposition (MigrateToExtranet, MigrateToIntranet, Retire) and phase.",
            ),
            &["disposition", "phase"],
        )?;
        let retired = IntGauge::new(
            "govcloud_dedicated_network_annual_cost_retired_yuan",
            "Annual cost of the dedicated networks decommissioned (their savings), in yuan.",
        )?;
        registry.register(Box::new(networks.clone()))?;
        registry.register(Box::new(retired.clone()))?;
        let metrics = Self {
            networks,
            retired,
            figures: Mutex::new(BTreeMap::new()),
        };
        metrics.count(&BTreeMap::new());
        Ok(metrics)
    }

    /// Records `network`'s figures.
    pub fn set(&self, network: &str, figures: NetworkFigures) {
        let mut all = self.figures.lock().unwrap_or_else(PoisonError::into_inner);
        all.insert(network.to_owned(), figures);
        self.count(&all);
    }

    /// Forgets the networks not in `existing`.
    pub fn retain(&self, existing: &BTreeSet<String>) {
        let mut all = self.figures.lock().unwrap_or_else(PoisonError::into_inner);
        all.retain(|name, _| existing.contains(name));
        self.count(&all);
    }

    fn count(&self, all: &BTreeMap<String, NetworkFigures>) {
        for disposition in DISPOSITIONS {
            for phase in PHASES {
                let n = all
                    .values()
                    .filter(|f| f.disposition == disposition && f.phase == phase)
                    .count();
                self.networks
                    .with_label_values(&[disposition_name(disposition), phase_name(phase)])
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        let retired: u64 = all
            .values()
            .filter(|f| f.phase == ConsolidationPhase::Decommissioned)
            .filter_map(|f| f.savings_yuan)
            .fold(0, u64::saturating_add);
        self.retired.set(i64::try_from(retired).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use prometheus::{Encoder as _, TextEncoder};

    use super::*;

    fn render(registry: &Registry) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .expect("encode");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn networks_are_counted_and_savings_summed() {
        let registry = Registry::new();
        let metrics = ConsolidationMetrics::register(&registry).expect("register");
        let text = render(&registry);
        assert!(
            text.contains(
                "govcloud_dedicated_networks{disposition=\"Retire\",phase=\"Migrated\"} 0"
            ),
            "{text}"
        );
        metrics.set(
            "samr-legacy-vpn",
            NetworkFigures {
                disposition: Disposition::Retire,
                phase: ConsolidationPhase::Decommissioned,
                savings_yuan: Some(120_000),
            },
        );
        metrics.set(
            "medins-net",
            NetworkFigures {
                disposition: Disposition::MigrateToExtranet,
                phase: ConsolidationPhase::Planned,
                savings_yuan: None,
            },
        );
        let text = render(&registry);
        for line in [
            "govcloud_dedicated_networks{disposition=\"Retire\",phase=\"Decommissioned\"} 1",
            "govcloud_dedicated_networks{disposition=\"MigrateToExtranet\",phase=\"Planned\"} 1",
            "govcloud_dedicated_network_annual_cost_retired_yuan 120000",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        metrics.retain(&BTreeSet::from(["medins-net".to_owned()]));
        let text = render(&registry);
        assert!(
            text.contains("govcloud_dedicated_network_annual_cost_retired_yuan 0"),
            "{text}"
        );
    }
}
