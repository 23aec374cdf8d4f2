//! Admission of a representative custom resource, message by message.

use serde_json::{Value, json};

use super::*;

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["tier", "quota"],
                "x-kubernetes-validations": [
                    { "rule": "self.tier != 'Custom' || has(self.customTier)",
                      "message": "customTier is required for tier Custom", "fieldPath": ".customTier" }
                ],
                "properties": {
                    "tier": { "type": "string", "enum": ["CityCounty", "CountyTownship", "Custom"] },
                    "customTier": { "type": "string", "maxLength": 8 },
                    "window": { "type": "string", "default": "336h", "pattern": "^[0-9]+h$" },
                    "deadline": { "type": "string", "format": "date" },
                    "prefix": { "type": "string", "format": "cidr" },
                    "size": { "type": "integer", "format": "int64", "minimum": 1 },
                    "quota": {
                        "type": "object",
                        "properties": {
                            "cpu": {
                                "x-kubernetes-int-or-string": true,
                                "minimum": 0.0,
                                "pattern": "^\\+?[0-9]+m?$"
                            }
                        }
                    },
                    "members": {
                        "type": "array",
                        "maxItems": 2,
                        "x-kubernetes-list-type": "set",
                        "items": { "type": "string" },
                        "x-kubernetes-validations": [
                            { "rule": "self.size() == 2", "message": "exactly two members" }
                        ]
                    },
                    "requested": {
                        "type": "object",
                        "properties": { "cpu": { "type": "integer" } },
                        "x-kubernetes-validations": [
                            { "rule": "self == oldSelf", "message": "requested amounts are immutable" }
                        ]
                    }
                }
            },
            "status": {
                "type": "object",
                "properties": { "phase": { "type": "string" } }
            }
        }
    })
}

fn validator() -> SchemaValidator {
    SchemaValidator::new(&schema()).expect("schema compiles")
}

fn valid() -> Value {
    json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "ExtranetLink",
        "metadata": { "name": "ankang-hanyin" },
        "spec": {
            "tier": "CityCounty",
            "quota": { "cpu": 64 },
            "members": ["eth1", "eth2"],
            "deadline": "2025-12-31",
            "prefix": "2001:db8:a00::/48"
        }
    })
}

/// `field: message` of each cause of admitting `object` under `Strict`.
fn refusals(object: &Value) -> Vec<String> {
    let mut object = object.clone();
    validator()
        .default_and_validate(&mut object, None, FieldValidation::Strict)
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

fn with(pointer: &str, value: Value) -> Value {
    let mut object = valid();
    if let Some(slot) = object.pointer_mut(pointer) {
        *slot = value;
    } else {
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        object
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .expect("parent")
            .insert(key.to_owned(), value);
    }
    object
}

fn resource() -> ResourceType {
    ResourceType {
        group: "govcloud.io".into(),
        version: "v1alpha1".into(),
        kind: "ExtranetLink".into(),
        plural: "extranetlinks".into(),
        singular: "extranetlink".into(),
        namespaced: false,
        short_names: vec![],
        categories: vec![],
        status_subresource: true,
        printer_columns: vec![],
        schema: Some(schema()),
        crd: Some("extranetlinks.govcloud.io".into()),
    }
}

#[test]
fn validators_are_shareable_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<SchemaValidator>();
}

#[test]
fn a_valid_object_is_admitted_and_defaulted() {
    let mut object = valid();
    let admission = validator().admit(&mut object, None, FieldValidation::Strict);
    assert_eq!(admission.causes, Vec::<Cause>::new());
    assert!(admission.is_admitted());
    assert_eq!(object["spec"]["window"], "336h", "the default is kept");
}

#[test]
fn openapi_failures_read_like_kube_apiserver() {
    assert_eq!(
        refusals(&with("/spec/quota/cpu", json!("-5"))),
        vec![
            "spec.quota.cpu: Invalid value: \"-5\": spec.quota.cpu in body should match '^\\+?[0-9]+m?$'"
        ]
    );
    assert_eq!(
        refusals(&with("/spec/quota/cpu", json!(-5))),
        vec![
            "spec.quota.cpu: Invalid value: -5: spec.quota.cpu in body should be greater than or equal to 0"
        ]
    );
    assert_eq!(
        refusals(&with("/spec/window", json!("14 days"))),
        vec![
            "spec.window: Invalid value: \"14 days\": spec.window in body should match '^[0-9]+h$'"
        ]
    );
    assert_eq!(
        refusals(&with("/spec/size", json!(0))),
        vec!["spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"]
    );
}

