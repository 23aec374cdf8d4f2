//! The extranet as the API shows it (`/v1/routers`, `/v1/links`): routers with their agents'
//! last report, and redundant links with their compliance, members and utilisation; and the
//! departments' dedicated networks with their consolidation (`/v1/networks`). Read-only:
//! operations declare routers, links and dedicated networks with `kubectl`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::migration::ConditionView;
#[cfg(feature = "openapi")]
use super::schemas::{
    ClassificationSchema, ComplianceSchema, ConsolidationPhaseSchema, DispositionSchema,
    InterfaceRoleSchema, LifecycleSchema, LinkSideSchema, LinkTierSchema, SensitivitySchema,
    SiteLevelSchema, TechnologySchema,
};
use crate::common::{Classification, Sensitivity, SiteLevel};
use crate::network::dedicated_network::{ConsolidationPhase, Disposition, Lifecycle, Technology};
use crate::network::extranet_link::{Compliance, LinkSide, LinkTier};
use crate::network::router::InterfaceRole;

/// A router, as lists show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RouterSummary {
    /// The `Router` object's name.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// City, county or township.
    #[cfg_attr(feature = "openapi", schema(value_type = SiteLevelSchema))]
    pub level: SiteLevel,
    /// GB/T 2260 division code of the site.
    pub division_code: String,
    /// The router one level up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// `true` while the agent reports (its newest report is at most three intervals old),
    /// `false` once it is silent, absent before its first report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    /// Version of the agent that last reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// When the agent last reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

/// An interface of a router: its declared role and, once reported, its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RouterInterfaceView {
    /// Linux interface name.
    pub name: String,
    /// The role the spec gives it; absent for an interface only the agent reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<InterfaceRoleSchema>))]
    pub role: Option<InterfaceRole>,
    /// Free text from the spec, e.g. the carrier's circuit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Operational state as the kernel reports it (`up`, `down`, …); absent until reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oper_state: Option<String>,
    /// Carrier, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<bool>,
    /// Speed in Mbit/s, when the driver reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<u32>,
    /// MTU in bytes, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

/// One router in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RouterView {
    /// What lists show.
    #[serde(flatten)]
    pub summary: RouterSummary,
    /// Name of the place, e.g. `汉滨区`.
    pub site_name: String,
    /// Seconds between reports, as declared (the agent's own interval decides staleness).
    pub report_interval_seconds: u32,
    /// The interfaces: declared ones first in spec order, then others the agent reports.
    #[serde(default)]
    pub interfaces: Vec<RouterInterfaceView>,
    /// The extranet links with an end at this router, by name.
    #[serde(default)]
    pub links: Vec<String>,
    /// `Connected` and the conditions other controllers set.
    #[serde(default)]
    pub conditions: Vec<ConditionView>,
}

/// A link, as lists show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LinkSummary {
    /// The `ExtranetLink` object's name.
    pub name: String,
    /// The contracted tier.
    #[cfg_attr(feature = "openapi", schema(value_type = LinkTierSchema))]
    pub tier: LinkTier,
    /// Contracted speed of each member, in Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_speed_mbps: Option<u32>,
    /// The router towards the city.
    pub upstream: String,
    /// The router towards the county or township.
    pub downstream: String,
    /// The verdict (`Unknown` until evaluated).
    #[cfg_attr(feature = "openapi", schema(value_type = ComplianceSchema))]
    pub compliance: Compliance,
    /// Members up at both ends.
    pub members_up: u32,
    /// Highest member utilisation p95 over the window, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilisation_p95_percent: Option<String>,
}

/// One member interface at one end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LinkMemberView {
    /// Which end.
    #[cfg_attr(feature = "openapi", schema(value_type = LinkSideSchema))]
    pub side: LinkSide,
    /// The router at that end.
    pub router: String,
    /// The interface.
    pub interface: String,
    /// Operationally up with carrier.
    pub up: bool,
    /// Reported speed in Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<u32>,
    /// Errors per minute over the last three report intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_per_minute: Option<f64>,
    /// Utilisation p95 over the window, in percent of the contracted speed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilisation_p95_percent: Option<f64>,
}

