//! The desired state of the router, typed: a `RouterConfig` document parsed and validated before
//! anything touches the kernel.
//!
//! Two kinds of problems, handled differently:
//! - a document that does not parse, or holds a malformed value (an address that is not an IPv6
//!   address with a prefix length, a route destination with host bits, a VLAN ID out of 1–4094,
//!   a VRF table the kernel reserves, an interface name longer than 15 bytes, a duplicate) is
//!   rejected **whole**, naming the JSON path (and line, for a parse error): a malformed document
//!   comes from a bug, and applying part of it could remove what the rest still needs;
//! - a well-formed item the agent must not apply — a segment marked classified, anything on a
//!   protected interface (an address on it, a route via it, a VLAN whose parent or name it is) — is
//!   **refused alone**: it is left out of the desired state (so it is never configured, and what
//!   the agent made for it earlier is removed like anything no longer desired, except on a
//!   protected interface, which the agent never touches) and reported as a [`Refusal`]; the rest
//!   of the document still applies.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use govcloud_crds::api::{
    AddressConfig, ProbeConfig, RouteConfig, RouterConfig, SegmentConfig, VlanConfig, VrfConfig,
};
use serde::{Deserialize, Serialize};

/// The main routing table (`RT_TABLE_MAIN`).
pub const MAIN_TABLE: u32 = 254;

/// Longest interface name the kernel accepts (`IFNAMSIZ` - 1).
pub const MAX_INTERFACE_NAME: usize = 15;

/// Routing tables a VRF may not use: unspecified, default, main and local.
const RESERVED_TABLES: [u32; 4] = [0, 253, 254, 255];

/// The IPv6 prefix of `length` bits (at most 128) that holds `address`, host bits cleared.
pub fn network_of(address: Ipv6Addr, length: u8) -> Ipv6Net {
    Ipv6Net::new(address, length.min(128))
        .map(|net| net.trunc())
        .unwrap_or_default()
}

/// An address held by an interface, host bits allowed (`2001:db8:a00:10::1/64 on lan0`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceAddress {
    pub interface: String,
    pub address: Ipv6Addr,
    pub prefix_length: u8,
}

impl fmt::Display for InterfaceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} on {}",
            self.address, self.prefix_length, self.interface
        )
    }
}

/// One next hop: a neighbour on a link.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NextHop {
    pub via: Ipv6Addr,
    pub interface: String,
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "via {} dev {}", self.via, self.interface)
    }
}

/// A route: its table, destination and next hops (sorted, distinct; two or more make it a
/// multipath route).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Route {
    pub table: u32,
    pub destination: Ipv6Net,
    pub next_hops: Vec<NextHop>,
}

impl Route {
    /// Whether any next hop leaves through `interface`.
    pub fn uses(&self, interface: &str) -> bool {
        self.next_hops.iter().any(|hop| hop.interface == interface)
    }
}

/// A VLAN subinterface.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Vlan {
    pub name: String,
    pub parent: String,
    pub id: u16,
}

/// A VRF device and its routing table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Vrf {
    pub name: String,
    pub table: u32,
}

/// A consolidated dedicated network at this site.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Segment {
    pub network: String,
    pub vlan: Vlan,
    pub vrf: Vrf,
    /// The router's address in the segment, on the VLAN device.
    pub address: InterfaceAddress,
}

/// A reachability probe (carried through for the run loop; the apply path does not use it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub name: String,
    pub target: Ipv6Addr,
    pub source: Option<Ipv6Addr>,
}

/// A well-formed item the agent will not apply, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Where it is in the document, e.g. `segments[1] (network gongan)`.
    pub item: String,
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused {}: {}", self.item, self.reason)
    }
}

