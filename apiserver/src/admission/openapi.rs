//! OpenAPI validation of custom resources: a CRD's structural schema translated into JSON Schema
//! (draft 7) for the `jsonschema` crate, and its errors reworded as kube-apiserver's OpenAPI
//! validator words them (`spec.quota.cpu in body should match '…'`).

use jsonschema::error::{ValidationError, ValidationErrorKind};
use serde_json::{Map, Value, json};

use super::{field, formats};
use crate::error::Cause;

/// The keywords of Kubernetes' OpenAPI dialect that carry a validation over to JSON Schema as
/// they are; everything else (descriptions, defaults, `x-kubernetes-*`, unsupported formats) is
/// dropped or translated.
const KEPT: &[&str] = &[
    "type",
    "pattern",
    "enum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
];

/// The JSON Schema of a custom resource with `openapi` as its structural schema: the root also
/// declares `apiVersion` and `kind` as strings and `metadata` as an object.
pub fn json_schema(openapi: &Value) -> Value {
    let mut schema = translate(openapi);
    if let Some(root) = schema.as_object_mut() {
        root.insert("type".into(), json!("object"));
        let properties = root.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert("apiVersion".into(), json!({ "type": "string" }));
            properties.insert("kind".into(), json!({ "type": "string" }));
            let metadata = properties
                .entry("metadata")
                .or_insert_with(|| json!({ "type": "object" }));
            if let Some(metadata) = metadata.as_object_mut() {
                metadata.insert("type".into(), json!("object"));
            }
        }
    }
    schema
}

/// Translates one node: `nullable` becomes a `null` type, `x-kubernetes-int-or-string` the types
/// `integer` and `string`, OpenAPI 3.0's boolean `exclusiveMinimum`/`exclusiveMaximum` the
/// numeric ones of draft 7, and formats Kubernetes does not check disappear.
fn translate(schema: &Value) -> Value {
    let Some(node) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in node {
        let translated = match key.as_str() {
            "properties" => Value::Object(
                value
                    .as_object()
                    .map(|p| p.iter().map(|(k, v)| (k.clone(), translate(v))).collect())
                    .unwrap_or_default(),
            ),
            "items" | "not" => translate(value),
            "additionalProperties" if value.is_object() => translate(value),
            "allOf" | "anyOf" | "oneOf" => Value::Array(
                value
                    .as_array()
                    .map(|a| a.iter().map(translate).collect())
                    .unwrap_or_default(),
            ),
            "format" => match value.as_str() {
                Some(format) if formats::is_supported(format) => value.clone(),
                _ => continue,
            },
            "minimum" | "maximum" => {
                let exclusive = if key == "minimum" {
                    "exclusiveMinimum"
                } else {
                    "exclusiveMaximum"
                };
                if node.get(exclusive) == Some(&Value::Bool(true)) {
                    out.insert(exclusive.into(), value.clone());
                    continue;
                }
                value.clone()
            }
            other if KEPT.contains(&other) => value.clone(),
            _ => continue,
        };
        out.insert(key.clone(), translated);
    }
    if node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
        && !out.contains_key("type")
    {
        out.insert("type".into(), json!(["integer", "string"]));
    }
    if node.get("nullable") == Some(&Value::Bool(true)) {
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

/// The field path of a JSON pointer into `object`, as Kubernetes writes it: `/spec/steps/1/run`
/// → `spec.steps[1].run` (a number is an index only where the value is an array).
pub fn field_path(object: &Value, pointer: &str) -> String {
    let mut path = String::new();
    let mut current = Some(object);
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        match current {
            Some(Value::Array(items)) => {
                let index = segment.parse::<usize>().ok();
                path = field::index(&path, index.unwrap_or_default());
                current = index.and_then(|i| items.get(i));
            }
            Some(Value::Object(map)) => {
                path = field::child(&path, &segment);
                current = map.get(&segment);
            }
            _ => {
                path = field::child(&path, &segment);
                current = None;
            }
        }
    }
    path
}

/// One JSON Schema error as the cause kube-apiserver reports for the same violation.
pub fn cause(error: &ValidationError<'_>, object: &Value, schema: &Value) -> Cause {
    let path = field_path(object, error.instance_path().as_str());
    let instance: &Value = error.instance();
    let value = field::render(instance);
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let property = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            field::required(&field::child(&path, &property), "")
        }
        ValidationErrorKind::Enum { options } => {
            let supported: Vec<String> = options
                .as_array()
                .into_iter()
                .flatten()
                .filter(|option| !option.is_null())
                .map(|option| {
                    option
                        .as_str()
                        .map_or_else(|| option.to_string(), str::to_owned)
                })
                .collect();
            field::not_supported(&path, &value, &supported)
        }
        ValidationErrorKind::Type { .. } => {
            let expected = expected_types(schema, error.schema_path().as_str());
            let actual = field::quote(field::type_name(instance));
            field::type_invalid(
                &path,
                &actual,
                &format!("{path} in body must be of type {expected}: {actual}"),
            )
        }
        ValidationErrorKind::Format { format } => field::type_invalid(
            &path,
            &value,
            &format!("{path} in body must be of type {format}: {value}"),
        ),
        ValidationErrorKind::Pattern { pattern } => field::invalid(
            &path,
            &value,
            &format!("{path} in body should match '{pattern}'"),
        ),
        ValidationErrorKind::AnyOf { .. } => field::invalid(
            &path,
            &value,
            &format!("\"{path}\" must validate at least one schema (anyOf)"),
        ),
        ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::OneOfMultipleValid { .. } => field::invalid(
            &path,
            &value,
            &format!("\"{path}\" must validate one and only one schema (oneOf)"),
        ),
        ValidationErrorKind::Not { .. } => field::invalid(
            &path,
            &value,
            &format!("\"{path}\" must not validate the schema (not)"),
        ),
        kind => bound_cause(kind, &path, instance)
            .unwrap_or_else(|| field::invalid(&path, &value, &error.to_string())),
    }
}

