//! Field errors worded as apimachinery's `field.Error` renders them (`Invalid value: "-5": …`,
//! `Unsupported value: "X": supported values: "A", "B"`, `Required value`), with the matching
//! `StatusCause` reasons.

use serde_json::{Number, Value};

use crate::error::Cause;

/// `FieldValueRequired`.
pub const REQUIRED: &str = "FieldValueRequired";
/// `FieldValueInvalid`.
pub const INVALID: &str = "FieldValueInvalid";
/// `FieldValueTypeInvalid`.
pub const TYPE_INVALID: &str = "FieldValueTypeInvalid";
/// `FieldValueNotSupported`.
pub const NOT_SUPPORTED: &str = "FieldValueNotSupported";
/// `FieldValueForbidden`.
pub const FORBIDDEN: &str = "FieldValueForbidden";
/// `FieldValueTooLong`.
pub const TOO_LONG: &str = "FieldValueTooLong";
/// `FieldValueTooMany`.
pub const TOO_MANY: &str = "FieldValueTooMany";
/// `FieldValueDuplicate`.
pub const DUPLICATE: &str = "FieldValueDuplicate";

fn cause(reason: &str, field: &str, message: String) -> Cause {
    Cause {
        reason: reason.to_owned(),
        message,
        field: field.to_owned(),
    }
}

fn with_detail(body: String, detail: &str) -> String {
    if detail.is_empty() {
        body
    } else {
        format!("{body}: {detail}")
    }
}

/// `Required value[: detail]`.
pub fn required(field: &str, detail: &str) -> Cause {
    cause(
        REQUIRED,
        field,
        with_detail("Required value".into(), detail),
    )
}

/// `Invalid value: <value>[: detail]`; `value` is already rendered (see [`render`]).
pub fn invalid(field: &str, value: &str, detail: &str) -> Cause {
    cause(
        INVALID,
        field,
        with_detail(format!("Invalid value: {value}"), detail),
    )
}

/// A wrong type or format: worded like [`invalid`], reason `FieldValueTypeInvalid`.
pub fn type_invalid(field: &str, value: &str, detail: &str) -> Cause {
    cause(
        TYPE_INVALID,
        field,
        with_detail(format!("Invalid value: {value}"), detail),
    )
}

/// `Unsupported value: <value>: supported values: "A", "B"`.
pub fn not_supported(field: &str, value: &str, supported: &[String]) -> Cause {
    let quoted: Vec<String> = supported.iter().map(|v| quote(v)).collect();
    let detail = if quoted.is_empty() {
        String::new()
    } else {
        format!("supported values: {}", quoted.join(", "))
    };
    cause(
        NOT_SUPPORTED,
        field,
        with_detail(format!("Unsupported value: {value}"), &detail),
    )
}

/// `Forbidden[: detail]`.
pub fn forbidden(field: &str, detail: &str) -> Cause {
    cause(FORBIDDEN, field, with_detail("Forbidden".into(), detail))
}

/// `Too long[: detail]` (the value is not repeated).
pub fn too_long(field: &str, detail: &str) -> Cause {
    cause(TOO_LONG, field, with_detail("Too long".into(), detail))
}

/// `Too many: <actual>: must have at most <max> items`.
pub fn too_many(field: &str, actual: u64, max: u64) -> Cause {
    let items = if max == 1 { "item" } else { "items" };
    cause(
        TOO_MANY,
        field,
        format!("Too many: {actual}: must have at most {max} {items}"),
    )
}

/// `Duplicate value: <value>`.
pub fn duplicate(field: &str, value: &str) -> Cause {
    cause(DUPLICATE, field, format!("Duplicate value: {value}"))
}

/// Whether a cause stops CEL rules from running, as in kube-apiserver's `hasBlockingErr`: the
/// object does not have the shape the rules were written for.
pub fn is_blocking(cause: &Cause) -> bool {
    [NOT_SUPPORTED, REQUIRED, TOO_LONG, TOO_MANY, TYPE_INVALID].contains(&cause.reason.as_str())
}

/// A string quoted as Go's `%q` does for printable text.
pub fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

/// A value as `field.Error` prints it: strings quoted, numbers and booleans bare, `null` as the
/// string `"null"`, objects and arrays as JSON.
pub fn render(value: &Value) -> String {
    match value {
        Value::Null => quote("null"),
        Value::String(text) => quote(text),
        Value::Number(number) => number_text(number),
        Value::Bool(flag) => flag.to_string(),
        other => other.to_string(),
    }
}

/// A number as Go's `%v` prints it: integral floats without a fraction.
pub fn number_text(number: &Number) -> String {
    if number.is_f64()
        && let Some(float) = number.as_f64()
        && float.is_finite()
        && float.fract() == 0.0
        && float.abs() < 1e21
    {
        return format!("{float:.0}");
    }
    number.to_string()
}

/// The name OpenAPI validation gives a value's type (`integer` for integral numbers, as in
/// Kubernetes' decoded objects).
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) => {
            let integral = number.is_i64()
                || number.is_u64()
                || number
                    .as_f64()
                    .is_some_and(|f| f.is_finite() && f.fract() == 0.0);
            if integral { "integer" } else { "number" }
        }
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `parent.child`, or `child` at the root.
pub fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// `parent[index]`.
pub fn index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn causes_read_like_apimachinery() {
        assert_eq!(required("spec.tier", "").message, "Required value");
        assert_eq!(required("spec.tier", "").reason, "FieldValueRequired");
        assert_eq!(
            invalid("spec.quota.cpu", &render(&json!("-5")), "bad").message,
            "Invalid value: \"-5\": bad"
        );
        assert_eq!(
            not_supported("spec.tier", "\"X\"", &["A".into(), "B".into()]).message,
            "Unsupported value: \"X\": supported values: \"A\", \"B\""
        );
        assert_eq!(
            forbidden("metadata.namespace", "not allowed on this type").message,
            "Forbidden: not allowed on this type"
        );
        assert_eq!(
            too_many("spec.members", 3, 2).message,
            "Too many: 3: must have at most 2 items"
        );
        assert_eq!(
            too_many("x", 2, 1).message,
            "Too many: 2: must have at most 1 item"
        );
        assert_eq!(
            too_long("metadata.annotations", "must have at most 262144 bytes").message,
            "Too long: must have at most 262144 bytes"
        );
        assert_eq!(
            duplicate("spec.members[1]", "\"eth1\"").message,
            "Duplicate value: \"eth1\""
        );
        assert!(is_blocking(&required("a", "")));
        assert!(!is_blocking(&invalid("a", "1", "")));
    }

    #[test]
    fn values_render_like_go() {
        assert_eq!(render(&json!(null)), "\"null\"");
        assert_eq!(render(&json!("a\"b")), "\"a\\\"b\"");
        assert_eq!(render(&json!(-5)), "-5");
        assert_eq!(render(&json!(0.0)), "0");
        assert_eq!(render(&json!(1.5)), "1.5");
        assert_eq!(render(&json!(true)), "true");
        assert_eq!(render(&json!(["a"])), "[\"a\"]");
        assert_eq!(type_name(&json!(5)), "integer");
        assert_eq!(type_name(&json!(5.0)), "integer");
        assert_eq!(type_name(&json!(5.5)), "number");
        assert_eq!(type_name(&json!(true)), "boolean");
        assert_eq!(child("", "spec"), "spec");
        assert_eq!(index(&child("spec", "steps"), 1), "spec.steps[1]");
    }
}
