//! The pure diff: desired state + observed state + the agent's record → batches of operations,
//! each rendered as the `ip` command that does the same, each with its inverse for rollback.
//!
//! Batches, in order: one per device the agent made that no desired segment names any more
//! (`remove vlan120`; VLANs before VRFs), then `base` (addresses and main-table routes), then one
//! per segment (`segment <network>`: VRF device, VLAN device, enslave, up, address), so that a
//! segment that fails undoes neither the base nor another segment.
//!
//! Safety rules, all enforced here (and checked again over the finished plan):
//! - a `Del*` operation only names what the agent made: an address or device of the record
//!   (pruned of what the kernel no longer has), or a route of the agent's protocol;
//! - a route that exists with another protocol is never replaced or removed (adding it fails
//!   with `EEXIST`, reported);
//! - nothing on a protected interface, nor a route via one: the agent's own routes and addresses
//!   there are left alone and reported as conflicts;
//! - a device of a desired name that the agent did not make is neither adopted nor removed: the
//!   segment is skipped and reported as a conflict.
//!
//! A route is installed over the next hops whose interface is up ([`usable`]): with one link
//! member down it routes over the other, and takes the member back when it comes up.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use ipnet::Ipv6Net;

use super::GOVCLOUD_ROUTE_PROTOCOL;
use super::desired::{DesiredState, InterfaceAddress, MAIN_TABLE, Route, Segment, Vlan, Vrf};
use super::record::{Device, DeviceKind, Record};

/// A link as the diff needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedLink {
    pub index: u32,
    /// `IFLA_INFO_KIND` (`vlan`, `vrf`, `veth`, …); `None` for a physical device.
    pub kind: Option<String>,
    /// The master's name.
    pub master: Option<String>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
}

/// What the kernel has, as far as the diff cares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Links by name.
    pub links: BTreeMap<String, ObservedLink>,
    /// Every IPv6 address of every link.
    pub addresses: BTreeSet<InterfaceAddress>,
    /// The routes of the agent's protocol ([`GOVCLOUD_ROUTE_PROTOCOL`]), every table.
    pub routes: Vec<Route>,
}

/// One change to the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    AddAddress(InterfaceAddress),
    DelAddress(InterfaceAddress),
    AddRoute(Route),
    /// Replaces the agent's route to the same destination, `previous` (kept for rollback).
    ReplaceRoute {
        route: Route,
        previous: Route,
    },
    DelRoute(Route),
    AddVlan(Vlan),
    AddVrf(Vrf),
    /// Enslaves `link` to `master` (none: releases it); `previous` is its master before.
    SetMaster {
        link: String,
        master: Option<String>,
        previous: Option<String>,
    },
    SetUp(String),
    /// Only as the inverse of [`Operation::SetUp`].
    SetDown(String),
    DelLink(Device),
}

impl Operation {
    /// The operation that undoes this one.
    #[must_use]
    pub fn inverse(&self) -> Self {
        match self {
            Self::AddAddress(address) => Self::DelAddress(address.clone()),
            Self::DelAddress(address) => Self::AddAddress(address.clone()),
            Self::AddRoute(route) => Self::DelRoute(route.clone()),
            Self::DelRoute(route) => Self::AddRoute(route.clone()),
            Self::ReplaceRoute { route, previous } => Self::ReplaceRoute {
                route: previous.clone(),
                previous: route.clone(),
            },
            Self::AddVlan(vlan) => Self::DelLink(Device {
                name: vlan.name.clone(),
                kind: DeviceKind::Vlan {
                    parent: vlan.parent.clone(),
                    id: vlan.id,
                },
            }),
            Self::AddVrf(vrf) => Self::DelLink(Device {
                name: vrf.name.clone(),
                kind: DeviceKind::Vrf { table: vrf.table },
            }),
            Self::DelLink(device) => match &device.kind {
                DeviceKind::Vlan { parent, id } => Self::AddVlan(Vlan {
                    name: device.name.clone(),
                    parent: parent.clone(),
                    id: *id,
                }),
                DeviceKind::Vrf { table } => Self::AddVrf(Vrf {
                    name: device.name.clone(),
                    table: *table,
                }),
            },
            Self::SetMaster {
                link,
                master,
                previous,
            } => Self::SetMaster {
                link: link.clone(),
                master: previous.clone(),
                previous: master.clone(),
            },
            Self::SetUp(link) => Self::SetDown(link.clone()),
            Self::SetDown(link) => Self::SetUp(link.clone()),
        }
    }

