//! Validates manifests as the API server would on create or update, through the embedded API
//! server's admission (`govcloud_apiserver::admission`): `metadata`, the CRD's OpenAPI schema
//! (pruning with strict field validation, defaults, formats such as `cidr` and `date`) and its
//! CEL `x-kubernetes-validations` rules, with Kubernetes' wording of each failure.

use std::collections::BTreeMap;
use std::fmt;

use govcloud_apiserver::admission::{FieldValidation, SchemaValidator, validate_metadata};
use govcloud_apiserver::builtin;
use govcloud_apiserver::error::Cause;
use govcloud_apiserver::resource::{ResourceType, custom_types};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use crate::manifests::Document;

/// Errors of loading CRD schemas.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A CRD has no OpenAPI schema.
    #[error("failed to load CRD {0}: it has no openAPIV3Schema")]
    MissingSchema(String),
    /// A CRD's schema is not a valid JSON schema once translated.
    #[error("failed to compile the schema of CRD {name}: {message}")]
    Compile { name: String, message: String },
    /// A CRD's CEL rules do not compile.
    #[error("failed to compile the CEL rules of CRD {name}: {message}")]
    Cel { name: String, message: String },
}

/// One reason a manifest is invalid, at one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The field, as Kubernetes writes paths (`spec.upstream.members[1]`); empty for the object.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl From<Cause> for Violation {
    fn from(cause: Cause) -> Self {
        Self {
            field: cause.field,
            message: cause.message,
        }
    }
}

struct KindSchema {
    resource: ResourceType,
    validator: SchemaValidator,
}

/// The schemas of a set of CRDs, by `apiVersion` and `kind`.
pub struct SchemaSet {
    kinds: BTreeMap<(String, String), KindSchema>,
    namespace: ResourceType,
}

