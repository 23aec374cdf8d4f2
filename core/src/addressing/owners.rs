//! Which owners should hold a prefix of a pool, at which level and inside which parent, in the
//! order they are served (parents first), and which ledger allocations no owner wants any more.
//! Pure: the objects come in as [`RouterInput`]s, [`LinkInput`]s and [`NetworkInput`]s, read
//! from the custom resources by the `from_*` functions.
//!
//! The conventions (shared with the dedicated-network and desired-config modules):
//! - `Router/<router>`: the site prefix at the router's level — a city's inside the pool, a
//!   county's or a township's inside its upstream router's prefix;
//! - `RouterLan/<router>/<interface>`: a segment inside the router's prefix, per `Lan` interface;
//! - `LinkMember/<link>/<i>`: a segment inside the downstream router's prefix, per member;
//! - `NetworkSite/<network>/<router>`: a segment inside the router's prefix, per site of a
//!   dedicated network that migrates to the extranet.
//!
//! A router's pool is the one its `govcloud.io/address-pool` label names, else the only pool.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use govcloud_crds::common::{Classification, SiteLevel};
use govcloud_crds::network::router::InterfaceRole;
use govcloud_crds::{DedicatedNetwork, ExtranetLink, Router};
use kube_core::ResourceExt as _;

use crate::ipam::{EntryState, LedgerEntry, Level, Owner};

/// The label naming a router's pool.
pub const POOL_LABEL: &str = "govcloud.io/address-pool";
/// Owner kind of a router's site prefix.
pub const ROUTER: &str = "Router";
/// Owner kind of a router's LAN segment.
pub const ROUTER_LAN: &str = "RouterLan";
/// Owner kind of an extranet link member's segment.
pub const LINK_MEMBER: &str = "LinkMember";
/// Owner kind of a dedicated network's segment at a site.
pub const NETWORK_SITE: &str = "NetworkSite";
/// The owner kinds this module allocates for, and so releases.
pub const MANAGED_KINDS: [&str; 4] = [ROUTER, ROUTER_LAN, LINK_MEMBER, NETWORK_SITE];

/// What the planner needs of a `Router`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterInput {
    pub name: String,
    pub level: Level,
    pub upstream: Option<String>,
    /// The pool its label names, if any.
    pub pool_label: Option<String>,
    /// Its interfaces of role `Lan`, in spec order.
    pub lans: Vec<String>,
}

/// What the planner needs of an `ExtranetLink`: its name and its downstream router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInput {
    pub name: String,
    pub downstream: String,
}

/// A `DedicatedNetwork` that migrates to the extranet: its name and its sites' routers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkInput {
    pub name: String,
    pub routers: Vec<String>,
}

/// The allocation level of a router's site.
pub fn site_level(level: SiteLevel) -> Level {
    match level {
        SiteLevel::City => Level::City,
        SiteLevel::County => Level::County,
        SiteLevel::Township => Level::Township,
    }
}

/// Reads a `Router`.
pub fn from_router(router: &Router) -> RouterInput {
    RouterInput {
        name: router.name_any(),
        level: site_level(router.spec.site.level),
        upstream: router.spec.upstream.clone(),
        pool_label: router.labels().get(POOL_LABEL).cloned(),
        lans: router
            .spec
            .interfaces
            .iter()
            .filter(|i| i.role == InterfaceRole::Lan)
            .map(|i| i.name.clone())
            .collect(),
    }
}

/// Reads an `ExtranetLink`.
pub fn from_link(link: &ExtranetLink) -> LinkInput {
    LinkInput {
        name: link.name_any(),
        downstream: link.spec.downstream.router.clone(),
    }
}

/// Whether a network's sites get segments: it migrates to the extranet (unclassified, not
/// retired). A decommissioned one keeps them: decommissioning switches off the *old* network,
/// while the department goes on using its segment on the extranet; deleting the object ends it.
pub fn migrates_to_extranet(network: &DedicatedNetwork) -> bool {
    network.spec.classification == Classification::Unclassified && !network.spec.retire
}

