//! CEL `x-kubernetes-validations` rules as kube-apiserver compiles and evaluates them: each rule
//! parsed with the `cel` crate (through kube-cel), checked against the declared types of its
//! schema node with Kubernetes' escaping of property names ([`super::cel_types`]),
//! and evaluated on the object converted the same way ([`super::cel_values`]) with
//! kube-cel's function library. A rule that does not compile refuses the schema, naming the rule
//! and where it is ([`RuleError`]); failures are worded as kube-apiserver words them
//! (`Invalid value: "object": <message>`, or the rule's `reason`).

use std::fmt;

use kube_cel::cel::{Context, ExecutionError, Program, Value as Cel};
use kube_cel::{KubeCelExt as _, Rule};
use serde_json::Value;

use super::cel_types::{self, DeclType, is_embedded};
use super::{cel_values, field};
use crate::error::Cause;

/// A rule (or `messageExpression`) that does not compile, where it is in the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The schema node holding the rule, as kube-apiserver writes schema paths below
    /// `openAPIV3Schema` (`properties[spec].properties[dependsOn].items`); empty at the root.
    pub schema_path: String,
    /// The rule's index in the node's `x-kubernetes-validations`.
    pub index: usize,
    /// `rule`, or `messageExpression` when that is what does not compile.
    pub field: &'static str,
    /// The text that does not compile.
    pub value: String,
    /// Why: `compilation failed: ERROR: <input>:1:14: undefined field 'namespace'…`.
    pub detail: String,
}

impl RuleError {
    /// The field path of the error under `schema`, the path of the `openAPIV3Schema` in its CRD
    /// (`spec.validation.openAPIV3Schema`): `…properties[spec].x-kubernetes-validations[0].rule`.
    pub fn field_path(&self, schema: &str) -> String {
        let node = if self.schema_path.is_empty() {
            schema.to_owned()
        } else {
            format!("{schema}.{}", self.schema_path)
        };
        format!(
            "{node}.x-kubernetes-validations[{}].{}",
            self.index, self.field
        )
    }

    /// `Invalid value: "<rule>": compilation failed: …`, the message of kube-apiserver's cause.
    pub fn message(&self) -> String {
        format!(
            "Invalid value: {}: {}",
            field::quote(&self.value),
            self.detail
        )
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.field_path("openAPIV3Schema"),
            self.message()
        )
    }
}

/// The rules of a schema, compiled once.
pub struct CompiledRules {
    schema: Value,
    root: Node,
}

impl fmt::Debug for CompiledRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledRules").finish_non_exhaustive()
    }
}

/// A schema node with rules, or with rules below it.
struct Node {
    /// JSON pointer to the schema that types and converts `self` (for a branch of `allOf`,
    /// `anyOf` or `oneOf`, its parent's).
    pointer: String,
    resource_root: bool,
    /// The node's `type`, kube-apiserver's "invalid value" of a failed rule.
    schema_type: String,
    rules: Vec<CompiledRule>,
    properties: Vec<(String, Node)>,
    items: Option<Box<Node>>,
    additional: Option<Box<Node>>,
    branches: Vec<Node>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.rules.is_empty()
            && self.properties.is_empty()
            && self.items.is_none()
            && self.additional.is_none()
            && self.branches.is_empty()
    }
}

struct CompiledRule {
    rule: Rule,
    program: Program,
    message: Option<Program>,
    transition: bool,
}

/// Compiles every rule of `schema`, as kube-apiserver does when the CRD is created.
pub fn compile(schema: &Value) -> Result<CompiledRules, Vec<RuleError>> {
    let mut errors = Vec::new();
    let root = compile_node(
        &Place {
            schema,
            pointer: String::new(),
            typed_as: schema,
            typed_pointer: String::new(),
            resource_root: true,
            path: String::new(),
        },
        &mut errors,
    );
    if errors.is_empty() {
        Ok(CompiledRules {
            schema: schema.clone(),
            root,
        })
    } else {
        Err(errors)
    }
}

/// Where a schema node is.
struct Place<'s> {
    schema: &'s Value,
    pointer: String,
    /// The schema that types `self` (the node itself, or a branch's parent).
    typed_as: &'s Value,
    typed_pointer: String,
    resource_root: bool,
    /// Kube-apiserver's path of the node (`properties[spec].items`).
    path: String,
}

