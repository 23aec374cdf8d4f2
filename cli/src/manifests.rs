//! YAML read for `govctl migration submit`, pure: `SystemMigration` manifests (documents
//! separated by `---`, numbered from 1) and runbooks (a YAML list of steps for every system of an
//! inventory). Errors name the document.

use std::collections::BTreeMap;

use govcloud_crds::migration::step::{ManualAction, MigrationStep, StepAction, StepKind};
use serde::Deserialize;
use serde_json::Value;

/// `apiVersion` of a `SystemMigration`.
pub const API_VERSION: &str = "govcloud.io/v1alpha1";
/// Most steps in a runbook (the CRD's bound).
const MAX_STEPS: usize = 50;
/// Instructions of the step every system of an inventory gets without a runbook.
pub const DEFAULT_INSTRUCTIONS: &str =
    "Migrate the system as agreed with the cloud operations team, then confirm this step.";

/// Why manifests or a runbook cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// A document is not YAML.
    #[error("document {document} is not valid YAML: {reason}")]
    Yaml { document: usize, reason: String },
    /// A document is not a `SystemMigration`.
    #[error(
        "document {document} is a {found}; only {API_VERSION} SystemMigration manifests can be submitted"
    )]
    NotASystem { document: usize, found: String },
    /// A document has no `metadata.name`.
    #[error("document {document} has no metadata.name")]
    NoName { document: usize },
    /// No document holds anything.
    #[error("holds no SystemMigration manifest")]
    Empty,
    /// The runbook is not a list of steps.
    #[error("is not a list of steps: {0}")]
    Runbook(String),
}

/// One manifest and its number in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Its position in the file, from 1 (empty documents count).
    pub number: usize,
    /// The manifest, with the default namespace and the labels filled in.
    pub value: Value,
}

/// The `SystemMigration` manifests of `text`: a document without a namespace gets `namespace`;
/// `labels` are added to every one (over the manifest's own of the same key).
pub fn read_systems(
    text: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> Result<Vec<Document>, ManifestError> {
    let mut documents = Vec::new();
    for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let number = index + 1;
        let mut value = Value::deserialize(document).map_err(|error| ManifestError::Yaml {
            document: number,
            reason: error.to_string(),
        })?;
        if value.is_null() {
            continue;
        }
        let text_at = |pointer: &str| value.pointer(pointer).and_then(Value::as_str);
        if text_at("/apiVersion") != Some(API_VERSION)
            || text_at("/kind") != Some("SystemMigration")
        {
            let found = match (text_at("/apiVersion"), text_at("/kind")) {
                (Some(version), Some(kind)) => format!("{version} {kind}"),
                _ => "document without apiVersion and kind".to_owned(),
            };
            return Err(ManifestError::NotASystem {
                document: number,
                found,
            });
        }
        if text_at("/metadata/name").is_none_or(str::is_empty) {
            return Err(ManifestError::NoName { document: number });
        }
        let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
            return Err(ManifestError::NoName { document: number });
        };
        metadata
            .entry("namespace")
            .or_insert_with(|| Value::from(namespace));
        if !labels.is_empty() {
            let existing = metadata
                .entry("labels")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Some(existing) = existing.as_object_mut() {
                for (key, label) in labels {
                    existing.insert(key.clone(), Value::from(label.as_str()));
                }
            }
        }
        documents.push(Document { number, value });
    }
    if documents.is_empty() {
        return Err(ManifestError::Empty);
    }
    Ok(documents)
}

/// The steps of a runbook: a YAML list of 1 to 50 steps with distinct names.
pub fn read_runbook(text: &str) -> Result<Vec<MigrationStep>, ManifestError> {
    let steps: Vec<MigrationStep> =
        serde_norway::from_str(text).map_err(|error| ManifestError::Runbook(error.to_string()))?;
    if steps.is_empty() || steps.len() > MAX_STEPS {
        return Err(ManifestError::Runbook(format!(
            "a runbook has 1 to {MAX_STEPS} steps, this one {}",
            steps.len()
        )));
    }
    for (index, step) in steps.iter().enumerate() {
        if steps[..index]
            .iter()
            .any(|earlier| earlier.name == step.name)
        {
            return Err(ManifestError::Runbook(format!(
                "step {} is named {:?} like an earlier one; step names are unique",
                index + 1,
                step.name
            )));
        }
    }
    Ok(steps)
}

