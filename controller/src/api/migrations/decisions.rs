//! `POST /v1/migrations/{namespace}/{name}/approval`: operations approve or deny a system.
//!
//! The decision is `spec.approval` (`decidedBy` is the caller's token), written with a JSON patch
//! that applies only while no decision is recorded, so two concurrent decisions cannot both win,
//! and audited. A decision is final here; a classified system is never approved.

use axum::Json;
use axum::extract::{Path, State};
use govcloud_crds::SystemMigration;
use govcloud_crds::api::{DecisionRequest, MigrationDecision, MigrationView};
use govcloud_crds::common::{Approval, Classification, Decision};
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::super::auth::Caller;
use super::super::input::JsonBody;
use super::super::openapi::{
    BadRequest, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized,
};
use super::super::problem::{ApiProblem, ProblemKind};
use super::super::quota_requests::{FIELD_MANAGER, validate_reason};
use super::super::state::{AppState, AuditEvent, kube_problem};
use super::views::{migration_view, system_key};
use super::{Visibility, find_visible, namespaced};
use crate::storage::Role;

/// `approved` or `denied`.
fn decided(decision: Decision) -> &'static str {
    match decision {
        Decision::Approved => "approved",
        Decision::Denied => "denied",
    }
}

/// Whether `system` can be decided, pure: not decided yet, and (to approve) not classified.
pub fn check_decision(system: &SystemMigration, decision: Decision) -> Result<(), ApiProblem> {
    if let Some(approval) = &system.spec.approval {
        return Err(ApiProblem::new(
            ProblemKind::Conflict,
            format!(
                "system {} was already {} by {}; a decision cannot be changed",
                system_key(system),
                decided(approval.decision),
                approval.decided_by
            ),
        ));
    }
    if decision == Decision::Approved && system.spec.classification == Classification::Classified {
        return Err(ApiProblem::new(
            ProblemKind::Conflict,
            format!(
                "system {} is classified (涉密); classified systems never move onto the cloud",
                system_key(system)
            ),
        ));
    }
    Ok(())
}

/// A JSON patch that records `approval` only while none is recorded.
pub fn approval_patch(approval: &Approval) -> Result<json_patch::Patch, ApiProblem> {
    serde_json::from_value(json!([
        {"op": "test", "path": "/spec/approval", "value": null},
        {"op": "add", "path": "/spec/approval", "value": approval},
    ]))
    .map_err(|error| {
        ApiProblem::new(
            ProblemKind::Internal,
            format!("failed to build the decision patch: {error}"),
        )
    })
}

/// Approves or denies a system (operations), with a reason; `decidedBy` is the token.
#[utoipa::path(
    post,
    path = "/v1/migrations/{namespace}/{name}/approval",
    tag = "migrations",
    operation_id = "decideMigration",
    params(
        ("namespace" = String, Path, description = "The system's namespace"),
        ("name" = String, Path, description = "The system's name"),
    ),
    request_body = MigrationDecision,
    responses(
        (status = 200, description = "The system, decided", body = MigrationView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn decide_migration(
    State(state): State<AppState>,
    caller: Caller,
    Path((namespace, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<MigrationDecision>,
) -> Result<Json<MigrationView>, ApiProblem> {
    caller.require(&[Role::Operations], "approve or deny migrations")?;
    let reason = validate_reason(&DecisionRequest {
        reason: body.reason.clone(),
    })?;
    let visibility = Visibility::of(&state, &caller).await?;
    let system = find_visible(&state, &visibility, &namespace, &name).await?;
    // As for quota requests: a department's operations token does not decide its own
    // tenant's systems; the operations of a parent tenant (or of a root) do.
    let owner = visibility.ownership.owner(&namespace).unwrap_or(&namespace);
    if !visibility.scope.is_below(owner) && !visibility.scope.is_root() {
        return Err(ApiProblem::new(
            ProblemKind::Forbidden,
            format!("systems of tenant {owner} are decided by the operations of a parent tenant"),
        ));
    }
    check_decision(&system, body.decision)?;
    let approval = Approval {
        decision: body.decision,
        decided_by: caller.actor(),
        reason,
    };
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let patch = Patch::<()>::Json(approval_patch(&approval)?);
    let updated = match namespaced(&state, &namespace)
        .patch(&name, &params, &patch)
        .await
    {
        Ok(updated) => updated,
        Err(kube::Error::Api(status)) if status.code == 422 => {
            return Err(ApiProblem::new(
                ProblemKind::Conflict,
                "the system was decided meanwhile",
            ));
        }
        Err(error) => return Err(kube_problem("record the decision", &error)),
    };
    let action = match body.decision {
        Decision::Approved => "system-migration.approve",
        Decision::Denied => "system-migration.deny",
    };
    let tenant = visibility
        .ownership
        .owner(&namespace)
        .unwrap_or(&caller.tenant);
    state
        .audit(
            &caller,
            AuditEvent {
                tenant,
                action,
                object_kind: "SystemMigration",
                object_name: system_key(&system),
                detail: json!({
                    "decision": approval.decision,
                    "reason": approval.reason,
                    "resources": system.spec.resources,
                }),
            },
        )
        .await?;
    Ok(Json(migration_view(&updated, &visibility.ownership)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::migrations::testing::system;

    #[test]
    fn decisions_are_final_and_classified_systems_never_approved() {
        let mut payroll = system("city-finance", "payroll");
        assert!(check_decision(&payroll, Decision::Approved).is_ok());
        payroll.spec.classification = Classification::Classified;
        let classified = check_decision(&payroll, Decision::Approved).expect_err("classified");
        assert_eq!(classified.kind(), ProblemKind::Conflict);
        assert!(check_decision(&payroll, Decision::Denied).is_ok());
        payroll.spec.approval = Some(Approval {
            decision: Decision::Denied,
            decided_by: "ops (token 1)".into(),
            reason: "no".into(),
        });
        let again = check_decision(&payroll, Decision::Approved).expect_err("decided");
        assert_eq!(
            again.detail(),
            "system city-finance/payroll was already denied by ops (token 1); a decision cannot be changed"
        );
        let patch = serde_json::to_value(
            approval_patch(&payroll.spec.approval.clone().expect("set")).expect("patch"),
        )
        .expect("json");
        assert_eq!(patch[0]["op"], "test");
        assert_eq!(patch[1]["value"]["decidedBy"], "ops (token 1)");
    }
}
