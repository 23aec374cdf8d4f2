//! A tenant as departments see it: quota, usage and namespaces.

use serde::{Deserialize, Serialize};

/// Quota and usage of one resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResourceFigures {
    /// `cpu`, `memory` or `storage`.
    pub resource: String,
    /// The quota, as a Kubernetes quantity (`64`, `256Gi`).
    pub hard: String,
    /// In use, summed over the tenant's namespaces.
    pub used: String,
    /// Handed on to child tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegated: Option<String>,
}

/// A tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    /// Name.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// `City`, `Department`, `County` or `Township`.
    pub level: String,
    /// The parent tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Child tenants.
    #[serde(default)]
    pub children: Vec<String>,
    /// Namespaces the tenant owns.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Quota and usage per resource.
    pub resources: Vec<ResourceFigures>,
    /// Whether the tenant is ready (its namespaces and quotas are in place).
    pub ready: bool,
    /// Why not, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
