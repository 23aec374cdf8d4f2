//! The sites of a dedicated network checked against the known routers, pure: each problem
//! names the field to fix (`spec.sites[2].router`) and the value at fault.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use govcloud_crds::network::dedicated_network::NetworkSite;

use super::allocation::MAX_VLAN;

/// Why a site cannot be consolidated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteProblem {
    /// The site names no `Router`.
    UnknownRouter { index: usize, router: String },
    /// Another site names the same router.
    Duplicate {
        index: usize,
        first: usize,
        router: String,
    },
    /// A pinned VLAN id outside 1–4094 (refused at admission; a cluster may bypass it).
    VlanOutOfRange { index: usize, vlan: u16 },
}

impl SiteProblem {
    /// The condition and event reason.
    pub fn category(&self) -> &'static str {
        match self {
            Self::UnknownRouter { .. } => "UnknownRouter",
            Self::Duplicate { .. } => "DuplicateSite",
            Self::VlanOutOfRange { .. } => "InvalidVlan",
        }
    }
}

impl fmt::Display for SiteProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownRouter { index, router } => write!(
                f,
                "spec.sites[{index}].router: {router:?} is not a known Router"
            ),
            Self::Duplicate {
                index,
                first,
                router,
            } => write!(
                f,
                "spec.sites[{index}].router: {router:?} is already spec.sites[{first}].router \
                 (one site per router)"
            ),
            Self::VlanOutOfRange { index, vlan } => write!(
                f,
                "spec.sites[{index}].vlanId: {vlan} is outside 1–{MAX_VLAN}"
            ),
        }
    }
}

/// The problems of `sites`, in site order, given the names of the routers that exist.
pub fn check_sites(sites: &[NetworkSite], known: &BTreeSet<String>) -> Vec<SiteProblem> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for (index, site) in sites.iter().enumerate() {
        if let Some(&first) = seen.get(site.router.as_str()) {
            problems.push(SiteProblem::Duplicate {
                index,
                first,
                router: site.router.clone(),
            });
            continue;
        }
        seen.insert(&site.router, index);
        if !known.contains(&site.router) {
            problems.push(SiteProblem::UnknownRouter {
                index,
                router: site.router.clone(),
            });
        }
        if let Some(vlan) = site.vlan_id.filter(|v| *v == 0 || *v > MAX_VLAN) {
            problems.push(SiteProblem::VlanOutOfRange { index, vlan });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consolidation::testing::site;

    fn known(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn unknown_routers_and_duplicates_are_named_by_field() {
        let sites = [
            site("ankang-core", None),
            site("nowhere", None),
            site("ankang-core", Some(4095)),
            site("hanbin-core", Some(0)),
        ];
        let problems = check_sites(&sites, &known(&["ankang-core", "hanbin-core"]));
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "spec.sites[1].router: \"nowhere\" is not a known Router",
                "spec.sites[2].router: \"ankang-core\" is already spec.sites[0].router (one site per router)",
                "spec.sites[3].vlanId: 0 is outside 1–4094",
            ]
        );
        assert_eq!(problems[0].category(), "UnknownRouter");
        assert_eq!(problems[1].category(), "DuplicateSite");
    }

    #[test]
    fn known_distinct_sites_pass() {
        let sites = [site("ankang-core", Some(210)), site("hanbin-core", None)];
        assert!(check_sites(&sites, &known(&["ankang-core", "hanbin-core"])).is_empty());
    }
}