    /// The `ip` command doing the same.
    pub fn ip_command(&self) -> String {
        match self {
            Self::AddAddress(address) => address_command("add", address),
            Self::DelAddress(address) => address_command("del", address),
            Self::AddRoute(route) => route_command("add", route, true),
            Self::ReplaceRoute { route, .. } => route_command("replace", route, true),
            Self::DelRoute(route) => route_command("del", route, false),
            Self::AddVlan(vlan) => format!(
                "ip link add link {} name {} type vlan id {}",
                vlan.parent, vlan.name, vlan.id
            ),
            Self::AddVrf(vrf) => format!("ip link add {} type vrf table {}", vrf.name, vrf.table),
            Self::SetMaster { link, master, .. } => match master {
                Some(master) => format!("ip link set {link} master {master}"),
                None => format!("ip link set {link} nomaster"),
            },
            Self::SetUp(link) => format!("ip link set {link} up"),
            Self::SetDown(link) => format!("ip link set {link} down"),
            Self::DelLink(device) => format!("ip link del {}", device.name),
        }
    }

    /// What it does, in words (the start of an error message).
    pub fn describe(&self) -> String {
        match self {
            Self::AddAddress(address) => format!("add address {address}"),
            Self::DelAddress(address) => format!("delete address {address}"),
            Self::AddRoute(route) => format!("add route {}", route.destination),
            Self::ReplaceRoute { route, .. } => format!("replace route {}", route.destination),
            Self::DelRoute(route) => format!("delete route {}", route.destination),
            Self::AddVlan(vlan) => format!(
                "create VLAN {} (ID {} on {})",
                vlan.name, vlan.id, vlan.parent
            ),
            Self::AddVrf(vrf) => format!("create VRF {} (table {})", vrf.name, vrf.table),
            Self::SetMaster {
                link,
                master: Some(master),
                ..
            } => format!("enslave {link} to {master}"),
            Self::SetMaster { link, .. } => format!("release {link} from its master"),
            Self::SetUp(link) => format!("bring {link} up"),
            Self::SetDown(link) => format!("bring {link} down"),
            Self::DelLink(device) => format!("delete device {}", device.name),
        }
    }

    /// The difference this operation would remove, as a drift line.
    pub fn drift(&self) -> String {
        match self {
            Self::AddAddress(address) => format!("address {address} missing"),
            Self::DelAddress(address) => {
                format!("address {address} is the agent's and no longer desired")
            }
            Self::AddRoute(route) => format!("route {} missing", route.destination),
            Self::ReplaceRoute { route, previous } => format!(
                "route {} has next hops {}, desired {}",
                route.destination,
                hops(previous),
                hops(route)
            ),
            Self::DelRoute(route) => format!(
                "route {} (proto {GOVCLOUD_ROUTE_PROTOCOL}) is no longer desired",
                route.destination
            ),
            Self::AddVlan(vlan) => format!(
                "VLAN device {} (ID {} on {}) missing",
                vlan.name, vlan.id, vlan.parent
            ),
            Self::AddVrf(vrf) => format!("VRF device {} (table {}) missing", vrf.name, vrf.table),
            Self::SetMaster { link, master, .. } => match master {
                Some(master) => format!("{link} is not enslaved to {master}"),
                None => format!("{link} is enslaved"),
            },
            Self::SetUp(link) => format!("{link} is down"),
            Self::SetDown(link) => format!("{link} is up"),
            Self::DelLink(device) => {
                format!(
                    "device {} is the agent's and no longer desired as it is",
                    device.name
                )
            }
        }
    }

    /// Every interface the operation changes or routes through.
    pub fn interfaces(&self) -> Vec<&str> {
        match self {
            Self::AddAddress(address) | Self::DelAddress(address) => vec![&address.interface],
            Self::AddRoute(route) | Self::DelRoute(route) => route_interfaces(route),
            Self::ReplaceRoute { route, previous } => {
                let mut all = route_interfaces(route);
                all.extend(route_interfaces(previous));
                all
            }
            Self::AddVlan(vlan) => vec![&vlan.name, &vlan.parent],
            Self::AddVrf(vrf) => vec![&vrf.name],
            Self::SetMaster {
                link,
                master,
                previous,
            } => {
                let mut all = vec![link.as_str()];
                all.extend(master.as_deref());
                all.extend(previous.as_deref());
                all
            }
            Self::SetUp(link) | Self::SetDown(link) => vec![link],
            Self::DelLink(device) => match &device.kind {
                DeviceKind::Vlan { parent, .. } => vec![&device.name, parent],
                DeviceKind::Vrf { .. } => vec![&device.name],
            },
        }
    }
}

