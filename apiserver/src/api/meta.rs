//! Server-managed metadata: uid, timestamps, generation, and the fields clients cannot set.

use serde_json::{Map, Value, json};

/// Now, as Kubernetes writes times (`2025-03-01T08:00:00Z`).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A field of `metadata` as a string, empty when absent.
pub fn meta_str<'a>(object: &'a Value, field: &str) -> &'a str {
    object
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `metadata`, created if missing.
pub fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    match object.get_mut("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => unreachable!("metadata was just made an object"),
    }
}

/// Fields of `metadata` only the server sets.
const SERVER_FIELDS: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
];

/// Copies the server-managed metadata of `from` onto `to` (or removes it from `to` when `from`
/// has none), so that clients cannot change it.
pub fn keep_server_fields(from: Option<&Value>, to: &mut Value) {
    let metadata = metadata_mut(to);
    for field in SERVER_FIELDS {
        match from
            .and_then(|f| f.get("metadata"))
            .and_then(|m| m.get(*field))
        {
            Some(value) => metadata.insert((*field).to_owned(), value.clone()),
            None => metadata.remove(*field),
        };
    }
}

/// The object without `metadata` and `status`: what `generation` counts changes of.
fn spec_part(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

/// Whether anything but metadata and status differs.
pub fn spec_changed(old: &Value, new: &Value) -> bool {
    spec_part(old) != spec_part(new)
}

/// Whether two versions of an object differ in anything a client can see, ignoring the
/// resource version and the times in `managedFields` (a write that changes nothing else is a
/// no-op and must not produce an event).
pub fn same_content(old: &Value, new: &Value) -> bool {
    let strip = |object: &Value| {
        let mut copy = object.clone();
        let metadata = metadata_mut(&mut copy);
        metadata.remove("resourceVersion");
        if let Some(Value::Array(fields)) = metadata.get_mut("managedFields") {
            for entry in fields.iter_mut() {
                if let Some(entry) = entry.as_object_mut() {
                    entry.remove("time");
                }
            }
        }
        copy
    };
    strip(old) == strip(new)
}

/// `metadata.finalizers`, empty when absent.
pub fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the object is being deleted (`deletionTimestamp` set).
pub fn is_terminating(object: &Value) -> bool {
    object
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_fields_survive_client_writes() {
        let stored = json!({"metadata": {"name": "a", "uid": "u", "generation": 3, "creationTimestamp": "t"}});
        let mut written = json!({"metadata": {"name": "a", "uid": "forged", "labels": {"x": "y"}}});
        keep_server_fields(Some(&stored), &mut written);
        assert_eq!(written["metadata"]["uid"], "u");
        assert_eq!(written["metadata"]["generation"], 3);
        assert_eq!(written["metadata"]["labels"]["x"], "y");
    }

    #[test]
    fn generation_counts_spec_changes_only() {
        let a = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"x": 1}, "status": {"y": 1}});
        let b = json!({"metadata": {"labels": {"a": "2"}}, "spec": {"x": 1}, "status": {"y": 2}});
        assert!(!spec_changed(&a, &b));
        assert!(spec_changed(&a, &json!({"spec": {"x": 2}})));
    }

    #[test]
    fn managed_field_times_alone_are_no_change() {
        let a = json!({"metadata": {"resourceVersion": "1", "managedFields": [{"manager": "m", "time": "t1"}]}});
        let b = json!({"metadata": {"resourceVersion": "2", "managedFields": [{"manager": "m", "time": "t2"}]}});
        assert!(same_content(&a, &b));
    }
}
