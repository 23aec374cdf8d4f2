//! Routes summarised per (table, family) while they stream in: each `RTM_NEWROUTE` message of
//! the dump is read in place (its 12-byte header; its attributes only for a table number above
//! 255) and counted, so memory does not grow with the number of routes. And, for the apply path,
//! the IPv6 routes of one protocol in full ([`by_protocol`]): few, so they are kept.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use govcloud_crds::api::RouteSummary;
use netlink_packet_core::Parseable as _;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};

use crate::netlink::attr::{self, rta};
use crate::netlink::{Netlink, NetlinkError, Operation, request};

use super::names;

const RTM_NEWROUTE: u16 = 24;
const DUMP_IPV4: Operation = Operation("dump IPv4 routes of all tables (RTM_GETROUTE)");
const DUMP_IPV6: Operation = Operation("dump IPv6 routes of all tables (RTM_GETROUTE)");
const DUMP_PROTOCOL: Operation =
    Operation("dump the IPv6 routes of the agent's protocol (RTM_GETROUTE)");

/// An IPv6 unicast route as the kernel holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRoute {
    pub table: u32,
    pub destination: Ipv6Addr,
    pub prefix_length: u8,
    pub protocol: u8,
    /// (gateway, outgoing interface index); a route without gateway has `::`.
    pub next_hops: Vec<(Ipv6Addr, u32)>,
}

/// The IPv6 routes of every table whose protocol is `protocol`, multipath routes as one route
/// with every next hop.
pub fn by_protocol(netlink: &mut Netlink, protocol: u8) -> Result<Vec<KernelRoute>, NetlinkError> {
    let mut routes = Vec::new();
    let request = request::route_dump_by_protocol(protocol);
    netlink.exchange(DUMP_PROTOCOL, &request, |kind, payload| {
        if kind != RTM_NEWROUTE {
            return Ok(());
        }
        let message = RouteMessage::parse(payload).map_err(|error| error.to_string())?;
        if message.header.address_family == AddressFamily::Inet6
            && u8::from(message.header.protocol) == protocol
        {
            routes.push(kernel_route(&message));
        }
        Ok(())
    })?;
    Ok(routes)
}

fn kernel_route(message: &RouteMessage) -> KernelRoute {
    let mut route = KernelRoute {
        table: u32::from(message.header.table),
        destination: Ipv6Addr::UNSPECIFIED,
        prefix_length: message.header.destination_prefix_length,
        protocol: u8::from(message.header.protocol),
        next_hops: Vec::new(),
    };
    let mut gateway = None;
    let mut oif = None;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Table(table) => route.table = *table,
            RouteAttribute::Destination(RouteAddress::Inet6(address)) => {
                route.destination = *address;
            }
            RouteAttribute::Gateway(RouteAddress::Inet6(address)) => gateway = Some(*address),
            RouteAttribute::Oif(index) => oif = Some(*index),
            RouteAttribute::MultiPath(hops) => {
                for hop in hops {
                    let via = hop.attributes.iter().find_map(|attribute| match attribute {
                        RouteAttribute::Gateway(RouteAddress::Inet6(address)) => Some(*address),
                        _ => None,
                    });
                    route
                        .next_hops
                        .push((via.unwrap_or(Ipv6Addr::UNSPECIFIED), hop.interface_index));
                }
            }
            _ => {}
        }
    }
    if let Some(index) = oif {
        route
            .next_hops
            .push((gateway.unwrap_or(Ipv6Addr::UNSPECIFIED), index));
    }
    route
}

/// Counts of one table of one family.
#[derive(Debug)]
struct Tally {
    routes: u64,
    has_default: bool,
    by_protocol: [u64; 256],
}

/// The route summaries of every table of both families, ordered by family then table.
pub fn summarise(netlink: &mut Netlink) -> Result<Vec<RouteSummary>, NetlinkError> {
    let mut tallies = BTreeMap::new();
    tally(netlink, AddressFamily::Inet, &mut tallies)?;
    tally(netlink, AddressFamily::Inet6, &mut tallies)?;
    Ok(tallies
        .into_iter()
        .map(|((family, table), tally)| summary(family, table, &tally))
        .collect())
}

/// Adds the routes of one family to `tallies`, keyed by (family name, table).
fn tally(
    netlink: &mut Netlink,
    family: AddressFamily,
    tallies: &mut BTreeMap<(&'static str, u32), Box<Tally>>,
) -> Result<(), NetlinkError> {
    let (operation, name) = match family {
        AddressFamily::Inet => (DUMP_IPV4, "inet"),
        _ => (DUMP_IPV6, "inet6"),
    };
    netlink.exchange(operation, &request::route_dump(family), |kind, payload| {
        if kind != RTM_NEWROUTE {
            return Ok(());
        }
        let header = RouteHeader::parse(payload).map_err(|error| error.to_string())?;
        if header.address_family != family {
            return Ok(());
        }
        let table = if header.table == rta::TABLE_COMPAT {
            let value = attr::find(payload.get(12..).unwrap_or_default(), rta::TABLE)?;
            value
                .and_then(attr::u32_of)
                .unwrap_or(u32::from(rta::TABLE_COMPAT))
        } else {
            u32::from(header.table)
        };
        let tally = tallies.entry((name, table)).or_insert_with(|| {
            Box::new(Tally {
                routes: 0,
                has_default: false,
                by_protocol: [0; 256],
            })
        });
        tally.routes += 1;
        tally.has_default |= header.destination_prefix_length == 0;
        tally.by_protocol[usize::from(u8::from(header.protocol))] += 1;
        Ok(())
    })
}

fn summary(family: &str, table: u32, tally: &Tally) -> RouteSummary {
    let by_protocol = (0..=u8::MAX)
        .zip(tally.by_protocol)
        .filter(|&(_, count)| count > 0)
        .map(|(protocol, count)| (names::route_protocol(protocol).into_owned(), count))
        .collect();
    RouteSummary {
        table,
        family: family.to_owned(),
        routes: tally.routes,
        has_default: tally.has_default,
        by_protocol,
    }
}
