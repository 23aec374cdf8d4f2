//! The pure planner of a tenant: validates it against the hierarchy, splits its quota over its
//! namespaces and builds the objects the reconciler applies in each (`Namespace`,
//! `ResourceQuota`, `LimitRange`, `NetworkPolicy`, `RoleBinding`) and the shared tenant-admin
//! `ClusterRole`. No I/O and no client: tested with plain `#[test]`s.
//!
//! The quota arithmetic (see `docs/adr/0005-tenant-hierarchy-and-quota.md`): a tenant's own
//! namespaces share its quota minus what its children hold (`own = quota − delegated`, never
//! below zero); each extra namespace gets its `quotaPercent` of `own`, rounded down, and the
//! default namespace the rest, so the namespaces' quotas add up to `own` exactly and never to
//! more than the tenant's quota.

use std::collections::{BTreeMap, BTreeSet};

use govcloud_crds::Tenant;
use govcloud_crds::quantity::{Amount, ResourceKind};
use govcloud_crds::tenancy::tenant::{ContainerDefaults, OwnerKind, TenantNamespace};
use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

use super::hierarchy::{Hierarchy, ParentLink};
use super::quota::{InvalidAmount, Quota};

/// Label on every namespace of a tenant (and on the objects the controller writes in it).
pub const TENANT_LABEL: &str = "govcloud.io/tenant";
/// Label operations put on platform namespaces (ingress, monitoring) whose pods may reach every
/// tenant; tenants cannot label namespaces, so they cannot claim it.
pub const PLATFORM_LABEL: &str = "govcloud.io/platform";
/// The standard label naming the tool that manages an object.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value on the objects the controller writes.
pub const MANAGED_BY: &str = "govcloud-controller";
/// Name of the `ResourceQuota` in each tenant namespace.
pub const QUOTA_NAME: &str = "govcloud-quota";
/// Name of the `LimitRange` in each tenant namespace.
pub const LIMIT_RANGE_NAME: &str = "govcloud-defaults";
/// Name of the `NetworkPolicy` in each tenant namespace.
pub const NETWORK_POLICY_NAME: &str = "govcloud-tenant-isolation";
/// Name of the `RoleBinding` in each tenant namespace.
pub const ROLE_BINDING_NAME: &str = "govcloud-tenant-admins";
/// The `ClusterRole` the owners of every tenant are bound to, in their namespaces only.
pub const TENANT_ADMIN_ROLE: &str = "govcloud-tenant-admin";

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Why a tenant cannot be planned. Each is permanent: only a change of the tenant (or of
/// another tenant it refers to) can fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// An amount in the spec is not a quantity.
    #[error(transparent)]
    Quantity(#[from] InvalidAmount),
    /// The tenant is part of a cycle of parents.
    #[error("spec.parent: the tenant hierarchy has a cycle: {}", .cycle.join(" → "))]
    ParentCycle {
        /// From the tenant back to itself.
        cycle: Vec<String>,
    },
    /// A namespace of the platform.
    #[error("{field}: namespace \"{namespace}\" is reserved for the platform")]
    ReservedNamespace { field: String, namespace: String },
    /// The same namespace twice (or the default one listed).
    #[error(
        "{field}: namespace \"{namespace}\" is listed twice (the default namespace, named after the tenant, is always included)"
    )]
    DuplicateNamespace { field: String, namespace: String },
    /// A namespace another tenant holds.
    #[error("{field}: namespace \"{namespace}\" belongs to tenant \"{holder}\"")]
    NamespaceHeld {
        field: String,
        namespace: String,
        holder: String,
    },
    /// The extra namespaces' shares exceed 100 %.
    #[error("spec.namespaces: the quota shares add up to {total}%, more than 100% ({shares})")]
    SharesExceeded { total: u32, shares: String },
    /// A default request above the default limit.
    #[error(
        "spec.containerDefaults: requests.{resource} ({request}) is more than limits.{resource} ({limit})"
    )]
    ContainerDefaults {
        resource: ResourceKind,
        request: String,
        limit: String,
    },
}

