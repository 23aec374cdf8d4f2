//! `POST /v1/migrations`: a batch of systems, submitted all or nothing.
//!
//! Every item is checked before anything is written: its shape and the caller's visibility of
//! its namespace here, with the rules that span the batch (two items of one name, a system
//! depending on itself); then the Kubernetes API runs its schema and CEL admission on each as a
//! server-side dry run. Any refusal is one `422` whose `errors` name each item at fault (by
//! index) with the reason; a system that exists already is a `409` naming it. Only then are
//! the systems created — and if one create fails, those created before it are deleted again.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use govcloud_crds::SystemMigration;
use govcloud_crds::api::{MigrationSummary, ProblemItem};
use kube::api::{DeleteParams, PostParams};
use serde_json::{Value, json};

use super::super::auth::Caller;
use super::super::input::{JsonBody, is_object_name};
use super::super::openapi::{BadRequest, Conflict, Forbidden, InvalidInput, Unauthorized};
use super::super::problem::{ApiProblem, ProblemKind};
use super::super::quota_requests::FIELD_MANAGER;
use super::super::state::{AppState, AuditEvent, kube_problem};
use super::views::{migration_summary, system_key};
use super::{Visibility, namespaced};
use crate::report::error_chain;
use crate::storage::Role;

/// Annotation naming who submitted a system through the API (`<description> (token <id>)`).
pub const SUBMITTED_BY: &str = "govcloud.io/submitted-by";
/// The most systems one submission may hold.
pub const MAX_SYSTEMS: usize = 1000;
/// `apiVersion` of a `SystemMigration`.
const API_VERSION: &str = "govcloud.io/v1alpha1";

fn item_error(
    index: usize,
    name: Option<String>,
    field: Option<&str>,
    detail: String,
) -> ProblemItem {
    ProblemItem {
        index,
        name,
        field: field.map(str::to_owned),
        detail,
    }
}

/// Reads one item, pure: a `SystemMigration` with a name, in a namespace the caller sees, with
/// neither a decision nor confirmations (those go through their own endpoints, audited), and
/// not depending on itself. Server-managed metadata and any status are dropped.
fn read_item(
    index: usize,
    item: &Value,
    visibility: &Visibility,
) -> Result<SystemMigration, ProblemItem> {
    let text = |pointer: &str| item.pointer(pointer).and_then(Value::as_str);
    let name = text("/metadata/name").unwrap_or_default().to_owned();
    let namespace = text("/metadata/namespace").unwrap_or_default().to_owned();
    let key = Some(format!("{namespace}/{name}"));
    let fail = |field: &str, detail: String| item_error(index, key.clone(), Some(field), detail);
    if text("/apiVersion") != Some(API_VERSION) || text("/kind") != Some("SystemMigration") {
        return Err(fail(
            "kind",
            format!("each item must be a SystemMigration of {API_VERSION}"),
        ));
    }
    if !is_object_name(&name) {
        return Err(fail(
            "metadata.name",
            format!("{name:?} is not a valid object name"),
        ));
    }
    if namespace.is_empty() || !is_object_name(&namespace) || !visibility.sees(&namespace) {
        return Err(fail(
            "metadata.namespace",
            format!("{namespace:?} is not a namespace of a tenant this token sees"),
        ));
    }
    let mut system: SystemMigration = serde_path_to_error::deserialize(item).map_err(|error| {
        let field = error.path().to_string();
        fail(&field, format!("{field}: {}", error.into_inner()))
    })?;
    if system.spec.approval.is_some() {
        return Err(fail(
            "spec.approval",
            "operations decide through POST /v1/migrations/{namespace}/{name}/approval; \
             submit systems without spec.approval"
                .to_owned(),
        ));
    }
    if !system.spec.confirmations.is_empty() {
        return Err(fail(
            "spec.confirmations",
            "steps are confirmed once they wait for it; submit systems without \
             spec.confirmations"
                .to_owned(),
        ));
    }
    if let Some(position) = system.spec.depends_on.iter().position(|dependency| {
        dependency.name == name
            && dependency
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == namespace)
    }) {
        return Err(fail(
            &format!("spec.dependsOn[{position}]"),
            format!("system {namespace}/{name} cannot depend on itself"),
        ));
    }
    let metadata = &mut system.metadata;
    metadata.resource_version = None;
    metadata.uid = None;
    metadata.creation_timestamp = None;
    metadata.generation = None;
    metadata.managed_fields = None;
    metadata.deletion_timestamp = None;
    system.status = None;
    Ok(system)
}

