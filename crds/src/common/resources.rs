//! Amounts of cloud resources (CPU, memory, storage) with Kubernetes quantity semantics.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::NON_NEGATIVE_QUANTITY;

/// Amounts by resource name (`cpu`, `memory`, `storage`), as in a `ResourceQuota`'s status.
pub type ResourceList = BTreeMap<String, Quantity>;

/// Schema of a non-negative Kubernetes quantity (`4`, `500m`, `64Gi`): an int-or-string whose
/// `pattern` applies to the string form and `minimum` to the integer form.
pub fn quantity_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "pattern": NON_NEGATIVE_QUANTITY,
        "minimum": 0,
        "x-kubernetes-int-or-string": true
    })
}

/// Schema of a [`ResourceList`]: quantities by resource name.
pub fn resource_list_schema(generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": quantity_schema(generator),
    })
}

/// The complete quota of a tenant: every resource is bounded.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuotaAmounts {
    /// CPU cores, e.g. `64` or `500m`.
    #[schemars(schema_with = "quantity_schema")]
    pub cpu: Quantity,
    /// Memory, e.g. `256Gi`.
    #[schemars(schema_with = "quantity_schema")]
    pub memory: Quantity,
    /// Persistent storage requested by volumes, e.g. `10Ti`.
    #[schemars(schema_with = "quantity_schema")]
    pub storage: Quantity,
}

/// Some amounts of cloud resources; a missing resource means "none" or "unchanged" depending on
/// where it is used.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAmounts {
    /// CPU cores, e.g. `8` or `1500m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantity_schema")]
    pub cpu: Option<Quantity>,
    /// Memory, e.g. `32Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantity_schema")]
    pub memory: Option<Quantity>,
    /// Persistent storage, e.g. `2Ti`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantity_schema")]
    pub storage: Option<Quantity>,
}
