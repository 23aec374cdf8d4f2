//! `POST /v1/migrations/{namespace}/{name}/confirmations`: a person confirms that a manual step
//! (or its manual rollback) is done.
//!
//! Only a step that waits for it can be confirmed: a `Manual` step in `WaitingForConfirmation`,
//! or, for its rollback, a step `RollingBack` whose rollback is `Manual`; a second confirmation
//! of the same step is refused. The confirmation (`confirmedBy` is the caller's token) is
//! appended to `spec.confirmations` with a JSON patch that first tests the list as read, so two
//! people confirming at once cannot lose one; it is audited.

use axum::Json;
use axum::extract::{Path, State};
use govcloud_crds::SystemMigration;
use govcloud_crds::api::{MigrationView, NewConfirmation};
use govcloud_crds::migration::step::{StepConfirmation, StepKind};
use govcloud_crds::migration::system::StepPhase;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::super::auth::Caller;
use super::super::input::{JsonBody, is_object_name};
use super::super::openapi::{
    BadRequest, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized,
};
use super::super::problem::{ApiProblem, ProblemKind};
use super::super::quota_requests::FIELD_MANAGER;
use super::super::state::{AppState, AuditEvent, kube_problem};
use super::views::{migration_view, system_key};
use super::{SYSTEM, Visibility, namespaced};
use crate::storage::Role;

/// Most confirmations a system holds (the CRD's bound).
const MAX_CONFIRMATIONS: usize = 100;

fn conflict(detail: String) -> ApiProblem {
    ApiProblem::new(ProblemKind::Conflict, detail)
}

/// Whether `step` (its rollback when `rollback`) of `system` may be confirmed now, pure.
pub fn check_confirmation(
    system: &SystemMigration,
    step: &str,
    rollback: bool,
) -> Result<(), ApiProblem> {
    let key = system_key(system);
    let spec = &system.spec;
    let Some(definition) = spec.steps.iter().find(|s| s.name == step) else {
        let steps: Vec<&str> = spec.steps.iter().map(|s| s.name.as_str()).collect();
        return Err(conflict(format!(
            "system {key} has no step {step:?}; its steps are {}",
            steps.join(", ")
        )));
    };
    let what = if rollback {
        "the rollback of step"
    } else {
        "step"
    };
    if let Some(done) = spec
        .confirmations
        .iter()
        .find(|c| c.step == step && c.rollback == rollback)
    {
        return Err(conflict(format!(
            "{what} {step} of system {key} was already confirmed by {}",
            done.confirmed_by
        )));
    }
    if spec.confirmations.len() >= MAX_CONFIRMATIONS {
        return Err(conflict(format!(
            "system {key} holds {MAX_CONFIRMATIONS} confirmations, the most it can"
        )));
    }
    let action = if rollback {
        definition.rollback.as_ref()
    } else {
        Some(&definition.run)
    };
    if action.is_none_or(|action| action.kind != StepKind::Manual) {
        return Err(conflict(format!(
            "{what} {step} of system {key} is not a Manual one; the controller finishes it"
        )));
    }
    let phase = system
        .status
        .iter()
        .flat_map(|status| &status.steps)
        .find(|s| s.name == step)
        .map(|s| s.phase)
        .unwrap_or_default();
    let waiting = if rollback {
        StepPhase::RollingBack
    } else {
        StepPhase::WaitingForConfirmation
    };
    if phase != waiting {
        return Err(conflict(format!(
            "{what} {step} of system {key} is not waiting for confirmation (the step is {phase:?})"
        )));
    }
    Ok(())
}

/// A JSON patch that appends `confirmation` only while `spec.confirmations` is `current`.
pub fn confirmation_patch(
    current: Option<&Value>,
    confirmation: &StepConfirmation,
) -> Result<json_patch::Patch, ApiProblem> {
    let operations = match current {
        Some(list) if list.as_array().is_some_and(|l| !l.is_empty()) => json!([
            {"op": "test", "path": "/spec/confirmations", "value": list},
            {"op": "add", "path": "/spec/confirmations/-", "value": confirmation},
        ]),
        _ => json!([
            {"op": "test", "path": "/spec/confirmations", "value": current},
            {"op": "add", "path": "/spec/confirmations", "value": [confirmation]},
        ]),
    };
    serde_json::from_value(operations).map_err(|error| {
        ApiProblem::new(
            ProblemKind::Internal,
            format!("failed to build the confirmation patch: {error}"),
        )
    })
}

/// The system as stored (for the patch's test) and as read, if the caller sees it.
async fn find_raw(
    state: &AppState,
    visibility: &Visibility,
    namespace: &str,
    name: &str,
) -> Result<(Value, SystemMigration), ApiProblem> {
    if !is_object_name(namespace) || !is_object_name(name) || !visibility.sees(namespace) {
        return Err(ApiProblem::not_found(SYSTEM));
    }
    let resource = ApiResource::erase::<SystemMigration>(&());
    let api: Api<DynamicObject> =
        Api::namespaced_with(state.client().clone(), namespace, &resource);
    let object = api
        .get_opt(name)
        .await
        .map_err(|error| kube_problem("read the system", &error))?
        .ok_or_else(|| ApiProblem::not_found(SYSTEM))?;
    let raw = serde_json::to_value(&object).map_err(|error| {
        tracing::error!(%error, "failed to serialise a system");
        ApiProblem::internal()
    })?;
    let system = serde_json::from_value(raw.clone()).map_err(|error| {
        tracing::error!(%error, "a stored system does not parse");
        ApiProblem::internal()
    })?;
    Ok((raw, system))
}

