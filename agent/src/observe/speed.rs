//! Link speed from ethtool, over generic netlink (`ETHTOOL_MSG_LINKMODES_GET`).
//!
//! Why not the `ETHTOOL_GLINKSETTINGS` ioctl: it needs `unsafe` (the workspace forbids it) and
//! no safe wrapper of it is among the agent's dependencies. Why not `/sys/class/net/DEV/speed`:
//! sysfs shows the devices of the network namespace that was current when /sys was *mounted*,
//! not of the calling process, so an agent that entered a router's namespace with `setns(2)`
//! (without remounting /sys, as `ip netns exec` does) would read another namespace's device of
//! the same name, or none. Generic netlink answers for the socket's own namespace. The sysfs
//! file is only the fallback for kernels without `CONFIG_ETHTOOL_NETLINK` (before 5.6), and is
//! then read only when its `ifindex` matches the link's, which catches most namespace mix-ups.
//!
//! A speed is unknown (`None`) when the driver reports none (`SPEED_UNKNOWN`, e.g. a NIC without
//! carrier), 0, or does not implement link settings at all (loopback, bridges without ports).

use std::fs;

use govcloud_crds::api::LinkObservation;

use crate::netlink::attr::{self, genl};
use crate::netlink::{Netlink, NetlinkError, Operation, request};

use super::links::position;

const FAMILY: Operation =
    Operation("look up the ethtool generic netlink family (CTRL_CMD_GETFAMILY)");
const DUMP: Operation = Operation("dump link modes (ETHTOOL_MSG_LINKMODES_GET)");
const GET: Operation = Operation("get link modes (ETHTOOL_MSG_LINKMODES_GET)");

/// Where speeds come from on this kernel.
#[derive(Debug)]
pub enum SpeedSource {
    /// ethtool netlink, family id resolved.
    Ethtool(Netlink, u16),
    /// No ethtool netlink family: sysfs (see the module's documentation for its limits).
    Sysfs,
}

impl SpeedSource {
    /// Opens a generic netlink socket and resolves the ethtool family; falls back to sysfs when
    /// the kernel has no such family. Other failures are errors.
    pub fn open() -> Result<Self, NetlinkError> {
        let mut netlink = Netlink::generic()?;
        let mut family = None;
        let lookup = netlink.exchange(
            FAMILY,
            &request::family_lookup(genl::ETHTOOL_FAMILY),
            |_, payload| {
                let value = attr::find(
                    payload.get(4..).unwrap_or_default(),
                    genl::CTRL_ATTR_FAMILY_ID,
                )?;
                family = value.and_then(attr::u16_of);
                Ok(())
            },
        );
        match (lookup, family) {
            (Ok(()), Some(family)) => Ok(Self::Ethtool(netlink, family)),
            (Err(error), _) if error.errno() == Some(libc::ENOENT) => Ok(Self::Sysfs),
            (Err(error), _) => Err(error),
            (Ok(()), None) => Err(NetlinkError::Malformed {
                operation: FAMILY,
                detail: "no CTRL_ATTR_FAMILY_ID in the answer".to_owned(),
            }),
        }
    }

    /// Sets `speed_mbps` of `links` (sorted by index). With `all`, one dump answers for every
    /// device; otherwise each link is asked for alone, so that drivers of links nobody watches
    /// are not queried (reading a PHY can take milliseconds). A device that fails is `None`.
    pub fn attach(&mut self, links: &mut [LinkObservation], all: bool) {
        match self {
            Self::Sysfs => {
                for link in links.iter_mut() {
                    link.speed_mbps = from_sysfs(&link.name, link.index);
                }
            }
            Self::Ethtool(netlink, family) => {
                let request = request::linkmodes(*family, None);
                if all && dump(netlink, &request, links).is_ok() {
                    return;
                }
                for link in links.iter_mut() {
                    let request = request::linkmodes(*family, Some(link.index));
                    link.speed_mbps = None;
                    let _ = netlink.exchange(GET, &request, |_, payload| {
                        link.speed_mbps = parse(payload)?.1;
                        Ok(())
                    });
                }
            }
        }
    }
}

fn dump(
    netlink: &mut Netlink,
    request: &request::Request,
    links: &mut [LinkObservation],
) -> Result<(), NetlinkError> {
    netlink.exchange(DUMP, request, |kind, payload| {
        let _ = kind;
        let (index, speed) = parse(payload)?;
        if let Some(at) = index.and_then(|index| position(links, index)) {
            links[at].speed_mbps = speed;
        }
        Ok(())
    })
}

/// The device index and speed of one `ETHTOOL_MSG_LINKMODES_GET_REPLY`.
fn parse(payload: &[u8]) -> Result<(Option<u32>, Option<u32>), String> {
    if payload.first() != Some(&genl::ETHTOOL_MSG_LINKMODES_GET_REPLY) {
        return Ok((None, None));
    }
    let attributes = payload.get(4..).unwrap_or_default();
    let header = attr::find(attributes, genl::ETHTOOL_A_LINKMODES_HEADER)?.unwrap_or_default();
    let index = attr::find(header, genl::ETHTOOL_A_HEADER_DEV_INDEX)?.and_then(attr::u32_of);
    let speed = attr::find(attributes, genl::ETHTOOL_A_LINKMODES_SPEED)?
        .and_then(attr::u32_of)
        .filter(|&speed| speed != 0 && speed != genl::SPEED_UNKNOWN);
    Ok((index, speed))
}

/// `/sys/class/net/NAME/speed`, when that directory is the link's (same `ifindex`).
fn from_sysfs(name: &str, index: u32) -> Option<u32> {
    let directory = format!("/sys/class/net/{name}");
    let sysfs_index: u32 = fs::read_to_string(format!("{directory}/ifindex"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if sysfs_index != index {
        return None;
    }
    let speed: i64 = fs::read_to_string(format!("{directory}/speed"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    u32::try_from(speed)
        .ok()
        .filter(|&speed| speed != 0 && speed != genl::SPEED_UNKNOWN)
}
