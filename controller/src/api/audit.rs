//! The audit log through the API (auditors and operations): export as JSON lines, filtered to
//! what the caller's scope sees, and verification of the whole chain; and the two audit metrics.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures::StreamExt as _;
use govcloud_crds::api::{AuditRecordView, AuditVerification};
use prometheus::{IntCounter, IntGauge, Registry};

use super::auth::Caller;
use super::input::{query_pairs, query_value};
use super::openapi::{Forbidden, InvalidInput, Unauthorized};
use super::problem::ApiProblem;
use super::scope::{Hierarchy, Scope};
use super::state::{AppState, storage_problem};
use crate::storage::{AuditRecord, ChainStatus, Role, Storage, StorageError};

/// Media type of the export.
pub const NDJSON: &str = "application/x-ndjson";
/// Records read from storage at a time while exporting.
const EXPORT_PAGE: i64 = 500;

/// `govcloud_audit_records_total` and `govcloud_audit_chain_intact`.
#[derive(Clone, Debug)]
pub struct AuditMetrics {
    records: IntCounter,
    intact: IntGauge,
}

impl AuditMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let records = IntCounter::new(
            "govcloud_audit_records_total",
            "Audit records appended by this controller's API since it started.",
        )?;
        let intact = IntGauge::new(
            "govcloud_audit_chain_intact",
            "1 if the last verification of the audit hash chain found it intact, else 0.",
        )?;
        registry.register(Box::new(records.clone()))?;
        registry.register(Box::new(intact.clone()))?;
        Ok(Self { records, intact })
    }

    /// Counts one appended record.
    pub fn record_appended(&self) {
        self.records.inc();
    }

    /// Records the result of a verification.
    pub fn set_intact(&self, intact: bool) {
        self.intact.set(i64::from(intact));
    }
}

/// Verifies the chain and records the result in the gauge.
pub async fn verify_chain(
    storage: &Storage,
    metrics: &AuditMetrics,
) -> Result<ChainStatus, StorageError> {
    let status = storage.audit().verify().await?;
    metrics.set_intact(matches!(status, ChainStatus::Intact { .. }));
    if let ChainStatus::Broken(broken) = &status {
        tracing::warn!(seq = broken.seq(), reason = %broken, "the audit chain is broken");
    }
    Ok(status)
}

/// The wire form of a verification, pure.
pub fn verification(status: &ChainStatus) -> AuditVerification {
    match status {
        ChainStatus::Intact { records, .. } => AuditVerification {
            intact: true,
            records: *records,
            first_broken_seq: None,
            reason: None,
        },
        ChainStatus::Broken(broken) => AuditVerification {
            intact: false,
            records: u64::try_from(broken.seq().saturating_sub(1)).unwrap_or_default(),
            first_broken_seq: Some(broken.seq()),
            reason: Some(broken.to_string()),
        },
    }
}

/// The wire form of a stored record, pure.
pub fn record_view(record: &AuditRecord) -> AuditRecordView {
    AuditRecordView {
        seq: record.seq,
        at: record.at,
        actor: record.actor.clone(),
        tenant: record.tenant.clone(),
        action: record.action.clone(),
        object: format!("{}/{}", record.object_kind, record.object_name),
        detail: serde_json::from_str(&record.detail)
            .unwrap_or_else(|_| serde_json::Value::String(record.detail.clone())),
        prev_hash: record.prev_hash.clone(),
        hash: record.hash.clone(),
    }
}

/// The JSON lines of the records `scope` sees.
fn lines(records: &[AuditRecord], scope: &Scope, hierarchy: &Hierarchy) -> String {
    records
        .iter()
        .filter(|record| scope.sees_record_of(record.tenant.as_deref(), hierarchy))
        .fold(String::new(), |mut out, record| {
            if let Ok(line) = serde_json::to_string(&record_view(record)) {
                out.push_str(&line);
                out.push('\n');
            }
            out
        })
}

