//! The `metadata` checks kube-apiserver makes for every kind (`ValidateObjectMetaAccessor`):
//! names, namespaces, labels, annotations, finalizers and owner references, worded as
//! apimachinery's validation words them.

use serde_json::{Map, Value};

use super::field;
use crate::error::Cause;
use crate::resource::ResourceType;

/// The most annotation bytes (keys and values) an object may carry.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_MAX: usize = 63;
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// apimachinery's `RegexError`: `msg (e.g. 'a',  or 'b', regex used for validation is 'fmt')`.
fn regex_error(message: &str, format: &str, examples: &[&str]) -> String {
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{message} (e.g. {}regex used for validation is '{format}')",
        examples.join(" or ")
    )
}

fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

fn is_alnum_lower(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn matches_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.iter().all(|b| is_alnum_lower(*b) || *b == b'-')
        && bytes.first().copied().is_some_and(is_alnum_lower)
        && bytes.last().copied().is_some_and(is_alnum_lower)
}

/// Why `value` is not an RFC 1123 label (Namespace names); empty when it is one.
pub fn dns1123_label_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_LABEL_MAX {
        errors.push(max_len_error(DNS1123_LABEL_MAX));
    }
    if !matches_label(value) {
        errors.push(regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            DNS1123_LABEL_FMT,
            &["my-name", "123-abc"],
        ));
    }
    errors
}

/// Why `value` is not an RFC 1123 subdomain (the names of most kinds); empty when it is one.
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errors.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    if !value.split('.').all(matches_label) {
        errors.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errors
}

/// Why `value` is not a path segment name (RBAC objects' names); empty when it is one.
pub fn path_segment_errors(value: &str, prefix: bool) -> Vec<String> {
    let mut errors = Vec::new();
    if !prefix {
        for illegal in [".", ".."] {
            if value == illegal {
                errors.push(format!("may not be '{illegal}'"));
            }
        }
    }
    for illegal in ["/", "%"] {
        if value.contains(illegal) {
            errors.push(format!("may not contain '{illegal}'"));
        }
    }
    errors
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn matches_qualified_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// Why `value` is not a qualified name (`[prefix/]name`: label and annotation keys,
/// finalizers); empty when it is one.
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_owned());
            } else {
                errors.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|e| format!("prefix part {e}")),
                );
            }
            *name
        }
        _ => {
            errors.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_ERR,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errors;
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > QUALIFIED_NAME_MAX {
        errors.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX)));
    }
    if !matches_qualified_name(name) {
        errors.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errors
}

/// Why `value` is not a label value; empty when it is one.
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_VALUE_MAX {
        errors.push(max_len_error(LABEL_VALUE_MAX));
    }
    if !value.is_empty() && !matches_qualified_name(value) {
        errors.push(regex_error(
            LABEL_VALUE_ERR,
            &format!("({QUALIFIED_NAME_FMT})?"),
            &["MyValue", "my_value", "12345"],
        ));
    }
    errors
}

/// How names of `resource` are validated: `prefix` for `generateName` (a trailing `-` is fine).
fn name_errors(resource: &ResourceType, name: &str, prefix: bool) -> Vec<String> {
    let masked;
    let name = if prefix && name.ends_with('-') {
        masked = format!("{}a", &name[..name.len() - 1]);
        masked.as_str()
    } else {
        name
    };
    if resource.is_namespace() {
        dns1123_label_errors(name)
    } else if resource.group == "rbac.authorization.k8s.io" {
        path_segment_errors(name, prefix)
    } else {
        dns1123_subdomain_errors(name)
    }
}

