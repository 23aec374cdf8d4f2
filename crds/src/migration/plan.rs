//! `MigrationPlan`: the campaign that moves every unclassified system onto the cloud by a deadline.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{CronSchedule, DNS_LABEL, Duration, IsoDate};

/// The migration campaign (迁移上云): selects systems, orders them into waves from their
/// dependency graph, fits the waves into maintenance windows, and projects the completion date
/// against the deadline.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "MigrationPlan",
    status = "MigrationPlanStatus",
    shortname = "mplan",
    category = "govcloud",
    doc = "A migration campaign: waves, maintenance windows and a deadline.",
    printcolumn(name = "Deadline", type_ = "string", json_path = ".spec.deadline"),
    printcolumn(
        name = "Projected",
        type_ = "string",
        json_path = ".status.projectedCompletion"
    ),
    printcolumn(
        name = "Systems",
        type_ = "integer",
        json_path = ".status.totalSystems"
    ),
    printcolumn(
        name = "Completed",
        type_ = "integer",
        json_path = ".status.completedSystems"
    ),
    printcolumn(
        name = "Waves",
        type_ = "integer",
        json_path = ".status.waveCount",
        priority = 1
    ),
    printcolumn(
        name = "On Track",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"OnTrack\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.start) || self.start < self.deadline").message("start must be before the deadline").field_path(".start"))]
pub struct MigrationPlanSpec {
    /// Name shown to people.
    #[schemars(length(min = 1, max = 128))]
    pub display_name: String,
    /// Which systems belong to the campaign, by label; all systems when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_selector: Option<LabelSelector>,
    /// Date by which every selected system must be migrated (the plan says end of 2025).
    pub deadline: IsoDate,
    /// First day systems may be migrated; today when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<IsoDate>,
    /// IANA time zone of the windows and dates.
    #[serde(default = "default_time_zone")]
    #[schemars(regex(pattern = r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$"), length(max = 64))]
    pub time_zone: String,
    /// Recurring maintenance windows in which systems are migrated.
    #[schemars(length(min = 1, max = 16))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub maintenance_windows: Vec<MaintenanceWindow>,
    /// Periods in which nothing is migrated (holidays, major events).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub freezes: Vec<Freeze>,
}

fn default_time_zone() -> String {
    "Asia/Shanghai".to_owned()
}

/// A recurring maintenance window.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceWindow {
    /// Window name, unique in the plan.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub name: String,
    /// When the window opens, e.g. `0 22 * * 5` (Fridays at 22:00).
    pub schedule: CronSchedule,
    /// How long it stays open, e.g. `8h`.
    pub duration: Duration,
    /// How many systems may migrate in one occurrence of the window.
    #[schemars(range(min = 1, max = 1000))]
    pub concurrency: u32,
}

/// A period without migrations.
#[derive(Clone, Debug, Deserialize, Serialize, KubeSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.from <= self.to").message("a freeze must not end before it starts"))]
pub struct Freeze {
    /// First day of the freeze.
    pub from: IsoDate,
    /// Last day of the freeze (inclusive).
    pub to: IsoDate,
    /// Why, e.g. `春节`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub reason: Option<String>,
}

/// One wave of the campaign: systems whose dependencies are all in earlier waves.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WaveSummary {
    /// Wave number, from 1.
    pub number: u32,
    /// Systems in the wave.
    pub systems: u32,
    /// Systems of the wave already migrated.
    pub completed: u32,
    /// Opening of the first window the wave uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_window: Option<Time>,
    /// Closing of the last window the wave uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_window_end: Option<Time>,
}

/// Counts of one tenant's systems in the campaign.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TenantProgress {
    /// The tenant.
    pub tenant: String,
    /// Its systems in the campaign.
    pub total: u32,
    /// Of which completed.
    pub completed: u32,
    /// Of which blocked.
    pub blocked: u32,
}

/// Why systems cannot be scheduled.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum BlockerReason {
    /// Systems on a dependency cycle.
    DependencyCycle,
    /// A dependency names a system that does not exist.
    MissingDependency,
    /// A dependency is a classified system, which never migrates.
    ClassifiedDependency,
    /// The tenant's free quota cannot hold the system.
    QuotaExceeded,
    /// Operations have not approved the system.
    AwaitingApproval,
    /// The system's migration failed or was rolled back and waits for operations.
    AwaitingOperations,
    /// The windows before the deadline cannot hold all systems.
    NoWindowBeforeDeadline,
}

/// Systems blocked for one reason.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    /// The reason.
    pub reason: BlockerReason,
    /// How many systems it blocks.
    pub count: u32,
    /// Up to ten of them, as `namespace/name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub examples: Vec<String>,
}

/// What the campaign looks like now.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MigrationPlanStatus {
    /// Systems selected.
    #[serde(default)]
    pub total_systems: u32,
    /// Systems migrated.
    #[serde(default)]
    pub completed_systems: u32,
    /// Systems by phase.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub systems_by_phase: BTreeMap<String, u32>,
    /// Counts per tenant (other tenants see only counts, never names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["tenant".into()]))]
    pub tenants: Vec<TenantProgress>,
    /// Number of waves.
    #[serde(default)]
    pub wave_count: u32,
    /// The waves, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waves: Vec<WaveSummary>,
    /// Blocked systems by reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["reason".into()]))]
    pub blockers: Vec<Blocker>,
    /// Projected date on which the last system completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected_completion: Option<IsoDate>,
    /// Days between the projection and the deadline; negative when early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected_days_late: Option<i64>,
    /// `OnTrack`, `Blocked`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
