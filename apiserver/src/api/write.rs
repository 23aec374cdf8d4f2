//! Create, update, patch and delete: every write goes through admission, server-managed
//! metadata, finalizers and the store's precondition on the resource version.
//!
//! A write reads the object, computes the new one and stores it only if the object has not
//! changed meanwhile. When it has, a write whose client gave no resource version (a patch, an
//! apply, a `PUT` without one, a `DELETE` without preconditions) is computed again on the new
//! version, as kube-apiserver's `GuaranteedUpdate` does; only a client's own stale version is
//! a `409 Conflict`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::meta::{
    self, finalizers, is_terminating, keep_server_fields, meta_str, metadata_mut, now,
};
use super::state::ApiState;
use crate::admission::{FieldValidation, validate_metadata};
use crate::error::{ApiError, Cause};
use crate::patch::{self, ApplyRequest, PatchError, PatchKind};
use crate::resource::ResourceType;
use crate::store::{ObjectKey, Stored};

/// Query parameters of a request.
pub type Params = BTreeMap<String, String>;

/// How many times a write is computed again after losing a race with another write. Writes
/// are serialised, so each retry is after some other write committed; the bound only stops a
/// bug from spinning forever.
const WRITE_ATTEMPTS: usize = 100;

/// One attempt at a write of an existing object.
enum Attempt {
    /// Written (or nothing to write): the object to answer.
    Done(Value),
    /// Another write changed the object after it was read; nothing was written.
    Raced,
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(error.to_string())
}

fn field_manager(params: &Params, default: &str) -> String {
    params
        .get("fieldManager")
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn dry_run(params: &Params) -> bool {
    params.get("dryRun").is_some_and(|v| v == "All")
}

/// Checks `apiVersion` and `kind` of a body against the resource it is sent to.
fn check_type(resource: &ResourceType, object: &mut Value) -> Result<(), ApiError> {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if api_version.is_empty() && kind.is_empty() {
        object["apiVersion"] = json!(resource.api_version());
        object["kind"] = json!(resource.kind);
        return Ok(());
    }
    if api_version != resource.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            resource.api_version()
        )));
    }
    if kind != resource.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            resource.kind
        )));
    }
    Ok(())
}

/// Reconciles the namespace of the body with the path's.
fn check_namespace(
    resource: &ResourceType,
    object: &mut Value,
    path_namespace: Option<&str>,
) -> Result<(), ApiError> {
    if !resource.namespaced {
        metadata_mut(object).remove("namespace");
        return Ok(());
    }
    let body_namespace = meta_str(object, "namespace").to_owned();
    let Some(path_namespace) = path_namespace else {
        return Err(ApiError::bad_request(format!(
            "{} is namespaced: send it to a namespaced path",
            resource.kind
        )));
    };
    if !body_namespace.is_empty() && body_namespace != path_namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    metadata_mut(object).insert("namespace".into(), json!(path_namespace));
    Ok(())
}

/// Refuses objects in a namespace that does not exist or is being deleted.
async fn check_namespace_exists(
    state: &ApiState,
    resource: &ResourceType,
    namespace: Option<&str>,
) -> Result<(), ApiError> {
    let Some(namespace) = namespace.filter(|_| resource.namespaced) else {
        return Ok(());
    };
    let key = ObjectKey {
        resource: "/namespaces".into(),
        namespace: String::new(),
        name: namespace.to_owned(),
    };
    match state.store.get(&key).await.map_err(internal)? {
        None => {
            let namespaces = state.registry.lookup("", "v1", "namespaces");
            Err(namespaces.map_or_else(
                || ApiError::no_route(namespace),
                |t| ApiError::not_found(&t, namespace),
            ))
        }
        Some(stored) if is_terminating(&stored.object) => Err(ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ),
            details: None,
        }),
        Some(_) => Ok(()),
    }
}

