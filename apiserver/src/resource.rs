//! The resource types the server serves: built-in kinds and those registered by CRDs, and the
//! registry that finds them by group, version and plural, kind or short name.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

/// A printer column, as a CRD's `additionalPrinterColumns` declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// OpenAPI type of the cells: `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    /// OpenAPI format, if any.
    pub format: Option<String>,
    /// What the column shows.
    pub description: Option<String>,
    /// 0 for the default view, higher for `-o wide`.
    pub priority: i32,
    /// JSONPath of the value, relative to the object (`.spec.tier`).
    pub json_path: String,
}

/// One served resource (one version of one kind).
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: String,
    /// Version, e.g. `v1alpha1`.
    pub version: String,
    /// Kind, e.g. `Tenant`.
    pub kind: String,
    /// Lower-case plural used in paths, e.g. `tenants`.
    pub plural: String,
    /// Lower-case singular, e.g. `tenant`.
    pub singular: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names, e.g. `tn`.
    pub short_names: Vec<String>,
    /// Categories, e.g. `govcloud` (for `kubectl get govcloud`).
    pub categories: Vec<String>,
    /// Whether `status` is a subresource (written separately from the rest).
    pub status_subresource: bool,
    /// Printer columns beyond NAME and AGE.
    pub printer_columns: Vec<PrinterColumn>,
    /// The OpenAPI v3 schema of the objects (custom resources only).
    pub schema: Option<Value>,
    /// Name of the CRD that registered this type (custom resources only).
    pub crd: Option<String>,
}

impl ResourceType {
    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `<Kind>List`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The verbs served for this resource.
    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }

    /// Whether this is the CustomResourceDefinition resource itself.
    pub fn is_crd(&self) -> bool {
        self.group == "apiextensions.k8s.io" && self.plural == "customresourcedefinitions"
    }

    /// Whether this is the Namespace resource.
    pub fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.plural == "namespaces"
    }
}

/// What a CRD declares that the server cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The CRD has no served version with a schema.
    #[error("failed to register CRD {name}: {reason}")]
    InvalidCrd { name: String, reason: String },
}

/// Every resource type served: the built-ins and the registered CRDs' versions.
#[derive(Debug, Default)]
pub struct Registry {
    builtins: Vec<Arc<ResourceType>>,
    custom: RwLock<BTreeMap<String, Vec<Arc<ResourceType>>>>,
}

impl Registry {
    /// A registry of the built-in kinds only.
    pub fn new() -> Self {
        Self {
            builtins: crate::builtin::types().into_iter().map(Arc::new).collect(),
            custom: RwLock::default(),
        }
    }

    /// Every type, built-ins first, then custom resources by CRD name.
    pub fn all(&self) -> Vec<Arc<ResourceType>> {
        let custom = self
            .custom
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.builtins
            .iter()
            .cloned()
            .chain(custom.values().flatten().cloned())
            .collect()
    }

    /// The type served at `/apis/{group}/{version}/{plural}` (or `/api/v1/{plural}`).
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    /// The type of objects with this `apiVersion` and `kind`.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.find(|t| t.api_version() == api_version && t.kind == kind)
    }

    /// Whether any version of `group` is served.
    pub fn serves_group_version(&self, group: &str, version: &str) -> bool {
        self.find(|t| t.group == group && t.version == version)
            .is_some()
    }

    /// The first type, built-ins first, that `wanted` accepts — without copying the registry
    /// (every request looks its resource up here).
    pub fn find(&self, wanted: impl Fn(&ResourceType) -> bool) -> Option<Arc<ResourceType>> {
        if let Some(found) = self.builtins.iter().find(|t| wanted(t)) {
            return Some(Arc::clone(found));
        }
        let custom = self
            .custom
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        custom.values().flatten().find(|t| wanted(t)).cloned()
    }

    /// Registers (or re-registers) the served versions of a CRD.
    pub fn register(
        &self,
        crd: &CustomResourceDefinition,
    ) -> Result<Vec<Arc<ResourceType>>, RegistryError> {
        let types: Vec<Arc<ResourceType>> = custom_types(crd)?.into_iter().map(Arc::new).collect();
        let name = crd.metadata.name.clone().unwrap_or_default();
        self.custom
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name, types.clone());
        Ok(types)
    }

    /// Removes a CRD's types.
    pub fn unregister(&self, crd_name: &str) {
        self.custom
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(crd_name);
    }
}

/// The resource types a CRD declares, one per served version.
pub fn custom_types(crd: &CustomResourceDefinition) -> Result<Vec<ResourceType>, RegistryError> {
    let name = crd.metadata.name.clone().unwrap_or_default();
    let invalid = |reason: &str| RegistryError::InvalidCrd {
        name: name.clone(),
        reason: reason.to_owned(),
    };
    let names = &crd.spec.names;
    let expected_name = format!("{}.{}", names.plural, crd.spec.group);
    if name != expected_name {
        return Err(invalid(&format!(
            "metadata.name must be `{expected_name}` (spec.names.plural + \".\" + spec.group)"
        )));
    }
    if !matches!(crd.spec.scope.as_str(), "Namespaced" | "Cluster") {
        return Err(invalid("spec.scope must be Namespaced or Cluster"));
    }
    let mut types = Vec::new();
    for version in crd.spec.versions.iter().filter(|v| v.served) {
        let schema = version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref());
        let schema = schema
            .ok_or_else(|| invalid(&format!("version {} has no openAPIV3Schema", version.name)))?;
        let schema = serde_json::to_value(schema).map_err(|e| invalid(&e.to_string()))?;
        let printer_columns = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| PrinterColumn {
                name: c.name.clone(),
                type_: c.type_.clone(),
                format: c.format.clone(),
                description: c.description.clone(),
                priority: c.priority.unwrap_or(0),
                json_path: c.json_path.clone(),
            })
            .collect();
        types.push(ResourceType {
            group: crd.spec.group.clone(),
            version: version.name.clone(),
            kind: names.kind.clone(),
            plural: names.plural.clone(),
            singular: names
                .singular
                .clone()
                .unwrap_or_else(|| names.kind.to_lowercase()),
            namespaced: crd.spec.scope == "Namespaced",
            short_names: names.short_names.clone().unwrap_or_default(),
            categories: names.categories.clone().unwrap_or_default(),
            status_subresource: version
                .subresources
                .as_ref()
                .is_some_and(|s| s.status.is_some()),
            printer_columns,
            schema: Some(schema),
            crd: Some(name.clone()),
        });
    }
    if types.is_empty() {
        return Err(invalid("no version is served"));
    }
    Ok(types)
}

/// A custom resource type like govcloud's `Tenant` (cluster-scoped, with a status subresource),
/// for tests.
#[cfg(test)]
pub(crate) fn tenant_fixture() -> ResourceType {
    ResourceType {
        group: "govcloud.io".into(),
        version: "v1alpha1".into(),
        kind: "Tenant".into(),
        plural: "tenants".into(),
        singular: "tenant".into(),
        namespaced: false,
        short_names: vec!["tn".into()],
        categories: vec!["govcloud".into()],
        status_subresource: true,
        printer_columns: vec![],
        schema: None,
        crd: Some("tenants.govcloud.io".into()),
    }
}
