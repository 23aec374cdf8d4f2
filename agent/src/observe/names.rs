//! Names the way `ip` prints them: operational states and route protocols.

use std::borrow::Cow;

/// `IF_OPER_*` (RFC 2863, `include/uapi/linux/if.h`) in lowercase, as `ip` prints it.
pub fn oper_state(state: u8) -> &'static str {
    match state {
        1 => "notpresent",
        2 => "down",
        3 => "lowerlayerdown",
        4 => "testing",
        5 => "dormant",
        6 => "up",
        _ => "unknown",
    }
}

/// A route's protocol (`rtm_protocol`) as `ip route` prints it: iproute2's own table of names
/// (`lib/rt_names.c` and the `rt_protos` file it ships), else the number. Local additions to
/// `/etc/iproute2/rt_protos` are deliberately not read, so that every router reports the same
/// names for the same numbers.
pub fn route_protocol(protocol: u8) -> Cow<'static, str> {
    let name = match protocol {
        0 => "unspec",
        1 => "redirect",
        2 => "kernel",
        3 => "boot",
        4 => "static",
        8 => "gated",
        9 => "ra",
        10 => "mrt",
        11 => "zebra",
        12 => "bird",
        13 => "dnrouted",
        14 => "xorp",
        15 => "ntk",
        16 => "dhcp",
        18 => "keepalived",
        42 => "babel",
        99 => "openr",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        192 => "eigrp",
        other => return Cow::Owned(other.to_string()),
    };
    Cow::Borrowed(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_ip() {
        assert_eq!(oper_state(6), "up");
        assert_eq!(oper_state(3), "lowerlayerdown");
        assert_eq!(oper_state(0), "unknown");
        assert_eq!(oper_state(200), "unknown");
        assert_eq!(route_protocol(2), "kernel");
        assert_eq!(route_protocol(3), "boot");
        assert_eq!(route_protocol(186), "bgp");
        assert_eq!(route_protocol(77), "77");
    }
}
