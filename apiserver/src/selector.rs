//! Label and field selectors of list and watch requests, in Kubernetes' syntax and with its
//! error messages: `app=web,tier!=db,env in (dev,prod),!legacy,release` and
//! `metadata.name=x,metadata.namespace!=kube-system`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use crate::admission::{label_value_errors, qualified_name_errors};

/// Why a selector does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectorError {
    /// A requirement of a label selector is invalid (syntax inside it, or an invalid key or
    /// value).
    #[error("unable to parse requirement: {0}")]
    Requirement(String),
    /// The label selector's syntax is wrong between requirements.
    #[error("{0}")]
    Syntax(String),
    /// A term of a field selector has no operator, or a value is badly escaped.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    InvalidFieldTerm {
        /// The whole selector.
        selector: String,
        /// The term that does not parse.
        term: String,
    },
    /// A field selector value uses `\` wrongly or leaves `,` or `=` unescaped.
    #[error("invalid field selector: {0}")]
    InvalidFieldValue(String),
    /// A field selector names a field that cannot be selected on.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

/// A label selector operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `key=value` (also `key==value`).
    Equals,
    /// `key!=value`: true when the label is absent.
    NotEquals,
    /// `key in (a,b)`.
    In,
    /// `key notin (a,b)`: true when the label is absent.
    NotIn,
    /// `key`.
    Exists,
    /// `!key`.
    DoesNotExist,
    /// `key>5` (integers).
    GreaterThan,
    /// `key<5` (integers).
    LessThan,
}

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub operator: Operator,
    /// The values (sorted, distinct); empty for `Exists` and `DoesNotExist`.
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether `labels` satisfy the requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        let contains = |v: &String| self.values.iter().any(|candidate| candidate == v);
        match self.operator {
            Operator::Equals | Operator::In => value.is_some_and(contains),
            Operator::NotEquals | Operator::NotIn => !value.is_some_and(contains),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(actual) = value.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let Some(bound) = self.values.first().and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    actual > bound
                } else {
                    actual < bound
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.values.first().map_or("", String::as_str);
        match self.operator {
            Operator::Equals => write!(f, "{}={first}", self.key),
            Operator::NotEquals => write!(f, "{}!={first}", self.key),
            Operator::In => write!(f, "{} in ({})", self.key, self.values.join(",")),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, self.values.join(",")),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::GreaterThan => write!(f, "{}>{first}", self.key),
            Operator::LessThan => write!(f, "{}<{first}", self.key),
        }
    }
}

/// The labels of an object as selectors see them: a value that is not a string counts as the
/// empty string, an object without labels has none.
pub fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A label selector: requirements that must all hold. The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Identifier(String),
    /// `!`
    Not,
    /// `!=`
    NotEquals,
    /// `=`
    Equals,
    /// `==`
    DoubleEquals,
    /// `>`
    Greater,
    /// `<`
    Less,
    /// `(`
    Open,
    /// `)`
    Close,
    /// `,`
    Comma,
    End,
}

impl Token {
    fn literal(&self) -> &str {
        match self {
            Self::Identifier(text) => text,
            Self::Not => "!",
            Self::NotEquals => "!=",
            Self::Equals => "=",
            Self::DoubleEquals => "==",
            Self::Greater => ">",
            Self::Less => "<",
            Self::Open => "(",
            Self::Close => ")",
            Self::Comma => ",",
            Self::End => "",
        }
    }