/// The `metadata` problems of `object`, an object of `resource` sent to a path naming
/// `path_namespace` (none for cluster-scoped paths and for manifests checked offline):
/// - `metadata.name` (or `generateName`) is required and must be a DNS subdomain (a DNS label for
///   Namespaces, a path segment for RBAC objects);
/// - a namespaced object needs a namespace (its own, or the path's, which must agree), a DNS
///   label; a cluster-scoped one must have none. kube-apiserver silently clears the namespace of
///   a cluster-scoped object before validating it, so a server should do the same before calling
///   this; the `Forbidden` cause is for manifests;
/// - labels, annotations (keys, 256 KiB in all), finalizers and owner references.
pub fn validate_metadata(
    resource: &ResourceType,
    object: &Value,
    path_namespace: Option<&str>,
) -> Vec<Cause> {
    let mut causes = Vec::new();
    let empty = Map::new();
    let metadata = match object.get("metadata") {
        Some(Value::Object(metadata)) => metadata,
        None | Some(Value::Null) => &empty,
        Some(other) => {
            causes.push(field::invalid(
                "metadata",
                &field::render(other),
                "must be an object",
            ));
            return causes;
        }
    };
    let text = |key: &str, causes: &mut Vec<Cause>| -> Option<String> {
        match metadata.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.is_empty() => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => {
                causes.push(field::invalid(
                    &format!("metadata.{key}"),
                    &field::render(other),
                    "must be a string",
                ));
                None
            }
        }
    };
    let name = text("name", &mut causes);
    let generate_name = text("generateName", &mut causes);
    match (&name, &generate_name) {
        (Some(name), _) => causes.extend(
            name_errors(resource, name, false)
                .iter()
                .map(|e| field::invalid("metadata.name", &field::quote(name), e)),
        ),
        (None, Some(prefix)) => causes.extend(
            name_errors(resource, prefix, true)
                .iter()
                .map(|e| field::invalid("metadata.generateName", &field::quote(prefix), e)),
        ),
        (None, None) => causes.push(field::required(
            "metadata.name",
            "name or generateName is required",
        )),
    }
    let namespace = text("namespace", &mut causes);
    let path_namespace = path_namespace.filter(|n| !n.is_empty());
    if resource.namespaced {
        match (&namespace, path_namespace) {
            (Some(own), Some(path)) if own != path => causes.push(field::invalid(
                "metadata.namespace",
                &field::quote(own),
                "the namespace of the provided object does not match the namespace sent on the request",
            )),
            (Some(own), _) => causes.extend(
                dns1123_label_errors(own)
                    .iter()
                    .map(|e| field::invalid("metadata.namespace", &field::quote(own), e)),
            ),
            (None, Some(_)) => {}
            (None, None) => causes.push(field::required("metadata.namespace", "")),
        }
    } else if namespace.is_some() {
        causes.push(field::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    validate_labels(metadata.get("labels"), &mut causes);
    validate_annotations(metadata.get("annotations"), &mut causes);
    validate_finalizers(metadata.get("finalizers"), &mut causes);
    validate_owner_references(metadata.get("ownerReferences"), &mut causes);
    causes
}

/// The entries of a string map (`labels`, `annotations`); causes for anything else.
fn string_map<'a>(
    value: Option<&'a Value>,
    path: &str,
    causes: &mut Vec<Cause>,
) -> Vec<(&'a str, &'a str)> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(map) = value.as_object() else {
        causes.push(field::invalid(
            path,
            &field::render(value),
            "must be a map of strings",
        ));
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (key, value) in map {
        match value.as_str() {
            Some(text) => entries.push((key.as_str(), text)),
            None => causes.push(field::invalid(
                &field::child(path, key),
                &field::render(value),
                "must be a string",
            )),
        }
    }
    entries
}

fn validate_labels(labels: Option<&Value>, causes: &mut Vec<Cause>) {
    let path = "metadata.labels";
    for (key, value) in string_map(labels, path, causes) {
        causes.extend(
            qualified_name_errors(key)
                .iter()
                .map(|e| field::invalid(path, &field::quote(key), e)),
        );
        causes.extend(
            label_value_errors(value)
                .iter()
                .map(|e| field::invalid(path, &field::quote(value), e)),
        );
    }
}

fn validate_annotations(annotations: Option<&Value>, causes: &mut Vec<Cause>) {
    let path = "metadata.annotations";
    let mut total = 0;
    for (key, value) in string_map(annotations, path, causes) {
        causes.extend(
            qualified_name_errors(&key.to_lowercase())
                .iter()
                .map(|e| field::invalid(path, &field::quote(key), e)),
        );
        total += key.len() + value.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        causes.push(field::too_long(
            path,
            &format!("must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"),
        ));
    }
}

