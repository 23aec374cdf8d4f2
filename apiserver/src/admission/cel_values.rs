//! Objects as the CEL values kube-apiserver binds to `self` and `oldSelf`: an object's
//! properties under their escaped names ([`super::escaping`]; a property whose name
//! cannot be escaped is left out), a map's (`additionalProperties`) keys as they are, strings of
//! the `date` and `date-time` formats as timestamps, `duration` as durations, `byte` as bytes,
//! `number`s as doubles, and at a resource's root a `metadata` of `name` and `generateName` only.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta};
use kube_cel::cel::Value as Cel;
use kube_cel::cel::objects::{Key, Map};
use serde_json::Value;

use super::cel_types::{declares_type_and_object_meta, is_embedded};
use super::escaping;

/// `value` as CEL sees it under `schema` (`None`: no schema is known for it).
pub fn to_cel(value: &Value, schema: Option<&Value>, resource_root: bool) -> Cel {
    match value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => {
            let double =
                schema.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("number");
            match (n.as_i64(), n.as_u64()) {
                (Some(i), _) if !double => Cel::Int(i),
                (None, Some(u)) if !double => Cel::UInt(u),
                _ => Cel::Float(n.as_f64().unwrap_or(f64::NAN)),
            }
        }
        Value::String(s) => string(s, schema),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.get("items"));
            let embedded = item_schema.is_some_and(is_embedded);
            Cel::List(Arc::new(
                items
                    .iter()
                    .map(|item| to_cel(item, item_schema, embedded))
                    .collect(),
            ))
        }
        Value::Object(fields) => {
            let values_schema = schema
                .and_then(|s| s.get("additionalProperties"))
                .filter(|a| a.is_object());
            let mut map = HashMap::with_capacity(fields.len());
            if let Some(values_schema) = values_schema {
                let embedded = is_embedded(values_schema);
                for (key, field) in fields {
                    map.insert(
                        Key::String(Arc::new(key.clone())),
                        to_cel(field, Some(values_schema), embedded),
                    );
                }
                return Cel::Map(Map { map: Arc::new(map) });
            }
            let restrict_meta = resource_root && !schema.is_some_and(declares_type_and_object_meta);
            for (name, field) in fields {
                let Some(escaped) = escaping::escape(name) else {
                    continue;
                };
                let child = schema
                    .and_then(|s| s.get("properties"))
                    .and_then(|p| p.get(name));
                let converted = if restrict_meta && name == "metadata" {
                    object_meta(field)
                } else {
                    to_cel(field, child, child.is_some_and(is_embedded))
                };
                map.insert(Key::String(Arc::new(escaped)), converted);
            }
            Cel::Map(Map { map: Arc::new(map) })
        }
    }
}

/// `metadata` at a resource's root: `name` and `generateName`, nothing else.
fn object_meta(metadata: &Value) -> Cel {
    let map: HashMap<Key, Cel> = ["name", "generateName"]
        .into_iter()
        .filter_map(|field| {
            let value = metadata.get(field)?.as_str()?;
            Some((
                Key::String(Arc::new(field.to_owned())),
                Cel::String(Arc::new(value.to_owned())),
            ))
        })
        .collect();
    Cel::Map(Map { map: Arc::new(map) })
}

fn string(text: &str, schema: Option<&Value>) -> Cel {
    let typed = schema.filter(|s| {
        s.get("type").and_then(Value::as_str) == Some("string")
            && s.get("x-kubernetes-int-or-string") != Some(&Value::Bool(true))
    });
    let format = typed.and_then(|s| s.get("format")).and_then(Value::as_str);
    let converted = match format {
        Some("date-time") => DateTime::parse_from_rfc3339(text).ok().map(Cel::Timestamp),
        Some("date") => date(text).map(Cel::Timestamp),
        Some("duration") => duration(text).map(Cel::Duration),
        Some("byte") => base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()
            .map(|bytes| Cel::Bytes(Arc::new(bytes))),
        _ => None,
    };
    converted.unwrap_or_else(|| Cel::String(Arc::new(text.to_owned())))
}

/// A `date` (`2025-12-31`) as the timestamp of its midnight in UTC.
fn date(text: &str) -> Option<DateTime<FixedOffset>> {
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
}

