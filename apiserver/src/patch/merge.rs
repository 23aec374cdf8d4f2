//! JSON merge patches (RFC 7386): objects merge key by key, `null` deletes, anything else
//! replaces — `json_patch::merge`, checked here against the cases Kubernetes relies on.

use serde_json::Value;

/// `target` with the merge patch `patch` applied (RFC 7386, as Kubernetes applies
/// `application/merge-patch+json`), by `json_patch::merge`.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let mut out = target.clone();
    json_patch::merge(&mut out, patch);
    out
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