/// One link in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    /// What lists show.
    #[serde(flatten)]
    pub summary: LinkSummary,
    /// The member interfaces at the upstream router, member 1 first.
    pub upstream_members: Vec<String>,
    /// The member interfaces at the downstream router, in the same order.
    pub downstream_members: Vec<String>,
    /// The carrier providing the circuits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// Window of the utilisation p95 (Go duration).
    pub utilisation_window: String,
    /// Errors per minute above which a member counts as erroring.
    pub max_errors_per_minute: u32,
    /// Each member at each end, as last evaluated.
    #[serde(default)]
    pub members: Vec<LinkMemberView>,
    /// Why the link is not compliant, one reason each.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluated: Option<DateTime<Utc>>,
    /// `Compliant`, `RedundancyLost`.
    #[serde(default)]
    pub conditions: Vec<ConditionView>,
}

/// A department's dedicated network (业务专网), as lists show it (`/v1/networks`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DedicatedNetworkSummary {
    /// The `DedicatedNetwork` object's name.
    pub name: String,
    /// Name shown to people, e.g. `医保专网`.
    pub display_name: String,
    /// The tenant (department) that owns it.
    pub department: String,
    /// Classified (涉密) or not.
    #[cfg_attr(feature = "openapi", schema(value_type = ClassificationSchema))]
    pub classification: Classification,
    /// What becomes of it; absent until the controller has looked at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DispositionSchema>))]
    pub disposition: Option<Disposition>,
    /// Where its consolidation stands.
    #[cfg_attr(feature = "openapi", schema(value_type = ConsolidationPhaseSchema))]
    pub phase: ConsolidationPhase,
    /// How many sites it reaches.
    pub site_count: u32,
    /// What the old network costs per year, in yuan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annual_cost_yuan: Option<u64>,
    /// The annual saving once decommissioned, in yuan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annual_savings_yuan: Option<u64>,
    /// The `Ready` condition: `true`, `false`, absent before the first reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
}

/// One site of a dedicated network: its router and, for an extranet migration, the VLAN, the
/// VRF and the /64 it was given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NetworkSiteView {
    /// The extranet router at the site.
    pub router: String,
    /// The VLAN id the spec pins, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_vlan_id: Option<u16>,
    /// The VLAN id allocated, unique on the router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_id: Option<u16>,
    /// The VRF device, e.g. `vrf1000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
    /// The VRF routing table, unique on the router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf_table: Option<u32>,
    /// The segment's /64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// One dedicated network in full (`/v1/networks/{name}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DedicatedNetworkView {
    /// What lists show.
    #[serde(flatten)]
    pub summary: DedicatedNetworkSummary,
    /// Sensitivity of an unclassified network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<SensitivitySchema>))]
    pub sensitivity: Option<Sensitivity>,
    /// `Existing` (inventoried) or `New` (allowed only with an exemption).
    #[cfg_attr(feature = "openapi", schema(value_type = LifecycleSchema))]
    pub lifecycle: Lifecycle,
    /// The exemption's reference number, for a `New` network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<String>,
    /// Retired rather than migrated.
    pub retire: bool,
    /// Technology of the old network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<TechnologySchema>))]
    pub technology: Option<Technology>,
    /// Bandwidth of the old network, in Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_mbps: Option<u32>,
    /// Who in operations confirmed the decommission, once confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decommission_confirmed_by: Option<String>,
    /// When it was decommissioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decommissioned_at: Option<DateTime<Utc>>,
    /// Its sites, in spec order.
    #[serde(default)]
    pub sites: Vec<NetworkSiteView>,
    /// `Ready` and `CutoverComplete`.
    #[serde(default)]
    pub conditions: Vec<ConditionView>,
}
