//! What every request handler shares: the store, the registry of resource types and the
//! compiled validators of custom resources.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use crate::admission::{AdmissionError, SchemaValidator};
use crate::error::{ApiError, Cause};
use crate::resource::{Registry, ResourceType};
use crate::store::{ObjectKey, Store};

/// Shared state of the server.
#[derive(Debug)]
pub struct ApiState {
    /// Durable objects and events.
    pub store: Store,
    /// Served resource types.
    pub registry: Registry,
    /// Validators of custom resources, by `apiVersion` and `kind`.
    validators: RwLock<HashMap<(String, String), Arc<SchemaValidator>>>,
    /// The address clients use (for `/api`'s `serverAddressByClientCIDRs`).
    pub server_address: String,
}

impl ApiState {
    /// State over `store`, with the CRDs stored there registered again.
    pub async fn new(store: Store, server_address: String) -> Result<Arc<Self>, ApiError> {
        let state = Arc::new(Self {
            store,
            registry: Registry::new(),
            validators: RwLock::default(),
            server_address,
        });
        let crds = state
            .store
            .all_of("apiextensions.k8s.io/customresourcedefinitions")
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        for crd in crds {
            let name = crd
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Err(error) = state.register_crd(&crd) {
                tracing::warn!(crd = %name, error = %error.message, "stored CRD could not be served again");
            }
        }
        Ok(state)
    }

    /// The store key of an object of `resource`.
    pub fn key(resource: &ResourceType, namespace: Option<&str>, name: &str) -> ObjectKey {
        ObjectKey {
            resource: resource_id(resource),
            namespace: if resource.namespaced {
                namespace.unwrap_or_default().to_owned()
            } else {
                String::new()
            },
            name: name.to_owned(),
        }
    }

    /// The type served for a store key's resource (`group/plural`), in any version.
    pub fn type_of_key(&self, key: &ObjectKey) -> Option<Arc<ResourceType>> {
        self.registry.find(|t| resource_id(t) == key.resource)
    }

    /// The validator of a custom resource type, if it has a schema.
    pub fn validator(&self, resource: &ResourceType) -> Option<Arc<SchemaValidator>> {
        let validators = self
            .validators
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        validators
            .get(&(resource.api_version(), resource.kind.clone()))
            .cloned()
    }

    /// Serves the versions of a CRD, compiling their validators. Refused CRDs are `422`s.
    pub fn register_crd(&self, object: &Value) -> Result<(), ApiError> {
        let crd: CustomResourceDefinition =
            serde_json::from_value(object.clone()).map_err(|e| {
                ApiError::bad_request(format!("not a valid CustomResourceDefinition: {e}"))
            })?;
        let name = crd.metadata.name.clone().unwrap_or_default();
        let crd_type =
            self.registry
                .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions");
        let refuse = |causes: Vec<Cause>| match &crd_type {
            Some(crd_type) => ApiError::invalid(crd_type, &name, causes),
            None => ApiError::bad_request(
                causes
                    .iter()
                    .map(|c| format!("{}: {}", c.field, c.message))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        };
        let invalid = |message: String| refuse(vec![Cause::invalid("spec", message)]);
        let types = crate::resource::custom_types(&crd).map_err(|e| invalid(e.to_string()))?;
        let mut compiled = Vec::new();
        for resource in &types {
            if let Some(schema) = &resource.schema {
                let validator = SchemaValidator::new(schema).map_err(|error| match error {
                    AdmissionError::Cel { errors } => {
                        let at = schema_path(&crd, &resource.version);
                        refuse(
                            errors
                                .iter()
                                .map(|e| Cause::invalid(e.field_path(&at), e.message()))
                                .collect(),
                        )
                    }
                    other => invalid(other.to_string()),
                })?;
                compiled.push((
                    (resource.api_version(), resource.kind.clone()),
                    Arc::new(validator),
                ));
            }
        }
        self.registry
            .register(&crd)
            .map_err(|e| invalid(e.to_string()))?;
        let mut validators = self
            .validators
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        validators.extend(compiled);
        Ok(())
    }

    /// Stops serving a CRD's types.
    pub fn unregister_crd(&self, name: &str) {
        let types: Vec<Arc<ResourceType>> = self
            .registry
            .all()
            .into_iter()
            .filter(|t| t.crd.as_deref() == Some(name))
            .collect();
        self.registry.unregister(name);
        let mut validators = self
            .validators
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for resource in types {
            validators.remove(&(resource.api_version(), resource.kind.clone()));
        }
    }
}

/// Where kube-apiserver reports errors in the schema of `version`: at
/// `spec.validation.openAPIV3Schema` when every version has the same schema (its internal form
/// keeps one schema then), else at `spec.versions[i].schema.openAPIV3Schema`.
fn schema_path(crd: &CustomResourceDefinition, version: &str) -> String {
    let versions = &crd.spec.versions;
    let mut schemas = versions.iter().map(|v| {
        v.schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
    });
    let first = schemas.next();
    let shared = schemas.all(|schema| Some(schema) == first);
    match versions.iter().position(|v| v.name == version) {
        Some(index) if !shared => format!("spec.versions[{index}].schema.openAPIV3Schema"),
        _ => "spec.validation.openAPIV3Schema".to_owned(),
    }
}

/// `group/plural`: the store's name of a resource, the same in every version.
pub fn resource_id(resource: &ResourceType) -> String {
    format!("{}/{}", resource.group, resource.plural)
}
