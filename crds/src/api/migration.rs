//! Systems migrating onto the cloud (`SystemMigration`) as the API shows them to their tenant:
//! a summary for lists, the full view with steps, blockers and manual instructions, and the
//! bodies of an operations decision and of a step confirmation.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use super::schemas::{
    ClassificationSchema, MigrationPhaseSchema, SensitivitySchema, SourcePlatformSchema,
    StepKindSchema, StepPhaseSchema,
};
use crate::common::{Approval, Classification, Decision, ResourceAmounts, Sensitivity};
use crate::migration::step::StepKind;
use crate::migration::system::{MigrationPhase, SourcePlatform, StepPhase};

/// One system, as lists show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MigrationSummary {
    /// Namespace (one of its tenant's).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The tenant owning the namespace, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Name shown to people.
    pub display_name: String,
    /// `Unclassified` or `Classified` (classified systems never migrate).
    #[cfg_attr(feature = "openapi", schema(value_type = ClassificationSchema))]
    pub classification: Classification,
    /// Where the migration stands (`Pending` until the controller has assessed it).
    #[cfg_attr(feature = "openapi", schema(value_type = MigrationPhaseSchema))]
    pub phase: MigrationPhase,
    /// Why, for `Rejected`, `Failed` and blocked systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The operations decision, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The campaign scheduling the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Its wave in the campaign (1 is first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<u32>,
    /// Start of the maintenance window it is scheduled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start: Option<DateTime<Utc>>,
    /// End of that window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<DateTime<Utc>>,
    /// The step running or waiting now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<String>,
}

/// Where a system runs before it migrates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SourceView {
    /// Machine room or data centre.
    pub site: String,
    /// `PhysicalServer`, `VirtualMachine`, `Container` or `Other`.
    #[cfg_attr(feature = "openapi", schema(value_type = SourcePlatformSchema))]
    pub platform: SourcePlatform,
    /// Servers or virtual machines.
    pub hosts: u32,
    /// Vendor or maintainer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintainer: Option<String>,
}

/// One step of the runbook and its progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    /// Step name.
    pub name: String,
    /// `Job`, `Webhook` or `Manual`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = StepKindSchema))]
    pub kind: StepKind,
    /// Kind of its rollback, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<StepKindSchema>))]
    pub rollback: Option<StepKind>,
    /// Whether failures after this step no longer roll back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub point_of_no_return: bool,
    /// What to do, for a `Manual` step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// What to do to undo it, for a `Manual` rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_instructions: Option<String>,
    /// Where it stands.
    #[cfg_attr(feature = "openapi", schema(value_type = StepPhaseSchema))]
    pub phase: StepPhase,
    /// When it last started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// How many times it was started.
    pub attempts: u32,
    /// The last thing worth telling about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The Job created for it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
}

/// A confirmation of a manual step (or of its rollback).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationView {
    /// The step.
    pub step: String,
    /// Who confirmed it.
    pub confirmed_by: String,
    /// Whether it confirms the step's rollback.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback: bool,
}

/// A condition of a system or campaign (`metav1.Condition`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConditionView {
    /// `OnTrack`, `Ready`, ….
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Why, in one word.
    pub reason: String,
    /// Why, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<DateTime<Utc>>,
}

/// One system in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MigrationView {
    /// What lists show.
    #[serde(flatten)]
    pub summary: MigrationSummary,
    /// Sensitivity of an unclassified system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<SensitivitySchema>))]
    pub sensitivity: Option<Sensitivity>,
    /// Where it runs today.
    pub source: SourceView,
    /// What it needs on the cloud.
    pub resources: ResourceAmounts,
    /// Systems that migrate first, as `namespace/name`.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Earliest date it may migrate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// The operations decision in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Resources reserved from the tenant's quota, as quantities by resource name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reserved: BTreeMap<String, String>,
    /// Whether the point of no return has been passed.
    #[serde(default)]
    pub point_of_no_return_passed: bool,
    /// The runbook and its progress, in order.
    #[serde(default)]
    pub steps: Vec<StepView>,
    /// Confirmations of manual steps so far.
    #[serde(default)]
    pub confirmations: Vec<ConfirmationView>,
    /// What keeps the system from progressing.
    #[serde(default)]
    pub blockers: Vec<String>,
    /// Its conditions.
    #[serde(default)]
    pub conditions: Vec<ConditionView>,
    /// When it was submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

/// An operations decision on a system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MigrationDecision {
    /// `Approved` or `Denied`.
    pub decision: Decision,
    /// Why; shown to the department and kept in the audit log.
    pub reason: String,
}

/// A confirmation that a manual step (or its rollback) is done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewConfirmation {
    /// The step, waiting for confirmation.
    pub step: String,
    /// Whether the step's rollback (rather than the step) is done.
    #[serde(default)]
    pub rollback: bool,
}