/// `1 of the 3 systems is`, `2 of the 3 systems are`.
fn some_of(some: usize, all: usize) -> String {
    let verb = if some == 1 { "is" } else { "are" };
    format!("{some} of the {all} systems {verb}")
}

/// Reads and checks the batch, pure: each item ([`read_item`]), and no two items of the same
/// namespace and name. Every item at fault is reported.
pub fn check_batch(
    items: &[Value],
    visibility: &Visibility,
) -> Result<Vec<SystemMigration>, Vec<ProblemItem>> {
    let mut errors = Vec::new();
    let mut systems = Vec::new();
    let mut seen = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        match read_item(index, item, visibility) {
            Ok(system) => {
                let key = system_key(&system);
                if let Some(first) = seen.insert(key.clone(), index) {
                    errors.push(item_error(
                        index,
                        Some(key.clone()),
                        Some("metadata.name"),
                        format!("system {key} is also item {first} of the batch"),
                    ));
                    seen.insert(key, first);
                }
                systems.push(system);
            }
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(systems)
    } else {
        Err(errors)
    }
}

fn post_params(dry_run: bool) -> PostParams {
    PostParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.to_owned()),
    }
}

/// The item error for Kubernetes' refusal of a system, or the problem of a failed request.
fn refusal(index: usize, key: &str, error: &kube::Error) -> Result<ProblemItem, ApiProblem> {
    match error {
        kube::Error::Api(status) if matches!(status.code, 400 | 403 | 404 | 409 | 422) => {
            let field = status
                .details
                .as_ref()
                .and_then(|details| details.causes.first())
                .map(|cause| cause.field.clone())
                .filter(|field| !field.is_empty());
            Ok(item_error(
                index,
                Some(key.to_owned()),
                field.as_deref(),
                status.message.clone(),
            ))
        }
        error => Err(kube_problem("check the system", error)),
    }
}

