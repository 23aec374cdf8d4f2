//! Server-side apply and the field ownership of other writes: the applied configuration is merged
//! into the live object following the schema's list and map types, fields another manager owns
//! conflict unless forced, fields the manager stopped applying are removed, and
//! `metadata.managedFields` records who owns what.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::fields::{FieldSet, display_path};
use super::managed::{self, ManagedEntry};
use super::schema::Schema;
use super::typed::{self, compare, config_field_set, strip_nulls, tracked_view};
use super::{ApplyRequest, PatchError};

const APPLY: &str = "Apply";

fn api_version_of(object: &Value) -> Option<&str> {
    object
        .get("apiVersion")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

/// The part of an applied configuration that is merged and owned.
fn configuration(applied: &Value, status_only: bool, without_status: bool) -> Value {
    let mut config = tracked_view(applied);
    strip_nulls(&mut config);
    if without_status && let Some(map) = config.as_object_mut() {
        map.remove("status");
    }
    if status_only {
        let status = config.get("status").cloned();
        config = Value::Object(Map::new());
        if let Some(status) = status {
            config["status"] = status;
        }
    }
    config
}

/// Sets `apiVersion`, `kind`, `metadata.name` and `metadata.namespace` of `merged` from the
/// applied object, where it has them.
fn take_identity(merged: &mut Value, applied: &Value) {
    for field in ["apiVersion", "kind"] {
        if let Some(value) = applied.get(field).filter(|v| !v.is_null()) {
            merged[field] = value.clone();
        }
    }
    for field in ["name", "namespace"] {
        if let Some(value) = applied
            .get("metadata")
            .and_then(|m| m.get(field))
            .filter(|v| !v.is_null())
        {
            if !merged.get("metadata").is_some_and(Value::is_object) {
                merged["metadata"] = json!({});
            }
            merged["metadata"][field] = value.clone();
        }
    }
}

/// Fields other managers own that an apply changes: a conflict, or with `force` theirs no more.
fn take_over(
    entries: &mut [ManagedEntry],
    mine: Option<usize>,
    changed: &FieldSet,
    force: bool,
) -> Result<(), PatchError> {
    let mut conflicts: BTreeMap<usize, FieldSet> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        if Some(index) == mine {
            continue;
        }
        let overlap = entry.fields.intersection(changed);
        if !overlap.is_empty() {
            conflicts.insert(index, overlap);
        }
    }
    if !conflicts.is_empty() && !force {
        let mut managers: Vec<&str> = conflicts
            .keys()
            .filter_map(|&i| entries.get(i).map(|e| e.manager.as_str()))
            .collect();
        managers.sort_unstable();
        managers.dedup();
        let mut fields: Vec<String> = conflicts
            .values()
            .flat_map(|set| set.iter().map(|path| display_path(path)))
            .collect();
        fields.sort();
        fields.dedup();
        return Err(PatchError::Conflict {
            manager: managers.join(", "),
            fields,
        });
    }
    for (index, taken) in &conflicts {
        if let Some(entry) = entries.get_mut(*index) {
            entry.fields.remove_all(taken);
        }
    }
    Ok(())
}

/// Server-side apply of `req.applied` by `req.manager` (see [`ApplyRequest`]).
///
/// Returns the new object with its `metadata.managedFields`. Server-owned metadata (`uid`,
/// `resourceVersion`, `generation`, `creationTimestamp`, `deletionTimestamp`) is taken from the
/// live object only, never from the configuration.
pub fn apply(req: &ApplyRequest<'_>) -> Result<Value, PatchError> {
    apply_inner(req, false)
}

/// [`apply`] to the main resource of a kind whose `status` is a subresource: as in Kubernetes,
/// the configuration's `status` is ignored, neither merged nor owned (the status is written
/// through the `status` subresource only). With `req.subresource == Some("status")` this is
/// [`apply`].
pub fn apply_ignoring_status(req: &ApplyRequest<'_>) -> Result<Value, PatchError> {
    apply_inner(req, req.subresource.is_none())
}

