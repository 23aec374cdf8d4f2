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
            .starts_with("failed to compile the CEL rules of the schema: openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: \"self.a ==\": compilation failed: ERROR: <input>:"),
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

/// CRDs whose rules use Kubernetes' escaped property names, created and used over HTTP against
/// the API's router, as kube-apiserver would take them.
mod escaped_names_over_http {
    use std::net::SocketAddr;

    use serde_json::{Value, json};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use crate::api::{ApiState, router};
    use crate::store::Store;

    struct Server {
        address: SocketAddr,
        serving: tokio::task::JoinHandle<std::io::Result<()>>,
        _dir: tempfile::TempDir,
    }

    impl Server {
        async fn start() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Store::open(&dir.path().join("state.db"))
                .await
                .expect("open the store");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let address = listener.local_addr().expect("address");
            let state = ApiState::new(store, address.to_string())
                .await
                .expect("state");
            let serving = tokio::spawn(async move { axum::serve(listener, router(state)).await });
            Self {
                address,
                serving,
                _dir: dir,
            }
        }

        /// The status code and JSON body of one request.
        async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
            let mut stream = tokio::net::TcpStream::connect(self.address)
                .await
                .expect("connect");
            let body = body.map(Value::to_string).unwrap_or_default();
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                self.address,
                body.len()
            );
            stream.write_all(request.as_bytes()).await.expect("write");
            let mut response = String::new();
            stream.read_to_string(&mut response).await.expect("read");
            let (head, body) = response.split_once("\r\n\r\n").expect("a response");
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .expect("a status");
            (status, serde_json::from_str(body).unwrap_or(Value::Null))
        }

        async fn create_crd(&self, rules: &[&str]) -> (u16, Value) {
            let rules: Vec<Value> = rules
                .iter()
                .map(|rule| json!({ "rule": rule, "message": format!("failed: {rule}") }))
                .collect();
            let crd = json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": { "name": "gadgets.example.com" },
                "spec": {
                    "group": "example.com",
                    "scope": "Cluster",
                    "names": { "plural": "gadgets", "singular": "gadget", "kind": "Gadget",
                               "listKind": "GadgetList" },
                    "versions": [{
                        "name": "v1", "served": true, "storage": true,
                        "schema": { "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-validations": rules,
                            "properties": { "spec": { "type": "object", "properties": {
                                "namespace": { "type": "string" },
                                "x-y": { "type": "integer" }
                            } } }
                        } }
                    }]
                }
            });
            self.call(
                "POST",
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                Some(&crd),
            )
            .await
        }

        async fn create_gadget(&self, name: &str, spec: &Value) -> (u16, Value) {
            let gadget = json!({ "apiVersion": "example.com/v1", "kind": "Gadget",
                                 "metadata": { "name": name }, "spec": spec });
            self.call("POST", "/apis/example.com/v1/gadgets", Some(&gadget))
                .await
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.serving.abort();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rule_naming_a_reserved_word_bare_refuses_the_crd() {
        let server = Server::start().await;
        let (status, refusal) = server.create_crd(&["has(self.spec.namespace)"]).await;
        assert_eq!(status, 422, "{refusal}");
        assert_eq!(refusal["reason"], "Invalid");
        let message = refusal["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(
                "CustomResourceDefinition \"gadgets.example.com\" is invalid: \
                 spec.validation.openAPIV3Schema.x-kubernetes-validations[0].rule: \
                 Invalid value: \"has(self.spec.namespace)\": compilation failed: \
                 ERROR: <input>:1:14: undefined field 'namespace'"
            ),
            "{message}"
        );
        assert_eq!(
            refusal["details"]["causes"][0]["field"],
            "spec.validation.openAPIV3Schema.x-kubernetes-validations[0].rule"
        );
        let (status, _) = server
            .call(
                "GET",
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com",
                None,
            )
            .await;
        assert_eq!(status, 404, "a refused CRD is not stored");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn versions_with_their_own_schemas_are_named_by_index() {
        let server = Server::start().await;
        let version = |name: &str, rule: &str| {
            json!({ "name": name, "served": true, "storage": name == "v1",
                "schema": { "openAPIV3Schema": { "type": "object", "properties": {
                    "spec": { "type": "object", "x-kubernetes-validations": [{ "rule": rule }],
                              "properties": { "namespace": { "type": "string" } } } } } } })
        };
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": { "name": "gadgets.example.com" },
            "spec": {
                "group": "example.com",
                "scope": "Cluster",
                "names": { "plural": "gadgets", "singular": "gadget", "kind": "Gadget",
                           "listKind": "GadgetList" },
                "versions": [
                    version("v1", "has(self.__namespace__)"),
                    version("v2", "self.namespace != ''")
                ]
            }
        });
        let (status, refusal) = server
            .call(
                "POST",
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                Some(&crd),
            )
            .await;
        assert_eq!(status, 422, "{refusal}");
        assert_eq!(
            refusal["details"]["causes"][0]["field"],
            "spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn escaped_names_are_accepted_and_enforced() {
        let server = Server::start().await;
        let (status, created) = server
            .create_crd(&["has(self.spec.__namespace__)", "self.spec.x__dash__y > 0"])
            .await;
        assert_eq!(status, 201, "{created}");

        let (status, created) = server
            .create_gadget("good", &json!({ "namespace": "city", "x-y": 1 }))
            .await;
        assert_eq!(status, 201, "{created}");

        let (status, refusal) = server.create_gadget("bad", &json!({ "x-y": 0 })).await;
        assert_eq!(status, 422, "{refusal}");
        let mut causes: Vec<String> = refusal["details"]["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["message"].as_str().unwrap_or_default().to_owned())
            .collect();
        causes.sort();
        assert_eq!(
            causes,
            vec![
                "Invalid value: \"object\": failed: has(self.spec.__namespace__)",
                "Invalid value: \"object\": failed: self.spec.x__dash__y > 0",
            ]
        );
    }
}