/// A Go duration (`1h30m`, `-1.5s`, `300ms`, `0`).
fn duration(text: &str) -> Option<TimeDelta> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(TimeDelta::zero());
    }
    if rest.is_empty() {
        return None;
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        nanos += number * scale;
    }
    if !nanos.is_finite() || nanos > 9.2e18 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    let nanos = nanos.round() as i64;
    Some(TimeDelta::nanoseconds(if negative {
        -nanos
    } else {
        nanos
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys(value: &Cel) -> Vec<String> {
        let Cel::Map(map) = value else {
            panic!("not a map: {value:?}");
        };
        let mut keys: Vec<String> = map
            .map
            .keys()
            .map(|k| match k {
                Key::String(s) => s.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        keys.sort();
        keys
    }

    fn field(value: &Cel, name: &str) -> Cel {
        let Cel::Map(map) = value else {
            panic!("not a map: {value:?}");
        };
        map.map
            .get(&Key::String(Arc::new(name.to_owned())))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {value:?}"))
    }

    #[test]
    fn properties_are_escaped_and_map_keys_are_not() {
        let schema = json!({ "type": "object", "properties": {
            "namespace": { "type": "string" },
            "x-y": { "type": "integer" },
            "my_field": { "type": "string" },
            "labels": { "type": "object", "additionalProperties": { "type": "string" } }
        } });
        let object = json!({ "namespace": "a", "x-y": 1, "my_field": "b", "1st": "c",
                             "labels": { "app.kubernetes.io/name": "x", "namespace": "y" } });
        let value = to_cel(&object, Some(&schema), false);
        assert_eq!(
            keys(&value),
            vec!["__namespace__", "labels", "my_field", "x__dash__y"]
        );
        assert_eq!(
            keys(&field(&value, "labels")),
            vec!["app.kubernetes.io/name", "namespace"]
        );
    }

    #[test]
    fn the_root_exposes_only_the_name_of_its_metadata() {
        let schema =
            json!({ "type": "object", "properties": { "metadata": { "type": "object" } } });
        let object = json!({ "apiVersion": "v1", "kind": "K",
            "metadata": { "name": "a", "namespace": "b", "labels": { "x": "y" } } });
        let value = to_cel(&object, Some(&schema), true);
        assert_eq!(keys(&value), vec!["apiVersion", "kind", "metadata"]);
        assert_eq!(keys(&field(&value, "metadata")), vec!["name"]);
        let nested = to_cel(&object, Some(&schema), false);
        assert_eq!(
            keys(&field(&nested, "metadata")),
            vec!["__namespace__", "labels", "name"]
        );
    }

    #[test]
    fn formats_become_cel_types() {
        let schema = |format: &str| json!({ "type": "string", "format": format });
        assert!(matches!(
            to_cel(
                &json!("2025-03-01T08:00:00Z"),
                Some(&schema("date-time")),
                false
            ),
            Cel::Timestamp(_)
        ));
        assert!(matches!(
            to_cel(&json!("2025-12-31"), Some(&schema("date")), false),
            Cel::Timestamp(t) if t.to_rfc3339() == "2025-12-31T00:00:00+00:00"
        ));
        assert!(matches!(
            to_cel(&json!("aGk="), Some(&schema("byte")), false),
            Cel::Bytes(b) if b.as_slice() == b"hi"
        ));
        assert!(matches!(
            to_cel(&json!("not a date"), Some(&schema("date")), false),
            Cel::String(_)
        ));
        assert!(matches!(
            to_cel(&json!(2), Some(&json!({ "type": "number" })), false),
            Cel::Float(f) if (f - 2.0).abs() < f64::EPSILON
        ));
        assert!(matches!(to_cel(&json!(2), None, false), Cel::Int(2)));
    }

    #[test]
    fn durations_read_like_go() {
        let nanos = |text: &str| duration(text).and_then(|d| d.num_nanoseconds());
        assert_eq!(nanos("0"), Some(0));
        assert_eq!(nanos("1h30m"), Some(5_400_000_000_000));
        assert_eq!(nanos("-1.5s"), Some(-1_500_000_000));
        assert_eq!(nanos("300ms"), Some(300_000_000));
        assert_eq!(nanos("2us"), Some(2_000));
        assert_eq!(nanos(""), None);
        assert_eq!(nanos("5"), None);
        assert_eq!(nanos("1d"), None);
    }
}
