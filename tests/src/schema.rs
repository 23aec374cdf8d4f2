//! Validates manifests as the API server would on create or update: the CRD's OpenAPI schema
//! (through a JSON-schema validator, with Kubernetes' `nullable`, int-or-string, `cidr` format and
//! strict field validation translated) and its CEL `x-kubernetes-validations` rules.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::cel::{CompiledSchema, Validator as CelValidator, compile_schema};
use serde_json::{Map, Value, json};

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

struct KindSchema {
    namespaced: bool,
    json: jsonschema::Validator,
    cel: CompiledSchema,
}

/// The schemas of a set of CRDs, by `apiVersion` and `kind`.
pub struct SchemaSet {
    kinds: BTreeMap<(String, String), KindSchema>,
    cel: CelValidator,
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
            for version in crd.spec.versions.iter().filter(|v| v.served) {
                let schema = version
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                    .ok_or_else(|| SchemaError::MissingSchema(name.clone()))?;
                let openapi = serde_json::to_value(schema).map_err(|e| SchemaError::Compile {
                    name: name.clone(),
                    message: e.to_string(),
                })?;
                let json = json_validator(&openapi).map_err(|message| SchemaError::Compile {
                    name: name.clone(),
                    message,
                })?;
                let cel = compile_schema(&openapi);
                if cel.has_errors() {
                    let message = cel
                        .compilation_errors()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ");
                    return Err(SchemaError::Cel {
                        name: name.clone(),
                        message,
                    });
                }
                let api_version = format!("{}/{}", crd.spec.group, version.name);
                let namespaced = crd.spec.scope == "Namespaced";
                kinds.insert(
                    (api_version, crd.spec.names.kind.clone()),
                    KindSchema {
                        namespaced,
                        json,
                        cel,
                    },
                );
            }
        }
        Ok(Self {
            kinds,
            cel: CelValidator::new(),
        })
    }

    /// The schemas of govcloud's own CRDs, as `crdgen` renders them.
    pub fn govcloud() -> Result<Self, SchemaError> {
        Self::new(&govcloud_crds::crdgen::all())
    }

    /// Violations of `document` on create.
    pub fn validate(&self, document: &Document) -> Vec<Violation> {
        self.validate_update(document, None)
    }

    /// Violations of `document` replacing `old` (transition rules see `oldSelf`).
    pub fn validate_update(&self, document: &Document, old: Option<&Value>) -> Vec<Violation> {
        let (api_version, kind) = document.type_meta();
        let mut violations = metadata_violations(&document.value);
        if (api_version, kind) == ("v1", "Namespace") {
            if let Err(error) = serde_json::from_value::<Namespace>(document.value.clone()) {
                violations.push(Violation {
                    field: String::new(),
                    message: format!("not a valid Namespace: {error}"),
                });
            }
            return violations;
        }
        let Some(schema) = self.kinds.get(&(api_version.to_owned(), kind.to_owned())) else {
            violations.push(Violation {
                field: "kind".into(),
                message: format!("no schema is known for apiVersion `{api_version}` kind `{kind}`"),
            });
            return violations;
        };
        let has_namespace = document.value.pointer("/metadata/namespace").is_some();
        if schema.namespaced && !has_namespace {
            violations.push(Violation {
                field: "metadata.namespace".into(),
                message: format!("Required value: {kind} is namespaced"),
            });
        } else if !schema.namespaced && has_namespace {
            violations.push(Violation {
                field: "metadata.namespace".into(),
                message: format!("Forbidden: {kind} is cluster-scoped"),
            });
        }
        violations.extend(
            schema
                .json
                .iter_errors(&document.value)
                .map(|error| Violation {
                    field: field_path(error.instance_path().as_str()),
                    message: error.to_string(),
                }),
        );
        if let Err(errors) = self
            .cel
            .validate_compiled(&schema.cel, &document.value, old)
        {
            violations.extend(errors.iter().map(|error| Violation {
                field: error.field_path.trim_start_matches('.').to_owned(),
                message: format!("Invalid value: {}", error.message),
            }));
        }
        violations
    }
}

/// Checks the parts of `metadata` the API server checks for every kind.
fn metadata_violations(object: &Value) -> Vec<Violation> {
    let mut violations = Vec::new();
    match object.pointer("/metadata/name").and_then(Value::as_str) {
        None => violations.push(Violation {
            field: "metadata.name".into(),
            message: "Required value: name is required".into(),
        }),
        Some(name) if !is_dns_subdomain(name) => violations.push(Violation {
            field: "metadata.name".into(),
            message: format!("Invalid value: \"{name}\": must be a lowercase RFC 1123 subdomain"),
        }),
        Some(_) => {}
    }
    if let Some(namespace) = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        && !is_dns_label(namespace)
    {
        violations.push(Violation {
            field: "metadata.namespace".into(),
            message: format!("Invalid value: \"{namespace}\": must be a lowercase RFC 1123 label"),
        });
    }
    violations
}

fn is_dns_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

