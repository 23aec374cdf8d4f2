//! `DedicatedNetwork`: a department's dedicated network (业务专网) and its consolidation.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Classification, DNS_LABEL, Prefix, Sensitivity};

/// A department's dedicated network (业务专网), inventoried so that it can be consolidated:
/// unclassified networks migrate onto the e-government extranet (a VLAN, a VRF and a /64 at
/// each site), classified ones onto the separate e-government intranet (tracked here, never
/// configured on extranet routers), and obsolete ones retire. No new dedicated network may be
/// built (不再新建): a `New` network is refused unless it cites an exemption.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "DedicatedNetwork",
    status = "DedicatedNetworkStatus",
    shortname = "dnet",
    category = "govcloud",
    category = "govcloud-network",
    doc = "A department's dedicated network and its consolidation onto the e-government networks.",
    printcolumn(name = "Department", type_ = "string", json_path = ".spec.department"),
    printcolumn(name = "Class", type_ = "string", json_path = ".spec.classification"),
    printcolumn(
        name = "Disposition",
        type_ = "string",
        json_path = ".status.disposition"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Annual Cost",
        type_ = "integer",
        json_path = ".spec.annualCostYuan",
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
    validation = Rule::new("self.lifecycle == 'Existing' || has(self.exemption)").message("no new dedicated networks are built: a New network must cite an exemption approved by operations").field_path(".lifecycle"),
    validation = Rule::new("self.classification == 'Unclassified' || !has(self.sensitivity)").message("sensitivity applies to unclassified networks only").field_path(".sensitivity")
)]
pub struct DedicatedNetworkSpec {
    /// Name shown to people, e.g. `医保专网`.
    #[schemars(length(min = 1, max = 128))]
    pub display_name: String,
    /// The tenant (department) that owns the network.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub department: String,
    /// Classified (涉密) networks go to the intranet; unclassified ones to the extranet.
    pub classification: Classification,
    /// Sensitivity of an unclassified network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Sensitivity>,
    /// `Existing` networks are inventoried; `New` ones are refused without an exemption.
    pub lifecycle: Lifecycle,
    /// The exemption that allows a `New` network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<Exemption>,
    /// Retire the network instead of migrating it (its services end or move elsewhere).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retire: bool,
    /// Sites the network reaches; for extranet migrations each gets a VLAN, a VRF and a /64.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 512))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["router".into()]))]
    pub sites: Vec<NetworkSite>,
    /// Technology of the old network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technology: Option<Technology>,
    /// Bandwidth of the old network, in Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 400_000))]
    pub bandwidth_mbps: Option<u32>,
    /// What the old network costs per year, in yuan; the saving once it is decommissioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub annual_cost_yuan: Option<u64>,
    /// Operations' confirmation that the old network can be decommissioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decommission: Option<DecommissionConfirmation>,
}

/// `Existing` (inventoried) or `New` (refused unless exempted).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum Lifecycle {
    Existing,
    New,
}

/// An exemption from the rule that no new dedicated networks are built.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Exemption {
    /// The approving document's reference number.
    #[schemars(length(min = 1, max = 128))]
    pub reference: String,
    /// Who in operations approved it.
    #[schemars(length(min = 1, max = 253))]
    pub approved_by: String,
}

/// A site the network reaches.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSite {
    /// The extranet router at the site.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub router: String,
    /// A VLAN ID to use instead of an allocated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 4094))]
    pub vlan_id: Option<u16>,
}

/// Technology of a dedicated network.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum Technology {
    LeasedLine,
    Mpls,
    Sdh,
    DarkFibre,
    Vpn,
    Other,
}

/// Confirmation that the old network may be switched off.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DecommissionConfirmation {
    /// Who confirmed.
    #[schemars(length(min = 1, max = 253))]
    pub confirmed_by: String,
    /// Notes, e.g. the carrier's termination reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub note: Option<String>,
}

/// What becomes of a dedicated network: `MigrateToExtranet`, `MigrateToIntranet` or `Retire`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum Disposition {
    MigrateToExtranet,
    MigrateToIntranet,
    Retire,
}

/// Phase of a consolidation:
/// `Inventoried → Planned → CuttingOver → Migrated → Decommissioned`.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    Deserialize,
    Serialize,
    JsonSchema,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
)]
pub enum ConsolidationPhase {
    #[default]
    Inventoried,
    Planned,
    CuttingOver,
    Migrated,
    Decommissioned,
}

/// The allocation at one site of an extranet migration.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SiteAllocation {
    /// The router.
    pub router: String,
    /// VLAN ID, unique on the router.
    pub vlan_id: u16,
    /// VRF device name.
    pub vrf: String,
    /// VRF routing table, unique on the router.
    pub vrf_table: u32,
    /// The segment's /64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<Prefix>,
}

/// Where a consolidation stands.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DedicatedNetworkStatus {
    /// The disposition, from classification and `retire`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Disposition>,
    /// The phase.
    #[serde(default)]
    pub phase: ConsolidationPhase,
    /// VLAN, VRF and prefix at each site (extranet migrations only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["router".into()]))]
    pub sites: Vec<SiteAllocation>,
    /// Annual saving once decommissioned, in yuan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annual_savings_yuan: Option<u64>,
    /// When the old network was decommissioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decommissioned_at: Option<Time>,
    /// `Ready`, `CutoverComplete`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