fn validate_finalizers(finalizers: Option<&Value>, causes: &mut Vec<Cause>) {
    let path = "metadata.finalizers";
    let Some(finalizers) = finalizers.filter(|v| !v.is_null()) else {
        return;
    };
    let Some(list) = finalizers.as_array() else {
        causes.push(field::invalid(
            path,
            &field::render(finalizers),
            "must be a list of strings",
        ));
        return;
    };
    for finalizer in list {
        match finalizer.as_str() {
            Some(name) => causes.extend(
                qualified_name_errors(name)
                    .iter()
                    .map(|e| field::invalid(path, &field::quote(name), e)),
            ),
            None => causes.push(field::invalid(
                path,
                &field::render(finalizer),
                "must be a string",
            )),
        }
    }
}

fn validate_owner_references(references: Option<&Value>, causes: &mut Vec<Cause>) {
    let path = "metadata.ownerReferences";
    let Some(references) = references.filter(|v| !v.is_null()) else {
        return;
    };
    let Some(list) = references.as_array() else {
        causes.push(field::invalid(
            path,
            &field::render(references),
            "must be a list",
        ));
        return;
    };
    let mut controllers = Vec::new();
    for reference in list {
        let text = |key: &str| reference.get(key).and_then(Value::as_str).unwrap_or("");
        let api_version = text("apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or("");
        for (key, value, empty, message) in [
            (
                "apiVersion",
                api_version,
                version.is_empty(),
                "version must not be empty",
            ),
            (
                "kind",
                text("kind"),
                text("kind").is_empty(),
                "kind must not be empty",
            ),
            (
                "name",
                text("name"),
                text("name").is_empty(),
                "name must not be empty",
            ),
            (
                "uid",
                text("uid"),
                text("uid").is_empty(),
                "uid must not be empty",
            ),
        ] {
            if empty {
                causes.push(field::invalid(
                    &field::child(path, key),
                    &field::quote(value),
                    message,
                ));
            }
        }
        if reference.get("controller").and_then(Value::as_bool) == Some(true) {
            controllers.push(format!("{}/{} {}", api_version, text("kind"), text("name")));
        }
    }
    if controllers.len() > 1 {
        causes.push(field::invalid(
            path,
            &field::render(references),
            &format!(
                "Only one reference can have Controller set to true. Found \"true\" in references for {}",
                controllers.join(" and ")
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::builtin;

    fn builtin_type(plural: &str, group: &str) -> ResourceType {
        builtin::types()
            .into_iter()
            .find(|t| t.plural == plural && t.group == group)
            .expect("built-in type")
    }

    fn tenants() -> ResourceType {
        crate::resource::tenant_fixture()
    }

    fn messages(
        resource: &ResourceType,
        object: &Value,
        path_namespace: Option<&str>,
    ) -> Vec<String> {
        validate_metadata(resource, object, path_namespace)
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn names_are_required_and_follow_rfc_1123() {
        assert!(
            messages(
                &tenants(),
                &json!({ "metadata": { "name": "city-finance" } }),
                None
            )
            .is_empty()
        );
        assert_eq!(
            messages(&tenants(), &json!({ "metadata": {} }), None),
            vec!["metadata.name: Required value: name or generateName is required"]
        );
        assert!(
            messages(
                &tenants(),
                &json!({ "metadata": { "generateName": "report-" } }),
                None
            )
            .is_empty()
        );
        assert_eq!(
            messages(
                &tenants(),
                &json!({ "metadata": { "name": "City_Finance" } }),
                None
            ),
            vec![
                "metadata.name: Invalid value: \"City_Finance\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ]
        );
        let namespaces = builtin_type("namespaces", "");
        assert_eq!(
            messages(&namespaces, &json!({ "metadata": { "name": "a.b" } }), None),
            vec![
                "metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
        let long = "a".repeat(64);
        assert_eq!(
            messages(&namespaces, &json!({ "metadata": { "name": long } }), None),
            vec![format!(
                "metadata.name: Invalid value: \"{long}\": must be no more than 63 characters"
            )]
        );
        let roles = builtin_type("clusterroles", "rbac.authorization.k8s.io");
        assert!(
            messages(
                &roles,
                &json!({ "metadata": { "name": "system:controller:x" } }),
                None
            )
            .is_empty()
        );
        assert_eq!(
            messages(&roles, &json!({ "metadata": { "name": "a/b" } }), None),
            vec!["metadata.name: Invalid value: \"a/b\": may not contain '/'"]
        );
    }

    #[test]
    fn namespaces_follow_the_scope_and_the_path() {
        let config_maps = builtin_type("configmaps", "");
        assert_eq!(
            messages(&config_maps, &json!({ "metadata": { "name": "a" } }), None),
            vec!["metadata.namespace: Required value"]
        );
        assert!(
            messages(
                &config_maps,
                &json!({ "metadata": { "name": "a" } }),
                Some("ns")
            )
            .is_empty()
        );
        assert!(
            messages(
                &config_maps,
                &json!({ "metadata": { "name": "a", "namespace": "ns" } }),
                Some("ns")
            )
            .is_empty()
        );
        assert_eq!(
            messages(
                &config_maps,
                &json!({ "metadata": { "name": "a", "namespace": "other" } }),
                Some("ns")
            ),
            vec![
                "metadata.namespace: Invalid value: \"other\": the namespace of the provided object does not match the namespace sent on the request"
            ]
        );
        assert_eq!(
            messages(
                &tenants(),
                &json!({ "metadata": { "name": "a", "namespace": "x" } }),
                None
            ),
            vec!["metadata.namespace: Forbidden: not allowed on this type"]
        );
    }

    #[test]
    fn labels_annotations_finalizers_and_owners_are_checked() {
        let object = json!({ "metadata": {
            "name": "a",
            "labels": { "app.kubernetes.io/name": "govcloud", "bad key": "x", "ok": "bad value" },
            "annotations": { "Example.com/Note": "fine", "/empty-prefix": "x" },
            "finalizers": ["govcloud.io/cleanup", "not valid!"],
            "ownerReferences": [
                { "apiVersion": "govcloud.io/v1alpha1", "kind": "Tenant", "name": "t", "uid": "1", "controller": true },
                { "apiVersion": "govcloud.io/v1alpha1", "kind": "Tenant", "name": "u", "uid": "2", "controller": true },
                { "apiVersion": "", "kind": "", "name": "", "uid": "" }
            ]
        }});
        let found = messages(&tenants(), &object, None);
        let expected_prefixes = [
            "metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters",
            "metadata.labels: Invalid value: \"bad value\": a valid label must be an empty string or consist of",
            "metadata.annotations: Invalid value: \"/empty-prefix\": prefix part must be non-empty",
            "metadata.finalizers: Invalid value: \"not valid!\": name part must consist of",
            "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty",
            "metadata.ownerReferences.kind: Invalid value: \"\": kind must not be empty",
            "metadata.ownerReferences.name: Invalid value: \"\": name must not be empty",
            "metadata.ownerReferences.uid: Invalid value: \"\": uid must not be empty",
            "metadata.ownerReferences: Invalid value: [",
        ];
        assert_eq!(found.len(), expected_prefixes.len(), "{found:#?}");
        for prefix in expected_prefixes {
            assert!(
                found.iter().any(|f| f.starts_with(prefix)),
                "{prefix}\n{found:#?}"
            );
        }
        assert!(found.last().is_some_and(|f| f.contains(
            "Only one reference can have Controller set to true. Found \"true\" in references for govcloud.io/v1alpha1/Tenant t and govcloud.io/v1alpha1/Tenant u"
        )));
    }

    #[test]
    fn annotations_are_limited_in_size() {
        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
        let object = json!({ "metadata": { "name": "a", "annotations": { "k": big } } });
        assert_eq!(
            messages(&tenants(), &object, None),
            vec!["metadata.annotations: Too long: must have at most 262144 bytes"]
        );
    }

    #[test]
    fn qualified_names_and_label_values() {
        assert!(qualified_name_errors("govcloud.io/tenant").is_empty());
        assert!(qualified_name_errors("Tenant_1.x").is_empty());
        assert_eq!(
            qualified_name_errors("a/b/c")[0],
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        );
        assert_eq!(
            qualified_name_errors(&"a".repeat(64)),
            vec!["name part must be no more than 63 characters"]
        );
        assert!(label_value_errors("").is_empty());
        assert!(label_value_errors("v1.2_3-x").is_empty());
        assert_eq!(label_value_errors("-x").len(), 1);
    }
}
