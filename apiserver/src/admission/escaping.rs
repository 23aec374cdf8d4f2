//! Kubernetes' escaping of property names for CEL (`k8s.io/apiserver/pkg/cel` `Escape` and
//! `Unescape`): a property named after a CEL reserved word is `__{word}__` (`namespace` is
//! `__namespace__`); in other names `__` is `__underscores__`, `.` is `__dot__`, `-` is
//! `__dash__` and `/` is `__slash__`; a name outside `[a-zA-Z_.-/][a-zA-Z0-9_.-/]*` cannot be
//! escaped, and such a property is not visible to rules at all.

/// The words the CEL grammar reserves; a property named so is reachable only as `__{word}__`,
/// and a bare identifier of one is refused by the parser (`reserved identifier: namespace`).
pub const RESERVED: [&str; 21] = [
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Whether `word` is a CEL reserved word.
pub fn is_reserved(word: &str) -> bool {
    RESERVED.contains(&word)
}

/// The CEL identifier of a property named `name`, or `None` when the name cannot be escaped
/// (empty, starting with a digit, or holding a character other than ASCII letters, digits, `_`,
/// `.`, `-` and `/`).
pub fn escape(name: &str) -> Option<String> {
    let first = name.bytes().next()?;
    if first.is_ascii_digit() {
        return None;
    }
    if is_reserved(name) {
        return Some(format!("__{name}__"));
    }
    let supported = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/');
    if !name.chars().all(supported) {
        return None;
    }
    let mut escaped = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        let (replacement, taken) = match c {
            '_' if rest.starts_with("__") => ("__underscores__", 2),
            '.' => ("__dot__", 1),
            '-' => ("__dash__", 1),
            '/' => ("__slash__", 1),
            _ => {
                escaped.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            }
        };
        escaped.push_str(replacement);
        rest = &rest[taken..];
    }
    Some(escaped)
}