impl fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaSet")
            .field("kinds", &self.kinds.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SchemaSet {
    /// Compiles the schema of every served version of every CRD.
    pub fn new(crds: &[CustomResourceDefinition]) -> Result<Self, SchemaError> {
        let mut kinds = BTreeMap::new();
        for crd in crds {
            let name = crd.metadata.name.clone().unwrap_or_default();
            let missing_schema = crd.spec.versions.iter().filter(|v| v.served).any(|v| {
                v.schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                    .is_none()
            });
            if missing_schema {
                return Err(SchemaError::MissingSchema(name));
            }
            let types = custom_types(crd).map_err(|error| SchemaError::Compile {
                name: name.clone(),
                message: error.to_string(),
            })?;
            for resource in types {
                let openapi = resource.schema.clone().unwrap_or_default();
                let validator = SchemaValidator::new(&openapi).map_err(|error| {
                    let message = error.to_string();
                    match error {
                        govcloud_apiserver::admission::AdmissionError::Cel { .. } => {
                            SchemaError::Cel {
                                name: name.clone(),
                                message,
                            }
                        }
                        _ => SchemaError::Compile {
                            name: name.clone(),
                            message,
                        },
                    }
                })?;
                kinds.insert(
                    (resource.api_version(), resource.kind.clone()),
                    KindSchema {
                        resource,
                        validator,
                    },
                );
            }
        }
        let namespace = builtin::types()
            .into_iter()
            .find(ResourceType::is_namespace)
            .ok_or_else(|| SchemaError::MissingSchema("namespaces".into()))?;
        Ok(Self { kinds, namespace })
    }

    /// The schemas of govcloud's own CRDs, as `crdgen` renders them.
    pub fn govcloud() -> Result<Self, SchemaError> {
        Self::new(&govcloud_crds::crdgen::all())
    }

    /// Violations of `document` on create.
    pub fn validate(&self, document: &Document) -> Vec<Violation> {
        self.validate_update(document, None)
    }

    /// Violations of `document` replacing `old` (transition rules see `oldSelf`), with strict
    /// field validation (as `kubectl apply` asks for).
    pub fn validate_update(&self, document: &Document, old: Option<&Value>) -> Vec<Violation> {
        let (api_version, kind) = document.type_meta();
        if (api_version, kind) == ("v1", "Namespace") {
            let mut violations =
                to_violations(validate_metadata(&self.namespace, &document.value, None));
            if let Err(error) = serde_json::from_value::<Namespace>(document.value.clone()) {
                violations.push(Violation {
                    field: String::new(),
                    message: format!("not a valid Namespace: {error}"),
                });
            }
            return violations;
        }
        let Some(schema) = self.kinds.get(&(api_version.to_owned(), kind.to_owned())) else {
            let mut violations = metadata_only(&document.value);
            violations.push(Violation {
                field: "kind".into(),
                message: format!("no schema is known for apiVersion `{api_version}` kind `{kind}`"),
            });
            return violations;
        };
        let mut violations =
            to_violations(validate_metadata(&schema.resource, &document.value, None));
        let mut object = document.value.clone();
        violations.extend(to_violations(schema.validator.default_and_validate(
            &mut object,
            old,
            FieldValidation::Strict,
        )));
        violations
    }
}

fn to_violations(causes: Vec<Cause>) -> Vec<Violation> {
    causes.into_iter().map(Violation::from).collect()
}

/// The `metadata` checks that hold for an object of an unknown kind (whose scope is unknown).
fn metadata_only(object: &Value) -> Vec<Violation> {
    let mut causes = validate_metadata(&unknown_kind(), object, None);
    causes.retain(|cause| {
        !(cause.field == "metadata.namespace" && cause.reason == "FieldValueRequired")
    });
    to_violations(causes)
}

fn unknown_kind() -> ResourceType {
    ResourceType {
        group: String::new(),
        version: String::new(),
        kind: String::new(),
        plural: String::new(),
        singular: String::new(),
        namespaced: true,
        short_names: Vec::new(),
        categories: Vec::new(),
        status_subresource: false,
        printer_columns: Vec::new(),
        schema: None,
        crd: None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::manifests::parse_documents;

    fn check(yaml: &str) -> Vec<String> {
        let schemas = SchemaSet::govcloud().expect("schemas");
        let document = parse_documents(Path::new("inline.yaml"), yaml)
            .expect("yaml")
            .remove(0);
        schemas
            .validate(&document)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn violations_display_field_then_message() {
        let violation = Violation {
            field: "spec.tier".into(),
            message: "Required value".into(),
        };
        assert_eq!(violation.to_string(), "spec.tier: Required value");
        let whole = Violation {
            field: String::new(),
            message: "not a valid Namespace".into(),
        };
        assert_eq!(whole.to_string(), "not a valid Namespace");
    }

    #[test]
    fn namespaces_are_checked_as_dns_labels() {
        assert!(check("apiVersion: v1\nkind: Namespace\nmetadata: {name: city-ndrc}\n").is_empty());
        let found = check("apiVersion: v1\nkind: Namespace\nmetadata: {name: city.ndrc}\n");
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with(
                "metadata.name: Invalid value: \"city.ndrc\": a lowercase RFC 1123 label"
            ),
            "{found:#?}"
        );
    }

    #[test]
    fn unknown_kinds_are_reported_with_their_name_checked() {
        let found = check("apiVersion: example.org/v1\nkind: Gadget\nmetadata: {name: Bad_Name}\n");
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].starts_with("metadata.name: Invalid value: \"Bad_Name\""));
        assert_eq!(
            found[1],
            "kind: no schema is known for apiVersion `example.org/v1` kind `Gadget`"
        );
    }

    #[test]
    fn every_govcloud_kind_is_known() {
        let schemas = SchemaSet::govcloud().expect("schemas");
        assert_eq!(schemas.kinds.len(), 12);
        assert!(
            schemas
                .kinds
                .keys()
                .all(|(api_version, _)| api_version == "govcloud.io/v1alpha1")
        );
    }
}
