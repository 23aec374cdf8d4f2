//! Legacy (unaggregated) API discovery: `/version`, `/api`, `/apis`, `/apis/{group}` and the
//! resource lists of `/api/v1` and `/apis/{group}/{version}`, as kubectl and kube-rs read them.
//!
//! kubectl 1.32 first asks `/api` and `/apis` for aggregated discovery
//! (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`) but lists plain `application/json` last in
//! its `Accept` header; answering the legacy `APIVersions` / `APIGroupList` documents built here
//! makes it fall back to one `APIResourceList` request per group version (`notes/wire.md`).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::resource::ResourceType;

/// The Kubernetes release the server claims to be.
///
/// kubectl (1.28 and later) compares its own minor version with the server's in
/// `kubectl version` and warns when they differ by more than one (the supported skew, ±1); no
/// other kubectl command and no kube-rs code looks at the server version. No single version is
/// within ±1 of every kubectl from 1.27 to 1.33, so the server claims 1.32: it matches the
/// kubectl the project tests with and is in skew with 1.31, 1.32 and 1.33 (older kubectls still
/// work, they only print the warning in `kubectl version`). The API it serves is the stable `v1`
/// surface that every one of those releases shares.
///
/// The suffix is semver *build metadata* (`+govcloud`, as k3s writes `v1.32.0+k3s1`), not a
/// pre-release tag (`-govcloud`): tools that check `kubeVersion` constraints with semver (Helm
/// charts' `kubeVersion: ">=1.25.0"`) reject pre-release versions, and kubectl parses both.
pub const GIT_VERSION: &str = "v1.32.0+govcloud";
const MAJOR: &str = "1";
const MINOR: &str = "32";

/// `GET /version`: the `version.Info` document (every field kube-rs requires is present).
pub fn version_info() -> Value {
    json!({
        "major": MAJOR,
        "minor": MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z",
        "goVersion": "none (govcloud-apiserver is written in Rust)",
        "compiler": "rustc",
        "platform": format!("{}/{}", go_os(), go_arch()),
    })
}

/// The operating system as Go names it (`GOOS`).
fn go_os() -> &'static str {
    std::env::consts::OS
}

/// The architecture as Go names it (`GOARCH`).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// `GET /api`: the core group's `APIVersions`.
pub fn core_api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            { "clientCIDR": "0.0.0.0/0", "serverAddress": server_address }
        ],
    })
}

/// `{groupVersion, version}` as discovery writes it.
fn group_version_entry(group: &str, version: &str) -> Value {
    json!({ "groupVersion": format!("{group}/{version}"), "version": version })
}

/// The served versions of `group`, in the order the types list them (built-ins first, then
/// custom resources by CRD name, each CRD's versions in the order its spec declares them),
/// without repeats.
fn group_versions<'a>(group: &str, types: &'a [Arc<ResourceType>]) -> Vec<&'a str> {
    let mut versions: Vec<&str> = Vec::new();
    for t in types.iter().filter(|t| t.group == group) {
        if !versions.contains(&t.version.as_str()) {
            versions.push(&t.version);
        }
    }
    versions
}

/// The `APIGroup` body (without `kind`/`apiVersion`), or `None` when nothing of the group is
/// served.
fn group_body(group: &str, types: &[Arc<ResourceType>]) -> Option<Value> {
    let versions = group_versions(group, types);
    // The first listed version is preferred: for a CRD, the first served version of its spec.
    let preferred = versions.first()?;
    Some(json!({
        "name": group,
        "versions": versions.iter().map(|v| group_version_entry(group, v)).collect::<Vec<_>>(),
        "preferredVersion": group_version_entry(group, preferred),
    }))
}

/// `GET /apis`: every non-core group, in a stable order (built-in groups first, then the groups
/// of CRDs by CRD name).
pub fn api_group_list(types: &[Arc<ResourceType>]) -> Value {
    let mut names: Vec<&str> = Vec::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        if !names.contains(&t.group.as_str()) {
            names.push(&t.group);
        }
    }
    let groups: Vec<Value> = names.iter().filter_map(|g| group_body(g, types)).collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

/// `GET /apis/{group}`: one `APIGroup`, or `None` when the group is not served (or is the core
/// group, which lives at `/api`).
pub fn api_group(group: &str, types: &[Arc<ResourceType>]) -> Option<Value> {
    if group.is_empty() {
        return None;
    }
    let mut body = group_body(group, types)?;
    if let Some(object) = body.as_object_mut() {
        object.insert("kind".into(), json!("APIGroup"));
        object.insert("apiVersion".into(), json!("v1"));
    }
    Some(body)
}

/// One `APIResource` entry.
fn api_resource(t: &ResourceType) -> Value {
    let mut resource = json!({
        "name": t.plural,
        "singularName": t.singular,
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": t.verbs(),
    });
    if let Some(object) = resource.as_object_mut() {
        if !t.short_names.is_empty() {
            object.insert("shortNames".into(), json!(t.short_names));
        }
        if !t.categories.is_empty() {
            object.insert("categories".into(), json!(t.categories));
        }
    }
    resource
}

/// The `<plural>/status` subresource entry.
fn status_resource(t: &ResourceType) -> Value {
    json!({
        "name": format!("{}/status", t.plural),
        "singularName": "",
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": ["get", "patch", "update"],
    })
}