/// The audit log as JSON lines, in sequence order: the records of the caller's tenant and its
/// descendants (and, for a token of a root tenant, those of no tenant or of deleted tenants).
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    operation_id = "exportAudit",
    params(
        ("from" = Option<i64>, Query, description = "First sequence number (1 when absent)", minimum = 1),
        ("to" = Option<i64>, Query, description = "Last sequence number (the end of the log when absent)", minimum = 1),
    ),
    responses(
        (status = 200, description = "One AuditRecordView per line", body = AuditRecordView, content_type = "application/x-ndjson"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn export_audit(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiProblem> {
    caller.require(&[Role::Auditor, Role::Operations], "read the audit log")?;
    let pairs = query_pairs(query.as_deref());
    let from = query_value::<i64>(&pairs, "from", "a sequence number")?.unwrap_or(1);
    let to = query_value::<i64>(&pairs, "to", "a sequence number")?.unwrap_or(i64::MAX);
    if from < 1 {
        return Err(ApiProblem::invalid("from", "from must be at least 1"));
    }
    if to < from {
        return Err(ApiProblem::invalid("to", "to must not be below from"));
    }
    let hierarchy = Arc::new(state.hierarchy().await?);
    let scope = Arc::new(hierarchy.scope(&caller.tenant));
    let page = move |start: i64| start..=start.saturating_add(EXPORT_PAGE - 1).min(to);
    let first = state
        .storage()
        .audit()
        .list(page(from))
        .await
        .map_err(|error| storage_problem("read the audit log", &error))?;
    let first_lines = lines(&first, &scope, &hierarchy);
    let next = first
        .last()
        .map(|record| record.seq.saturating_add(1))
        .filter(|next| *next <= to);
    let storage = state.storage().clone();
    let rest = futures::stream::unfold(next, move |next| {
        let storage = storage.clone();
        let scope = Arc::clone(&scope);
        let hierarchy = Arc::clone(&hierarchy);
        async move {
            let start = next?;
            match storage.audit().list(page(start)).await {
                Ok(records) => {
                    let after = records
                        .last()
                        .map(|record| record.seq.saturating_add(1))
                        .filter(|after| *after <= to);
                    Some((
                        Ok::<_, StorageError>(lines(&records, &scope, &hierarchy)),
                        after,
                    ))
                }
                Err(error) => {
                    tracing::error!(
                        error = %crate::report::error_chain(&error),
                        "failed to read the audit log while exporting; the export is cut short"
                    );
                    Some((Err(error), None))
                }
            }
        }
    });
    let body = futures::stream::iter([Ok(first_lines)]).chain(rest);
    let mut response = Response::new(Body::from_stream(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    Ok(response)
}

/// Recomputes the whole chain and names the first broken record, if any.
#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    tag = "audit",
    operation_id = "verifyAudit",
    responses(
        (status = 200, description = "The result of recomputing the chain", body = AuditVerification),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn verify_audit(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AuditVerification>, ApiProblem> {
    caller.require(&[Role::Auditor, Role::Operations], "verify the audit log")?;
    let status = verify_chain(state.storage(), state.metrics())
        .await
        .map_err(|error| storage_problem("verify the audit log", &error))?;
    Ok(Json(verification(&status)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::scope::Hierarchy;
    use crate::storage::{ChainBreak, GENESIS_HASH};

    fn record(seq: i64, tenant: Option<&str>) -> AuditRecord {
        AuditRecord {
            seq,
            at: chrono::Utc::now(),
            actor: "ops (token 1)".into(),
            tenant: tenant.map(str::to_owned),
            action: "token.issue".into(),
            object_kind: "ApiToken".into(),
            object_name: "2".into(),
            detail: r#"{"tokenId":2}"#.into(),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        }
        .sealed()
    }

    #[test]
    fn exports_hold_only_what_the_scope_sees() {
        let hierarchy = Hierarchy::new([("ankang", None), ("hanbin", Some("ankang"))]);
        let records = [
            record(1, Some("hanbin")),
            record(2, Some("ankang")),
            record(3, None),
            record(4, Some("deleted-since")),
        ];
        let county = lines(&records, &hierarchy.scope("hanbin"), &hierarchy);
        assert_eq!(county.lines().count(), 1);
        let view: AuditRecordView =
            serde_json::from_str(county.lines().next().expect("line")).expect("json");
        assert_eq!(view.seq, 1);
        assert_eq!(view.object, "ApiToken/2");
        assert_eq!(view.detail, serde_json::json!({"tokenId": 2}));
        let root = lines(&records, &hierarchy.scope("ankang"), &hierarchy);
        assert_eq!(root.lines().count(), 4);
    }

    #[test]
    fn verifications_name_the_first_broken_record() {
        let broken = verification(&ChainStatus::Broken(ChainBreak::HashMismatch { seq: 4 }));
        assert!(!broken.intact);
        assert_eq!(broken.first_broken_seq, Some(4));
        assert_eq!(broken.records, 3);
        assert!(broken.reason.expect("reason").contains("record 4"));
        let intact = verification(&ChainStatus::Intact {
            records: 9,
            last_seq: 9,
            head_hash: String::new(),
        });
        assert!(intact.intact && intact.records == 9);
    }

    #[test]
    fn metrics_register_once() {
        let registry = Registry::new();
        let metrics = AuditMetrics::register(&registry).expect("register");
        metrics.record_appended();
        metrics.set_intact(true);
        let names: Vec<_> = registry
            .gather()
            .iter()
            .map(|family| family.name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "govcloud_audit_chain_intact",
                "govcloud_audit_records_total"
            ]
        );
        assert!(AuditMetrics::register(&registry).is_err());
    }
}
