//! `metadata.managedFields`: reading and writing the entries that record which manager owns
//! which fields, in Kubernetes' format and order.

use serde_json::{Map, Value, json};

use super::fields::FieldSet;

/// One entry of `metadata.managedFields`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedEntry {
    /// The field manager (`kubectl`, `kubectl-client-side-apply`, an operator's name…).
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The API version the fields were written through.
    pub api_version: String,
    /// When the manager last changed the object (RFC 3339).
    pub time: Option<String>,
    /// The subresource written (`status`), if any.
    pub subresource: Option<String>,
    /// The fields owned.
    pub fields: FieldSet,
}

impl ManagedEntry {
    /// Whether this entry is the one of `manager` for `operation` on `subresource`; `Update`
    /// entries are also distinguished by API version, as in Kubernetes.
    pub fn is(
        &self,
        manager: &str,
        operation: &str,
        subresource: Option<&str>,
        api_version: &str,
    ) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
            && (operation == "Apply" || self.api_version == api_version)
    }

    /// Reads an entry; `None` when it is not a `FieldsV1` entry or does not decode.
    pub fn from_value(value: &Value) -> Option<Self> {
        let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        if text("fieldsType").is_some_and(|t| t != "FieldsV1") {
            return None;
        }
        let fields = match value.get("fieldsV1") {
            Some(document) => FieldSet::from_fields_v1(document).ok()?,
            None => FieldSet::new(),
        };
        Some(Self {
            manager: text("manager").unwrap_or_default(),
            operation: text("operation")?,
            api_version: text("apiVersion").unwrap_or_default(),
            time: text("time"),
            subresource: text("subresource").filter(|s| !s.is_empty()),
            fields,
        })
    }

    /// The entry as JSON.
    pub fn to_value(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("manager".into(), json!(self.manager));
        entry.insert("operation".into(), json!(self.operation));
        entry.insert("apiVersion".into(), json!(self.api_version));
        if let Some(time) = &self.time {
            entry.insert("time".into(), json!(time));
        }
        entry.insert("fieldsType".into(), json!("FieldsV1"));
        entry.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(subresource) = &self.subresource {
            entry.insert("subresource".into(), json!(subresource));
        }
        Value::Object(entry)
    }
}

/// The entries of an object's `metadata.managedFields` that decode (others are dropped, as
/// Kubernetes resets undecodable managed fields).
pub fn read(object: &Value) -> Vec<ManagedEntry> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(ManagedEntry::from_value)
                .collect()
        })
        .unwrap_or_default()
}

fn seconds(time: Option<&str>) -> i64 {
    time.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp())
}

/// Writes `entries` into `object`'s `metadata.managedFields`, without the empty ones and in
/// Kubernetes' order (operation, time, manager, API version, subresource); removes the field
/// when nothing is left.
pub fn write(object: &mut Value, mut entries: Vec<ManagedEntry>) {
    entries.retain(|entry| !entry.fields.is_empty());
    entries.sort_by(|p, q| {
        p.operation
            .cmp(&q.operation)
            .then_with(|| seconds(p.time.as_deref()).cmp(&seconds(q.time.as_deref())))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
    let Some(map) = object.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
            metadata.remove("managedFields");
        }
        return;
    }
    let metadata = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Value::Object(metadata) = metadata {
        metadata.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(ManagedEntry::to_value).collect()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::fields::PathElement;

    fn entry(manager: &str, operation: &str, time: &str) -> ManagedEntry {
        let mut fields = FieldSet::new();
        fields.insert(vec![
            PathElement::field("spec"),
            PathElement::field(manager),
        ]);
        ManagedEntry {
            manager: manager.to_owned(),
            operation: operation.to_owned(),
            api_version: "v1".to_owned(),
            time: Some(time.to_owned()),
            subresource: None,
            fields,
        }
    }

    #[test]
    fn round_trips_entries() {
        let value = json!({
            "manager": "op", "operation": "Apply", "apiVersion": "g/v1",
            "time": "2024-01-01T00:00:00Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:status": {"f:phase": {}}}, "subresource": "status"
        });
        let entry = ManagedEntry::from_value(&value).expect("a valid entry");
        assert_eq!(entry.subresource.as_deref(), Some("status"));
        assert!(entry.is("op", "Apply", Some("status"), "other/v2"));
        assert!(!entry.is("op", "Apply", None, "g/v1"));
        assert_eq!(entry.to_value(), value);
        assert_eq!(
            ManagedEntry::from_value(&json!({"operation": "Update", "fieldsType": "FieldsV2"})),
            None
        );
    }

    #[test]
    fn writes_sorted_and_drops_empty_entries() {
        let mut object = json!({"metadata": {"name": "x"}});
        let mut empty = entry("e", "Update", "2024-01-01T00:00:00Z");
        empty.fields = FieldSet::new();
        write(
            &mut object,
            vec![
                entry("b", "Update", "2024-01-02T00:00:00Z"),
                entry("a", "Update", "2024-01-03T00:00:00Z"),
                entry("z", "Apply", "2024-01-04T00:00:00Z"),
                empty,
            ],
        );
        let managers: Vec<&str> = object["metadata"]["managedFields"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|e| e["manager"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(managers, ["z", "b", "a"]);
        assert_eq!(read(&object).len(), 3);
        write(&mut object, Vec::new());
        assert_eq!(object, json!({"metadata": {"name": "x"}}));
    }
}
