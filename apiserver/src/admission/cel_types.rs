//! The CEL types kube-apiserver declares for a structural schema (`SchemaDeclType`), and the
//! part of its compilation of `x-kubernetes-validations` rules that rests on them: a property is
//! a field under its escaped name only ([`super::escaping`]), so `self.namespace` is an
//! `undefined field 'namespace'` and `self.__namespace__` the property `namespace`; a resource's
//! root also declares `apiVersion`, `kind` and a `metadata` of `name` and `generateName` alone;
//! a bare reserved word is a `reserved identifier`.
//!
//! Not checked: function overloads and the types of operators (kube-apiserver's checker does
//! both); rules that only fail those are accepted here and fail, if ever, when evaluated.

use std::collections::HashMap;

use kube_cel::cel::common::ast::{CallExpr, ComprehensionExpr, Expr, IdedExpr};
use kube_cel::cel::common::ast::{EntryExpr, LiteralValue, operators};
use serde_json::Value;

use super::escaping;

/// The declared type of a schema node, or of a value reached from one.
#[derive(Clone, Copy, Debug)]
pub enum DeclType<'s> {
    /// Anything (`x-kubernetes-int-or-string`, or what this check does not follow).
    Dyn,
    Bool,
    Int,
    Double,
    String,
    Bytes,
    Duration,
    Timestamp,
    /// A list of the items of this schema.
    List(&'s Value),
    /// A map (`additionalProperties`) of values of this schema.
    Map(&'s Value),
    /// An object with the properties of `schema`; a resource's root (or an embedded resource)
    /// also has `apiVersion`, `kind` and the restricted `metadata`.
    Object {
        schema: &'s Value,
        resource_root: bool,
    },
    /// `metadata` at a resource's root: `name` and `generateName` only.
    ObjectMeta,
}

/// What selecting a field of a type finds.
enum Field<'s> {
    Found(DeclType<'s>),
    Undefined,
    NotSelectable,
}

/// Whether `schema` has `x-kubernetes-embedded-resource: true`.
pub fn is_embedded(schema: &Value) -> bool {
    schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true))
}

/// Whether a resource root's `metadata` property already declares `name` and `generateName`
/// as strings, in which case kube-apiserver keeps the schema's own `metadata` (and, with it,
/// `kind` and `apiVersion` when they are strings).
pub fn declares_type_and_object_meta(schema: &Value) -> bool {
    let props = schema.get("properties");
    let has_type = |node: Option<&Value>, ty: &str| {
        node.and_then(|n| n.get("type")).and_then(Value::as_str) == Some(ty)
    };
    let meta = props.and_then(|p| p.get("metadata"));
    let meta_props = meta.and_then(|m| m.get("properties"));
    has_type(props.and_then(|p| p.get("kind")), "string")
        && has_type(props.and_then(|p| p.get("apiVersion")), "string")
        && has_type(meta, "object")
        && has_type(meta_props.and_then(|p| p.get("name")), "string")
        && has_type(meta_props.and_then(|p| p.get("generateName")), "string")
}

