//! What an object's OpenAPI v3 schema says about merging: which map keys are declared fields,
//! which lists are `atomic`, `set` or `map` (keyed), which maps are atomic. `metadata` always
//! follows Kubernetes' `ObjectMeta` (labels and annotations granular, finalizers a set,
//! ownerReferences keyed on `uid`), whatever the resource's schema says.

use std::sync::LazyLock;

use serde_json::{Value, json};

/// How the entries of a list are merged and tracked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListType {
    /// The list is one value, replaced whole (the default).
    Atomic,
    /// Entries are distinct scalars, merged by value.
    Set,
    /// Entries are objects, merged by the values of these key fields.
    Map(Vec<String>),
}

static OBJECT_META: LazyLock<Value> = LazyLock::new(|| {
    let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "generateName": {"type": "string"},
            "namespace": {"type": "string"},
            "labels": string_map,
            "annotations": string_map,
            "finalizers": {
                "type": "array",
                "items": {"type": "string"},
                "x-kubernetes-list-type": "set"
            },
            "ownerReferences": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                        "uid": {"type": "string"},
                        "controller": {"type": "boolean"},
                        "blockOwnerDeletion": {"type": "boolean"}
                    }
                },
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["uid"]
            }
        }
    })
});

/// A position in a schema while walking an object. `Unknown` (no schema) treats maps as
/// granular with undeclared keys and lists as atomic.
#[derive(Clone, Copy, Debug)]
pub enum Schema<'a> {
    /// The top of an object: its fields are declared even without a schema, and `metadata`
    /// follows `ObjectMeta`.
    Root(Option<&'a Value>),
    /// A schema node.
    Node(&'a Value),
    /// Nothing is known.
    Unknown,
}

impl<'a> Schema<'a> {
    /// The schema of a whole object.
    #[must_use]
    pub fn root(schema: Option<&'a Value>) -> Self {
        Self::Root(schema)
    }

    fn node(self) -> Option<&'a Value> {
        match self {
            Self::Root(node) => node,
            Self::Node(node) => Some(node),
            Self::Unknown => None,
        }
    }

    /// The schema of the value at `key` of a map, and whether `key` is a declared field (as
    /// opposed to an entry of a map with `additionalProperties`, or an unknown field).
    pub fn field(self, key: &str) -> (Schema<'a>, bool) {
        if let Self::Root(_) = self
            && key == "metadata"
        {
            return (Self::Node(&OBJECT_META), true);
        }
        let declared_by_root = matches!(self, Self::Root(_));
        let Some(node) = self.node() else {
            return (Self::Unknown, declared_by_root);
        };
        if let Some(property) = node.get("properties").and_then(|p| p.get(key)) {
            return (Self::Node(property), true);
        }
        match node.get("additionalProperties") {
            Some(additional @ Value::Object(_)) => (Self::Node(additional), declared_by_root),
            _ => (Self::Unknown, declared_by_root),
        }
    }

    /// The schema of the entries of a list.
    #[must_use]
    pub fn items(self) -> Schema<'a> {
        match self.node().and_then(|node| node.get("items")) {
            Some(items @ Value::Object(_)) => Self::Node(items),
            _ => Self::Unknown,
        }
    }

    /// The list type declared by `x-kubernetes-list-type` (atomic when absent or unusable).
    pub fn list_type(self) -> ListType {
        let Some(node) = self.node() else {
            return ListType::Atomic;
        };
        match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => {
                let keys: Vec<String> = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|keys| {
                        keys.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                if keys.is_empty() {
                    ListType::Atomic
                } else {
                    ListType::Map(keys)
                }
            }
            _ => ListType::Atomic,
        }
    }

    /// Whether the map here is replaced whole (`x-kubernetes-map-type: atomic`).
    pub fn is_atomic_map(self) -> bool {
        self.node()
            .and_then(|node| node.get("x-kubernetes-map-type"))
            .and_then(Value::as_str)
            == Some("atomic")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd_schema() -> Value {
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
                            "items": {"type": "object", "properties": {"name": {"type": "string"}}}
                        },
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "zones": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                        "selector": {"type": "object", "x-kubernetes-map-type": "atomic"},
                        "quota": {"type": "object", "additionalProperties": {"type": "string"}}
                    }
                }
            }
        })
    }

    #[test]
    fn walks_properties_items_and_additional_properties() {
        let schema = crd_schema();
        let root = Schema::root(Some(&schema));
        let (spec, declared) = root.field("spec");
        assert!(declared);
        let (steps, _) = spec.field("steps");
        assert_eq!(steps.list_type(), ListType::Map(vec!["name".to_owned()]));
        let (name, declared) = steps.items().field("name");
        assert!(declared);
        assert!(matches!(name, Schema::Node(_)));
        assert_eq!(spec.field("tags").0.list_type(), ListType::Atomic);
        assert_eq!(spec.field("zones").0.list_type(), ListType::Set);
        assert!(spec.field("selector").0.is_atomic_map());
        let (cpu, declared) = spec.field("quota").0.field("cpu");
        assert!(!declared);
        assert!(matches!(cpu, Schema::Node(_)));
        let (unknown, declared) = spec.field("nope");
        assert!(!declared);
        assert!(matches!(unknown, Schema::Unknown));
    }

    #[test]
    fn metadata_follows_object_meta_without_a_schema() {
        let root = Schema::root(None);
        let (metadata, declared) = root.field("metadata");
        assert!(declared);
        assert_eq!(metadata.field("finalizers").0.list_type(), ListType::Set);
        assert_eq!(
            metadata.field("ownerReferences").0.list_type(),
            ListType::Map(vec!["uid".to_owned()])
        );
        let (labels, _) = metadata.field("labels");
        assert!(!labels.field("app").1, "label keys are map entries");
        let (data, declared) = root.field("data");
        assert!(
            declared,
            "top-level fields are declared even without a schema"
        );
        assert!(!data.field("key").1);
        assert_eq!(data.list_type(), ListType::Atomic);
    }
}
