//! Field paths, field sets and their `FieldsV1` encoding, the format of `metadata.managedFields`
//! (`{"f:spec":{"f:replicas":{}}}`, list-map entries as `k:{"name":"x"}`, set entries as
//! `v:"value"`, `.` for a node that is itself a member of the set).

use std::collections::BTreeSet;
use std::ops::Bound;

use serde_json::{Map, Value};

/// Why a `fieldsV1` document could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FieldsError {
    /// A key is not `.`, `f:…`, `k:…`, `v:…` or `i:…`.
    #[error("failed to decode fieldsV1: unknown path element {0:?}")]
    UnknownElement(String),
    /// A `k:` or `v:` element does not hold valid JSON.
    #[error("failed to decode fieldsV1: path element {element:?} holds invalid JSON: {reason}")]
    InvalidJson {
        /// The element as written.
        element: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A node is not a JSON object.
    #[error("failed to decode fieldsV1: the value at {0:?} is not an object")]
    NotAnObject(String),
}

/// One step of a path into an object.
///
/// The order (fields before keys before values before indices) is the one Kubernetes uses.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A field of a map: `f:name`.
    Field(String),
    /// An entry of a list of type `map`, by its keys: `k:{"name":"x"}` (the compact JSON object
    /// of the key fields, sorted by name).
    Key(String),
    /// An entry of a list of type `set`, by value: `v:"x"` (compact JSON).
    Value(String),
    /// An entry of a list by position: `i:0` (only read, never produced).
    Index(usize),
}

/// A path from the root of an object.
pub type Path = Vec<PathElement>;

/// Compact JSON with object keys sorted, so equal values encode equally.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

impl PathElement {
    /// A field element.
    pub fn field(name: &str) -> Self {
        Self::Field(name.to_owned())
    }

    /// The key element of a list-map `item` with key fields `keys`, or `None` when the item is not
    /// an object or lacks a key field.
    pub fn key_of(item: &Value, keys: &[String]) -> Option<Self> {
        let object = item.as_object()?;
        let mut key = Map::new();
        for name in keys {
            let value = object.get(name).filter(|v| !v.is_null())?;
            key.insert(name.clone(), value.clone());
        }
        Some(Self::Key(canonical_json(&Value::Object(key))))
    }

    /// The value element of a set entry.
    pub fn value_of(item: &Value) -> Self {
        Self::Value(canonical_json(item))
    }

    /// Whether `item`, an entry of a list, is the one this element names (`Field` never is;
    /// `Index` is matched by position, not here).
    pub fn matches_item(&self, item: &Value) -> bool {
        match self {
            Self::Key(key) => {
                let Ok(Value::Object(key)) = serde_json::from_str::<Value>(key) else {
                    return false;
                };
                let Some(object) = item.as_object() else {
                    return false;
                };
                key.iter()
                    .all(|(name, value)| object.get(name) == Some(value))
            }
            Self::Value(value) => canonical_json(item) == *value,
            Self::Field(_) | Self::Index(_) => false,
        }
    }

    /// The `fieldsV1` spelling: `f:name`, `k:{…}`, `v:…`, `i:0`.
    pub fn encode(&self) -> String {
        match self {
            Self::Field(name) => format!("f:{name}"),
            Self::Key(key) => format!("k:{key}"),
            Self::Value(value) => format!("v:{value}"),
            Self::Index(index) => format!("i:{index}"),
        }
    }

    /// Reads the `fieldsV1` spelling; `k:` and `v:` JSON is re-encoded canonically.
    pub fn decode(text: &str) -> Result<Self, FieldsError> {
        let json = |rest: &str| {
            serde_json::from_str::<Value>(rest).map_err(|e| FieldsError::InvalidJson {
                element: text.to_owned(),
                reason: e.to_string(),
            })
        };
        if let Some(name) = text.strip_prefix("f:") {
            Ok(Self::Field(name.to_owned()))
        } else if let Some(rest) = text.strip_prefix("k:") {
            match json(rest)? {
                key @ Value::Object(_) => Ok(Self::Key(canonical_json(&key))),
                _ => Err(FieldsError::InvalidJson {
                    element: text.to_owned(),
                    reason: "a key must be a JSON object".to_owned(),
                }),
            }
        } else if let Some(rest) = text.strip_prefix("v:") {
            Ok(Self::Value(canonical_json(&json(rest)?)))
        } else if let Some(rest) = text.strip_prefix("i:") {
            rest.parse()
                .map(Self::Index)
                .map_err(|_| FieldsError::UnknownElement(text.to_owned()))
        } else {
            Err(FieldsError::UnknownElement(text.to_owned()))
        }
    }

