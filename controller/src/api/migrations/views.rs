//! What the API shows of a `SystemMigration`, pure: the summary of lists and the full view with
//! the runbook's progress, blockers and the instructions of manual steps.

use govcloud_crds::SystemMigration;
use govcloud_crds::api::{
    ConditionView, ConfirmationView, MigrationSummary, MigrationView, SourceView, StepView,
};
use govcloud_crds::migration::step::StepAction;
use govcloud_crds::migration::system::StepStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::ownership::Ownership;
use govcloud_core::kube_time::from_kube;

/// `namespace/name` of a system.
pub fn system_key(system: &SystemMigration) -> String {
    format!(
        "{}/{}",
        system.metadata.namespace.as_deref().unwrap_or_default(),
        system.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The summary of a system.
pub fn migration_summary(system: &SystemMigration, ownership: &Ownership) -> MigrationSummary {
    let namespace = system.metadata.namespace.clone().unwrap_or_default();
    let status = system.status.clone().unwrap_or_default();
    MigrationSummary {
        tenant: ownership.owner(&namespace).map(str::to_owned),
        namespace,
        name: system.metadata.name.clone().unwrap_or_default(),
        display_name: system.spec.display_name.clone(),
        classification: system.spec.classification,
        phase: status.phase,
        reason: status.reason,
        decision: system.spec.approval.as_ref().map(|a| a.decision),
        plan: status.plan,
        wave: status.wave,
        window_start: status.window_start.as_ref().and_then(from_kube),
        window_end: status.window_end.as_ref().and_then(from_kube),
        current_step: status.current_step,
    }
}

/// The view of a condition.
pub fn condition_view(condition: &Condition) -> ConditionView {
    ConditionView {
        kind: condition.type_.clone(),
        status: condition.status.clone(),
        reason: condition.reason.clone(),
        message: condition.message.clone(),
        last_transition_time: from_kube(&condition.last_transition_time),
    }
}

fn instructions(action: &StepAction) -> Option<String> {
    action
        .manual
        .as_ref()
        .map(|manual| manual.instructions.clone())
}

/// The full view of a system.
pub fn migration_view(system: &SystemMigration, ownership: &Ownership) -> MigrationView {
    let spec = &system.spec;
    let status = system.status.clone().unwrap_or_default();
    let namespace = system.metadata.namespace.as_deref().unwrap_or_default();
    let steps = spec
        .steps
        .iter()
        .map(|step| {
            let progress = status
                .steps
                .iter()
                .find(|s| s.name == step.name)
                .cloned()
                .unwrap_or_default();
            let StepStatus {
                phase,
                started_at,
                finished_at,
                attempts,
                message,
                job_name,
                ..
            } = progress;
            StepView {
                name: step.name.clone(),
                kind: step.run.kind,
                rollback: step.rollback.as_ref().map(|r| r.kind),
                point_of_no_return: step.point_of_no_return,
                instructions: instructions(&step.run),
                rollback_instructions: step.rollback.as_ref().and_then(instructions),
                phase,
                started_at: started_at.as_ref().and_then(from_kube),
                finished_at: finished_at.as_ref().and_then(from_kube),
                attempts,
                message,
                job_name,
            }
        })
        .collect();
    MigrationView {
        summary: migration_summary(system, ownership),
        sensitivity: spec.sensitivity,
        source: SourceView {
            site: spec.source.site.clone(),
            platform: spec.source.platform,
            hosts: spec.source.hosts,
            maintainer: spec.source.maintainer.clone(),
        },
        resources: spec.resources.clone(),
        depends_on: spec
            .depends_on
            .iter()
            .map(|d| format!("{}/{}", d.namespace.as_deref().unwrap_or(namespace), d.name))
            .collect(),
        not_before: spec.not_before.as_ref().map(ToString::to_string),
        approval: spec.approval.clone(),
        reserved: status
            .reserved
            .iter()
            .map(|(resource, quantity)| (resource.clone(), quantity.0.clone()))
            .collect(),
        point_of_no_return_passed: status.point_of_no_return_passed,
        steps,
        confirmations: spec
            .confirmations
            .iter()
            .map(|c| ConfirmationView {
                step: c.step.clone(),
                confirmed_by: c.confirmed_by.clone(),
                rollback: c.rollback,
            })
            .collect(),
        blockers: status.blockers.clone(),
        conditions: status.conditions.iter().map(condition_view).collect(),
        created_at: system
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(from_kube),
    }
}

#[cfg(test)]
mod tests {
    use govcloud_crds::migration::system::{MigrationPhase, StepPhase};

    use super::*;
    use crate::api::migrations::testing::system;

    #[test]
    fn views_show_the_runbook_and_its_progress() {
        let mut system = system("city-finance", "payroll");
        system.spec.depends_on = vec![
            serde_json::from_value(serde_json::json!({"name": "ledger"})).expect("reference"),
            serde_json::from_value(serde_json::json!({"name": "dx", "namespace": "city-services"}))
                .expect("reference"),
        ];
        let mut status = system.status.take().unwrap_or_default();
        status.phase = MigrationPhase::Migrating;
        status.wave = Some(2);
        status.current_step = Some("migrate".into());
        status.steps = vec![StepStatus {
            name: "migrate".into(),
            phase: StepPhase::WaitingForConfirmation,
            attempts: 1,
            ..StepStatus::default()
        }];
        system.status = Some(status);
        let view = migration_view(&system, &Ownership::default());
        assert_eq!(view.summary.phase, MigrationPhase::Migrating);
        assert_eq!(view.summary.wave, Some(2));
        assert_eq!(view.summary.tenant, None);
        assert_eq!(view.depends_on, ["city-finance/ledger", "city-services/dx"]);
        assert_eq!(view.steps.len(), 2);
        assert_eq!(view.steps[0].phase, StepPhase::WaitingForConfirmation);
        assert!(
            view.steps[0]
                .instructions
                .as_deref()
                .is_some_and(|i| i.contains("Move"))
        );
        assert_eq!(view.steps[1].phase, StepPhase::Pending);
        assert_eq!(view.steps[1].attempts, 0);
        assert_eq!(system_key(&system), "city-finance/payroll");
    }
}
