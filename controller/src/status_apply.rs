//! Server-side apply of a cluster-scoped object's status under one field manager: the patch
//! names the object's kind and carries only the fields given, so each controller owns exactly
//! what it writes (the IPAM controller a router's prefix, the router controller the rest).

use std::fmt::Debug;

use kube::api::{Patch, PatchParams};
use kube::core::ClusterResourceScope;
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Applies `fields` as the status of the `K` named `name`, as `field_manager`, forcing
/// ownership of those fields.
pub async fn apply_status<K>(
    client: &Client,
    name: &str,
    field_manager: &str,
    fields: &impl Serialize,
) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = (), Scope = ClusterResourceScope> + Clone + DeserializeOwned + Debug,
{
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": fields,
    });
    Api::<K>::all(client.clone())
        .patch_status(
            name,
            &PatchParams::apply(field_manager).force(),
            &Patch::Apply(&patch),
        )
        .await
}

/// [`apply_status`] with `desired` when it differs from `previous`; no request when it does
/// not (no patch when nothing changed). Whether it applied.
pub async fn apply_status_if_changed<K, S>(
    client: &Client,
    name: &str,
    field_manager: &str,
    previous: &S,
    desired: &S,
) -> Result<bool, kube::Error>
where
    K: Resource<DynamicType = (), Scope = ClusterResourceScope> + Clone + DeserializeOwned + Debug,
    S: Serialize + PartialEq,
{
    if previous == desired {
        return Ok(false);
    }
    apply_status::<K>(client, name, field_manager, desired).await?;
    Ok(true)
}