    fn is_identifier(&self) -> bool {
        matches!(self, Self::Identifier(_))
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn lex(input: &str) -> Vec<Token> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (token, width) = match (c, next) {
            ('!', Some('=')) => (Token::NotEquals, 2),
            ('=', Some('=')) => (Token::DoubleEquals, 2),
            ('!', _) => (Token::Not, 1),
            ('=', _) => (Token::Equals, 1),
            ('>', _) => (Token::Greater, 1),
            ('<', _) => (Token::Less, 1),
            ('(', _) => (Token::Open, 1),
            (')', _) => (Token::Close, 1),
            (',', _) => (Token::Comma, 1),
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !is_special(chars[i]) {
                    i += 1;
                }
                tokens.push(Token::Identifier(chars[start..i].iter().collect()));
                continue;
            }
        };
        tokens.push(token);
        i += width;
    }
    tokens.push(Token::End);
    tokens
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        self.tokens.get(self.position).unwrap_or(&Token::End)
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if self.position < self.tokens.len() {
            self.position += 1;
        }
        token
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            match self.peek() {
                Token::Identifier(_) | Token::Not => {
                    let requirement = self.requirement().map_err(SelectorError::Requirement)?;
                    requirements.push(requirement);
                    match self.next() {
                        Token::End => return Ok(requirements),
                        Token::Comma => {
                            let after = self.peek();
                            if !after.is_identifier() && *after != Token::Not {
                                return Err(SelectorError::Syntax(format!(
                                    "found '{}', expected: identifier after ','",
                                    after.literal()
                                )));
                            }
                        }
                        other => {
                            return Err(SelectorError::Syntax(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                other.literal()
                            )));
                        }
                    }
                }
                Token::End => return Ok(requirements),
                other => {
                    return Err(SelectorError::Syntax(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        other.literal()
                    )));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut token = self.next();
        let negated = token == Token::Not;
        if negated {
            token = self.next();
        }
        let Token::Identifier(key) = token else {
            return Err(format!("found '{}', expected: identifier", token.literal()));
        };
        validate_key(&key)?;
        if negated || matches!(self.peek(), Token::End | Token::Comma) {
            let operator = if negated {
                Operator::DoesNotExist
            } else {
                Operator::Exists
            };
            return Ok(Requirement {
                key,
                operator,
                values: Vec::new(),
            });
        }
        let operator = match self.next() {
            Token::Equals | Token::DoubleEquals => Operator::Equals,
            Token::NotEquals => Operator::NotEquals,
            Token::Greater => Operator::GreaterThan,
            Token::Less => Operator::LessThan,
            Token::Identifier(word) if word == "in" => Operator::In,
            Token::Identifier(word) if word == "notin" => Operator::NotIn,
            other => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    other.literal()
                ));
            }
        };
        let values = match operator {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        validate_requirement(&key, operator, &values)?;
        Ok(Requirement {
            key,
            operator,
            values: values.into_iter().collect(),
        })
    }

    fn exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        if matches!(self.peek(), Token::End | Token::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        match self.next() {
            Token::Identifier(value) => Ok(BTreeSet::from([value])),
            other => Err(format!("found '{}', expected: identifier", other.literal())),
        }
    }

    fn value_set(&mut self) -> Result<BTreeSet<String>, String> {
        let open = self.next();
        if open != Token::Open {
            return Err(format!("found '{}' expected: '('", open.literal()));
        }
        let mut values = BTreeSet::new();
        match self.peek() {
            Token::Close => {
                self.next();
                values.insert(String::new());
                return Ok(values);
            }
            Token::Identifier(_) | Token::Comma => {}
            other => {
                return Err(format!(
                    "found '{}', expected: ',', ')' or identifier",
                    other.literal()
                ));
            }
        }
        loop {
            match self.next() {
                Token::Identifier(value) => {
                    values.insert(value);
                    match self.peek() {
                        Token::Comma => {}
                        Token::Close => {
                            self.next();
                            return Ok(values);
                        }
                        other => {
                            return Err(format!(
                                "found '{}', expected: ',' or ')'",
                                other.literal()
                            ));
                        }
                    }
                }
                Token::Comma => {
                    // `(,a`, `a,,b` and `a,)` carry empty values.
                    if values.is_empty() || matches!(self.peek(), Token::Comma | Token::Close) {
                        values.insert(String::new());
                    }
                    if *self.peek() == Token::Close {
                        self.next();
                        return Ok(values);
                    }
                }
                other => {
                    return Err(format!(
                        "found '{}', expected: ',', or identifier",
                        other.literal()
                    ));
                }
            }
        }
    }
}

fn validate_key(key: &str) -> Result<(), String> {
    let errors = qualified_name_errors(key);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("Invalid value: {key:?}: {}", errors.join("; ")))
    }
}

