//! The controller's Kubernetes permissions, least privilege: [`CONTROLLER`] lists every API group,
//! resource and verb the code calls — reconcilers, the HTTPS API, the agent listener, the leader
//! elector, the start-up checks — each with the code that needs it, and nothing else. Pure
//! functions compare it with RBAC `PolicyRule`s (the Helm chart's ClusterRole and Role), say
//! whether it allows one request, and read kube-apiserver's audit log to find the requests of one
//! user agent that it does not allow.
//!
//! Both of a replica's clients (the reconcilers' fenced one and the plain one, see
//! [`crate::operator::cluster::clients`]) are the same ServiceAccount, so one table covers both.
//! The tests prove it both ways: the controller suites and the API suites check every request
//! their clients make against the table, and `controller/tests/rbac.rs` drives local mode through
//! every entry and checks that each was used, and that the chart grants exactly this.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::Value;

/// A Kubernetes authorization verb; ordered as their names sort.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    /// RBAC's `bind`: refer to a role in a binding without holding its permissions.
    Bind,
    Create,
    Delete,
    Get,
    List,
    Patch,
    Update,
    Watch,
}

impl Verb {
    /// The verb as RBAC and the audit log write it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Watch => "watch",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::Bind => "bind",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a permission applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Every namespace and the cluster-scoped resources: the chart's ClusterRole.
    Cluster,
    /// The controller's own namespace only (`--namespace`, the release's): the chart's Role.
    OwnNamespace,
}

/// How the API server sees a permission used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The controller requests it: each verb shows in the API server's audit log.
    Requested,
    /// The controller never requests it: the API server checks it while authorizing or admitting
    /// the controller's create or patch of one of `writes` (group, resource).
    OnWrite {
        writes: &'static [(&'static str, &'static str)],
    },
}

/// One grant of the table: verbs on one resource (or `resource/subresource`) of one API group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    /// API group; `""` is the core group.
    pub group: &'static str,
    /// Plural resource, with `/subresource` when the grant is for a subresource.
    pub resource: &'static str,
    /// The verbs, sorted.
    pub verbs: &'static [Verb],
    /// Cluster-wide, or the controller's own namespace.
    pub scope: Scope,
    /// The only object names the verbs apply to; empty: any name.
    pub resource_names: &'static [&'static str],
    /// Requested, or checked on another write.
    pub check: Check,
    /// The code that needs it, and what a reviewer would ask.
    pub why: &'static str,
}

const GOVCLOUD: &str = "govcloud.io";
const CORE: &str = "";
const RBAC: &str = "rbac.authorization.k8s.io";
/// The name of the tenant-admin ClusterRole tenants' RoleBindings refer to.
pub const TENANT_ADMIN_ROLE: &str = "govcloud-tenant-admin";

use Verb::{Bind, Create, Delete, Get, List, Patch, Update, Watch};

