//! IPv6 readiness of the sites, pure: which sites are ready, grouped
//! by county, for `GET /v1/ipv6`, `govctl ipv6 status` and the `govcloud_ipv6_*` metrics.
//!
//! A site is its router. It is ready when the router's `Ipv6Ready` condition is `True` — the
//! router reconciler sets it once the agent applied the desired configuration in full (the
//! site's addresses and routes), reports no drift, and every reachability probe answered. A
//! router belongs to the county it is (a county router), or to its upstream county (a township
//! router); the city router is its own group, under its name.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};

use govcloud_crds::common::SiteLevel;
use govcloud_crds::network::router::Router;
use kube_core::ResourceExt as _;

/// The condition that says a site is IPv6-ready.
pub const IPV6_READY: &str = "Ipv6Ready";

/// One site's readiness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteReadiness {
    /// The router.
    pub router: String,
    /// The site's level.
    pub level: SiteLevel,
    /// The group it counts in: the county router's name (the city router's for the city).
    pub county: String,
    /// Whether the site is ready.
    pub ready: bool,
    /// Why not, from the condition's message (or that the router never reported).
    pub reason: Option<String>,
}

/// Ready and total sites of one group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub ready: u32,
    pub total: u32,
}

impl Tally {
    /// Ready over total; 0 when there is nothing to count.
    pub fn ratio(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            f64::from(self.ready) / f64::from(self.total)
        }
    }
}

/// The group `router` counts in: itself for the city and a county, its upstream for a
/// township (itself when the upstream is unknown, so a misdeclared township still counts).
pub fn county_of<S: std::hash::BuildHasher>(
    router: &Router,
    by_name: &HashMap<String, &Router, S>,
) -> String {
    let name = router.name_any();
    match router.spec.site.level {
        SiteLevel::City | SiteLevel::County => name,
        SiteLevel::Township => router
            .spec
            .upstream
            .as_deref()
            .filter(|upstream| by_name.contains_key(*upstream))
            .map_or(name, str::to_owned),
    }
}

/// Every router's readiness, by router name (from routers or shared references to them, as a
/// cache holds them).
pub fn sites<R: Borrow<Router>>(routers: &[R]) -> Vec<SiteReadiness> {
    let by_name: HashMap<String, &Router> = routers
        .iter()
        .map(|r| (r.borrow().name_any(), r.borrow()))
        .collect();
    let mut sites: Vec<SiteReadiness> = routers
        .iter()
        .map(|router| {
            let router: &Router = router.borrow();
            let condition = router
                .status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == IPV6_READY));
            let ready = condition.is_some_and(|c| c.status == "True");
            let reason = match condition {
                Some(_) if ready => None,
                Some(c) if !c.message.is_empty() => Some(c.message.clone()),
                Some(c) => Some(c.reason.clone()),
                None => {
                    Some("not evaluated yet: the agent has not reported a configuration".into())
                }
            };
            SiteReadiness {
                router: router.name_any(),
                level: router.spec.site.level,
                county: county_of(router, &by_name),
                ready,
                reason,
            }
        })
        .collect();
    sites.sort_by(|a, b| a.router.cmp(&b.router));
    sites
}

/// Ready and total sites per county, and over all.
pub fn tally(sites: &[SiteReadiness]) -> (BTreeMap<String, Tally>, Tally) {
    let mut counties: BTreeMap<String, Tally> = BTreeMap::new();
    let mut all = Tally::default();
    for site in sites {
        for tally in [counties.entry(site.county.clone()).or_default(), &mut all] {
            tally.total += 1;
            tally.ready += u32::from(site.ready);
        }
    }
    (counties, all)
}

#[cfg(test)]
mod tests {
    use govcloud_crds::network::router::{
        InterfaceRole, RouterInterface, RouterSpec, RouterStatus, Site,
    };
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::conditions::{Desired, set};

    fn router(name: &str, level: SiteLevel, upstream: Option<&str>, ready: Option<bool>) -> Router {
        let mut router = Router::new(
            name,
            RouterSpec {
                display_name: name.to_owned(),
                site: Site {
                    level,
                    division_code: "610921".to_owned(),
                    name: name.to_owned(),
                },
                upstream: upstream.map(str::to_owned),
                interfaces: vec![RouterInterface {
                    name: "lan0".to_owned(),
                    role: InterfaceRole::Lan,
                    description: None,
                }],
                management_interface: None,
                report_interval_seconds: 30,
            },
        );
        router.status = ready.map(|ready| {
            let mut conditions = Vec::new();
            let (status, reason, message) = if ready {
                ("True", "Ready", String::new())
            } else {
                (
                    "False",
                    "ProbeFailed",
                    "probe city-lan: 2001:db8:a00::1 unreachable".to_owned(),
                )
            };
            let desired = Desired {
                kind: IPV6_READY,
                status,
                reason,
                message,
            };
            set(&mut conditions, &desired, None, Timestamp::UNIX_EPOCH);
            RouterStatus {
                conditions,
                ..RouterStatus::default()
            }
        });
        router
    }

    #[test]
    fn townships_count_in_their_county_and_the_city_in_its_own_name() {
        let routers = vec![
            router("city", SiteLevel::City, None, Some(true)),
            router("hanyin", SiteLevel::County, Some("city"), Some(true)),
            router(
                "chengguan",
                SiteLevel::Township,
                Some("hanyin"),
                Some(false),
            ),
            router("pingliang", SiteLevel::Township, Some("hanyin"), None),
            router("stray", SiteLevel::Township, Some("nowhere"), Some(true)),
        ];
        let sites = sites(&routers);
        let (counties, all) = tally(&sites);
        assert_eq!(all, Tally { ready: 3, total: 5 });
        assert_eq!(counties["city"], Tally { ready: 1, total: 1 });
        assert_eq!(counties["hanyin"], Tally { ready: 1, total: 3 });
        assert_eq!(counties["stray"], Tally { ready: 1, total: 1 });
        let chengguan = sites
            .iter()
            .find(|s| s.router == "chengguan")
            .expect("site");
        assert_eq!(
            chengguan.reason.as_deref(),
            Some("probe city-lan: 2001:db8:a00::1 unreachable")
        );
        let pingliang = sites
            .iter()
            .find(|s| s.router == "pingliang")
            .expect("site");
        assert!(!pingliang.ready);
        assert!(
            pingliang
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("not evaluated"))
        );
        assert!((all.ratio() - 0.6).abs() < 1e-9);
        assert!(Tally::default().ratio().abs() < f64::EPSILON);
    }
}
