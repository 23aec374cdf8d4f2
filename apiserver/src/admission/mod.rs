//! Admission as kube-apiserver does it for custom resources: with the structural OpenAPI schema
//! of the resource's CRD, undeclared fields are pruned (or refused under strict field
//! validation), `default`s applied and kept, the object validated against the schema (types,
//! enums, patterns, bounds, the `cidr`, `date`, `date-time`… formats, list types) and, unless
//! that found the object misshapen, against the CEL `x-kubernetes-validations` rules. Failures
//! are [`Cause`]s worded as Kubernetes words them (`spec.quota.cpu: Invalid value: "-5":
//! spec.quota.cpu in body should match '…'`). [`validate_metadata`] covers `metadata` for every
//! kind.
//!
//! CEL rules see properties under Kubernetes' escaped names ([`escaping`]: a property
//! `namespace` is `self.__namespace__`, `x-y` is `self.x__dash__y`), and a rule is compiled
//! against the declared types of its schema as at CRD registration: a field the schema does
//! not declare under that name (`self.namespace`), a bare reserved word, `self.metadata` beyond
//! `name` and `generateName`, refuse the schema ([`AdmissionError::Cel`], one [`RuleError`]
//! per rule).
//!
//! Not done: validation ratcheting on update (unchanged invalid fields are refused here), the
//! type-checking of functions and operators in CEL rules (only fields and identifiers are
//! checked at registration), the `isbn`* and `creditcard` formats (accepted unchecked).

mod cel;
mod cel_types;
mod cel_values;
pub mod escaping;
pub mod field;
pub mod formats;
mod metadata;
mod openapi;
pub mod structural;

use std::fmt;

use serde_json::{Value, json};

pub use cel::RuleError;
pub use metadata::{
    TOTAL_ANNOTATION_SIZE_LIMIT, dns1123_label_errors, dns1123_subdomain_errors,
    label_value_errors, path_segment_errors, qualified_name_errors, validate_metadata,
};

use crate::error::{ApiError, Cause};
use crate::resource::ResourceType;

/// The largest object stored, like etcd's request limit (1.5 MiB).
pub const MAX_OBJECT_BYTES: usize = 3 * 1024 * 1024 / 2;

/// The message of the cause added when CEL rules are skipped because the object is misshapen.
pub const RULES_NOT_CHECKED: &str = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

/// Errors of compiling a resource's schema.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// The schema is not an object schema.
    #[error("failed to compile the OpenAPI schema: {0}")]
    NotAnObject(&'static str),
    /// The schema is not valid once translated to JSON Schema.
    #[error("failed to compile the OpenAPI schema at `{location}`: {message}")]
    Schema { location: String, message: String },
    /// CEL rules do not compile: each names its rule and where it is.
    #[error("failed to compile the CEL rules of the schema: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Cel { errors: Vec<RuleError> },
}

/// `fieldValidation`: what to do with fields the schema does not declare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Refuse the request, naming each field (kubectl's default: `--validate=strict`).
    Strict,
    /// Drop the fields and warn about each (the server's default, what kube-rs gets).
    #[default]
    Warn,
    /// Drop the fields silently (Kubernetes' pruning of structural schemas).
    Ignore,
}

impl FieldValidation {
    /// The `fieldValidation` query parameter; absent or empty means `Warn`, as in kube-apiserver
    /// since 1.27. Anything but `Strict`, `Warn` or `Ignore` is refused with a 422.
    pub fn from_query(value: Option<&str>) -> Result<Self, ApiError> {
        Self::parse(value, None)
    }

    /// Like [`from_query`](Self::from_query), naming the options kind of the verb in the error as
    /// kube-apiserver does (`CreateOptions`, `UpdateOptions`, `PatchOptions`).
    pub fn from_query_for(value: Option<&str>, options_kind: &str) -> Result<Self, ApiError> {
        Self::parse(value, Some(options_kind))
    }

    fn parse(value: Option<&str>, options_kind: Option<&str>) -> Result<Self, ApiError> {
        match value.unwrap_or_default() {
            "" | "Warn" => Ok(Self::Warn),
            "Strict" => Ok(Self::Strict),
            "Ignore" => Ok(Self::Ignore),
            other => {
                let supported = ["", "Ignore", "Strict", "Warn"].map(str::to_owned);
                let cause =
                    field::not_supported("fieldValidation", &field::quote(other), &supported);
                let summary = format!("{}: {}", cause.field, cause.message);
                let (message, kind) = match options_kind {
                    Some(kind) => (
                        format!("{kind}.meta.k8s.io \"\" is invalid: {summary}"),
                        kind,
                    ),
                    None => (summary, ""),
                };
                Err(ApiError {
                    code: 422,
                    reason: "Invalid",
                    message,
                    details: Some(json!({
                        "group": "meta.k8s.io",
                        "kind": kind,
                        "causes": [{
                            "reason": cause.reason,
                            "message": cause.message,
                            "field": cause.field,
                        }],
                    })),
                })
            }
        }
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Warn => "Warn",
            Self::Ignore => "Ignore",
        }
    }
}

impl fmt::Display for FieldValidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What admission made of an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// The field validation asked for.
    pub field_validation: FieldValidation,
    /// Fields the schema does not declare (`spec.foo`): removed from the object unless `Strict`.
    pub unknown_fields: Vec<String>,
    /// Why the object is refused; empty when it is admitted. Under `Strict` with unknown fields,
    /// one cause per unknown field and nothing else (the request fails before validation).
    pub causes: Vec<Cause>,
}