/// Admission: metadata rules, then the resource's schema (defaults, pruning or strict unknown
/// fields, OpenAPI and CEL) for custom resources, and CRD registrability for CRDs.
fn admit(
    state: &ApiState,
    resource: &ResourceType,
    object: &mut Value,
    old: Option<&Value>,
    params: &Params,
) -> Result<(), ApiError> {
    let name = meta_str(object, "name").to_owned();
    let namespace = meta_str(object, "namespace").to_owned();
    let causes = validate_metadata(
        resource,
        object,
        Some(namespace.as_str()).filter(|n| !n.is_empty()),
    );
    if !causes.is_empty() {
        return Err(ApiError::invalid(resource, &name, causes));
    }
    if let Some(validator) = state.validator(resource) {
        let validation =
            FieldValidation::from_query(params.get("fieldValidation").map(String::as_str))?;
        validator
            .admit(object, old, validation)
            .into_result(resource, &name)?;
    }
    let mut causes = Vec::new();
    if causes.is_empty()
        && resource.is_crd()
        && let Err(error) =
            crate::resource::custom_types(&serde_json::from_value(object.clone()).map_err(|e| {
                ApiError::invalid(resource, &name, vec![Cause::invalid("spec", e.to_string())])
            })?)
    {
        causes.push(Cause::invalid("spec", error.to_string()));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(resource, &name, causes))
    }
}

/// What the server adds to some kinds on every write.
fn server_status(resource: &ResourceType, object: &mut Value) {
    if resource.is_crd() {
        let names = object
            .pointer("/spec/names")
            .cloned()
            .unwrap_or(Value::Null);
        let storage: Vec<Value> = object
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .filter_map(|v| v.get("name").cloned())
            .collect();
        let since = meta_str(object, "creationTimestamp").to_owned();
        let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "reason": reason, "message": message, "lastTransitionTime": since});
        object["status"] = json!({
            "acceptedNames": names,
            "storedVersions": storage,
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
        });
    } else if resource.is_namespace() {
        let phase = if is_terminating(object) {
            "Terminating"
        } else {
            "Active"
        };
        object["status"] = json!({ "phase": phase });
    }
}

/// `POST` to a collection.
pub async fn create(
    state: &Arc<ApiState>,
    resource: &ResourceType,
    path_namespace: Option<&str>,
    mut object: Value,
    params: &Params,
) -> Result<Value, ApiError> {
    check_type(resource, &mut object)?;
    check_namespace(resource, &mut object, path_namespace)?;
    if meta_str(&object, "name").is_empty() {
        let prefix = meta_str(&object, "generateName").to_owned();
        if prefix.is_empty() {
            return Err(ApiError::invalid(
                resource,
                "",
                vec![Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value: name or generateName is required".into(),
                    field: "metadata.name".into(),
                }],
            ));
        }
        let suffix: String = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .chars()
            .take(5)
            .collect();
        metadata_mut(&mut object).insert("name".into(), json!(format!("{prefix}{suffix}")));
    }
    keep_server_fields(None, &mut object);
    metadata_mut(&mut object).remove("managedFields");
    if resource.status_subresource
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status");
    }
    admit(state, resource, &mut object, None, params)?;
    check_namespace_exists(state, resource, path_namespace).await?;
    let manager = field_manager(params, "unknown");
    patch::record_update(
        None,
        &mut object,
        &manager,
        "Update",
        &now(),
        resource.schema.as_ref(),
        None,
    );
    insert(state, resource, object, params).await
}

/// Stores a new object (after admission), with uid, creation time and generation.
async fn insert(
    state: &Arc<ApiState>,
    resource: &ResourceType,
    mut object: Value,
    params: &Params,
) -> Result<Value, ApiError> {
    let name = meta_str(&object, "name").to_owned();
    let namespace = meta_str(&object, "namespace").to_owned();
    {
        let metadata = metadata_mut(&mut object);
        metadata.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        metadata.insert("creationTimestamp".into(), json!(now()));
        metadata.insert("generation".into(), json!(1));
    }
    server_status(resource, &mut object);
    if dry_run(params) {
        return Ok(object);
    }
    if resource.is_crd() {
        state.register_crd(&object)?;
    }
    let key = ApiState::key(resource, Some(&namespace), &name);
    match state
        .store
        .put(&key, object, None)
        .await
        .map_err(internal)?
    {
        Ok(stored) => Ok(stored.object),
        Err(_) => Err(ApiError::already_exists(resource, &name)),
    }
}

/// The stored object, or `404`.
pub async fn current(
    state: &ApiState,
    resource: &ResourceType,
    key: &ObjectKey,
) -> Result<Stored, ApiError> {
    state
        .store
        .get(key)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::not_found(resource, &key.name))
}

