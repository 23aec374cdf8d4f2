//! `SystemMigration`: one legacy information system moving onto the government cloud.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::step::{MigrationStep, StepConfirmation};
use crate::common::{
    Approval, Classification, DNS_LABEL, ResourceAmounts, ResourceList, Sensitivity,
    resource_list_schema,
};

/// A legacy information system of a department or county that must move onto the government
/// cloud (信息系统迁移上云). Classified systems are rejected and never scheduled. The system is
/// assessed against its tenant's free quota, approved by operations, placed in a wave by its
/// campaign, and migrated by running its steps in order.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "SystemMigration",
    namespaced,
    status = "SystemMigrationStatus",
    shortname = "sysm",
    category = "govcloud",
    doc = "One legacy information system migrating onto the municipal government cloud.",
    printcolumn(name = "Display Name", type_ = "string", json_path = ".spec.displayName", priority = 1),
    printcolumn(name = "Class", type_ = "string", json_path = ".spec.classification"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Wave", type_ = "integer", json_path = ".status.wave"),
    printcolumn(name = "Step", type_ = "string", json_path = ".status.currentStep"),
    printcolumn(name = "CPU", type_ = "string", json_path = ".spec.resources.cpu", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    // `namespace` is a reserved word of CEL: rules reach the property as `__namespace__`
    // (`d.namespace` does not compile on kube-apiserver). Rules see `self.metadata.name` but not
    // `self.metadata.namespace`, so a dependency naming its own namespace explicitly is refused
    // by the controller (`SystemInput::from_spec`), not here.
    validation = Rule::new("!has(self.spec.dependsOn) || !self.spec.dependsOn.exists(d, d.name == self.metadata.name && !has(d.__namespace__))").message("a system cannot depend on itself").field_path(".spec.dependsOn"),
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.classification == 'Unclassified' || !has(self.sensitivity)").message("sensitivity applies to unclassified systems only").field_path(".sensitivity"))]
pub struct SystemMigrationSpec {
    /// Name shown to people, usually the Chinese name (e.g. `公共资源交易平台`).
    #[schemars(length(min = 1, max = 128))]
    pub display_name: String,
    /// `Classified` (涉密) systems never move onto the cloud.
    pub classification: Classification,
    /// Sensitivity of an unclassified system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Sensitivity>,
    /// Where the system runs today.
    pub source: SourceSystem,
    /// Cloud resources the system needs once migrated; reserved from the tenant's quota when
    /// the system is scheduled.
    #[x_kube(validation = Rule::new("has(self.cpu) && has(self.memory)").message("a system must state the cpu and memory it needs"))]
    pub resources: ResourceAmounts,
    /// Systems that must be migrated first (in any tenant's namespace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub depends_on: Vec<SystemReference>,
    /// The runbook, in order.
    #[schemars(length(min = 1, max = 50))]
    #[x_kube(
        merge_strategy = ListMerge::Map(vec!["name".into()]),
        validation = Rule::new("self.filter(s, has(s.pointOfNoReturn) && s.pointOfNoReturn).size() <= 1").message("at most one step can be the point of no return")
    )]
    pub steps: Vec<MigrationStep>,
    /// Confirmations of manual steps, added by `govctl migration confirm` or kubectl.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub confirmations: Vec<StepConfirmation>,
    /// The decision of operations to let the system be scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Earliest date the system may be migrated (e.g. after a busy season).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<crate::common::IsoDate>,
}

/// Where a legacy system runs before migration.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SourceSystem {
    /// The machine room or data centre hosting it today.
    #[schemars(length(min = 1, max = 128))]
    pub site: String,
    /// How it is hosted.
    pub platform: SourcePlatform,
    /// Number of servers or virtual machines.
    #[schemars(range(min = 1, max = 10_000))]
    pub hosts: u32,
    /// Vendor or maintainer responsible for the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub maintainer: Option<String>,
}

/// How a legacy system is hosted: `PhysicalServer`, `VirtualMachine`, `Container` or `Other`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum SourcePlatform {
    PhysicalServer,
    VirtualMachine,
    Container,
    Other,
}

/// A reference to another `SystemMigration`; the namespace defaults to this one's.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct SystemReference {
    /// Name of the system.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub name: String,
    /// Namespace of the system, when it belongs to another tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub namespace: Option<String>,
}

/// Phase of a system's migration.
///
/// `Pending → Assessed → Approved → Scheduled → Migrating → Verifying → Completed`; or
/// `Rejected` (classified, or refused by operations); or `Failed → RollingBack → RolledBack`.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    Deserialize,
    Serialize,
    JsonSchema,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
)]
pub enum MigrationPhase {
    #[default]
    Pending,
    Assessed,
    Approved,
    Scheduled,
    Migrating,
    Verifying,
    Completed,
    Rejected,
    Failed,
    RollingBack,
    RolledBack,
}

/// Phase of one step.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum StepPhase {
    #[default]
    Pending,
    Running,
    WaitingForConfirmation,
    Succeeded,
    Failed,
    RollingBack,
    RolledBack,
    RollbackFailed,
}

/// Progress of one step; written before and after the step runs, so that a restarted controller
/// neither repeats a finished step nor skips an unfinished one.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StepStatus {
    /// The step.
    pub name: String,
    /// Where it stands.
    #[serde(default)]
    pub phase: StepPhase,
    /// When it last started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it finished (succeeded, failed or rolled back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// How many times it was started.
    #[serde(default)]
    pub attempts: u32,
    /// The last thing worth telling about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The Job created for it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// For a `Webhook` step with a `statusUrl`: when the tool accepted the call (the status URL
    /// is polled from then on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<Time>,
    /// When the next call or poll of a `Webhook` step is due (after a retryable failure, or
    /// between polls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Time>,
}

/// What the controller knows of a system's migration.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SystemMigrationStatus {
    /// The phase.
    #[serde(default)]
    pub phase: MigrationPhase,
    /// Why the system is in this phase, for `Rejected`, `Failed` and blocked systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The campaign that schedules the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The wave the campaign placed the system in (1 is first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<u32>,
    /// Start of the maintenance window the system is scheduled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start: Option<Time>,
    /// Close of that maintenance window: a system not started by then waits for its campaign
    /// to place it in a later window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<Time>,
    /// Resources reserved from the tenant's quota for this system.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    #[schemars(schema_with = "resource_list_schema")]
    pub reserved: ResourceList,
    /// The step running or waiting now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<String>,
    /// Whether the point of no return has been passed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub point_of_no_return_passed: bool,
    /// Progress per step, in runbook order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub steps: Vec<StepStatus>,
    /// What keeps the system from progressing (missing dependency, quota, cycle, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<String>,
    /// `Assessed`, `QuotaExceeded`, `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
