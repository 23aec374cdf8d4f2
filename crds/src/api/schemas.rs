//! OpenAPI schemas (for `utoipa`) of the custom resources' enums that the wire types carry
//! (`MigrationPhase`, `StepPhase`, …): each is read from the enum's own JSON schema (schemars),
//! so the document lists exactly the values the CRDs accept.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// The string values of an enum's JSON schema: its `enum` list, or the `const` of each `oneOf`
/// branch (schemars writes that form when the variants are documented).
fn enum_values(schema: &Value) -> Vec<Value> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.clone();
    }
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(enum_values_of_branch)
        .collect()
}

fn enum_values_of_branch(branch: &Value) -> Vec<Value> {
    match branch.get("const") {
        Some(value) => vec![value.clone()],
        None => enum_values(branch),
    }
}

/// The OpenAPI schema of the enum `T`: a string with `T`'s values and description.
pub fn string_enum<T: JsonSchema>() -> RefOr<Schema> {
    let schema = schemars::schema_for!(T);
    let value = schema.as_value();
    let description = value
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(enum_values(value)))
        .description(description)
        .into()
}

macro_rules! enum_schema {
    ($(#[$doc:meta])* $marker:ident, $name:literal, $enum:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $marker;

        impl utoipa::PartialSchema for $marker {
            fn schema() -> RefOr<Schema> {
                string_enum::<$enum>()
            }
        }

        impl utoipa::ToSchema for $marker {
            fn name() -> Cow<'static, str> {
                $name.into()
            }
        }
    };
}

enum_schema!(
    /// `MigrationPhase` in the OpenAPI document.
    MigrationPhaseSchema,
    "MigrationPhase",
    crate::migration::system::MigrationPhase
);
enum_schema!(
    /// `StepPhase` in the OpenAPI document.
    StepPhaseSchema,
    "StepPhase",
    crate::migration::system::StepPhase
);
enum_schema!(
    /// `StepKind` in the OpenAPI document.
    StepKindSchema,
    "StepKind",
    crate::migration::step::StepKind
);
enum_schema!(
    /// `SourcePlatform` in the OpenAPI document.
    SourcePlatformSchema,
    "SourcePlatform",
    crate::migration::system::SourcePlatform
);
enum_schema!(
    /// `Classification` in the OpenAPI document.
    ClassificationSchema,
    "Classification",
    crate::common::Classification
);
enum_schema!(
    /// `Sensitivity` in the OpenAPI document.
    SensitivitySchema,
    "Sensitivity",
    crate::common::Sensitivity
);
enum_schema!(
    /// `BlockerReason` in the OpenAPI document.
    BlockerReasonSchema,
    "BlockerReason",
    crate::migration::plan::BlockerReason
);
enum_schema!(
    /// `SiteLevel` in the OpenAPI document.
    SiteLevelSchema,
    "SiteLevel",
    crate::common::SiteLevel
);
enum_schema!(
    /// `InterfaceRole` in the OpenAPI document.
    InterfaceRoleSchema,
    "InterfaceRole",
    crate::network::router::InterfaceRole
);
enum_schema!(
    /// `LinkTier` in the OpenAPI document.
    LinkTierSchema,
    "LinkTier",
    crate::network::extranet_link::LinkTier
);
enum_schema!(
    /// `Compliance` in the OpenAPI document.
    ComplianceSchema,
    "Compliance",
    crate::network::extranet_link::Compliance
);
enum_schema!(
    /// `LinkSide` in the OpenAPI document.
    LinkSideSchema,
    "LinkSide",
    crate::network::extranet_link::LinkSide
);
enum_schema!(
    /// `Disposition` in the OpenAPI document.
    DispositionSchema,
    "Disposition",
    crate::network::dedicated_network::Disposition
);
enum_schema!(
    /// `ConsolidationPhase` in the OpenAPI document.
    ConsolidationPhaseSchema,
    "ConsolidationPhase",
    crate::network::dedicated_network::ConsolidationPhase
);
enum_schema!(
    /// `Lifecycle` in the OpenAPI document.
    LifecycleSchema,
    "Lifecycle",
    crate::network::dedicated_network::Lifecycle
);
enum_schema!(
    /// `Technology` in the OpenAPI document.
    TechnologySchema,
    "Technology",
    crate::network::dedicated_network::Technology
);

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema as _;

    use super::*;

    fn values(schema: &RefOr<Schema>) -> Vec<String> {
        let value = serde_json::to_value(schema).expect("schema");
        value["enum"]
            .as_array()
            .expect("enum")
            .iter()
            .map(|v| v.as_str().expect("string").to_owned())
            .collect()
    }

    #[test]
    fn enums_list_the_crd_values() {
        let phases = values(&MigrationPhaseSchema::schema());
        assert_eq!(phases.first().map(String::as_str), Some("Pending"));
        assert!(phases.iter().any(|p| p == "RolledBack"), "{phases:?}");
        let reasons = values(&BlockerReasonSchema::schema());
        assert!(
            reasons.iter().any(|r| r == "DependencyCycle"),
            "{reasons:?}"
        );
        for reason in &reasons {
            serde_json::from_value::<crate::migration::plan::BlockerReason>(Value::from(
                reason.as_str(),
            ))
            .expect("a value of the enum");
        }
        assert_eq!(
            values(&StepKindSchema::schema()),
            ["Job", "Webhook", "Manual"]
        );
    }
}
