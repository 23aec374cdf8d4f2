//! The table itself: what the controller calls on the API server, entry by entry, with the code
//! that needs it.

use std::fmt;

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

pub(super) const GOVCLOUD: &str = "govcloud.io";
pub(super) const CORE: &str = "";
pub(super) const RBAC: &str = "rbac.authorization.k8s.io";
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
        why: "announcement::publish (kube's Recorder): create, and patch the series of an \
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