/// The property name a CEL identifier stands for, or `None` when it holds an escape sequence
/// that `escape` never writes (`__illegal__`, or a reserved word that is not the whole name).
pub fn unescape(escaped: &str) -> Option<String> {
    let mut name = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(start) = rest.find("__") {
        let (before, from) = rest.split_at(start);
        name.push_str(before);
        // An escape sequence is `__` + one or more non-underscores + `__`, as Go's
        // `(_{2}[^_]+_{2})` finds them, leftmost first and not overlapping.
        let inner = &from[2..];
        let length = inner.find('_').unwrap_or(inner.len());
        if length == 0 || !inner[length..].starts_with("__") {
            name.push('_');
            rest = &from[1..];
            continue;
        }
        let contents = &inner[..length];
        let sequence_len = length + 4;
        match contents {
            "underscores" => name.push_str("__"),
            "dot" => name.push('.'),
            "dash" => name.push('-'),
            "slash" => name.push('/'),
            word if is_reserved(word) => {
                if sequence_len != escaped.len() {
                    return None;
                }
                name.push_str(word);
            }
            _ => return None,
        }
        rest = &from[sequence_len..];
    }
    name.push_str(rest);
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kubernetes' own table (`TestEscaping` in `k8s.io/apiserver/pkg/cel`).
    const ESCAPED: &[(&str, &str)] = &[
        // '.', '-', '/' and '__' are escaped: CEL identifiers are [a-zA-Z_][a-zA-Z0-9_]*.
        ("a.a", "a__dot__a"),
        ("a-a", "a__dash__a"),
        ("a__a", "a__underscores__a"),
        ("a.-/__a", "a__dot____dash____slash____underscores__a"),
        ("a._a", "a__dot___a"),
        ("a__.__a", "a__underscores____dot____underscores__a"),
        ("a___a", "a__underscores___a"),
        ("a____a", "a__underscores____underscores__a"),
        ("a__dot__a", "a__underscores__dot__underscores__a"),
        (
            "a__underscores__a",
            "a__underscores__underscores__underscores__a",
        ),
        // Reserved words of the CEL grammar.
        ("true", "__true__"),
        ("false", "__false__"),
        ("null", "__null__"),
        ("in", "__in__"),
        ("as", "__as__"),
        ("break", "__break__"),
        ("const", "__const__"),
        ("continue", "__continue__"),
        ("else", "__else__"),
        ("for", "__for__"),
        ("function", "__function__"),
        ("if", "__if__"),
        ("import", "__import__"),
        ("let", "__let__"),
        ("loop", "__loop__"),
        ("package", "__package__"),
        ("namespace", "__namespace__"),
        ("return", "__return__"),
        ("var", "__var__"),
        ("void", "__void__"),
        ("while", "__while__"),
        // Macro and function names live apart from identifiers: not escaped.
        ("has", "has"),
        ("all", "all"),
        ("exists", "exists"),
        ("exists_one", "exists_one"),
        ("filter", "filter"),
        ("size", "size"),
        ("contains", "contains"),
        ("startsWith", "startsWith"),
        ("endsWith", "endsWith"),
        ("matches", "matches"),
        ("duration", "duration"),
        ("timestamp", "timestamp"),
        ("getDate", "getDate"),
        ("getDayOfMonth", "getDayOfMonth"),
        ("getDayOfWeek", "getDayOfWeek"),
        ("getFullYear", "getFullYear"),
        ("getHours", "getHours"),
        ("getMilliseconds", "getMilliseconds"),
        ("getMinutes", "getMinutes"),
        ("getMonth", "getMonth"),
        ("getSeconds", "getSeconds"),
        // A single '_' is not escaped.
        ("_if", "_if"),
        ("_has", "_has"),
        ("_int", "_int"),
        ("_anything", "_anything"),
    ];

    fn is_cel_identifier(text: &str) -> bool {
        text.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    #[test]
    fn names_escape_as_kubernetes_escapes_them() {
        for (name, escaped) in ESCAPED {
            assert_eq!(escape(name).as_deref(), Some(*escaped), "{name}");
            assert!(is_cel_identifier(escaped), "{escaped}");
            assert_eq!(unescape(escaped).as_deref(), Some(*name), "{escaped}");
        }
    }

    #[test]
    fn the_cases_of_the_task() {
        assert_eq!(escape("foo-bar").as_deref(), Some("foo__dash__bar"));
        assert_eq!(escape("a.b").as_deref(), Some("a__dot__b"));
        assert_eq!(escape("__x").as_deref(), Some("__underscores__x"));
        assert_eq!(escape("x/y").as_deref(), Some("x__slash__y"));
        assert_eq!(escape("my_field").as_deref(), Some("my_field"));
        assert_eq!(
            escape("app.kubernetes.io/name").as_deref(),
            Some("app__dot__kubernetes__dot__io__slash__name")
        );
        assert_eq!(escape("-lead").as_deref(), Some("__dash__lead"));
        assert_eq!(escape("default").as_deref(), Some("default"));
        assert_eq!(escape("dependsOn").as_deref(), Some("dependsOn"));
    }

    #[test]
    fn some_names_cannot_be_escaped() {
        for name in ["", "@", "1up", "👑", "a b", "/👑", "a:b", "ünicode"] {
            assert_eq!(escape(name), None, "{name:?}");
        }
    }

    #[test]
    fn malformed_escapes_do_not_unescape() {
        for escaped in ["__int__extra", "__illegal__", "a__namespace__"] {
            assert_eq!(unescape(escaped), None, "{escaped}");
        }
        assert_eq!(unescape("_").as_deref(), Some("_"));
        assert_eq!(unescape("a___").as_deref(), Some("a___"));
        assert_eq!(unescape("plain").as_deref(), Some("plain"));
    }

    #[test]
    fn escaping_round_trips() {
        let alphabet = ['a', 'Z', '0', '_', '.', '-', '/'];
        // Every name of up to four characters over an alphabet of the interesting ones.
        let mut names = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = names
                .iter()
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            names.extend(longer);
        }
        names.sort();
        names.dedup();
        for name in names {
            if let Some(escaped) = escape(&name) {
                assert!(is_cel_identifier(&escaped), "{name} → {escaped}");
                assert_eq!(
                    unescape(&escaped).as_deref(),
                    Some(name.as_str()),
                    "{escaped}"
                );
            }
        }
    }

    #[test]
    fn no_reserved_word_holds_a_double_underscore() {
        assert!(RESERVED.iter().all(|w| !w.contains("__")));
    }
}