impl Admission {
    /// Whether the object may be stored.
    pub fn is_admitted(&self) -> bool {
        self.causes.is_empty()
    }

    /// The `Warning` headers to send (`unknown field "spec.foo"`), under `Warn` only.
    pub fn warnings(&self) -> Vec<String> {
        if self.field_validation == FieldValidation::Warn {
            self.unknown_fields
                .iter()
                .map(|f| unknown_field(f))
                .collect()
        } else {
            Vec::new()
        }
    }

    /// kube-apiserver's answer: under `Strict`, unknown fields are a 400 (a strict decoding
    /// error); invalid objects a 422 naming each field; otherwise the warnings to send.
    pub fn into_result(self, resource: &ResourceType, name: &str) -> Result<Vec<String>, ApiError> {
        if self.field_validation == FieldValidation::Strict && !self.unknown_fields.is_empty() {
            return Err(strict_decoding_error(resource, &self.unknown_fields));
        }
        if !self.causes.is_empty() {
            return Err(ApiError::invalid(resource, name, self.causes));
        }
        Ok(self.warnings())
    }
}

/// `unknown field "spec.foo"`.
fn unknown_field(path: &str) -> String {
    format!("unknown field {}", field::quote(path))
}

/// kube-apiserver's 400 for unknown fields under strict field validation: `Tenant in version
/// "v1alpha1" cannot be handled as a Tenant: strict decoding error: unknown field "spec.foo"`.
pub fn strict_decoding_error(resource: &ResourceType, unknown_fields: &[String]) -> ApiError {
    let fields: Vec<String> = unknown_fields.iter().map(|f| unknown_field(f)).collect();
    ApiError::bad_request(format!(
        "{kind} in version {version} cannot be handled as a {kind}: strict decoding error: {}",
        fields.join(", "),
        kind = resource.kind,
        version = field::quote(&resource.version),
    ))
}

/// The admission checks of one resource type, compiled once from its OpenAPI v3 schema.
pub struct SchemaValidator {
    openapi: Value,
    translated: Value,
    json: jsonschema::Validator,
    cel: cel::CompiledRules,
}

impl fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaValidator")
            .field("openapi", &self.openapi)
            .finish_non_exhaustive()
    }
}

impl SchemaValidator {
    /// Compiles `openapi_schema` (a CRD version's `openAPIV3Schema`). Errors name the bad part
    /// of the schema; CEL rules that do not compile are an error, as at CRD registration.
    pub fn new(openapi_schema: &Value) -> Result<Self, AdmissionError> {
        let root = openapi_schema
            .as_object()
            .ok_or(AdmissionError::NotAnObject(
                "the schema is not a JSON object",
            ))?;
        if root
            .get("type")
            .is_some_and(|t| t.as_str() != Some("object"))
        {
            return Err(AdmissionError::NotAnObject(
                "the root of a custom resource's schema must have `type: object`",
            ));
        }
        let translated = openapi::json_schema(openapi_schema);
        let mut options = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true);
        for (name, check) in formats::CHECKED {
            options = options.with_format(*name, *check);
        }
        for name in ["isbn", "isbn10", "isbn13", "creditcard"] {
            options = options.with_format(name, |_: &str| true);
        }
        let json = options
            .build(&translated)
            .map_err(|error| AdmissionError::Schema {
                location: openapi::field_path(&translated, error.instance_path().as_str()),
                message: error.to_string(),
            })?;
        let cel = cel::compile(openapi_schema).map_err(|errors| AdmissionError::Cel { errors })?;
        Ok(Self {
            openapi: openapi_schema.clone(),
            translated,
            json,
            cel,
        })
    }

    /// The OpenAPI schema this validator was compiled from.
    pub fn openapi_schema(&self) -> &Value {
        &self.openapi
    }

    /// Admits `object` on create (`old` absent) or update (`old` the stored object, for CEL
    /// transition rules): prunes undeclared fields unless `Strict` (which refuses them), applies
    /// defaults (they stay in `object`), then validates. `metadata` is checked apart, by
    /// [`validate_metadata`].
    pub fn admit(
        &self,
        object: &mut Value,
        old: Option<&Value>,
        field_validation: FieldValidation,
    ) -> Admission {
        let strict = field_validation == FieldValidation::Strict;
        let unknown_fields = structural::prune(object, &self.openapi, !strict);
        if strict && !unknown_fields.is_empty() {
            let causes = unknown_fields
                .iter()
                .map(|path| Cause::invalid(path.as_str(), unknown_field(path)))
                .collect();
            return Admission {
                field_validation,
                unknown_fields,
                causes,
            };
        }
        structural::apply_defaults(object, &self.openapi);
        structural::drop_non_nullable_nulls(object, &self.openapi);
        let mut causes: Vec<Cause> = self
            .json
            .iter_errors(&*object)
            .map(|error| openapi::cause(&error, &*object, &self.translated))
            .collect();
        causes.extend(structural::validate_list_types(object, &self.openapi));
        if causes.iter().any(field::is_blocking) {
            causes.push(field::invalid("", &field::quote("null"), RULES_NOT_CHECKED));
        } else {
            causes.extend(cel::validate(&self.cel, object, old));
        }
        Admission {
            field_validation,
            unknown_fields,
            causes,
        }
    }

    /// [`admit`](Self::admit)'s causes: empty when `object` (now pruned and defaulted) may be
    /// stored.
    pub fn default_and_validate(
        &self,
        object: &mut Value,
        old: Option<&Value>,
        strict: FieldValidation,
    ) -> Vec<Cause> {
        self.admit(object, old, strict).causes
    }
}

#[cfg(test)]
mod tests;