impl<'s> DeclType<'s> {
    /// The type kube-apiserver declares for `schema`, or `None` when the node is not visible to
    /// rules (no type, or a list or map of invisible values).
    pub fn of(schema: &'s Value, resource_root: bool) -> Option<Self> {
        if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            return Some(Self::Dyn);
        }
        match schema.get("type").and_then(Value::as_str)? {
            "array" => {
                let items = schema.get("items")?;
                Self::of(items, is_embedded(items))?;
                Some(Self::List(items))
            }
            "object" => match schema.get("additionalProperties") {
                Some(values) if values.is_object() => {
                    Self::of(values, is_embedded(values))?;
                    Some(Self::Map(values))
                }
                _ => Some(Self::Object {
                    schema,
                    resource_root,
                }),
            },
            "string" => Some(match schema.get("format").and_then(Value::as_str) {
                Some("byte") => Self::Bytes,
                Some("duration") => Self::Duration,
                Some("date" | "date-time") => Self::Timestamp,
                _ => Self::String,
            }),
            "boolean" => Some(Self::Bool),
            "number" => Some(Self::Double),
            "integer" => Some(Self::Int),
            _ => None,
        }
    }

    /// The type of the field `name` (as written in the rule, escaped) of this type.
    fn field(self, name: &str) -> Field<'s> {
        match self {
            Self::Dyn => Field::Found(Self::Dyn),
            Self::Map(values) => {
                Field::Found(Self::of(values, is_embedded(values)).unwrap_or(Self::Dyn))
            }
            Self::ObjectMeta => match name {
                "name" | "generateName" => Field::Found(Self::String),
                _ => Field::Undefined,
            },
            Self::Object {
                schema,
                resource_root,
            } => {
                if resource_root && !declares_type_and_object_meta(schema) {
                    match name {
                        "kind" | "apiVersion" => return Field::Found(Self::String),
                        "metadata" => return Field::Found(Self::ObjectMeta),
                        _ => {}
                    }
                }
                let found = schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter(|(property, _)| escaping::escape(property).as_deref() == Some(name))
                    .find_map(|(_, child)| Self::of(child, is_embedded(child)));
                found.map_or(Field::Undefined, Field::Found)
            }
            _ => Field::NotSelectable,
        }
    }

    /// The type of an element when iterating (`all`, `exists`, …) or indexing.
    fn element(self) -> Self {
        match self {
            Self::List(items) => Self::of(items, is_embedded(items)).unwrap_or(Self::Dyn),
            Self::Map(_) => Self::String,
            _ => Self::Dyn,
        }
    }

    /// The type of `self[key]`.
    fn indexed(self) -> Self {
        match self {
            Self::List(items) => Self::of(items, is_embedded(items)).unwrap_or(Self::Dyn),
            Self::Map(values) => Self::of(values, is_embedded(values)).unwrap_or(Self::Dyn),
            _ => Self::Dyn,
        }
    }

    /// The name cel-go gives the type in its messages.
    fn name(self) -> String {
        match self {
            Self::Dyn => "dyn".into(),
            Self::Bool => "bool".into(),
            Self::Int => "int".into(),
            Self::Double => "double".into(),
            Self::String => "string".into(),
            Self::Bytes => "bytes".into(),
            Self::Duration => "google.protobuf.Duration".into(),
            Self::Timestamp => "google.protobuf.Timestamp".into(),
            Self::List(_) => format!("list({})", self.element().name()),
            Self::Map(_) => format!("map(string, {})", self.indexed().name()),
            Self::Object { .. } | Self::ObjectMeta => "object".into(),
        }
    }
}

/// Identifiers that name types, usable as values (`type(self.x) == string`).
const TYPE_IDENTIFIERS: [&str; 11] = [
    "bool",
    "bytes",
    "double",
    "dyn",
    "int",
    "list",
    "map",
    "null_type",
    "string",
    "type",
    "uint",
];

/// The compilation errors of `rule` (parsed as `expr`) against the declared type of its node,
/// each written as cel-go writes them (`ERROR: <input>:1:14: undefined field 'namespace'`,
/// then the line and a caret).
pub fn check(rule: &str, expr: &IdedExpr, self_type: DeclType<'_>) -> Vec<String> {
    let mut checker = Checker {
        locator: Locator::new(rule),
        scopes: vec![("self".into(), self_type), ("oldSelf".into(), self_type)],
        errors: Vec::new(),
    };
    checker.walk(expr, false);
    checker.errors
}

