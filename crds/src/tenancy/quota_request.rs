//! `QuotaRequest`: a tenant asks for a different quota; operations approve or deny it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{
    Approval, DNS_LABEL, Duration, ResourceAmounts, ResourceList, resource_list_schema,
};

/// A request by a department to change its tenant's quota. Departments create it through the
/// controller's API; only operations can approve or deny it (by setting `spec.approval`), and a
/// decision, like the requested amounts, cannot be changed once made. Denied and expired
/// requests stay as history.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "QuotaRequest",
    status = "QuotaRequestStatus",
    shortname = "qreq",
    category = "govcloud",
    doc = "A tenant's request for a different quota, approved or denied by cloud operations.",
    printcolumn(name = "Tenant", type_ = "string", json_path = ".spec.tenant"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "CPU", type_ = "string", json_path = ".spec.requested.cpu"),
    printcolumn(
        name = "Memory",
        type_ = "string",
        json_path = ".spec.requested.memory"
    ),
    printcolumn(
        name = "Storage",
        type_ = "string",
        json_path = ".spec.requested.storage"
    ),
    printcolumn(
        name = "Decided By",
        type_ = "string",
        json_path = ".spec.approval.decidedBy",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(oldSelf.approval) || (has(self.approval) && self.approval == oldSelf.approval)").message("a decision cannot be changed or withdrawn once made").field_path(".approval"))]
#[x_kube(validation = Rule::new("self.tenant == oldSelf.tenant").message("tenant is immutable").field_path(".tenant"))]
pub struct QuotaRequestSpec {
    /// The tenant whose quota should change.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub tenant: String,
    /// The quota the tenant asks for (new totals, not increments); resources left out keep
    /// their current quota. Immutable once the request exists.
    #[x_kube(
        validation = Rule::new("has(self.cpu) || has(self.memory) || has(self.storage)").message("request at least one of cpu, memory or storage"),
        validation = Rule::new("self == oldSelf").message("requested amounts are immutable after creation; create a new request instead")
    )]
    pub requested: ResourceAmounts,
    /// Why the tenant needs the change; shown to operations when they decide.
    #[schemars(length(min = 10, max = 2000))]
    pub justification: String,
    /// Who asked (the API sets it from the caller's token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub requested_by: Option<String>,
    /// How long the request stays open before it expires undecided.
    #[serde(default = "default_valid_for")]
    pub valid_for: Duration,
    /// The decision of operations. Departments cannot set it: the API refuses, and the
    /// cluster's RBAC gives departments no write access to quota requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

fn default_valid_for() -> Duration {
    Duration::from("720h")
}

/// Where a quota request stands.
///
/// `Pending` (waiting for operations), `Approved` (decided, quota not yet changed), `Applied`
/// (the tenant's quota changed), `Denied` or `Expired` (history).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum QuotaRequestPhase {
    #[default]
    Pending,
    Approved,
    Applied,
    Denied,
    Expired,
}

/// What happened to a quota request.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuotaRequestStatus {
    /// Where the request stands.
    #[serde(default)]
    pub phase: QuotaRequestPhase,
    /// When operations decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Time>,
    /// When the tenant's quota was changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<Time>,
    /// The tenant's quota before the change, for the record.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    #[schemars(schema_with = "resource_list_schema")]
    pub previous_quota: ResourceList,
    /// When the request expires if still undecided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// `Decided` and `Applied`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