fn route_interfaces(route: &Route) -> Vec<&str> {
    route
        .next_hops
        .iter()
        .map(|hop| hop.interface.as_str())
        .collect()
}

fn hops(route: &Route) -> String {
    let all: Vec<String> = route.next_hops.iter().map(ToString::to_string).collect();
    all.join(", ")
}

fn address_command(verb: &str, address: &InterfaceAddress) -> String {
    format!(
        "ip -6 address {verb} {}/{} dev {}",
        address.address, address.prefix_length, address.interface
    )
}

fn route_command(verb: &str, route: &Route, with_hops: bool) -> String {
    let mut command = format!("ip -6 route {verb} {}", route.destination);
    if route.table != MAIN_TABLE {
        let _ = write!(command, " table {}", route.table);
    }
    let _ = write!(command, " proto {GOVCLOUD_ROUTE_PROTOCOL}");
    if with_hops {
        if let [hop] = route.next_hops.as_slice() {
            let _ = write!(command, " {hop}");
        } else {
            for hop in &route.next_hops {
                let _ = write!(command, " nexthop {hop}");
            }
        }
    }
    command
}

/// Operations that succeed or fail together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// `base`, `segment <network>` or `remove <device>`.
    pub name: String,
    pub operations: Vec<Operation>,
}

/// The plan of one convergence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Batches with at least one operation, in the order they run.
    pub batches: Vec<Batch>,
    /// What the agent will not do although it differs, and why (one line each).
    pub conflicts: Vec<String>,
    /// The record pruned of what the kernel no longer has: the record to start applying from.
    pub record: Record,
}

impl Plan {
    /// Whether nothing is to be done.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Every operation, in order.
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.batches.iter().flat_map(|batch| &batch.operations)
    }

    /// The differences the plan would remove, one line each, conflicts last.
    pub fn drift(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.operations().map(Operation::drift).collect();
        lines.extend(self.conflicts.iter().cloned());
        lines
    }
}

/// The plan that converges `observed` to `desired`, removing only what `record` says the agent
/// made (and routes of its protocol).
pub fn plan(desired: &DesiredState, observed: &Observed, record: &Record) -> Plan {
    let record = record.pruned(observed);
    let protected = &desired.protected_interfaces;
    let mut conflicts = Vec::new();
    let claimed: BTreeSet<&str> = desired
        .segments
        .iter()
        .flat_map(|segment| [segment.vlan.name.as_str(), segment.vrf.name.as_str()])
        .collect();
    let mut batches = removals(&record, &claimed, protected, &mut conflicts);
    batches.push(Batch {
        name: "base".to_owned(),
        operations: base(desired, observed, &record, &claimed, &mut conflicts),
    });
    for segment in &desired.segments {
        if let Some(operations) = segment_operations(segment, observed, &record, &mut conflicts) {
            batches.push(Batch {
                name: format!("segment {}", segment.network),
                operations,
            });
        }
    }
    // Defence in depth: whatever the rules above missed, nothing touches a protected interface.
    for batch in &mut batches {
        batch.operations.retain(|operation| {
            let touched = operation
                .interfaces()
                .into_iter()
                .find(|name| protected.contains(*name));
            if let Some(name) = touched {
                conflicts.push(format!(
                    "left alone: `{}` would touch the protected interface {name}",
                    operation.ip_command()
                ));
            }
            touched.is_none()
        });
    }
    batches.retain(|batch| !batch.operations.is_empty());
    Plan {
        batches,
        conflicts,
        record,
    }
}

