//! CEL `x-kubernetes-validations` rules through kube-cel: every rule compiled once (a rule that
//! does not compile is refused with its location), failures worded as kube-apiserver words them
//! (`Invalid value: "object": <message>`, or the rule's `reason`).

use kube_cel::{CompiledSchema, ErrorKind, ValidationError};
use serde_json::Value;

use super::field;
use crate::error::Cause;

/// Every rule of `compiled` that does not compile, as `at <path>: <error>`.
pub fn compilation_errors(compiled: &CompiledSchema) -> Vec<String> {
    let mut errors = Vec::new();
    collect_errors(compiled, "", &mut errors);
    errors
}

fn collect_errors(compiled: &CompiledSchema, path: &str, errors: &mut Vec<String>) {
    let location = if path.is_empty() { "<root>" } else { path };
    errors.extend(
        compiled
            .compilation_errors()
            .iter()
            .map(|error| format!("at {location}: {error}")),
    );
    let mut properties: Vec<_> = compiled.properties.iter().collect();
    properties.sort_by(|a, b| a.0.cmp(b.0));
    for (name, child) in properties {
        collect_errors(child, &field::child(path, name), errors);
    }
    if let Some(items) = &compiled.items {
        collect_errors(items, &format!("{path}[*]"), errors);
    }
    if let Some(values) = &compiled.additional_properties {
        collect_errors(values, &field::child(path, "*"), errors);
    }
    for branch in compiled
        .all_of
        .iter()
        .chain(&compiled.one_of)
        .chain(&compiled.any_of)
    {
        collect_errors(branch, path, errors);
    }
}

/// The failures of the rules on `object` (`old` the stored object, for transition rules).
pub fn validate(
    compiled: &CompiledSchema,
    openapi: &Value,
    object: &Value,
    old: Option<&Value>,
) -> Vec<Cause> {
    match kube_cel::validate_compiled(compiled, object, old) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|error| cause(error, openapi)).collect(),
    }
}

fn cause(error: &ValidationError, openapi: &Value) -> Cause {
    let path = error.field_path.trim_start_matches('.');
    let node_type = field::quote(&rule_node_type(openapi, path, &error.rule));
    if error.kind != ErrorKind::ValidationFailure {
        return field::invalid(path, &node_type, &error.message);
    }
    match error.reason.as_deref() {
        Some(field::FORBIDDEN) => field::forbidden(path, &error.message),
        Some(field::REQUIRED) => field::required(path, &error.message),
        Some(field::DUPLICATE) => field::duplicate(path, &node_type),
        _ => field::invalid(path, &node_type, &error.message),
    }
}

/// The `type` of the schema node that holds `rule`, found along `path` (the deepest match: a
/// rule's `fieldPath` may point below its node). kube-apiserver reports it as the invalid value.
fn rule_node_type(openapi: &Value, path: &str, rule: &str) -> String {
    let holds_rule = |node: &Value| {
        node.get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .is_some_and(|rules| rules.iter().any(|r| r["rule"] == rule))
    };
    let mut node = Some(openapi);
    let mut found = node.filter(|n| holds_rule(n));
    for segment in segments(path) {
        node = node.and_then(|n| match segment {
            Segment::Index => n.get("items"),
            Segment::Key(key) => n
                .get("properties")
                .and_then(|p| p.get(key))
                .or_else(|| n.get("additionalProperties").filter(|a| a.is_object())),
        });
        match node {
            Some(n) if holds_rule(n) => found = Some(n),
            Some(_) => {}
            None => break,
        }
    }
    found
        .and_then(|n| n.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

enum Segment<'a> {
    Key(&'a str),
    Index,
}

/// `spec.steps[0].run` → `spec`, `steps`, `[0]`, `run`.
fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        out.extend(
            indexes
                .split('[')
                .filter(|i| !i.is_empty())
                .map(|_| Segment::Index),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "x-kubernetes-validations": [
                        { "rule": "self.min <= self.max", "message": "min must not exceed max",
                          "fieldPath": ".min" },
                        { "rule": "!has(self.forbidden)", "message": "forbidden is forbidden",
                          "reason": "FieldValueForbidden" }
                    ],
                    "properties": {
                        "min": { "type": "integer" },
                        "max": { "type": "integer" },
                        "forbidden": { "type": "string" },
                        "members": {
                            "type": "array",
                            "items": { "type": "string" },
                            "x-kubernetes-validations": [
                                { "rule": "self.size() == 2", "message": "two members" }
                            ]
                        },
                        "fixed": {
                            "type": "string",
                            "x-kubernetes-validations": [
                                { "rule": "self == oldSelf", "message": "fixed is immutable" }
                            ]
                        }
                    }
                }
            }
        })
    }

    fn failures(object: &Value, old: Option<&Value>) -> Vec<String> {
        let openapi = schema();
        let compiled = kube_cel::compile_schema(&openapi);
        validate(&compiled, &openapi, object, old)
            .iter()
            .map(|c| format!("{} {}: {}", c.reason, c.field, c.message))
            .collect()
    }

    #[test]
    fn failures_read_like_kube_apiserver() {
        let object = json!({ "spec": { "min": 3, "max": 1, "forbidden": "x", "members": ["a"] } });
        let mut found = failures(&object, None);
        found.sort();
        assert_eq!(
            found,
            vec![
                "FieldValueForbidden spec: Forbidden: forbidden is forbidden",
                "FieldValueInvalid spec.members: Invalid value: \"array\": two members",
                "FieldValueInvalid spec.min: Invalid value: \"object\": min must not exceed max",
            ]
        );
        assert!(failures(&json!({ "spec": { "min": 1, "max": 3 } }), None).is_empty());
    }

    #[test]
    fn transition_rules_see_the_old_object() {
        let old = json!({ "spec": { "min": 1, "max": 2, "fixed": "a" } });
        let new = json!({ "spec": { "min": 1, "max": 2, "fixed": "b" } });
        assert!(failures(&new, None).is_empty());
        assert!(failures(&old, Some(&old)).is_empty());
        assert_eq!(
            failures(&new, Some(&old)),
            vec!["FieldValueInvalid spec.fixed: Invalid value: \"string\": fixed is immutable"]
        );
    }

    #[test]
    fn evaluation_errors_are_failures() {
        assert_eq!(
            failures(&json!({ "spec": { "min": 1 } }), None),
            vec![
                "FieldValueInvalid spec.min: Invalid value: \"object\": rule evaluation error: No such key: max"
            ]
        );
    }

    #[test]
    fn rules_that_do_not_compile_are_located() {
        let openapi = json!({
            "type": "object",
            "properties": { "spec": { "type": "object", "properties": {
                "list": { "type": "array", "items": { "type": "string",
                    "x-kubernetes-validations": [{ "rule": "self ==" }] } }
            } } }
        });
        let errors = compilation_errors(&kube_cel::compile_schema(&openapi));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("at spec.list[*]: failed to compile CEL rule \"self ==\""),
            "{errors:?}"
        );
        assert!(compilation_errors(&kube_cel::compile_schema(&schema())).is_empty());
    }

    #[test]
    fn paths_split_into_keys_and_indexes() {
        let kinds: Vec<String> = segments("spec.steps[0].run[1][2]")
            .iter()
            .map(|s| match s {
                Segment::Key(k) => (*k).to_owned(),
                Segment::Index => "[]".to_owned(),
            })
            .collect();
        assert_eq!(kinds, vec!["spec", "steps", "[]", "run", "[]", "[]"]);
    }
}
