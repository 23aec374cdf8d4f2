//! The subset of Kubernetes JSONPath that printer columns use (`.spec.tier`, `.a[0]`,
//! `.a[*].b`, `.status.conditions[?(@.type=="Ready")].status`, `.metadata.labels['a.b/c']`,
//! `..name`), evaluated over `serde_json::Value` with missing keys allowed, as the API server's
//! column printer does.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// Why a JSONPath expression cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonPathError {
    /// The expression is empty.
    #[error("empty JSONPath expression")]
    Empty,
    /// The expression is malformed at `offset` (in characters).
    #[error("invalid JSONPath {path:?} at offset {offset}: {reason}")]
    Syntax {
        /// The whole expression.
        path: String,
        /// Character offset of the problem.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A comparison in a filter (`?(@.type == "Ready")`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// `[?(@.path)]` (existence) or `[?(@.path OP literal)]`.
#[derive(Clone, Debug, PartialEq)]
struct Filter {
    path: Vec<Segment>,
    compare: Option<(Op, Value)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    /// `.name` or `['name']`.
    Field(String),
    /// `.*` or `[*]`: every element of an array, every value of an object.
    Wildcard,
    /// `..`: the node and all its descendants, depth first.
    Descendants,
    /// `[3]`, `[-1]`.
    Index(i64),
    /// `[start:end]` or `[start:end:step]`.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    /// `[?(…)]`: the elements of an array that pass.
    Filter(Box<Filter>),
}

/// A parsed JSONPath expression.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath {
    source: String,
    segments: Vec<Segment>,
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for JsonPath {
    type Err = JsonPathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

struct Parser<'a> {
    source: &'a str,
    chars: Vec<char>,
    pos: usize,
}

/// Characters that end a name inside a filter (`@.type=="x"`, `@.ready)`).
fn ends_filter_name(c: char) -> bool {
    c.is_whitespace() || matches!(c, ')' | '=' | '!' | '<' | '>')
}

impl Parser<'_> {
    fn error(&self, reason: impl Into<String>) -> JsonPathError {
        JsonPathError::Syntax {
            path: self.source.to_owned(),
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), JsonPathError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(format!("expected `{c}`")))
        }
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Segments until the end of input (top level) or until a character that ends a filter
    /// operand (`in_filter`).
    fn segments(&mut self, in_filter: bool) -> Result<Vec<Segment>, JsonPathError> {
        let mut segments = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                '.' => {
                    self.pos += 1;
                    if self.eat('.') {
                        segments.push(Segment::Descendants);
                    }
                    if self.eat('*') {
                        segments.push(Segment::Wildcard);
                    } else if let Some(name) = self.name(in_filter) {
                        segments.push(Segment::Field(name));
                    }
                }
                '[' => {
                    self.pos += 1;
                    segments.push(self.bracket()?);
                }
                c if in_filter && ends_filter_name(c) => break,
                _ => return Err(self.error(format!("unexpected `{c}`"))),
            }
        }
        Ok(segments)
    }

    /// A dotted name; `\` escapes the next character (`app\.kubernetes\.io/name`).
    fn name(&mut self, in_filter: bool) -> Option<String> {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c == '.' || c == '[' || (in_filter && ends_filter_name(c)) {
                break;
            }
            self.pos += 1;
            if c == '\\'
                && let Some(escaped) = self.peek()
            {
                self.pos += 1;
                name.push(escaped);
                continue;
            }
            name.push(c);
        }
        (!name.is_empty()).then_some(name)
    }

    /// A quoted string, the opening quote at the cursor; `\` escapes the next character.
    fn quoted(&mut self) -> Result<String, JsonPathError> {
        let Some(quote) = self.peek() else {
            return Err(self.error("expected a quoted string"));
        };
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error(format!("unterminated string, expected `{quote}`"))),
                Some('\\') => {
                    self.pos += 1;
                    if let Some(escaped) = self.peek() {
                        self.pos += 1;
                        text.push(escaped);
                    }
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(text);
                }
                Some(c) => {
                    self.pos += 1;
                    text.push(c);
                }
            }
        }
    }

    /// The inside of `[...]`, the `[` already consumed; consumes the `]`.
    fn bracket(&mut self) -> Result<Segment, JsonPathError> {
        self.skip_whitespace();
        let segment = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Segment::Wildcard
            }
            Some('\'' | '"') => Segment::Field(self.quoted()?),
            Some('?') => {
                self.pos += 1;
                self.expect('(')?;
                let filter = self.filter()?;
                self.expect(')')?;
                Segment::Filter(Box::new(filter))
            }
            _ => self.index_or_slice()?,
        };
        self.skip_whitespace();
        self.expect(']')?;
        Ok(segment)
    }

    fn integer(&mut self) -> Result<Option<i64>, JsonPathError> {
        self.skip_whitespace();
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        self.skip_whitespace();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| self.error(format!("`{text}` is not an integer")))
    }

    fn index_or_slice(&mut self) -> Result<Segment, JsonPathError> {
        let start = self.integer()?;
        if !self.eat(':') {
            return start
                .map(Segment::Index)
                .ok_or_else(|| self.error("expected an index, a slice, `*`, a name or a filter"));
        }
        let end = self.integer()?;
        let step = if self.eat(':') { self.integer()? } else { None };
        if step == Some(0) {
            return Err(self.error("slice step cannot be zero"));
        }
        Ok(Segment::Slice { start, end, step })
    }

    /// `@.path`, optionally followed by an operator and a literal; stops before the `)`.
    fn filter(&mut self) -> Result<Filter, JsonPathError> {
        self.skip_whitespace();
        self.expect('@')?;
        let path = self.segments(true)?;
        self.skip_whitespace();
        if self.peek() == Some(')') {
            return Ok(Filter {
                path,
                compare: None,
            });
        }
        let op = match (self.peek(), self.peek_at(1)) {
            (Some('='), Some('=')) => Op::Eq,
            (Some('!'), Some('=')) => Op::Ne,
            (Some('<'), Some('=')) => Op::Le,
            (Some('>'), Some('=')) => Op::Ge,
            (Some('<'), _) => Op::Lt,
            (Some('>'), _) => Op::Gt,
            _ => return Err(self.error("expected `)` or a comparison (==, !=, <, <=, >, >=)")),
        };
        self.pos += if matches!(op, Op::Lt | Op::Gt) { 1 } else { 2 };
        self.skip_whitespace();
        let literal = self.literal()?;
        self.skip_whitespace();
        Ok(Filter {
            path,
            compare: Some((op, literal)),
        })
    }

    /// A quoted string, a number, `true`, `false` or `null`.
    fn literal(&mut self) -> Result<Value, JsonPathError> {
        if matches!(self.peek(), Some('\'' | '"')) {
            return self.quoted().map(Value::String);
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| !c.is_whitespace() && c != ')') {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match text.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            _ => serde_json::from_str::<serde_json::Number>(&text)
                .map(Value::Number)
                .map_err(|_| self.error(format!("`{text}` is not a string, number or boolean"))),
        }
    }
}

