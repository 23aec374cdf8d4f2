//! What the desired configuration is built from, as typed values: every `Router` (spec and
//! `status.prefix`), every `ExtranetLink`, every `DedicatedNetwork` (spec and `status.sites`),
//! the address pools' prefixes and the IPAM ledger's active allocations — and the lookups the
//! builder makes in them (a router's pool, its site prefix, an owner's allocation).
//!
//! Owners follow the addressing conventions: `Router/<router>` (the site prefix),
//! `RouterLan/<router>/<interface>`, `LinkMember/<link>/<i>` (in the downstream router's pool),
//! `NetworkSite/<network>/<router>`.

use std::collections::{BTreeMap, HashMap};

use govcloud_crds::{DedicatedNetwork, ExtranetLink, Router};
use kube_core::ResourceExt as _;

use crate::ipam::{Owner, Prefix};

/// The label naming a router's `AddressPool`.
pub const POOL_LABEL: &str = "govcloud.io/address-pool";
/// Owner kind of a router's site prefix.
pub const ROUTER: &str = "Router";
/// Owner kind of a LAN interface's /64 (`<router>/<interface>`).
pub const ROUTER_LAN: &str = "RouterLan";
/// Owner kind of a link member's /64 (`<link>/<i>`, i = 0, 1).
pub const LINK_MEMBER: &str = "LinkMember";
/// Owner kind of a dedicated network's /64 at a site (`<network>/<router>`).
pub const NETWORK_SITE: &str = "NetworkSite";

/// An active allocation of the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// The pool's name.
    pub pool: String,
    /// Who holds it.
    pub owner: Owner,
    /// The prefix.
    pub prefix: Prefix,
}

/// An address pool: its name and prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    pub name: String,
    pub prefix: Prefix,
}

/// Everything the builder reads. Order does not matter: the output is sorted.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub routers: Vec<Router>,
    pub links: Vec<ExtranetLink>,
    pub networks: Vec<DedicatedNetwork>,
    pub pools: Vec<Pool>,
    /// Active allocations only (released ones, held or not, own nothing).
    pub allocations: Vec<Allocation>,
}

/// The inputs indexed for lookups.
pub(crate) struct Index<'a> {
    pub routers: HashMap<String, &'a Router>,
    pools: BTreeMap<&'a str, Prefix>,
    /// `(pool, kind, name)` → the lowest prefix held (one, normally).
    allocations: HashMap<(&'a str, &'a str, &'a str), Prefix>,
}

impl<'a> Index<'a> {
    pub fn new(inputs: &'a Inputs) -> Self {
        let routers = inputs.routers.iter().map(|r| (r.name_any(), r)).collect();
        let pools = inputs
            .pools
            .iter()
            .map(|p| (p.name.as_str(), p.prefix))
            .collect();
        let mut allocations: HashMap<(&str, &str, &str), Prefix> = HashMap::new();
        for allocation in &inputs.allocations {
            let key = (
                allocation.pool.as_str(),
                allocation.owner.kind.as_str(),
                allocation.owner.name.as_str(),
            );
            allocations
                .entry(key)
                .and_modify(|held| *held = (*held).min(allocation.prefix))
                .or_insert(allocation.prefix);
        }
        Self {
            routers,
            pools,
            allocations,
        }
    }

    /// The pool of `router`: the one its label names, else the only pool; `None` when the
    /// label names no pool, or there are none or several and no label.
    pub fn pool_of(&self, router: &Router) -> Option<(&'a str, Prefix)> {
        match router.labels().get(POOL_LABEL) {
            Some(name) => self
                .pools
                .get_key_value(name.as_str())
                .map(|(name, prefix)| (*name, *prefix)),
            None if self.pools.len() == 1 => self
                .pools
                .iter()
                .next()
                .map(|(name, prefix)| (*name, *prefix)),
            None => None,
        }
    }

    /// The allocation of `kind`/`name` in `pool`.
    pub fn allocation(&self, pool: &str, kind: &str, name: &str) -> Option<Prefix> {
        self.allocations.get(&(pool, kind, name)).copied()
    }

    /// The site prefix of `router`: its `Router` allocation in its pool, else what its status
    /// says (written from that allocation).
    pub fn prefix_of(&self, router: &Router) -> Option<Prefix> {
        let name = router.name_any();
        self.pool_of(router)
            .and_then(|(pool, _)| self.allocation(pool, ROUTER, &name))
            .or_else(|| {
                let status = router.status.as_ref()?.prefix.as_ref()?;
                Prefix::parse(status.as_str()).ok()
            })
    }

    /// The top of `router`'s upstream chain (the city router), `None` for a router without
    /// an upstream, or whose chain loops or names an unknown router.
    pub fn root_of(&self, router: &Router) -> Option<&'a Router> {
        let mut current = self
            .routers
            .get(router.spec.upstream.as_deref()?)
            .copied()?;
        for _ in 0..self.routers.len() {
            match current.spec.upstream.as_deref() {
                None => return Some(current),
                Some(upstream) => current = self.routers.get(upstream).copied()?,
            }
        }
        None
    }
}
