//! Reading netlink attributes in place: the kernel's uapi numbers the agent reads, and small
//! helpers over netlink-packet-core's `NlasIterator` that never copy a buffer or panic on a short
//! one.

use netlink_packet_core::{NLA_TYPE_MASK, NlaBuffer, NlasIterator};

/// `include/uapi/linux/if_link.h`: `IFLA_*` attributes of an `RTM_NEWLINK` message.
pub mod ifla {
    pub const ADDRESS: u16 = 1;
    pub const IFNAME: u16 = 3;
    pub const MTU: u16 = 4;
    pub const MASTER: u16 = 10;
    pub const OPERSTATE: u16 = 16;
    pub const LINKINFO: u16 = 18;
    pub const STATS64: u16 = 23;
    pub const EXT_MASK: u16 = 29;
    pub const CARRIER: u16 = 33;
    /// `IFLA_INFO_KIND`, inside `IFLA_LINKINFO`.
    pub const INFO_KIND: u16 = 1;
    /// `IFLA_STATS_LINK_64`, inside an `RTM_NEWSTATS` message.
    pub const STATS_LINK_64: u16 = 1;
    /// `RTEXT_FILTER_VF` (`include/uapi/linux/rtnetlink.h`).
    pub const RTEXT_FILTER_VF: u32 = 1 << 0;
    /// `RTEXT_FILTER_SKIP_STATS`.
    pub const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
}

/// `include/uapi/linux/if_addr.h`: `IFA_*` attributes of an `RTM_NEWADDR` message.
pub mod ifa {
    pub const ADDRESS: u16 = 1;
    pub const LOCAL: u16 = 2;
}

/// `include/uapi/linux/rtnetlink.h`: `RTA_*` attributes of an `RTM_NEWROUTE` message.
pub mod rta {
    pub const TABLE: u16 = 15;
    /// `RT_TABLE_COMPAT`: the header's table byte when the table number is above 255.
    pub const TABLE_COMPAT: u8 = 252;
}

/// `include/uapi/linux/genetlink.h` and `ethtool_netlink.h`.
pub mod genl {
    pub const ID_CTRL: u16 = 0x10;
    pub const CTRL_CMD_GETFAMILY: u8 = 3;
    pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
    pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
    pub const ETHTOOL_FAMILY: &str = "ethtool";
    pub const ETHTOOL_VERSION: u8 = 1;
    pub const ETHTOOL_MSG_LINKMODES_GET: u8 = 4;
    pub const ETHTOOL_MSG_LINKMODES_GET_REPLY: u8 = 4;
    pub const ETHTOOL_A_LINKMODES_HEADER: u16 = 1;
    pub const ETHTOOL_A_LINKMODES_SPEED: u16 = 5;
    pub const ETHTOOL_A_HEADER_DEV_INDEX: u16 = 1;
    pub const ETHTOOL_A_HEADER_FLAGS: u16 = 3;
    /// `ETHTOOL_FLAG_COMPACT_BITSETS`: link-mode bitsets as bit arrays, not lists of names.
    pub const ETHTOOL_FLAG_COMPACT_BITSETS: u32 = 1 << 0;
    /// `SPEED_UNKNOWN` (`include/uapi/linux/ethtool.h`), -1 as an unsigned 32-bit value.
    pub const SPEED_UNKNOWN: u32 = u32::MAX;
}

/// Calls `each(kind, value)` for every well-formed attribute of `buffer` (the kind without its
/// nested / byte-order flags). Returns `Err` with a description at the first malformed one.
pub fn walk(buffer: &[u8], mut each: impl FnMut(u16, &[u8])) -> Result<(), String> {
    for attribute in NlasIterator::new(buffer) {
        let attribute = attribute.map_err(|error| format!("bad attribute: {error}"))?;
        let kind = attribute.kind() & NLA_TYPE_MASK;
        each(kind, value_of(attribute));
    }
    Ok(())
}

/// The value of a checked attribute, borrowed from the buffer it was found in.
fn value_of(attribute: NlaBuffer<&[u8]>) -> &[u8] {
    let length = usize::from(attribute.length());
    attribute.into_inner().get(4..length).unwrap_or_default()
}

/// The value of the first attribute of `kind` in `buffer`.
pub fn find(buffer: &[u8], kind: u16) -> Result<Option<&[u8]>, String> {
    for attribute in NlasIterator::new(buffer) {
        let attribute = attribute.map_err(|error| format!("bad attribute: {error}"))?;
        if attribute.kind() & NLA_TYPE_MASK == kind {
            return Ok(Some(value_of(attribute)));
        }
    }
    Ok(None)
}

/// A native-endian `u32` attribute value.
pub fn u32_of(value: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(value.get(..4)?.try_into().ok()?))
}

/// A native-endian `u16` attribute value.
pub fn u16_of(value: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(value.get(..2)?.try_into().ok()?))
}

/// A native-endian `u64` at byte `offset` of `value`.
pub fn u64_at(value: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(
        value.get(offset..offset + 8)?.try_into().ok()?,
    ))
}

/// A NUL-terminated string attribute value (lossy on invalid UTF-8, which interface names and
/// link kinds never are).
pub fn str_of(value: &[u8]) -> String {
    let end = value
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}

/// Lowercase hex bytes joined by colons, as `ip` prints a hardware address.
pub fn mac_of(value: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(value.len() * 3);
    for (position, byte) in value.iter().enumerate() {
        if position > 0 {
            text.push(':');
        }
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_attributes_and_reads_values() {
        // IFLA_MTU = 1500, then IFLA_IFNAME = "eth0\0" (padded to 4 bytes).
        let mut buffer = vec![8, 0, 4, 0];
        buffer.extend_from_slice(&1500_u32.to_ne_bytes());
        buffer.extend_from_slice(&[9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0]);
        let mut seen = Vec::new();
        walk(&buffer, |kind, value| seen.push((kind, value.len()))).expect("well formed");
        assert_eq!(seen, vec![(ifla::MTU, 4), (ifla::IFNAME, 5)]);
        let name = find(&buffer, ifla::IFNAME)
            .expect("well formed")
            .expect("present");
        assert_eq!(str_of(name), "eth0");
        let mtu = find(&buffer, ifla::MTU)
            .expect("well formed")
            .expect("present");
        assert_eq!(u32_of(mtu), Some(1500));
        assert_eq!(find(&buffer, ifla::MASTER).expect("well formed"), None);
    }

    #[test]
    fn a_truncated_attribute_is_an_error_not_a_panic() {
        let buffer = [12, 0, 4, 0, 1, 2];
        assert!(walk(&buffer, |_, _| {}).is_err());
        assert!(find(&buffer, ifla::MTU).is_err());
        assert_eq!(u32_of(&[1, 2]), None);
        assert_eq!(u64_at(&[0; 12], 8), None);
    }

    #[test]
    fn formats_hardware_addresses_like_ip() {
        assert_eq!(mac_of(&[0x02, 0xab, 0, 0x10, 0xff, 1]), "02:ab:00:10:ff:01");
        assert_eq!(mac_of(&[]), "");
    }
}
