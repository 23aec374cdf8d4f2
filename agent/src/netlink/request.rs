//! The requests the agent sends, serialised: rtnetlink dumps through netlink-packet-route's
//! message types (dumps, and the changes of the apply path: addresses, routes, VLAN and VRF
//! devices), generic netlink (ethtool) by hand since no generic netlink crate is in the
//! dependency graph. Sequence numbers are filled in by the socket when a request is sent.

use std::net::{IpAddr, Ipv6Addr};

use netlink_packet_core::{
    NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
    NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVlan, InfoVrf, LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo,
    LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteNextHop, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::stats::{StatsFilterMask, StatsMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::attr::{genl, rta};

/// A serialised request.
#[derive(Clone, Debug)]
pub struct Request {
    pub(crate) bytes: Vec<u8>,
}

/// How much the kernel should put into each link of a link dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkDetail {
    /// Everything `ip -s link` gets, counters included (`RTEXT_FILTER_VF`, as `ip` asks).
    WithStats,
    /// No counters at all (`RTEXT_FILTER_SKIP_STATS`): neither `IFLA_STATS`/`IFLA_STATS64` nor
    /// the per-address-family statistics of `IFLA_AF_SPEC` (IPv6's alone are ~40 counters folded
    /// over every CPU). The counters then come from [`stats_dump`].
    WithoutStats,
}

fn rtnetlink(message: RouteNetlinkMessage) -> Request {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
    packet.finalize();
    let mut bytes = vec![0; packet.buffer_len()];
    packet.serialize(&mut bytes);
    Request { bytes }
}

/// `RTM_GETLINK` dump of every interface.
pub fn link_dump(detail: LinkDetail) -> Request {
    let mask = match detail {
        LinkDetail::WithStats => vec![LinkExtentMask::Vf],
        LinkDetail::WithoutStats => vec![LinkExtentMask::SkipStats],
    };
    let mut message = LinkMessage::default();
    message.attributes.push(LinkAttribute::ExtMask(mask));
    rtnetlink(RouteNetlinkMessage::GetLink(message))
}

/// `RTM_GETSTATS` dump asking only for `IFLA_STATS_LINK_64` (`struct rtnl_link_stats64`).
pub fn stats_dump() -> Request {
    let mut message = StatsMessage::default();
    message.header.filter_mask = StatsFilterMask::Link64;
    rtnetlink(RouteNetlinkMessage::GetStats(message))
}

/// `RTM_GETADDR` dump of both families.
pub fn address_dump() -> Request {
    rtnetlink(RouteNetlinkMessage::GetAddress(AddressMessage::default()))
}

/// `RTM_GETROUTE` dump of every table of one family. With strict checking the kernel dumps no
/// cached exceptions (`RTM_F_CLONED` unset), as `ip route show table all` shows.
pub fn route_dump(family: AddressFamily) -> Request {
    let mut message = RouteMessage::default();
    message.header.address_family = family;
    rtnetlink(RouteNetlinkMessage::GetRoute(message))
}

/// `RTM_GETROUTE` dump of the IPv6 routes of every table whose protocol is `protocol` (the
/// kernel filters on `rtm_protocol` under strict checking; callers check it again).
pub fn route_dump_by_protocol(protocol: u8) -> Request {
    let mut message = RouteMessage::default();
    message.header.address_family = AddressFamily::Inet6;
    message.header.protocol = RouteProtocol::from(protocol);
    rtnetlink(RouteNetlinkMessage::GetRoute(message))
}

/// A request that changes something, acknowledged (`NLM_F_ACK`) so that its error comes back.
fn change(message: RouteNetlinkMessage, flags: u16) -> Request {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
    packet.finalize();
    let mut bytes = vec![0; packet.buffer_len()];
    packet.serialize(&mut bytes);
    Request { bytes }
}

/// Add or delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressChange {
    /// `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_EXCL`: fails with `EEXIST` if present.
    Add,
    /// `RTM_DELADDR`.
    Delete,
}

/// `RTM_NEWADDR` / `RTM_DELADDR` of an IPv6 address on the link `index`, as `ip -6 address
/// add|del ADDRESS/LENGTH dev NAME` sends it (`IFA_LOCAL` and `IFA_ADDRESS` both the address).
pub fn address(
    change_kind: AddressChange,
    index: u32,
    address: Ipv6Addr,
    prefix_length: u8,
) -> Request {
    let mut message = AddressMessage::default();
    message.header.family = AddressFamily::Inet6;
    message.header.prefix_len = prefix_length;
    message.header.index = index;
    message
        .attributes
        .push(AddressAttribute::Local(IpAddr::V6(address)));
    message
        .attributes
        .push(AddressAttribute::Address(IpAddr::V6(address)));
    match change_kind {
        AddressChange::Add => change(
            RouteNetlinkMessage::NewAddress(message),
            NLM_F_CREATE | NLM_F_EXCL,
        ),
        AddressChange::Delete => change(RouteNetlinkMessage::DelAddress(message), 0),
    }
}

