//! Applies a directory of manifests to the API server like `kubectl apply --server-side -f DIR`:
//! files in name order, each document server-side applied under one field manager.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::{Path, PathBuf};

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::pinned_kind;

use crate::manifests::{Document, ManifestError, read_documents, yaml_files};

/// Errors of applying a seed directory; each names the file and line of the document.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A file could not be read or parsed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A document has no usable `apiVersion`/`kind`.
    #[error("failed to apply {document}: apiVersion and kind are required")]
    NoType { document: String },
    /// The server does not serve the document's kind.
    #[error("failed to apply {document}: the server does not serve {gvk}")]
    UnknownKind {
        document: String,
        gvk: String,
        source: kube::Error,
    },
    /// The document is not an object the client can send.
    #[error("failed to apply {document}: {reason}")]
    Malformed { document: String, reason: String },
    /// The server refused the document.
    #[error("failed to apply {document}")]
    Refused {
        document: String,
        source: kube::Error,
    },
}

/// What a seed directory held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// The files applied, in order.
    pub files: Vec<PathBuf>,
    /// Objects applied, by kind.
    pub objects_by_kind: BTreeMap<String, u64>,
}

impl SeedReport {
    /// Objects applied in all.
    pub fn total(&self) -> u64 {
        self.objects_by_kind.values().sum()
    }
}

fn group_version_kind(document: &Document) -> Result<GroupVersionKind, SeedError> {
    let (api_version, kind) = document.type_meta();
    if api_version.is_empty() || kind.is_empty() {
        return Err(SeedError::NoType {
            document: document.to_string(),
        });
    }
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Ok(GroupVersionKind::gvk(group, version, kind))
}

/// Applies every manifest under `dir`.
pub async fn apply_seed(
    client: &Client,
    dir: &Path,
    field_manager: &str,
) -> Result<SeedReport, SeedError> {
    let params = PatchParams::apply(field_manager).force();
    let mut report = SeedReport::default();
    let mut resources = BTreeMap::new();
    for file in yaml_files(dir)? {
        for document in read_documents(&file)? {
            let gvk = group_version_kind(&document)?;
            let key = (gvk.group.clone(), gvk.version.clone(), gvk.kind.clone());
            let resource = match resources.entry(key) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(unknown) => {
                    let found = pinned_kind(client, &gvk).await.map_err(|source| {
                        SeedError::UnknownKind {
                            document: document.to_string(),
                            gvk: format!("{}/{} {}", gvk.group, gvk.version, gvk.kind),
                            source,
                        }
                    })?;
                    unknown.insert(found)
                }
            };
            let (api_resource, capabilities) = resource;
            let object: DynamicObject =
                serde_json::from_value(document.value.clone()).map_err(|e| {
                    SeedError::Malformed {
                        document: document.to_string(),
                        reason: e.to_string(),
                    }
                })?;
            let api: Api<DynamicObject> =
                match (&capabilities.scope, object.metadata.namespace.as_deref()) {
                    (kube::discovery::Scope::Namespaced, Some(namespace)) => {
                        Api::namespaced_with(client.clone(), namespace, api_resource)
                    }
                    (kube::discovery::Scope::Namespaced, None) => {
                        Api::default_namespaced_with(client.clone(), api_resource)
                    }
                    (kube::discovery::Scope::Cluster, _) => {
                        Api::all_with(client.clone(), api_resource)
                    }
                };
            api.patch(document.name(), &params, &Patch::Apply(&object))
                .await
                .map_err(|source| SeedError::Refused {
                    document: document.to_string(),
                    source,
                })?;
            *report.objects_by_kind.entry(gvk.kind).or_default() += 1;
        }
        report.files.push(file);
    }
    Ok(report)
}