/// `PUT` to an object or its status.
pub async fn update(
    state: &Arc<ApiState>,
    resource: &ResourceType,
    key: &ObjectKey,
    subresource: Option<&str>,
    mut object: Value,
    params: &Params,
) -> Result<Value, ApiError> {
    check_type(resource, &mut object)?;
    check_namespace(
        resource,
        &mut object,
        Some(key.namespace.as_str()).filter(|n| !n.is_empty()),
    )?;
    if meta_str(&object, "name") != key.name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({})",
            meta_str(&object, "name"),
            key.name
        )));
    }
    let requested_version = meta_str(&object, "resourceVersion").to_owned();
    let manager = field_manager(params, "unknown");
    for _ in 0..WRITE_ATTEMPTS {
        let stored = current(state, resource, key).await?;
        if !requested_version.is_empty() && requested_version != stored.resource_version.to_string()
        {
            return Err(stale(resource, &key.name));
        }
        let merged = merge_for_subresource(resource, &stored.object, object.clone(), subresource);
        let record = Some((manager.as_str(), subresource));
        if let Attempt::Done(written) =
            finish(state, resource, key, &stored, merged, params, record).await?
        {
            return Ok(written);
        }
    }
    Err(stale(resource, &key.name))
}

fn stale(resource: &ResourceType, name: &str) -> ApiError {
    ApiError::conflict(
        resource,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
    )
}

/// The object a write to `subresource` produces: a status write changes only the status; a
/// main-resource write keeps the stored status when status is a subresource.
fn merge_for_subresource(
    resource: &ResourceType,
    stored: &Value,
    mut written: Value,
    subresource: Option<&str>,
) -> Value {
    if subresource == Some("status") {
        let mut merged = stored.clone();
        if let Some(fields) = written.pointer("/metadata/managedFields") {
            metadata_mut(&mut merged).insert("managedFields".into(), fields.clone());
        }
        merged["status"] = written.get("status").cloned().unwrap_or(Value::Null);
        if merged["status"].is_null()
            && let Some(map) = merged.as_object_mut()
        {
            map.remove("status");
        }
        return merged;
    }
    if resource.status_subresource {
        match stored.get("status") {
            Some(status) => written["status"] = status.clone(),
            None => {
                if let Some(map) = written.as_object_mut() {
                    map.remove("status");
                }
            }
        }
    }
    written
}

/// Completes an update of `stored` into `merged`: admission, server fields, generation, managed
/// fields (unless an apply already set them), finalizer-driven deletion, and the write itself.
async fn finish(
    state: &Arc<ApiState>,
    resource: &ResourceType,
    key: &ObjectKey,
    stored: &Stored,
    mut merged: Value,
    params: &Params,
    record: Option<(&str, Option<&str>)>,
) -> Result<Attempt, ApiError> {
    keep_server_fields(Some(&stored.object), &mut merged);
    if is_terminating(&stored.object) {
        // Finalizers may only be removed, not added, once deletion started (as in Kubernetes).
        let before = finalizers(&stored.object);
        let after = finalizers(&merged);
        if after.iter().any(|f| !before.contains(f)) {
            return Err(ApiError::invalid(
                resource,
                &key.name,
                vec![Cause {
                    reason: "FieldValueForbidden".into(),
                    message:
                        "Forbidden: no new finalizers can be added if the object is being deleted"
                            .into(),
                    field: "metadata.finalizers".into(),
                }],
            ));
        }
    }
    admit(state, resource, &mut merged, Some(&stored.object), params)?;
    if meta::spec_changed(&stored.object, &merged) {
        let generation = stored
            .object
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        metadata_mut(&mut merged).insert("generation".into(), json!(generation + 1));
    }
    if let Some((manager, subresource)) = record {
        patch::record_update(
            Some(&stored.object),
            &mut merged,
            manager,
            "Update",
            &now(),
            resource.schema.as_ref(),
            subresource,
        );
    }
    server_status(resource, &mut merged);
    if meta::same_content(&stored.object, &merged) {
        return Ok(Attempt::Done(stored.object.clone()));
    }
    if dry_run(params) {
        return Ok(Attempt::Done(merged));
    }
    if is_terminating(&merged) && finalizers(&merged).is_empty() {
        return remove(state, resource, key, stored.resource_version, "Background").await;
    }
    if resource.is_crd() {
        state.register_crd(&merged)?;
    }
    match state
        .store
        .put(key, merged, Some(stored.resource_version))
        .await
        .map_err(internal)?
    {
        Ok(written) => Ok(Attempt::Done(written.object)),
        Err(_) => Ok(Attempt::Raced),
    }
}

