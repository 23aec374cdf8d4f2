//! The committed CRDs match `crdgen`, and every kind follows the API conventions.

use govcloud_crds::crdgen;
use govcloud_tests::schema::SchemaSet;
use govcloud_tests::workspace_root;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

fn schema_of(crd: &CustomResourceDefinition) -> Value {
    let version = &crd.spec.versions[0];
    serde_json::to_value(
        version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .expect("schema"),
    )
    .expect("json")
}

#[test]
fn committed_crds_match_crdgen() {
    let dir = workspace_root().join(crdgen::CHART_CRDS_DIR);
    let drift = crdgen::check(&dir).expect("read the chart's CRDs");
    let report: Vec<String> = drift.iter().map(ToString::to_string).collect();
    assert!(
        drift.is_empty(),
        "the committed CRDs differ from crdgen:\n{}\nregenerate with `cargo run -p govcloud-crds --bin crdgen -- --out {}`",
        report.join("\n"),
        crdgen::CHART_CRDS_DIR
    );
    assert_eq!(crdgen::all().len(), 12);
}

#[test]
fn every_kind_has_short_names_categories_printer_columns_and_a_status_subresource() {
    for crd in crdgen::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        assert_eq!(crd.spec.group, "govcloud.io", "{name}");
        assert!(
            crd.spec
                .names
                .short_names
                .as_ref()
                .is_some_and(|s| !s.is_empty()),
            "{name}: no short name"
        );
        assert!(
            crd.spec
                .names
                .categories
                .as_ref()
                .is_some_and(|c| c.iter().any(|c| c == "govcloud")),
            "{name}: not in category govcloud"
        );
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{name}: no status subresource"
        );
        let columns = version
            .additional_printer_columns
            .clone()
            .unwrap_or_default();
        assert!(
            columns.len() >= 4,
            "{name}: only {} printer columns",
            columns.len()
        );
        assert!(
            columns.iter().any(|c| c.name == "Age" && c.type_ == "date"),
            "{name}: no Age column"
        );
        for column in &columns {
            assert!(
                column.json_path.starts_with('.'),
                "{name}: column {} path {}",
                column.name,
                column.json_path
            );
        }
    }
}

#[test]
fn every_status_has_conditions_keyed_on_type_and_an_observed_generation() {
    for crd in crdgen::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let status = &schema_of(&crd)["properties"]["status"]["properties"];
        let conditions = &status["conditions"];
        assert_eq!(conditions["x-kubernetes-list-type"], "map", "{name}");
        assert_eq!(
            conditions["x-kubernetes-list-map-keys"],
            serde_json::json!(["type"]),
            "{name}"
        );
        assert_eq!(
            conditions["items"]["required"],
            serde_json::json!(["lastTransitionTime", "message", "reason", "status", "type"]),
            "{name}"
        );
        assert_eq!(status["observedGeneration"]["type"], "integer", "{name}");
    }
}

/// Every field carries a description (they are what `kubectl explain` shows).
#[test]
fn every_field_is_described() {
    fn walk(schema: &Value, path: &str, missing: &mut Vec<String>) {
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (key, property) in properties {
                let path = format!("{path}.{key}");
                let is_embedded_meta = key == "metadata" || key == "apiVersion" || key == "kind";
                if property.get("description").is_none() && !is_embedded_meta {
                    missing.push(path.clone());
                }
                walk(property, &path, missing);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(inner) = schema.get(key) {
                walk(inner, path, missing);
            }
        }
    }
    let mut missing = Vec::new();
    for crd in crdgen::all() {
        walk(&schema_of(&crd), &crd.spec.names.kind, &mut missing);
    }
    assert!(
        missing.is_empty(),
        "fields without a description:\n{}",
        missing.join("\n")
    );
}

/// Every CEL rule in a schema.
fn cel_rules(schema: &Value, found: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(validations)) = map.get("x-kubernetes-validations") {
                found.extend(
                    validations
                        .iter()
                        .filter_map(|v| v["rule"].as_str())
                        .map(str::to_owned),
                );
            }
            map.values().for_each(|v| cel_rules(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| cel_rules(v, found)),
        _ => {}
    }
}

/// CEL rules compile, and use only the standard language plus `self`/`oldSelf`:
/// no Kubernetes extension library, so the embedded API server evaluates exactly what a real
/// one does.
#[test]
fn cel_rules_compile_and_use_only_standard_cel() {
    SchemaSet::govcloud().expect("every CRD's schema and CEL rules compile");
    let extensions = [
        "quantity(",
        "isQuantity(",
        "cidr(",
        "isCIDR(",
        "ip(",
        "isIP(",
        "url(",
        "isURL(",
        "semver(",
        "format.",
        "authorizer",
        "isSorted(",
        "indexOf(",
        "lastIndexOf(",
        "lowerAscii(",
        "upperAscii(",
        "replace(",
        "split(",
        "trim(",
        "join(",
        "sum(",
        "min(",
        "max(",
    ];
    let mut found = Vec::new();
    for crd in crdgen::all() {
        cel_rules(&schema_of(&crd), &mut found);
    }
    assert!(found.len() >= 20, "only {} CEL rules", found.len());
    for rule in &found {
        for extension in extensions {
            assert!(
                !rule.contains(extension),
                "rule `{rule}` uses the extension function `{extension}`"
            );
        }
    }
}
