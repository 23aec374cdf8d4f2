//! `GET /v1/migrations` and `GET /v1/migrations/{namespace}/{name}`: the systems the caller
//! sees, and one of them in full.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use govcloud_crds::SystemMigration;
use govcloud_crds::api::{MigrationSummary, MigrationView};
use govcloud_crds::migration::system::MigrationPhase;
use kube::Api;
use kube::api::ListParams;

use super::super::auth::Caller;
use super::super::input::{is_object_name, query_pairs, query_value};
use super::super::openapi::{InvalidInput, NotFound, Unauthorized};
use super::super::problem::ApiProblem;
use super::super::state::{AppState, kube_problem};
use super::views::{migration_summary, migration_view};
use super::{Visibility, find_visible};

/// Every system of the cluster, for filtering by visibility.
pub async fn all_systems(state: &AppState) -> Result<Vec<SystemMigration>, ApiProblem> {
    Api::<SystemMigration>::all(state.client().clone())
        .list(&ListParams::default())
        .await
        .map(|list| list.items)
        .map_err(|error| kube_problem("list systems", &error))
}

/// A phase named in a query string.
fn parse_phase(text: &str) -> Result<MigrationPhase, ()> {
    serde_json::from_value(serde_json::Value::from(text)).map_err(|_| ())
}

/// The filters of a list, pure: a tenant the caller does not see is the `404` of a missing
/// tenant; a phase must be one of the phases.
fn filters(
    query: Option<&str>,
    visibility: &Visibility,
) -> Result<(Option<String>, Option<MigrationPhase>), ApiProblem> {
    let pairs = query_pairs(query);
    let tenant = query_value::<String>(&pairs, "tenant", "a tenant name")?;
    if let Some(tenant) = &tenant
        && (!is_object_name(tenant) || !visibility.scope.sees(tenant))
    {
        return Err(ApiProblem::not_found("tenant"));
    }
    let phase = query_value::<String>(&pairs, "phase", "a phase")?
        .map(|text| {
            parse_phase(&text).map_err(|()| {
                ApiProblem::invalid(
                    "phase",
                    format!(
                        "query parameter `phase` must be a migration phase (Pending, Assessed, \
                         Approved, Scheduled, Migrating, Verifying, Completed, Rejected, Failed, \
                         RollingBack, RolledBack), not {text:?}"
                    ),
                )
            })
        })
        .transpose()?;
    Ok((tenant, phase))
}

/// The systems the caller sees, by namespace and name.
#[utoipa::path(
    get,
    path = "/v1/migrations",
    tag = "migrations",
    operation_id = "listMigrations",
    params(
        ("tenant" = Option<String>, Query, description = "Only the systems of this tenant (one the token sees)"),
        ("phase" = Option<String>, Query, description = "Only the systems in this phase (`Scheduled`, `Migrating`, …)"),
    ),
    responses(
        (status = 200, description = "The systems the token sees, by namespace and name", body = Vec<MigrationSummary>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn list_migrations(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<MigrationSummary>>, ApiProblem> {
    let visibility = Visibility::of(&state, &caller).await?;
    let (tenant, phase) = filters(query.as_deref(), &visibility)?;
    let mut summaries: Vec<MigrationSummary> = all_systems(&state)
        .await?
        .iter()
        .filter(|system| visibility.sees_system(system))
        .map(|system| migration_summary(system, &visibility.ownership))
        .filter(|summary| tenant.is_none() || summary.tenant == tenant)
        .filter(|summary| phase.is_none_or(|phase| summary.phase == phase))
        .collect();
    summaries.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(Json(summaries))
}

/// One system: its spec in short, phase, wave and window, the steps and their progress,
/// blockers, conditions and the instructions of manual steps.
#[utoipa::path(
    get,
    path = "/v1/migrations/{namespace}/{name}",
    tag = "migrations",
    operation_id = "getMigration",
    params(
        ("namespace" = String, Path, description = "The system's namespace"),
        ("name" = String, Path, description = "The system's name"),
    ),
    responses(
        (status = 200, description = "The system", body = MigrationView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_migration(
    State(state): State<AppState>,
    caller: Caller,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<MigrationView>, ApiProblem> {
    let visibility = Visibility::of(&state, &caller).await?;
    let system = find_visible(&state, &visibility, &namespace, &name).await?;
    Ok(Json(migration_view(&system, &visibility.ownership)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::migrations::ownership::Ownership;
    use crate::api::problem::ProblemKind;
    use crate::api::scope::Hierarchy;

    #[test]
    fn filters_are_checked() {
        let hierarchy = Hierarchy::new([("ankang", None), ("hanbin", Some("ankang"))]);
        let visibility = Visibility {
            scope: hierarchy.scope("hanbin"),
            ownership: Ownership::default(),
        };
        assert_eq!(
            filters(Some("tenant=hanbin&phase=Scheduled"), &visibility),
            Ok((Some("hanbin".into()), Some(MigrationPhase::Scheduled)))
        );
        assert_eq!(filters(None, &visibility), Ok((None, None)));
        let hidden = filters(Some("tenant=ankang"), &visibility).expect_err("parent");
        assert_eq!(hidden.kind(), ProblemKind::NotFound);
        let phase = filters(Some("phase=Done"), &visibility).expect_err("no such phase");
        assert_eq!(phase.field(), Some("phase"));
        assert!(phase.detail().contains("\"Done\""), "{phase}");
    }
}