/// Reads a `DedicatedNetwork`; `None` when its sites get no segments.
pub fn from_network(network: &DedicatedNetwork) -> Option<NetworkInput> {
    migrates_to_extranet(network).then(|| NetworkInput {
        name: network.name_any(),
        routers: network
            .spec
            .sites
            .iter()
            .map(|s| s.router.clone())
            .collect(),
    })
}

/// Why a router has no pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unassigned {
    /// Its label names a pool that does not exist, or there is no pool at all.
    NoPool { label: Option<String> },
    /// No label, and several pools exist.
    AmbiguousPool { pools: usize },
}

impl Unassigned {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoPool { .. } => "NoPool",
            Self::AmbiguousPool { .. } => "AmbiguousPool",
        }
    }
}

impl fmt::Display for Unassigned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPool { label: Some(pool) } => write!(
                f,
                "label {POOL_LABEL} names AddressPool {pool}, which does not exist"
            ),
            Self::NoPool { label: None } => f.write_str("no AddressPool exists"),
            Self::AmbiguousPool { pools } => write!(
                f,
                "{pools} AddressPools exist and the router has no {POOL_LABEL} label naming one"
            ),
        }
    }
}

/// The router's pool among `pools` (the names of every pool).
pub fn pool_of<'a>(
    router: &RouterInput,
    pools: &'a BTreeSet<String>,
) -> Result<&'a str, Unassigned> {
    match &router.pool_label {
        Some(label) => pools
            .get(label)
            .map(String::as_str)
            .ok_or_else(|| Unassigned::NoPool {
                label: Some(label.clone()),
            }),
        None => match pools.len() {
            0 => Err(Unassigned::NoPool { label: None }),
            1 => pools
                .iter()
                .next()
                .map(String::as_str)
                .ok_or(Unassigned::NoPool { label: None }),
            n => Err(Unassigned::AmbiguousPool { pools: n }),
        },
    }
}

/// Why a router's parent prefix is not known (yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wait {
    /// The county or township names no upstream router (the schema normally prevents it).
    NoUpstream,
    /// The upstream router does not exist.
    UpstreamMissing { upstream: String },
    /// The upstream router draws from another pool (or has none), so no prefix of this pool
    /// can nest in its prefix.
    UpstreamElsewhere { upstream: String },
    /// The upstream router is not of a level above the router's.
    UpstreamNotAbove { upstream: String, level: Level },
    /// The parent router has no prefix yet.
    ParentWithoutPrefix { router: String },
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoUpstream => f.write_str("the router names no upstream router"),
            Self::UpstreamMissing { upstream } => {
                write!(f, "upstream router {upstream} does not exist")
            }
            Self::UpstreamElsewhere { upstream } => write!(
                f,
                "upstream router {upstream} draws from another AddressPool (or none)"
            ),
            Self::UpstreamNotAbove { upstream, level } => write!(
                f,
                "upstream router {upstream} is a {level} site, not a level above"
            ),
            Self::ParentWithoutPrefix { router } => {
                write!(f, "router {router} has no prefix yet")
            }
        }
    }
}

/// Where a wanted prefix lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parent {
    /// The pool's own prefix (a city).
    Pool,
    /// The prefix of a router of this pool, at its level.
    Router { name: String, level: Level },
    /// Not known: the owner keeps what it holds, or waits.
    Unknown(Wait),
}

/// One owner's wanted prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    pub owner: Owner,
    pub level: Level,
    pub parent: Parent,
}

/// The owner of a router's site prefix.
pub fn router_owner(router: &str) -> Owner {
    Owner::new(ROUTER, router)
}