/// `PATCH` of an object or its status.
pub async fn patch(
    state: &Arc<ApiState>,
    resource: &ResourceType,
    key: &ObjectKey,
    subresource: Option<&str>,
    content_type: &str,
    body: &[u8],
    params: &Params,
) -> Result<Value, ApiError> {
    let kind = PatchKind::from_content_type(content_type)
        .ok_or_else(|| ApiError::unsupported_media_type(content_type))?;
    let patch_body = super::body::parse(body, content_type)?;
    let request = PatchRequest {
        resource,
        key,
        subresource,
        kind,
        body: &patch_body,
        params,
    };
    for _ in 0..WRITE_ATTEMPTS {
        if let Attempt::Done(written) = patch_once(state, &request).await? {
            return Ok(written);
        }
    }
    Err(stale(resource, &key.name))
}

/// A parsed `PATCH` request.
struct PatchRequest<'a> {
    resource: &'a ResourceType,
    key: &'a ObjectKey,
    subresource: Option<&'a str>,
    kind: PatchKind,
    body: &'a Value,
    params: &'a Params,
}

/// Applies a patch to the object as it is now.
async fn patch_once(
    state: &Arc<ApiState>,
    request: &PatchRequest<'_>,
) -> Result<Attempt, ApiError> {
    let PatchRequest {
        resource,
        key,
        subresource,
        kind,
        body: patch_body,
        params,
    } = *request;
    let existing = state.store.get(key).await.map_err(internal)?;
    if kind == PatchKind::Apply {
        let manager = params.get("fieldManager").cloned().ok_or_else(|| {
            ApiError::invalid(
                resource,
                &key.name,
                vec![Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value: is required for apply patch".into(),
                    field: "fieldManager".into(),
                }],
            )
        })?;
        let force = params.get("force").is_some_and(|v| v == "true");
        let mut applied = patch_body.clone();
        check_type(resource, &mut applied)?;
        let request = ApplyRequest {
            live: existing.as_ref().map(|s| &s.object),
            applied: &applied,
            manager: &manager,
            force,
            schema: resource.schema.as_ref(),
            now: &now(),
            subresource,
        };
        let applied_result = if resource.status_subresource && subresource.is_none() {
            patch::apply_ignoring_status(&request)
        } else {
            patch::apply(&request)
        };
        let mut result = applied_result.map_err(|e| patch_error(resource, &key.name, e))?;
        let Some(stored) = existing else {
            if subresource.is_some() {
                return Err(ApiError::not_found(resource, &key.name));
            }
            check_namespace(
                resource,
                &mut result,
                Some(key.namespace.as_str()).filter(|n| !n.is_empty()),
            )?;
            metadata_mut(&mut result).insert("name".into(), json!(key.name));
            if resource.status_subresource
                && let Some(map) = result.as_object_mut()
            {
                map.remove("status");
            }
            admit(state, resource, &mut result, None, params)?;
            check_namespace_exists(
                state,
                resource,
                Some(key.namespace.as_str()).filter(|n| !n.is_empty()),
            )
            .await?;
            // Created meanwhile by another write: apply to that object instead.
            return match insert(state, resource, result, params).await {
                Err(error) if error.reason == "AlreadyExists" => Ok(Attempt::Raced),
                inserted => inserted.map(Attempt::Done),
            };
        };
        let merged = merge_for_subresource(resource, &stored.object, result, subresource);
        return finish(state, resource, key, &stored, merged, params, None).await;
    }
    let stored = existing.ok_or_else(|| ApiError::not_found(resource, &key.name))?;
    let patched = patch::patch_object(kind, &stored.object, patch_body, resource.crd.is_some())
        .map_err(|e| patch_error(resource, &key.name, e))?;
    let requested_version = meta_str(&patched, "resourceVersion");
    if !requested_version.is_empty() && requested_version != stored.resource_version.to_string() {
        return Err(stale(resource, &key.name));
    }
    let merged = merge_for_subresource(resource, &stored.object, patched, subresource);
    let manager = field_manager(params, "unknown");
    finish(
        state,
        resource,
        key,
        &stored,
        merged,
        params,
        Some((&manager, subresource)),
    )
    .await
}