struct Checker<'r, 's> {
    locator: Locator<'r>,
    scopes: Vec<(String, DeclType<'s>)>,
    errors: Vec<String>,
}

impl<'s> Checker<'_, 's> {
    fn lookup(&self, name: &str) -> Option<DeclType<'s>> {
        self.scopes
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
    }

    /// The type of `expr`; `qualifier` when it is the operand of a select or the target of a
    /// call, where an unknown identifier may begin a qualified name (`sets.contains`).
    fn walk(&mut self, expr: &IdedExpr, qualifier: bool) -> DeclType<'s> {
        match &expr.expr {
            Expr::Ident(name) => {
                if escaping::is_reserved(name) {
                    let at = self.locator.identifier(name);
                    self.error(at, &format!("reserved identifier: {name}"));
                    return self.lookup(name).unwrap_or(DeclType::Dyn);
                }
                if let Some(found) = self.lookup(name) {
                    return found;
                }
                if !qualifier && !TYPE_IDENTIFIERS.contains(&name.as_str()) {
                    let at = self.locator.identifier(name);
                    self.error(
                        at,
                        &format!("undeclared reference to '{name}' (in container '')"),
                    );
                }
                DeclType::Dyn
            }
            Expr::Select(select) => {
                let operand = self.walk(&select.operand, true);
                let found = self.select(operand, &select.field);
                if select.test { DeclType::Bool } else { found }
            }
            Expr::Call(call) => self.call(call),
            Expr::Comprehension(comprehension) => self.comprehension(comprehension),
            Expr::List(list) => {
                for element in &list.elements {
                    self.walk(element, false);
                }
                DeclType::Dyn
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    match &entry.expr {
                        EntryExpr::MapEntry(e) => {
                            self.walk(&e.key, false);
                            self.walk(&e.value, false);
                        }
                        EntryExpr::StructField(f) => {
                            self.walk(&f.value, false);
                        }
                    }
                }
                DeclType::Dyn
            }
            Expr::Struct(object) => {
                for entry in &object.entries {
                    if let EntryExpr::StructField(f) = &entry.expr {
                        self.walk(&f.value, false);
                    }
                }
                DeclType::Dyn
            }
            Expr::Literal(_) | Expr::Unspecified => DeclType::Dyn,
        }
    }

    fn call(&mut self, call: &CallExpr) -> DeclType<'s> {
        if call.func_name == operators::OPT_SELECT
            && let [operand, field] = call.args.as_slice()
            && let Expr::Literal(LiteralValue::String(field)) = &field.expr
        {
            let operand = self.walk(operand, true);
            self.select(operand, field.inner());
            return DeclType::Dyn;
        }
        if call.func_name == operators::INDEX
            && let [operand, index] = call.args.as_slice()
        {
            let operand = self.walk(operand, false);
            self.walk(index, false);
            return operand.indexed();
        }
        if let Some(target) = &call.target {
            self.walk(target, true);
        }
        for arg in &call.args {
            self.walk(arg, false);
        }
        DeclType::Dyn
    }

    fn comprehension(&mut self, comprehension: &ComprehensionExpr) -> DeclType<'s> {
        let range = self.walk(&comprehension.iter_range, false);
        self.walk(&comprehension.accu_init, false);
        let (first, second) = match (range, &comprehension.iter_var2) {
            (DeclType::List(_), Some(_)) => (DeclType::Int, range.element()),
            (DeclType::Map(_), Some(_)) => (DeclType::String, range.indexed()),
            _ => (range.element(), DeclType::Dyn),
        };
        for var in std::iter::once(&comprehension.iter_var)
            .chain(&comprehension.iter_var2)
            .filter(|v| escaping::is_reserved(v))
        {
            let at = self.locator.identifier(var);
            self.error(at, &format!("reserved identifier: {var}"));
        }
        let depth = self.scopes.len();
        self.scopes
            .push((comprehension.accu_var.clone(), DeclType::Dyn));
        self.scopes.push((comprehension.iter_var.clone(), first));
        if let Some(second_var) = &comprehension.iter_var2 {
            self.scopes.push((second_var.clone(), second));
        }
        self.walk(&comprehension.loop_cond, false);
        self.walk(&comprehension.loop_step, false);
        self.scopes.truncate(depth + 1);
        self.walk(&comprehension.result, false);
        self.scopes.truncate(depth);
        DeclType::Dyn
    }

    fn select(&mut self, operand: DeclType<'s>, field: &str) -> DeclType<'s> {
        match operand.field(field) {
            Field::Found(found) => found,
            Field::Undefined => {
                let at = self.locator.selection(field);
                self.error(at, &format!("undefined field '{field}'"));
                DeclType::Dyn
            }
            Field::NotSelectable => {
                let at = self.locator.selection(field);
                let message = format!("type '{}' does not support field selection", operand.name());
                self.error(at, &message);
                DeclType::Dyn
            }
        }
    }

    fn error(&mut self, at: Option<usize>, message: &str) {
        self.errors.push(self.locator.render(at, message));
    }
}

/// Finds where in a rule's text an error is, since the parser keeps no positions for an
/// expression it parsed: the n-th `.field` (or bare `word`) outside string literals for the n-th
/// error about it.
struct Locator<'r> {
    source: &'r str,
    in_literal: Vec<bool>,
    seen: HashMap<(bool, String), usize>,
}