impl PlanError {
    /// Static category: condition reason, event reason and metric label.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Quantity(_) => "InvalidQuantity",
            Self::ParentCycle { .. } => "ParentCycle",
            Self::ReservedNamespace { .. } => "ReservedNamespace",
            Self::DuplicateNamespace { .. } => "DuplicateNamespace",
            Self::NamespaceHeld { .. } => "NamespaceConflict",
            Self::SharesExceeded { .. } => "NamespaceSharesExceeded",
            Self::ContainerDefaults { .. } => "InvalidContainerDefaults",
        }
    }
}

/// Whether `namespace` is one tenants may not hold: `default`, `kube-*`, `govcloud-system`.
pub fn is_reserved_namespace(namespace: &str) -> bool {
    namespace == "default" || namespace == "govcloud-system" || namespace.starts_with("kube-")
}

/// The parent of a validated tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parent {
    /// A root tenant.
    Root,
    /// The parent exists.
    Present(String),
    /// The parent does not exist (yet).
    Missing(String),
}

/// One namespace of a tenant and its share of the quota.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceShare {
    /// Namespace name.
    pub name: String,
    /// `quotaPercent`; `None` for the default namespace, which gets the rest.
    pub percent: Option<u8>,
    /// Its `ResourceQuota`.
    pub quota: Quota,
}

/// Default requests and limits of containers that declare none (CPU and memory; storage is
/// requested by volumes, which the quota bounds directly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerLimits {
    pub request_cpu: Amount,
    pub request_memory: Amount,
    pub limit_cpu: Amount,
    pub limit_memory: Amount,
}

impl Default for ContainerLimits {
    /// When a tenant says nothing: request 100m CPU and 128Mi memory, limit 1 CPU and 512Mi.
    fn default() -> Self {
        Self {
            request_cpu: Amount::from_milli(100),
            request_memory: Amount::from_milli(128 * 1024 * 1024 * 1000),
            limit_cpu: Amount::from_milli(1000),
            limit_memory: Amount::from_milli(512 * 1024 * 1024 * 1000),
        }
    }
}

/// A tenant that passed validation, with its quota arithmetic done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validated {
    /// The tenant's quota (`spec.quota`).
    pub quota: Quota,
    /// The direct children and their quotas, by name.
    pub children: Vec<(String, Quota)>,
    /// The sum of the children's quotas.
    pub delegated: Quota,
    /// What is left for the tenant's own namespaces: `quota − delegated`, never below zero.
    pub own: Quota,
    /// The namespaces, the default one first, with their shares of `own`.
    pub namespaces: Vec<NamespaceShare>,
    /// The parent.
    pub parent: Parent,
    /// The `LimitRange` defaults.
    pub limits: ContainerLimits,
}

impl Validated {
    /// The names of the namespaces.
    pub fn namespace_names(&self) -> Vec<String> {
        self.namespaces.iter().map(|n| n.name.clone()).collect()
    }
}

/// Validates `tenant` (named `name`) against the hierarchy and does its quota arithmetic.
pub fn validate(
    name: &str,
    tenant: &Tenant,
    hierarchy: &Hierarchy<'_>,
) -> Result<Validated, PlanError> {
    let quota = Quota::from_spec(&tenant.spec.quota, "spec.quota")?;
    if let Some(cycle) = hierarchy.cycle(name) {
        return Err(PlanError::ParentCycle { cycle });
    }
    check_namespaces(name, &tenant.spec.namespaces, hierarchy)?;
    let total: u32 = tenant
        .spec
        .namespaces
        .iter()
        .map(|n| u32::from(n.quota_percent))
        .sum();
    if total > 100 {
        let shares = tenant
            .spec
            .namespaces
            .iter()
            .map(|n| format!("{} {}%", n.name, n.quota_percent))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(PlanError::SharesExceeded { total, shares });
    }
    let limits = container_limits(tenant.spec.container_defaults.as_ref())?;
    // A child whose own quota is unreadable reports that itself; it holds nothing here.
    let children: Vec<(String, Quota)> = hierarchy
        .children(name)
        .into_iter()
        .filter_map(|child| {
            let child_name = child.metadata.name.clone()?;
            let child_quota = Quota::from_spec(&child.spec.quota, "spec.quota").ok()?;
            Some((child_name, child_quota))
        })
        .collect();
    let delegated = children
        .iter()
        .fold(Quota::ZERO, |sum, (_, q)| sum.plus(*q));
    let own = quota.minus_floor_zero(delegated);
    let parent = match hierarchy.parent(tenant) {
        ParentLink::None => Parent::Root,
        ParentLink::Present(p) => Parent::Present(p.metadata.name.clone().unwrap_or_default()),
        ParentLink::Missing(p) => Parent::Missing(p.to_owned()),
    };
    Ok(Validated {
        quota,
        children,
        delegated,
        own,
        namespaces: split(name, own, &tenant.spec.namespaces),
        parent,
        limits,
    })
}

