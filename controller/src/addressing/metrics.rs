//! The address pools' metrics, registered in the controller's registry: prefixes per pool,
//! level and state (`allocated`, `held`, `free` — free under the allocated parents), and the
//! utilisation ratio per pool and level ((allocated + held) / (allocated + held + free)).
//! `pool` takes the names of `AddressPool` objects (a handful, declared by operations),
//! `level` and `state` are fixed sets. Series of deleted pools are removed.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use prometheus::{GaugeVec, IntGaugeVec, Opts, Registry};

use govcloud_core::addressing::status::Totals;
use govcloud_core::ipam::Level;

/// The `state` label's values.
pub const STATES: [&str; 3] = ["allocated", "held", "free"];

/// The address pools' metrics.
#[derive(Debug)]
pub struct AddressingMetrics {
    prefixes: IntGaugeVec,
    utilisation: GaugeVec,
    /// Pools with series.
    pools: Mutex<BTreeSet<String>>,
}

impl AddressingMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let prefixes = IntGaugeVec::new(
            Opts::new(
                "govcloud_address_pool_prefixes",
                "Prefixes of an address pool by level and state (allocated, held after release, free under the allocated parents).",
            ),
            &["pool", "level", "state"],
        )?;
        let utilisation = GaugeVec::new(
            Opts::new(
                "govcloud_address_pool_utilisation_ratio",
                "Allocated and held prefixes of a level over allocated, held and free ones (0 to 1).",
            ),
            &["pool", "level"],
        )?;
        registry.register(Box::new(prefixes.clone()))?;
        registry.register(Box::new(utilisation.clone()))?;
        Ok(Self {
            prefixes,
            utilisation,
            pools: Mutex::new(BTreeSet::new()),
        })
    }

    /// Sets a pool's figures.
    pub fn set_pool(&self, pool: &str, totals: &Totals) {
        for level in Level::ALL {
            let i = level.index();
            let values = [
                i64::try_from(totals.allocated[i]).unwrap_or(i64::MAX),
                i64::try_from(totals.held[i]).unwrap_or(i64::MAX),
                i64::try_from(totals.free[i]).unwrap_or(i64::MAX),
            ];
            for (state, value) in STATES.into_iter().zip(values) {
                self.prefixes
                    .with_label_values(&[pool, level.name(), state])
                    .set(value);
            }
            match totals.utilisation(level) {
                Some(ratio) => self
                    .utilisation
                    .with_label_values(&[pool, level.name()])
                    .set(ratio),
                None => {
                    let _ = self.utilisation.remove_label_values(&[pool, level.name()]);
                }
            }
        }
        self.pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(pool.to_owned());
    }

    /// Removes the series of a pool (deleted, or not ready).
    pub fn forget_pool(&self, pool: &str) {
        for level in Level::ALL {
            for state in STATES {
                let _ = self
                    .prefixes
                    .remove_label_values(&[pool, level.name(), state]);
            }
            let _ = self.utilisation.remove_label_values(&[pool, level.name()]);
        }
        self.pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(pool);
    }

    /// Removes the series of the pools not in `existing`.
    pub fn retain_pools(&self, existing: &BTreeSet<String>) {
        let gone: Vec<String> = self
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|p| !existing.contains(*p))
            .cloned()
            .collect();
        for pool in gone {
            self.forget_pool(&pool);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_render_per_level_and_deleted_pools_disappear() {
        let registry = Registry::new();
        let metrics = AddressingMetrics::register(&registry).expect("register");
        let totals = Totals {
            allocated: [1, 2, 3, 4],
            held: [0, 1, 0, 0],
            free: [0, 13, 29, 60],
        };
        metrics.set_pool("ankang", &totals);
        let text = render(&registry);
        assert!(text.contains(
            "govcloud_address_pool_prefixes{level=\"county\",pool=\"ankang\",state=\"held\"} 1"
        ));
        assert!(text.contains(
            "govcloud_address_pool_utilisation_ratio{level=\"county\",pool=\"ankang\"} 0.1875"
        ));
        metrics.retain_pools(&BTreeSet::new());
        assert!(!render(&registry).contains("ankang"));
    }

    fn render(registry: &Registry) -> String {
        use prometheus::Encoder as _;
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .expect("encode");
        String::from_utf8(out).expect("utf-8")
    }
}
