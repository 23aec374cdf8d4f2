//! Quota requests: created by departments, decided by operations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Approval, ResourceAmounts};
use crate::tenancy::quota_request::QuotaRequestPhase;

/// A department's request for a new quota.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewQuotaRequest {
    /// New totals asked for (resources left out keep their quota).
    pub requested: ResourceAmounts,
    /// Why the tenant needs them.
    pub justification: String,
    /// How long the request stays open (`720h` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for: Option<String>,
}

/// An operations decision's reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DecisionRequest {
    /// Why; shown to the department and kept in the audit log.
    pub reason: String,
}

/// A quota request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct QuotaRequestView {
    /// Name.
    pub name: String,
    /// Tenant.
    pub tenant: String,
    /// New totals asked for.
    pub requested: ResourceAmounts,
    /// Why.
    pub justification: String,
    /// Who asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// Where it stands.
    pub phase: QuotaRequestPhase,
    /// The decision, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// When it expires if undecided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}
