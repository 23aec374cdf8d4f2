//! Every CEL rule of govcloud's CRDs compiles as kube-apiserver compiles it when the CRD is
//! created (Kubernetes' escaping of property names, reserved words refused, the declared types
//! of the schema, `self.metadata` limited to `name` and `generateName`), and the rule that
//! needs escaping — a `SystemMigration` may not depend on itself — holds against the embedded
//! API server over HTTP.

use govcloud_apiserver::admission::{AdmissionError, SchemaValidator};
use govcloud_crds::crdgen;
use govcloud_tests::local::TestServer;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion, JSONSchemaProps,
};
use kube::api::{Api, DynamicObject, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind, Status};
use kube::{Client, Config};
use serde_json::{Value, json};

/// The `openAPIV3Schema` of each version of `crd`, with the path kube-apiserver reports errors
/// in it at (`spec.validation.openAPIV3Schema` when all versions share one schema).
fn schemas(crd: &CustomResourceDefinition) -> Vec<(String, Value)> {
    fn schema_of(version: &CustomResourceDefinitionVersion) -> Option<&JSONSchemaProps> {
        version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
    }
    let versions = &crd.spec.versions;
    let shared = versions
        .windows(2)
        .all(|w| schema_of(&w[0]) == schema_of(&w[1]));
    versions
        .iter()
        .enumerate()
        .map(|(index, version)| {
            let at = if shared {
                "spec.validation.openAPIV3Schema".to_owned()
            } else {
                format!("spec.versions[{index}].schema.openAPIV3Schema")
            };
            let schema = serde_json::to_value(schema_of(version)).expect("a schema");
            (at, schema)
        })
        .collect()
}

/// How many `x-kubernetes-validations` rules `schema` holds.
fn count_rules(schema: &Value) -> usize {
    match schema {
        Value::Object(fields) => {
            let here = fields
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            here + fields.values().map(count_rules).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(count_rules).sum(),
        _ => 0,
    }
}

/// Each rule of `schema` that does not compile, as `CRD <name>: <path>: <why>`.
fn compilation_failures(name: &str, at: &str, schema: &Value) -> Vec<String> {
    match SchemaValidator::new(schema) {
        Ok(_) => Vec::new(),
        Err(AdmissionError::Cel { errors }) => errors
            .iter()
            .map(|e| format!("CRD {name}: {}: {}", e.field_path(at), e.message()))
            .collect(),
        Err(other) => vec![format!("CRD {name}: {at}: {other}")],
    }
}

#[test]
fn every_rule_of_every_crd_compiles_as_on_kube_apiserver() {
    let crds = crdgen::all();
    assert_eq!(crds.len(), 12);
    let mut failures = Vec::new();
    let mut rules = 0;
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        for (at, schema) in schemas(crd) {
            rules += count_rules(&schema);
            failures.extend(compilation_failures(&name, &at, &schema));
        }
    }
    assert!(
        failures.is_empty(),
        "rules kube-apiserver would refuse:\n{}",
        failures.join("\n")
    );
    assert!(rules > 30, "only {rules} rules were found");
}

#[test]
fn the_unescaped_self_dependency_rule_would_be_refused() {
    let crd = crdgen::all()
        .into_iter()
        .find(|c| c.spec.names.kind == "SystemMigration")
        .expect("the SystemMigration CRD");
    let (at, schema) = schemas(&crd).remove(0);
    let text = schema.to_string();
    assert!(text.contains("!has(d.__namespace__)"), "{text}");
    let unescaped: Value =
        serde_json::from_str(&text.replace("has(d.__namespace__)", "has(d.namespace)"))
            .expect("json");
    let failures = compilation_failures("systemmigrations.govcloud.io", &at, &unescaped);
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(
        failures[0].starts_with(
            "CRD systemmigrations.govcloud.io: \
             spec.validation.openAPIV3Schema.x-kubernetes-validations[0].rule: \
             Invalid value: \"!has(self.spec.dependsOn) || !self.spec.dependsOn.exists(d, \
             d.name == self.metadata.name && !has(d.namespace))\": compilation failed: \
             ERROR: <input>:1:99: undefined field 'namespace'"
        ),
        "{}",
        failures[0]
    );
}

async fn client(server: &TestServer) -> Client {
    let kubeconfig = Kubeconfig::read_from(server.kubeconfig()).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

fn system(name: &str, depends_on: &Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "SystemMigration",
        "metadata": { "name": name },
        "spec": {
            "displayName": "公共资源交易平台",
            "classification": "Unclassified",
            "source": { "site": "市发改委机房", "platform": "VirtualMachine", "hosts": 4 },
            "resources": { "cpu": "16", "memory": "64Gi", "storage": "2Ti" },
            "dependsOn": depends_on,
            "steps": [{
                "name": "copy-data",
                "run": { "type": "Job",
                         "job": { "image": "registry.example.org/migrate/rsync:3.2" } }
            }]
        }
    }))
    .expect("a SystemMigration")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_system_that_depends_on_itself_is_refused_at_admission() {
    let server = TestServer::start().await;
    let client = client(&server).await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crdgen::all() {
        crds.create(&PostParams::default(), &crd)
            .await
            .unwrap_or_else(|e| panic!("create {:?}: {e}", crd.metadata.name));
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for name in ["city-ndrc", "city-services"] {
        let namespace =
            serde_json::from_value(json!({ "metadata": { "name": name } })).expect("a namespace");
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .expect("create a namespace");
    }
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "govcloud.io",
        "v1alpha1",
        "SystemMigration",
    ));
    let systems: Api<DynamicObject> = Api::namespaced_with(client.clone(), "city-ndrc", &resource);
    let params = PostParams::default();

    let itself = system("trading-platform", &json!([{ "name": "trading-platform" }]));
    let status: Status = match systems.create(&params, &itself).await {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(status.code, 422, "{status:?}");
    let causes = status.details.map(|d| d.causes).unwrap_or_default();
    assert!(
        causes.iter().any(|c| c.field == "spec.dependsOn"
            && c.message == "Invalid value: \"object\": a system cannot depend on itself"),
        "{causes:#?}"
    );

    // The same name in another tenant's namespace is another system.
    let other = system(
        "trading-platform",
        &json!([{ "name": "trading-platform", "namespace": "city-services" }]),
    );
    systems
        .create(&params, &other)
        .await
        .expect("a same-named system in another namespace is a dependency");

    // Rules cannot see `metadata.namespace`: a dependency naming the system's own namespace
    // passes admission, and the controller refuses it (`SystemError::SelfDependency`).
    let named = system(
        "payroll",
        &json!([{ "name": "payroll", "namespace": "city-ndrc" }]),
    );
    systems
        .create(&params, &named)
        .await
        .expect("left to the controller");

    server.server.shutdown().await;
}