impl<'s> Place<'s> {
    fn child(&self, schema: &'s Value, keys: &[&str], path: String) -> Self {
        let mut pointer = self.pointer.clone();
        for key in keys {
            pointer.push('/');
            pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
        }
        Self {
            schema,
            pointer: pointer.clone(),
            typed_as: schema,
            typed_pointer: pointer,
            resource_root: is_embedded(schema),
            path,
        }
    }

    fn join(&self, segment: &str) -> String {
        if self.path.is_empty() {
            segment.to_owned()
        } else {
            format!("{}.{segment}", self.path)
        }
    }
}

fn compile_node(place: &Place<'_>, errors: &mut Vec<RuleError>) -> Node {
    let schema = place.schema;
    let self_type = DeclType::of(place.typed_as, place.resource_root).unwrap_or(DeclType::Dyn);
    let rules = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, raw)| match compile_rule(raw, self_type) {
            Ok(rule) => Some(rule),
            Err((field, value, detail)) => {
                errors.push(RuleError {
                    schema_path: place.path.clone(),
                    index,
                    field,
                    value,
                    detail,
                });
                None
            }
        })
        .collect();
    let mut properties = Vec::new();
    if let Some(declared) = schema.get("properties").and_then(Value::as_object) {
        let mut declared: Vec<_> = declared.iter().collect();
        declared.sort_by(|a, b| a.0.cmp(b.0));
        for (name, child) in declared {
            let child_place = place.child(
                child,
                &["properties", name],
                place.join(&format!("properties[{name}]")),
            );
            let node = compile_node(&child_place, errors);
            if !node.is_empty() {
                properties.push((name.clone(), node));
            }
        }
    }
    let mut single = |key: &str| {
        let child = schema.get(key).filter(|c| c.is_object())?;
        let node = compile_node(&place.child(child, &[key], place.join(key)), errors);
        (!node.is_empty()).then(|| Box::new(node))
    };
    let items = single("items");
    let additional = single("additionalProperties");
    let mut branches = Vec::new();
    for keyword in ["allOf", "anyOf", "oneOf"] {
        let listed = schema.get(keyword).and_then(Value::as_array);
        for (index, branch) in listed.into_iter().flatten().enumerate() {
            let branch_place = Place {
                schema: branch,
                pointer: format!("{}/{keyword}/{index}", place.pointer),
                typed_as: place.typed_as,
                typed_pointer: place.typed_pointer.clone(),
                resource_root: place.resource_root,
                path: place.join(&format!("{keyword}[{index}]")),
            };
            let node = compile_node(&branch_place, errors);
            if !node.is_empty() {
                branches.push(node);
            }
        }
    }
    Node {
        pointer: place.typed_pointer.clone(),
        resource_root: place.resource_root,
        schema_type: place
            .typed_as
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        rules,
        properties,
        items,
        additional,
        branches,
    }
}

/// A rule compiled, or the field that does not compile, its text and why.
fn compile_rule(
    raw: &Value,
    self_type: DeclType<'_>,
) -> Result<CompiledRule, (&'static str, String, String)> {
    let rule: Rule = serde_json::from_value(raw.clone())
        .map_err(|e| ("rule", raw.to_string(), format!("invalid rule: {e}")))?;
    let compiled = |text: &str| -> Result<Program, String> {
        let program = Program::compile(text).map_err(|e| e.to_string())?;
        let errors = cel_types::check(text, program.expression(), self_type);
        if errors.is_empty() {
            Ok(program)
        } else {
            Err(errors.join("\n"))
        }
    };
    let program = compiled(&rule.rule).map_err(|e| {
        (
            "rule",
            rule.rule.clone(),
            format!("compilation failed: {e}"),
        )
    })?;
    let message = match &rule.message_expression {
        Some(expression) => Some(compiled(expression).map_err(|e| {
            (
                "messageExpression",
                expression.clone(),
                format!("messageExpression compilation failed: {e}"),
            )
        })?),
        None => None,
    };
    let transition = program.references().has_variable("oldSelf");
    Ok(CompiledRule {
        rule,
        program,
        message,
        transition,
    })
}

thread_local! {
    /// CEL's standard functions and kube-cel's.
    static FUNCTIONS: Context<'static> = {
        let mut context = Context::default();
        context.register_all();
        context
    };
}

/// The failures of the rules on `object` (`old` the stored object, for transition rules).
pub fn validate(compiled: &CompiledRules, object: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    FUNCTIONS.with(|functions| {
        let walk = Walk {
            schema: &compiled.schema,
            functions,
        };
        walk.node(&compiled.root, object, old, "", &mut causes);
    });
    causes
}