/// Numbers compare by value (`1` equals `1.0`); other values by JSON equality.
fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => left == right,
    }
}

fn order(left: &Value, right: &Value) -> Option<Ordering> {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

impl Filter {
    fn passes(&self, element: &Value) -> bool {
        let found = evaluate(&self.path, element);
        match &self.compare {
            None => !found.is_empty(),
            Some((op, literal)) => found.first().is_some_and(|left| match op {
                Op::Eq => equal(left, literal),
                Op::Ne => !equal(left, literal),
                Op::Lt => order(left, literal) == Some(Ordering::Less),
                Op::Le => matches!(order(left, literal), Some(Ordering::Less | Ordering::Equal)),
                Op::Gt => order(left, literal) == Some(Ordering::Greater),
                Op::Ge => matches!(
                    order(left, literal),
                    Some(Ordering::Greater | Ordering::Equal)
                ),
            }),
        }
    }
}

/// Resolves a possibly negative index against a length.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let index = if index < 0 { len + index } else { index };
    if (0..len).contains(&index) {
        usize::try_from(index).ok()
    } else {
        None
    }
}

fn slice(items: &[Value], start: Option<i64>, end: Option<i64>, step: Option<i64>) -> Vec<&Value> {
    let Ok(len) = i64::try_from(items.len()) else {
        return Vec::new();
    };
    let clamp = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    let step = step.unwrap_or(1);
    let mut out = Vec::new();
    if step > 0 {
        let mut i = clamp(start.unwrap_or(0));
        let end = clamp(end.unwrap_or(len));
        while i < end {
            if let Some(item) = usize::try_from(i).ok().and_then(|i| items.get(i)) {
                out.push(item);
            }
            i += step;
        }
    } else {
        let mut i = start.map_or(len - 1, |s| clamp(s).min(len - 1));
        let end = end.map_or(-1, clamp);
        while i > end {
            if let Some(item) = usize::try_from(i).ok().and_then(|i| items.get(i)) {
                out.push(item);
            }
            i += step;
        }
    }
    out
}

