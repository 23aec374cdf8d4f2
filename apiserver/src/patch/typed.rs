//! Schema-aware walks of objects: the set of fields an object sets, the difference between two
//! objects, the merge of an applied configuration into a live object, and removal by path.
//! The rules are those of Kubernetes' structured-merge-diff.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::fields::{FieldSet, Path, PathElement};
use super::schema::{ListType, Schema};

/// Metadata the server owns: never tracked in field sets, never taken from an applied
/// configuration. `name` and `namespace` are not tracked either (they name the object).
pub const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
];

/// The fields of an object that field sets track: without `apiVersion`, `kind`, the object's
/// name and namespace and the server-owned metadata.
pub fn tracked_view(object: &Value) -> Value {
    let mut view = object.clone();
    if let Some(map) = view.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
        if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
            metadata.remove("name");
            metadata.remove("namespace");
            for field in SERVER_METADATA {
                metadata.remove(*field);
            }
        }
    }
    view
}

/// Removes `null` values from maps, recursively (in an applied configuration a `null` sets
/// nothing).
pub fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Whether a node's own path is recorded when it appears or disappears: not the object itself
/// and not `metadata`.
fn tracked_node(path: &[PathElement]) -> bool {
    !(path.is_empty() || (path.len() == 1 && path[0] == PathElement::field("metadata")))
}

/// The entries of a non-atomic list with their path elements, or `None` when the list is
/// atomic or its entries cannot be identified (a missing key, a duplicate).
fn entries<'v>(list: &'v [Value], list_type: &ListType) -> Option<Vec<(PathElement, &'v Value)>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let element = match list_type {
            ListType::Atomic => return None,
            ListType::Set => PathElement::value_of(item),
            ListType::Map(keys) => PathElement::key_of(item, keys)?,
        };
        if !seen.insert(element.clone()) {
            return None;
        }
        out.push((element, item));
    }
    Some(out)
}

/// Why an applied configuration's list cannot be merged, if it cannot.
fn entries_error(list: &[Value], list_type: &ListType) -> Option<String> {
    let mut seen = BTreeSet::new();
    for (index, item) in list.iter().enumerate() {
        let element = match list_type {
            ListType::Atomic => return None,
            ListType::Set => PathElement::value_of(item),
            ListType::Map(keys) => {
                let Some(element) = PathElement::key_of(item, keys) else {
                    let missing: Vec<String> = keys
                        .iter()
                        .filter(|k| item.get(k.as_str()).is_none_or(Value::is_null))
                        .map(|k| format!("{k:?}"))
                        .collect();
                    return Some(format!(
                        "element {index}: associative list with keys has an element that omits key field {}",
                        if missing.is_empty() {
                            "(the element is not an object)".to_owned()
                        } else {
                            missing.join(", ")
                        }
                    ));
                };
                element
            }
        };
        if !seen.insert(element.clone()) {
            return Some(format!(
                "duplicate entries for key {}",
                element
                    .display()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
            ));
        }
    }
    None
}

struct Collector<'e> {
    set: FieldSet,
    /// When given, lists that cannot be merged are reported here (applied configurations);
    /// otherwise they are tracked as atomic (live objects).
    errors: Option<&'e mut Vec<String>>,
}

impl Collector<'_> {
    fn collect(&mut self, value: &Value, schema: Schema<'_>, declared: bool, path: &mut Path) {
        match value {
            Value::Null => {}
            Value::Object(map) if !schema.is_atomic_map() => {
                if !declared {
                    self.set.insert(path.clone());
                }
                for (key, child) in map {
                    let (child_schema, child_declared) = schema.field(key);
                    path.push(PathElement::field(key));
                    self.collect(child, child_schema, child_declared, path);
                    path.pop();
                }
            }
            Value::Array(list) => {
                let list_type = schema.list_type();
                if list_type == ListType::Atomic {
                    self.set.insert(path.clone());
                    return;
                }
                if let Some(errors) = self.errors.as_deref_mut()
                    && let Some(error) = entries_error(list, &list_type)
                {
                    errors.push(format!("{}: {error}", super::fields::display_path(path)));
                }
                let Some(entries) = entries(list, &list_type) else {
                    self.set.insert(path.clone());
                    return;
                };
                for (element, item) in entries {
                    path.push(element);
                    self.set.insert(path.clone());
                    self.collect(item, schema.items(), true, path);
                    path.pop();
                }
            }
            _ => self.set.insert(path.clone()),
        }
    }
}

