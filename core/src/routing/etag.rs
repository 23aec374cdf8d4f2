//! A configuration's canonical JSON (without its generation) and its ETag: the lowercase hex
//! SHA-256 of that JSON. Two configurations with the same content have the same ETag whatever
//! their generation, so the generation grows only when the content changes.

use govcloud_crds::api::RouterConfig;
use sha2::{Digest as _, Sha256};

/// `config` as canonical JSON: its fields without `generation`, keys sorted, no spaces.
pub fn canonical_json(config: &RouterConfig) -> String {
    let mut value = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.remove("generation");
    }
    sort_keys(&mut value);
    value.to_string()
}

/// Sorts the keys of every object of `value` (whatever order `serde_json`'s map keeps).
fn sort_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            let mut entries: Vec<(String, serde_json::Value)> =
                std::mem::take(object).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, mut inner) in entries {
                sort_keys(&mut inner);
                object.insert(key, inner);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// The ETag of `config`: lowercase hex SHA-256 of [`canonical_json`].
pub fn etag(config: &RouterConfig) -> String {
    hex::encode(Sha256::digest(canonical_json(config).as_bytes()))
}

/// Whether an `If-None-Match` header value names `etag` (`"…"`, `W/"…"`, a list, or `*`).
pub fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"') == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(generation: i64) -> RouterConfig {
        RouterConfig {
            router: "hanyin-core".to_owned(),
            generation,
            protected_interfaces: vec!["mgmt0".to_owned()],
            ..RouterConfig::default()
        }
    }

    #[test]
    fn the_generation_does_not_change_the_etag() {
        assert_eq!(etag(&config(1)), etag(&config(7)));
        assert_eq!(etag(&config(1)).len(), 64);
        assert_eq!(
            canonical_json(&config(3)),
            r#"{"protectedInterfaces":["mgmt0"],"router":"hanyin-core"}"#
        );
        let mut other = config(1);
        other.protected_interfaces.clear();
        assert_ne!(etag(&other), etag(&config(1)));
    }

    #[test]
    fn if_none_match_forms() {
        let tag = "ab".repeat(32);
        assert!(matches(&format!("\"{tag}\""), &tag));
        assert!(matches(&format!("W/\"{tag}\""), &tag));
        assert!(matches(&format!("\"x\", \"{tag}\""), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"other\"", &tag));
        assert!(!matches("", &tag));
    }
}