/// Add, replace or delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteChange {
    /// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_EXCL`: fails with `EEXIST` when a route to the
    /// destination (same metric) exists, whoever made it.
    Add,
    /// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_REPLACE`.
    Replace,
    /// `RTM_DELROUTE`; the kernel deletes only a route of the protocol given.
    Delete,
}

/// An IPv6 route: its table, destination, protocol and next hops as (gateway, interface index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec<'a> {
    pub table: u32,
    pub destination: Ipv6Addr,
    pub prefix_length: u8,
    pub protocol: u8,
    pub next_hops: &'a [(Ipv6Addr, u32)],
}

/// `RTM_NEWROUTE` / `RTM_DELROUTE` of an IPv6 unicast route: one next hop as `RTA_GATEWAY` and
/// `RTA_OIF`, several as `RTA_MULTIPATH` (what `ip -6 route add … nexthop … nexthop …` sends).
/// A delete carries no next hop: it removes the route with all of them.
pub fn route(change_kind: RouteChange, spec: &RouteSpec<'_>) -> Request {
    let mut message = RouteMessage::default();
    message.header.address_family = AddressFamily::Inet6;
    message.header.destination_prefix_length = spec.prefix_length;
    message.header.table = u8::try_from(spec.table).unwrap_or(rta::TABLE_COMPAT);
    message.header.protocol = RouteProtocol::from(spec.protocol);
    if spec.prefix_length > 0 {
        message
            .attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet6(
                spec.destination,
            )));
    }
    message.attributes.push(RouteAttribute::Table(spec.table));
    if change_kind == RouteChange::Delete {
        message.header.scope = RouteScope::NoWhere;
        return change(RouteNetlinkMessage::DelRoute(message), 0);
    }
    message.header.scope = RouteScope::Universe;
    message.header.kind = RouteType::Unicast;
    if let [(via, index)] = spec.next_hops {
        message
            .attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet6(*via)));
        message.attributes.push(RouteAttribute::Oif(*index));
    } else {
        let hops = spec
            .next_hops
            .iter()
            .map(|(via, index)| {
                let mut hop = RouteNextHop::default();
                hop.interface_index = *index;
                hop.attributes
                    .push(RouteAttribute::Gateway(RouteAddress::Inet6(*via)));
                hop
            })
            .collect();
        message.attributes.push(RouteAttribute::MultiPath(hops));
    }
    let flags = match change_kind {
        RouteChange::Replace => NLM_F_CREATE | NLM_F_REPLACE,
        _ => NLM_F_CREATE | NLM_F_EXCL,
    };
    change(RouteNetlinkMessage::NewRoute(message), flags)
}

/// A device the agent makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewLink {
    /// `type vlan id ID` on the link `parent`.
    Vlan { parent: u32, id: u16 },
    /// `type vrf table TABLE`.
    Vrf { table: u32 },
}

/// `RTM_NEWLINK` creating `name` (`NLM_F_CREATE | NLM_F_EXCL`), as `ip link add` sends it.
pub fn link_add(name: &str, kind: NewLink) -> Request {
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_owned()));
    let info = match kind {
        NewLink::Vlan { parent, id } => {
            message.attributes.push(LinkAttribute::Link(parent));
            vec![
                LinkInfo::Kind(InfoKind::Vlan),
                LinkInfo::Data(InfoData::Vlan(vec![InfoVlan::Id(id)])),
            ]
        }
        NewLink::Vrf { table } => vec![
            LinkInfo::Kind(InfoKind::Vrf),
            LinkInfo::Data(InfoData::Vrf(vec![InfoVrf::TableId(table)])),
        ],
    };
    message.attributes.push(LinkAttribute::LinkInfo(info));
    change(
        RouteNetlinkMessage::NewLink(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// `RTM_NEWLINK` setting the master of the link `index` (`IFLA_MASTER`; 0 releases it).
pub fn link_set_master(index: u32, master: u32) -> Request {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message.attributes.push(LinkAttribute::Controller(master));
    change(RouteNetlinkMessage::NewLink(message), 0)
}

/// `RTM_NEWLINK` setting the link `index` administratively up or down (`IFF_UP`).
pub fn link_set_up(index: u32, up: bool) -> Request {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message.header.change_mask = LinkFlags::Up;
    if up {
        message.header.flags = LinkFlags::Up;
    }
    change(RouteNetlinkMessage::NewLink(message), 0)
}

/// `RTM_DELLINK` of the link `index`.
pub fn link_delete(index: u32) -> Request {
    let mut message = LinkMessage::default();
    message.header.index = index;
    change(RouteNetlinkMessage::DelLink(message), 0)
}

/// `RTM_GETLINK` of the link called `name` (acknowledged, so a missing one answers `ENODEV`).
pub fn link_get(name: &str) -> Request {
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_owned()));
    message
        .attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    change(RouteNetlinkMessage::GetLink(message), 0)
}