/// The runbook of an inventory's systems without `--runbook`: one Manual step `migrate`.
pub fn default_runbook() -> Vec<MigrationStep> {
    vec![MigrationStep {
        name: "migrate".to_owned(),
        run: StepAction {
            kind: StepKind::Manual,
            job: None,
            webhook: None,
            manual: Some(ManualAction {
                instructions: DEFAULT_INSTRUCTIONS.to_owned(),
            }),
        },
        rollback: None,
        point_of_no_return: false,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "\
apiVersion: govcloud.io/v1alpha1
kind: SystemMigration
metadata:
  name: payroll
spec: {displayName: x}
---
---
apiVersion: govcloud.io/v1alpha1
kind: SystemMigration
metadata:
  name: ledger
  namespace: city-services
  labels: {team: a}
spec: {displayName: y}
";

    #[test]
    fn documents_get_the_namespace_and_labels_and_keep_their_numbers() {
        let labels =
            BTreeMap::from([("govcloud.io/campaign".to_owned(), "ankang-2025".to_owned())]);
        let documents = read_systems(TWO, "city-finance", &labels).expect("two systems");
        assert_eq!(documents.len(), 2);
        assert_eq!(documents[0].number, 1);
        assert_eq!(documents[0].value["metadata"]["namespace"], "city-finance");
        assert_eq!(documents[1].number, 3);
        assert_eq!(documents[1].value["metadata"]["namespace"], "city-services");
        assert_eq!(documents[1].value["metadata"]["labels"]["team"], "a");
        assert_eq!(
            documents[1].value["metadata"]["labels"]["govcloud.io/campaign"],
            "ankang-2025"
        );
    }

    #[test]
    fn other_documents_are_refused_by_number() {
        let tenant = "apiVersion: govcloud.io/v1alpha1\nkind: SystemMigration\nmetadata: {name: a}\n---\napiVersion: govcloud.io/v1alpha1\nkind: Tenant\n";
        assert_eq!(
            read_systems(tenant, "x", &BTreeMap::new()),
            Err(ManifestError::NotASystem {
                document: 2,
                found: "govcloud.io/v1alpha1 Tenant".to_owned()
            })
        );
        assert!(matches!(
            read_systems("a: [", "x", &BTreeMap::new()),
            Err(ManifestError::Yaml { document: 1, .. })
        ));
        assert_eq!(
            read_systems("---\n", "x", &BTreeMap::new()),
            Err(ManifestError::Empty)
        );
        let unnamed = "apiVersion: govcloud.io/v1alpha1\nkind: SystemMigration\nmetadata: {}\n";
        assert_eq!(
            read_systems(unnamed, "x", &BTreeMap::new()),
            Err(ManifestError::NoName { document: 1 })
        );
    }

    #[test]
    fn runbooks_are_lists_of_distinct_steps() {
        let runbook = "\
- name: freeze
  run: {type: Manual, manual: {instructions: Stop writes.}}
- name: copy
  run: {type: Job, job: {image: registry.example.org/copy:1}}
";
        let steps = read_runbook(runbook).expect("runbook");
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].run.kind, StepKind::Job);
        assert!(read_runbook("[]").is_err());
        assert!(read_runbook("name: x").is_err());
        let twice = "- name: a\n  run: {type: Manual, manual: {instructions: x}}\n- name: a\n  run: {type: Manual, manual: {instructions: y}}\n";
        assert!(
            read_runbook(twice)
                .expect_err("twice")
                .to_string()
                .contains("unique")
        );
        assert_eq!(default_runbook()[0].name, "migrate");
    }
}
