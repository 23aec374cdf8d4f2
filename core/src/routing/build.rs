//! The desired configuration of one router, pure: [`build`] reads the [`Inputs`] and returns
//! the [`RouterConfig`] its agent converges to (without a generation: storage assigns it).
//!
//! - **Addresses**: network+1 of each `Lan` interface's /64; on each member of a link, the
//!   upstream end holds network+1 and the downstream end network+2 of the member's /64.
//! - **Routes**: as the upstream of a link, the downstream router's site prefix over both
//!   members (next hops: the downstream ends); as the downstream, the pool's prefix over both
//!   members towards the upstream ends. Routes of one destination are merged, so one member
//!   down still routes.
//! - **Segments**: each `MigrateToExtranet` dedicated network with a site on the router: VLAN
//!   `vlan<id>` on the router's first `Lan` interface, VRF `vrf<table>`, network+1 of the
//!   site's /64. A classified network (or one bound for the intranet) is never emitted: it is
//!   left out and reported in [`Desired::skipped`], as are VLAN IDs out of 1–4094, reserved
//!   routing tables, clashes, and anything on a protected interface.
//! - **Protected interfaces**: `spec.managementInterface` and every `Management` interface.
//! - **Probes**: every router below the city probes the city router's first LAN address from
//!   its own first LAN address (`city-lan`).
//!
//! Missing inputs — no pool or prefix yet, a link member or a LAN without its allocation, a
//! site without its /64 — leave that part out instead of failing, so the configuration grows
//! as allocations appear. Every list is sorted: the same inputs give byte-identical JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

use govcloud_crds::api::{
    AddressConfig, NextHopConfig, ProbeConfig, RouteConfig, RouterConfig, SegmentConfig,
    VlanConfig, VrfConfig,
};
use govcloud_crds::common::{Classification, SiteLevel};
use govcloud_crds::network::dedicated_network::Disposition;
use govcloud_crds::network::router::InterfaceRole;
use govcloud_crds::{DedicatedNetwork, ExtranetLink, Router};
use kube_core::ResourceExt as _;

use super::inputs::{Index, Inputs, LINK_MEMBER, NETWORK_SITE, ROUTER_LAN};
use crate::ipam::Prefix;

/// The name of the probe towards the city router's LAN.
pub const CITY_PROBE: &str = "city-lan";
/// Routing tables a VRF may not use: unspecified, `default`, `main`, `local`.
const RESERVED_TABLES: [u32; 4] = [0, 253, 254, 255];

/// A router's desired configuration, and what the builder left out on purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// The configuration, with `generation` 0 (storage assigns the generation).
    pub config: RouterConfig,
    /// The router's site prefix, when it has one.
    pub prefix: Option<Prefix>,
    /// What was refused, one line each (a classified network, a reserved table, …), sorted.
    pub skipped: Vec<String>,
}

/// Why no configuration could be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The router is not among the inputs (deleted, or never declared).
    #[error("failed to build the configuration of router {0:?}: there is no such Router")]
    UnknownRouter(String),
}

/// The desired configuration of `router` from `inputs`.
pub fn build(router: &str, inputs: &Inputs) -> Result<Desired, BuildError> {
    let index = Index::new(inputs);
    let this = index
        .routers
        .get(router)
        .copied()
        .ok_or_else(|| BuildError::UnknownRouter(router.to_owned()))?;
    let mut builder = Builder::new(this, &index);
    let first_lan = builder.lans();
    let mut links: Vec<&ExtranetLink> = inputs.links.iter().collect();
    links.sort_by_key(|link| link.name_any());
    for link in links {
        builder.link(link);
    }
    let mut networks: Vec<&DedicatedNetwork> = inputs.networks.iter().collect();
    networks.sort_by_key(|network| network.name_any());
    for network in networks {
        builder.segment(network);
    }
    builder.probe(first_lan);
    Ok(builder.finish())
}

/// The `offset`-th address of `prefix`, if it lies inside.
fn host(prefix: Prefix, offset: u128) -> Option<Ipv6Addr> {
    let address = prefix.first().checked_add(offset)?;
    (address <= prefix.last()).then(|| Ipv6Addr::from(address))
}

/// The first interface of role `Lan` of `router`, in spec order.
fn first_lan(router: &Router) -> Option<&str> {
    router
        .spec
        .interfaces
        .iter()
        .find(|i| i.role == InterfaceRole::Lan)
        .map(|i| i.name.as_str())
}

/// One member of a link with its /64.
struct Member<'l> {
    upstream: &'l str,
    downstream: &'l str,
    prefix: Prefix,
}

