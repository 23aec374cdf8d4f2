//! `Router`: a Linux router at a city, county or township site, running `govcloud-agent`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{DIVISION_CODE, DNS_LABEL, INTERFACE_NAME, Prefix, SiteLevel};

/// A router of the e-government extranet (政务外网) at a city, county or township site. Its
/// agent authenticates with a client certificate whose subject is the router's name, reports
/// telemetry, and converges the kernel to the configuration the controller derives for it.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "Router",
    status = "RouterStatus",
    shortname = "rtr",
    category = "govcloud",
    category = "govcloud-network",
    doc = "A router at a city, county or township site, managed by govcloud-agent.",
    printcolumn(name = "Level", type_ = "string", json_path = ".spec.site.level"),
    printcolumn(name = "Code", type_ = "string", json_path = ".spec.site.divisionCode"),
    printcolumn(name = "Upstream", type_ = "string", json_path = ".spec.upstream"),
    printcolumn(name = "Agent", type_ = "string", json_path = ".status.agentVersion"),
    printcolumn(name = "Last Seen", type_ = "date", json_path = ".status.lastSeen"),
    printcolumn(name = "Prefix", type_ = "string", json_path = ".status.prefix", priority = 1),
    printcolumn(name = "Connected", type_ = "string", json_path = ".status.conditions[?(@.type==\"Connected\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("!has(self.spec.upstream) || self.spec.upstream != self.metadata.name").message("a router cannot be its own upstream").field_path(".spec.upstream"),
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.site.level == 'City' ? !has(self.upstream) : has(self.upstream)").message("county and township routers name their upstream router; the city router has none").field_path(".upstream"),
    validation = Rule::new("!has(self.managementInterface) || self.interfaces.exists(i, i.name == self.managementInterface)").message("managementInterface must be one of the listed interfaces").field_path(".managementInterface")
)]
pub struct RouterSpec {
    /// Name shown to people, e.g. `汉阴县政务外网汇聚路由器`.
    #[schemars(length(min = 1, max = 128))]
    pub display_name: String,
    /// The site the router serves.
    pub site: Site,
    /// The router one level up (county → city, township → county).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub upstream: Option<String>,
    /// Interfaces the agent watches and the roles they play.
    #[schemars(length(min = 1, max = 256))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub interfaces: Vec<RouterInterface>,
    /// The interface that reaches the controller; the agent never changes it or its routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = INTERFACE_NAME))]
    pub management_interface: Option<String>,
    /// Seconds between telemetry reports.
    #[serde(default = "default_report_interval")]
    #[schemars(range(min = 5, max = 3600))]
    pub report_interval_seconds: u32,
}

fn default_report_interval() -> u32 {
    30
}

/// A site of the government network.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    /// City, county or township.
    pub level: SiteLevel,
    /// GB/T 2260 division code (six digits for city and county, nine or twelve for a township).
    #[schemars(regex(pattern = DIVISION_CODE))]
    pub division_code: String,
    /// Name of the place, e.g. `汉阴县`.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
}

/// An interface of a router.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RouterInterface {
    /// Linux interface name, e.g. `eth1` or `bond0`.
    #[schemars(regex(pattern = INTERFACE_NAME))]
    pub name: String,
    /// What the interface is for.
    pub role: InterfaceRole,
    /// Free text, e.g. the carrier's circuit identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub description: Option<String>,
}

/// Role of a router interface: `Uplink` (towards the upstream site), `Downlink` (towards a
/// downstream site), `Lan` (the site's own network), `Management` (reaches the controller).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum InterfaceRole {
    Uplink,
    Downlink,
    Lan,
    Management,
}

/// Observed state of one interface, from the agent's last report.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceStatus {
    /// Interface name.
    pub name: String,
    /// Operational state as the kernel reports it (`up`, `down`, `lowerlayerdown`, …).
    pub oper_state: String,
    /// Whether the interface has carrier.
    pub carrier: bool,
    /// Speed in Mbit/s, when the driver reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<u32>,
    /// MTU in bytes.
    #[serde(default)]
    pub mtu: u32,
}

/// What the agent and the controller know of a router.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouterStatus {
    /// Version of the agent that last reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// When the agent last reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Time>,
    /// Interfaces from the last report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub interfaces: Vec<InterfaceStatus>,
    /// The IPv6 prefix allocated to the site from the address pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<Prefix>,
    /// Generation of the desired configuration the controller serves to the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_config_generation: Option<i64>,
    /// Generation of the desired configuration the agent last applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_config_generation: Option<i64>,
    /// Differences between desired and observed configuration, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub drift: Vec<String>,
    /// `Connected`, `ConfigApplied`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