#[test]
fn shape_failures_block_the_cel_rules() {
    let blocked = format!(": Invalid value: \"null\": {RULES_NOT_CHECKED}");
    assert_eq!(
        refusals(&with("/spec/tier", json!("DualGigabit"))),
        vec![
            "spec.tier: Unsupported value: \"DualGigabit\": supported values: \"CityCounty\", \"CountyTownship\", \"Custom\"".to_owned(),
            blocked.clone(),
        ]
    );
    assert_eq!(
        refusals(&with("/spec/quota/cpu", json!(true))),
        vec![
            "spec.quota.cpu: Invalid value: \"boolean\": spec.quota.cpu in body must be of type integer,string: \"boolean\"".to_owned(),
            blocked.clone(),
        ]
    );
    assert_eq!(
        refusals(&with("/spec/deadline", json!("2025-02-30"))),
        vec![
            "spec.deadline: Invalid value: \"2025-02-30\": spec.deadline in body must be of type date: \"2025-02-30\"".to_owned(),
            blocked.clone(),
        ]
    );
    assert_eq!(
        refusals(&with("/spec/prefix", json!("2001:db8::/200"))),
        vec![
            "spec.prefix: Invalid value: \"2001:db8::/200\": spec.prefix in body must be of type cidr: \"2001:db8::/200\"".to_owned(),
            blocked.clone(),
        ]
    );
    let mut no_tier = valid();
    no_tier["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("tier");
    assert_eq!(
        refusals(&no_tier),
        vec!["spec.tier: Required value".to_owned(), blocked.clone()]
    );
    assert_eq!(
        refusals(&with("/spec/members", json!(["a", "b", "c"]))),
        vec![
            "spec.members: Too many: 3: must have at most 2 items".to_owned(),
            blocked.clone(),
        ]
    );
    assert_eq!(
        refusals(&with("/spec/customTier", json!("123456789"))),
        vec![
            "spec.customTier: Too long: may not be longer than 8".to_owned(),
            blocked,
        ]
    );
}

#[test]
fn cel_rules_run_on_well_shaped_objects() {
    assert_eq!(
        refusals(&with("/spec/tier", json!("Custom"))),
        vec!["spec.customTier: Invalid value: \"object\": customTier is required for tier Custom"]
    );
    assert_eq!(
        refusals(&with("/spec/members", json!(["eth1", "eth1"]))),
        vec!["spec.members[1]: Duplicate value: \"eth1\""],
        "a duplicate does not block the rules, which pass here: two items"
    );
    assert_eq!(
        refusals(&with("/spec/members", json!(["eth1"]))),
        vec!["spec.members: Invalid value: \"array\": exactly two members"]
    );
}

#[test]
fn transition_rules_need_the_old_object() {
    let old = with("/spec/requested", json!({ "cpu": 96 }));
    let mut changed = with("/spec/requested", json!({ "cpu": 128 }));
    let v = validator();
    assert!(
        v.default_and_validate(&mut changed.clone(), None, FieldValidation::Strict)
            .is_empty()
    );
    let causes = v.default_and_validate(&mut changed, Some(&old), FieldValidation::Strict);
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].field, "spec.requested");
    assert_eq!(
        causes[0].message,
        "Invalid value: \"object\": requested amounts are immutable"
    );
}

