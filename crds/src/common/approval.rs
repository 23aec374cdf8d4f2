//! An operations decision on a request: who decided, what and why.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What operations decided: `Approved` or `Denied`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Decision {
    Approved,
    Denied,
}

/// A decision by the cloud operations team, recorded on the object it decides.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// `Approved` or `Denied`.
    pub decision: Decision,
    /// Who decided (an operations user or group member).
    #[schemars(length(min = 1, max = 253))]
    pub decided_by: String,
    /// Why; shown to the department and kept in the audit log.
    #[schemars(length(min = 1, max = 2000))]
    pub reason: String,
}
