//! JSON patches (RFC 6902, with the `test` operation), through the `json-patch` crate.

use serde_json::Value;

use super::PatchError;

/// `target` with the JSON patch `patch` applied. A body that is not an array of valid
/// operations is [`PatchError::Malformed`]; an operation that does not apply (a failed `test`, a
/// missing path) is [`PatchError::TestFailed`], and nothing is changed.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    if !patch.is_array() {
        return Err(PatchError::Malformed(
            "failed to decode the JSON patch: a JSON patch must be an array of operations"
                .to_owned(),
        ));
    }
    let operations: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| PatchError::Malformed(format!("failed to decode the JSON patch: {e}")))?;
    let mut document = target.clone();
    for operation in operations.0 {
        // As in Kubernetes (evanphx/json-patch), testing a missing path against `null` passes:
        // kube-rs adds the first finalizer with exactly that test.
        if let json_patch::PatchOperation::Test(test) = &operation
            && test.value.is_null()
            && document.pointer(test.path.as_str()).is_none()
        {
            continue;
        }
        json_patch::patch(&mut document, &[operation])
            .map_err(|e| PatchError::TestFailed(format!("the JSON patch does not apply: {e}")))?;
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn target() -> Value {
        json!({"spec": {"replicas": 1, "tags": ["a", "b"]}})
    }

    #[test]
    fn applies_operations_in_order() {
        let patch = json!([
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/spec/tags/-", "value": "c"},
            {"op": "remove", "path": "/spec/tags/0"},
            {"op": "copy", "from": "/spec/replicas", "path": "/spec/copy"},
            {"op": "move", "from": "/spec/copy", "path": "/spec/moved"}
        ]);
        assert_eq!(
            json_patch(&target(), &patch),
            Ok(json!({"spec": {"replicas": 3, "tags": ["b", "c"], "moved": 3}}))
        );
    }

    #[test]
    fn testing_a_missing_path_against_null_passes_as_in_kubernetes() {
        let patch = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["govcloud.io/x"]}
        ]);
        let object = json!({"metadata": {"name": "a"}});
        assert_eq!(
            json_patch(&object, &patch),
            Ok(json!({"metadata": {"name": "a", "finalizers": ["govcloud.io/x"]}}))
        );
        let present = json!({"metadata": {"name": "a", "finalizers": ["other"]}});
        assert!(matches!(
            json_patch(&present, &patch),
            Err(PatchError::TestFailed(_))
        ));
    }

    #[test]
    fn failing_test_operation_is_test_failed() {
        let patch = json!([
            {"op": "replace", "path": "/spec/replicas", "value": 5},
            {"op": "test", "path": "/spec/replicas", "value": 1}
        ]);
        let Err(PatchError::TestFailed(message)) = json_patch(&target(), &patch) else {
            panic!("the test operation must fail");
        };
        assert!(message.contains("/spec/replicas"), "{message}");
        assert!(message.contains("value did not match"), "{message}");
    }

    #[test]
    fn missing_path_does_not_apply() {
        let patch = json!([{"op": "remove", "path": "/spec/nope"}]);
        assert!(matches!(
            json_patch(&target(), &patch),
            Err(PatchError::TestFailed(m)) if m.contains("/spec/nope")
        ));
    }

    #[test]
    fn malformed_patches_are_rejected() {
        for patch in [
            json!({"op": "add"}),
            json!([{"op": "explode", "path": "/spec"}]),
            json!([{"op": "add", "path": "/spec/x"}]),
            json!([{"op": "add", "path": "spec", "value": 1}]),
        ] {
            assert!(
                matches!(json_patch(&target(), &patch), Err(PatchError::Malformed(m)) if m.starts_with("failed to decode the JSON patch")),
                "{patch}"
            );
        }
    }
}