fn is_dns_subdomain(value: &str) -> bool {
    value.len() <= 253 && value.split('.').all(is_dns_label)
}

/// `/spec/upstream/members/1` → `spec.upstream.members[1]`.
fn field_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        if segment.parse::<usize>().is_ok() {
            path.push('[');
            path.push_str(segment);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment.replace("~1", "/").replace("~0", "~"));
        }
    }
    path
}

/// Builds a JSON-schema validator from a CRD's structural OpenAPI schema.
fn json_validator(openapi: &Value) -> Result<jsonschema::Validator, String> {
    let mut schema = translate(openapi);
    if let Some(root) = schema.as_object_mut() {
        let properties = root.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert("apiVersion".into(), json!({ "type": "string" }));
            properties.insert("kind".into(), json!({ "type": "string" }));
            properties.insert("metadata".into(), json!({ "type": "object" }));
        }
        root.insert(
            "$schema".into(),
            json!("http://json-schema.org/draft-07/schema#"),
        );
    }
    jsonschema::options()
        .should_validate_formats(true)
        .with_format("cidr", is_cidr)
        .build(&schema)
        .map_err(|error| error.to_string())
}

/// Translates Kubernetes' OpenAPI dialect into JSON Schema: `nullable` becomes a `null` type,
/// `x-kubernetes-int-or-string` the two types, and objects with declared properties refuse
/// unknown fields (as `kubectl apply` does with server-side strict field validation).
fn translate(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in object {
        let translated = match key.as_str() {
            "properties" => Value::Object(
                value
                    .as_object()
                    .map(|p| p.iter().map(|(k, v)| (k.clone(), translate(v))).collect())
                    .unwrap_or_default(),
            ),
            "items" | "additionalProperties" | "not" => translate(value),
            "anyOf" | "allOf" | "oneOf" => Value::Array(
                value
                    .as_array()
                    .map(|a| a.iter().map(translate).collect())
                    .unwrap_or_default(),
            ),
            "nullable" => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), translated);
    }
    if object.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
        && !out.contains_key("type")
    {
        out.insert("type".into(), json!(["integer", "string"]));
    }
    let preserves_unknown =
        object.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if out.contains_key("properties")
        && !out.contains_key("additionalProperties")
        && !preserves_unknown
    {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    if object.get("nullable") == Some(&Value::Bool(true)) {
        match out.get_mut("type") {
            Some(Value::String(single)) => {
                let single = single.clone();
                out.insert("type".into(), json!([single, "null"]));
            }
            Some(Value::Array(types)) => types.push(json!("null")),
            _ => {}
        }
        if let Some(Value::Array(values)) = out.get_mut("enum") {
            values.push(Value::Null);
        }
    }
    Value::Object(out)
}

/// The `cidr` format of Kubernetes: an IPv4 or IPv6 address, a slash, and a prefix length.
fn is_cidr(value: &str) -> bool {
    let Some((address, length)) = value.split_once('/') else {
        return false;
    };
    let Ok(address) = address.parse::<IpAddr>() else {
        return false;
    };
    if length.is_empty() || length.len() > 3 || !length.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(length) = length.parse::<u8>() else {
        return false;
    };
    length <= if address.is_ipv4() { 32 } else { 128 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_read_like_kubernetes() {
        assert_eq!(
            field_path("/spec/upstream/members/1"),
            "spec.upstream.members[1]"
        );
        assert_eq!(field_path(""), "");
    }

    #[test]
    fn cidr_format_matches_kubernetes() {
        assert!(is_cidr("2001:db8:a00::/48"));
        assert!(is_cidr("192.0.2.0/24"));
        assert!(!is_cidr("2001:db8::/129"));
        assert!(!is_cidr("2001:db8::"));
        assert!(!is_cidr("2001:db8::/+48"));
        assert!(!is_cidr("2001:zz8::/48"));
    }

    #[test]
    fn names_follow_rfc_1123() {
        assert!(is_dns_subdomain("tenants.govcloud.io"));
        assert!(is_dns_label("hanyin-t01"));
        assert!(!is_dns_label("Hanyin"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_subdomain(""));
    }

    #[test]
    fn translation_makes_nullable_int_or_string_and_strict_objects() {
        let openapi = json!({
            "type": "object",
            "properties": {
                "a": { "nullable": true, "type": "string", "enum": ["X"] },
                "q": { "x-kubernetes-int-or-string": true, "nullable": true },
                "free": { "type": "object", "properties": {"k": {"type": "string"}}, "x-kubernetes-preserve-unknown-fields": true }
            }
        });
        let translated = translate(&openapi);
        assert_eq!(
            translated["properties"]["a"]["type"],
            json!(["string", "null"])
        );
        assert_eq!(translated["properties"]["a"]["enum"], json!(["X", null]));
        assert_eq!(
            translated["properties"]["q"]["type"],
            json!(["integer", "string", "null"])
        );
        assert_eq!(translated["additionalProperties"], json!(false));
        assert!(
            translated["properties"]["free"]
                .get("additionalProperties")
                .is_none()
        );
    }
}
