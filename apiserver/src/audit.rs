//! The audit log, as kube-apiserver's `--audit-log-path` writes it: one `audit.k8s.io/v1`
//! `Event` per request at level `Metadata` and stage `ResponseComplete`, as a JSON line — the
//! verb, the object reference, the user agent and the status code, never a body. Tests read it
//! to tell which client wrote what and when.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::request::{Route, route};

/// Errors of opening the audit log.
#[derive(Debug, thiserror::Error)]
#[error("failed to open the audit log {}: {source}", path.display())]
pub struct AuditLogError {
    path: PathBuf,
    source: std::io::Error,
}

/// The audit log file, appended to by every request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditLog {
    file: Arc<Mutex<std::fs::File>>,
}

impl AuditLog {
    /// Opens `path` for appending, creating it (mode 0600: user agents and object names are not
    /// for everyone).
    pub fn open(path: &Path) -> Result<Self, AuditLogError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| AuditLogError {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
        })
    }

    fn append(&self, event: &Value) {
        let mut line = event.to_string();
        line.push('\n');
        if let Ok(mut file) = self.file.lock()
            && let Err(error) = file.write_all(line.as_bytes())
        {
            tracing::warn!(%error, "failed to write to the audit log");
        }
    }
}

/// Kubernetes' verb of a request: `get`, `list`, `watch`, `create`, `update`, `patch`,
/// `delete`, `deletecollection` for resources; the lower-cased method otherwise.
pub fn verb(method: &Method, named: bool, watch: bool) -> String {
    match (method.as_str(), named) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        (other, _) => return other.to_ascii_lowercase(),
    }
    .to_owned()
}

/// The middleware that writes one event per request once its response is ready.
pub async fn record(State(log): State<AuditLog>, request: Request, next: Next) -> Response {
    let received = Utc::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let response = next.run(request).await;
    let watch = uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    let mut event = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": uuid::Uuid::new_v4().to_string(),
        "stage": "ResponseComplete",
        "requestURI": uri.to_string(),
        "user": { "username": "admin", "groups": ["system:masters", "system:authenticated"] },
        "userAgent": user_agent,
        "responseStatus": { "metadata": {}, "code": response.status().as_u16() },
        "requestReceivedTimestamp": received.to_rfc3339_opts(SecondsFormat::Micros, true),
        "stageTimestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
    });
    match route(uri.path()) {
        Some(Route::Resource(path)) => {
            event["verb"] = json!(verb(&method, path.name.is_some(), watch));
            let mut object = json!({
                "resource": path.plural,
                "apiGroup": path.group,
                "apiVersion": path.version,
            });
            if let Some(namespace) = &path.namespace {
                object["namespace"] = json!(namespace);
            }
            if let Some(name) = &path.name {
                object["name"] = json!(name);
            }
            if let Some(subresource) = &path.subresource {
                object["subresource"] = json!(subresource);
            }
            event["objectRef"] = object;
        }
        _ => event["verb"] = json!(method.as_str().to_ascii_lowercase()),
    }
    log.append(&event);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_kubernetes_verbs() {
        assert_eq!(verb(&Method::GET, true, false), "get");
        assert_eq!(verb(&Method::GET, false, false), "list");
        assert_eq!(verb(&Method::GET, false, true), "watch");
        assert_eq!(verb(&Method::POST, false, false), "create");
        assert_eq!(verb(&Method::PUT, true, false), "update");
        assert_eq!(verb(&Method::PATCH, true, false), "patch");
        assert_eq!(verb(&Method::DELETE, true, false), "delete");
        assert_eq!(verb(&Method::DELETE, false, false), "deletecollection");
    }
}