impl<'r> Locator<'r> {
    fn new(source: &'r str) -> Self {
        let mut in_literal = vec![false; source.len()];
        let mut quote: Option<u8> = None;
        let mut escaped = false;
        for (i, byte) in source.bytes().enumerate() {
            match quote {
                Some(q) => {
                    in_literal[i] = true;
                    if escaped {
                        escaped = false;
                    } else if byte == b'\\' {
                        escaped = true;
                    } else if byte == q {
                        quote = None;
                    }
                }
                None if byte == b'\'' || byte == b'"' => {
                    in_literal[i] = true;
                    quote = Some(byte);
                }
                None => {}
            }
        }
        Self {
            source,
            in_literal,
            seen: HashMap::new(),
        }
    }

    fn is_identifier_byte(byte: u8) -> bool {
        byte.is_ascii_alphanumeric() || byte == b'_'
    }

    /// Whether `word` stands whole at `start`.
    fn word_at(&self, start: usize, word: &str) -> bool {
        let bytes = self.source.as_bytes();
        self.source[start..].starts_with(word)
            && bytes
                .get(start + word.len())
                .is_none_or(|b| !Self::is_identifier_byte(*b))
    }

    /// The offset of the `.` of the next unreported `.field` (`.?field` too).
    fn selection(&mut self, field: &str) -> Option<usize> {
        let bytes = self.source.as_bytes();
        let candidates = (0..bytes.len()).filter(|&i| {
            if bytes[i] != b'.' || self.in_literal[i] {
                return false;
            }
            let mut j = i + 1;
            while j < bytes.len() && (bytes[j].is_ascii_whitespace() || bytes[j] == b'?') {
                j += 1;
            }
            j < bytes.len() && self.word_at(j, field)
        });
        let candidates: Vec<usize> = candidates.collect();
        self.nth(true, field, &candidates)
    }

    /// The offset of the next unreported bare identifier `word`.
    fn identifier(&mut self, word: &str) -> Option<usize> {
        let bytes = self.source.as_bytes();
        let candidates: Vec<usize> = (0..bytes.len())
            .filter(|&i| {
                !self.in_literal[i]
                    && self.word_at(i, word)
                    && (i == 0 || !Self::is_identifier_byte(bytes[i - 1]))
                    && !self.source[..i].trim_end().ends_with('.')
            })
            .collect();
        self.nth(false, word, &candidates)
    }

    fn nth(&mut self, select: bool, name: &str, candidates: &[usize]) -> Option<usize> {
        let seen = self.seen.entry((select, name.to_owned())).or_default();
        let found = candidates.get(*seen).or_else(|| candidates.last()).copied();
        *seen += 1;
        found
    }

    /// `ERROR: <input>:line:column: message`, then the line and a caret under the column.
    fn render(&self, at: Option<usize>, message: &str) -> String {
        let Some(offset) = at else {
            return format!("ERROR: <input>: {message}");
        };
        let before = &self.source[..offset];
        let line_number = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.source[line_start..offset].chars().count() + 1;
        let line = self.source[line_start..].lines().next().unwrap_or_default();
        format!(
            "ERROR: <input>:{line_number}:{column}: {message}\n| {line}\n| {caret:.>column$}",
            caret = "^"
        )
    }
}