struct Builder<'a> {
    router: &'a Router,
    name: String,
    index: &'a Index<'a>,
    pool: Option<(&'a str, Prefix)>,
    protected: BTreeSet<String>,
    addresses: BTreeSet<AddressConfig>,
    routes: BTreeMap<String, BTreeSet<NextHopConfig>>,
    segments: Vec<SegmentConfig>,
    probes: Vec<ProbeConfig>,
    skipped: BTreeSet<String>,
}

impl<'a> Builder<'a> {
    fn new(router: &'a Router, index: &'a Index<'a>) -> Self {
        let mut protected: BTreeSet<String> = router
            .spec
            .interfaces
            .iter()
            .filter(|i| i.role == InterfaceRole::Management)
            .map(|i| i.name.clone())
            .collect();
        protected.extend(router.spec.management_interface.iter().cloned());
        Self {
            router,
            name: router.name_any(),
            index,
            pool: index.pool_of(router),
            protected,
            addresses: BTreeSet::new(),
            routes: BTreeMap::new(),
            segments: Vec::new(),
            probes: Vec::new(),
            skipped: BTreeSet::new(),
        }
    }

    /// Whether `interface` may be configured; notes what was left out when not.
    fn allowed(&mut self, interface: &str, what: impl FnOnce() -> String) -> bool {
        if self.protected.contains(interface) {
            self.skipped.insert(format!(
                "{} left out: interface {interface} is protected (management)",
                what()
            ));
            false
        } else {
            true
        }
    }

    /// Holds `address` (in `prefix`) on `interface` unless it is protected.
    fn address(&mut self, interface: &str, address: Ipv6Addr, prefix: Prefix) -> bool {
        let text = format!("{address}/{}", prefix.length());
        if !self.allowed(interface, || format!("address {text}")) {
            return false;
        }
        self.addresses.insert(AddressConfig {
            interface: interface.to_owned(),
            address: text,
        });
        true
    }

    /// The address of `router`'s LAN `interface` (network+1 of its /64), if allocated.
    fn lan_address(&self, router: &Router, interface: &str) -> Option<(Ipv6Addr, Prefix)> {
        let (pool, _) = self.index.pool_of(router)?;
        let owner = format!("{}/{interface}", router.name_any());
        let prefix = self.index.allocation(pool, ROUTER_LAN, &owner)?;
        Some((host(prefix, 1)?, prefix))
    }

    /// The LAN addresses; returns the first LAN interface's address (the probes' source).
    fn lans(&mut self) -> Option<Ipv6Addr> {
        let router = self.router;
        let first = first_lan(router);
        let mut first_address = None;
        for interface in &router.spec.interfaces {
            if interface.role != InterfaceRole::Lan {
                continue;
            }
            let Some((address, prefix)) = self.lan_address(router, &interface.name) else {
                continue;
            };
            if self.address(&interface.name, address, prefix) && first == Some(&interface.name) {
                first_address = Some(address);
            }
        }
        first_address
    }

