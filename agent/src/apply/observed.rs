//! The observation the diff needs, through the netlink adapter: links with their kind, master
//! and administrative state and their IPv6 addresses (the observation path's own dumps), and the
//! routes of the agent's protocol in full.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use crate::netlink::{Netlink, NetlinkError};
use crate::observe::{addresses, links, routes};

use super::GOVCLOUD_ROUTE_PROTOCOL;
use super::desired::{InterfaceAddress, NextHop, Route, network_of};
use super::diff::{Observed, ObservedLink};

/// Observes the network namespace of `netlink`'s socket.
pub fn observe(netlink: &mut Netlink) -> Result<Observed, NetlinkError> {
    let dumped = links::dump_with_admin_state(netlink)?;
    let up: Vec<bool> = dumped.iter().map(|(_, up)| *up).collect();
    let mut observations: Vec<_> = dumped.into_iter().map(|(link, _)| link).collect();
    addresses::attach(netlink, &mut observations)?;
    let names: BTreeMap<u32, String> = observations
        .iter()
        .map(|link| (link.index, link.name.clone()))
        .collect();
    let mut observed = Observed::default();
    for (link, up) in observations.into_iter().zip(up) {
        for text in &link.addresses {
            if let Some(address) = parse_address(&link.name, text) {
                observed.addresses.insert(address);
            }
        }
        observed.links.insert(
            link.name,
            ObservedLink {
                index: link.index,
                kind: link.kind,
                master: link.master,
                up,
            },
        );
    }
    for route in routes::by_protocol(netlink, GOVCLOUD_ROUTE_PROTOCOL)? {
        let mut next_hops: Vec<NextHop> = route
            .next_hops
            .iter()
            .map(|(via, index)| NextHop {
                via: *via,
                interface: names
                    .get(index)
                    .cloned()
                    .unwrap_or_else(|| format!("if{index}")),
            })
            .collect();
        next_hops.sort();
        next_hops.dedup();
        observed.routes.push(Route {
            table: route.table,
            destination: network_of(route.destination, route.prefix_length),
            next_hops,
        });
    }
    Ok(observed)
}

/// An IPv6 `address/length` of the observation path; IPv4 ones are not the agent's business.
fn parse_address(interface: &str, text: &str) -> Option<InterfaceAddress> {
    let (address, length) = text.split_once('/')?;
    Some(InterfaceAddress {
        interface: interface.to_owned(),
        address: address.parse::<Ipv6Addr>().ok()?,
        prefix_length: length.parse().ok()?,
    })
}