/// Everything the controller may do, and nothing more; sorted by scope, group and resource.
pub const CONTROLLER: &[Permission] = &[
    Permission {
        group: CORE,
        resource: "limitranges",
        verbs: &[Create, List, Patch, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "tenancy::controller applies each tenant namespace's LimitRange (server-side apply: \
              patch, and create when it is new) and watches them (Controller::watches); it never \
              reads one alone, so no get",
    },
    Permission {
        group: CORE,
        resource: "namespaces",
        verbs: &[Create, Get, List, Patch, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "tenancy::controller applies the tenants' namespaces (patch, create), reads each \
              before taking it (check_namespaces: get), lists a tenant's labelled ones \
              (freeze_removed_namespaces) and watches them; operator::cluster::preflight reads \
              the controller's own namespace (get). Never delete: a tenant's namespaces go with \
              it through owner references (the garbage collector deletes them). Adopting a \
              namespace that exists without an owner changes its ownerReferences, which the \
              OwnerReferencesPermissionEnforcement admission plugin (not enabled by default) \
              would only allow with delete on namespaces: deliberately not granted",
    },
    Permission {
        group: CORE,
        resource: "resourcequotas",
        verbs: &[Create, List, Patch, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "tenancy::controller applies each tenant namespace's ResourceQuota (and a zero one \
              in a namespace a tenant no longer lists) and reads the usage from the apply's \
              answer; watches them; no get",
    },
    Permission {
        group: CORE,
        resource: "secrets",
        verbs: &[Get],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "migration::steps::credentials reads a webhook step's credentialsSecret by name, in \
              the system's namespace, when the step runs. Only get: no list or watch, so the \
              controller can read a Secret only by knowing its name. Cluster-wide because tenant \
              namespaces appear at run time; a Role per tenant namespace would narrow it, but \
              the controller would then need to grant itself (escalate)",
    },
    Permission {
        group: "batch",
        resource: "jobs",
        verbs: &[Create, Get, List, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "migration::steps::observe_job reads a Job step's Job and creates it on first \
              observation; migration::system_controller owns them (Controller::owns: list, \
              watch). A rollback creates rollback Jobs and deletes none: finished Jobs go with \
              their SystemMigration through owner references, so no delete. Those references do \
              not set blockOwnerDeletion: no update on systemmigrations/finalizers",
    },
    Permission {
        group: "events.k8s.io",
        resource: "events",
        verbs: &[Create, Patch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "runtime::Context::publish (kube's Recorder): create, and patch the series of an \
              event repeated within six minutes. Cluster-wide: events about cluster-scoped \
              objects go to `default`, about SystemMigrations to their tenant's namespace",
    },
    Permission {
        group: GOVCLOUD,
        resource: "addresspools",
        verbs: &[List, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "addressing::controller (Controller::new and its cache); routing::fetch lists them \
              for an agent's GET /v1/config",
    },
    Permission {
        group: GOVCLOUD,
        resource: "addresspools/status",
        verbs: &[Patch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "addressing::controller applies a pool's totals and conditions (status_apply)",
    },
    Permission {
        group: GOVCLOUD,
        resource: "dedicatednetworks",
        verbs: &[Get, List, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "consolidation::controller and the addressing cache (list, watch); routing::fetch \
              (list); the API's GET /v1/networks/{name} (get)",
    },
    Permission {
        group: GOVCLOUD,
        resource: "dedicatednetworks/status",
        verbs: &[Patch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "consolidation::controller applies a network's phase, segments and conditions",
    },
    Permission {
        group: GOVCLOUD,
        resource: "extranetlinks",
        verbs: &[Get, List, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "network::link_controller and the addressing cache (list, watch); routing::fetch \
              (list); the API's GET /v1/links/{name} (get)",
    },
    Permission {
        group: GOVCLOUD,
        resource: "extranetlinks/status",
        verbs: &[Patch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "network::link_controller applies a link's compliance and conditions",
    },
    Permission {
        group: GOVCLOUD,
        resource: "migrationplans",
        verbs: &[Get, List, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "migration::plan_controller (list, watch); the API's /v1/migration-plans (list) and \
              /v1/migration-plans/{name} (get). Operations write plans with kubectl, never the \
              controller",
    },
    Permission {
        group: GOVCLOUD,
        resource: "migrationplans/status",
        verbs: &[Patch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "migration::plan_controller applies a plan's waves, projection and blockers",
    },
    Permission {
        group: GOVCLOUD,
        resource: "quotarequests",
        verbs: &[Create, Delete, Get, List, Patch, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "tenancy::request_controller (list, watch; get: reads an approved request afresh); \
              the API: list and get, create (POST …/quota-requests), patch (approve, deny: a \
              JSON patch), and delete — only to take a created request back when its audit \
              record cannot be written (nothing stays unaudited)",
    },
    Permission {
        group: GOVCLOUD,
        resource: "quotarequests/status",
        verbs: &[Patch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "tenancy::request_controller applies a request's phase and previous quota",
    },
    Permission {
        group: GOVCLOUD,
        resource: "routers",
        verbs: &[Get, List, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "network, addressing and consolidation controllers (list, watch; \
              consolidation::controller reads each site's router: get); network::runtime lists \
              them to forget deleted routers' configurations; the API (GET /v1/routers/{name}, \
              enrollment) and the agent listener (each report's router) read one: get",
    },
    Permission {
        group: GOVCLOUD,
        resource: "routers/status",
        verbs: &[Patch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "network::router_controller (agent, interfaces, configuration) and \
              addressing::controller (prefix) apply their own fields of a router's status",
    },
    Permission {
        group: GOVCLOUD,
        resource: "systemmigrations",
        verbs: &[Create, Delete, Get, List, Patch, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "migration::system_controller (list, watch; get: reads a system afresh before each \
              action; patch: its release-quota finalizer); the API: list and get, create \
              (POST /v1/migrations, first as a dry run), patch (approval, confirmations), and \
              delete — only to take a submission back when one of its creates or audit records \
              fails (all or nothing)",
    },
    Permission {
        group: GOVCLOUD,
        resource: "systemmigrations/status",
        verbs: &[Patch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "migration::system_controller (phase, steps, reservation) and \
              migration::plan_controller (plan, wave, window, blockers) apply their own fields",
    },
    Permission {
        group: GOVCLOUD,
        resource: "tenants",
        verbs: &[Get, List, Patch, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "tenancy::controller and the other controllers' watches, the API's cache (list, \
              watch); tenancy::request_controller reads the tenant of an approved request (get) \
              and merge-patches its spec.quota; the revoke-tokens finalizer (patch); the API's \
              GET /v1/tenants/{tenant} (get). Operations create tenants, never the controller. \
              No update on tenants/finalizers: the owner references of what the controller \
              creates for a tenant do not set blockOwnerDeletion, so the \
              OwnerReferencesPermissionEnforcement admission plugin asks for none",
    },
    Permission {
        group: GOVCLOUD,
        resource: "tenants/status",
        verbs: &[Patch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "tenancy::controller applies a tenant's namespaces, usage and conditions",
    },
    Permission {
        group: "networking.k8s.io",
        resource: "networkpolicies",
        verbs: &[Create, List, Patch, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "tenancy::controller applies each tenant namespace's NetworkPolicy and watches them",
    },
    Permission {
        group: RBAC,
        resource: "clusterroles",
        verbs: &[Bind],
        scope: Scope::Cluster,
        resource_names: &[TENANT_ADMIN_ROLE],
        check: Check::OnWrite {
            writes: &[(RBAC, "rolebindings")],
        },
        why: "tenancy::controller binds each tenant's owners to govcloud-tenant-admin (which the \
              chart ships); RBAC lets a RoleBinding refer to a role whose permissions the writer \
              lacks only with bind on it — on that one name, so the controller can bind no other \
              role. It cannot read, change or create the role",
    },
    Permission {
        group: RBAC,
        resource: "rolebindings",
        verbs: &[Create, List, Patch, Watch],
        scope: Scope::Cluster,
        resource_names: &[],
        check: Check::Requested,
        why: "tenancy::controller applies each tenant namespace's RoleBinding to \
              govcloud-tenant-admin and watches them",
    },
    Permission {
        group: "coordination.k8s.io",
        resource: "leases",
        verbs: &[Create],
        scope: Scope::OwnNamespace,
        resource_names: &[],
        check: Check::Requested,
        why: "leader::elector creates the lease when there is none; RBAC cannot limit create to \
              a name (the name is not part of a create's request path)",
    },
    Permission {
        group: "coordination.k8s.io",
        resource: "leases",
        verbs: &[Get, Update],
        scope: Scope::OwnNamespace,
        resource_names: &[crate::leader::LeaseSettings::NAME],
        check: Check::Requested,
        why: "leader::elector reads, takes, renews and releases its lease (get, update: a \
              replace with the resource version read). Only the default --lease-name: a \
              deployment that changes it must grant that name (the chart templates it from \
              leaderElection.leaseName)",
    },
];

/// Non-resource paths every authenticated user may `GET` through Kubernetes' default
/// `system:discovery` and `system:public-info-viewer` roles (a trailing `*` matches any rest).
/// The controller's only one is `/version` (operator::cluster::preflight and `/readyz`).
pub const PUBLIC_NON_RESOURCE_PATHS: &[&str] = &[
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
];

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

// ---------------------------------------------------------------------------------------------
// RBAC rules.

/// One thing a rule grants: a verb on a resource of a group, for one object name or (`None`)
/// every name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// API group; `""` is the core group.
    pub group: String,
    /// Resource, with `/subresource`.
    pub resource: String,
    /// The one object name it is limited to, if any.
    pub name: Option<String>,
    /// The verb.
    pub verb: String,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        write!(f, "({group}, {}, {})", self.resource, self.verb)?;
        if let Some(name) = &self.name {
            write!(f, " on {name} only")?;
        }
        Ok(())
    }
}

impl Grant {
    /// Whether `self` allows everything `other` does.
    fn covers(&self, other: &Self) -> bool {
        self.group == other.group
            && self.resource == other.resource
            && self.verb == other.verb
            && (self.name.is_none() || self.name == other.name)
    }
}

/// A rule the comparison cannot take as least privilege.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A wildcard grants more than any list can say.
    #[error("rule {index} has the wildcard `*` in {field}: a least-privilege rule names each")]
    Wildcard { index: usize, field: &'static str },
    /// Non-resource URLs: the controller needs none beyond what every user has.
    #[error(
        "rule {index} grants non-resource URLs ({urls}): the controller needs none beyond the \
         discovery every authenticated user has"
    )]
    NonResource { index: usize, urls: String },
}

/// Everything `rules` grant, one [`Grant`] per group, resource, name and verb.
pub fn grants_of_rules(rules: &[PolicyRule]) -> Result<BTreeSet<Grant>, RuleError> {
    let mut grants = BTreeSet::new();
    for (index, rule) in rules.iter().enumerate() {
        if let Some(urls) = rule.non_resource_urls.as_ref().filter(|u| !u.is_empty()) {
            return Err(RuleError::NonResource {
                index,
                urls: urls.join(", "),
            });
        }
        let groups = rule.api_groups.clone().unwrap_or_default();
        let resources = rule.resources.clone().unwrap_or_default();
        let names = rule.resource_names.clone().unwrap_or_default();
        for (field, values) in [
            ("apiGroups", &groups),
            ("resources", &resources),
            ("resourceNames", &names),
            ("verbs", &rule.verbs),
        ] {
            if values.iter().any(|v| v.contains('*')) {
                return Err(RuleError::Wildcard { index, field });
            }
        }
        let names: Vec<Option<String>> = if names.is_empty() {
            vec![None]
        } else {
            names.into_iter().map(Some).collect()
        };
        for group in &groups {
            for resource in &resources {
                for name in &names {
                    for verb in &rule.verbs {
                        grants.insert(Grant {
                            group: group.clone(),
                            resource: resource.clone(),
                            name: name.clone(),
                            verb: verb.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(grants)
}

/// Everything `table` grants in `scope`.
pub fn grants_of_table(table: &[Permission], scope: Scope) -> BTreeSet<Grant> {
    grants_of_rules(&policy_rules(table, scope)).unwrap_or_default()
}

/// The entries of `table` in `scope` as RBAC rules: one per group, resource and resource names,
/// verbs sorted, sorted by group then resource (the chart's layout).
pub fn policy_rules(table: &[Permission], scope: Scope) -> Vec<PolicyRule> {
    let mut merged: BTreeMap<(&str, &str, Vec<&str>), BTreeSet<&str>> = BTreeMap::new();
    for permission in table.iter().filter(|p| p.scope == scope) {
        let mut names = permission.resource_names.to_vec();
        names.sort_unstable();
        merged
            .entry((permission.group, permission.resource, names))
            .or_default()
            .extend(permission.verbs.iter().map(|v| v.as_str()));
    }
    let owned = |list: Vec<&str>| list.into_iter().map(str::to_owned).collect::<Vec<_>>();
    merged
        .into_iter()
        .map(|((group, resource, names), verbs)| PolicyRule {
            api_groups: Some(vec![group.to_owned()]),
            resources: Some(vec![resource.to_owned()]),
            resource_names: (!names.is_empty()).then(|| owned(names)),
            verbs: owned(verbs.into_iter().collect()),
            non_resource_urls: None,
        })
        .collect()
}

/// How a set of rules differs from the table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleDiff {
    /// What the table grants and the rules do not.
    pub missing: Vec<Grant>,
    /// What the rules grant beyond the table.
    pub extra: Vec<Grant>,
}

impl RuleDiff {
    /// Whether the rules grant exactly the table.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty()
    }
}

impl fmt::Display for RuleDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for grant in &self.missing {
            writeln!(f, "missing: {grant}")?;
        }
        for grant in &self.extra {
            writeln!(f, "extra: {grant}")?;
        }
        Ok(())
    }
}

/// Compares `rules` with the entries of `table` in `scope`, both ways: what the table grants
/// that no rule allows, and what a rule allows beyond the table (a rule without resource names
/// where the table has some is extra).
pub fn compare(
    table: &[Permission],
    scope: Scope,
    rules: &[PolicyRule],
) -> Result<RuleDiff, RuleError> {
    let granted = grants_of_rules(rules)?;
    let wanted = grants_of_table(table, scope);
    Ok(RuleDiff {
        missing: wanted
            .iter()
            .filter(|w| !granted.iter().any(|g| g.covers(w)))
            .cloned()
            .collect(),
        extra: granted
            .iter()
            .filter(|g| !wanted.iter().any(|w| w.covers(g)))
            .cloned()
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// The audit log.

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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(verb: &str, group: &str, resource: &str) -> Request {
        let (resource, subresource) = match resource.split_once('/') {
            Some((r, s)) => (r, Some(s.to_owned())),
            None => (resource, None),
        };
        Request {
            verb: verb.to_owned(),
            group: group.to_owned(),
            resource: resource.to_owned(),
            subresource,
            namespace: None,
            name: None,
        }
    }

    fn named(mut request: Request, namespace: Option<&str>, name: &str) -> Request {
        request.namespace = namespace.map(str::to_owned);
        request.name = Some(name.to_owned());
        request
    }

    #[test]
    fn the_table_is_sorted_with_sorted_verbs_and_a_reason_each() {
        let keys: Vec<_> = CONTROLLER
            .iter()
            .map(|p| (p.scope, p.group, p.resource, p.resource_names))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "sorted by scope, group, resource");
        let mut unique = keys.clone();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "one entry per resource and names");
        for permission in CONTROLLER {
            let mut verbs = permission.verbs.to_vec();
            verbs.sort();
            verbs.dedup();
            assert_eq!(verbs, permission.verbs, "{}", permission.resource);
            assert!(!permission.verbs.is_empty(), "{}", permission.resource);
            assert!(permission.why.len() > 40, "{}", permission.resource);
        }
    }

    #[test]
    fn least_privilege_choices_hold() {
        let verbs = |group: &str, resource: &str| -> Vec<Verb> {
            CONTROLLER
                .iter()
                .filter(|p| p.group == group && p.resource == resource)
                .flat_map(|p| p.verbs.iter().copied())
                .collect()
        };
        assert_eq!(verbs("", "secrets"), [Get], "Secrets are only read by name");
        let roles: Vec<_> = CONTROLLER
            .iter()
            .filter(|p| p.resource == "clusterroles")
            .collect();
        assert_eq!(roles.len(), 1);
        assert_eq!(roles[0].verbs, [Bind]);
        assert_eq!(roles[0].resource_names, [TENANT_ADMIN_ROLE]);
        assert_eq!(
            TENANT_ADMIN_ROLE,
            crate::tenancy::plan::tenant_admin_role()
                .metadata
                .name
                .as_deref()
                .unwrap_or_default()
        );
        for permission in CONTROLLER {
            assert!(
                !permission.verbs.contains(&Delete)
                    || ["quotarequests", "systemmigrations"].contains(&permission.resource),
                "{} deletes",
                permission.resource
            );
            if permission.group == "coordination.k8s.io" {
                assert_eq!(permission.scope, Scope::OwnNamespace);
            } else {
                assert_eq!(permission.scope, Scope::Cluster, "{}", permission.resource);
            }
        }
    }

    #[test]
    fn requests_are_allowed_by_group_resource_verb_scope_and_name() {
        let t = CONTROLLER;
        assert!(allows(t, &request("get", "", "secrets"), "gov"));
        assert!(!allows(t, &request("list", "", "secrets"), "gov"));
        assert!(!allows(t, &request("get", "apps", "secrets"), "gov"));
        assert!(allows(
            t,
            &request("patch", GOVCLOUD, "tenants/status"),
            "gov"
        ));
        assert!(!allows(
            t,
            &request("update", GOVCLOUD, "tenants/status"),
            "gov"
        ));
        assert!(!allows(
            t,
            &request("get", GOVCLOUD, "tenants/scale"),
            "gov"
        ));
        // The lease: create anywhere in the own namespace, get and update on its name only.
        let leases = request("create", "coordination.k8s.io", "leases");
        let own = Request {
            namespace: Some("gov".to_owned()),
            ..leases.clone()
        };
        assert!(allows(t, &own, "gov"));
        assert!(!allows(t, &own, "other"), "another namespace");
        assert!(!allows(t, &leases, "gov"), "cluster-wide");
        let get = request("get", "coordination.k8s.io", "leases");
        assert!(allows(
            t,
            &named(get.clone(), Some("gov"), "govcloud-controller"),
            "gov"
        ));
        assert!(!allows(
            t,
            &named(get.clone(), Some("gov"), "other-lease"),
            "gov"
        ));
        assert!(!allows(
            t,
            &named(get, Some("kube-system"), "govcloud-controller"),
            "gov"
        ));
        // Bind on one role only; a request without a name never matches names.
        let bind = request("bind", RBAC, "clusterroles");
        assert!(allows(
            t,
            &named(bind.clone(), None, TENANT_ADMIN_ROLE),
            "gov"
        ));
        assert!(!allows(
            t,
            &named(bind.clone(), None, "cluster-admin"),
            "gov"
        ));
        assert!(!allows(t, &bind, "gov"));
        // Owner references without blockOwnerDeletion need nothing on the owner's finalizers.
        assert!(!allows(
            t,
            &named(request("update", GOVCLOUD, "tenants/finalizers"), None, "a"),
            "gov"
        ));
    }

    #[test]
    fn public_paths_are_discovery_and_version_reads() {
        assert!(public_non_resource("get", "/version"));
        assert!(public_non_resource("get", "/apis/govcloud.io/v1alpha1"));
        assert!(public_non_resource("get", "/openapi/v3"));
        assert!(!public_non_resource("post", "/version"));
        assert!(!public_non_resource("get", "/metrics"));
        assert!(!public_non_resource("get", "/versions"));
    }

    fn rule(groups: &[&str], resources: &[&str], names: &[&str], verbs: &[&str]) -> PolicyRule {
        let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        PolicyRule {
            api_groups: Some(owned(groups)),
            resources: Some(owned(resources)),
            resource_names: (!names.is_empty()).then(|| owned(names)),
            verbs: owned(verbs),
            non_resource_urls: None,
        }
    }

    #[test]
    fn the_tables_own_rules_compare_equal_in_each_scope() {
        for scope in [Scope::Cluster, Scope::OwnNamespace] {
            let rules = policy_rules(CONTROLLER, scope);
            let diff = compare(CONTROLLER, scope, &rules).expect("no wildcard");
            assert!(diff.is_empty(), "{scope:?}: {diff}");
        }
        let namespaced = policy_rules(CONTROLLER, Scope::OwnNamespace);
        assert_eq!(
            namespaced,
            [
                rule(&["coordination.k8s.io"], &["leases"], &[], &["create"]),
                rule(
                    &["coordination.k8s.io"],
                    &["leases"],
                    &["govcloud-controller"],
                    &["get", "update"]
                ),
            ]
        );
    }

    #[test]
    fn comparison_names_what_is_missing_and_extra_both_ways() {
        let mut rules = policy_rules(CONTROLLER, Scope::Cluster);
        // Secrets: list too (extra); jobs: no create (missing); grouped rules are fine.
        rules.retain(|r| {
            r.resources.as_deref() != Some(&["secrets".to_owned()])
                && r.resources.as_deref() != Some(&["jobs".to_owned()])
        });
        rules.push(rule(&[""], &["secrets"], &[], &["get", "list"]));
        rules.push(rule(&["batch"], &["jobs"], &[], &["get", "list", "watch"]));
        let diff = compare(CONTROLLER, Scope::Cluster, &rules).expect("no wildcard");
        let show = |grants: &[Grant]| grants.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(show(&diff.missing), ["(batch, jobs, create)"]);
        assert_eq!(show(&diff.extra), ["(core, secrets, list)"]);
        assert!(
            diff.to_string()
                .contains("missing: (batch, jobs, create)\n")
        );
        // A rule without names where the table has one grants more.
        let mut unnamed = policy_rules(CONTROLLER, Scope::OwnNamespace);
        unnamed[1].resource_names = None;
        let diff = compare(CONTROLLER, Scope::OwnNamespace, &unnamed).expect("no wildcard");
        assert!(diff.missing.is_empty());
        assert_eq!(
            show(&diff.extra),
            [
                "(coordination.k8s.io, leases, get)",
                "(coordination.k8s.io, leases, update)"
            ]
        );
        assert_eq!(
            compare(
                CONTROLLER,
                Scope::Cluster,
                &[rule(&["*"], &["pods"], &[], &["get"])]
            ),
            Err(RuleError::Wildcard {
                index: 0,
                field: "apiGroups"
            })
        );
        let mut urls = rule(&[], &[], &[], &["get"]);
        urls.non_resource_urls = Some(vec!["/metrics".to_owned()]);
        assert!(matches!(
            compare(CONTROLLER, Scope::Cluster, &[urls]),
            Err(RuleError::NonResource { index: 0, .. })
        ));
    }

    fn event(agent: &str, verb: &str, object: Option<Value>, code: u16) -> String {
        let mut event = serde_json::json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": verb,
            "requestURI": "/version?timeout=5s", "userAgent": agent,
            "responseStatus": {"metadata": {}, "code": code},
        });
        if let Some(object) = object {
            event["objectRef"] = object;
        }
        event.to_string()
    }

    #[test]
    fn audit_logs_are_read_and_applies_that_create_need_create() {
        let me = "govcloud-controller/0.1.0 (test)";
        let them = "kubectl/v1.33";
        let ns = |name: &str| serde_json::json!({"resource": "namespaces", "apiGroup": "", "name": name});
        let jobs = serde_json::json!({"resource": "jobs", "apiGroup": "batch", "namespace": "a"});
        let log = [
            event(me, "get", None, 200),
            // The seed applies namespace `a`; the controller's apply of it is not a create,
            // its apply of `b` is.
            event(them, "patch", Some(ns("a")), 200),
            event(me, "patch", Some(ns("a")), 200),
            event(me, "patch", Some(ns("b")), 200),
            event(me, "patch", Some(ns("b")), 200),
            // A failed patch creates nothing.
            event(me, "patch", Some(ns("c")), 404),
            // After a create in a collection, a patch there may address it: not a create.
            event(them, "create", Some(jobs.clone()), 201),
            event(
                me,
                "patch",
                Some({
                    let mut j = jobs.clone();
                    j["name"] = serde_json::json!("j");
                    j
                }),
                200,
            ),
            String::new(),
        ]
        .join("\n");
        let events = parse_audit_log(&log).expect("events");
        assert_eq!(events.len(), 8);
        let (requests, non_resource) = requests_of(&events, me);
        assert_eq!(non_resource, [("get".to_owned(), "/version".to_owned())]);
        let shown: Vec<String> = requests.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "patch core namespaces named a",
                "patch core namespaces named b",
                "create core namespaces named b",
                "patch core namespaces named b",
                "patch core namespaces named c",
                "patch batch jobs in namespace a named j",
            ]
        );
        assert_eq!(
            unpermitted(CONTROLLER, &log, me, "gov").expect("a log"),
            ["patch batch jobs in namespace a named j"]
        );
        let error = parse_audit_log("{\"verb\": \"get\"}\nnot json").expect_err("bad lines");
        assert_eq!(error.line, 1);
        assert!(error.to_string().contains("responseStatus"), "{error}");
    }

    #[test]
    fn on_write_checks_name_writes_the_table_requests() {
        for permission in CONTROLLER {
            if let Check::OnWrite { writes } = permission.check {
                for (group, resource) in writes {
                    let requested = CONTROLLER.iter().any(|p| {
                        p.group == *group
                            && p.resource == *resource
                            && p.check == Check::Requested
                            && p.verbs.contains(&Create)
                    });
                    assert!(requested, "{}: {group}/{resource}", permission.resource);
                }
            }
        }
    }
}