/// The causes of bounds: numbers, lengths, sizes, uniqueness.
fn bound_cause(kind: &ValidationErrorKind, path: &str, instance: &Value) -> Option<Cause> {
    let value = field::render(instance);
    let count = match instance {
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => 0,
    };
    let count = u64::try_from(count).unwrap_or(u64::MAX);
    let bound = |limit: &Value| match limit {
        Value::Number(number) => field::number_text(number),
        other => other.to_string(),
    };
    let invalid =
        |detail: String| field::invalid(path, &value, &format!("{path} in body {detail}"));
    Some(match kind {
        ValidationErrorKind::Minimum { limit } => invalid(format!(
            "should be greater than or equal to {}",
            bound(limit)
        )),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            invalid(format!("should be greater than {}", bound(limit)))
        }
        ValidationErrorKind::Maximum { limit } => {
            invalid(format!("should be less than or equal to {}", bound(limit)))
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            invalid(format!("should be less than {}", bound(limit)))
        }
        ValidationErrorKind::MultipleOf { multiple_of } => {
            invalid(format!("should be a multiple of {multiple_of}"))
        }
        ValidationErrorKind::MinLength { limit } => {
            invalid(format!("should be at least {limit} chars long"))
        }
        ValidationErrorKind::MaxLength { limit } => {
            field::too_long(path, &format!("may not be longer than {limit}"))
        }
        ValidationErrorKind::MinItems { limit } => field::invalid(
            path,
            &count.to_string(),
            &format!("{path} in body should have at least {limit} items"),
        ),
        ValidationErrorKind::MinProperties { limit } => field::invalid(
            path,
            &count.to_string(),
            &format!("{path} in body should have at least {limit} properties"),
        ),
        ValidationErrorKind::MaxItems { limit } | ValidationErrorKind::MaxProperties { limit } => {
            field::too_many(path, count, *limit)
        }
        ValidationErrorKind::UniqueItems => field::invalid(
            path,
            &field::quote(""),
            &format!("{path} in body shouldn't contain duplicates"),
        ),
        _ => return None,
    })
}

/// The types a `type` keyword at `schema_pointer` allows, `null` left out (Kubernetes states
/// nullability apart): `integer,string`.
fn expected_types(schema: &Value, schema_pointer: &str) -> String {
    match schema.pointer(schema_pointer) {
        Some(Value::String(single)) => single.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_makes_nullable_int_or_string_and_exclusive_bounds() {
        let openapi = json!({
            "type": "object",
            "description": "dropped",
            "properties": {
                "a": { "nullable": true, "type": "string", "enum": ["X"] },
                "q": { "x-kubernetes-int-or-string": true, "nullable": true },
                "n": { "type": "integer", "format": "int64", "minimum": 0, "exclusiveMinimum": true },
                "d": { "type": "string", "format": "date", "default": "2025-01-01" },
                "m": { "type": "object", "additionalProperties": { "type": "string", "maxLength": 3 } }
            },
            "x-kubernetes-validations": [{ "rule": "true" }]
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
        assert_eq!(
            translated["properties"]["n"],
            json!({ "type": "integer", "exclusiveMinimum": 0 })
        );
        assert_eq!(
            translated["properties"]["d"],
            json!({ "type": "string", "format": "date" })
        );
        assert_eq!(
            translated["properties"]["m"]["additionalProperties"],
            json!({ "type": "string", "maxLength": 3 })
        );
        assert!(translated.get("description").is_none());
        assert!(translated.get("x-kubernetes-validations").is_none());
        assert!(translated.get("additionalProperties").is_none());
        let root = json_schema(&openapi);
        assert_eq!(root["properties"]["kind"], json!({ "type": "string" }));
        assert_eq!(root["properties"]["metadata"], json!({ "type": "object" }));
    }

    #[test]
    fn field_paths_read_like_kubernetes() {
        let object =
            json!({ "spec": { "steps": [{ "run": {} }, { "run": {} }], "map": { "1": "x" } } });
        assert_eq!(
            field_path(&object, "/spec/steps/1/run"),
            "spec.steps[1].run"
        );
        assert_eq!(field_path(&object, "/spec/map/1"), "spec.map.1");
        assert_eq!(field_path(&object, "/a~1b/c"), "a/b.c");
        assert_eq!(field_path(&object, ""), "");
    }

    #[test]
    fn expected_types_leave_out_null() {
        let schema = json!({ "properties": { "q": { "type": ["integer", "string", "null"] } } });
        assert_eq!(
            expected_types(&schema, "/properties/q/type"),
            "integer,string"
        );
        assert_eq!(expected_types(&schema, "/nowhere"), "");
    }
}