/// The fields `object` (a tracked view) sets: leaves, entries of keyed and set lists, atomic
/// lists and maps, and entries of maps that are not declared fields.
pub fn field_set(object: &Value, schema: Option<&Value>) -> FieldSet {
    let mut collector = Collector {
        set: FieldSet::new(),
        errors: None,
    };
    collector.collect(object, Schema::root(schema), true, &mut Vec::new());
    collector.set
}

/// Like [`field_set`], for an applied configuration: lists whose entries cannot be told apart
/// (a missing key field, a duplicate entry) are errors, as in Kubernetes.
pub fn config_field_set(object: &Value, schema: Option<&Value>) -> Result<FieldSet, Vec<String>> {
    let mut errors = Vec::new();
    let mut collector = Collector {
        set: FieldSet::new(),
        errors: Some(&mut errors),
    };
    collector.collect(object, Schema::root(schema), true, &mut Vec::new());
    let set = collector.set;
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

/// The difference between two versions of an object.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Fields set in the new version only (with the nodes that appeared).
    pub added: FieldSet,
    /// Fields set in the old version only (with the nodes that disappeared).
    pub removed: FieldSet,
    /// Fields set in both, to different values.
    pub modified: FieldSet,
}

impl Comparison {
    /// Added or modified: the fields a writer set.
    pub fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }
}

/// Compares two tracked views of an object.
pub fn compare(old: &Value, new: &Value, schema: Option<&Value>) -> Comparison {
    let mut comparison = Comparison::default();
    compare_node(
        Some(old),
        Some(new),
        Schema::root(schema),
        &mut Vec::new(),
        &mut comparison,
    );
    comparison
}

fn subtree(value: &Value, schema: Schema<'_>, path: &mut Path, into: &mut FieldSet) {
    if tracked_node(path) {
        into.insert(path.clone());
    }
    into.extend(below(value, schema, path));
}

fn compare_node(
    old: Option<&Value>,
    new: Option<&Value>,
    schema: Schema<'_>,
    path: &mut Path,
    out: &mut Comparison,
) {
    let old = old.filter(|v| !v.is_null());
    let new = new.filter(|v| !v.is_null());
    match (old, new) {
        (None, None) => {}
        (None, Some(new)) => subtree(new, schema, path, &mut out.added),
        (Some(old), None) => subtree(old, schema, path, &mut out.removed),
        (Some(Value::Object(a)), Some(Value::Object(b))) if !schema.is_atomic_map() => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let (child, _) = schema.field(key);
                path.push(PathElement::field(key));
                compare_node(a.get(key), b.get(key), child, path, out);
                path.pop();
            }
        }
        (Some(old @ Value::Array(a)), Some(new @ Value::Array(b))) => {
            let list_type = schema.list_type();
            match (entries(a, &list_type), entries(b, &list_type)) {
                (Some(a), Some(b)) => {
                    let a: BTreeMap<PathElement, &Value> = a.into_iter().collect();
                    let b: BTreeMap<PathElement, &Value> = b.into_iter().collect();
                    let elements: BTreeSet<&PathElement> = a.keys().chain(b.keys()).collect();
                    for element in elements {
                        path.push(element.clone());
                        compare_node(
                            a.get(element).copied(),
                            b.get(element).copied(),
                            schema.items(),
                            path,
                            out,
                        );
                        path.pop();
                    }
                }
                _ => {
                    if old != new {
                        out.modified.insert(path.clone());
                    }
                }
            }
        }
        (Some(old), Some(new)) => {
            if old != new {
                out.modified.insert(path.clone());
                // A node that changes shape loses the fields below it, or gains some.
                out.removed.extend(below(old, schema, path));
                out.added.extend(below(new, schema, path));
            }
        }
    }
}