/// The validated desired state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredState {
    pub router: String,
    pub generation: i64,
    /// Interfaces never changed, nor any route via them: the document's and the agent's own.
    pub protected_interfaces: BTreeSet<String>,
    /// Addresses outside segments.
    pub addresses: Vec<InterfaceAddress>,
    /// Routes (main table).
    pub routes: Vec<Route>,
    /// Segments not refused.
    pub segments: Vec<Segment>,
    pub probes: Vec<Probe>,
    /// Items left out, with why.
    pub refused: Vec<Refusal>,
}

/// Why a document was rejected whole. Nothing was applied.
#[derive(Debug, thiserror::Error)]
pub enum DesiredError {
    #[error(
        "failed to parse the desired configuration at `{path}` (line {line}, column {column}): {message}"
    )]
    Parse {
        /// The JSON path, e.g. `segments[0].vlan.id` (`.` for the document itself).
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("failed to validate the desired configuration: {}", problems.join("; "))]
    Invalid {
        /// One `path: problem` each.
        problems: Vec<String>,
    },
}

/// Parses and validates a `RouterConfig` JSON document. `protected` adds interfaces to the
/// document's `protectedInterfaces` (e.g. the agent's own management interface).
pub fn parse(text: &str, protected: &[String]) -> Result<DesiredState, DesiredError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let config: RouterConfig =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            parse_error(path, &error.into_inner())
        })?;
    deserializer
        .end()
        .map_err(|error| parse_error(".".to_owned(), &error))?;
    validate(&config, protected)
}

fn parse_error(path: String, error: &serde_json::Error) -> DesiredError {
    DesiredError::Parse {
        path,
        line: error.line(),
        column: error.column(),
        message: strip_position(&error.to_string()),
    }
}

/// serde_json's message without its own " at line L column C" suffix (reported separately).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Validates an already deserialised document (see [`parse`]).
pub fn validate(config: &RouterConfig, protected: &[String]) -> Result<DesiredState, DesiredError> {
    let mut check = Checker::default();
    for (at, name) in config.protected_interfaces.iter().enumerate() {
        check.interface(&format!("protectedInterfaces[{at}]"), name);
    }
    for name in protected {
        check.interface("the agent's protected interfaces", name);
    }
    let protected_interfaces: BTreeSet<String> = config
        .protected_interfaces
        .iter()
        .chain(protected)
        .cloned()
        .collect();
    let addresses = check.addresses(&config.addresses);
    let routes = check.routes(&config.routes);
    let segments = check.segments(&config.segments);
    let probes = check.probes(&config.probes);
    let device_names: BTreeSet<&str> = segments
        .iter()
        .flat_map(|(_, segment, _)| [segment.vlan.name.as_str(), segment.vrf.name.as_str()])
        .collect();
    for (at, address) in config.addresses.iter().enumerate() {
        if device_names.contains(address.interface.as_str()) {
            check.problem(
                format!("addresses[{at}].interface"),
                format!(
                    "{} is a segment's device: give its address in the segment",
                    address.interface
                ),
            );
        }
    }
    if !check.problems.is_empty() {
        return Err(DesiredError::Invalid {
            problems: check.problems,
        });
    }
    let mut state = DesiredState {
        router: config.router.clone(),
        generation: config.generation,
        protected_interfaces,
        probes,
        ..DesiredState::default()
    };
    state.keep_allowed(addresses, routes, segments);
    Ok(state)
}

