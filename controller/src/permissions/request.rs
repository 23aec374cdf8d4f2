//! One request as the authorizer sees it, and whether the table allows it (RBAC's matching:
//! group, resource, verb, scope, resource names).

use std::fmt;

use super::table::{PUBLIC_NON_RESOURCE_PATHS, Permission, Scope, Verb};

/// One request to a resource, as the authorizer sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Request {
    /// Kubernetes verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, …).
    pub verb: String,
    /// API group; `""` is the core group.
    pub group: String,
    /// Plural resource.
    pub resource: String,
    /// Subresource (`status`), if any.
    pub subresource: Option<String>,
    /// Namespace, for namespaced requests.
    pub namespace: Option<String>,
    /// Object name, when the request path names one.
    pub name: Option<String>,
}

impl Request {
    /// `resource` or `resource/subresource`, as RBAC rules name it.
    pub fn resource_path(&self) -> String {
        match &self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource),
            None => self.resource.clone(),
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        write!(f, "{} {group} {}", self.verb, self.resource_path())?;
        if let Some(namespace) = &self.namespace {
            write!(f, " in namespace {namespace}")?;
        }
        if let Some(name) = &self.name {
            write!(f, " named {name}")?;
        }
        Ok(())
    }
}

/// The entries of `table` (by index) and their verb that allow `request`, for a controller in
/// `own_namespace`. Resource names restrict as RBAC does: a request without a name in its path
/// (create, list, watch) is never allowed by an entry with resource names.
pub fn allowing(
    table: &[Permission],
    request: &Request,
    own_namespace: &str,
) -> Vec<(usize, Verb)> {
    let path = request.resource_path();
    table
        .iter()
        .enumerate()
        .filter(|(_, p)| p.group == request.group && p.resource == path)
        .filter(|(_, p)| match p.scope {
            Scope::Cluster => true,
            Scope::OwnNamespace => request.namespace.as_deref() == Some(own_namespace),
        })
        .filter(|(_, p)| {
            p.resource_names.is_empty()
                || request
                    .name
                    .as_deref()
                    .is_some_and(|name| p.resource_names.contains(&name))
        })
        .filter_map(|(index, p)| {
            p.verbs
                .iter()
                .find(|v| v.as_str() == request.verb)
                .map(|v| (index, *v))
        })
        .collect()
}

/// Whether `table` allows `request` for a controller in `own_namespace`.
pub fn allows(table: &[Permission], request: &Request, own_namespace: &str) -> bool {
    !allowing(table, request, own_namespace).is_empty()
}

/// Whether every authenticated user may send `verb` to the non-resource `path`.
pub fn public_non_resource(verb: &str, path: &str) -> bool {
    verb == "get"
        && PUBLIC_NON_RESOURCE_PATHS.iter().any(|pattern| {
            pattern
                .strip_suffix('*')
                .map_or(*pattern == path, |prefix| path.starts_with(prefix))
        })
}