/// Has the Kubernetes API admit every system without storing it, and looks for those that
/// exist: a `422` listing each refusal, else a `409` listing the systems that exist.
async fn check_on_server(state: &AppState, systems: &[SystemMigration]) -> Result<(), ApiProblem> {
    let mut refused = Vec::new();
    let mut existing = Vec::new();
    for (index, system) in systems.iter().enumerate() {
        let key = system_key(system);
        let api = namespaced(
            state,
            system.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let name = system.metadata.name.as_deref().unwrap_or_default();
        let found = api
            .get_opt(name)
            .await
            .map_err(|error| kube_problem("look for the system", &error))?;
        if found.is_some() {
            existing.push(item_error(
                index,
                Some(key.clone()),
                None,
                format!("system {key} exists already"),
            ));
            continue;
        }
        if let Err(error) = api.create(&post_params(true), system).await {
            refused.push(refusal(index, &key, &error)?);
        }
    }
    if !refused.is_empty() {
        return Err(ApiProblem::new(
            ProblemKind::InvalidInput,
            format!(
                "{} refused by Kubernetes; nothing was created",
                some_of(refused.len(), systems.len())
            ),
        )
        .with_errors(refused));
    }
    if !existing.is_empty() {
        let names: Vec<&str> = existing.iter().filter_map(|e| e.name.as_deref()).collect();
        return Err(ApiProblem::new(
            ProblemKind::Conflict,
            format!(
                "these systems exist already: {}; nothing was created",
                names.join(", ")
            ),
        )
        .with_errors(existing));
    }
    Ok(())
}

/// Deletes the systems created by this request again (best effort, failures logged).
async fn take_back(state: &AppState, created: &[SystemMigration]) {
    for system in created {
        let api = namespaced(
            state,
            system.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let name = system.metadata.name.as_deref().unwrap_or_default();
        if let Err(error) = api.delete(name, &DeleteParams::default()).await {
            tracing::error!(
                system = %system_key(system),
                error = %error_chain(&error),
                "failed to delete a system of a submission that failed"
            );
        }
    }
}

/// Creates the systems in order; if one fails, deletes those created before it.
async fn create_all(
    state: &AppState,
    systems: Vec<SystemMigration>,
) -> Result<Vec<SystemMigration>, ApiProblem> {
    let mut created = Vec::with_capacity(systems.len());
    for (index, system) in systems.iter().enumerate() {
        let api = namespaced(
            state,
            system.metadata.namespace.as_deref().unwrap_or_default(),
        );
        match api.create(&post_params(false), system).await {
            Ok(object) => created.push(object),
            Err(error) => {
                take_back(state, &created).await;
                let key = system_key(system);
                let taken_back = format!(
                    "failed to create system {key}; the {} systems created before it were deleted again",
                    created.len()
                );
                return Err(match refusal(index, &key, &error)? {
                    item if matches!(&error, kube::Error::Api(s) if s.code == 409) => {
                        ApiProblem::new(ProblemKind::Conflict, taken_back).with_errors(vec![item])
                    }
                    item => ApiProblem::new(ProblemKind::InvalidInput, taken_back)
                        .with_errors(vec![item]),
                });
            }
        }
    }
    Ok(created)
}

/// Appends one audit record per created system; if one cannot be written, every system is
/// deleted again (nothing stays unaudited).
async fn audit_all(
    state: &AppState,
    caller: &Caller,
    visibility: &Visibility,
    created: &[SystemMigration],
) -> Result<(), ApiProblem> {
    for system in created {
        let namespace = system.metadata.namespace.as_deref().unwrap_or_default();
        let tenant = visibility
            .ownership
            .owner(namespace)
            .unwrap_or(&caller.tenant);
        let spec = &system.spec;
        let event = AuditEvent {
            tenant,
            action: "system-migration.submit",
            object_kind: "SystemMigration",
            object_name: system_key(system),
            detail: json!({
                "displayName": spec.display_name,
                "classification": spec.classification,
                "resources": spec.resources,
                "dependsOn": spec.depends_on,
                "steps": spec.steps.iter().map(|s| &s.name).collect::<Vec<_>>(),
            }),
        };
        if let Err(problem) = state.audit(caller, event).await {
            take_back(state, created).await;
            return Err(problem);
        }
    }
    Ok(())
}

/// Submits systems for migration (editor or operations), all or nothing. The body lists
/// `SystemMigration` objects, each in a namespace of a tenant the token sees, without
/// `spec.approval` or `spec.confirmations`. A refused batch is a `422` (or `409` for systems
/// that exist) whose `errors` name each item at fault by its index; nothing is created.
#[utoipa::path(
    post,
    path = "/v1/migrations",
    tag = "migrations",
    operation_id = "submitMigrations",
    request_body(
        content = Vec<Object>,
        description = "SystemMigration objects (govcloud.io/v1alpha1), each with metadata.name and metadata.namespace"
    ),
    responses(
        (status = 201, description = "The systems, created", body = Vec<MigrationSummary>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn submit_migrations(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(items): JsonBody<Vec<Value>>,
) -> Result<(StatusCode, Json<Vec<MigrationSummary>>), ApiProblem> {
    caller.require(
        &[Role::Editor, Role::Operations],
        "submit systems for migration",
    )?;
    if items.is_empty() || items.len() > MAX_SYSTEMS {
        return Err(ApiProblem::new(
            ProblemKind::InvalidInput,
            format!(
                "submit 1 to {MAX_SYSTEMS} systems at once, not {}",
                items.len()
            ),
        ));
    }
    let visibility = Visibility::of(&state, &caller).await?;
    let mut systems = check_batch(&items, &visibility).map_err(|errors| {
        ApiProblem::new(
            ProblemKind::InvalidInput,
            format!(
                "{} invalid; nothing was created",
                some_of(errors.len(), items.len())
            ),
        )
        .with_errors(errors)
    })?;
    for system in &mut systems {
        system
            .metadata
            .annotations
            .get_or_insert_default()
            .insert(SUBMITTED_BY.to_owned(), caller.actor());
    }
    check_on_server(&state, &systems).await?;
    let created = create_all(&state, systems).await?;
    audit_all(&state, &caller, &visibility, &created).await?;
    let summaries = created
        .iter()
        .map(|system| migration_summary(system, &visibility.ownership))
        .collect();
    Ok((StatusCode::CREATED, Json(summaries)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::migrations::testing::{ownership, system};
    use crate::api::scope::Hierarchy;

    fn visibility(tenant: &str) -> Visibility {
        let hierarchy = Hierarchy::new([
            ("ankang", None),
            ("city-finance", Some("ankang")),
            ("hanbin", Some("ankang")),
        ]);
        Visibility {
            scope: hierarchy.scope(tenant),
            ownership: ownership(&["ankang", "city-finance", "hanbin"]),
        }
    }

    fn item(namespace: &str, name: &str) -> Value {
        serde_json::to_value(system(namespace, name)).expect("json")
    }

    #[test]
    fn a_good_batch_passes_without_server_fields() {
        let mut first = item("city-finance", "payroll");
        first["metadata"]["resourceVersion"] = json!("7");
        first["status"] = json!({"phase": "Completed"});
        let systems = check_batch(
            &[first, item("city-finance", "ledger")],
            &visibility("city-finance"),
        )
        .expect("valid");
        assert_eq!(systems.len(), 2);
        assert_eq!(systems[0].metadata.resource_version, None);
        assert_eq!(systems[0].status, None);
    }

    #[test]
    fn every_bad_item_is_named_by_its_index() {
        let mut wrong_kind = item("city-finance", "a");
        wrong_kind["kind"] = json!("Tenant");
        let mut approved = item("city-finance", "b");
        approved["spec"]["approval"] =
            json!({"decision": "Approved", "decidedBy": "me", "reason": "x"});
        let mut itself = item("city-finance", "c");
        itself["spec"]["dependsOn"] =
            json!([{"name": "x"}, {"name": "c", "namespace": "city-finance"}]);
        let mut bad_hosts = item("city-finance", "d");
        bad_hosts["spec"]["source"]["hosts"] = json!("three");
        let batch = [
            wrong_kind,
            approved,
            itself,
            item("hanbin", "foreign"),
            item("city-finance", "e"),
            item("city-finance", "e"),
            bad_hosts,
            item("nowhere", "f"),
        ];
        let errors = check_batch(&batch, &visibility("city-finance")).expect_err("invalid");
        let fields: Vec<(usize, Option<&str>)> = errors
            .iter()
            .map(|e| (e.index, e.field.as_deref()))
            .collect();
        assert_eq!(
            fields,
            [
                (0, Some("kind")),
                (1, Some("spec.approval")),
                (2, Some("spec.dependsOn[1]")),
                (3, Some("metadata.namespace")),
                (5, Some("metadata.name")),
                (6, Some("spec.source.hosts")),
                (7, Some("metadata.namespace")),
            ]
        );
        assert_eq!(
            errors[4].detail,
            "system city-finance/e is also item 4 of the batch"
        );
        // Another tenant's namespace and a missing one read alike.
        assert_eq!(
            errors[3].detail.replace("hanbin", "X"),
            errors[6].detail.replace("nowhere", "X")
        );
        assert!(check_batch(&[item("hanbin", "x")], &visibility("ankang")).is_ok());
    }
}