    /// The spelling in messages: `.name`, `[name="x"]`, `[="x"]`, `[0]`.
    pub fn display(&self) -> String {
        match self {
            Self::Field(name) => format!(".{name}"),
            Self::Key(key) => {
                let fields = match serde_json::from_str::<Value>(key) {
                    Ok(Value::Object(map)) => map
                        .iter()
                        .map(|(k, v)| format!("{k}={}", canonical_json(v)))
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => key.clone(),
                };
                format!("[{fields}]")
            }
            Self::Value(value) => format!("[={value}]"),
            Self::Index(index) => format!("[{index}]"),
        }
    }
}

/// A path as Kubernetes prints it in conflict messages: `.spec.steps[name="a"].image`.
pub fn display_path(path: &[PathElement]) -> String {
    path.iter().map(PathElement::display).collect()
}

/// A set of paths into an object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(BTreeSet<Path>);

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a path; the empty path (the whole object) is never a member.
    pub fn insert(&mut self, path: Path) {
        if !path.is_empty() {
            self.0.insert(path);
        }
    }

    /// Whether `path` is a member.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        self.0.contains(path)
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The members, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Path> {
        self.0.iter()
    }

    /// Members of either set.
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// Adds every member of `other`.
    pub fn extend(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    /// Removes every member of `other`.
    pub fn remove_all(&mut self, other: &Self) {
        self.0.retain(|path| !other.0.contains(path));
    }

    /// Members of `self` not in `other`.
    #[must_use]
    pub fn difference(&self, other: &Self) -> Self {
        Self(self.0.difference(&other.0).cloned().collect())
    }

    /// Members of both sets.
    #[must_use]
    pub fn intersection(&self, other: &Self) -> Self {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// Whether a member lies strictly below `path`.
    pub fn has_descendant(&self, path: &[PathElement]) -> bool {
        self.0
            .range::<[PathElement], _>((Bound::Excluded(path), Bound::Unbounded))
            .next()
            .is_some_and(|next| next.len() > path.len() && next.starts_with(path))
    }

    /// The `fieldsV1` document of the set.
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for path in &self.0 {
            let mut node = &mut root;
            for (depth, element) in path.iter().enumerate() {
                let entry = node
                    .entry(element.encode())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                let Value::Object(child) = entry else {
                    break;
                };
                if depth + 1 == path.len() {
                    // A member that already has children (or gets them later) shows `.`.
                    if !child.is_empty() {
                        child.insert(".".to_owned(), Value::Object(Map::new()));
                    }
                } else if child.is_empty() && self.0.contains(&path[..=depth]) {
                    child.insert(".".to_owned(), Value::Object(Map::new()));
                }
                node = child;
            }
        }
        Value::Object(root)
    }

    /// Reads a `fieldsV1` document.
    pub fn from_fields_v1(document: &Value) -> Result<Self, FieldsError> {
        let mut set = Self::new();
        let Value::Object(map) = document else {
            return Err(FieldsError::NotAnObject(String::new()));
        };
        decode_node(map, &mut Vec::new(), &mut set)?;
        Ok(set)
    }
}