/// The fields strictly below `path` that `value`, found there, sets.
fn below(value: &Value, schema: Schema<'_>, path: &mut Path) -> FieldSet {
    let mut collector = Collector {
        set: FieldSet::new(),
        errors: None,
    };
    collector.collect(value, schema, true, path);
    collector.set.difference(&single(path))
}

fn single(path: &[PathElement]) -> FieldSet {
    let mut set = FieldSet::new();
    set.insert(path.to_vec());
    set
}

/// Merges an applied configuration (without `null`s) into a live value: maps field by field,
/// `set` and `map` lists entry by entry (live entries keep their order, new entries follow in the
/// configuration's order), everything else replaced by the configuration.
pub fn merge(live: &Value, config: &Value, schema: Schema<'_>) -> Value {
    match (live, config) {
        (Value::Object(live), Value::Object(config)) if !schema.is_atomic_map() => {
            let mut out: Map<String, Value> = live.clone();
            for (key, value) in config {
                if value.is_null() {
                    continue;
                }
                let (child, _) = schema.field(key);
                let merged = match live.get(key) {
                    Some(current) if !current.is_null() => merge(current, value, child),
                    _ => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(live), Value::Array(config)) => {
            let list_type = schema.list_type();
            let (Some(live_entries), Some(config_entries)) =
                (entries(live, &list_type), entries(config, &list_type))
            else {
                return Value::Array(config.clone());
            };
            let from_config: BTreeMap<&PathElement, &Value> =
                config_entries.iter().map(|(e, v)| (e, *v)).collect();
            let in_live: BTreeSet<&PathElement> = live_entries.iter().map(|(e, _)| e).collect();
            let mut out = Vec::with_capacity(live.len().max(config.len()));
            for (element, item) in &live_entries {
                match from_config.get(element) {
                    Some(applied) => out.push(merge(item, applied, schema.items())),
                    None => out.push((*item).clone()),
                }
            }
            for (element, item) in &config_entries {
                if !in_live.contains(element) {
                    out.push((*item).clone());
                }
            }
            Value::Array(out)
        }
        _ => config.clone(),
    }
}

fn navigate_mut<'v>(value: &'v mut Value, path: &[PathElement]) -> Option<&'v mut Value> {
    let mut node = value;
    for element in path {
        node = match element {
            PathElement::Field(name) => node.as_object_mut()?.get_mut(name)?,
            PathElement::Index(index) => node.as_array_mut()?.get_mut(*index)?,
            PathElement::Key(_) | PathElement::Value(_) => node
                .as_array_mut()?
                .iter_mut()
                .find(|item| element.matches_item(item))?,
        };
    }
    Some(node)
}

/// The value at `path`, if any.
pub fn get<'v>(value: &'v Value, path: &[PathElement]) -> Option<&'v Value> {
    let mut node = value;
    for element in path {
        node = match element {
            PathElement::Field(name) => node.as_object()?.get(name)?,
            PathElement::Index(index) => node.as_array()?.get(*index)?,
            PathElement::Key(_) | PathElement::Value(_) => node
                .as_array()?
                .iter()
                .find(|item| element.matches_item(item))?,
        };
    }
    Some(node)
}