    /// The members of `link` whose /64 is allocated (in the downstream router's pool).
    fn members<'l>(&self, link: &'l ExtranetLink) -> Vec<Member<'l>> {
        let Some((pool, _)) = self
            .index
            .routers
            .get(&link.spec.downstream.router)
            .and_then(|downstream| self.index.pool_of(downstream))
        else {
            return Vec::new();
        };
        let name = link.name_any();
        link.spec
            .upstream
            .members
            .iter()
            .zip(&link.spec.downstream.members)
            .take(2)
            .enumerate()
            .filter_map(|(i, (upstream, downstream))| {
                let prefix = self
                    .index
                    .allocation(pool, LINK_MEMBER, &format!("{name}/{i}"))?;
                Some(Member {
                    upstream,
                    downstream,
                    prefix,
                })
            })
            .collect()
    }

    /// The addresses and route of this router's end of `link`.
    fn link(&mut self, link: &ExtranetLink) {
        let (upstream, downstream) = (&link.spec.upstream.router, &link.spec.downstream.router);
        let (mine, theirs, destination) = if *upstream == self.name && *downstream != self.name {
            let destination = self
                .index
                .routers
                .get(downstream)
                .and_then(|router| self.index.prefix_of(router));
            (1, 2, destination)
        } else if *downstream == self.name && *upstream != self.name {
            (2, 1, self.pool.map(|(_, prefix)| prefix))
        } else {
            return;
        };
        let mut hops = BTreeSet::new();
        for member in self.members(link) {
            let interface = if mine == 1 {
                member.upstream
            } else {
                member.downstream
            };
            let (Some(address), Some(via)) =
                (host(member.prefix, mine), host(member.prefix, theirs))
            else {
                continue;
            };
            if self.address(interface, address, member.prefix) {
                hops.insert(NextHopConfig {
                    via,
                    interface: interface.to_owned(),
                });
            }
        }
        if let Some(destination) = destination.filter(|_| !hops.is_empty()) {
            self.routes
                .entry(destination.to_string())
                .or_default()
                .extend(hops);
        }
    }

    /// The segment of `network` at this router, if it is to be configured here.
    fn segment(&mut self, network: &DedicatedNetwork) {
        let name = network.name_any();
        let Some(status) = network.status.as_ref() else {
            return;
        };
        let Some(site) = status.sites.iter().find(|s| s.router == self.name) else {
            return;
        };
        // A decommissioned network keeps its segment: the old network is what was switched off.
        if network.metadata.deletion_timestamp.is_some() {
            return;
        }
        let disposition = status.disposition.unwrap_or(if network.spec.retire {
            Disposition::Retire
        } else {
            Disposition::MigrateToExtranet
        });
        if network.spec.classification == Classification::Classified
            || disposition == Disposition::MigrateToIntranet
        {
            self.skipped.insert(format!(
                "dedicated network {name} left out: it is classified and never configured on \
                 an extranet router"
            ));
            return;
        }
        if disposition != Disposition::MigrateToExtranet {
            return;
        }
        let refuse = |builder: &mut Self, why: String| {
            builder
                .skipped
                .insert(format!("dedicated network {name} left out: {why}"));
        };
        if !(1..=4094).contains(&site.vlan_id) {
            return refuse(self, format!("VLAN ID {} is outside 1–4094", site.vlan_id));
        }
        if RESERVED_TABLES.contains(&site.vrf_table) {
            return refuse(
                self,
                format!("routing table {} is reserved", site.vrf_table),
            );
        }
        let Some(parent) = first_lan(self.router) else {
            return refuse(
                self,
                "the router has no Lan interface for its VLAN".to_owned(),
            );
        };
        if !self.allowed(parent, || format!("dedicated network {name}")) {
            return;
        }
        let prefix = self
            .pool
            .and_then(|(pool, _)| {
                self.index
                    .allocation(pool, NETWORK_SITE, &format!("{name}/{}", self.name))
            })
            .or_else(|| Prefix::parse(site.prefix.as_ref()?.as_str()).ok());
        let Some((address, prefix)) = prefix.and_then(|p| Some((host(p, 1)?, p))) else {
            return;
        };
        if let Some(other) = self.segments.iter().find(|s| s.vlan.id == site.vlan_id) {
            let why = format!("VLAN ID {} is taken by {}", site.vlan_id, other.network);
            return refuse(self, why);
        }
        if let Some(other) = self.segments.iter().find(|s| s.vrf.table == site.vrf_table) {
            let why = format!(
                "routing table {} is taken by {}",
                site.vrf_table, other.network
            );
            return refuse(self, why);
        }
        self.segments.push(SegmentConfig {
            network: name,
            classified: false,
            vlan: VlanConfig {
                name: format!("vlan{}", site.vlan_id),
                parent: parent.to_owned(),
                id: site.vlan_id,
            },
            vrf: VrfConfig {
                name: format!("vrf{}", site.vrf_table),
                table: site.vrf_table,
            },
            address: format!("{address}/{}", prefix.length()),
        });
    }

    /// The probe towards the city router's first LAN address, for routers below the city.
    fn probe(&mut self, source: Option<Ipv6Addr>) {
        if self.router.spec.site.level == SiteLevel::City {
            return;
        }
        let Some(city) = self.index.root_of(self.router) else {
            return;
        };
        let Some((target, _)) = first_lan(city).and_then(|lan| self.lan_address(city, lan)) else {
            return;
        };
        self.probes.push(ProbeConfig {
            name: CITY_PROBE.to_owned(),
            target,
            source,
        });
    }

    fn finish(mut self) -> Desired {
        self.segments.sort_by(|a, b| a.network.cmp(&b.network));
        self.probes.sort();
        let routes = self
            .routes
            .into_iter()
            .map(|(destination, hops)| RouteConfig {
                destination,
                next_hops: hops.into_iter().collect(),
            })
            .collect();
        Desired {
            prefix: self.index.prefix_of(self.router),
            config: RouterConfig {
                router: self.name,
                generation: 0,
                protected_interfaces: self.protected.into_iter().collect(),
                addresses: self.addresses.into_iter().collect(),
                routes,
                segments: self.segments,
                probes: self.probes,
            },
            skipped: self.skipped.into_iter().collect(),
        }
    }
}
