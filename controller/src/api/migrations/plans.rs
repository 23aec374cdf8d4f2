//! `GET /v1/migration-plans` and `GET /v1/migration-plans/{name}`: the campaigns, with other
//! tenants' systems as counts only.
//!
//! Everyone in the city may follow a campaign: its deadline and projection, waves, blockers and
//! the counts per tenant and phase. Names of systems appear only for systems the caller sees:
//! blocker examples are filtered to them, and a campaign asked for by name lists the caller's
//! own systems with their wave and window.

use axum::Json;
use axum::extract::{Path, State};
use govcloud_crds::SystemMigration;
use govcloud_crds::api::{
    BlockerView, MigrationPlanView, PlannedSystem, TenantCounts, WaveView, WindowView,
};
use govcloud_crds::migration::plan::MigrationPlan;
use kube::Api;
use kube::api::ListParams;

use super::super::auth::Caller;
use super::super::input::is_object_name;
use super::super::openapi::{NotFound, Unauthorized};
use super::super::problem::ApiProblem;
use super::super::state::{AppState, kube_problem};
use super::Visibility;
use super::ownership::SeesNamespaces as _;
use super::read::all_systems;
use super::views::{condition_view, migration_summary};
use govcloud_core::conditions;
use govcloud_core::kube_time::from_kube;

/// The caller's systems that `plan` schedules, by wave then name, pure.
pub fn planned_systems(
    plan: &str,
    systems: &[SystemMigration],
    visibility: &Visibility,
) -> Vec<PlannedSystem> {
    let mut planned: Vec<PlannedSystem> = systems
        .iter()
        .filter(|system| visibility.sees_system(system))
        .filter(|system| {
            system
                .status
                .as_ref()
                .is_some_and(|status| status.plan.as_deref() == Some(plan))
        })
        .map(|system| {
            let summary = migration_summary(system, &visibility.ownership);
            PlannedSystem {
                namespace: summary.namespace,
                name: summary.name,
                tenant: summary.tenant,
                display_name: summary.display_name,
                phase: summary.phase,
                wave: summary.wave,
                window_start: summary.window_start,
                window_end: summary.window_end,
            }
        })
        .collect();
    planned.sort_by(|a, b| {
        (a.wave.is_none(), a.wave, &a.namespace, &a.name).cmp(&(
            b.wave.is_none(),
            b.wave,
            &b.namespace,
            &b.name,
        ))
    });
    planned
}

/// The view of a campaign for a caller, pure: blocker examples only of systems the caller sees.
pub fn plan_view(plan: &MigrationPlan, visibility: &Visibility) -> MigrationPlanView {
    let spec = &plan.spec;
    let status = plan.status.clone().unwrap_or_default();
    let on_track = match conditions::status_of(&status.conditions, "OnTrack") {
        Some("True") => Some(true),
        Some("False") => Some(false),
        _ => None,
    };
    MigrationPlanView {
        name: plan.metadata.name.clone().unwrap_or_default(),
        display_name: spec.display_name.clone(),
        deadline: spec.deadline.to_string(),
        start: spec.start.as_ref().map(ToString::to_string),
        time_zone: spec.time_zone.clone(),
        windows: spec
            .maintenance_windows
            .iter()
            .map(|window| WindowView {
                name: window.name.clone(),
                schedule: window.schedule.to_string(),
                duration: window.duration.to_string(),
                concurrency: window.concurrency,
            })
            .collect(),
        projected_completion: status
            .projected_completion
            .as_ref()
            .map(ToString::to_string),
        projected_days_late: status.projected_days_late,
        on_track,
        total_systems: status.total_systems,
        completed_systems: status.completed_systems,
        systems_by_phase: status.systems_by_phase.clone(),
        waves: status
            .waves
            .iter()
            .map(|wave| WaveView {
                number: wave.number,
                systems: wave.systems,
                completed: wave.completed,
                first_window: wave.first_window.as_ref().and_then(from_kube),
                last_window_end: wave.last_window_end.as_ref().and_then(from_kube),
            })
            .collect(),
        blockers: status
            .blockers
            .iter()
            .map(|blocker| BlockerView {
                reason: blocker.reason,
                count: blocker.count,
                examples: blocker
                    .examples
                    .iter()
                    .filter(|key| visibility.ownership.sees_key(&visibility.scope, key))
                    .cloned()
                    .collect(),
            })
            .collect(),
        tenants: status
            .tenants
            .iter()
            .map(|tenant| TenantCounts {
                tenant: tenant.tenant.clone(),
                total: tenant.total,
                completed: tenant.completed,
                blocked: tenant.blocked,
            })
            .collect(),
        conditions: status.conditions.iter().map(condition_view).collect(),
        systems: Vec::new(),
    }
}

fn plans(state: &AppState) -> Api<MigrationPlan> {
    Api::all(state.client().clone())
}

