//! Metrics of the desired configuration and of the IPv6 rollout, registered in the
//! controller's registry: each router's configuration lag (desired generation minus the one
//! its agent applied), the routers reporting drift, and the IPv6-ready sites by county with
//! their ratio. `router` takes the names of `Router` objects and `county` those of county
//! routers (the city under its own name): the router inventory operations declare, as the
//! extranet's metrics (`crate::network::metrics`). Series of deleted routers and emptied
//! counties are removed. `docs/metrics.md` documents them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use prometheus::{Gauge, IntGauge, IntGaugeVec, Opts, Registry};

use govcloud_core::network::readiness::{SiteReadiness, tally};

/// What one router's series show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConfigFigures {
    /// Desired generation minus applied (the desired one when nothing was applied); `None`
    /// before a configuration was served.
    pub lag: Option<i64>,
    /// Whether the agent reports drift.
    pub drift: bool,
}

/// The metrics.
#[derive(Debug)]
pub struct RoutingMetrics {
    lag: IntGaugeVec,
    drifting: IntGauge,
    sites: IntGaugeVec,
    ready_ratio: Gauge,
    routers: Mutex<BTreeMap<String, ConfigFigures>>,
    counties: Mutex<BTreeSet<String>>,
}

impl RoutingMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let lag = IntGaugeVec::new(
            Opts::new(
                "govcloud_router_config_generation_lag",
                "Generations of a router's desired configuration its agent has not applied yet (0 when up to date).",
            ),
            &["router"],
        )?;
        let drifting = IntGauge::new(
            "govcloud_routers_with_drift",
            "Routers whose agent reports drift between the desired and the observed configuration.",
        )?;
        let sites = IntGaugeVec::new(
            Opts::new(
                "govcloud_ipv6_sites",
                "Sites (routers) by county and IPv6 readiness (address, routes, probes; ready=\"true\" or \"false\").",
            ),
            &["county", "ready"],
        )?;
        let ready_ratio = Gauge::new(
            "govcloud_ipv6_ready_ratio",
            "IPv6-ready sites over all sites (0 when there are none).",
        )?;
        registry.register(Box::new(lag.clone()))?;
        registry.register(Box::new(drifting.clone()))?;
        registry.register(Box::new(sites.clone()))?;
        registry.register(Box::new(ready_ratio.clone()))?;
        Ok(Self {
            lag,
            drifting,
            sites,
            ready_ratio,
            routers: Mutex::new(BTreeMap::new()),
            counties: Mutex::new(BTreeSet::new()),
        })
    }

    /// Sets the series of `router`.
    pub fn set_router(&self, router: &str, figures: ConfigFigures) {
        match figures.lag {
            Some(lag) => self.lag.with_label_values(&[router]).set(lag.max(0)),
            None => {
                let _ = self.lag.remove_label_values(&[router]);
            }
        }
        let mut routers = self.routers.lock().unwrap_or_else(PoisonError::into_inner);
        routers.insert(router.to_owned(), figures);
        self.count(&routers);
    }

    /// Removes the series of routers not in `existing`.
    pub fn retain_routers(&self, existing: &BTreeSet<String>) {
        let mut routers = self.routers.lock().unwrap_or_else(PoisonError::into_inner);
        for router in routers.keys().filter(|r| !existing.contains(*r)) {
            let _ = self.lag.remove_label_values(&[router]);
        }
        routers.retain(|r, _| existing.contains(r));
        self.count(&routers);
    }

    fn count(&self, routers: &BTreeMap<String, ConfigFigures>) {
        let drifting = routers.values().filter(|f| f.drift).count();
        self.drifting
            .set(i64::try_from(drifting).unwrap_or(i64::MAX));
    }

    /// Sets the IPv6 readiness series from every site.
    pub fn set_sites(&self, sites: &[SiteReadiness]) {
        let (by_county, all) = tally(sites);
        let mut counties = self.counties.lock().unwrap_or_else(PoisonError::into_inner);
        for gone in counties.iter().filter(|c| !by_county.contains_key(*c)) {
            for ready in ["true", "false"] {
                let _ = self.sites.remove_label_values(&[gone, ready]);
            }
        }
        for (county, count) in &by_county {
            self.sites
                .with_label_values(&[county, "true"])
                .set(i64::from(count.ready));
            self.sites
                .with_label_values(&[county, "false"])
                .set(i64::from(count.total - count.ready));
        }
        *counties = by_county.into_keys().collect();
        self.ready_ratio.set(all.ratio());
    }
}

#[cfg(test)]
mod tests {
    use govcloud_crds::common::SiteLevel;
    use prometheus::TextEncoder;

    use super::*;

    fn render(registry: &Registry) -> String {
        TextEncoder::new()
            .encode_to_string(&registry.gather())
            .expect("encode")
    }

    fn site(router: &str, county: &str, ready: bool) -> SiteReadiness {
        SiteReadiness {
            router: router.to_owned(),
            level: SiteLevel::Township,
            county: county.to_owned(),
            ready,
            reason: None,
        }
    }

    #[test]
    fn lag_drift_and_readiness_follow_the_routers() {
        let registry = Registry::new();
        let metrics = RoutingMetrics::register(&registry).expect("register");
        metrics.set_router(
            "ankang-core",
            ConfigFigures {
                lag: Some(0),
                drift: false,
            },
        );
        metrics.set_router(
            "hanyin-core",
            ConfigFigures {
                lag: Some(2),
                drift: true,
            },
        );
        metrics.set_router(
            "chengguan",
            ConfigFigures {
                lag: None,
                drift: false,
            },
        );
        metrics.set_sites(&[
            site("ankang-core", "ankang-core", true),
            site("hanyin-core", "hanyin-core", false),
            site("chengguan", "hanyin-core", true),
            site("pingliang", "hanyin-core", true),
        ]);
        let text = render(&registry);
        for line in [
            "govcloud_router_config_generation_lag{router=\"hanyin-core\"} 2",
            "govcloud_router_config_generation_lag{router=\"ankang-core\"} 0",
            "govcloud_routers_with_drift 1",
            "govcloud_ipv6_sites{county=\"hanyin-core\",ready=\"true\"} 2",
            "govcloud_ipv6_sites{county=\"hanyin-core\",ready=\"false\"} 1",
            "govcloud_ipv6_sites{county=\"ankang-core\",ready=\"true\"} 1",
            "govcloud_ipv6_ready_ratio 0.75",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(!text.contains("router=\"chengguan\""), "{text}");
        metrics.retain_routers(&BTreeSet::from(["ankang-core".to_owned()]));
        metrics.set_sites(&[site("ankang-core", "ankang-core", true)]);
        let text = render(&registry);
        assert!(text.contains("govcloud_routers_with_drift 0"), "{text}");
        assert!(!text.contains("hanyin-core"), "{text}");
        assert!(text.contains("govcloud_ipv6_ready_ratio 1"), "{text}");
    }
}