/// `GET /api/v1` (group `""`) and `GET /apis/{group}/{version}`: the `APIResourceList` of that
/// group version, each resource followed by its `status` subresource where it has one; `None`
/// when the group version is not served.
pub fn api_resource_list(group: &str, version: &str, types: &[Arc<ResourceType>]) -> Option<Value> {
    let served: Vec<&Arc<ResourceType>> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut resources = Vec::with_capacity(served.len() * 2);
    for t in served {
        resources.push(api_resource(t));
        if t.status_subresource {
            resources.push(status_resource(t));
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        APIGroup, APIGroupList, APIResourceList, APIVersions,
    };
    use k8s_openapi::apimachinery::pkg::version::Info;

    use super::*;

    fn custom(kind: &str, plural: &str, version: &str, namespaced: bool) -> Arc<ResourceType> {
        Arc::new(ResourceType {
            group: "govcloud.io".into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced,
            short_names: vec!["tn".into()],
            categories: vec!["govcloud".into()],
            status_subresource: true,
            printer_columns: vec![],
            schema: Some(json!({"type": "object"})),
            crd: Some(format!("{plural}.govcloud.io")),
        })
    }

    fn types() -> Vec<Arc<ResourceType>> {
        let mut types: Vec<Arc<ResourceType>> =
            crate::builtin::types().into_iter().map(Arc::new).collect();
        types.push(custom("Tenant", "tenants", "v1beta1", false));
        types.push(custom("Tenant", "tenants", "v1alpha1", false));
        types.push(custom(
            "SystemMigration",
            "systemmigrations",
            "v1alpha1",
            true,
        ));
        types
    }

    #[test]
    fn version_info_is_a_version_info_kube_rs_can_read() {
        let info: Info = serde_json::from_value(version_info()).expect("version.Info");
        assert_eq!(info.major, "1");
        assert_eq!(info.minor, "32");
        assert_eq!(info.git_version, "v1.32.0+govcloud");
        assert!(info.platform.contains('/'));
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        assert_eq!(info.platform, "linux/amd64");
    }

    #[test]
    fn core_versions_name_v1_and_the_server() {
        let doc = core_api_versions("127.0.0.1:6443");
        let parsed: APIVersions = serde_json::from_value(doc.clone()).expect("APIVersions");
        assert_eq!(parsed.versions, vec!["v1".to_owned()]);
        assert_eq!(
            parsed.server_address_by_client_cidrs[0].server_address,
            "127.0.0.1:6443"
        );
        assert_eq!(doc["kind"], "APIVersions");
    }

    #[test]
    fn group_list_has_each_group_once_in_stable_order_without_core() {
        let doc = api_group_list(&types());
        let list: APIGroupList = serde_json::from_value(doc.clone()).expect("APIGroupList");
        let names: Vec<&str> = list.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "events.k8s.io",
                "networking.k8s.io",
                "rbac.authorization.k8s.io",
                "batch",
                "coordination.k8s.io",
                "apiextensions.k8s.io",
                "govcloud.io",
            ]
        );
        let govcloud = list.groups.last().expect("govcloud.io");
        let versions: Vec<&str> = govcloud
            .versions
            .iter()
            .map(|v| v.version.as_str())
            .collect();
        assert_eq!(versions, vec!["v1beta1", "v1alpha1"]);
        let preferred = govcloud.preferred_version.as_ref().expect("preferred");
        assert_eq!(preferred.group_version, "govcloud.io/v1beta1");
        assert_eq!(doc["kind"], "APIGroupList");
        assert_eq!(doc["apiVersion"], "v1");
    }

    #[test]
    fn one_group_or_none() {
        let types = types();
        let doc = api_group("rbac.authorization.k8s.io", &types).expect("served");
        let group: APIGroup = serde_json::from_value(doc.clone()).expect("APIGroup");
        assert_eq!(group.versions.len(), 1);
        assert_eq!(
            group.versions[0].group_version,
            "rbac.authorization.k8s.io/v1"
        );
        assert_eq!(doc["kind"], "APIGroup");
        assert!(api_group("apps", &types).is_none());
        assert!(api_group("", &types).is_none());
    }

    #[test]
    fn resource_list_carries_names_scope_verbs_and_status_subresources() {
        let types = types();
        let doc = api_resource_list("govcloud.io", "v1alpha1", &types).expect("served");
        let list: APIResourceList = serde_json::from_value(doc).expect("APIResourceList");
        assert_eq!(list.group_version, "govcloud.io/v1alpha1");
        let names: Vec<&str> = list.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "tenants",
                "tenants/status",
                "systemmigrations",
                "systemmigrations/status"
            ]
        );
        let tenants = &list.resources[0];
        assert_eq!(tenants.kind, "Tenant");
        assert_eq!(tenants.singular_name, "tenant");
        assert!(!tenants.namespaced);
        assert_eq!(tenants.short_names.as_deref(), Some(&["tn".to_owned()][..]));
        assert_eq!(
            tenants.categories.as_deref(),
            Some(&["govcloud".to_owned()][..])
        );
        assert!(tenants.verbs.iter().any(|v| v == "watch"));
        assert_eq!(list.resources[1].verbs, vec!["get", "patch", "update"]);
        assert!(list.resources[2].namespaced);
    }

    #[test]
    fn core_resource_list_is_v1_and_omits_empty_short_names() {
        let types = types();
        let doc = api_resource_list("", "v1", &types).expect("served");
        assert_eq!(doc["groupVersion"], "v1");
        let resources = doc["resources"].as_array().expect("resources");
        let namespaces = &resources[0];
        assert_eq!(namespaces["name"], "namespaces");
        assert_eq!(namespaces["shortNames"], json!(["ns"]));
        assert_eq!(resources[1]["name"], "namespaces/status");
        let secrets = resources
            .iter()
            .find(|r| r["name"] == "secrets")
            .expect("secrets");
        assert!(secrets.get("shortNames").is_none());
        assert!(secrets.get("categories").is_none());
        assert!(api_resource_list("", "v2", &types).is_none());
        assert!(api_resource_list("govcloud.io", "v1", &types).is_none());
    }
}
