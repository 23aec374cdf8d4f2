//! Links from an `RTM_GETLINK` dump: name, index, kind, operational state, carrier, MTU, master,
//! hardware address and, depending on [`LinkDetail`], the 64-bit counters in the same dump or
//! from a separate `RTM_GETSTATS` dump that carries nothing else.

use govcloud_crds::api::{LinkCounters, LinkObservation};
use netlink_packet_route::link::{LinkFlags, LinkHeader};
use netlink_packet_route::stats::StatsHeader;

use crate::netlink::attr::{self, ifla};
use crate::netlink::request::{self, LinkDetail};
use crate::netlink::{Netlink, NetlinkError, Operation};

use super::names;

const RTM_NEWLINK: u16 = 16;
const RTM_NEWSTATS: u16 = 92;
const DUMP_LINKS: Operation = Operation("dump links (RTM_GETLINK)");
const DUMP_STATS: Operation = Operation("dump link counters (RTM_GETSTATS, IFLA_STATS_LINK_64)");

/// Every link of the network namespace, sorted by index, masters resolved to names.
/// `WithStats` reads the counters from the link dump itself (`IFLA_STATS64`); `WithoutStats`
/// asks for links without any counters and then for the 64-bit counters alone. Both cost the
/// same here (docs/benchmarks.md, "Router agent"): the agent uses the single dump.
pub fn dump(
    netlink: &mut Netlink,
    detail: LinkDetail,
) -> Result<Vec<LinkObservation>, NetlinkError> {
    let (mut links, _) = dump_links(netlink, detail)?;
    if detail == LinkDetail::WithoutStats {
        attach_counters(netlink, &mut links)?;
    }
    Ok(links)
}

/// Every link without counters, sorted by index, each with whether it is administratively up
/// (`IFF_UP`): what the apply path diffs.
pub fn dump_with_admin_state(
    netlink: &mut Netlink,
) -> Result<Vec<(LinkObservation, bool)>, NetlinkError> {
    let (links, up) = dump_links(netlink, LinkDetail::WithoutStats)?;
    Ok(links
        .into_iter()
        .map(|link| {
            let admin_up = up.binary_search(&link.index).is_ok();
            (link, admin_up)
        })
        .collect())
}

/// The links of one dump, sorted by index, masters resolved; and the sorted indexes of the links
/// that are administratively up.
fn dump_links(
    netlink: &mut Netlink,
    detail: LinkDetail,
) -> Result<(Vec<LinkObservation>, Vec<u32>), NetlinkError> {
    let mut links = Vec::new();
    let mut masters = Vec::new();
    let mut up = Vec::new();
    netlink.exchange(DUMP_LINKS, &request::link_dump(detail), |kind, payload| {
        if kind != RTM_NEWLINK {
            return Ok(());
        }
        let (link, master) = parse_link(payload)?;
        if let Some(master) = master {
            masters.push((link.index, master));
        }
        if LinkHeader::parse(payload).is_ok_and(|header| header.flags.contains(LinkFlags::Up)) {
            up.push(link.index);
        }
        links.push(link);
        Ok(())
    })?;
    links.sort_unstable_by_key(|link| link.index);
    up.sort_unstable();
    for (index, master) in masters {
        let name = position(&links, master).map(|at| links[at].name.clone());
        if let Some(at) = position(&links, index) {
            // A master in another namespace (not dumped here) is reported by its index.
            links[at].master = Some(name.unwrap_or_else(|| master.to_string()));
        }
    }
    Ok((links, up))
}

/// Where the link `index` is in `links` (sorted by index).
pub fn position(links: &[LinkObservation], index: u32) -> Option<usize> {
    links.binary_search_by_key(&index, |link| link.index).ok()
}