/// What one pool's owners want, parents before children: the routers by level (city, then
/// counties, then townships) and name, then the segments by owner. `routers` are every router
/// (of every pool), `pools` every pool's name.
pub fn wants(
    pool: &str,
    pools: &BTreeSet<String>,
    routers: &[RouterInput],
    links: &[LinkInput],
    networks: &[NetworkInput],
) -> Vec<Want> {
    let by_name: BTreeMap<&str, &RouterInput> =
        routers.iter().map(|r| (r.name.as_str(), r)).collect();
    let in_pool = |r: &RouterInput| pool_of(r, pools).is_ok_and(|p| p == pool);
    let mut mine: Vec<&RouterInput> = routers.iter().filter(|r| in_pool(r)).collect();
    mine.sort_by(|a, b| (a.level, &a.name).cmp(&(b.level, &b.name)));
    let mut wants: Vec<Want> = mine
        .iter()
        .map(|r| Want {
            owner: router_owner(&r.name),
            level: r.level,
            parent: router_parent(r, &by_name, &in_pool),
        })
        .collect();
    let segment_in = |router: &RouterInput| Parent::Router {
        name: router.name.clone(),
        level: router.level,
    };
    let mut segments: Vec<Want> = Vec::new();
    for router in &mine {
        for lan in &router.lans {
            segments.push(Want {
                owner: Owner::new(ROUTER_LAN, format!("{}/{lan}", router.name)),
                level: Level::Segment,
                parent: segment_in(router),
            });
        }
    }
    let mine_by_name: BTreeMap<&str, &RouterInput> =
        mine.iter().map(|r| (r.name.as_str(), *r)).collect();
    for link in links {
        if let Some(router) = mine_by_name.get(link.downstream.as_str()) {
            for member in 0..2 {
                segments.push(Want {
                    owner: Owner::new(LINK_MEMBER, format!("{}/{member}", link.name)),
                    level: Level::Segment,
                    parent: segment_in(router),
                });
            }
        }
    }
    for network in networks {
        let sites: BTreeSet<&str> = network.routers.iter().map(String::as_str).collect();
        for site in sites {
            if let Some(router) = mine_by_name.get(site) {
                segments.push(Want {
                    owner: Owner::new(NETWORK_SITE, format!("{}/{site}", network.name)),
                    level: Level::Segment,
                    parent: segment_in(router),
                });
            }
        }
    }
    segments.sort_by(|a, b| a.owner.cmp(&b.owner));
    segments.dedup_by(|a, b| a.owner == b.owner);
    wants.extend(segments);
    wants
}

fn router_parent(
    router: &RouterInput,
    by_name: &BTreeMap<&str, &RouterInput>,
    in_pool: &impl Fn(&RouterInput) -> bool,
) -> Parent {
    if router.level == Level::City {
        return Parent::Pool;
    }
    let Some(upstream) = &router.upstream else {
        return Parent::Unknown(Wait::NoUpstream);
    };
    let Some(up) = by_name.get(upstream.as_str()) else {
        return Parent::Unknown(Wait::UpstreamMissing {
            upstream: upstream.clone(),
        });
    };
    if !in_pool(up) {
        return Parent::Unknown(Wait::UpstreamElsewhere {
            upstream: upstream.clone(),
        });
    }
    if up.level >= router.level {
        return Parent::Unknown(Wait::UpstreamNotAbove {
            upstream: upstream.clone(),
            level: up.level,
        });
    }
    Parent::Router {
        name: up.name.clone(),
        level: up.level,
    }
}

/// The active allocations of managed kinds that no want asks for (the owner is gone, no longer
/// qualifies, or changed level): to release, shallowest level first.
pub fn stale(entries: &[LedgerEntry], wants: &[Want]) -> Vec<(Owner, Level)> {
    let wanted: BTreeSet<(&Owner, Level)> = wants.iter().map(|w| (&w.owner, w.level)).collect();
    let mut stale: Vec<(Owner, Level)> = entries
        .iter()
        .filter(|e| e.state == EntryState::Active)
        .filter(|e| MANAGED_KINDS.contains(&e.owner.kind.as_str()))
        .filter(|e| !wanted.contains(&(&e.owner, e.level)))
        .map(|e| (e.owner.clone(), e.level))
        .collect();
    stale.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    stale.dedup();
    stale
}