/// One batch per device the agent made that no desired segment names: VLANs, then VRFs.
fn removals(
    record: &Record,
    claimed: &BTreeSet<&str>,
    protected: &BTreeSet<String>,
    conflicts: &mut Vec<String>,
) -> Vec<Batch> {
    let mut unclaimed: Vec<Device> = record
        .devices
        .keys()
        .filter(|name| !claimed.contains(name.as_str()))
        .filter_map(|name| record.device(name))
        .collect();
    unclaimed.sort_by_key(|device| {
        (
            matches!(device.kind, DeviceKind::Vrf { .. }),
            device.name.clone(),
        )
    });
    let mut batches = Vec::new();
    for device in unclaimed {
        if protected.contains(&device.name) {
            conflicts.push(format!(
                "device {} is the agent's and no longer desired, but it is now protected: left alone",
                device.name
            ));
            continue;
        }
        batches.push(Batch {
            name: format!("remove {}", device.name),
            operations: vec![Operation::DelLink(device)],
        });
    }
    batches
}

/// `route` with the next hops the kernel can take now: those whose interface exists and is
/// administratively up (the kernel refuses a next hop on a device that is down, and flushes a
/// multipath route whose every next hop went down). A link member down therefore leaves the
/// route on the other member, and the member's next hop comes back with it. `None` when no
/// next hop is usable.
fn usable(route: &Route, observed: &Observed) -> Option<Route> {
    let mut usable = route.clone();
    usable.next_hops.retain(|hop| {
        observed
            .links
            .get(&hop.interface)
            .is_some_and(|link| link.up)
    });
    (!usable.next_hops.is_empty()).then_some(usable)
}

/// The base batch: routes removed, addresses removed, addresses added, routes added or
/// replaced — in that order, so a new route's next hop is on a network the batch already
/// connected and an address whose prefix length changes is removed before it is added again.
fn base(
    desired: &DesiredState,
    observed: &Observed,
    record: &Record,
    claimed: &BTreeSet<&str>,
    conflicts: &mut Vec<String>,
) -> Vec<Operation> {
    let protected = &desired.protected_interfaces;
    let is_protected = |route: &Route| {
        route
            .next_hops
            .iter()
            .find(|hop| protected.contains(&hop.interface))
            .map(|hop| hop.interface.clone())
    };
    let wanted: BTreeMap<(u32, Ipv6Net), &Route> = desired
        .routes
        .iter()
        .map(|route| ((route.table, route.destination), route))
        .collect();
    let owned: BTreeMap<(u32, Ipv6Net), &Route> = observed
        .routes
        .iter()
        .map(|route| ((route.table, route.destination), route))
        .collect();
    let mut removed_routes = Vec::new();
    let mut added_routes = Vec::new();
    for (key, route) in &owned {
        if !wanted.contains_key(key) {
            if let Some(interface) = is_protected(route) {
                conflicts.push(format!(
                    "route {} (proto {GOVCLOUD_ROUTE_PROTOCOL}) is no longer desired, but it goes via the protected interface {interface}: left alone",
                    route.destination
                ));
            } else {
                removed_routes.push(Operation::DelRoute((*route).clone()));
            }
        }
    }
    for (key, route) in &wanted {
        let Some(route) = &usable(route, observed) else {
            conflicts.push(format!(
                "route {} has no next hop on an interface that exists and is up ({}): left as the kernel has it",
                route.destination,
                hops(route)
            ));
            continue;
        };
        match owned.get(key) {
            None => added_routes.push(Operation::AddRoute(route.clone())),
            Some(current) if current.next_hops == route.next_hops => {}
            Some(current) => {
                if let Some(interface) = is_protected(current) {
                    conflicts.push(format!(
                        "route {} (proto {GOVCLOUD_ROUTE_PROTOCOL}) goes via the protected interface {interface}: not replaced",
                        route.destination
                    ));
                } else {
                    added_routes.push(Operation::ReplaceRoute {
                        route: route.clone(),
                        previous: (*current).clone(),
                    });
                }
            }
        }
    }
    let wanted_addresses: BTreeSet<&InterfaceAddress> = desired.addresses.iter().collect();
    let mut removed_addresses = Vec::new();
    for address in &record.addresses {
        let on_device = record.devices.contains_key(&address.interface)
            || claimed.contains(address.interface.as_str());
        if on_device || wanted_addresses.contains(address) {
            continue;
        }
        if protected.contains(&address.interface) {
            conflicts.push(format!(
                "address {address} is the agent's and no longer desired, but {} is protected: left alone",
                address.interface
            ));
        } else {
            removed_addresses.push(Operation::DelAddress(address.clone()));
        }
    }
    let added_addresses = desired
        .addresses
        .iter()
        .filter(|address| !observed.addresses.contains(*address))
        .map(|address| Operation::AddAddress(address.clone()));
    let mut operations = removed_routes;
    operations.extend(removed_addresses);
    operations.extend(added_addresses);
    operations.extend(added_routes);
    operations
}