fn check_namespaces(
    name: &str,
    extra: &[TenantNamespace],
    hierarchy: &Hierarchy<'_>,
) -> Result<(), PlanError> {
    if is_reserved_namespace(name) {
        return Err(PlanError::ReservedNamespace {
            field: "metadata.name".into(),
            namespace: name.into(),
        });
    }
    let mut seen = BTreeSet::from([name]);
    for (index, namespace) in extra.iter().enumerate() {
        let field = format!("spec.namespaces[{index}].name");
        let ns = namespace.name.as_str();
        if is_reserved_namespace(ns) {
            return Err(PlanError::ReservedNamespace {
                field,
                namespace: ns.into(),
            });
        }
        if !seen.insert(ns) {
            return Err(PlanError::DuplicateNamespace {
                field,
                namespace: ns.into(),
            });
        }
        if let Some(holder) = hierarchy.namespace_holder(ns).filter(|h| *h != name) {
            return Err(PlanError::NamespaceHeld {
                field,
                namespace: ns.into(),
                holder: holder.into(),
            });
        }
    }
    Ok(())
}

/// Splits `own` over the default namespace `default` and the `extra` ones: each extra gets its
/// percentage (rounded down), the default one the rest. The shares add up to `own` exactly
/// when the percentages add up to at most 100.
pub fn split(default: &str, own: Quota, extra: &[TenantNamespace]) -> Vec<NamespaceShare> {
    let extras: Vec<NamespaceShare> = extra
        .iter()
        .map(|ns| NamespaceShare {
            name: ns.name.clone(),
            percent: Some(ns.quota_percent),
            quota: own.share(ns.quota_percent),
        })
        .collect();
    let given = extras.iter().fold(Quota::ZERO, |sum, s| sum.plus(s.quota));
    let mut shares = vec![NamespaceShare {
        name: default.to_owned(),
        percent: None,
        quota: own.minus_floor_zero(given),
    }];
    shares.extend(extras);
    shares
}

fn container_limits(defaults: Option<&ContainerDefaults>) -> Result<ContainerLimits, PlanError> {
    let base = ContainerLimits::default();
    let requests = defaults.and_then(|d| d.requests.as_ref());
    let limits = defaults.and_then(|d| d.limits.as_ref());
    let read = |amounts: Option<&govcloud_crds::common::ResourceAmounts>, path: &str| {
        amounts.map_or_else(
            || Ok(super::quota::Partial::new()),
            |a| super::quota::partial_from_amounts(a, path),
        )
    };
    let requests = read(requests, "spec.containerDefaults.requests")?;
    let limits = read(limits, "spec.containerDefaults.limits")?;
    let resolve = |resource: ResourceKind, default_request: Amount, default_limit: Amount| match (
        requests.get(&resource),
        limits.get(&resource),
    ) {
        (Some(request), Some(limit)) if request > limit => Err(PlanError::ContainerDefaults {
            resource,
            request: request.human(resource),
            limit: limit.human(resource),
        }),
        (Some(request), Some(limit)) => Ok((*request, *limit)),
        (Some(request), None) => Ok((*request, default_limit.max(*request))),
        (None, Some(limit)) => Ok((default_request.min(*limit), *limit)),
        (None, None) => Ok((default_request, default_limit)),
    };
    let (request_cpu, limit_cpu) = resolve(ResourceKind::Cpu, base.request_cpu, base.limit_cpu)?;
    let (request_memory, limit_memory) =
        resolve(ResourceKind::Memory, base.request_memory, base.limit_memory)?;
    Ok(ContainerLimits {
        request_cpu,
        request_memory,
        limit_cpu,
        limit_memory,
    })
}