fn decode_node(
    map: &Map<String, Value>,
    path: &mut Path,
    set: &mut FieldSet,
) -> Result<(), FieldsError> {
    for (key, child) in map {
        if key == "." {
            set.insert(path.clone());
            continue;
        }
        path.push(PathElement::decode(key)?);
        let Value::Object(child) = child else {
            return Err(FieldsError::NotAnObject(display_path(path)));
        };
        if child.is_empty() {
            set.insert(path.clone());
        } else {
            decode_node(child, path, set)?;
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn f(name: &str) -> PathElement {
        PathElement::field(name)
    }

    #[test]
    fn encodes_leaves_members_with_children_and_keys() {
        let mut set = FieldSet::new();
        set.insert(vec![f("spec"), f("replicas")]);
        let step = PathElement::key_of(&json!({"name": "x", "image": "i"}), &["name".to_owned()])
            .expect("the item has its key");
        set.insert(vec![f("spec"), f("steps"), step.clone()]);
        set.insert(vec![f("spec"), f("steps"), step, f("image")]);
        set.insert(vec![
            f("metadata"),
            f("finalizers"),
            PathElement::value_of(&json!("a")),
        ]);
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {"f:finalizers": {"v:\"a\"": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:steps": {"k:{\"name\":\"x\"}": {".": {}, "f:image": {}}}
                }
            })
        );
    }

    #[test]
    fn member_inserted_after_its_children_still_gets_a_dot() {
        let mut set = FieldSet::new();
        set.insert(vec![f("data"), f("a")]);
        set.insert(vec![f("data")]);
        // Sorted order puts `data` before `data.a`; both orders must give the same document.
        assert_eq!(set.to_fields_v1(), json!({"f:data": {".": {}, "f:a": {}}}));
    }

    #[test]
    fn decodes_what_it_encodes() {
        let document = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:ports": {"k:{\"protocol\":\"TCP\",\"port\":80}": {".": {}, "f:port": {}}}}
        });
        let set = FieldSet::from_fields_v1(&document).expect("valid fieldsV1");
        assert_eq!(set.len(), 4);
        assert!(set.contains(&[f("metadata"), f("labels")]));
        assert!(set.contains(&[f("metadata"), f("labels"), f("app")]));
        let key = PathElement::Key("{\"port\":80,\"protocol\":\"TCP\"}".to_owned());
        assert!(set.contains(&[f("spec"), f("ports"), key.clone()]));
        assert!(set.contains(&[f("spec"), f("ports"), key, f("port")]));
        // Keys come back sorted.
        assert_eq!(
            set.to_fields_v1()["f:spec"]["f:ports"]
                .as_object()
                .and_then(|m| m.keys().next().cloned()),
            Some("k:{\"port\":80,\"protocol\":\"TCP\"}".to_owned())
        );
    }

    #[test]
    fn rejects_bad_documents() {
        assert_eq!(
            FieldSet::from_fields_v1(&json!({"x:spec": {}})),
            Err(FieldsError::UnknownElement("x:spec".to_owned()))
        );
        assert!(matches!(
            FieldSet::from_fields_v1(&json!({"k:{bad": {}})),
            Err(FieldsError::InvalidJson { .. })
        ));
        assert_eq!(
            FieldSet::from_fields_v1(&json!({"f:spec": {"f:a": 1}})),
            Err(FieldsError::NotAnObject(".spec.a".to_owned()))
        );
    }

    #[test]
    fn displays_paths_like_kubernetes() {
        let key = PathElement::key_of(&json!({"name": "a"}), &["name".to_owned()])
            .expect("the item has its key");
        assert_eq!(
            display_path(&[f("spec"), f("steps"), key, f("image")]),
            ".spec.steps[name=\"a\"].image"
        );
        assert_eq!(
            display_path(&[
                f("metadata"),
                f("finalizers"),
                PathElement::value_of(&json!("x"))
            ]),
            ".metadata.finalizers[=\"x\"]"
        );
    }

    #[test]
    fn key_elements_match_their_items() {
        let keys = ["type".to_owned()];
        let key = PathElement::key_of(&json!({"type": "Ready", "status": "True"}), &keys)
            .expect("the item has its key");
        assert!(key.matches_item(&json!({"type": "Ready", "status": "False"})));
        assert!(!key.matches_item(&json!({"type": "Synced"})));
        assert_eq!(PathElement::key_of(&json!({"status": "True"}), &keys), None);
        assert!(PathElement::value_of(&json!("a")).matches_item(&json!("a")));
    }

    #[test]
    fn set_algebra_and_descendants() {
        let mut a = FieldSet::new();
        a.insert(vec![f("spec"), f("a")]);
        a.insert(vec![f("spec"), f("b")]);
        let mut b = FieldSet::new();
        b.insert(vec![f("spec"), f("b")]);
        b.insert(vec![f("status")]);
        assert_eq!(a.union(&b).len(), 3);
        assert_eq!(
            a.difference(&b).iter().next(),
            Some(&vec![f("spec"), f("a")])
        );
        assert_eq!(a.intersection(&b).len(), 1);
        assert!(a.has_descendant(&[f("spec")]));
        assert!(!a.has_descendant(&[f("spec"), f("a")]));
        assert!(!b.has_descendant(&[f("spec"), f("a")]));
        let mut empty_path = FieldSet::new();
        empty_path.insert(Vec::new());
        assert!(empty_path.is_empty());
    }
}