/// One `RTM_NEWLINK` message: the link and its master's index.
fn parse_link(payload: &[u8]) -> Result<(LinkObservation, Option<u32>), String> {
    let header = LinkHeader::parse(payload).map_err(|error| error.to_string())?;
    let attributes = payload.get(16..).unwrap_or_default();
    let mut link = LinkObservation {
        index: header.index,
        oper_state: names::oper_state(0).to_owned(),
        ..LinkObservation::default()
    };
    let mut master = None;
    let mut kind_error = None;
    attr::walk(attributes, |kind, value| match kind {
        ifla::IFNAME => link.name = attr::str_of(value),
        ifla::MTU => link.mtu = attr::u32_of(value).unwrap_or_default(),
        ifla::MASTER => master = attr::u32_of(value).filter(|&index| index != 0),
        ifla::OPERSTATE => {
            let state = value.first().copied().unwrap_or_default();
            names::oper_state(state).clone_into(&mut link.oper_state);
        }
        ifla::CARRIER => link.carrier = value.first().is_some_and(|&carrier| carrier != 0),
        ifla::ADDRESS => link.mac = Some(attr::mac_of(value)),
        ifla::STATS64 => link.counters = counters(value).unwrap_or_default(),
        ifla::LINKINFO => match attr::find(value, ifla::INFO_KIND) {
            Ok(kind) => link.kind = kind.map(attr::str_of),
            Err(error) => kind_error = Some(error),
        },
        _ => {}
    })?;
    if let Some(error) = kind_error {
        return Err(format!("link {}: IFLA_LINKINFO: {error}", header.index));
    }
    if link.name.is_empty() {
        return Err(format!("link {} has no IFLA_IFNAME", header.index));
    }
    Ok((link, master))
}

/// The counters `LinkCounters` holds, from a `struct rtnl_link_stats64`.
fn counters(stats: &[u8]) -> Option<LinkCounters> {
    let at = |field: usize| attr::u64_at(stats, field * 8);
    Some(LinkCounters {
        rx_packets: at(0)?,
        tx_packets: at(1)?,
        rx_bytes: at(2)?,
        tx_bytes: at(3)?,
        rx_errors: at(4)?,
        tx_errors: at(5)?,
        rx_dropped: at(6)?,
        tx_dropped: at(7)?,
    })
}

/// Fills the counters of `links` (sorted by index) from an `RTM_GETSTATS` dump.
fn attach_counters(
    netlink: &mut Netlink,
    links: &mut [LinkObservation],
) -> Result<(), NetlinkError> {
    netlink.exchange(DUMP_STATS, &request::stats_dump(), |kind, payload| {
        if kind != RTM_NEWSTATS {
            return Ok(());
        }
        let header = StatsHeader::parse(payload).map_err(|error| error.to_string())?;
        let Some(at) = position(links, header.ifindex) else {
            return Ok(()); // a link created after the link dump
        };
        let stats = attr::find(payload.get(12..).unwrap_or_default(), ifla::STATS_LINK_64)?;
        if let Some(stats) = stats.and_then(counters) {
            links[at].counters = stats;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(buffer: &mut Vec<u8>, kind: u16, value: &[u8]) {
        let length = u16::try_from(4 + value.len()).expect("small");
        buffer.extend_from_slice(&length.to_ne_bytes());
        buffer.extend_from_slice(&kind.to_ne_bytes());
        buffer.extend_from_slice(value);
        buffer.resize(buffer.len().next_multiple_of(4), 0);
    }

    #[test]
    fn parses_a_link_message() {
        let mut payload = vec![0, 0, 1, 0];
        payload.extend_from_slice(&7_u32.to_ne_bytes());
        payload.extend_from_slice(&[0; 8]);
        attribute(&mut payload, ifla::IFNAME, b"eth1\0");
        attribute(&mut payload, ifla::MTU, &9000_u32.to_ne_bytes());
        attribute(&mut payload, ifla::MASTER, &3_u32.to_ne_bytes());
        attribute(&mut payload, ifla::OPERSTATE, &[6]);
        attribute(&mut payload, ifla::CARRIER, &[1]);
        attribute(&mut payload, ifla::ADDRESS, &[2, 0, 0, 0, 0, 1]);
        let mut info = Vec::new();
        attribute(&mut info, ifla::INFO_KIND, b"veth\0");
        attribute(&mut payload, ifla::LINKINFO, &info);
        let stats: Vec<u8> = (1..=25_u64).flat_map(u64::to_ne_bytes).collect();
        attribute(&mut payload, ifla::STATS64, &stats);
        let (link, master) = parse_link(&payload).expect("well formed");
        assert_eq!(master, Some(3));
        assert_eq!(link.name, "eth1");
        assert_eq!(link.index, 7);
        assert_eq!(link.mtu, 9000);
        assert_eq!(link.oper_state, "up");
        assert!(link.carrier);
        assert_eq!(link.kind.as_deref(), Some("veth"));
        assert_eq!(link.mac.as_deref(), Some("02:00:00:00:00:01"));
        assert_eq!(link.counters.rx_packets, 1);
        assert_eq!(link.counters.rx_bytes, 3);
        assert_eq!(link.counters.tx_dropped, 8);
    }

    #[test]
    fn a_short_or_nameless_message_is_an_error() {
        assert!(parse_link(&[0; 8]).is_err());
        assert!(parse_link(&[0; 16]).is_err());
    }
}