fn apply_inner(req: &ApplyRequest<'_>, without_status: bool) -> Result<Value, PatchError> {
    let applied = req.applied;
    if !applied.is_object() {
        return Err(PatchError::Malformed(
            "failed to apply: the applied configuration must be an object".to_owned(),
        ));
    }
    if applied
        .pointer("/metadata/managedFields")
        .is_some_and(|v| !v.is_null())
    {
        return Err(PatchError::Malformed(
            "metadata.managedFields must be nil".to_owned(),
        ));
    }
    let status_only = req.subresource == Some("status");
    let config = configuration(applied, status_only, without_status);
    let config_set = config_field_set(&config, req.schema).map_err(|errors| {
        PatchError::Malformed(format!(
            "failed to create typed patch object: {}",
            errors.join("; ")
        ))
    })?;

    let empty = Value::Object(Map::new());
    let live = req.live.unwrap_or(&empty);
    let mut merged = typed::merge(live, &config, Schema::root(req.schema));
    if !status_only {
        take_identity(&mut merged, applied);
    }

    let live_view = tracked_view(live);
    let comparison = compare(&live_view, &tracked_view(&merged), req.schema);
    let changed = comparison.changed();
    let mut entries = managed::read(live);
    let mine = entries
        .iter()
        .position(|e| e.is(req.manager, APPLY, req.subresource, ""));

    take_over(&mut entries, mine, &changed, req.force)?;
    for entry in &mut entries {
        entry.fields.remove_all(&comparison.removed);
    }

    // Remove what this manager applied before and applies no more, unless someone owns it.
    let last = mine
        .and_then(|i| entries.get(i))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let mut kept = config_set.clone();
    for (index, entry) in entries.iter().enumerate() {
        if Some(index) != mine {
            kept.extend(entry.fields.clone());
        }
    }
    for path in last.difference(&kept).iter() {
        if !kept.has_descendant(path) {
            typed::prune(&mut merged, path, &kept);
        }
    }

    let object_changed = live_view != tracked_view(&merged);
    let api_version = api_version_of(applied)
        .or_else(|| api_version_of(live))
        .unwrap_or_default()
        .to_owned();
    match mine.and_then(|i| entries.get_mut(i)) {
        Some(entry) => {
            if object_changed || entry.fields != config_set || entry.time.is_none() {
                entry.time = Some(req.now.to_owned());
            }
            entry.fields = config_set;
            entry.api_version = api_version;
        }
        None => entries.push(ManagedEntry {
            manager: req.manager.to_owned(),
            operation: APPLY.to_owned(),
            api_version,
            time: Some(req.now.to_owned()),
            subresource: req.subresource.map(str::to_owned),
            fields: config_set,
        }),
    }
    managed::write(&mut merged, entries);
    Ok(merged)
}

