//! JSON merge patches (RFC 7386): objects merge key by key, `null` deletes, anything else
//! replaces.

use serde_json::{Map, Value};

/// `target` with the merge patch `patch` applied (RFC 7386).
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    for (key, value) in patch {
        if value.is_null() {
            out.remove(key);
        } else {
            let merged = merge_patch(out.get(key).unwrap_or(&Value::Null), value);
            out.insert(key.clone(), merged);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn null_deletes_and_objects_merge() {
        let target = json!({
            "metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"replicas": 1, "tags": ["x", "y"]}
        });
        let patch = json!({
            "metadata": {"labels": {"a": null, "c": "3"}},
            "spec": {"tags": ["z"], "new": {"keep": 1, "drop": null}}
        });
        assert_eq!(
            merge_patch(&target, &patch),
            json!({
                "metadata": {"labels": {"b": "2", "c": "3"}},
                "spec": {"replicas": 1, "tags": ["z"], "new": {"keep": 1}}
            })
        );
    }

    #[test]
    fn rfc_7386_examples() {
        // From RFC 7386, appendix A.
        assert_eq!(
            merge_patch(&json!({"a": "b"}), &json!({"a": "c"})),
            json!({"a": "c"})
        );
        assert_eq!(
            merge_patch(&json!({"a": "b"}), &json!({"b": "c"})),
            json!({"a": "b", "b": "c"})
        );
        assert_eq!(
            merge_patch(&json!({"a": "b"}), &json!({"a": null})),
            json!({})
        );
        assert_eq!(
            merge_patch(&json!({"a": [{"b": "c"}]}), &json!({"a": [1]})),
            json!({"a": [1]})
        );
        assert_eq!(
            merge_patch(&json!(["a", "b"]), &json!(["c", "d"])),
            json!(["c", "d"])
        );
        assert_eq!(
            merge_patch(&json!({"a": "foo"}), &json!("bar")),
            json!("bar")
        );
        assert_eq!(
            merge_patch(&json!({"e": null}), &json!({"a": 1})),
            json!({"e": null, "a": 1})
        );
        assert_eq!(
            merge_patch(&json!([1, 2]), &json!({"a": "b", "c": null})),
            json!({"a": "b"})
        );
        assert_eq!(
            merge_patch(&json!({}), &json!({"a": {"bb": {"ccc": null}}})),
            json!({"a": {"bb": {}}})
        );
    }
}
