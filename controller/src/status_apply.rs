//! Server-side apply of an object's status under one field manager, for cluster-scoped and
//! namespaced objects alike (the [`Api`] given decides): the patch names the object's kind and
//! carries only the fields given, so each controller owns exactly what it writes (the IPAM
//! controller a router's prefix, the router controller the rest). Every reconciler writes its
//! status through here, and only when it changed.

use std::fmt::Debug;

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Applies `fields` as the status of the object named `name` in `api`, as `field_manager`,
/// forcing ownership of those fields.
pub async fn apply_status<K>(
    api: &Api<K>,
    name: &str,
    field_manager: &str,
    fields: &impl Serialize,
) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": fields,
    });
    api.patch_status(
        name,
        &PatchParams::apply(field_manager).force(),
        &Patch::Apply(&patch),
    )
    .await
}

/// [`apply_status`] with `desired` when it differs from `previous`; no request when it does
/// not (no patch when nothing changed). Whether it applied.
pub async fn apply_status_if_changed<K, S>(
    api: &Api<K>,
    name: &str,
    field_manager: &str,
    previous: &S,
    desired: &S,
) -> Result<bool, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize + PartialEq,
{
    if previous == desired {
        return Ok(false);
    }
    apply_status(api, name, field_manager, desired).await?;
    Ok(true)
}