/// What the controller writes into one namespace of a tenant.
#[derive(Clone, Debug, PartialEq)]
pub struct NamespacePlan {
    pub namespace: Namespace,
    pub resource_quota: ResourceQuota,
    pub limit_range: LimitRange,
    pub network_policy: NetworkPolicy,
    pub role_binding: RoleBinding,
}

/// The labels of everything written for `tenant`.
pub fn labels(tenant: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TENANT_LABEL.to_owned(), tenant.to_owned()),
        (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
    ])
}

fn meta(name: &str, namespace: Option<&str>, tenant: &str, owner: &OwnerReference) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(labels(tenant)),
        owner_references: Some(vec![owner.clone()]),
        ..ObjectMeta::default()
    }
}

/// The objects of every namespace of the validated tenant `name`, owned by `owner` (the
/// tenant's controller reference), so that deleting the tenant deletes them.
pub fn build(
    name: &str,
    tenant: &Tenant,
    validated: &Validated,
    owner: &OwnerReference,
) -> Vec<NamespacePlan> {
    validated
        .namespaces
        .iter()
        .map(|share| {
            let ns = share.name.as_str();
            NamespacePlan {
                namespace: Namespace {
                    metadata: meta(ns, None, name, owner),
                    ..Namespace::default()
                },
                resource_quota: resource_quota(ns, name, share.quota, owner),
                limit_range: limit_range(ns, name, &validated.limits, owner),
                network_policy: network_policy(ns, name, &tenant.spec.allow_traffic_from, owner),
                role_binding: role_binding(ns, name, tenant, owner),
            }
        })
        .collect()
}

/// The `ResourceQuota` of `namespace` holding `quota`.
pub fn resource_quota(
    namespace: &str,
    tenant: &str,
    quota: Quota,
    owner: &OwnerReference,
) -> ResourceQuota {
    ResourceQuota {
        metadata: meta(QUOTA_NAME, Some(namespace), tenant, owner),
        spec: Some(ResourceQuotaSpec {
            hard: Some(quota.to_quota_hard()),
            ..ResourceQuotaSpec::default()
        }),
        status: None,
    }
}

fn limit_range(
    namespace: &str,
    tenant: &str,
    limits: &ContainerLimits,
    owner: &OwnerReference,
) -> LimitRange {
    let pair = |cpu: Amount, memory: Amount| -> BTreeMap<String, Quantity> {
        BTreeMap::from([
            ("cpu".to_owned(), cpu.to_quantity(ResourceKind::Cpu)),
            (
                "memory".to_owned(),
                memory.to_quantity(ResourceKind::Memory),
            ),
        ])
    };
    LimitRange {
        metadata: meta(LIMIT_RANGE_NAME, Some(namespace), tenant, owner),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".to_owned(),
                default: Some(pair(limits.limit_cpu, limits.limit_memory)),
                default_request: Some(pair(limits.request_cpu, limits.request_memory)),
                ..LimitRangeItem::default()
            }],
        }),
    }
}

fn namespaces_labelled(key: &str, value: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(key.to_owned(), value.to_owned())])),
            match_expressions: None,
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn network_policy(
    namespace: &str,
    tenant: &str,
    allow_from: &[String],
    owner: &OwnerReference,
) -> NetworkPolicy {
    let mut peers = vec![namespaces_labelled(TENANT_LABEL, tenant)];
    let allowed: BTreeSet<&str> = allow_from
        .iter()
        .map(String::as_str)
        .filter(|t| *t != tenant)
        .collect();
    peers.extend(
        allowed
            .into_iter()
            .map(|t| namespaces_labelled(TENANT_LABEL, t)),
    );
    peers.push(namespaces_labelled(PLATFORM_LABEL, "true"));
    NetworkPolicy {
        metadata: meta(NETWORK_POLICY_NAME, Some(namespace), tenant, owner),
        spec: Some(NetworkPolicySpec {
            // Every pod of the namespace; ingress only from the peers above.
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(peers),
                ports: None,
            }]),
            egress: None,
        }),
    }
}