fn validate_requirement(
    key: &str,
    operator: Operator,
    values: &BTreeSet<String>,
) -> Result<(), String> {
    let mut errors = Vec::new();
    let listed = || {
        format!(
            "[]string{{{}}}",
            values
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => errors.push(format!(
            "values: Invalid value: {}: for 'in', 'notin' operators, values set can't be empty",
            listed()
        )),
        Operator::GreaterThan | Operator::LessThan => {
            for (i, value) in values.iter().enumerate() {
                if value.parse::<i64>().is_err() {
                    errors.push(format!(
                        "values[{i}]: Invalid value: {value:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                    ));
                }
            }
        }
        _ => {}
    }
    for (i, value) in values.iter().enumerate() {
        let problems = label_value_errors(value);
        if !problems.is_empty() {
            errors.push(format!(
                "values[{i}][{key}]: Invalid value: {value:?}: {}",
                problems.join("; ")
            ));
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(format!("[{}]", errors.join(", "))),
    }
}

impl LabelSelector {
    /// Parses a label selector (`labelSelector` query parameter); the empty string selects
    /// everything.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser {
            tokens: lex(selector),
            position: 0,
        };
        let mut requirements = parser.parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether the selector has no requirement (selects everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }
}

/// A field that can be selected on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectableField {
    /// `metadata.name`.
    Name,
    /// `metadata.namespace` (empty for cluster-scoped objects).
    Namespace,
}

impl SelectableField {
    fn of(self, object: &Value) -> &str {
        let field = match self {
            Self::Name => "name",
            Self::Namespace => "namespace",
        };
        object
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// One term of a field selector: the field equals (or, negated, differs from) the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldTerm {
    /// The field compared.
    pub field: SelectableField,
    /// The value, unescaped.
    pub value: String,
    /// `!=` rather than `=`.
    pub negated: bool,
}

/// A field selector: `metadata.name` and `metadata.namespace` compared with `=`, `==` or `!=`,
/// terms joined by `,`. The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

/// Splits on commas not escaped with `\`.
fn split_terms(selector: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in selector.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == ',' {
            terms.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    terms.push(current);
    terms
}

/// Splits a term at its first operator (`!=`, `==` or `=`).
fn split_term(term: &str) -> Option<(&str, &str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for operator in ["!=", "==", "="] {
            if let Some(value) = rest.strip_prefix(operator) {
                return Some((&term[..i], operator, value));
            }
        }
    }
    None
}

/// Resolves `\\`, `\,` and `\=`; any other escape, or a bare `,` or `=`, is an error.
fn unescape(value: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped @ ('\\' | ',' | '=')) => out.push(escaped),
                Some(other) => {
                    return Err(SelectorError::InvalidFieldValue(format!(
                        "invalid escape sequence: \\{other}"
                    )));
                }
                None => {
                    return Err(SelectorError::InvalidFieldValue(
                        "invalid escape sequence: \\".to_owned(),
                    ));
                }
            },
            ',' | '=' => {
                return Err(SelectorError::InvalidFieldValue(format!(
                    "unescaped character in value: '{c}'"
                )));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

impl FieldSelector {
    /// Parses a field selector (`fieldSelector` query parameter).
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut terms = Vec::new();
        for part in split_terms(selector) {
            if part.trim().is_empty() {
                continue;
            }
            let Some((field, operator, value)) = split_term(&part) else {
                return Err(SelectorError::InvalidFieldTerm {
                    selector: selector.to_owned(),
                    term: part.clone(),
                });
            };
            let value = unescape(value.trim())?;
            let field = match field.trim() {
                "metadata.name" => SelectableField::Name,
                "metadata.namespace" => SelectableField::Namespace,
                other => return Err(SelectorError::UnsupportedField(other.to_owned())),
            };
            terms.push(FieldTerm {
                field,
                value,
                negated: operator == "!=",
            });
        }
        Ok(Self { terms })
    }

    /// Whether `object` satisfies every term.
    pub fn matches(&self, object: &Value) -> bool {
        self.terms
            .iter()
            .all(|term| (term.field.of(object) == term.value) != term.negated)
    }

    /// Whether the selector has no term (selects everything).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The terms, in the order given.
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn selector(text: &str) -> LabelSelector {
        match LabelSelector::parse(text) {
            Ok(selector) => selector,
            Err(e) => panic!("{text:?} must parse: {e}"),
        }
    }

    fn error(text: &str) -> String {
        match LabelSelector::parse(text) {
            Ok(selector) => panic!("{text:?} must not parse, got {selector:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        let s = selector("");
        assert!(s.is_empty());
        assert!(s.matches(&labels(&[])));
        assert!(selector("   ").is_empty());
    }

    #[test]
    fn equality_operators() {
        let web = labels(&[("app", "web")]);
        let db = labels(&[("app", "db")]);
        let none = labels(&[]);
        for text in ["app=web", "app==web", " app = web "] {
            let s = selector(text);
            assert!(s.matches(&web), "{text}");
            assert!(!s.matches(&db), "{text}");
            assert!(!s.matches(&none), "{text}");
        }
        let s = selector("app!=web");
        assert!(!s.matches(&web));
        assert!(s.matches(&db));
        assert!(s.matches(&none), "!= matches objects without the label");
        assert_eq!(
            selector("app=").requirements()[0].values,
            vec![String::new()]
        );
        assert!(selector("app=").matches(&labels(&[("app", "")])));
    }

    #[test]
    fn set_operators() {
        let s = selector("env in (dev, prod)");
        assert_eq!(s.requirements()[0].operator, Operator::In);
        assert_eq!(s.requirements()[0].values, vec!["dev", "prod"]);
        assert!(s.matches(&labels(&[("env", "prod")])));
        assert!(!s.matches(&labels(&[("env", "test")])));
        assert!(!s.matches(&labels(&[])));
        let s = selector("env notin (dev,prod)");
        assert!(!s.matches(&labels(&[("env", "dev")])));
        assert!(s.matches(&labels(&[("env", "test")])));
        assert!(
            s.matches(&labels(&[])),
            "notin matches objects without the label"
        );
        assert_eq!(
            selector("env in (,a)").requirements()[0].values,
            vec!["", "a"]
        );
        assert_eq!(selector("env in ()").requirements()[0].values, vec![""]);
    }

    #[test]
    fn existence_operators() {
        let s = selector("release");
        assert_eq!(s.requirements()[0].operator, Operator::Exists);
        assert!(s.matches(&labels(&[("release", "")])));
        assert!(!s.matches(&labels(&[])));
        let s = selector("!release");
        assert_eq!(s.requirements()[0].operator, Operator::DoesNotExist);
        assert!(!s.matches(&labels(&[("release", "x")])));
        assert!(s.matches(&labels(&[("other", "x")])));
    }

    #[test]
    fn numeric_operators() {
        let s = selector("replicas>2");
        assert!(s.matches(&labels(&[("replicas", "3")])));
        assert!(!s.matches(&labels(&[("replicas", "2")])));
        assert!(!s.matches(&labels(&[("replicas", "x")])));
        assert!(!s.matches(&labels(&[])));
        let s = selector("replicas<2");
        assert!(s.matches(&labels(&[("replicas", "1")])));
        assert!(!s.matches(&labels(&[("replicas", "5")])));
    }

    #[test]
    fn requirements_are_anded() {
        let s = selector("app=web, tier!=db,env in (prod),!legacy,example.com/team");
        assert_eq!(s.requirements().len(), 5);
        let good = labels(&[("app", "web"), ("env", "prod"), ("example.com/team", "a")]);
        assert!(s.matches(&good));
        let mut legacy = good.clone();
        legacy.insert("legacy".into(), "yes".into());
        assert!(!s.matches(&legacy));
        let mut db = good;
        db.insert("tier".into(), "db".into());
        assert!(!s.matches(&db));
        assert_eq!(
            s.to_string(),
            "app=web,env in (prod),example.com/team,!legacy,tier!=db"
        );
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            error("app=web,"),
            "found '', expected: identifier after ','"
        );
        assert_eq!(
            error("app=web x"),
            "found 'x', expected: ',' or 'end of string'"
        );
        assert_eq!(
            error("=web"),
            "found '=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            error("app in (a"),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );
        assert_eq!(
            error("app in a"),
            "unable to parse requirement: found 'a' expected: '('"
        );
        assert_eq!(
            error("app in (=)"),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier"
        );
        assert_eq!(
            error("app ~ web"),
            "unable to parse requirement: found '~', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(
            error("app=(x)"),
            "unable to parse requirement: found '(', expected: identifier"
        );
        assert_eq!(
            error("!=x"),
            "found '!=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            error("!(x)"),
            "unable to parse requirement: found '(', expected: identifier"
        );
        assert_eq!(error("!a=b"), "found '=', expected: ',' or 'end of string'");
    }

    #[test]
    fn invalid_keys_and_values() {
        let message = error("-app=web");
        assert!(
            message.starts_with(
                "unable to parse requirement: Invalid value: \"-app\": name part must consist of alphanumeric characters"
            ),
            "{message}"
        );
        let long = "a".repeat(64);
        assert!(error(&long).contains("name part must be no more than 63 characters"));
        assert!(error("Example.com/app").contains("prefix part a lowercase RFC 1123 subdomain"));
        assert!(error("/app").contains("prefix part must be non-empty"));
        assert!(error("a/b/c").contains("a qualified name must consist of"));
        assert!(
            selector(&format!("example.com/{}", "a".repeat(63))).matches(&labels(&[(
                &format!("example.com/{}", "a".repeat(63)),
                "x"
            )]))
        );
        let message = error("app=-web");
        assert!(
            message.starts_with(
                "unable to parse requirement: values[0][app]: Invalid value: \"-web\": a valid label must be an empty string"
            ),
            "{message}"
        );
        assert!(
            error(&format!("app={}", "v".repeat(64)))
                .contains("must be no more than 63 characters")
        );
        assert_eq!(
            error("replicas>two"),
            "unable to parse requirement: values[0]: Invalid value: \"two\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        assert!(selector("app=my_value.1-x").matches(&labels(&[("app", "my_value.1-x")])));
    }

    fn object(name: &str, namespace: Option<&str>) -> Value {
        let mut object = json!({"metadata": {"name": name}});
        if let Some(namespace) = namespace {
            object["metadata"]["namespace"] = json!(namespace);
        }
        object
    }

    fn fields(text: &str) -> FieldSelector {
        match FieldSelector::parse(text) {
            Ok(selector) => selector,
            Err(e) => panic!("{text:?} must parse: {e}"),
        }
    }

    #[test]
    fn field_selector_operators() {
        let a = object("a", Some("ns1"));
        let b = object("b", Some("ns2"));
        for text in ["metadata.name=a", "metadata.name==a"] {
            assert!(fields(text).matches(&a), "{text}");
            assert!(!fields(text).matches(&b), "{text}");
        }
        let s = fields("metadata.name!=a");
        assert!(!s.matches(&a));
        assert!(s.matches(&b));
        let s = fields("metadata.namespace=ns2,metadata.name!=x");
        assert!(s.matches(&b));
        assert!(!s.matches(&a));
        let cluster_scoped = object("c", None);
        assert!(fields("metadata.namespace=").matches(&cluster_scoped));
        assert!(fields("").is_empty());
        assert!(fields("").matches(&a));
        assert!(fields("metadata.name=a\\,b").matches(&object("a,b", None)));
    }

    #[test]
    fn field_selector_errors() {
        assert_eq!(
            FieldSelector::parse("spec.tier=web").map_err(|e| e.to_string()),
            Err("field label not supported: spec.tier".to_owned())
        );
        assert_eq!(
            FieldSelector::parse("metadata.name").map_err(|e| e.to_string()),
            Err("invalid selector: 'metadata.name'; can't understand 'metadata.name'".to_owned())
        );
        assert_eq!(
            FieldSelector::parse("metadata.name=a=b").map_err(|e| e.to_string()),
            Err("invalid field selector: unescaped character in value: '='".to_owned())
        );
        assert_eq!(
            FieldSelector::parse("metadata.name=a\\x").map_err(|e| e.to_string()),
            Err("invalid field selector: invalid escape sequence: \\x".to_owned())
        );
    }
}