/// Confirms a manual step, or its manual rollback, once it waits for it (editor or
/// operations); `confirmedBy` is the token.
#[utoipa::path(
    post,
    path = "/v1/migrations/{namespace}/{name}/confirmations",
    tag = "migrations",
    operation_id = "confirmMigrationStep",
    params(
        ("namespace" = String, Path, description = "The system's namespace"),
        ("name" = String, Path, description = "The system's name"),
    ),
    request_body = NewConfirmation,
    responses(
        (status = 200, description = "The system, with the confirmation", body = MigrationView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn confirm_step(
    State(state): State<AppState>,
    caller: Caller,
    Path((namespace, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<NewConfirmation>,
) -> Result<Json<MigrationView>, ApiProblem> {
    caller.require(&[Role::Editor, Role::Operations], "confirm migration steps")?;
    let visibility = Visibility::of(&state, &caller).await?;
    let (raw, system) = find_raw(&state, &visibility, &namespace, &name).await?;
    check_confirmation(&system, &body.step, body.rollback)?;
    let confirmation = StepConfirmation {
        step: body.step.clone(),
        confirmed_by: caller.actor(),
        rollback: body.rollback,
    };
    let patch = confirmation_patch(raw.pointer("/spec/confirmations"), &confirmation)?;
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let updated = match namespaced(&state, &namespace)
        .patch(&name, &params, &Patch::<()>::Json(patch))
        .await
    {
        Ok(updated) => updated,
        Err(kube::Error::Api(status)) if status.code == 422 => {
            return Err(conflict(
                "the system's confirmations changed meanwhile; read it again and retry".to_owned(),
            ));
        }
        Err(error) => return Err(kube_problem("record the confirmation", &error)),
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
                action: "system-migration.confirm",
                object_kind: "SystemMigration",
                object_name: system_key(&system),
                detail: json!({"step": confirmation.step, "rollback": confirmation.rollback}),
            },
        )
        .await?;
    Ok(Json(migration_view(&updated, &visibility.ownership)))
}

#[cfg(test)]
mod tests {
    use govcloud_crds::migration::system::StepStatus;

    use super::*;
    use crate::api::migrations::testing::system;

    fn at(phase: StepPhase) -> SystemMigration {
        let mut system = system("city-finance", "payroll");
        let mut status = system.status.take().unwrap_or_default();
        status.steps = vec![StepStatus {
            name: "migrate".into(),
            phase,
            ..StepStatus::default()
        }];
        system.status = Some(status);
        system
    }

    #[test]
    fn only_waiting_manual_steps_are_confirmed_once() {
        let waiting = at(StepPhase::WaitingForConfirmation);
        assert!(check_confirmation(&waiting, "migrate", false).is_ok());
        let unknown = check_confirmation(&waiting, "deploy", false).expect_err("unknown");
        assert_eq!(unknown.kind(), ProblemKind::Conflict);
        assert!(unknown.detail().contains("migrate, verify"), "{unknown}");
        let pending = check_confirmation(&waiting, "verify", false).expect_err("pending");
        assert!(pending.detail().contains("not waiting"), "{pending}");
        let no_rollback =
            check_confirmation(&waiting, "migrate", true).expect_err("not rolling back");
        assert!(
            no_rollback
                .detail()
                .contains("the step is WaitingForConfirmation"),
            "{no_rollback}"
        );
        let mut rolling_back = at(StepPhase::RollingBack);
        assert!(check_confirmation(&rolling_back, "migrate", true).is_ok());
        assert!(
            check_confirmation(&rolling_back, "verify", true).is_err(),
            "verify has no rollback"
        );
        rolling_back.spec.confirmations.push(StepConfirmation {
            step: "migrate".into(),
            confirmed_by: "clerk (token 4)".into(),
            rollback: true,
        });
        let twice = check_confirmation(&rolling_back, "migrate", true).expect_err("twice");
        assert_eq!(
            twice.detail(),
            "the rollback of step migrate of system city-finance/payroll was already confirmed by clerk (token 4)"
        );
    }

    #[test]
    fn patches_test_the_list_as_read() {
        let confirmation = StepConfirmation {
            step: "migrate".into(),
            confirmed_by: "clerk (token 4)".into(),
            rollback: false,
        };
        let first = serde_json::to_value(confirmation_patch(None, &confirmation).expect("patch"))
            .expect("json");
        assert_eq!(
            first[0],
            json!({"op": "test", "path": "/spec/confirmations", "value": null})
        );
        assert_eq!(first[1]["path"], "/spec/confirmations");
        let current = json!([{"step": "a", "confirmedBy": "x", "rollback": false}]);
        let next =
            serde_json::to_value(confirmation_patch(Some(&current), &confirmation).expect("patch"))
                .expect("json");
        assert_eq!(next[0]["value"], current);
        assert_eq!(next[1]["path"], "/spec/confirmations/-");
    }
}