fn descendants<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(value);
    match value {
        Value::Array(items) => items.iter().for_each(|v| descendants(v, out)),
        Value::Object(map) => map.values().for_each(|v| descendants(v, out)),
        _ => {}
    }
}

fn evaluate<'a>(segments: &[Segment], root: &'a Value) -> Vec<&'a Value> {
    let mut current = vec![root];
    for segment in segments {
        let mut next = Vec::new();
        for value in current {
            match segment {
                Segment::Field(name) => {
                    if let Some(found) = value.get(name.as_str()) {
                        next.push(found);
                    }
                }
                Segment::Wildcard => match value {
                    Value::Array(items) => next.extend(items),
                    Value::Object(map) => next.extend(map.values()),
                    _ => {}
                },
                Segment::Descendants => descendants(value, &mut next),
                Segment::Index(index) => {
                    if let Value::Array(items) = value
                        && let Some(item) =
                            resolve_index(*index, items.len()).and_then(|i| items.get(i))
                    {
                        next.push(item);
                    }
                }
                Segment::Slice { start, end, step } => {
                    if let Value::Array(items) = value {
                        next.extend(slice(items, *start, *end, *step));
                    }
                }
                Segment::Filter(filter) => {
                    if let Value::Array(items) = value {
                        next.extend(items.iter().filter(|item| filter.passes(item)));
                    }
                }
            }
        }
        current = next;
    }
    current
}

/// A value as text: strings as they are, numbers and booleans as JSON writes them (whole
/// floating-point numbers without a fraction, as Go prints them), arrays and objects as compact
/// JSON, `null` as `null`.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

impl JsonPath {
    /// Parses an expression; a surrounding `{…}` (template form) and a leading `$` are allowed.
    pub fn parse(source: &str) -> Result<Self, JsonPathError> {
        let trimmed = source.trim();
        let inner = trimmed
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(trimmed)
            .trim();
        let inner = inner.strip_prefix('$').unwrap_or(inner);
        if inner.is_empty() && !trimmed.starts_with('$') {
            return Err(JsonPathError::Empty);
        }
        let mut parser = Parser {
            source,
            chars: inner.chars().collect(),
            pos: 0,
        };
        let segments = parser.segments(false)?;
        Ok(Self {
            source: source.to_owned(),
            segments,
        })
    }

