//! `ExtranetLink`: a redundant pair of WAN links between two routers (双千兆 / 双百兆).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{DNS_LABEL, Duration, INTERFACE_NAME};

/// A redundant link between an upstream and a downstream router: two member links, each
/// contracted at the tier's speed. City→county links are `CityCounty` (two 1000 Mbit/s
/// members, 双千兆), county→township links are `CountyTownship` (two 100 Mbit/s members, 双百兆).
/// Compliance is computed from the agents' telemetry at both ends.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "ExtranetLink",
    status = "ExtranetLinkStatus",
    shortname = "xlink",
    category = "govcloud",
    category = "govcloud-network",
    doc = "A redundant pair of extranet links between two routers, with compliance from telemetry.",
    printcolumn(name = "Tier", type_ = "string", json_path = ".spec.tier"),
    printcolumn(
        name = "Upstream",
        type_ = "string",
        json_path = ".spec.upstream.router"
    ),
    printcolumn(
        name = "Downstream",
        type_ = "string",
        json_path = ".spec.downstream.router"
    ),
    printcolumn(
        name = "Members Up",
        type_ = "integer",
        json_path = ".status.membersUp"
    ),
    printcolumn(
        name = "Compliance",
        type_ = "string",
        json_path = ".status.compliance"
    ),
    printcolumn(
        name = "P95 %",
        type_ = "string",
        json_path = ".status.utilisationP95Percent",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.upstream.router != self.downstream.router").message("a link joins two different routers").field_path(".downstream.router"),
    validation = Rule::new("self.tier == 'Custom' ? has(self.customTier) : !has(self.customTier)").message("customTier is required for tier Custom and not allowed otherwise").field_path(".customTier")
)]
pub struct ExtranetLinkSpec {
    /// The contracted tier.
    pub tier: LinkTier,
    /// The contract of a `Custom` tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_tier: Option<CustomTier>,
    /// The end towards the city.
    pub upstream: LinkEnd,
    /// The end towards the county or township.
    pub downstream: LinkEnd,
    /// The carrier providing the circuits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub carrier: Option<String>,
    /// Window over which utilisation p95 is computed.
    #[serde(default = "default_window")]
    pub utilisation_window: Duration,
    /// Interface errors per minute above which a member counts as erroring.
    #[serde(default = "default_error_rate")]
    #[schemars(range(min = 0, max = 1_000_000))]
    pub max_errors_per_minute: u32,
}

fn default_window() -> Duration {
    Duration::from("24h")
}

fn default_error_rate() -> u32 {
    10
}

/// The contracted tier of a link: `CityCounty` (2×1000 Mbit/s), `CountyTownship`
/// (2×100 Mbit/s) or `Custom` (see `customTier`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum LinkTier {
    CityCounty,
    CountyTownship,
    Custom,
}

impl LinkTier {
    /// Contracted speed of each member in Mbit/s, as the plan sets it (`None` for `Custom`).
    pub fn member_speed_mbps(self) -> Option<u32> {
        match self {
            Self::CityCounty => Some(1000),
            Self::CountyTownship => Some(100),
            Self::Custom => None,
        }
    }
}

/// The contract of a custom tier.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CustomTier {
    /// Contracted speed of each member, in Mbit/s.
    #[schemars(range(min = 1, max = 400_000))]
    pub member_speed_mbps: u32,
}

/// One end of a link: a router and its two member interfaces.
#[derive(Clone, Debug, Deserialize, Serialize, KubeSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LinkEnd {
    /// The router at this end.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub router: String,
    /// The two member interfaces at this end, in the same order as at the other end.
    #[schemars(length(max = 2), inner(regex(pattern = INTERFACE_NAME)))]
    #[x_kube(validation = Rule::new("self.size() == 2 && self[0] != self[1]").message("an extranet link end needs exactly two distinct member interfaces"))]
    pub members: Vec<String>,
}

/// Compliance of a link with its contract.
///
/// `Compliant` (both members up at both ends, at or above the contracted speed where known,
/// errors not rising), `Degraded` (redundancy lost: a member down or below contract), `Down`
/// (no member carries traffic), `Unknown` (no telemetry in the last three report intervals).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum Compliance {
    Compliant,
    Degraded,
    Down,
    #[default]
    Unknown,
}

/// Which end of a link.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum LinkSide {
    Upstream,
    Downstream,
}

/// Observed state of one member interface at one end.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MemberStatus {
    /// Which end.
    pub side: LinkSide,
    /// The interface.
    pub interface: String,
    /// Operationally up with carrier.
    pub up: bool,
    /// Reported speed in Mbit/s, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<u32>,
    /// Errors per minute over the last report intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_per_minute: Option<f64>,
    /// 95th percentile utilisation over the window, in percent of the contracted speed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilisation_p95_percent: Option<f64>,
}

/// Compliance of a link, from telemetry.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExtranetLinkStatus {
    /// The verdict.
    #[serde(default)]
    pub compliance: Compliance,
    /// Members up at both ends (0 while the telemetry is stale).
    #[serde(default)]
    pub members_up: u32,
    /// Contracted speed per member, in Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contracted_speed_mbps: Option<u32>,
    /// Highest member utilisation p95 over the window, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilisation_p95_percent: Option<String>,
    /// Each member at each end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberStatus>,
    /// Why the link is not compliant, one reason each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// When the status last changed: compliance is evaluated every report interval, and the
    /// status written only when the verdict or a figure changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluated: Option<Time>,
    /// `Compliant`, `RedundancyLost`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