fn patch_error(resource: &ResourceType, name: &str, error: PatchError) -> ApiError {
    match error {
        PatchError::Malformed(message) => ApiError::bad_request(message),
        PatchError::TestFailed(message) => {
            ApiError::invalid(resource, name, vec![Cause::invalid("", message)])
        }
        PatchError::Conflict { manager, fields } => ApiError::conflict(
            resource,
            name,
            &format!(
                "Apply failed with {} conflict{}: conflict with \"{manager}\": {}",
                fields.len(),
                if fields.len() == 1 { "" } else { "s" },
                fields.join(", ")
            ),
        ),
        PatchError::Unsupported(message) => ApiError::unsupported_media_type(&message),
    }
}

/// `DELETE` of an object: with finalizers it is marked for deletion; without, removed, and its
/// dependents are collected.
pub async fn delete(
    state: &Arc<ApiState>,
    resource: &ResourceType,
    key: &ObjectKey,
    propagation: &str,
    preconditions: Option<&Value>,
) -> Result<Value, ApiError> {
    for _ in 0..WRITE_ATTEMPTS {
        if let Attempt::Done(deleted) =
            delete_once(state, resource, key, propagation, preconditions).await?
        {
            return Ok(deleted);
        }
    }
    Err(stale(resource, &key.name))
}

/// Deletes (or marks for deletion) the object as it is now.
async fn delete_once(
    state: &Arc<ApiState>,
    resource: &ResourceType,
    key: &ObjectKey,
    propagation: &str,
    preconditions: Option<&Value>,
) -> Result<Attempt, ApiError> {
    let stored = current(state, resource, key).await?;
    if let Some(preconditions) = preconditions {
        let uid = preconditions.get("uid").and_then(Value::as_str);
        let version = preconditions.get("resourceVersion").and_then(Value::as_str);
        if uid.is_some_and(|u| u != crate::store::uid_of(&stored.object))
            || version.is_some_and(|v| v != stored.resource_version.to_string())
        {
            return Err(ApiError::conflict(
                resource,
                &key.name,
                "the precondition of the delete does not match the object",
            ));
        }
    }
    if resource.is_namespace() || !finalizers(&stored.object).is_empty() {
        if is_terminating(&stored.object) {
            return Ok(Attempt::Done(stored.object));
        }
        let mut marked = stored.object.clone();
        let metadata = metadata_mut(&mut marked);
        metadata.insert("deletionTimestamp".into(), json!(now()));
        metadata.insert("deletionGracePeriodSeconds".into(), json!(0));
        server_status(resource, &mut marked);
        let Ok(written) = state
            .store
            .put(key, marked, Some(stored.resource_version))
            .await
            .map_err(internal)?
        else {
            return Ok(Attempt::Raced);
        };
        if resource.is_namespace() {
            super::gc::terminate_namespace(Arc::clone(state), key.name.clone());
        }
        return Ok(Attempt::Done(written.object));
    }
    remove(state, resource, key, stored.resource_version, propagation).await
}

/// Removes an object from the store if it is still at `version`, and starts the collection of
/// what it owned.
async fn remove(
    state: &Arc<ApiState>,
    resource: &ResourceType,
    key: &ObjectKey,
    version: i64,
    propagation: &str,
) -> Result<Attempt, ApiError> {
    let deleted = match state.store.delete(key, version).await.map_err(internal)? {
        Ok(deleted) => deleted,
        Err(None) => return Err(ApiError::not_found(resource, &key.name)),
        Err(Some(_)) => return Ok(Attempt::Raced),
    };
    if resource.is_crd() {
        state.unregister_crd(&key.name);
        super::gc::delete_custom_resources(Arc::clone(state), deleted.object.clone());
    }
    super::gc::collect_dependents(
        Arc::clone(state),
        crate::store::uid_of(&deleted.object).to_owned(),
        propagation == "Orphan",
    );
    Ok(Attempt::Done(deleted.object))
}
