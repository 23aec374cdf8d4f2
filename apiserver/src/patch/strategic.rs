//! Strategic merge patches, for the built-in kinds (kubectl sends them for `apply`, `edit` and
//! `patch` of built-ins; Kubernetes refuses them for custom resources). Maps merge as in a merge
//! patch; lists Kubernetes declares with a merge key (`containers` by `name`, `ownerReferences`
//! by `uid`, `conditions` by `type`, …) merge entry by entry, `finalizers` merge as a set, other
//! lists are replaced. The directives `$patch` (`replace`, `delete`, `merge`), `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are understood.

use serde_json::{Map, Value};

use super::PatchError;
use super::fields::canonical_json;

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_LIST: &str = "$deleteFromPrimitiveList/";

/// How a list field of the built-in kinds merges, by its field name.
enum ListStrategy {
    /// Entries merge by this key field.
    MergeKey(&'static str),
    /// Scalar entries merge as a set.
    Primitive,
    /// The patch replaces the list.
    Replace,
}

fn strategy(field: &str) -> ListStrategy {
    match field {
        "ownerReferences" => ListStrategy::MergeKey("uid"),
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "secrets"
        | "resourceClaims" => ListStrategy::MergeKey("name"),
        "volumeMounts" => ListStrategy::MergeKey("mountPath"),
        "volumeDevices" => ListStrategy::MergeKey("devicePath"),
        "ports" => ListStrategy::MergeKey("containerPort"),
        "conditions" => ListStrategy::MergeKey("type"),
        "hostAliases" => ListStrategy::MergeKey("ip"),
        "finalizers" => ListStrategy::Primitive,
        _ => ListStrategy::Replace,
    }
}

/// `target` with the strategic merge patch `patch` applied.
pub fn strategic_merge_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError::Malformed(
            "failed to decode the strategic merge patch: it must be a JSON object".to_owned(),
        ));
    };
    Ok(merge_map(target.as_object(), patch)?.unwrap_or_else(|| Value::Object(Map::new())))
}

/// Merges a patch map into a target map; `None` when the patch deletes the map.
fn merge_map(
    target: Option<&Map<String, Value>>,
    patch: &Map<String, Value>,
) -> Result<Option<Value>, PatchError> {
    let mut out = match patch.get(PATCH).map(|d| d.as_str()) {
        None | Some(Some("merge")) => target.cloned().unwrap_or_default(),
        Some(Some("replace")) => Map::new(),
        Some(Some("delete")) => return Ok(None),
        Some(other) => {
            return Err(PatchError::Malformed(format!(
                "unknown patch type: {}",
                other.map_or_else(|| "(not a string)".to_owned(), str::to_owned)
            )));
        }
    };
    let mut orders: Vec<(&str, &Value)> = Vec::new();
    for (key, value) in patch {
        if key == PATCH || key == RETAIN_KEYS {
            continue;
        }
        if let Some(list) = key.strip_prefix(SET_ORDER) {
            orders.push((list, value));
            continue;
        }
        if let Some(list) = key.strip_prefix(DELETE_FROM_LIST) {
            let Value::Array(doomed) = value else {
                return Err(PatchError::Malformed(format!(
                    "failed to apply the strategic merge patch: {key} must be a list"
                )));
            };
            if let Some(Value::Array(items)) = out.get_mut(list) {
                items.retain(|item| !doomed.contains(item));
            }
            continue;
        }
        match value {
            Value::Null => {
                out.remove(key);
            }
            Value::Object(child) => {
                let current = out.get(key).and_then(Value::as_object);
                match merge_map(current, child)? {
                    Some(merged) => {
                        out.insert(key.clone(), merged);
                    }
                    None => {
                        out.remove(key);
                    }
                }
            }
            Value::Array(items) => {
                let current = out.get(key).and_then(Value::as_array);
                let merged = merge_list(current, items, key)?;
                out.insert(key.clone(), Value::Array(merged));
            }
            scalar => {
                out.insert(key.clone(), scalar.clone());
            }
        }
    }
    for (list, order) in orders {
        if let (Some(Value::Array(items)), Value::Array(order)) = (out.get_mut(list), order) {
            reorder(items, order, list);
        }
    }
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let Value::Array(retain) = retain else {
            return Err(PatchError::Malformed(
                "failed to apply the strategic merge patch: $retainKeys must be a list".to_owned(),
            ));
        };
        out.retain(|key, _| retain.iter().any(|k| k.as_str() == Some(key.as_str())));
    }
    Ok(Some(Value::Object(out)))
}

fn key_of<'v>(item: &'v Value, key: &str) -> Option<&'v Value> {
    item.as_object()?.get(key).filter(|v| !v.is_null())
}

