//! The configuration the controller derives for one router and serves to its agent
//! (`GET /v1/config` on the agent listener, mutual TLS, with an `ETag`), and what the agent
//! reports back of applying it (in [`TelemetryReport::config`](super::TelemetryReport)).
//!
//! Addresses and prefixes travel as text (`2001:db8:a00:10::1/64`): the agent parses the whole
//! document into typed values before it touches the kernel, and refuses it naming the field.

use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};

/// Everything the agent converges one router to. Anything not listed here that the agent did
/// not create is left alone; what it created and is no longer listed is removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouterConfig {
    /// The router the configuration is for (the subject of its client certificate).
    pub router: String,
    /// Grows by one each time the configuration's content changes.
    pub generation: i64,
    /// Interfaces the agent never changes, nor any route through them (the management
    /// interface, which reaches the controller).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected_interfaces: Vec<String>,
    /// Addresses to hold on the router's own interfaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<AddressConfig>,
    /// Static routes in the main table (towards downstream sites, and the pool upstream).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
    /// Consolidated dedicated networks at this site: a VLAN subinterface in a VRF each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentConfig>,
    /// Reachability probes whose results make the site count as IPv6-ready.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeConfig>,
}

/// An address on an interface.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressConfig {
    /// The interface, e.g. `lan0`.
    pub interface: String,
    /// The address with its prefix length, e.g. `2001:db8:a00:10::1/64`.
    pub address: String,
}

/// A static route. With two next hops (one per link member) it is a multipath route, so one
/// member down still routes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteConfig {
    /// The destination prefix, e.g. `2001:db8:a00:100::/56`.
    pub destination: String,
    /// The next hops.
    pub next_hops: Vec<NextHopConfig>,
}

/// One next hop of a route.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NextHopConfig {
    /// The neighbour's address on the link.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "ipv6"))]
    pub via: Ipv6Addr,
    /// The interface towards it.
    pub interface: String,
}

/// A consolidated dedicated network at this site: VLAN `vlan.id` on `vlan.parent`, enslaved to
/// VRF `vrf.name` (routing table `vrf.table`), holding `address`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SegmentConfig {
    /// The `DedicatedNetwork`'s name.
    pub network: String,
    /// A classified network: the agent refuses to configure it (classified networks go to the
    /// separate intranet, never onto extranet routers). The controller never sends one; the
    /// agent checks anyway.
    #[serde(default)]
    pub classified: bool,
    /// The VLAN subinterface.
    pub vlan: VlanConfig,
    /// The VRF it is enslaved to.
    pub vrf: VrfConfig,
    /// The router's address in the segment, e.g. `2001:db8:a00:11::1/64`.
    pub address: String,
}

/// A VLAN subinterface.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VlanConfig {
    /// The device's name, e.g. `lan0.120`.
    pub name: String,
    /// The interface carrying the tagged frames.
    pub parent: String,
    /// 802.1Q VLAN ID, 1–4094.
    pub id: u16,
}

/// A VRF device.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VrfConfig {
    /// The device's name, e.g. `vrf-yibao`.
    pub name: String,
    /// Its routing table, unique on the router.
    pub table: u32,
}

/// A reachability probe: an ICMPv6 echo to `target`, from `source` when given.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeConfig {
    /// What the probe checks, e.g. `city-core-lan`.
    pub name: String,
    /// The address to reach.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "ipv6"))]
    pub target: Ipv6Addr,
    /// The address to send from (the site's LAN address), so the path back is tested too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = "ipv6"))]
    pub source: Option<Ipv6Addr>,
}

/// What the agent reports of the configuration: the generation it last applied in full,
/// the generation it last tried, drift, and its probes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigReport {
    /// The generation last applied with every batch succeeding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_generation: Option<i64>,
    /// The generation last attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempted_generation: Option<i64>,
    /// Why a batch of the attempted generation failed (and was rolled back), one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Differences between desired and observed state at observation time, one line each
    /// (e.g. `route 2001:db8:a00:100::/56 missing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,
    /// The probes' results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeResult>,
}

/// The result of one probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeResult {
    /// The probe's name.
    pub name: String,
    /// The address probed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "ipv6"))]
    pub target: Ipv6Addr,
    /// Whether an echo reply came back within the timeout.
    pub reachable: bool,
}