#[test]
fn unknown_fields_follow_the_field_validation() {
    let object = with("/spec/levle", json!("x"));
    let v = validator();

    let mut strict = object.clone();
    let admission = v.admit(&mut strict, None, FieldValidation::Strict);
    assert_eq!(admission.unknown_fields, vec!["spec.levle"]);
    assert_eq!(
        admission.causes,
        vec![Cause::invalid("spec.levle", "unknown field \"spec.levle\"")]
    );
    assert_eq!(strict, object, "nothing is pruned when the request fails");
    let error = admission
        .into_result(&resource(), "ankang-hanyin")
        .expect_err("strict refuses");
    assert_eq!(error.code, 400);
    assert_eq!(
        error.message,
        "ExtranetLink in version \"v1alpha1\" cannot be handled as a ExtranetLink: strict decoding error: unknown field \"spec.levle\""
    );

    let mut warned = object.clone();
    let admission = v.admit(&mut warned, None, FieldValidation::Warn);
    assert!(admission.is_admitted());
    assert!(warned["spec"].get("levle").is_none(), "pruned");
    assert_eq!(admission.warnings(), vec!["unknown field \"spec.levle\""]);
    assert_eq!(
        admission
            .into_result(&resource(), "ankang-hanyin")
            .expect("admitted"),
        vec!["unknown field \"spec.levle\""]
    );

    let mut ignored = object;
    let admission = v.admit(&mut ignored, None, FieldValidation::Ignore);
    assert!(admission.is_admitted());
    assert!(ignored["spec"].get("levle").is_none(), "pruned");
    assert!(admission.warnings().is_empty());
}

#[test]
fn invalid_objects_are_a_422_naming_each_field() {
    let mut object = with("/spec/tier", json!("Custom"));
    let admission = validator().admit(&mut object, None, FieldValidation::Warn);
    let error = admission
        .into_result(&resource(), "ankang-hanyin")
        .expect_err("invalid");
    assert_eq!(error.code, 422);
    assert_eq!(
        error.message,
        "ExtranetLink \"ankang-hanyin\" is invalid: spec.customTier: Invalid value: \"object\": customTier is required for tier Custom"
    );
}

#[test]
fn nulls_of_non_nullable_fields_count_as_absent() {
    let mut object = with("/spec/deadline", Value::Null);
    object["spec"]["window"] = Value::Null;
    let causes = validator().default_and_validate(&mut object, None, FieldValidation::Strict);
    assert_eq!(causes, Vec::<Cause>::new());
    assert!(object["spec"].get("deadline").is_none());
    assert_eq!(object["spec"]["window"], "336h");
}

#[test]
fn field_validation_comes_from_the_query() {
    assert_eq!(
        FieldValidation::from_query(None).ok(),
        Some(FieldValidation::Warn)
    );
    assert_eq!(
        FieldValidation::from_query(Some("")).ok(),
        Some(FieldValidation::Warn)
    );
    assert_eq!(
        FieldValidation::from_query(Some("Strict")).ok(),
        Some(FieldValidation::Strict)
    );
    assert_eq!(
        FieldValidation::from_query(Some("Ignore")).ok(),
        Some(FieldValidation::Ignore)
    );
    let error = FieldValidation::from_query(Some("strict")).expect_err("case matters");
    assert_eq!(error.code, 422);
    assert_eq!(
        error.message,
        "fieldValidation: Unsupported value: \"strict\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""
    );
    let error = FieldValidation::from_query_for(Some("x"), "PatchOptions").expect_err("bad");
    assert!(
        error.message.starts_with(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"x\""
        ),
        "{}",
        error.message
    );
    assert_eq!(
        error.status()["details"]["causes"][0]["field"],
        "fieldValidation"
    );
    assert_eq!(FieldValidation::default().to_string(), "Warn");
}

#[test]
fn bad_schemas_are_refused_naming_the_part() {
    let cel = json!({ "type": "object", "properties": { "spec": { "type": "object",
        "x-kubernetes-validations": [{ "rule": "self.a ==" }] } } });
    let error = SchemaValidator::new(&cel).expect_err("bad rule");
    assert!(
        error
            .to_string()
            .starts_with("failed to compile the CEL rules of the schema: at spec: failed to compile CEL rule \"self.a ==\""),
        "{error}"
    );
    let pattern = json!({ "type": "object", "properties": { "spec": { "type": "object",
        "properties": { "name": { "type": "string", "pattern": "([a-z" } } } } });
    let error = SchemaValidator::new(&pattern).expect_err("bad pattern");
    assert!(
        error.to_string().starts_with(
            "failed to compile the OpenAPI schema at `properties.spec.properties.name.pattern`"
        ),
        "{error}"
    );
    let error = SchemaValidator::new(&json!({ "type": "string" })).expect_err("not an object");
    assert!(error.to_string().contains("`type: object`"), "{error}");
    assert!(SchemaValidator::new(&json!([])).is_err());
}

#[test]
fn the_size_limit_is_etcds() {
    assert_eq!(MAX_OBJECT_BYTES, 1_572_864);
}