struct Walk<'a> {
    schema: &'a Value,
    functions: &'a Context<'static>,
}

impl Walk<'_> {
    fn node(
        &self,
        node: &Node,
        value: &Value,
        old: Option<&Value>,
        path: &str,
        causes: &mut Vec<Cause>,
    ) {
        if !node.rules.is_empty() {
            self.evaluate(node, value, old, path, causes);
        }
        if let Some(object) = value.as_object() {
            for (name, child) in &node.properties {
                if let Some(child_value) = object.get(name) {
                    let child_old = old.and_then(|o| o.get(name));
                    self.node(
                        child,
                        child_value,
                        child_old,
                        &field::child(path, name),
                        causes,
                    );
                }
            }
            if let Some(values) = &node.additional {
                for (key, child_value) in object {
                    let child_old = old.and_then(|o| o.get(key));
                    self.node(
                        values,
                        child_value,
                        child_old,
                        &field::child(path, key),
                        causes,
                    );
                }
            }
        }
        if let (Some(items), Some(list)) = (&node.items, value.as_array()) {
            for (index, item) in list.iter().enumerate() {
                let item_old = old.and_then(Value::as_array).and_then(|o| o.get(index));
                self.node(items, item, item_old, &field::index(path, index), causes);
            }
        }
        for branch in &node.branches {
            self.node(branch, value, old, path, causes);
        }
    }

    fn evaluate(
        &self,
        node: &Node,
        value: &Value,
        old: Option<&Value>,
        path: &str,
        causes: &mut Vec<Cause>,
    ) {
        let schema = self.schema.pointer(&node.pointer);
        let mut scope = self.functions.new_inner_scope();
        scope.add_variable_from_value(
            "self",
            cel_values::to_cel(value, schema, node.resource_root),
        );
        if let Some(old) = old {
            let old = cel_values::to_cel(old, schema, node.resource_root);
            scope.add_variable_from_value("oldSelf", old);
        }
        let mut without_old = scope.new_inner_scope();
        without_old.add_variable_from_value("oldSelf", Cel::Null);
        let node_type = field::quote(&node.schema_type);
        for compiled in &node.rules {
            let rule = &compiled.rule;
            let context = match (old, compiled.transition) {
                (Some(_), _) | (None, false) => &scope,
                (None, true) if rule.optional_old_self == Some(true) => &without_old,
                (None, true) => continue,
            };
            let at = error_path(path, rule.field_path.as_deref());
            let message = match compiled.program.execute(context) {
                Ok(Cel::Bool(true)) => continue,
                Ok(Cel::Bool(false)) => {
                    let message = compiled
                        .message
                        .as_ref()
                        .and_then(|m| match m.execute(context) {
                            Ok(Cel::String(text)) if !text.is_empty() => Some(text.to_string()),
                            _ => None,
                        })
                        .or_else(|| rule.message.clone())
                        .unwrap_or_else(|| format!("failed rule: {}", rule.rule));
                    causes.push(match rule.reason.as_deref() {
                        Some(field::FORBIDDEN) => field::forbidden(&at, &message),
                        Some(field::REQUIRED) => field::required(&at, &message),
                        Some(field::DUPLICATE) => field::duplicate(&at, &node_type),
                        _ => field::invalid(&at, &node_type, &message),
                    });
                    continue;
                }
                Ok(_) => format!("rule {} did not evaluate to bool", field::quote(&rule.rule)),
                Err(ExecutionError::UndeclaredReference(name)) => format!(
                    "rule references '{name}', which the embedded API server does not provide; \
                     it cannot be evaluated"
                ),
                Err(error) => format!("rule evaluation error: {error}"),
            };
            causes.push(field::invalid(&at, &node_type, &message));
        }
    }
}