#[cfg(test)]
mod tests {
    use kube_cel::cel::Program;
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "metadata": { "type": "object" },
                "spec": {
                    "type": "object",
                    "properties": {
                        "namespace": { "type": "string" },
                        "x-y": { "type": "integer" },
                        "a.b/c": { "type": "string" },
                        "my_field": { "type": "string" },
                        "1st": { "type": "string" },
                        "untyped": {},
                        "labels": { "type": "object",
                                    "additionalProperties": { "type": "string" } },
                        "refs": { "type": "array", "items": { "type": "object",
                            "properties": { "name": { "type": "string" },
                                            "namespace": { "type": "string" } } } },
                        "when": { "type": "string", "format": "date-time" },
                        "any": { "x-kubernetes-int-or-string": true }
                    }
                }
            }
        })
    }

    fn errors(rule: &str) -> Vec<String> {
        let schema = schema();
        let program = Program::compile(rule).expect("parses");
        let root = DeclType::of(&schema, true).expect("an object");
        check(rule, program.expression(), root)
    }

    fn first_line(errors: &[String]) -> Vec<&str> {
        errors
            .iter()
            .map(|e| e.lines().next().unwrap_or_default())
            .collect()
    }

    #[test]
    fn escaped_names_are_fields() {
        for rule in [
            "has(self.spec.__namespace__)",
            "self.spec.__namespace__ == 'a'",
            "self.spec.x__dash__y > 0",
            "self.spec.a__dot__b__slash__c != ''",
            "self.spec.my_field != ''",
            "self.spec.refs.all(r, has(r.__namespace__) && r.name != '')",
            "self.spec.labels.exists(k, k.startsWith('a')) && self.spec.labels.foo == 'x'",
            "self.metadata.name == 'x' && self.metadata.generateName == '' && self.kind == 'K'",
            "self.apiVersion != '' && type(self.spec.any) == string",
            "self.spec.refs[0].name != '' && oldSelf.spec.__namespace__ != ''",
            "self.spec.when.getFullYear() > 2000",
        ] {
            assert_eq!(errors(rule), Vec::<String>::new(), "{rule}");
        }
    }

    #[test]
    fn unescaped_and_undeclared_names_are_undefined_fields() {
        assert_eq!(
            errors("has(self.spec.namespace)"),
            vec![
                "ERROR: <input>:1:14: undefined field 'namespace'\n| has(self.spec.namespace)\n| .............^"
            ]
        );
        assert_eq!(
            first_line(&errors(
                "self.spec.refs.exists(d, d.name == self.metadata.name && !has(d.namespace))"
            )),
            vec!["ERROR: <input>:1:64: undefined field 'namespace'"]
        );
        assert_eq!(
            first_line(&errors(
                "self.spec.x_dash_y > 0 || self.spec.my__field == ''"
            )),
            vec![
                "ERROR: <input>:1:10: undefined field 'x_dash_y'",
                "ERROR: <input>:1:36: undefined field 'my__field'",
            ]
        );
        for (rule, field) in [
            ("self.metadata.namespace == 'a'", "namespace"),
            ("self.metadata.__namespace__ == 'a'", "__namespace__"),
            ("has(self.metadata.labels)", "labels"),
            ("self.spec.untyped == 1", "untyped"),
            ("self.spec.__1st__ == ''", "__1st__"),
            ("self.status.phase == 'x'", "status"),
        ] {
            let found = errors(rule);
            assert_eq!(found.len(), 1, "{rule}: {found:?}");
            assert!(
                found[0].contains(&format!("undefined field '{field}'")),
                "{rule}: {found:?}"
            );
        }
    }

    #[test]
    fn reserved_words_and_unknown_names_are_refused() {
        assert_eq!(
            first_line(&errors("self.spec.refs.all(namespace, true)")),
            vec!["ERROR: <input>:1:20: reserved identifier: namespace"],
            "not even as a comprehension's variable"
        );
        assert_eq!(
            first_line(&errors("namespace == 'a'")),
            vec!["ERROR: <input>:1:1: reserved identifier: namespace"]
        );
        assert_eq!(
            first_line(&errors("unknown == 'a'")),
            vec!["ERROR: <input>:1:1: undeclared reference to 'unknown' (in container '')"]
        );
        assert_eq!(
            first_line(&errors(
                "self.spec.__namespace__.size() > 0 && self.spec.x__dash__y.foo"
            )),
            vec!["ERROR: <input>:1:59: type 'int' does not support field selection"]
        );
    }

    #[test]
    fn positions_skip_string_literals() {
        assert_eq!(
            first_line(&errors("'.namespace' == self.spec.namespace")),
            vec!["ERROR: <input>:1:26: undefined field 'namespace'"]
        );
    }

    #[test]
    fn the_root_keeps_a_declared_object_meta() {
        let schema = json!({
            "type": "object",
            "properties": {
                "kind": { "type": "string" },
                "apiVersion": { "type": "string" },
                "metadata": { "type": "object", "properties": {
                    "name": { "type": "string" }, "generateName": { "type": "string" },
                    "labels": { "type": "object", "additionalProperties": { "type": "string" } }
                } }
            }
        });
        let root = DeclType::of(&schema, true).expect("an object");
        let rule = "has(self.metadata.labels)";
        let program = Program::compile(rule).expect("parses");
        assert!(check(rule, program.expression(), root).is_empty());
    }
}
