//! What kube-apiserver does to a custom resource with its structural schema before and beside
//! OpenAPI validation: pruning of undeclared fields, defaulting, dropping `null`s of
//! non-nullable fields, and the uniqueness rules of `x-kubernetes-list-type` `set` and `map`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::field;
use crate::error::Cause;

/// The fields of `ObjectMeta`: what survives pruning in `metadata`.
pub const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool) == Some(true)
}

fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// The schema of map values, when `additionalProperties` is a schema.
fn additional(schema: &Value) -> Option<&Value> {
    schema.get("additionalProperties").filter(|a| a.is_object())
}

/// Finds the fields `schema` does not declare, as paths (`spec.foo`, `spec.items[0].bar`,
/// `metadata.foo`), and removes them from `value` when `remove` holds. `apiVersion`, `kind` and
/// `metadata` are kept at the root and in embedded resources; subtrees marked
/// `x-kubernetes-preserve-unknown-fields` keep their undeclared fields.
pub fn prune(value: &mut Value, schema: &Value, remove: bool) -> Vec<String> {
    let mut unknown = Vec::new();
    prune_node(value, schema, "", true, remove, &mut unknown);
    unknown
}

fn prune_node(
    value: &mut Value,
    schema: &Value,
    path: &str,
    resource: bool,
    remove: bool,
    unknown: &mut Vec<String>,
) {
    match value {
        Value::Object(map) => {
            let declared = properties(schema);
            let map_values = additional(schema);
            let keep_unknown = flag(schema, "x-kubernetes-preserve-unknown-fields")
                || schema.get("additionalProperties") == Some(&Value::Bool(true));
            let embedded = resource || flag(schema, "x-kubernetes-embedded-resource");
            let mut undeclared = Vec::new();
            for (key, child) in map.iter_mut() {
                let child_path = field::child(path, key);
                if embedded && (key == "apiVersion" || key == "kind") {
                    continue;
                }
                if embedded && key == "metadata" {
                    prune_metadata(child, &child_path, remove, unknown);
                    continue;
                }
                if let Some(child_schema) = declared.and_then(|d| d.get(key)) {
                    prune_node(child, child_schema, &child_path, false, remove, unknown);
                } else if let Some(child_schema) = map_values {
                    prune_node(child, child_schema, &child_path, false, remove, unknown);
                } else if !keep_unknown {
                    unknown.push(child_path);
                    undeclared.push(key.clone());
                }
            }
            if remove {
                for key in undeclared {
                    map.remove(&key);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|i| i.is_object()) {
                for (i, item) in items.iter_mut().enumerate() {
                    let item_path = field::index(path, i);
                    prune_node(item, item_schema, &item_path, false, remove, unknown);
                }
            }
        }
        _ => {}
    }
}

fn prune_metadata(value: &mut Value, path: &str, remove: bool, unknown: &mut Vec<String>) {
    let Some(map) = value.as_object_mut() else {
        return;
    };
    let undeclared: Vec<String> = map
        .keys()
        .filter(|key| !OBJECT_META_FIELDS.contains(&key.as_str()))
        .cloned()
        .collect();
    for key in undeclared {
        unknown.push(field::child(path, &key));
        if remove {
            map.remove(&key);
        }
    }
}

/// Applies the schema's `default`s as kube-apiserver's structural defaulting does: a missing
/// field, or a `null` in a non-nullable one, takes its default (itself defaulted in turn); map
/// values and list items are defaulted through their schemas.
pub fn apply_defaults(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(declared) = properties(schema) {
                for (key, property) in declared {
                    let Some(default) = property.get("default") else {
                        continue;
                    };
                    let missing = match map.get(key) {
                        None => true,
                        Some(Value::Null) => !flag(property, "nullable"),
                        Some(_) => false,
                    };
                    if missing {
                        map.insert(key.clone(), default.clone());
                    }
                }
            }
            let declared = properties(schema);
            let map_values = additional(schema);
            for (key, child) in map.iter_mut() {
                if let Some(property) = declared.and_then(|d| d.get(key)) {
                    apply_defaults(child, property);
                } else if let Some(values) = map_values {
                    default_null(child, values);
                    apply_defaults(child, values);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|i| i.is_object()) {
                for item in items.iter_mut() {
                    default_null(item, item_schema);
                    apply_defaults(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

fn default_null(value: &mut Value, schema: &Value) {
    if value.is_null()
        && !flag(schema, "nullable")
        && let Some(default) = schema.get("default")
    {
        *value = default.clone();
    }
}

/// Removes fields that are `null` though their schema is not nullable and has no default (as
/// kube-apiserver's `PruneNonNullableNullsWithoutDefaults`): such a field counts as absent.
pub fn drop_non_nullable_nulls(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            let declared = properties(schema);
            let map_values = additional(schema);
            let schema_of = |key: &str| declared.and_then(|d| d.get(key)).or(map_values);
            map.retain(|key, child| {
                !(child.is_null()
                    && schema_of(key)
                        .is_some_and(|s| !flag(s, "nullable") && s.get("default").is_none()))
            });
            for (key, child) in map.iter_mut() {
                if let Some(child_schema) = schema_of(key) {
                    drop_non_nullable_nulls(child, child_schema);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|i| i.is_object()) {
                for item in items {
                    drop_non_nullable_nulls(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

/// The violations of `x-kubernetes-list-type: set` (duplicate items) and `map` (items missing a
/// key, items with the same keys), as `Duplicate value` / `Required value` causes.
pub fn validate_list_types(value: &Value, schema: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    list_types_node(value, schema, "", &mut causes);
    causes
}

fn list_types_node(value: &Value, schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    match value {
        Value::Object(map) => {
            let declared = properties(schema);
            let map_values = additional(schema);
            for (key, child) in map {
                if let Some(child_schema) = declared.and_then(|d| d.get(key)).or(map_values) {
                    list_types_node(child, child_schema, &field::child(path, key), causes);
                }
            }
        }
        Value::Array(items) => {
            match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("set") => {
                    for (i, item) in items.iter().enumerate() {
                        if items[..i].contains(item) {
                            causes.push(field::duplicate(
                                &field::index(path, i),
                                &field::render(item),
                            ));
                        }
                    }
                }
                Some("map") => list_map(items, schema, path, causes),
                _ => {}
            }
            if let Some(item_schema) = schema.get("items").filter(|i| i.is_object()) {
                for (i, item) in items.iter().enumerate() {
                    list_types_node(item, item_schema, &field::index(path, i), causes);
                }
            }
        }
        _ => {}
    }
}

fn list_map(items: &[Value], schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    let keys: Vec<&str> = schema
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if keys.is_empty() {
        return;
    }
    let mut seen: Vec<BTreeMap<&str, &Value>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(object) = item.as_object() else {
            continue;
        };
        let mut key_values = BTreeMap::new();
        let mut complete = true;
        for key in &keys {
            if let Some(value) = object.get(*key) {
                key_values.insert(*key, value);
            } else {
                complete = false;
                causes.push(field::required(
                    &field::child(&field::index(path, i), key),
                    "",
                ));
            }
        }
        if !complete {
            continue;
        }
        if seen.contains(&key_values) {
            causes.push(field::duplicate(
                &field::index(path, i),
                &go_map(&key_values),
            ));
        } else {
            seen.push(key_values);
        }
    }
}

/// A map of list-map keys as Go's `%#v` prints `map[string]interface{}`.
fn go_map(entries: &BTreeMap<&str, &Value>) -> String {
    let inner: Vec<String> = entries
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::Number(number) => field::number_text(number),
                other => other.to_string(),
            };
            format!("{}:{value}", field::quote(key))
        })
        .collect();
    format!("map[string]interface {{}}{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "tier": { "type": "string", "default": "Gold" },
                        "note": { "type": "string", "nullable": true },
                        "parent": { "type": "string" },
                        "limits": {
                            "type": "object",
                            "default": {},
                            "properties": { "cpu": { "type": "integer", "default": 2 } }
                        },
                        "labels": {
                            "type": "object",
                            "additionalProperties": { "type": "string" }
                        },
                        "free": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
                        "template": {
                            "type": "object",
                            "x-kubernetes-embedded-resource": true,
                            "properties": { "spec": { "type": "object", "properties": {} } }
                        },
                        "members": {
                            "type": "array",
                            "x-kubernetes-list-type": "set",
                            "items": { "type": "string" }
                        },
                        "ports": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["port", "protocol"],
                            "items": {
                                "type": "object",
                                "properties": {
                                    "port": { "type": "integer" },
                                    "protocol": { "type": "string", "default": "TCP" },
                                    "name": { "type": "string" }
                                }
                            }
                        }
                    }
                }
            }
        })
    }

    #[test]
    fn pruning_finds_and_removes_undeclared_fields() {
        let mut object = json!({
            "apiVersion": "x/v1", "kind": "X",
            "metadata": { "name": "a", "bogus": 1 },
            "spec": {
                "tier": "Gold", "levle": 1,
                "labels": { "any": "thing" },
                "free": { "anything": { "goes": true } },
                "template": { "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p" },
                              "spec": { "x": 1 } },
                "ports": [{ "port": 80, "extra": true }]
            },
            "status": { "phase": "Ready" }
        });
        let found = prune(&mut object.clone(), &schema(), false);
        assert_eq!(
            found,
            vec![
                "metadata.bogus",
                "spec.levle",
                "spec.ports[0].extra",
                "spec.template.spec.x",
                "status"
            ]
        );
        let removed = prune(&mut object, &schema(), true);
        assert_eq!(removed, found);
        assert_eq!(
            object,
            json!({
                "apiVersion": "x/v1", "kind": "X",
                "metadata": { "name": "a" },
                "spec": {
                    "tier": "Gold",
                    "labels": { "any": "thing" },
                    "free": { "anything": { "goes": true } },
                    "template": { "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p" },
                                  "spec": {} },
                    "ports": [{ "port": 80 }]
                }
            })
        );
    }

    #[test]
    fn defaults_fill_missing_and_non_nullable_null_fields() {
        let mut object = json!({ "spec": { "note": null, "ports": [{ "port": 80 }] } });
        apply_defaults(&mut object, &schema());
        assert_eq!(object["spec"]["tier"], "Gold");
        assert_eq!(object["spec"]["note"], Value::Null, "nullable keeps null");
        assert_eq!(
            object["spec"]["limits"],
            json!({ "cpu": 2 }),
            "defaults are defaulted"
        );
        assert_eq!(object["spec"]["ports"][0]["protocol"], "TCP");

        let mut null_tier = json!({ "spec": { "tier": null } });
        apply_defaults(&mut null_tier, &schema());
        assert_eq!(null_tier["spec"]["tier"], "Gold");

        let mut kept = json!({ "spec": { "tier": "Silver" } });
        apply_defaults(&mut kept, &schema());
        assert_eq!(kept["spec"]["tier"], "Silver");
    }

    #[test]
    fn nulls_of_non_nullable_fields_without_defaults_are_dropped() {
        let mut object =
            json!({ "spec": { "parent": null, "note": null, "labels": { "a": null } } });
        drop_non_nullable_nulls(&mut object, &schema());
        assert_eq!(object, json!({ "spec": { "note": null, "labels": {} } }));
    }

    #[test]
    fn list_types_refuse_duplicates() {
        let object = json!({ "spec": {
            "members": ["eth1", "eth2", "eth1"],
            "ports": [
                { "port": 80, "protocol": "TCP" },
                { "port": 80, "protocol": "UDP" },
                { "port": 80, "protocol": "TCP", "name": "again" },
                { "protocol": "TCP" }
            ]
        }});
        let causes: Vec<String> = validate_list_types(&object, &schema())
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert_eq!(
            causes,
            vec![
                "spec.members[2]: Duplicate value: \"eth1\"",
                "spec.ports[2]: Duplicate value: map[string]interface {}{\"port\":80, \"protocol\":\"TCP\"}",
                "spec.ports[3].port: Required value",
            ]
        );
    }
}