fn role_binding(
    namespace: &str,
    tenant_name: &str,
    tenant: &Tenant,
    owner: &OwnerReference,
) -> RoleBinding {
    let subjects = tenant
        .spec
        .owners
        .iter()
        .map(|o| Subject {
            api_group: Some(RBAC_GROUP.to_owned()),
            kind: match o.kind {
                OwnerKind::Group => "Group",
                OwnerKind::User => "User",
            }
            .to_owned(),
            name: o.name.clone(),
            namespace: None,
        })
        .collect();
    RoleBinding {
        metadata: meta(ROLE_BINDING_NAME, Some(namespace), tenant_name, owner),
        role_ref: RoleRef {
            api_group: Some(RBAC_GROUP.to_owned()),
            kind: "ClusterRole".to_owned(),
            name: TENANT_ADMIN_ROLE.to_owned(),
        },
        subjects: Some(subjects),
    }
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(resources.iter().map(|r| (*r).to_owned()).collect()),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

/// The role tenant owners get in their namespaces (through a `RoleBinding`, so never beyond
/// them): full control of workloads, configuration and volume claims; read-only access to
/// what the controller writes (quota, limits, network policy, role bindings) and to govcloud's
/// namespaced objects, which change through the API.
pub fn tenant_admin_role() -> ClusterRole {
    const ALL: &[&str] = &[
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    ];
    const READ: &[&str] = &["get", "list", "watch"];
    ClusterRole {
        metadata: ObjectMeta {
            name: Some(TENANT_ADMIN_ROLE.to_owned()),
            labels: Some(BTreeMap::from([(
                MANAGED_BY_LABEL.to_owned(),
                MANAGED_BY.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        rules: Some(vec![
            rule(
                "",
                &[
                    "pods",
                    "pods/log",
                    "pods/exec",
                    "pods/portforward",
                    "services",
                    "endpoints",
                    "configmaps",
                    "secrets",
                    "persistentvolumeclaims",
                    "serviceaccounts",
                ],
                ALL,
            ),
            rule(
                "apps",
                &[
                    "deployments",
                    "deployments/scale",
                    "statefulsets",
                    "statefulsets/scale",
                    "daemonsets",
                    "replicasets",
                ],
                ALL,
            ),
            rule("batch", &["jobs", "cronjobs"], ALL),
            rule("autoscaling", &["horizontalpodautoscalers"], ALL),
            rule("policy", &["poddisruptionbudgets"], ALL),
            rule("networking.k8s.io", &["ingresses"], ALL),
            rule("", &["events", "resourcequotas", "limitranges"], READ),
            rule("events.k8s.io", &["events"], READ),
            rule("networking.k8s.io", &["networkpolicies"], READ),
            rule(RBAC_GROUP, &["roles", "rolebindings"], READ),
            rule(
                govcloud_crds::GROUP,
                &[
                    "systemmigrations",
                    "disasterrecoveryplans",
                    "disasterrecoverydrills",
                ],
                READ,
            ),
        ]),
        aggregation_rule: None,
    }
}

/// How an existing namespace relates to the tenant that wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamespaceClaim {
    /// Nobody else's: the tenant may take it (it gets the tenant's label and owner reference).
    Free,
    /// Already the tenant's.
    Ours,
    /// Being deleted, or still controlled by a deleted tenant of the same name: wait for the
    /// garbage collector.
    Wait(String),
    /// Another tenant's or another controller's: refuse.
    Foreign(String),
}

/// Whether the tenant `tenant` (uid `uid`) may write into the existing `namespace`.
pub fn claim(namespace: &Namespace, tenant: &str, uid: &str) -> NamespaceClaim {
    let name = namespace.metadata.name.as_deref().unwrap_or_default();
    if namespace.metadata.deletion_timestamp.is_some() {
        return NamespaceClaim::Wait(format!("namespace \"{name}\" is being deleted"));
    }
    if let Some(other) = namespace
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(TENANT_LABEL))
        .filter(|t| t.as_str() != tenant)
    {
        return NamespaceClaim::Foreign(format!(
            "namespace \"{name}\" is labelled {TENANT_LABEL}={other}"
        ));
    }
    let controller = namespace
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    match controller {
        None => NamespaceClaim::Free,
        Some(o) if o.kind == "Tenant" && o.api_version.starts_with(govcloud_crds::GROUP) => {
            if o.uid == uid {
                NamespaceClaim::Ours
            } else if o.name == tenant {
                NamespaceClaim::Wait(format!(
                    "namespace \"{name}\" still belongs to an earlier tenant \"{tenant}\" (uid {}) that the garbage collector has not removed yet",
                    o.uid
                ))
            } else {
                NamespaceClaim::Foreign(format!(
                    "namespace \"{name}\" belongs to tenant \"{}\"",
                    o.name
                ))
            }
        }
        Some(o) => NamespaceClaim::Foreign(format!(
            "namespace \"{name}\" is controlled by {} {}",
            o.kind, o.name
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::testing::{share, tenant};
    use govcloud_crds::common::ResourceAmounts;

    fn owner(name: &str) -> OwnerReference {
        OwnerReference {
            api_version: "govcloud.io/v1alpha1".into(),
            kind: "Tenant".into(),
            name: name.into(),
            uid: format!("uid-{name}"),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    fn amount(text: &str) -> Amount {
        Amount::parse(text).expect(text)
    }

    #[test]
    fn a_parent_keeps_its_quota_minus_what_its_children_hold() {
        let mut city = tenant("city", None, "100");
        city.spec.namespaces = vec![share("city-shared", 25)];
        let all = [
            city.clone(),
            tenant("a", Some("city"), "30"),
            tenant("b", Some("city"), "10"),
        ];
        let hierarchy = Hierarchy::new(&all);
        let validated = validate("city", &city, &hierarchy).expect("valid");
        assert_eq!(validated.delegated.cpu, amount("40"));
        assert_eq!(validated.own.cpu, amount("60"));
        assert_eq!(validated.namespace_names(), ["city", "city-shared"]);
        assert_eq!(validated.namespaces[1].quota.cpu, amount("15"));
        assert_eq!(validated.namespaces[0].quota.cpu, amount("45"));
        assert_eq!(validated.namespaces[0].quota.memory, amount("45Gi"));
        assert_eq!(validated.parent, Parent::Root);
        let children: Vec<_> = validated.children.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(children, ["a", "b"]);
    }

    #[test]
    fn over_delegation_leaves_nothing_for_the_parent_but_never_goes_negative() {
        let city = tenant("city", None, "10");
        let all = [city.clone(), tenant("a", Some("city"), "30")];
        let validated = validate("city", &city, &Hierarchy::new(&all)).expect("valid");
        assert_eq!(validated.own, Quota::ZERO);
        assert_eq!(validated.namespaces[0].quota, Quota::ZERO);
    }

    #[test]
    fn shares_over_100_percent_are_refused_naming_spec_namespaces() {
        let mut police = tenant("police", None, "10");
        police.spec.namespaces = vec![share("video", 60), share("traffic", 50)];
        let error = validate("police", &police, &Hierarchy::new([&police])).expect_err("110%");
        assert_eq!(error.category(), "NamespaceSharesExceeded");
        assert_eq!(
            error.to_string(),
            "spec.namespaces: the quota shares add up to 110%, more than 100% (video 60%, traffic 50%)"
        );
    }

    #[test]
    fn cycles_missing_parents_and_namespace_conflicts() {
        let all = [tenant("a", Some("b"), "1"), tenant("b", Some("a"), "1")];
        let error = validate("a", &all[0], &Hierarchy::new(&all)).expect_err("cycle");
        assert_eq!(
            error.to_string(),
            "spec.parent: the tenant hierarchy has a cycle: a → b → a"
        );
        assert_eq!(error.category(), "ParentCycle");

        let orphan = tenant("orphan", Some("gone"), "1");
        let validated = validate("orphan", &orphan, &Hierarchy::new([&orphan])).expect("valid");
        assert_eq!(validated.parent, Parent::Missing("gone".into()));

        let mut greedy = tenant("greedy", None, "1");
        greedy.spec.namespaces = vec![share("other", 10)];
        let other = tenant("other", None, "1");
        let all = [greedy.clone(), other];
        let error = validate("greedy", &greedy, &Hierarchy::new(&all)).expect_err("held");
        assert_eq!(
            error.to_string(),
            "spec.namespaces[0].name: namespace \"other\" belongs to tenant \"other\""
        );

        let mut twice = tenant("twice", None, "1");
        twice.spec.namespaces = vec![share("twice", 10)];
        let error = validate("twice", &twice, &Hierarchy::new([&twice])).expect_err("dup");
        assert_eq!(error.category(), "DuplicateNamespace");

        let system = tenant("kube-system", None, "1");
        let error =
            validate("kube-system", &system, &Hierarchy::new([&system])).expect_err("reserved");
        assert_eq!(
            error.to_string(),
            "metadata.name: namespace \"kube-system\" is reserved for the platform"
        );
    }

    #[test]
    fn container_defaults_fill_in_and_refuse_requests_above_limits() {
        let mut t = tenant("t", None, "1");
        assert_eq!(
            validate("t", &t, &Hierarchy::new([&t])).expect("ok").limits,
            ContainerLimits::default()
        );
        t.spec.container_defaults = Some(ContainerDefaults {
            requests: Some(ResourceAmounts {
                cpu: Some(Quantity("2".into())),
                memory: None,
                storage: None,
            }),
            limits: Some(ResourceAmounts {
                cpu: None,
                memory: Some(Quantity("64Mi".into())),
                storage: None,
            }),
        });
        let limits = validate("t", &t, &Hierarchy::new([&t])).expect("ok").limits;
        assert_eq!(limits.request_cpu, amount("2"));
        assert_eq!(
            limits.limit_cpu,
            amount("2"),
            "a limit never below the request"
        );
        assert_eq!(limits.limit_memory, amount("64Mi"));
        assert_eq!(
            limits.request_memory,
            amount("64Mi"),
            "a request never above the limit"
        );

        t.spec.container_defaults = Some(ContainerDefaults {
            requests: Some(ResourceAmounts {
                cpu: Some(Quantity("4".into())),
                memory: None,
                storage: None,
            }),
            limits: Some(ResourceAmounts {
                cpu: Some(Quantity("2".into())),
                memory: None,
                storage: None,
            }),
        });
        let error = validate("t", &t, &Hierarchy::new([&t])).expect_err("4 > 2");
        assert_eq!(
            error.to_string(),
            "spec.containerDefaults: requests.cpu (4 cores) is more than limits.cpu (2 cores)"
        );
    }

    #[test]
    fn built_objects_carry_labels_owner_and_the_split() {
        let mut finance = tenant("finance", None, "8");
        finance.spec.namespaces = vec![share("finance-batch", 50)];
        finance.spec.allow_traffic_from = vec!["ndrc".into(), "finance".into()];
        let validated = validate("finance", &finance, &Hierarchy::new([&finance])).expect("ok");
        let plans = build("finance", &finance, &validated, &owner("finance"));
        assert_eq!(plans.len(), 2);
        let batch = &plans[1];
        assert_eq!(
            batch.namespace.metadata.name.as_deref(),
            Some("finance-batch")
        );
        assert_eq!(
            batch.namespace.metadata.labels.as_ref().expect("labels")[TENANT_LABEL],
            "finance"
        );
        for meta in [
            &batch.namespace.metadata,
            &batch.resource_quota.metadata,
            &batch.limit_range.metadata,
            &batch.network_policy.metadata,
            &batch.role_binding.metadata,
        ] {
            assert_eq!(meta.owner_references, Some(vec![owner("finance")]));
        }
        let hard = batch
            .resource_quota
            .spec
            .as_ref()
            .and_then(|s| s.hard.clone())
            .expect("hard");
        assert_eq!(hard["requests.cpu"], Quantity("4".into()));
        assert_eq!(hard["requests.memory"], Quantity("4Gi".into()));
        assert_eq!(hard["requests.storage"], Quantity("4Ti".into()));
        let policy = serde_json::to_value(&batch.network_policy).expect("json");
        assert_eq!(
            policy["spec"]["ingress"][0]["from"],
            serde_json::json!([
                {"namespaceSelector": {"matchLabels": {"govcloud.io/tenant": "finance"}}},
                {"namespaceSelector": {"matchLabels": {"govcloud.io/tenant": "ndrc"}}},
                {"namespaceSelector": {"matchLabels": {"govcloud.io/platform": "true"}}},
            ])
        );
        assert_eq!(policy["spec"]["podSelector"], serde_json::json!({}));
        let binding = serde_json::to_value(&batch.role_binding).expect("json");
        assert_eq!(
            binding["subjects"],
            serde_json::json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "finance-admins"}])
        );
        assert_eq!(binding["roleRef"]["name"], TENANT_ADMIN_ROLE);
        let limits = serde_json::to_value(&batch.limit_range).expect("json");
        assert_eq!(
            limits["spec"]["limits"][0],
            serde_json::json!({
                "type": "Container",
                "default": {"cpu": "1", "memory": "512Mi"},
                "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
            })
        );
    }

    #[test]
    fn namespace_claims() {
        let ns = |labels: &[(&str, &str)], owner: Option<OwnerReference>| Namespace {
            metadata: ObjectMeta {
                name: Some("x".into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                owner_references: owner.map(|o| vec![o]),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        assert_eq!(claim(&ns(&[], None), "t", "uid-t"), NamespaceClaim::Free);
        assert_eq!(
            claim(&ns(&[(TENANT_LABEL, "t")], Some(owner("t"))), "t", "uid-t"),
            NamespaceClaim::Ours
        );
        assert!(matches!(
            claim(&ns(&[(TENANT_LABEL, "u")], None), "t", "uid-t"),
            NamespaceClaim::Foreign(_)
        ));
        assert!(matches!(
            claim(&ns(&[], Some(owner("t"))), "t", "uid-other"),
            NamespaceClaim::Wait(_)
        ));
        assert!(matches!(
            claim(&ns(&[], Some(owner("u"))), "t", "uid-t"),
            NamespaceClaim::Foreign(_)
        ));
    }

    /// A small deterministic generator (xorshift), so the invariant test needs no extra crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound
        }
    }

    #[test]
    fn invariant_namespace_quotas_add_up_to_what_is_left_and_never_exceed_the_quota() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..2000 {
            let quota = Quota {
                cpu: Amount::from_milli(i128::from(rng.next(10_000_000))),
                memory: Amount::from_milli(i128::from(rng.next(1 << 50)) * 1000),
                storage: Amount::from_milli(i128::from(rng.next(1 << 55)) * 1000),
            };
            let delegated = quota.map(|_, a| {
                // Sometimes more than the quota (an over-committed parent).
                Amount::from_milli(a.milli() * i128::from(rng.next(150)) / 100)
            });
            let mut left = 100;
            let extra: Vec<_> = (0..rng.next(5))
                .map(|i| {
                    let percent = u8::try_from(rng.next(left + 1)).expect("≤ 100");
                    left -= u64::from(percent);
                    share(&format!("ns-{i}"), percent.clamp(1, 100))
                })
                .collect();
            let total: u32 = extra.iter().map(|n| u32::from(n.quota_percent)).sum();
            if total > 100 {
                continue;
            }
            let own = quota.minus_floor_zero(delegated);
            let shares = split("default-ns", own, &extra);
            let sum = shares.iter().fold(Quota::ZERO, |s, n| s.plus(n.quota));
            assert_eq!(sum, own, "case {case}: shares add up to what is left");
            assert!(sum.fits_in(&quota), "case {case}: never above the quota");
            assert!(
                shares.iter().all(|s| ResourceKind::ALL
                    .iter()
                    .all(|r| !s.quota.get(*r).is_negative())),
                "case {case}: no negative share"
            );
            if delegated.fits_in(&quota) {
                assert_eq!(own.plus(delegated), quota, "case {case}: nothing lost");
            }
        }
    }
}