/// Where a desired device stands.
enum Standing<'a> {
    Missing,
    /// The agent's, as desired.
    Current(&'a super::diff::ObservedLink),
    /// The agent's, but not as desired: to delete and make again.
    Differs(Device),
    /// Someone else's.
    Foreign,
}

fn standing<'a>(
    name: &str,
    kind: &DeviceKind,
    observed: &'a Observed,
    record: &Record,
) -> Standing<'a> {
    let Some(link) = observed.links.get(name) else {
        return Standing::Missing;
    };
    match record.devices.get(name) {
        None => Standing::Foreign,
        Some(recorded) if recorded.kind == *kind => Standing::Current(link),
        Some(_) => record
            .device(name)
            .map_or(Standing::Foreign, Standing::Differs),
    }
}

/// The operations of one segment's batch, or `None` (and a conflict) when a device of its
/// names is not the agent's.
fn segment_operations(
    segment: &Segment,
    observed: &Observed,
    record: &Record,
    conflicts: &mut Vec<String>,
) -> Option<Vec<Operation>> {
    let vrf_kind = DeviceKind::Vrf {
        table: segment.vrf.table,
    };
    let vlan_kind = DeviceKind::Vlan {
        parent: segment.vlan.parent.clone(),
        id: segment.vlan.id,
    };
    let vrf = standing(&segment.vrf.name, &vrf_kind, observed, record);
    let vlan = standing(&segment.vlan.name, &vlan_kind, observed, record);
    for (name, standing) in [(&segment.vrf.name, &vrf), (&segment.vlan.name, &vlan)] {
        if matches!(standing, Standing::Foreign) {
            conflicts.push(format!(
                "segment {}: a device named {name} exists that the agent did not create; the agent neither adopts nor removes it",
                segment.network
            ));
            return None;
        }
    }
    let mut operations = Vec::new();
    let vrf_made = !matches!(vrf, Standing::Current(_));
    // A VLAN to enslave anew is made anew: enslaving to a VRF cycles the device, which drops its
    // IPv6 addresses.
    let vlan_current = match &vlan {
        Standing::Current(link) if !vrf_made && link.master.as_ref() == Some(&segment.vrf.name) => {
            Some(*link)
        }
        Standing::Current(_) => {
            operations.push(Operation::DelLink(Device {
                name: segment.vlan.name.clone(),
                kind: vlan_kind.clone(),
            }));
            None
        }
        Standing::Differs(device) => {
            operations.push(Operation::DelLink(device.clone()));
            None
        }
        Standing::Missing | Standing::Foreign => None,
    };
    match &vrf {
        Standing::Current(link) => {
            if !link.up {
                operations.push(Operation::SetUp(segment.vrf.name.clone()));
            }
        }
        Standing::Differs(device) => {
            operations.push(Operation::DelLink(device.clone()));
            operations.push(Operation::AddVrf(segment.vrf.clone()));
            operations.push(Operation::SetUp(segment.vrf.name.clone()));
        }
        Standing::Missing | Standing::Foreign => {
            operations.push(Operation::AddVrf(segment.vrf.clone()));
            operations.push(Operation::SetUp(segment.vrf.name.clone()));
        }
    }
    if let Some(link) = vlan_current {
        if !link.up {
            operations.push(Operation::SetUp(segment.vlan.name.clone()));
        }
        for address in &record.addresses {
            if address.interface == segment.vlan.name && *address != segment.address {
                operations.push(Operation::DelAddress(address.clone()));
            }
        }
        if !observed.addresses.contains(&segment.address) {
            operations.push(Operation::AddAddress(segment.address.clone()));
        }
    } else {
        operations.push(Operation::AddVlan(segment.vlan.clone()));
        operations.push(Operation::SetMaster {
            link: segment.vlan.name.clone(),
            master: Some(segment.vrf.name.clone()),
            previous: None,
        });
        operations.push(Operation::SetUp(segment.vlan.name.clone()));
        operations.push(Operation::AddAddress(segment.address.clone()));
    }
    Some(operations)
}
