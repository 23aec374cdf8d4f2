//! Addresses from an `RTM_GETADDR` dump of both families, attached to their links as
//! `address/prefix-length` (the local address, as `ip addr` shows it).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use govcloud_crds::api::LinkObservation;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::AddressHeader;

use crate::netlink::attr::{self, ifa};
use crate::netlink::{Netlink, NetlinkError, Operation, request};

use super::links::position;

const RTM_NEWADDR: u16 = 20;
const DUMP_ADDRESSES: Operation = Operation("dump addresses (RTM_GETADDR)");

/// Appends every address of the namespace to its link in `links` (sorted by index); addresses of
/// links not in `links` are skipped.
pub fn attach(netlink: &mut Netlink, links: &mut [LinkObservation]) -> Result<(), NetlinkError> {
    netlink.exchange(DUMP_ADDRESSES, &request::address_dump(), |kind, payload| {
        if kind != RTM_NEWADDR {
            return Ok(());
        }
        let header = AddressHeader::parse(payload).map_err(|error| error.to_string())?;
        let Some(at) = position(links, header.index) else {
            return Ok(());
        };
        if let Some(address) = parse(&header, payload.get(8..).unwrap_or_default())? {
            links[at]
                .addresses
                .push(format!("{address}/{}", header.prefix_len));
        }
        Ok(())
    })
}

/// The local address of one `RTM_NEWADDR` message: `IFA_LOCAL` when present (an IPv4 address,
/// or either end of a point-to-point one), else `IFA_ADDRESS`.
fn parse(header: &AddressHeader, attributes: &[u8]) -> Result<Option<IpAddr>, String> {
    let mut local = None;
    let mut address = None;
    attr::walk(attributes, |kind, value| match kind {
        ifa::LOCAL => local = ip(header.family, value),
        ifa::ADDRESS => address = ip(header.family, value),
        _ => {}
    })?;
    Ok(local.or(address))
}

fn ip(family: AddressFamily, value: &[u8]) -> Option<IpAddr> {
    match family {
        AddressFamily::Inet => {
            let octets: [u8; 4] = value.get(..4)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(octets)))
        }
        AddressFamily::Inet6 => {
            let octets: [u8; 16] = value.get(..16)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_the_local_address() {
        let header = AddressHeader {
            family: AddressFamily::Inet,
            prefix_len: 24,
            ..AddressHeader::default()
        };
        let mut attributes = vec![8, 0, 1, 0, 192, 0, 2, 9];
        attributes.extend_from_slice(&[8, 0, 2, 0, 192, 0, 2, 1]);
        let address = parse(&header, &attributes).expect("well formed");
        assert_eq!(address, Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
        let v6 = AddressHeader {
            family: AddressFamily::Inet6,
            ..header
        };
        let mut attributes = vec![20, 0, 1, 0, 0x20, 0x01, 0x0d, 0xb8];
        attributes.extend_from_slice(&[0; 11]);
        attributes.push(1);
        let address = parse(&v6, &attributes).expect("well formed");
        assert_eq!(address, Some("2001:db8::1".parse().expect("literal")));
    }
}
