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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResourceAmounts {
    /// CPU cores, e.g. `8` or `1500m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantity_schema")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<QuantitySchema>))]
    pub cpu: Option<Quantity>,
    /// Memory, e.g. `32Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantity_schema")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<QuantitySchema>))]
    pub memory: Option<Quantity>,
    /// Persistent storage, e.g. `2Ti`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantity_schema")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<QuantitySchema>))]
    pub storage: Option<Quantity>,
}

/// The OpenAPI schema of a quantity on the wire (`8`, `1500m`, `32Gi`), for `utoipa`.
#[cfg(feature = "openapi")]
#[derive(Debug)]
pub struct QuantitySchema;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for QuantitySchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(NON_NEGATIVE_QUANTITY))
            .description(Some(
                "A Kubernetes quantity that is not negative: `8`, `1500m`, `32Gi`, `2Ti`.",
            ))
            .examples(["32Gi"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for QuantitySchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }
}