/// Appends one attribute (with its padding) to `buffer`.
fn push_attribute(buffer: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let length = u16::try_from(4 + value.len()).expect("request attributes are small");
    buffer.extend_from_slice(&length.to_ne_bytes());
    buffer.extend_from_slice(&kind.to_ne_bytes());
    buffer.extend_from_slice(value);
    buffer.resize(buffer.len().next_multiple_of(4), 0);
}

/// A generic netlink request: `nlmsghdr`, `genlmsghdr`, attributes.
fn generic(family: u16, flags: u16, command: u8, version: u8, attributes: &[u8]) -> Vec<u8> {
    let length = u32::try_from(16 + 4 + attributes.len()).expect("requests are small");
    let mut bytes = Vec::with_capacity(20 + attributes.len());
    bytes.extend_from_slice(&length.to_ne_bytes());
    bytes.extend_from_slice(&family.to_ne_bytes());
    bytes.extend_from_slice(&flags.to_ne_bytes());
    bytes.extend_from_slice(&[0; 8]); // sequence number and port, filled in when sent
    bytes.extend_from_slice(&[command, version, 0, 0]);
    bytes.extend_from_slice(attributes);
    bytes
}

/// `CTRL_CMD_GETFAMILY` for the family called `name`.
pub fn family_lookup(name: &str) -> Request {
    let mut attributes = Vec::new();
    let mut value = name.as_bytes().to_vec();
    value.push(0);
    push_attribute(&mut attributes, genl::CTRL_ATTR_FAMILY_NAME, &value);
    let bytes = generic(
        genl::ID_CTRL,
        NLM_F_REQUEST | NLM_F_ACK,
        genl::CTRL_CMD_GETFAMILY,
        1,
        &attributes,
    );
    Request { bytes }
}

/// `ETHTOOL_MSG_LINKMODES_GET` of the interface `index`, or a dump of all when `None`. Compact
/// bitsets keep the link-mode masks the agent does not read small.
pub fn linkmodes(family: u16, index: Option<u32>) -> Request {
    let mut header = Vec::new();
    if let Some(index) = index {
        push_attribute(
            &mut header,
            genl::ETHTOOL_A_HEADER_DEV_INDEX,
            &index.to_ne_bytes(),
        );
    }
    let flags = genl::ETHTOOL_FLAG_COMPACT_BITSETS.to_ne_bytes();
    push_attribute(&mut header, genl::ETHTOOL_A_HEADER_FLAGS, &flags);
    let mut attributes = Vec::new();
    push_attribute(
        &mut attributes,
        genl::ETHTOOL_A_LINKMODES_HEADER | NLA_F_NESTED,
        &header,
    );
    let flags = NLM_F_REQUEST
        | if index.is_some() {
            NLM_F_ACK
        } else {
            NLM_F_DUMP
        };
    let bytes = generic(
        family,
        flags,
        genl::ETHTOOL_MSG_LINKMODES_GET,
        genl::ETHTOOL_VERSION,
        &attributes,
    );
    Request { bytes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::attr;

    #[test]
    fn link_dump_asks_for_a_dump_with_an_extension_mask() {
        let request = link_dump(LinkDetail::WithoutStats);
        let bytes = &request.bytes;
        assert_eq!(attr::u32_of(bytes).map(|n| n as usize), Some(bytes.len()));
        assert_eq!(attr::u16_of(&bytes[4..]), Some(18)); // RTM_GETLINK
        let flags = attr::u16_of(&bytes[6..]).expect("flags");
        assert_eq!(flags, NLM_F_REQUEST | NLM_F_DUMP);
        let mask = attr::find(&bytes[32..], attr::ifla::EXT_MASK).expect("attributes");
        assert_eq!(
            mask.and_then(attr::u32_of),
            Some(attr::ifla::RTEXT_FILTER_SKIP_STATS)
        );
    }

    #[test]
    fn linkmodes_nests_the_header() {
        let request = linkmodes(21, Some(7));
        let bytes = &request.bytes;
        assert_eq!(attr::u16_of(&bytes[4..]), Some(21));
        assert_eq!(attr::u16_of(&bytes[6..]), Some(NLM_F_REQUEST | NLM_F_ACK));
        assert_eq!(bytes[16], genl::ETHTOOL_MSG_LINKMODES_GET);
        let header = attr::find(&bytes[20..], genl::ETHTOOL_A_LINKMODES_HEADER)
            .expect("attributes")
            .expect("header");
        let index = attr::find(header, genl::ETHTOOL_A_HEADER_DEV_INDEX).expect("nested");
        assert_eq!(index.and_then(attr::u32_of), Some(7));
    }
}