/// Where a failure of a rule at `path` is reported: its `fieldPath` (`.min`) below `path`.
fn error_path(path: &str, field_path: Option<&str>) -> String {
    let joined = match field_path {
        Some(relative) if relative.starts_with('.') => format!("{path}{relative}"),
        Some(relative) => field::child(path, relative),
        None => path.to_owned(),
    };
    joined.trim_start_matches('.').to_owned()
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

    fn failures_of(openapi: &Value, object: &Value, old: Option<&Value>) -> Vec<String> {
        let compiled = compile(openapi).expect("compiles");
        validate(&compiled, object, old)
            .iter()
            .map(|c| format!("{} {}: {}", c.reason, c.field, c.message))
            .collect()
    }

    fn failures(object: &Value, old: Option<&Value>) -> Vec<String> {
        failures_of(&schema(), object, old)
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
    fn message_expressions_word_the_failure() {
        let openapi = json!({ "type": "object", "properties": { "spec": { "type": "object",
            "properties": { "size": { "type": "integer" } },
            "x-kubernetes-validations": [{ "rule": "self.size < 3",
                "messageExpression": "'size ' + string(self.size) + ' is too big'" }] } } });
        assert_eq!(
            failures_of(&openapi, &json!({ "spec": { "size": 5 } }), None),
            vec!["FieldValueInvalid spec: Invalid value: \"object\": size 5 is too big"]
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
        let errors = compile(&openapi).expect_err("does not compile");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].field_path("spec.validation.openAPIV3Schema"),
            "spec.validation.openAPIV3Schema.properties[spec].properties[list].items.x-kubernetes-validations[0].rule"
        );
        assert!(
            errors[0]
                .to_string()
                .starts_with("openAPIV3Schema.properties[spec].properties[list].items.x-kubernetes-validations[0].rule: Invalid value: \"self ==\": compilation failed: ERROR: <input>:"),
            "{errors:?}"
        );
        assert!(compile(&schema()).is_ok());
    }

    fn namespace_schema(rule: &str) -> Value {
        json!({ "type": "object", "properties": { "spec": { "type": "object",
            "x-kubernetes-validations": [{ "rule": rule, "message": "namespace is required" }],
            "properties": {
                "namespace": { "type": "string" },
                "x-y": { "type": "integer" }
            } } } })
    }

    #[test]
    fn a_reserved_word_is_a_field_only_escaped() {
        let errors = compile(&namespace_schema("has(self.namespace)")).expect_err("refused");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].schema_path, "properties[spec]");
        assert_eq!(errors[0].value, "has(self.namespace)");
        assert!(
            errors[0]
                .detail
                .starts_with("compilation failed: ERROR: <input>:1:9: undefined field 'namespace'"),
            "{}",
            errors[0].detail
        );
        let openapi = namespace_schema("has(self.__namespace__)");
        assert!(failures_of(&openapi, &json!({ "spec": { "namespace": "a" } }), None).is_empty());
        assert_eq!(
            failures_of(&openapi, &json!({ "spec": {} }), None),
            vec!["FieldValueInvalid spec: Invalid value: \"object\": namespace is required"]
        );
    }

    #[test]
    fn a_dash_is_escaped() {
        let openapi = namespace_schema("self.x__dash__y > 0");
        assert!(failures_of(&openapi, &json!({ "spec": { "x-y": 1 } }), None).is_empty());
        assert_eq!(
            failures_of(&openapi, &json!({ "spec": { "x-y": 0 } }), None).len(),
            1
        );
        assert!(compile(&namespace_schema("self.x_y > 0")).is_err());
    }

    #[test]
    fn the_root_sees_the_name_but_not_the_namespace() {
        let rule = |rule: &str| {
            json!({ "type": "object", "x-kubernetes-validations": [{ "rule": rule }],
                    "properties": { "metadata": { "type": "object" } } })
        };
        let object = json!({ "metadata": { "name": "a", "namespace": "b" } });
        assert!(failures_of(&rule("self.metadata.name == 'a'"), &object, None).is_empty());
        for refused in [
            "self.metadata.namespace == 'b'",
            "self.metadata.__namespace__ == 'b'",
            "has(self.metadata.labels)",
        ] {
            assert!(compile(&rule(refused)).is_err(), "{refused}");
        }
    }

    #[test]
    fn message_expressions_are_compiled_too() {
        let openapi = json!({ "type": "object", "properties": { "spec": { "type": "object",
            "properties": { "namespace": { "type": "string" } },
            "x-kubernetes-validations": [{ "rule": "true",
                "messageExpression": "self.namespace" }] } } });
        let errors = compile(&openapi).expect_err("refused");
        assert_eq!(
            errors[0].field_path("openAPIV3Schema"),
            "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].messageExpression"
        );
        assert!(
            errors[0]
                .detail
                .starts_with("messageExpression compilation failed: ERROR: <input>:1:5:"),
            "{}",
            errors[0].detail
        );
    }
}
