//! Garbage collection, as Kubernetes' controllers do it in the background: dependents of a
//! deleted owner, the contents of a terminating namespace, and the instances of a deleted CRD.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::meta::{finalizers, is_terminating, metadata_mut};
use super::state::ApiState;
use super::write;
use crate::store::ObjectKey;

/// How often a terminating namespace is checked for remaining content.
const NAMESPACE_POLL: Duration = Duration::from_millis(100);

/// How many times releasing a dependent is tried again when it changes meanwhile.
const RELEASE_ATTEMPTS: usize = 100;

/// Deletes (or, with `orphan`, releases) every object owned by `owner_uid`.
pub fn collect_dependents(state: Arc<ApiState>, owner_uid: String, orphan: bool) {
    if owner_uid.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let dependents = match state.store.dependents(&owner_uid).await {
            Ok(dependents) => dependents,
            Err(error) => {
                return tracing::warn!(%error, "failed to find dependents for garbage collection");
            }
        };
        for (key, _) in dependents {
            let result = if orphan {
                release(&state, &key, &owner_uid).await
            } else {
                delete_key(&state, &key).await
            };
            if let Err(error) = result {
                tracing::debug!(object = %key.name, error = %error, "garbage collection skipped an object");
            }
        }
    });
}

/// Removes the owner reference to `owner_uid` from a dependent (from its latest version, if it
/// changes meanwhile).
async fn release(state: &Arc<ApiState>, key: &ObjectKey, owner_uid: &str) -> Result<(), String> {
    for _ in 0..RELEASE_ATTEMPTS {
        let Some(stored) = state.store.get(key).await.map_err(|e| e.to_string())? else {
            return Ok(());
        };
        let mut object = stored.object;
        let metadata = metadata_mut(&mut object);
        if let Some(Value::Array(references)) = metadata.get_mut("ownerReferences") {
            references.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
            if references.is_empty() {
                metadata.remove("ownerReferences");
            }
        }
        let written = state
            .store
            .put(key, object, Some(stored.resource_version))
            .await
            .map_err(|e| e.to_string())?;
        if written.is_ok() {
            return Ok(());
        }
    }
    Err("the dependent kept changing".into())
}

/// Deletes one object as a client's `DELETE` would (finalizers honoured).
async fn delete_key(state: &Arc<ApiState>, key: &ObjectKey) -> Result<(), String> {
    let resource = state.type_of_key(key).ok_or("resource no longer served")?;
    write::delete(state, &resource, key, "Background", None)
        .await
        .map(|_| ())
        .map_err(|e| e.message)
}

/// Deletes everything in a terminating namespace, then the namespace itself once empty.
pub fn terminate_namespace(state: Arc<ApiState>, namespace: String) {
    tokio::spawn(async move {
        let namespace_key = ObjectKey {
            resource: "/namespaces".into(),
            namespace: String::new(),
            name: namespace.clone(),
        };
        loop {
            let contents = match state.store.in_namespace(&namespace).await {
                Ok(contents) => contents,
                Err(error) => {
                    return tracing::warn!(%error, %namespace, "failed to list a terminating namespace");
                }
            };
            if contents.is_empty() {
                break;
            }
            for (key, object) in &contents {
                if (!is_terminating(object) || finalizers(object).is_empty())
                    && let Err(error) = delete_key(&state, key).await
                {
                    tracing::debug!(object = %key.name, %error, "namespace termination skipped an object");
                }
            }
            tokio::time::sleep(NAMESPACE_POLL).await;
        }
        let Ok(Some(stored)) = state.store.get(&namespace_key).await else {
            return;
        };
        if let Err(error) = state
            .store
            .delete(&namespace_key, stored.resource_version)
            .await
        {
            tracing::warn!(%error, %namespace, "failed to remove a terminated namespace");
        }
    });
}

/// Deletes every instance of a deleted CRD.
pub fn delete_custom_resources(state: Arc<ApiState>, crd: Value) {
    tokio::spawn(async move {
        let group = crd
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let plural = crd
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let resource = format!("{group}/{plural}");
        let Ok((objects, _)) = state.store.list(&resource, None, None, None).await else {
            return;
        };
        for stored in objects {
            let key = ObjectKey {
                resource: resource.clone(),
                namespace: stored
                    .object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                name: stored
                    .object
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            };
            if let Err(error) = state.store.delete(&key, stored.resource_version).await {
                tracing::warn!(%error, object = %key.name, "failed to delete an instance of a deleted CRD");
            }
        }
    });
}