/// The campaigns, by name: projections, waves, blockers and counts (no systems).
#[utoipa::path(
    get,
    path = "/v1/migration-plans",
    tag = "migration plans",
    operation_id = "listMigrationPlans",
    responses(
        (status = 200, description = "The campaigns, by name; `systems` is empty here", body = Vec<MigrationPlanView>),
        (status = 401, response = Unauthorized),
    )
)]
pub async fn list_migration_plans(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<MigrationPlanView>>, ApiProblem> {
    let visibility = Visibility::of(&state, &caller).await?;
    let list = plans(&state)
        .list(&ListParams::default())
        .await
        .map_err(|error| kube_problem("list migration plans", &error))?;
    let mut views: Vec<MigrationPlanView> = list
        .items
        .iter()
        .map(|plan| plan_view(plan, &visibility))
        .collect();
    views.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(views))
}

/// One campaign, with the caller's own systems in it and their waves and windows; other
/// tenants' systems only as counts.
#[utoipa::path(
    get,
    path = "/v1/migration-plans/{name}",
    tag = "migration plans",
    operation_id = "getMigrationPlan",
    params(("name" = String, Path, description = "The campaign's name")),
    responses(
        (status = 200, description = "The campaign", body = MigrationPlanView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_migration_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<MigrationPlanView>, ApiProblem> {
    if !is_object_name(&name) {
        return Err(ApiProblem::not_found("migration plan"));
    }
    let visibility = Visibility::of(&state, &caller).await?;
    let plan = plans(&state)
        .get_opt(&name)
        .await
        .map_err(|error| kube_problem("read the migration plan", &error))?
        .ok_or_else(|| ApiProblem::not_found("migration plan"))?;
    let systems = all_systems(&state).await?;
    let mut view = plan_view(&plan, &visibility);
    view.systems = planned_systems(&name, &systems, &visibility);
    Ok(Json(view))
}

#[cfg(test)]
mod tests {
    use govcloud_crds::migration::plan::{Blocker, BlockerReason, TenantProgress};

    use super::*;
    use crate::api::migrations::ownership::Ownership;
    use crate::api::migrations::testing::{ownership, system};
    use crate::api::scope::Hierarchy;

    fn plan() -> MigrationPlan {
        let mut plan: MigrationPlan = serde_json::from_value(serde_json::json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "MigrationPlan",
            "metadata": {"name": "ankang-2025"},
            "spec": {
                "displayName": "迁移上云",
                "deadline": "2025-12-31",
                "maintenanceWindows": [
                    {"name": "weekend", "schedule": "0 20 * * 5", "duration": "34h", "concurrency": 4}
                ]
            }
        }))
        .expect("plan");
        let mut status = plan.status.take().unwrap_or_default();
        status.total_systems = 3;
        status.tenants = vec![TenantProgress {
            tenant: "hanbin".into(),
            total: 1,
            completed: 0,
            blocked: 1,
        }];
        status.blockers = vec![Blocker {
            reason: BlockerReason::DependencyCycle,
            count: 2,
            examples: vec!["hanbin/grid".into(), "city-finance/payroll".into()],
        }];
        plan.status = Some(status);
        plan
    }

    fn visibility(tenant: &str) -> Visibility {
        let hierarchy = Hierarchy::new([
            ("ankang", None),
            ("city-finance", Some("ankang")),
            ("hanbin", Some("ankang")),
        ]);
        Visibility {
            scope: hierarchy.scope(tenant),
            ownership: Ownership::new(&[]),
        }
    }

    #[test]
    fn other_tenants_appear_as_counts_only() {
        let mut visibility = visibility("city-finance");
        // Without tenants, no namespace is owned: a department sees none of the examples.
        let view = plan_view(&plan(), &visibility);
        assert_eq!(view.blockers[0].count, 2);
        assert!(view.blockers[0].examples.is_empty());
        assert_eq!(view.tenants[0].tenant, "hanbin");
        assert_eq!(view.total_systems, 3);
        assert_eq!(view.windows[0].duration, "34h");
        visibility.ownership = ownership(&["city-finance", "hanbin"]);
        let view = plan_view(&plan(), &visibility);
        assert_eq!(view.blockers[0].examples, ["city-finance/payroll"]);
        let mut payroll = system("city-finance", "payroll");
        let mut status = payroll.status.take().unwrap_or_default();
        status.plan = Some("ankang-2025".into());
        status.wave = Some(2);
        payroll.status = Some(status.clone());
        let mut grid = system("hanbin", "grid");
        grid.status = Some(status);
        let unplanned = system("city-finance", "ledger");
        let planned = planned_systems("ankang-2025", &[grid, payroll, unplanned], &visibility);
        assert_eq!(planned.len(), 1);
        assert_eq!(
            (planned[0].name.as_str(), planned[0].wave),
            ("payroll", Some(2))
        );
        let root = plan_view(&plan(), &self::visibility("ankang"));
        assert_eq!(
            root.blockers[0].examples.len(),
            2,
            "a root token sees unowned namespaces"
        );
    }
}