impl DesiredState {
    /// Keeps what may be applied and records a refusal for the rest.
    fn keep_allowed(
        &mut self,
        addresses: Vec<InterfaceAddress>,
        routes: Vec<Route>,
        segments: Vec<(usize, Segment, bool)>,
    ) {
        let protected = &self.protected_interfaces;
        for (at, address) in addresses.into_iter().enumerate() {
            if protected.contains(&address.interface) {
                self.refused.push(Refusal {
                    item: format!("addresses[{at}] ({address})"),
                    reason: format!("{} is a protected interface", address.interface),
                });
            } else {
                self.addresses.push(address);
            }
        }
        for (at, route) in routes.into_iter().enumerate() {
            if let Some(hop) = route
                .next_hops
                .iter()
                .find(|hop| protected.contains(&hop.interface))
            {
                self.refused.push(Refusal {
                    item: format!("routes[{at}] ({})", route.destination),
                    reason: format!(
                        "next hop {} is via the protected interface {}",
                        hop.via, hop.interface
                    ),
                });
            } else {
                self.routes.push(route);
            }
        }
        for (at, segment, classified) in segments {
            let item = format!("segments[{at}] (network {})", segment.network);
            if classified {
                self.refused.push(Refusal {
                    item,
                    reason: "it is classified: classified networks go to the separate intranet and are never configured on an extranet router".to_owned(),
                });
                continue;
            }
            let touched = [&segment.vlan.parent, &segment.vlan.name, &segment.vrf.name]
                .into_iter()
                .find(|name| protected.contains(*name));
            if let Some(name) = touched {
                let role = if *name == segment.vlan.parent {
                    "its VLAN's parent"
                } else {
                    "one of its devices"
                };
                self.refused.push(Refusal {
                    item,
                    reason: format!("{role} {name} is a protected interface"),
                });
            } else {
                self.segments.push(segment);
            }
        }
    }
}

/// Collects every problem of a document, by path.
#[derive(Debug, Default)]
struct Checker {
    problems: Vec<String>,
}

impl Checker {
    fn problem(&mut self, path: impl fmt::Display, problem: impl fmt::Display) {
        self.problems.push(format!("{path}: {problem}"));
    }

