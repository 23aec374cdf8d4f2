//! `DisasterRecoveryPlan`: RPO/RTO objectives and backups of a tenant's namespace to the DR site.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{CronSchedule, DNS_LABEL, Duration};

/// Recovery objectives of a tenant's systems and the backups that meet them (灾备). Where
/// Velero is installed the controller drives it (`Schedule`, `Backup` and `Restore` of
/// `velero.io/v1`); RPO compliance is judged from the last successful backup, and RTO from the
/// last drill. Without a backup provider the plan says so in its conditions.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "DisasterRecoveryPlan",
    namespaced,
    status = "DisasterRecoveryPlanStatus",
    shortname = "drplan",
    category = "govcloud",
    doc = "Recovery objectives and backups of a tenant's namespace to the disaster-recovery site.",
    printcolumn(name = "RPO", type_ = "string", json_path = ".spec.rpo"),
    printcolumn(name = "RTO", type_ = "string", json_path = ".spec.rto"),
    printcolumn(
        name = "Last Backup",
        type_ = "date",
        json_path = ".status.lastSuccessfulBackup.completedAt"
    ),
    printcolumn(
        name = "RPO Met",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"RpoMet\")].status"
    ),
    printcolumn(
        name = "RTO Met",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"RtoMet\")].status",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct DisasterRecoveryPlanSpec {
    /// Recovery point objective: the most data, in time, that may be lost (e.g. `4h`).
    pub rpo: Duration,
    /// Recovery time objective: the longest a restore may take (e.g. `8h`).
    pub rto: Duration,
    /// The disaster-recovery site holding the backups (e.g. `ankang-dr`).
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub dr_site: String,
    /// What is backed up and how often.
    pub backup: BackupPolicy,
    /// How often a drill must prove the RTO, e.g. `2160h` (90 days).
    #[serde(default = "default_drill_interval")]
    pub drill_interval: Duration,
}

fn default_drill_interval() -> Duration {
    Duration::from("2160h")
}

/// Backups of the plan.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicy {
    /// When backups run, e.g. `0 */4 * * *`; should fire at least once per RPO.
    pub schedule: CronSchedule,
    /// How long backups are kept, e.g. `720h`.
    #[serde(default = "default_retention")]
    pub retention: Duration,
    /// Namespaces backed up; the plan's own namespace when empty (only the tenant's own
    /// namespaces are accepted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(regex(pattern = DNS_LABEL)))]
    pub namespaces: Vec<String>,
    /// The backup storage location at the DR site (a Velero `BackupStorageLocation`).
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub storage_location: String,
    /// Whether volume data is backed up as well as objects.
    #[serde(default = "default_true")]
    pub include_volumes: bool,
}

fn default_retention() -> Duration {
    Duration::from("720h")
}

fn default_true() -> bool {
    true
}

/// A backup as the provider reports it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BackupRecord {
    /// The provider's name for the backup.
    pub name: String,
    /// When it completed.
    pub completed_at: Time,
}

/// The last drill, as far as the plan is concerned.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DrillRecord {
    /// The `DisasterRecoveryDrill`.
    pub name: String,
    /// When it finished.
    pub finished_at: Time,
    /// Measured recovery time, e.g. `1h12m`.
    pub measured_rto: Duration,
    /// Whether the drill passed its checks within the RTO.
    pub passed: bool,
}

/// Which backup provider the controller found.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum BackupProvider {
    Velero,
    #[default]
    None,
}

/// Compliance of a plan.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DisasterRecoveryPlanStatus {
    /// The backup provider in use.
    #[serde(default)]
    pub provider: BackupProvider,
    /// The last backup that completed successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_backup: Option<BackupRecord>,
    /// Data at risk now: time since the last successful backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_exposure: Option<Duration>,
    /// The last drill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_drill: Option<DrillRecord>,
    /// `ProviderAvailable`, `RpoMet`, `RtoMet`, `DrillCurrent`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