    /// Every value the expression selects, in document order; missing keys, out-of-range
    /// indices and type mismatches select nothing rather than fail.
    pub fn find<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        evaluate(&self.segments, value)
    }

    /// The first value selected, if any.
    pub fn first<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.find(value).into_iter().next()
    }

    /// The selected values as text (see [`value_text`]), joined with `,` as kubectl's
    /// `custom-columns` joins them; `None` when nothing is selected.
    pub fn render(&self, value: &Value) -> Option<String> {
        let found = self.find(value);
        if found.is_empty() {
            return None;
        }
        Some(
            found
                .into_iter()
                .map(value_text)
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object() -> Value {
        json!({
            "metadata": {
                "name": "ankang",
                "labels": { "app.kubernetes.io/name": "govcloud", "tier": "city" },
                "creationTimestamp": "2025-01-01T00:00:00Z",
            },
            "spec": {
                "quota": { "cpu": "64", "memory": "256Gi" },
                "replicas": 3,
                "ratio": 2.0,
                "members": [ { "name": "a", "speed": 1000 }, { "name": "b", "speed": 100 } ],
                "tags": ["x", "y", "z"],
            },
            "status": {
                "conditions": [
                    { "type": "Progressing", "status": "False" },
                    { "type": "Ready", "status": "True", "reason": "Reconciled" },
                ],
            },
        })
    }

    fn render(path: &str) -> Option<String> {
        JsonPath::parse(path).expect(path).render(&object())
    }

    #[test]
    fn dotted_fields() {
        assert_eq!(render(".spec.quota.cpu").as_deref(), Some("64"));
        assert_eq!(render(".metadata.name").as_deref(), Some("ankang"));
        assert_eq!(render(".spec.replicas").as_deref(), Some("3"));
        assert_eq!(render(".spec.ratio").as_deref(), Some("2"));
    }

    #[test]
    fn missing_keys_select_nothing() {
        assert_eq!(render(".spec.parent"), None);
        assert_eq!(render(".spec.quota.cpu.deeper"), None);
        assert_eq!(render(".nothing[0].here"), None);
    }

    #[test]
    fn indices_including_negative_and_out_of_range() {
        assert_eq!(render(".spec.tags[0]").as_deref(), Some("x"));
        assert_eq!(render(".spec.tags[-1]").as_deref(), Some("z"));
        assert_eq!(render(".spec.members[1].name").as_deref(), Some("b"));
        assert_eq!(render(".spec.tags[3]"), None);
        assert_eq!(render(".spec.quota[0]"), None);
    }

    #[test]
    fn slices() {
        assert_eq!(render(".spec.tags[0:2]").as_deref(), Some("x,y"));
        assert_eq!(render(".spec.tags[1:]").as_deref(), Some("y,z"));
        assert_eq!(render(".spec.tags[::2]").as_deref(), Some("x,z"));
        assert_eq!(render(".spec.tags[-2:]").as_deref(), Some("y,z"));
    }

    #[test]
    fn wildcards_join_with_commas() {
        assert_eq!(render(".spec.members[*].name").as_deref(), Some("a,b"));
        assert_eq!(
            render(".spec.members[*].speed").as_deref(),
            Some("1000,100")
        );
        assert_eq!(render(".spec.quota.*").as_deref(), Some("64,256Gi"));
    }

    #[test]
    fn filters_with_double_and_single_quotes() {
        assert_eq!(
            render(".status.conditions[?(@.type==\"Ready\")].status").as_deref(),
            Some("True")
        );
        assert_eq!(
            render(".status.conditions[?(@.type == 'Ready')].reason").as_deref(),
            Some("Reconciled")
        );
        assert_eq!(
            render(".status.conditions[?(@.type!=\"Ready\")].type").as_deref(),
            Some("Progressing")
        );
        assert_eq!(
            render(".status.conditions[?(@.type==\"Gone\")].status"),
            None
        );
    }

    #[test]
    fn filters_on_numbers_and_existence() {
        assert_eq!(
            render(".spec.members[?(@.speed>=1000)].name").as_deref(),
            Some("a")
        );
        assert_eq!(
            render(".spec.members[?(@.speed<500)].name").as_deref(),
            Some("b")
        );
        assert_eq!(
            render(".spec.members[?(@.speed==100.0)].name").as_deref(),
            Some("b")
        );
        assert_eq!(
            render(".status.conditions[?(@.reason)].type").as_deref(),
            Some("Ready")
        );
    }

    #[test]
    fn lists_and_maps_render_as_json() {
        assert_eq!(render(".spec.tags").as_deref(), Some(r#"["x","y","z"]"#));
        assert_eq!(
            render(".spec.quota").as_deref(),
            Some(r#"{"cpu":"64","memory":"256Gi"}"#)
        );
    }

    #[test]
    fn keys_with_dots_by_escape_or_brackets() {
        assert_eq!(
            render(".metadata.labels.app\\.kubernetes\\.io/name").as_deref(),
            Some("govcloud")
        );
        assert_eq!(
            render(".metadata.labels['app.kubernetes.io/name']").as_deref(),
            Some("govcloud")
        );
        assert_eq!(
            render(".metadata.labels[\"tier\"]").as_deref(),
            Some("city")
        );
    }

    #[test]
    fn template_braces_root_and_recursive_descent() {
        assert_eq!(render("{.metadata.name}").as_deref(), Some("ankang"));
        assert_eq!(render("$.metadata.name").as_deref(), Some("ankang"));
        assert_eq!(render("..speed").as_deref(), Some("1000,100"));
        let whole = JsonPath::parse(".").expect("root");
        assert_eq!(whole.find(&json!({"a": 1})), vec![&json!({"a": 1})]);
    }

    #[test]
    fn malformed_expressions_are_errors() {
        assert_eq!(JsonPath::parse(""), Err(JsonPathError::Empty));
        for bad in [
            ".a[",
            ".a[0",
            ".a[x]",
            ".a[?(@.b==)]",
            ".a[?(@.b=='x)]",
            ".a[?(b=='x')]",
            ".a[::0]",
            "a b",
        ] {
            assert!(
                matches!(JsonPath::parse(bad), Err(JsonPathError::Syntax { .. })),
                "{bad} should not parse"
            );
        }
    }

    #[test]
    fn display_keeps_the_source_and_first_takes_one() {
        let path: JsonPath = ".spec.members[*].name".parse().expect("parses");
        assert_eq!(path.to_string(), ".spec.members[*].name");
        assert_eq!(path.first(&object()), Some(&json!("a")));
    }
}
