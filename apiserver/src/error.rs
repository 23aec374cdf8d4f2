//! `ApiError`: every failure answered as a Kubernetes `Status` object, so kubectl and kube-rs
//! print their usual messages (`Error from server (NotFound): tenants.govcloud.io "x" not found`).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::resource::ResourceType;

/// One reason an object is invalid, at one field (`spec.upstream.members`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueForbidden`…
    pub reason: String,
    /// What is wrong.
    pub message: String,
    /// The field, as Kubernetes writes paths; empty for the whole object.
    pub field: String,
}

impl Cause {
    /// A `FieldValueInvalid` cause.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason: "FieldValueInvalid".into(),
            message: message.into(),
            field: field.into(),
        }
    }
}

/// An error answered to a client as a `Status`.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Machine-readable reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, …).
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
    /// `details` of the Status: name, group, kind and causes.
    pub details: Option<Value>,
}

fn qualified(resource: &ResourceType) -> String {
    if resource.group.is_empty() {
        resource.plural.clone()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    }
}

fn details(resource: &ResourceType, name: &str) -> Value {
    json!({ "name": name, "group": resource.group, "kind": resource.plural })
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 400: the request cannot be understood.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 401: no valid bearer token.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 404 for an object.
    pub fn not_found(resource: &ResourceType, name: &str) -> Self {
        Self {
            details: Some(details(resource, name)),
            ..Self::new(
                404,
                "NotFound",
                format!("{} \"{name}\" not found", qualified(resource)),
            )
        }
    }

    /// 404 for a path the server does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    /// 405: the verb is not supported on this path.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 409: the object already exists.
    pub fn already_exists(resource: &ResourceType, name: &str) -> Self {
        Self {
            details: Some(details(resource, name)),
            ..Self::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", qualified(resource)),
            )
        }
    }

    /// 409: the update was based on a stale `resourceVersion`, or an apply conflicts.
    pub fn conflict(resource: &ResourceType, name: &str, why: &str) -> Self {
        Self {
            details: Some(details(resource, name)),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": {why}",
                    qualified(resource)
                ),
            )
        }
    }

    /// 410: the requested resource version has been compacted away.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 413: the object is too large.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(413, "RequestEntityTooLarge", message)
    }

    /// 415: the content type is not supported for this verb.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/json-patch+json, application/apply-patch+yaml (got {content_type})"
            ),
        )
    }

    /// 422: the object is invalid; each cause names a field.
    pub fn invalid(resource: &ResourceType, name: &str, causes: impl AsRef<[Cause]>) -> Self {
        let causes = causes.as_ref();
        let summary: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let causes: Vec<Value> = causes
            .iter()
            .map(|c| json!({ "reason": c.reason, "message": c.message, "field": c.field }))
            .collect();
        Self {
            code: 422,
            reason: "Invalid",
            message: format!(
                "{} \"{name}\" is invalid: {}",
                resource.kind,
                summary.join(", ")
            ),
            details: Some(
                json!({ "name": name, "group": resource.group, "kind": resource.kind, "causes": causes }),
            ),
        }
    }

    /// 500: a failure of the server itself (storage).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// The `Status` object.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            code,
            [(header::CONTENT_TYPE, "application/json")],
            self.status().to_string(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenants() -> ResourceType {
        crate::resource::tenant_fixture()
    }

    #[test]
    fn not_found_reads_like_kubernetes() {
        let status = ApiError::not_found(&tenants(), "x").status();
        assert_eq!(status["message"], "tenants.govcloud.io \"x\" not found");
        assert_eq!(status["code"], 404);
        assert_eq!(status["details"]["kind"], "tenants");
    }

    #[test]
    fn invalid_names_each_field() {
        let error = ApiError::invalid(
            &tenants(),
            "x",
            vec![Cause::invalid("spec.quota.cpu", "Invalid value: \"-5\"")],
        );
        assert_eq!(error.code, 422);
        assert_eq!(
            error.message,
            "Tenant \"x\" is invalid: spec.quota.cpu: Invalid value: \"-5\""
        );
        assert_eq!(
            error.status()["details"]["causes"][0]["field"],
            "spec.quota.cpu"
        );
    }
}