/// Records the field ownership of a write that is not an apply (create, update, merge or JSON
/// patch) in `after`'s `metadata.managedFields`: the fields that changed between `before` (`None`
/// on create) and `after` move to `manager`'s entry for `operation` (normally `Update`) and leave
/// every other manager's; fields that disappeared leave every entry.
///
/// The entries are `after`'s own when it carries some (a client may set them), else `before`'s.
/// An `after` whose `managedFields` is a list of empty objects (`[{}]`) clears them, as in
/// Kubernetes.
pub fn record_update(
    before: Option<&Value>,
    after: &mut Value,
    manager: &str,
    operation: &str,
    now: &str,
    schema: Option<&Value>,
    subresource: Option<&str>,
) {
    if let Some(Value::Array(raw)) = after.pointer("/metadata/managedFields")
        && !raw.is_empty()
        && raw.iter().all(|e| e.as_object().is_some_and(Map::is_empty))
    {
        managed::write(after, Vec::new());
        return;
    }
    let mut entries = managed::read(after);
    if entries.is_empty() {
        entries = before.map(managed::read).unwrap_or_default();
    }
    let before_view = before.map_or_else(|| Value::Object(Map::new()), tracked_view);
    let comparison = compare(&before_view, &tracked_view(after), schema);
    let changed = comparison.changed();
    let api_version = api_version_of(after)
        .or_else(|| before.and_then(api_version_of))
        .unwrap_or_default()
        .to_owned();
    let mine = entries
        .iter()
        .position(|e| e.is(manager, operation, subresource, &api_version));
    for (index, entry) in entries.iter_mut().enumerate() {
        if Some(index) != mine {
            entry.fields.remove_all(&changed);
        }
        entry.fields.remove_all(&comparison.removed);
    }
    if !changed.is_empty() {
        match mine.and_then(|i| entries.get_mut(i)) {
            Some(entry) => {
                entry.fields.extend(changed);
                entry.time = Some(now.to_owned());
                entry.api_version = api_version;
            }
            None => entries.push(ManagedEntry {
                manager: manager.to_owned(),
                operation: operation.to_owned(),
                api_version,
                time: Some(now.to_owned()),
                subresource: subresource.map(str::to_owned),
                fields: changed,
            }),
        }
    }
    managed::write(after, entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2024-05-01T00:00:00Z";
    const T1: &str = "2024-05-01T00:01:00Z";

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": {
                    "type": "object",
                    "properties": {
                        "replicas": {"type": "integer"},
                        "image": {"type": "string"},
                        "paused": {"type": "boolean"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "steps": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "properties": {
                                "name": {"type": "string"},
                                "image": {"type": "string"},
                                "args": {"type": "array", "items": {"type": "string"}}
                            }}
                        }
                    }
                },
                "status": {
                    "type": "object",
                    "properties": {
                        "phase": {"type": "string"},
                        "conditions": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["type"],
                            "items": {"type": "object", "properties": {
                                "type": {"type": "string"},
                                "status": {"type": "string"},
                                "reason": {"type": "string"}
                            }}
                        }
                    }
                }
            }
        })
    }

    fn widget(spec: &Value) -> Value {
        json!({
            "apiVersion": "example.io/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default"},
            "spec": spec
        })
    }

    fn request<'a>(
        live: Option<&'a Value>,
        applied: &'a Value,
        manager: &'a str,
        schema: &'a Value,
    ) -> ApplyRequest<'a> {
        ApplyRequest {
            live,
            applied,
            manager,
            force: false,
            schema: Some(schema),
            now: T0,
            subresource: None,
        }
    }

    /// The `fieldsV1` of `manager`'s entry with `operation`.
    fn owned(object: &Value, manager: &str, operation: &str) -> Option<Value> {
        object["metadata"]["managedFields"]
            .as_array()?
            .iter()
            .find(|e| e["manager"] == manager && e["operation"] == operation)
            .map(|e| e["fieldsV1"].clone())
    }

    fn must_apply(req: &ApplyRequest<'_>) -> Value {
        match apply(req) {
            Ok(object) => object,
            Err(e) => panic!("apply failed: {e}"),
        }
    }

    #[test]
    fn create_via_apply_records_the_manager() {
        let schema = schema();
        let applied = widget(&json!({"replicas": 2, "steps": [{"name": "build", "image": "b"}]}));
        let object = must_apply(&request(None, &applied, "op", &schema));
        assert_eq!(object["spec"], applied["spec"]);
        assert_eq!(object["metadata"]["name"], "w");
        assert_eq!(object["metadata"]["namespace"], "default");
        assert_eq!(object["apiVersion"], "example.io/v1");
        let entries = object["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            entries,
            vec![json!({
                "manager": "op",
                "operation": "Apply",
                "apiVersion": "example.io/v1",
                "time": T0,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {
                    "f:replicas": {},
                    "f:steps": {"k:{\"name\":\"build\"}": {".": {}, "f:image": {}, "f:name": {}}}
                }}
            })]
        );
        assert!(object["metadata"].get("uid").is_none());
        assert!(object["metadata"].get("resourceVersion").is_none());
    }

    #[test]
    fn applied_server_metadata_is_ignored_and_live_kept() {
        let schema = schema();
        let mut live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 1})),
            "op",
            &schema,
        ));
        live["metadata"]["uid"] = json!("uid-1");
        live["metadata"]["resourceVersion"] = json!("7");
        live["metadata"]["generation"] = json!(1);
        let mut applied = widget(&json!({"replicas": 2}));
        applied["metadata"]["uid"] = json!("forged");
        applied["metadata"]["generation"] = json!(99);
        let object = must_apply(&request(Some(&live), &applied, "op", &schema));
        assert_eq!(object["metadata"]["uid"], "uid-1");
        assert_eq!(object["metadata"]["resourceVersion"], "7");
        assert_eq!(object["metadata"]["generation"], 1);
        assert_eq!(object["spec"]["replicas"], 2);
    }

    #[test]
    fn managed_fields_in_the_configuration_are_refused() {
        let schema = schema();
        let mut applied = widget(&json!({}));
        applied["metadata"]["managedFields"] = json!([]);
        assert_eq!(
            apply(&request(None, &applied, "op", &schema)),
            Err(PatchError::Malformed(
                "metadata.managedFields must be nil".to_owned()
            ))
        );
    }

    #[test]
    fn reapply_without_a_field_removes_it() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2, "image": "a", "steps": [{"name": "x"}, {"name": "y"}]})),
            "op",
            &schema,
        ));
        let mut req = request(Some(&live), &Value::Null, "op", &schema);
        let applied = widget(&json!({"replicas": 2, "steps": [{"name": "y"}]}));
        req.applied = &applied;
        req.now = T1;
        let object = must_apply(&req);
        assert_eq!(
            object["spec"],
            json!({"replicas": 2, "steps": [{"name": "y"}]})
        );
        assert_eq!(
            owned(&object, "op", "Apply"),
            Some(json!({"f:spec": {
                "f:replicas": {},
                "f:steps": {"k:{\"name\":\"y\"}": {".": {}, "f:name": {}}}
            }}))
        );
        assert_eq!(object["metadata"]["managedFields"][0]["time"], T1);
    }

    #[test]
    fn two_managers_each_own_their_fields() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2})),
            "a",
            &schema,
        ));
        let live = must_apply(&request(
            Some(&live),
            &widget(&json!({"image": "img"})),
            "b",
            &schema,
        ));
        assert_eq!(live["spec"], json!({"replicas": 2, "image": "img"}));
        assert_eq!(
            owned(&live, "a", "Apply"),
            Some(json!({"f:spec": {"f:replicas": {}}}))
        );
        assert_eq!(
            owned(&live, "b", "Apply"),
            Some(json!({"f:spec": {"f:image": {}}}))
        );
        // `a` stops applying replicas: it goes; `b`'s image stays.
        let object = must_apply(&request(Some(&live), &widget(&json!({})), "a", &schema));
        assert_eq!(object["spec"], json!({"image": "img"}));
        assert_eq!(owned(&object, "a", "Apply"), None);
        // `b` stops applying too: `spec`, left empty, goes with its last field.
        let object = must_apply(&request(Some(&object), &widget(&json!({})), "b", &schema));
        assert_eq!(object.get("spec"), None);
        assert_eq!(object["metadata"].get("managedFields"), None);
    }

    #[test]
    fn a_field_owned_by_another_manager_too_is_kept() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2})),
            "a",
            &schema,
        ));
        // Same value: shared ownership, no conflict.
        let live = must_apply(&request(
            Some(&live),
            &widget(&json!({"replicas": 2})),
            "b",
            &schema,
        ));
        assert_eq!(
            owned(&live, "b", "Apply"),
            Some(json!({"f:spec": {"f:replicas": {}}}))
        );
        let object = must_apply(&request(Some(&live), &widget(&json!({})), "a", &schema));
        assert_eq!(object["spec"], json!({"replicas": 2}));
        assert_eq!(
            owned(&object, "b", "Apply"),
            Some(json!({"f:spec": {"f:replicas": {}}}))
        );
    }

    #[test]
    fn conflict_without_force_names_manager_and_field() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2, "image": "x"})),
            "a",
            &schema,
        ));
        let applied = widget(&json!({"replicas": 3, "image": "x", "paused": true}));
        assert_eq!(
            apply(&request(Some(&live), &applied, "b", &schema)),
            Err(PatchError::Conflict {
                manager: "a".to_owned(),
                fields: vec![".spec.replicas".to_owned()],
            })
        );
    }

    #[test]
    fn force_takes_ownership() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2, "image": "x"})),
            "a",
            &schema,
        ));
        let applied = widget(&json!({"replicas": 3}));
        let mut req = request(Some(&live), &applied, "b", &schema);
        req.force = true;
        let object = must_apply(&req);
        assert_eq!(object["spec"], json!({"replicas": 3, "image": "x"}));
        assert_eq!(
            owned(&object, "a", "Apply"),
            Some(json!({"f:spec": {"f:image": {}}}))
        );
        assert_eq!(
            owned(&object, "b", "Apply"),
            Some(json!({"f:spec": {"f:replicas": {}}}))
        );
        // `a` re-applies its old configuration: now it conflicts with `b`.
        let again = apply(&request(
            Some(&object),
            &widget(&json!({"replicas": 2, "image": "x"})),
            "a",
            &schema,
        ));
        assert!(matches!(again, Err(PatchError::Conflict { manager, .. }) if manager == "b"));
    }

    #[test]
    fn conflicts_with_update_managers_too() {
        let schema = schema();
        let mut created = widget(&json!({"replicas": 1}));
        record_update(
            None,
            &mut created,
            "kubectl-create",
            "Update",
            T0,
            Some(&schema),
            None,
        );
        assert_eq!(
            owned(&created, "kubectl-create", "Update"),
            Some(json!({"f:spec": {".": {}, "f:replicas": {}}}))
        );
        let err = apply(&request(
            Some(&created),
            &widget(&json!({"replicas": 5})),
            "op",
            &schema,
        ));
        assert_eq!(
            err,
            Err(PatchError::Conflict {
                manager: "kubectl-create".to_owned(),
                fields: vec![".spec.replicas".to_owned()],
            })
        );
    }

    #[test]
    fn list_map_entries_merge_by_key() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(
                &json!({"steps": [{"name": "build", "image": "b:1"}, {"name": "test", "image": "t:1"}]}),
            ),
            "a",
            &schema,
        ));
        // Another manager adds a step and sets args on `build`.
        let object = must_apply(&request(
            Some(&live),
            &widget(
                &json!({"steps": [{"name": "deploy", "image": "d:1"}, {"name": "build", "args": ["-v"]}]}),
            ),
            "b",
            &schema,
        ));
        assert_eq!(
            object["spec"]["steps"],
            json!([
                {"name": "build", "image": "b:1", "args": ["-v"]},
                {"name": "test", "image": "t:1"},
                {"name": "deploy", "image": "d:1"}
            ])
        );
        // `a` drops `test`: only that entry goes.
        let object = must_apply(&request(
            Some(&object),
            &widget(&json!({"steps": [{"name": "build", "image": "b:1"}]})),
            "a",
            &schema,
        ));
        assert_eq!(
            object["spec"]["steps"],
            json!([
                {"name": "build", "image": "b:1", "args": ["-v"]},
                {"name": "deploy", "image": "d:1"}
            ])
        );
    }

    #[test]
    fn status_conditions_merge_by_type() {
        let schema = schema();
        let mut live = widget(&json!({"replicas": 1}));
        live["status"] = json!({"conditions": [{"type": "Ready", "status": "False"}]});
        record_update(
            None,
            &mut live,
            "creator",
            "Update",
            T0,
            Some(&schema),
            None,
        );
        let mut applied = widget(&json!({}));
        applied["status"] = json!({"conditions": [{"type": "Synced", "status": "True"}]});
        let mut req = request(Some(&live), &applied, "op", &schema);
        req.subresource = Some("status");
        let object = must_apply(&req);
        assert_eq!(
            object["status"]["conditions"],
            json!([{"type": "Ready", "status": "False"}, {"type": "Synced", "status": "True"}])
        );
    }

    #[test]
    fn atomic_list_is_replaced_whole() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"tags": ["a", "b"]})),
            "op",
            &schema,
        ));
        let object = must_apply(&request(
            Some(&live),
            &widget(&json!({"tags": ["c"]})),
            "op",
            &schema,
        ));
        assert_eq!(object["spec"]["tags"], json!(["c"]));
        assert_eq!(
            owned(&object, "op", "Apply"),
            Some(json!({"f:spec": {"f:tags": {}}}))
        );
        // Another manager changing an atomic list conflicts on the whole list.
        let err = apply(&request(
            Some(&object),
            &widget(&json!({"tags": ["c", "d"]})),
            "other",
            &schema,
        ));
        assert_eq!(
            err,
            Err(PatchError::Conflict {
                manager: "op".to_owned(),
                fields: vec![".spec.tags".to_owned()]
            })
        );
    }

    #[test]
    fn lists_are_atomic_without_a_schema() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "c", "labels": {"a": "1"}},
                          "data": {"x": "1"}, "list": [1, 2]});
        let applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "c", "labels": {"b": "2"}},
                             "data": {"y": "2"}, "list": [3]});
        let req = ApplyRequest {
            live: Some(&live),
            applied: &applied,
            manager: "m",
            force: false,
            schema: None,
            now: T0,
            subresource: None,
        };
        let object = must_apply(&req);
        assert_eq!(object["metadata"]["labels"], json!({"a": "1", "b": "2"}));
        assert_eq!(object["data"], json!({"x": "1", "y": "2"}));
        assert_eq!(object["list"], json!([3]));
        assert_eq!(
            owned(&object, "m", "Apply"),
            Some(
                json!({"f:data": {"f:y": {}}, "f:list": {}, "f:metadata": {"f:labels": {"f:b": {}}}})
            )
        );
    }

    #[test]
    fn labels_are_granular_and_finalizers_a_set() {
        let schema = schema();
        let mut applied = widget(&json!({}));
        applied["metadata"]["labels"] = json!({"app": "w"});
        applied["metadata"]["finalizers"] = json!(["example.io/a"]);
        let live = must_apply(&request(None, &applied, "a", &schema));
        let mut applied = widget(&json!({}));
        applied["metadata"]["labels"] = json!({"tier": "web"});
        applied["metadata"]["finalizers"] = json!(["example.io/b"]);
        let object = must_apply(&request(Some(&live), &applied, "b", &schema));
        assert_eq!(
            object["metadata"]["labels"],
            json!({"app": "w", "tier": "web"})
        );
        assert_eq!(
            object["metadata"]["finalizers"],
            json!(["example.io/a", "example.io/b"])
        );
        assert_eq!(
            owned(&object, "b", "Apply"),
            Some(json!({"f:metadata": {
                "f:finalizers": {"v:\"example.io/b\"": {}},
                "f:labels": {"f:tier": {}}
            }}))
        );
        // `a` drops its finalizer and label.
        let object = must_apply(&request(Some(&object), &widget(&json!({})), "a", &schema));
        assert_eq!(object["metadata"]["labels"], json!({"tier": "web"}));
        assert_eq!(object["metadata"]["finalizers"], json!(["example.io/b"]));
    }

    #[test]
    fn status_subresource_apply_keeps_spec() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2})),
            "op",
            &schema,
        ));
        let mut applied = widget(&json!({"replicas": 99}));
        applied["status"] = json!({"phase": "Ready"});
        let mut req = request(Some(&live), &applied, "op", &schema);
        req.subresource = Some("status");
        req.now = T1;
        let object = must_apply(&req);
        assert_eq!(object["spec"], json!({"replicas": 2}));
        assert_eq!(object["status"], json!({"phase": "Ready"}));
        let entries = object["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(entries.len(), 2);
        let status_entry = entries
            .iter()
            .find(|e| e["subresource"] == "status")
            .cloned()
            .unwrap_or_default();
        assert_eq!(status_entry["manager"], "op");
        assert_eq!(
            status_entry["fieldsV1"],
            json!({"f:status": {"f:phase": {}}})
        );
        assert_eq!(status_entry["time"], T1);
        let main_entry = entries
            .iter()
            .find(|e| e.get("subresource").is_none())
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            main_entry["fieldsV1"],
            json!({"f:spec": {"f:replicas": {}}})
        );
        assert_eq!(main_entry["time"], T0);
        // Re-applying the main resource without status leaves the status entry alone.
        let object = must_apply(&request(
            Some(&object),
            &widget(&json!({"replicas": 2})),
            "op",
            &schema,
        ));
        assert_eq!(object["status"], json!({"phase": "Ready"}));
    }

    #[test]
    fn main_apply_can_ignore_status() {
        let schema = schema();
        let mut live = widget(&json!({"replicas": 1}));
        live["status"] = json!({"phase": "Old"});
        let mut applied = widget(&json!({"replicas": 2}));
        applied["status"] = json!({"phase": "New"});
        let object = must_apply(&request(Some(&live), &applied, "op", &schema));
        assert_eq!(object["status"]["phase"], "New");
        let object = match apply_ignoring_status(&request(Some(&live), &applied, "op", &schema)) {
            Ok(object) => object,
            Err(e) => panic!("apply failed: {e}"),
        };
        assert_eq!(object["spec"]["replicas"], 2);
        assert_eq!(object["status"]["phase"], "Old");
        assert_eq!(
            owned(&object, "op", "Apply"),
            Some(json!({"f:spec": {"f:replicas": {}}}))
        );
    }

    #[test]
    fn operator_flow_create_status_apply_and_forced_spec_apply() {
        let schema = schema();
        // `kubectl create` of the object.
        let mut live = widget(&json!({"replicas": 1, "image": "a"}));
        record_update(
            None,
            &mut live,
            "kubectl-create",
            "Update",
            T0,
            Some(&schema),
            None,
        );
        // The operator applies its status (kube-rs `patch_status` with `PatchParams::apply(..).force()`).
        let status = json!({"apiVersion": "example.io/v1", "kind": "Widget",
            "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}});
        let mut req = request(Some(&live), &status, "operator", &schema);
        req.subresource = Some("status");
        req.force = true;
        let live = must_apply(&req);
        assert_eq!(live["spec"], json!({"replicas": 1, "image": "a"}));
        // A second status apply changes a condition it owns: no conflict, no force needed.
        let status = json!({"apiVersion": "example.io/v1", "kind": "Widget",
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "reason": "Up"}]}});
        let mut req = request(Some(&live), &status, "operator", &schema);
        req.subresource = Some("status");
        req.now = T1;
        let live = must_apply(&req);
        assert_eq!(
            live["status"],
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "reason": "Up"}]})
        );
        // The operator forces spec.replicas away from kubectl-create.
        let spec = widget(&json!({"replicas": 3}));
        let mut req = request(Some(&live), &spec, "operator", &schema);
        req.force = true;
        let live = must_apply(&req);
        assert_eq!(live["spec"], json!({"replicas": 3, "image": "a"}));
        assert_eq!(
            owned(&live, "kubectl-create", "Update"),
            Some(json!({"f:spec": {".": {}, "f:image": {}}}))
        );
        let entries = live["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let summary: Vec<(String, String, String)> = entries
            .iter()
            .map(|e| {
                (
                    e["manager"].as_str().unwrap_or_default().to_owned(),
                    e["operation"].as_str().unwrap_or_default().to_owned(),
                    e["subresource"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                // Sorted by operation, then time: the main entry (T0) before the status one (T1).
                ("operator".into(), "Apply".into(), String::new()),
                ("operator".into(), "Apply".into(), "status".into()),
                ("kubectl-create".into(), "Update".into(), String::new()),
            ]
        );
    }

    #[test]
    fn unchanged_reapply_keeps_the_time() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2})),
            "op",
            &schema,
        ));
        let mut req = request(Some(&live), &Value::Null, "op", &schema);
        let applied = widget(&json!({"replicas": 2}));
        req.applied = &applied;
        req.now = T1;
        let object = must_apply(&req);
        assert_eq!(object, live);
    }

    #[test]
    fn keyless_list_entry_is_malformed() {
        let schema = schema();
        let err = apply(&request(
            None,
            &widget(&json!({"steps": [{"image": "x"}]})),
            "op",
            &schema,
        ));
        assert!(
            matches!(&err, Err(PatchError::Malformed(m)) if m.contains(".spec.steps: element 0") && m.contains("\"name\"")),
            "{err:?}"
        );
    }

    #[test]
    fn null_in_configuration_sets_nothing() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2, "image": "x"})),
            "op",
            &schema,
        ));
        let object = must_apply(&request(
            Some(&live),
            &widget(&json!({"replicas": 2, "image": null})),
            "op",
            &schema,
        ));
        assert_eq!(object["spec"], json!({"replicas": 2}));
    }

    #[test]
    fn update_moves_changed_fields_to_the_updater() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2, "image": "x", "steps": [{"name": "a", "image": "1"}]})),
            "op",
            &schema,
        ));
        let mut after = super::super::merge_patch(
            &live,
            &json!({"spec": {"replicas": 5, "image": null, "paused": true}, "metadata": {"labels": {"l": "v"}}}),
        );
        record_update(
            Some(&live),
            &mut after,
            "kubectl-edit",
            "Update",
            T1,
            Some(&schema),
            None,
        );
        assert_eq!(
            owned(&after, "op", "Apply"),
            Some(
                json!({"f:spec": {"f:steps": {"k:{\"name\":\"a\"}": {".": {}, "f:image": {}, "f:name": {}}}}})
            )
        );
        assert_eq!(
            owned(&after, "kubectl-edit", "Update"),
            Some(json!({
                "f:metadata": {"f:labels": {".": {}, "f:l": {}}},
                "f:spec": {"f:paused": {}, "f:replicas": {}}
            }))
        );
        let update = after["metadata"]["managedFields"]
            .as_array()
            .and_then(|entries| entries.iter().find(|e| e["operation"] == "Update").cloned())
            .unwrap_or_default();
        assert_eq!(update["time"], T1);
        assert_eq!(update["apiVersion"], "example.io/v1");
        // The applier now conflicts on replicas but may still drop image, which nobody owns.
        let err = apply(&request(
            Some(&after),
            &widget(&json!({"replicas": 2})),
            "op",
            &schema,
        ));
        assert!(matches!(err, Err(PatchError::Conflict { manager, fields })
            if manager == "kubectl-edit" && fields == [".spec.replicas"]));
    }

    #[test]
    fn update_without_changes_adds_no_entry() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2})),
            "op",
            &schema,
        ));
        let mut after = live.clone();
        after["metadata"]["resourceVersion"] = json!("8");
        record_update(
            Some(&live),
            &mut after,
            "noop",
            "Update",
            T1,
            Some(&schema),
            None,
        );
        assert_eq!(
            after["metadata"]["managedFields"],
            live["metadata"]["managedFields"]
        );
    }

    #[test]
    fn update_uses_the_live_entries_when_the_body_has_none() {
        let schema = schema();
        let live = must_apply(&request(
            None,
            &widget(&json!({"replicas": 2})),
            "op",
            &schema,
        ));
        let mut after = widget(&json!({"replicas": 2, "image": "i"}));
        record_update(
            Some(&live),
            &mut after,
            "put",
            "Update",
            T1,
            Some(&schema),
            Some("status"),
        );
        assert_eq!(
            owned(&after, "op", "Apply"),
            Some(json!({"f:spec": {"f:replicas": {}}}))
        );
        assert_eq!(
            owned(&after, "put", "Update"),
            Some(json!({"f:spec": {"f:image": {}}}))
        );
        let update = after["metadata"]["managedFields"]
            .as_array()
            .and_then(|entries| entries.iter().find(|e| e["manager"] == "put").cloned())
            .unwrap_or_default();
        assert_eq!(update["subresource"], "status");
        // `[{}]` clears the managed fields.
        let mut cleared = after.clone();
        cleared["metadata"]["managedFields"] = json!([{}]);
        record_update(
            Some(&after),
            &mut cleared,
            "put",
            "Update",
            T1,
            Some(&schema),
            None,
        );
        assert!(cleared["metadata"].get("managedFields").is_none());
    }
}
