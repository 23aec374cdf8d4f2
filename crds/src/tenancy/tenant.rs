//! `Tenant`: a department or county of the city, owning namespaces and a share of the cloud.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{DIVISION_CODE, DNS_LABEL, QuotaAmounts, ResourceList, resource_list_schema};

/// A department (市级部门), a county (县/区) or a township of the city, as a tenant of the
/// government cloud. The tenant owns namespaces; in each the controller writes a `ResourceQuota`,
/// a `LimitRange`, a `NetworkPolicy` that denies traffic from other tenants and a `RoleBinding`
/// for its owners. A tenant may be the child of another: the children's quotas must fit inside
/// the parent's.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "Tenant",
    status = "TenantStatus",
    shortname = "tn",
    category = "govcloud",
    doc = "A department, county or township using the municipal government cloud.",
    printcolumn(name = "Display Name", type_ = "string", json_path = ".spec.displayName"),
    printcolumn(name = "Level", type_ = "string", json_path = ".spec.level"),
    printcolumn(name = "Parent", type_ = "string", json_path = ".spec.parent"),
    printcolumn(name = "CPU", type_ = "string", json_path = ".spec.quota.cpu"),
    printcolumn(name = "Memory", type_ = "string", json_path = ".spec.quota.memory"),
    printcolumn(name = "Storage", type_ = "string", json_path = ".spec.quota.storage", priority = 1),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("!has(self.spec.parent) || self.spec.parent != self.metadata.name").message("a tenant cannot be its own parent").field_path(".spec.parent"),
    validation = Rule::new("self.metadata.name != 'default' && self.metadata.name != 'govcloud-system' && !self.metadata.name.startsWith('kube-')").message("a tenant cannot be named after a namespace reserved for the platform").field_path(".metadata.name"),
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.level != 'City' || !has(self.parent)").message("a City tenant is the root of the hierarchy and has no parent"),
    validation = Rule::new("!has(self.namespaces) || self.namespaces.all(n, n.name != 'default' && n.name != 'govcloud-system' && !n.name.startsWith('kube-'))").message("default, govcloud-system and kube-* namespaces are reserved for the platform").field_path(".namespaces")
)]
pub struct TenantSpec {
    /// Name shown to people, usually the Chinese name (e.g. `安康市财政局`).
    #[schemars(length(min = 1, max = 128))]
    pub display_name: String,
    /// Level of the tenant in the administrative hierarchy.
    pub level: TenantLevel,
    /// GB/T 2260 division code of the area the tenant serves (`610900` for Ankang city).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DIVISION_CODE))]
    pub division_code: Option<String>,
    /// Name of the parent tenant; the children's quotas must fit inside the parent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub parent: Option<String>,
    /// Groups and users who administer the tenant (bound to the tenant-admin role).
    #[schemars(length(min = 1, max = 32))]
    pub owners: Vec<TenantOwner>,
    /// Who to contact about the tenant's use of the cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// The tenant's total quota, across all of its namespaces.
    pub quota: QuotaAmounts,
    /// Namespaces beyond the default one (named after the tenant), each with its share of the
    /// quota in percent; the default namespace gets what is left. The shares must not exceed 100.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub namespaces: Vec<TenantNamespace>,
    /// Default requests and limits for containers that declare none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_defaults: Option<ContainerDefaults>,
    /// Other tenants allowed to send traffic to this tenant's namespaces (all others are denied).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(regex(pattern = DNS_LABEL)))]
    pub allow_traffic_from: Vec<String>,
}

/// Level of a tenant: `City` (the city itself), `Department` (市级部门), `County` (县/区) or
/// `Township` (乡镇/街道).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum TenantLevel {
    City,
    Department,
    County,
    Township,
}

/// A group or user who administers a tenant.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TenantOwner {
    /// `Group` or `User`, as in a `RoleBinding` subject.
    pub kind: OwnerKind,
    /// Group or user name as the identity provider reports it.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Kind of a tenant owner: `Group` or `User`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum OwnerKind {
    Group,
    User,
}

/// A person or office to contact.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Name of the person or office.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(email, length(max = 254))]
    pub email: Option<String>,
    /// Telephone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^\+?[0-9 ()-]{5,24}$"))]
    pub phone: Option<String>,
}

/// An extra namespace of a tenant.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TenantNamespace {
    /// Namespace name.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub name: String,
    /// Share of the tenant's quota for this namespace, in percent.
    #[schemars(range(min = 1, max = 100))]
    pub quota_percent: u8,
}

/// Defaults written into each namespace's `LimitRange`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefaults {
    /// Requests of a container that declares none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<crate::common::ResourceAmounts>,
    /// Limits of a container that declares none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<crate::common::ResourceAmounts>,
}

/// What the controller observed of a tenant.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    /// Namespaces the tenant owns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// The tenant's quota (`spec.quota`, by resource); its own namespaces share what is not
    /// delegated to child tenants (`hard − delegated`).
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    #[schemars(schema_with = "resource_list_schema")]
    pub hard: ResourceList,
    /// Resources in use, summed over the `ResourceQuota` statuses of the tenant's namespaces.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    #[schemars(schema_with = "resource_list_schema")]
    pub used: ResourceList,
    /// Quota handed on to child tenants.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    #[schemars(schema_with = "resource_list_schema")]
    pub delegated: ResourceList,
    /// `Ready` and `QuotaExceeded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
