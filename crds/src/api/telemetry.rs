//! What a router agent reports to the controller (`POST /v1/telemetry` on the agent listener,
//! mutual TLS) and prints with `govcloud-agent inventory`: its links with their counters, their
//! addresses, and its routes summarised per table and family (never the routes themselves).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One report of one agent. `sequence` grows by one per report of an agent's state directory,
/// so the controller can store spooled reports in order and ignore one it already has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TelemetryReport {
    /// The router's name: must be the subject of the client certificate it is sent with.
    pub router: String,
    /// The agent's version.
    pub agent_version: String,
    /// Position of the report in the agent's sequence, from 1.
    pub sequence: u64,
    /// When the agent observed what the report holds.
    pub observed_at: DateTime<Utc>,
    /// The agent's reporting interval, in seconds (telemetry older than three is stale).
    pub interval_seconds: u32,
    /// The links observed.
    pub links: Vec<LinkObservation>,
    /// The routes, summarised.
    #[serde(default)]
    pub routes: Vec<RouteSummary>,
    /// Where the agent stands with its desired configuration (absent before it fetched one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<super::ConfigReport>,
}

/// One network interface as the kernel reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkObservation {
    /// Interface name, e.g. `eth1`.
    pub name: String,
    /// Interface index.
    pub index: u32,
    /// Link kind (`veth`, `bond`, `vlan`, `vrf`, …); absent for physical devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Operational state, lowercase as `ip` prints it (`up`, `down`, `lowerlayerdown`, `unknown`, …).
    pub oper_state: String,
    /// Whether the interface has carrier.
    pub carrier: bool,
    /// MTU in bytes.
    pub mtu: u32,
    /// Speed in Mbit/s, when the driver reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<u32>,
    /// The bond (or bridge, or VRF) this interface is enslaved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// Hardware address, lowercase hex with colons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The kernel's 64-bit counters.
    pub counters: LinkCounters,
    /// Addresses on the interface, as `address/prefix-length`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

/// The kernel's 64-bit interface counters (`IFLA_STATS64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkCounters {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
}

/// The routes of one table and family.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteSummary {
    /// Routing table number (254 is `main`).
    pub table: u32,
    /// `inet` or `inet6`.
    pub family: String,
    /// How many routes.
    pub routes: u64,
    /// Whether a default route is among them.
    pub has_default: bool,
    /// Routes by protocol name as `ip` prints it (`kernel`, `boot`, `static`, …, or the number).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_protocol: BTreeMap<String, u64>,
}

/// The controller's answer to a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TelemetryReceipt {
    /// The report's sequence number.
    pub sequence: u64,
    /// Whether it was stored now (false: it had been stored before, e.g. a spooled duplicate).
    pub stored: bool,
}
