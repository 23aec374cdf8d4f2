//! How `PATCH` bodies change an object: JSON merge patches (RFC 7386), JSON patches (RFC 6902),
//! strategic merge patches (built-in kinds), and server-side apply with `metadata.managedFields`
//! (plus [`record_update`], the field ownership of every other write). Pure functions on
//! `serde_json::Value`.

mod apply;
pub mod fields;
mod json;
pub mod managed;
mod merge;
pub mod schema;
mod strategic;
pub mod typed;

pub use apply::{apply, apply_ignoring_status, record_update};
pub use json::json_patch;
pub use merge::merge_patch;
pub use strategic::strategic_merge_patch;

use serde_json::Value;

/// The kind of a `PATCH` request, from its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatchKind {
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/apply-patch+yaml`: server-side apply.
    Apply,
    /// `application/strategic-merge-patch+json` (built-in kinds only).
    StrategicMerge,
}

impl PatchKind {
    /// The kind named by a `Content-Type` (parameters such as `charset` are ignored), or `None`
    /// for a type that is not a patch.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media_type.as_str() {
            "application/merge-patch+json" => Some(Self::Merge),
            "application/json-patch+json" => Some(Self::Json),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Some(Self::Apply),
            "application/strategic-merge-patch+json" => Some(Self::StrategicMerge),
            _ => None,
        }
    }

    /// The media type of the kind.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Merge => "application/merge-patch+json",
            Self::Json => "application/json-patch+json",
            Self::Apply => "application/apply-patch+yaml",
            Self::StrategicMerge => "application/strategic-merge-patch+json",
        }
    }

    /// Parses a patch body: JSON, or for apply patches YAML when it is not JSON.
    pub fn parse_body(self, body: &[u8]) -> Result<Value, PatchError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => Ok(value),
            Err(_) if self == Self::Apply => serde_norway::from_slice(body).map_err(|e| {
                PatchError::Malformed(format!("failed to decode the apply patch as YAML: {e}"))
            }),
            Err(e) => Err(PatchError::Malformed(format!(
                "failed to decode the patch as JSON: {e}"
            ))),
        }
    }
}

/// Why a patch could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatchError {
    /// The patch document is not valid for its kind (400).
    #[error("{0}")]
    Malformed(String),
    /// The JSON patch does not apply to the object: a `test` operation failed, or an operation's
    /// path does not exist (422, as in Kubernetes).
    #[error("{0}")]
    TestFailed(String),
    /// Server-side apply would change fields other managers own (409). `manager` names the
    /// conflicting manager (several are joined with `, `); `fields` are paths such as
    /// `.spec.replicas`.
    #[error("Apply failed with {count} conflict{plural}: conflict with \"{manager}\": {list}",
        count = fields.len(),
        plural = if fields.len() == 1 { "" } else { "s" },
        list = fields.join(", "))]
    Conflict {
        /// The other manager(s).
        manager: String,
        /// The conflicting field paths.
        fields: Vec<String>,
    },
    /// The patch kind is not supported for this resource (415), e.g. a strategic merge patch
    /// of a custom resource.
    #[error("{0}")]
    Unsupported(String),
}

/// A server-side apply request.
#[derive(Clone, Copy, Debug)]
pub struct ApplyRequest<'a> {
    /// The object as stored, or `None` when apply creates it.
    pub live: Option<&'a Value>,
    /// The applied configuration (must not carry `metadata.managedFields`).
    pub applied: &'a Value,
    /// The field manager (`fieldManager` query parameter).
    pub manager: &'a str,
    /// Whether to take over fields other managers own instead of failing (`force=true`).
    pub force: bool,
    /// The resource's OpenAPI v3 schema, for list and map types; `None` for built-in kinds.
    pub schema: Option<&'a Value>,
    /// The time of the request, RFC 3339, for `managedFields[].time`.
    pub now: &'a str,
    /// The subresource applied to (`status`), if any.
    pub subresource: Option<&'a str>,
}

/// Applies a patch of a non-apply kind to `target`. Strategic merge patches are refused for
/// custom resources (`custom_resource`), as Kubernetes does; apply patches need an
/// [`ApplyRequest`] and are refused here.
pub fn patch_object(
    kind: PatchKind,
    target: &Value,
    patch: &Value,
    custom_resource: bool,
) -> Result<Value, PatchError> {
    match kind {
        PatchKind::Merge => Ok(merge_patch(target, patch)),
        PatchKind::Json => json_patch(target, patch),
        PatchKind::StrategicMerge if custom_resource => Err(PatchError::Unsupported(
            "strategic merge patch is not supported for custom resources".to_owned(),
        )),
        PatchKind::StrategicMerge => strategic_merge_patch(target, patch),
        PatchKind::Apply => Err(PatchError::Unsupported(
            "failed to patch: apply patches need a field manager (patch::apply)".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kinds_from_content_types() {
        assert_eq!(
            PatchKind::from_content_type("application/merge-patch+json"),
            Some(PatchKind::Merge)
        );
        assert_eq!(
            PatchKind::from_content_type("application/json-patch+json; charset=utf-8"),
            Some(PatchKind::Json)
        );
        assert_eq!(
            PatchKind::from_content_type(" Application/Apply-Patch+YAML "),
            Some(PatchKind::Apply)
        );
        assert_eq!(
            PatchKind::from_content_type("application/strategic-merge-patch+json"),
            Some(PatchKind::StrategicMerge)
        );
        assert_eq!(PatchKind::from_content_type("application/json"), None);
        assert_eq!(
            PatchKind::StrategicMerge.content_type(),
            "application/strategic-merge-patch+json"
        );
    }

    #[test]
    fn apply_bodies_may_be_yaml() {
        assert_eq!(
            PatchKind::Apply.parse_body(br#"{"a": 1}"#),
            Ok(json!({"a": 1}))
        );
        assert_eq!(
            PatchKind::Apply.parse_body(b"kind: ConfigMap\ndata:\n  a: '1'\n"),
            Ok(json!({"kind": "ConfigMap", "data": {"a": "1"}}))
        );
        assert!(matches!(
            PatchKind::Merge.parse_body(b"a: 1"),
            Err(PatchError::Malformed(m)) if m.starts_with("failed to decode the patch as JSON")
        ));
    }

    #[test]
    fn patch_object_dispatches_and_refuses() {
        let target = json!({"spec": {"a": 1, "b": 2}});
        assert_eq!(
            patch_object(
                PatchKind::Merge,
                &target,
                &json!({"spec": {"a": null}}),
                true
            ),
            Ok(json!({"spec": {"b": 2}}))
        );
        assert_eq!(
            patch_object(
                PatchKind::Json,
                &target,
                &json!([{"op": "replace", "path": "/spec/b", "value": 3}]),
                true
            ),
            Ok(json!({"spec": {"a": 1, "b": 3}}))
        );
        assert!(matches!(
            patch_object(PatchKind::StrategicMerge, &target, &json!({}), true),
            Err(PatchError::Unsupported(_))
        ));
        assert_eq!(
            patch_object(
                PatchKind::StrategicMerge,
                &target,
                &json!({"spec": {"c": 3}}),
                false
            ),
            Ok(json!({"spec": {"a": 1, "b": 2, "c": 3}}))
        );
        assert!(matches!(
            patch_object(PatchKind::Apply, &target, &json!({}), false),
            Err(PatchError::Unsupported(_))
        ));
    }

    #[test]
    fn conflict_reads_like_kubernetes() {
        let error = PatchError::Conflict {
            manager: "other".to_owned(),
            fields: vec![".spec.replicas".to_owned()],
        };
        assert_eq!(
            error.to_string(),
            "Apply failed with 1 conflict: conflict with \"other\": .spec.replicas"
        );
    }
}
