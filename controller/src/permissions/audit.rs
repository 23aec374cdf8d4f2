//! kube-apiserver's audit log read as requests, and the requests of one user agent that the
//! table does not allow.

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use super::request::{Request, allows, public_non_resource};
use super::table::Permission;

/// What one audit event addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A resource request.
    Resource(Request),
    /// A non-resource path (`/version`, discovery), with its verb.
    NonResource { verb: String, path: String },
}

/// One request of kube-apiserver's audit log (`audit.k8s.io/v1` `Event`, one JSON per line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// The client's `User-Agent`.
    pub user_agent: String,
    /// What it addressed.
    pub target: Target,
    /// The response's status code.
    pub code: u16,
}

/// A line of the audit log that is not an audit event.
#[derive(Debug, thiserror::Error)]
#[error("line {line} of the audit log is not an audit event: {reason}")]
pub struct AuditLogError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Reads an audit log: one event per non-empty line.
pub fn parse_audit_log(text: &str) -> Result<Vec<AuditEvent>, AuditLogError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            parse_event(line).map_err(|reason| AuditLogError {
                line: index + 1,
                reason,
            })
        })
        .collect()
}

fn parse_event(line: &str) -> Result<AuditEvent, String> {
    let event: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let text = |pointer: &str| event.pointer(pointer).and_then(Value::as_str);
    let verb = text("/verb").ok_or("no verb")?.to_owned();
    let code = event
        .pointer("/responseStatus/code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .ok_or("no responseStatus.code")?;
    let user_agent = text("/userAgent").unwrap_or_default().to_owned();
    let target = if let Some(object) = event.get("objectRef") {
        let field = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
        Target::Resource(Request {
            verb,
            group: field("apiGroup").unwrap_or_default(),
            resource: field("resource").ok_or("objectRef without resource")?,
            subresource: field("subresource").filter(|s| !s.is_empty()),
            namespace: field("namespace").filter(|s| !s.is_empty()),
            name: field("name").filter(|s| !s.is_empty()),
        })
    } else {
        let uri = text("/requestURI").ok_or("no requestURI")?;
        let path = uri.split('?').next().unwrap_or(uri).to_owned();
        Target::NonResource { verb, path }
    };
    Ok(AuditEvent {
        user_agent,
        target,
        code,
    })
}

/// The resource requests of `user_agent` in `events`, each followed by the `create` that
/// kube-apiserver also authorizes when a patch creates its object (server-side apply).
///
/// The log has no bodies, so a patch is taken as a create when it succeeded on an object that
/// had not been seen: no earlier successful request of anyone named it, and nothing was created
/// earlier in its collection (a create's path does not name the object). Deletions do not make
/// an object unseen (a finalizer keeps it). Non-resource requests are returned apart.
pub fn requests_of(
    events: &[AuditEvent],
    user_agent: &str,
) -> (Vec<Request>, Vec<(String, String)>) {
    type Collection = (String, String, Option<String>);
    let mut named: HashSet<(Collection, String)> = HashSet::new();
    let mut created_in: HashSet<Collection> = HashSet::new();
    let mut requests = Vec::new();
    let mut non_resource = Vec::new();
    for event in events {
        let ours = event.user_agent == user_agent;
        let request = match &event.target {
            Target::Resource(request) => request,
            Target::NonResource { verb, path } => {
                if ours {
                    non_resource.push((verb.clone(), path.clone()));
                }
                continue;
            }
        };
        let succeeded = (200..300).contains(&event.code);
        let collection: Collection = (
            request.group.clone(),
            request.resource.clone(),
            request.namespace.clone(),
        );
        if ours {
            requests.push(request.clone());
            if succeeded
                && request.verb == "patch"
                && request.subresource.is_none()
                && let Some(name) = &request.name
                && !created_in.contains(&collection)
                && !named.contains(&(collection.clone(), name.clone()))
            {
                requests.push(Request {
                    verb: "create".to_owned(),
                    ..request.clone()
                });
            }
        }
        if succeeded {
            match &request.name {
                Some(name) => {
                    named.insert((collection, name.clone()));
                }
                None if request.verb == "create" => {
                    created_in.insert(collection);
                }
                None => {}
            }
        }
    }
    (requests, non_resource)
}

/// What the requests of `user_agent` in an audit log needed beyond `table` (for a controller in
/// `own_namespace`): each resource request it does not allow, and each non-resource request
/// that is not public. Empty when the table covers everything.
pub fn unpermitted(
    table: &[Permission],
    audit_log: &str,
    user_agent: &str,
    own_namespace: &str,
) -> Result<Vec<String>, AuditLogError> {
    let events = parse_audit_log(audit_log)?;
    let (requests, non_resource) = requests_of(&events, user_agent);
    let mut refused: BTreeSet<String> = requests
        .iter()
        .filter(|r| !allows(table, r, own_namespace))
        .map(ToString::to_string)
        .collect();
    refused.extend(
        non_resource
            .iter()
            .filter(|(verb, path)| !public_non_resource(verb, path))
            .map(|(verb, path)| format!("{verb} {path} (non-resource)")),
    );
    Ok(refused.into_iter().collect())
}
