//! Turns a request path into what it addresses: discovery documents, OpenAPI documents, or a
//! resource collection, object or subresource (Kubernetes' `RequestInfo`). Query strings are
//! ignored here: kubectl adds `?timeout=32s` to paths that take no parameters.

/// A path to a resource: `/api/v1/namespaces/{ns}/{plural}/{name}/{subresource}` and the like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group, empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespace from the path, if the path is namespaced.
    pub namespace: Option<String>,
    /// Object name, if the path addresses one object.
    pub name: Option<String>,
    /// Subresource (`status`), if any.
    pub subresource: Option<String>,
}

/// What a path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/readyz`, `/livez`
    Health,
    /// `/api`
    CoreApi,
    /// `/apis`
    Apis,
    /// `/apis/{group}`
    ApiGroup(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    ResourceList { group: String, version: String },
    /// `/openapi/v2`
    OpenApiV2,
    /// `/openapi/v3`
    OpenApiV3Root,
    /// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`
    OpenApiV3 { group: String, version: String },
    /// A resource collection, object or subresource.
    Resource(ResourcePath),
}

/// The route of `path`, or `None` when the server serves nothing there.
pub fn route(path: &str) -> Option<Route> {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        ["version"] => Some(Route::Version),
        ["healthz" | "readyz" | "livez", ..] => Some(Route::Health),
        ["api"] => Some(Route::CoreApi),
        ["apis"] => Some(Route::Apis),
        ["apis", group] => Some(Route::ApiGroup((*group).to_owned())),
        ["api", version] => Some(Route::ResourceList {
            group: String::new(),
            version: (*version).to_owned(),
        }),
        ["apis", group, version] => Some(Route::ResourceList {
            group: (*group).to_owned(),
            version: (*version).to_owned(),
        }),
        ["openapi", "v2"] => Some(Route::OpenApiV2),
        ["openapi", "v3"] => Some(Route::OpenApiV3Root),
        ["openapi", "v3", "api", version] => Some(Route::OpenApiV3 {
            group: String::new(),
            version: (*version).to_owned(),
        }),
        ["openapi", "v3", "apis", group, version] => Some(Route::OpenApiV3 {
            group: (*group).to_owned(),
            version: (*version).to_owned(),
        }),
        ["api", version, rest @ ..] => resource("", version, rest),
        ["apis", group, version, rest @ ..] => resource(group, version, rest),
        _ => None,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Option<Route> {
    let owned = |s: Option<&&str>| s.map(|s| (*s).to_owned());
    let namespaced_collection = rest.first() == Some(&"namespaces")
        && rest.len() >= 3
        && !(rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
    let (namespace, tail) = if namespaced_collection {
        (Some(rest[1].to_owned()), &rest[2..])
    } else {
        (None, rest)
    };
    if tail.is_empty() || tail.len() > 3 {
        return None;
    }
    Some(Route::Resource(ResourcePath {
        group: group.to_owned(),
        version: version.to_owned(),
        plural: tail[0].to_owned(),
        namespace,
        name: owned(tail.get(1)),
        subresource: owned(tail.get(2)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(
        group: &str,
        plural: &str,
        namespace: Option<&str>,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> Route {
        Route::Resource(ResourcePath {
            group: group.into(),
            version: if group.is_empty() {
                "v1".into()
            } else {
                "v1alpha1".into()
            },
            plural: plural.into(),
            namespace: namespace.map(Into::into),
            name: name.map(Into::into),
            subresource: sub.map(Into::into),
        })
    }

    #[test]
    fn discovery_paths() {
        assert_eq!(route("/version"), Some(Route::Version));
        assert_eq!(route("/api"), Some(Route::CoreApi));
        assert_eq!(route("/apis/"), Some(Route::Apis));
        assert_eq!(
            route("/api/v1"),
            Some(Route::ResourceList {
                group: String::new(),
                version: "v1".into()
            })
        );
        assert_eq!(
            route("/openapi/v3/apis/govcloud.io/v1alpha1"),
            Some(Route::OpenApiV3 {
                group: "govcloud.io".into(),
                version: "v1alpha1".into()
            })
        );
        assert_eq!(route("/nothing"), None);
    }

    #[test]
    fn resource_paths() {
        assert_eq!(
            route("/apis/govcloud.io/v1alpha1/tenants"),
            Some(path("govcloud.io", "tenants", None, None, None))
        );
        assert_eq!(
            route("/apis/govcloud.io/v1alpha1/tenants/a/status"),
            Some(path(
                "govcloud.io",
                "tenants",
                None,
                Some("a"),
                Some("status")
            ))
        );
        assert_eq!(
            route("/apis/govcloud.io/v1alpha1/namespaces/ns1/systemmigrations/s"),
            Some(path(
                "govcloud.io",
                "systemmigrations",
                Some("ns1"),
                Some("s"),
                None
            ))
        );
        assert_eq!(
            route("/api/v1/namespaces"),
            Some(path("", "namespaces", None, None, None))
        );
        assert_eq!(
            route("/api/v1/namespaces/ns1"),
            Some(path("", "namespaces", None, Some("ns1"), None))
        );
        assert_eq!(
            route("/api/v1/namespaces/ns1/status"),
            Some(path("", "namespaces", None, Some("ns1"), Some("status")))
        );
        assert_eq!(
            route("/api/v1/namespaces/ns1/configmaps"),
            Some(path("", "configmaps", Some("ns1"), None, None))
        );
        assert_eq!(route("/api/v1/namespaces/ns1/configmaps/c/status/x"), None);
    }
}