fn merge_list(
    target: Option<&Vec<Value>>,
    patch: &[Value],
    field: &str,
) -> Result<Vec<Value>, PatchError> {
    let is_replace = |item: &Value| {
        item.as_object()
            .and_then(|m| m.get(PATCH))
            .and_then(Value::as_str)
            == Some("replace")
    };
    if patch.iter().any(is_replace) {
        let rest: Vec<Value> = patch.iter().filter(|i| !is_replace(i)).cloned().collect();
        return merge_list(None, &rest, field);
    }
    match strategy(field) {
        ListStrategy::Replace => patch.iter().map(fresh).collect(),
        ListStrategy::Primitive => {
            let mut out = target.cloned().unwrap_or_default();
            for item in patch {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Ok(out)
        }
        ListStrategy::MergeKey(key) => {
            let keyed = |items: &[Value]| items.iter().all(|i| key_of(i, key).is_some());
            if !keyed(patch) || target.is_some_and(|t| !keyed(t)) {
                return patch.iter().map(fresh).collect();
            }
            let mut out = target.cloned().unwrap_or_default();
            for item in patch {
                let wanted = key_of(item, key);
                let position = out.iter().position(|t| key_of(t, key) == wanted);
                let patch_map = item.as_object();
                match (position, patch_map) {
                    (Some(i), Some(patch_map)) => match merge_map(out[i].as_object(), patch_map)? {
                        Some(merged) => out[i] = merged,
                        None => {
                            out.remove(i);
                        }
                    },
                    (None, Some(patch_map)) => {
                        if let Some(new) = merge_map(None, patch_map)? {
                            out.push(new);
                        }
                    }
                    (_, None) => out.push(item.clone()),
                }
            }
            Ok(out)
        }
    }
}

/// A patch value with no target: directives resolved, `null`s dropped.
fn fresh(value: &Value) -> Result<Value, PatchError> {
    match value {
        Value::Object(map) => {
            Ok(merge_map(None, map)?.unwrap_or_else(|| Value::Object(Map::new())))
        }
        other => Ok(other.clone()),
    }
}

/// Puts the entries named in `order` first, in that order; the others follow as they were.
fn reorder(items: &mut Vec<Value>, order: &[Value], field: &str) {
    let identity = |item: &Value| -> String {
        match strategy(field) {
            ListStrategy::MergeKey(key) => {
                key_of(item, key).map_or_else(String::new, canonical_json)
            }
            _ => canonical_json(item),
        }
    };
    let wanted: Vec<String> = order.iter().map(&identity).collect();
    let mut rest = std::mem::take(items);
    for id in &wanted {
        if let Some(i) = rest.iter().position(|item| identity(item) == *id) {
            items.push(rest.remove(i));
        }
    }
    items.append(&mut rest);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn patched(target: &Value, patch: &Value) -> Value {
        match strategic_merge_patch(target, patch) {
            Ok(value) => value,
            Err(e) => panic!("patch failed: {e}"),
        }
    }

    #[test]
    fn maps_merge_and_null_deletes() {
        let target = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}});
        let patch = json!({"metadata": {"labels": {"a": null, "c": "3"}}, "data": {"y": "2"}});
        assert_eq!(
            patched(&target, &patch),
            json!({"metadata": {"labels": {"b": "2", "c": "3"}}, "data": {"x": "1", "y": "2"}})
        );
    }

    #[test]
    fn keyed_lists_merge_and_delete_entries() {
        let target = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}]},
            {"name": "side", "image": "s:1"}
        ]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "a:2", "env": [{"name": "B", "value": "2"}]},
            {"name": "side", "$patch": "delete"},
            {"name": "new", "image": "n:1"}
        ]}}}});
        assert_eq!(
            patched(&target, &patch)["spec"]["template"]["spec"]["containers"],
            json!([
                {"name": "app", "image": "a:2", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                {"name": "new", "image": "n:1"}
            ])
        );
    }

    #[test]
    fn other_lists_are_replaced_and_finalizers_merge() {
        let target = json!({"metadata": {"finalizers": ["a"]}, "rules": [{"verbs": ["get"]}]});
        let patch = json!({"metadata": {"finalizers": ["b", "a"]}, "rules": [{"verbs": ["list"]}]});
        assert_eq!(
            patched(&target, &patch),
            json!({"metadata": {"finalizers": ["a", "b"]}, "rules": [{"verbs": ["list"]}]})
        );
    }

    #[test]
    fn directives() {
        let target = json!({
            "metadata": {"finalizers": ["a", "b", "c"]},
            "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
            "data": {"x": "1", "y": "2"},
            "subjects": [{"name": "u"}]
        });
        let patch = json!({
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]},
            "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}},
            "data": {"$patch": "replace", "z": "3"},
            "subjects": [{"$patch": "replace"}, {"name": "v"}]
        });
        assert_eq!(
            patched(&target, &patch),
            json!({
                "metadata": {"finalizers": ["a", "c"]},
                "spec": {"strategy": {"type": "Recreate"}},
                "data": {"z": "3"},
                "subjects": [{"name": "v"}]
            })
        );
        let deleted = patched(&target, &json!({"spec": {"$patch": "delete"}}));
        assert!(deleted.get("spec").is_none());
    }

    #[test]
    fn set_element_order_reorders() {
        let target = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
            "containers": [{"name": "c"}]
        }});
        assert_eq!(
            patched(&target, &patch)["spec"]["containers"],
            json!([{"name": "c"}, {"name": "b"}, {"name": "a"}])
        );
    }

    #[test]
    fn malformed_patches() {
        assert!(matches!(
            strategic_merge_patch(&json!({}), &json!([1])),
            Err(PatchError::Malformed(_))
        ));
        assert_eq!(
            strategic_merge_patch(&json!({}), &json!({"spec": {"$patch": "explode"}})),
            Err(PatchError::Malformed(
                "unknown patch type: explode".to_owned()
            ))
        );
    }
}
