//! The audit log as the API exports it, and the result of verifying its chain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One audit record (exported as one JSON line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordView {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (a token's description and id, or a controller).
    pub actor: String,
    /// The tenant concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// What was done (`quota-request.create`, `quota-request.approve`, `token.issue`, …).
    pub action: String,
    /// The object (`QuotaRequest/finance-2025`).
    pub object: String,
    /// Details of the change.
    pub detail: Value,
    /// Hash of the previous record.
    pub prev_hash: String,
    /// Hash of this record.
    pub hash: String,
}

/// The result of recomputing the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditVerification {
    /// Whether every record is intact and in place.
    pub intact: bool,
    /// Records checked.
    pub records: u64,
    /// The first record found edited, missing or out of order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_broken_seq: Option<i64>,
    /// What is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