/// Removes the value at `path`; whether there was one.
pub fn remove(value: &mut Value, path: &[PathElement]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let Some(parent) = navigate_mut(value, parent) else {
        return false;
    };
    match (parent, last) {
        (Value::Object(map), PathElement::Field(name)) => map.remove(name).is_some(),
        (Value::Array(items), PathElement::Index(index)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        (Value::Array(items), element) => {
            match items.iter().position(|item| element.matches_item(item)) {
                Some(position) => {
                    items.remove(position);
                    true
                }
                None => false,
            }
        }
        _ => false,
    }
}

/// Removes the value at `path`, then the maps and lists above it that this left empty, up to
/// one that `keep` holds (or `metadata`); whether there was a value.
pub fn prune(value: &mut Value, path: &[PathElement], keep: &FieldSet) -> bool {
    if !remove(value, path) {
        return false;
    }
    for depth in (1..path.len()).rev() {
        let ancestor = &path[..depth];
        if !tracked_node(ancestor) || keep.contains(ancestor) {
            break;
        }
        let empty = match get(value, ancestor) {
            Some(Value::Object(map)) => map.is_empty(),
            Some(Value::Array(items)) => items.is_empty(),
            _ => false,
        };
        if !empty {
            break;
        }
        remove(value, ancestor);
    }
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn f(name: &str) -> PathElement {
        PathElement::field(name)
    }

    fn key(name: &str) -> PathElement {
        PathElement::key_of(&json!({ "name": name }), &["name".to_owned()])
            .expect("the item has its key")
    }

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "steps": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "properties": {
                                "name": {"type": "string"}, "image": {"type": "string"}
                            }}
                        },
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "zones": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                        "env": {"type": "object", "additionalProperties": {"type": "string"}}
                    }
                }
            }
        })
    }

    #[test]
    fn field_set_follows_the_schema() {
        let schema = schema();
        let object = json!({
            "metadata": {"labels": {"app": "x"}, "finalizers": ["a"]},
            "spec": {
                "steps": [{"name": "build", "image": "i"}],
                "tags": ["t"],
                "zones": ["z1"],
                "env": {"A": "1"},
                "replicas": 2
            }
        });
        let set = field_set(&object, Some(&schema));
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {
                    "f:finalizers": {"v:\"a\"": {}},
                    "f:labels": {"f:app": {}}
                },
                "f:spec": {
                    "f:env": {"f:A": {}},
                    "f:replicas": {},
                    "f:steps": {"k:{\"name\":\"build\"}": {".": {}, "f:image": {}, "f:name": {}}},
                    "f:tags": {},
                    "f:zones": {"v:\"z1\"": {}}
                }
            })
        );
    }

    #[test]
    fn config_with_a_keyless_entry_is_an_error() {
        let schema = schema();
        let errors = config_field_set(&json!({"spec": {"steps": [{"image": "i"}]}}), Some(&schema))
            .expect_err("the entry has no name");
        assert_eq!(
            errors,
            vec![
                ".spec.steps: element 0: associative list with keys has an element that omits key field \"name\""
                    .to_owned()
            ]
        );
        let errors = config_field_set(
            &json!({"spec": {"steps": [{"name": "a"}, {"name": "a"}]}}),
            Some(&schema),
        )
        .expect_err("duplicate entries");
        assert_eq!(
            errors,
            vec![".spec.steps: duplicate entries for key name=\"a\"".to_owned()]
        );
    }

    #[test]
    fn compare_reports_added_removed_and_modified() {
        let schema = schema();
        let old =
            json!({"spec": {"steps": [{"name": "a", "image": "1"}, {"name": "b"}], "replicas": 1}});
        let new = json!({"spec": {"steps": [{"name": "a", "image": "2"}, {"name": "c"}]}, "status": {"ready": true}});
        let comparison = compare(&old, &new, Some(&schema));
        let steps = vec![f("spec"), f("steps")];
        let mut expected_modified = FieldSet::new();
        expected_modified.insert([steps.clone(), vec![key("a"), f("image")]].concat());
        assert_eq!(comparison.modified, expected_modified);
        assert!(comparison.added.contains(&[f("status")]));
        assert!(comparison.added.contains(&[f("status"), f("ready")]));
        assert!(
            comparison
                .added
                .contains(&[steps.clone(), vec![key("c")]].concat())
        );
        assert!(
            comparison
                .added
                .contains(&[steps.clone(), vec![key("c"), f("name")]].concat())
        );
        assert!(comparison.removed.contains(&[f("spec"), f("replicas")]));
        assert!(
            comparison
                .removed
                .contains(&[steps, vec![key("b")]].concat())
        );
        assert_eq!(comparison.added.len(), 4);
        assert_eq!(comparison.removed.len(), 3);
    }

    #[test]
    fn compare_treats_atomic_lists_as_one_value() {
        let schema = schema();
        let comparison = compare(
            &json!({"spec": {"tags": ["a"]}}),
            &json!({"spec": {"tags": ["a", "b"]}}),
            Some(&schema),
        );
        let mut expected = FieldSet::new();
        expected.insert(vec![f("spec"), f("tags")]);
        assert_eq!(comparison.modified, expected);
        assert!(comparison.added.is_empty());
    }

    #[test]
    fn merge_follows_list_types() {
        let schema = schema();
        let live = json!({"spec": {
            "steps": [{"name": "a", "image": "1", "extra": true}, {"name": "b"}],
            "tags": ["x", "y"],
            "zones": ["z1"],
            "keep": 1
        }});
        let config = json!({"spec": {
            "steps": [{"name": "c"}, {"name": "a", "image": "2"}],
            "tags": ["z"],
            "zones": ["z2", "z1"]
        }});
        let merged = merge(&live, &config, Schema::root(Some(&schema)));
        assert_eq!(
            merged,
            json!({"spec": {
                "steps": [{"name": "a", "image": "2", "extra": true}, {"name": "b"}, {"name": "c"}],
                "tags": ["z"],
                "zones": ["z1", "z2"],
                "keep": 1
            }})
        );
    }

    #[test]
    fn remove_and_get_follow_paths() {
        let mut object = json!({"spec": {"steps": [{"name": "a", "image": "1"}, {"name": "b"}]},
                                "metadata": {"finalizers": ["x", "y"]}});
        let image = vec![f("spec"), f("steps"), key("a"), f("image")];
        assert_eq!(get(&object, &image), Some(&json!("1")));
        assert!(remove(&mut object, &image));
        assert!(!remove(&mut object, &image));
        assert!(remove(&mut object, &[f("spec"), f("steps"), key("b")]));
        assert!(remove(
            &mut object,
            &[
                f("metadata"),
                f("finalizers"),
                PathElement::value_of(&json!("x"))
            ]
        ));
        assert_eq!(
            object,
            json!({"spec": {"steps": [{"name": "a"}]}, "metadata": {"finalizers": ["y"]}})
        );
    }

    #[test]
    fn prune_removes_emptied_parents() {
        let mut object = json!({"metadata": {"labels": {"a": "1"}},
                                "spec": {"env": {"A": "1"}, "other": 1}});
        let nothing = FieldSet::new();
        assert!(prune(&mut object, &[f("spec"), f("env"), f("A")], &nothing));
        assert!(prune(
            &mut object,
            &[f("metadata"), f("labels"), f("a")],
            &nothing
        ));
        assert_eq!(object, json!({"metadata": {}, "spec": {"other": 1}}));
        let mut object = json!({"spec": {"env": {"A": "1"}}});
        let mut keep = FieldSet::new();
        keep.insert(vec![f("spec"), f("env")]);
        assert!(prune(&mut object, &[f("spec"), f("env"), f("A")], &keep));
        assert_eq!(object, json!({"spec": {"env": {}}}));
        assert!(!prune(&mut object, &[f("spec"), f("nope")], &keep));
    }

    #[test]
    fn tracked_view_drops_server_metadata_and_identity() {
        let view = tracked_view(&json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "n", "uid": "u", "resourceVersion": "3",
                         "managedFields": [], "labels": {"x": "y"}},
            "data": {"k": "v"}
        }));
        assert_eq!(
            view,
            json!({"metadata": {"labels": {"x": "y"}}, "data": {"k": "v"}})
        );
        let mut config = json!({"spec": {"a": null, "b": [{"c": null, "d": 1}]}});
        strip_nulls(&mut config);
        assert_eq!(config, json!({"spec": {"b": [{"d": 1}]}}));
    }
}