    fn interface(&mut self, path: &str, name: &str) -> bool {
        let problem = if name.is_empty() {
            "an interface name may not be empty".to_owned()
        } else if name.len() > MAX_INTERFACE_NAME {
            format!(
                "interface name {name:?} is {} bytes, longer than the kernel's {MAX_INTERFACE_NAME}",
                name.len()
            )
        } else if name == "." || name == ".." || name.contains(['/', ':']) {
            format!("{name:?} is not a valid interface name")
        } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            format!("interface name {name:?} holds white space")
        } else {
            return true;
        };
        self.problem(path.to_owned(), problem);
        false
    }

    /// `address/length` with host bits allowed (an interface address).
    fn interface_address(
        &mut self,
        path: &str,
        interface: &str,
        text: &str,
    ) -> Option<InterfaceAddress> {
        let (address, length) = self.address_and_length(path, text)?;
        if length == 0 {
            self.problem(
                path.to_owned(),
                format!("{text}: an interface address needs a prefix length of 1 to 128"),
            );
            return None;
        }
        if address.is_unspecified() || address.is_multicast() || address.is_loopback() {
            self.problem(
                path.to_owned(),
                format!("{text} is not a unicast address an interface can hold"),
            );
            return None;
        }
        Some(InterfaceAddress {
            interface: interface.to_owned(),
            address,
            prefix_length: length,
        })
    }

    fn address_and_length(&mut self, path: &str, text: &str) -> Option<(Ipv6Addr, u8)> {
        let Some((address, length)) = text.split_once('/') else {
            self.problem(
                path.to_owned(),
                format!(
                    "{text:?} is not an IPv6 address with a prefix length (e.g. 2001:db8::1/64)"
                ),
            );
            return None;
        };
        let Ok(address) = address.parse::<Ipv6Addr>() else {
            self.problem(
                path.to_owned(),
                format!("{address:?} is not an IPv6 address"),
            );
            return None;
        };
        match length.parse::<u8>() {
            Ok(length) if length <= 128 => Some((address, length)),
            _ => {
                self.problem(
                    path.to_owned(),
                    format!("prefix length {length:?} is not 0 to 128"),
                );
                None
            }
        }
    }

    fn addresses(&mut self, addresses: &[AddressConfig]) -> Vec<InterfaceAddress> {
        let mut seen = BTreeSet::new();
        let mut valid = Vec::new();
        for (at, entry) in addresses.iter().enumerate() {
            let name_ok = self.interface(&format!("addresses[{at}].interface"), &entry.interface);
            let path = format!("addresses[{at}].address");
            let Some(address) = self.interface_address(&path, &entry.interface, &entry.address)
            else {
                continue;
            };
            if !seen.insert((address.interface.clone(), address.address)) {
                self.problem(
                    path,
                    format!(
                        "{} is listed twice on {}",
                        address.address, address.interface
                    ),
                );
            } else if name_ok {
                valid.push(address);
            }
        }
        valid
    }

    fn routes(&mut self, routes: &[RouteConfig]) -> Vec<Route> {
        let mut seen = BTreeSet::new();
        let mut valid = Vec::new();
        for (at, entry) in routes.iter().enumerate() {
            let path = format!("routes[{at}].destination");
            let destination =
                self.address_and_length(&path, &entry.destination)
                    .and_then(|(network, length)| {
                        let prefix = network_of(network, length);
                        if prefix.addr() == network {
                            Some(prefix)
                        } else {
                            self.problem(
                                path.clone(),
                                format!(
                                    "{} has host bits set: the prefix is {prefix}",
                                    entry.destination
                                ),
                            );
                            None
                        }
                    });
            let hops = self.next_hops(at, entry);
            let (Some(destination), Some(next_hops)) = (destination, hops) else {
                continue;
            };
            if !seen.insert(destination) {
                self.problem(path, format!("a route to {destination} is listed twice"));
                continue;
            }
            valid.push(Route {
                table: MAIN_TABLE,
                destination,
                next_hops,
            });
        }
        valid
    }

    fn next_hops(&mut self, at: usize, entry: &RouteConfig) -> Option<Vec<NextHop>> {
        if entry.next_hops.is_empty() {
            self.problem(
                format!("routes[{at}].nextHops"),
                "a route needs at least one next hop".to_owned(),
            );
            return None;
        }
        let mut hops = BTreeSet::new();
        let mut ok = true;
        for (number, hop) in entry.next_hops.iter().enumerate() {
            let path = format!("routes[{at}].nextHops[{number}]");
            ok &= self.interface(&format!("{path}.interface"), &hop.interface);
            if hop.via.is_unspecified() || hop.via.is_multicast() || hop.via.is_loopback() {
                self.problem(
                    format!("{path}.via"),
                    format!("{} cannot be a next hop", hop.via),
                );
                ok = false;
            }
            if !hops.insert(NextHop {
                via: hop.via,
                interface: hop.interface.clone(),
            }) {
                self.problem(
                    path,
                    format!("next hop {} dev {} is listed twice", hop.via, hop.interface),
                );
                ok = false;
            }
        }
        ok.then(|| hops.into_iter().collect())
    }

    fn segments(&mut self, segments: &[SegmentConfig]) -> Vec<(usize, Segment, bool)> {
        let mut valid = Vec::new();
        let mut names = BTreeSet::new();
        let mut networks = BTreeSet::new();
        let mut tables = BTreeSet::new();
        let mut vlans = BTreeSet::new();
        for (at, entry) in segments.iter().enumerate() {
            let path = format!("segments[{at}]");
            let before = self.problems.len();
            if entry.network.is_empty() {
                self.problem(
                    format!("{path}.network"),
                    "the network's name may not be empty".to_owned(),
                );
            } else if !networks.insert(entry.network.as_str()) {
                self.problem(
                    format!("{path}.network"),
                    format!("network {} is listed twice", entry.network),
                );
            }
            let vlan = self.vlan(&path, &entry.vlan);
            let vrf = self.vrf(&path, &entry.vrf);
            for (field, name) in [
                ("vlan.name", &entry.vlan.name),
                ("vrf.name", &entry.vrf.name),
            ] {
                if !names.insert(name.as_str()) {
                    self.problem(
                        format!("{path}.{field}"),
                        format!("device name {name} is used twice"),
                    );
                }
            }
            if !tables.insert(entry.vrf.table) {
                self.problem(
                    format!("{path}.vrf.table"),
                    format!("routing table {} is used by two VRFs", entry.vrf.table),
                );
            }
            if !vlans.insert((entry.vlan.parent.as_str(), entry.vlan.id)) {
                self.problem(
                    format!("{path}.vlan.id"),
                    format!(
                        "VLAN {} on {} is used twice",
                        entry.vlan.id, entry.vlan.parent
                    ),
                );
            }
            let address = self.interface_address(
                &format!("{path}.address"),
                &entry.vlan.name,
                &entry.address,
            );
            if let (Some(vlan), Some(vrf), Some(address)) = (vlan, vrf, address)
                && self.problems.len() == before
            {
                let segment = Segment {
                    network: entry.network.clone(),
                    vlan,
                    vrf,
                    address,
                };
                valid.push((at, segment, entry.classified));
            }
        }
        valid
    }

    fn vlan(&mut self, path: &str, vlan: &VlanConfig) -> Option<Vlan> {
        let name_ok = self.interface(&format!("{path}.vlan.name"), &vlan.name);
        let parent_ok = self.interface(&format!("{path}.vlan.parent"), &vlan.parent);
        let id_ok = (1..=4094).contains(&vlan.id);
        if !id_ok {
            self.problem(
                format!("{path}.vlan.id"),
                format!("VLAN ID {} is out of 1–4094", vlan.id),
            );
        }
        if vlan.name == vlan.parent {
            self.problem(
                format!("{path}.vlan.name"),
                format!("the VLAN device cannot be its own parent {}", vlan.parent),
            );
            return None;
        }
        (name_ok && parent_ok && id_ok).then(|| Vlan {
            name: vlan.name.clone(),
            parent: vlan.parent.clone(),
            id: vlan.id,
        })
    }

    fn vrf(&mut self, path: &str, vrf: &VrfConfig) -> Option<Vrf> {
        let name_ok = self.interface(&format!("{path}.vrf.name"), &vrf.name);
        if RESERVED_TABLES.contains(&vrf.table) {
            self.problem(format!("{path}.vrf.table"), format!("routing table {} is reserved (0 unspecified, 253 default, 254 main, 255 local)", vrf.table));
            return None;
        }
        name_ok.then(|| Vrf {
            name: vrf.name.clone(),
            table: vrf.table,
        })
    }

    fn probes(&mut self, probes: &[ProbeConfig]) -> Vec<Probe> {
        let mut names = BTreeSet::new();
        let mut valid = Vec::new();
        for (at, probe) in probes.iter().enumerate() {
            if probe.name.is_empty() {
                self.problem(
                    format!("probes[{at}].name"),
                    "a probe needs a name".to_owned(),
                );
            } else if !names.insert(probe.name.as_str()) {
                self.problem(
                    format!("probes[{at}].name"),
                    format!("probe {} is listed twice", probe.name),
                );
            } else {
                valid.push(Probe {
                    name: probe.name.clone(),
                    target: probe.target,
                    source: probe.source,
                });
            }
        }
        valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
  "router": "hanbin-county",
  "generation": 7,
  "protectedInterfaces": ["eth0"],
  "addresses": [
    {"interface": "lan0", "address": "2001:db8:a00:10::1/64"},
    {"interface": "eth0", "address": "2001:db8:ff::5/64"}
  ],
  "routes": [
    {"destination": "2001:db8:a00:100::/56", "nextHops": [
      {"via": "2001:db8:a00:1::2", "interface": "eth2"},
      {"via": "2001:db8:a00:0::2", "interface": "eth1"}
    ]},
    {"destination": "::/0", "nextHops": [{"via": "2001:db8:ff::1", "interface": "eth0"}]}
  ],
  "segments": [
    {"network": "yibao", "vlan": {"name": "vlan120", "parent": "lan0", "id": 120},
     "vrf": {"name": "vrf1000", "table": 1000}, "address": "2001:db8:a00:11::1/64"},
    {"network": "gongan", "classified": true, "vlan": {"name": "vlan121", "parent": "lan0", "id": 121},
     "vrf": {"name": "vrf1001", "table": 1001}, "address": "2001:db8:a00:12::1/64"},
    {"network": "mgmt", "vlan": {"name": "vlan122", "parent": "eth0", "id": 122},
     "vrf": {"name": "vrf1002", "table": 1002}, "address": "2001:db8:a00:13::1/64"}
  ],
  "probes": [{"name": "city", "target": "2001:db8:a00::1"}]
}"#;

    fn problems(text: &str) -> Vec<String> {
        match parse(text, &[]) {
            Err(DesiredError::Invalid { problems }) => problems,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn with(replace: &str, by: &str) -> String {
        assert!(GOOD.contains(replace), "{replace}");
        GOOD.replacen(replace, by, 1)
    }

    #[test]
    fn a_good_document_becomes_typed_state_with_refusals_of_its_own() {
        let state = parse(GOOD, &[]).expect("valid");
        assert_eq!(state.generation, 7);
        assert_eq!(state.addresses.len(), 1, "the address on eth0 is refused");
        assert_eq!(state.addresses[0].prefix_length, 64);
        assert_eq!(
            state.routes.len(),
            1,
            "the default route via eth0 is refused"
        );
        assert_eq!(
            state.routes[0].next_hops[0].interface, "eth1",
            "next hops sorted"
        );
        let networks: Vec<&str> = state.segments.iter().map(|s| s.network.as_str()).collect();
        assert_eq!(networks, ["yibao"]);
        let refused: Vec<String> = state.refused.iter().map(ToString::to_string).collect();
        assert_eq!(refused.len(), 4, "{refused:?}");
        assert!(
            refused[0].starts_with(
                "refused addresses[1] (2001:db8:ff::5/64 on eth0): eth0 is a protected"
            ),
            "{refused:?}"
        );
        assert!(refused[1].starts_with("refused routes[1] (::/0): next hop 2001:db8:ff::1 is via the protected interface eth0"), "{refused:?}");
        assert!(
            refused[2].starts_with("refused segments[1] (network gongan): it is classified"),
            "{refused:?}"
        );
        assert!(
            refused[3].contains(
                "segments[2] (network mgmt): its VLAN's parent eth0 is a protected interface"
            ),
            "{refused:?}"
        );
    }

    #[test]
    fn the_agents_own_protected_interfaces_count_too() {
        let state = parse(GOOD, &["lan0".to_owned()]).expect("valid");
        assert!(state.addresses.is_empty());
        assert!(state.segments.is_empty());
        assert!(state.protected_interfaces.contains("lan0"));
    }

    #[test]
    fn a_document_that_does_not_parse_names_the_path_and_line() {
        let text = with(r#""id": 120"#, r#""id": "120""#);
        let error = parse(&text, &[]).expect_err("a string VLAN ID");
        let DesiredError::Parse { path, line, .. } = &error else {
            panic!("{error}");
        };
        assert_eq!(path, "segments[0].vlan.id");
        assert_eq!(*line, 17);
        assert!(
            error.to_string().contains("`segments[0].vlan.id` (line 17"),
            "{error}"
        );

        let text = with(
            r#""via": "2001:db8:a00:1::2""#,
            r#""via": "2001:db8:zz::2""#,
        );
        let error = parse(&text, &[]).expect_err("a bad next hop");
        assert!(
            error
                .to_string()
                .contains("`routes[0].nextHops[0].via` (line 11"),
            "{error}"
        );

        let text = with(
            r#""generation": 7,"#,
            r#""generation": 7, "colour": "red","#,
        );
        let error = parse(&text, &[]).expect_err("an unknown field");
        assert!(
            error.to_string().contains("unknown field `colour`"),
            "{error}"
        );

        let error =
            parse("{\"router\": \"r\", \"generation\": 1} trailing", &[]).expect_err("trailing");
        assert!(error.to_string().contains("line 1"), "{error}");
        let error = parse("", &[]).expect_err("empty");
        assert!(matches!(error, DesiredError::Parse { .. }), "{error}");
    }

    #[test]
    fn malformed_values_are_refused_naming_the_field() {
        let cases = [
            (
                r#""id": 120"#,
                r#""id": 4095"#,
                "segments[0].vlan.id: VLAN ID 4095 is out of 1–4094",
            ),
            (
                r#""id": 120"#,
                r#""id": 0"#,
                "segments[0].vlan.id: VLAN ID 0 is out of 1–4094",
            ),
            (
                r#""table": 1000"#,
                r#""table": 254"#,
                "segments[0].vrf.table: routing table 254 is reserved",
            ),
            (
                r#""table": 1000"#,
                r#""table": 0"#,
                "segments[0].vrf.table: routing table 0 is reserved",
            ),
            (
                r#""name": "vlan120""#,
                r#""name": "vlan120-too-long""#,
                "segments[0].vlan.name: interface name \"vlan120-too-long\" is 16 bytes",
            ),
            (
                r#""2001:db8:a00:100::/56""#,
                r#""2001:db8:a00:101::/56""#,
                "routes[0].destination: 2001:db8:a00:101::/56 has host bits set: the prefix is 2001:db8:a00:100::/56",
            ),
            (
                r#""2001:db8:a00:10::1/64""#,
                r#""2001:db8:a00:10::1""#,
                "addresses[0].address: \"2001:db8:a00:10::1\" is not an IPv6 address with a prefix length",
            ),
            (
                r#""2001:db8:a00:10::1/64""#,
                r#""2001:db8:a00:10::1/129""#,
                "addresses[0].address: prefix length \"129\" is not 0 to 128",
            ),
            (
                r#""2001:db8:a00:10::1/64""#,
                r#""10.0.0.1/24""#,
                "addresses[0].address: \"10.0.0.1\" is not an IPv6 address",
            ),
            (
                r#""2001:db8:a00:11::1/64""#,
                r#""ff02::1/64""#,
                "segments[0].address: ff02::1/64 is not a unicast address",
            ),
            (
                r#""table": 1001"#,
                r#""table": 1000"#,
                "segments[1].vrf.table: routing table 1000 is used by two VRFs",
            ),
            (
                r#""name": "vrf1001""#,
                r#""name": "vrf1000""#,
                "segments[1].vrf.name: device name vrf1000 is used twice",
            ),
            (
                r#""interface": "lan0""#,
                r#""interface": "vlan120""#,
                "addresses[0].interface: vlan120 is a segment's device",
            ),
        ];
        for (replace, by, expected) in cases {
            let found = problems(&with(replace, by));
            assert!(
                found.iter().any(|problem| problem.starts_with(expected)),
                "{by}: expected {expected:?} in {found:?}"
            );
        }
        let text = with(
            r#"{"via": "2001:db8:a00:0::2", "interface": "eth1"}"#,
            r#"{"via": "2001:db8:a00:1::2", "interface": "eth2"}"#,
        );
        assert!(problems(&text).iter().any(|p| p.starts_with(
            "routes[0].nextHops[1]: next hop 2001:db8:a00:1::2 dev eth2 is listed twice"
        )));
        let text = with(
            r#""nextHops": [{"via": "2001:db8:ff::1", "interface": "eth0"}]"#,
            r#""nextHops": []"#,
        );
        assert_eq!(
            problems(&text),
            ["routes[1].nextHops: a route needs at least one next hop"]
        );
    }

    #[test]
    fn a_classified_segment_with_a_malformed_value_still_rejects_the_document() {
        let text = with(r#""id": 121"#, r#""id": 5000"#);
        assert!(
            problems(&text)
                .iter()
                .any(|p| p.starts_with("segments[1].vlan.id"))
        );
    }
}
