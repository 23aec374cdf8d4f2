//! `DisasterRecoveryDrill`: one drill — restore into an isolated namespace, verify, measure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{DNS_LABEL, Duration, HTTP_URL, JobTemplate};

/// One disaster-recovery drill: the controller restores the plan's latest (or a named) backup
/// into an isolated namespace, runs the checks, measures the recovery time against the plan's
/// RTO, keeps the evidence in its database, and removes the drill namespace afterwards.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "DisasterRecoveryDrill",
    namespaced,
    status = "DisasterRecoveryDrillStatus",
    shortname = "drdrill",
    category = "govcloud",
    doc = "A disaster-recovery drill: restore into an isolated namespace, verify and measure the RTO.",
    printcolumn(name = "Plan", type_ = "string", json_path = ".spec.plan"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Measured RTO",
        type_ = "string",
        json_path = ".status.measuredRto"
    ),
    printcolumn(
        name = "RTO Met",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"RtoMet\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self == oldSelf").message("a drill cannot be changed once started; create a new one"))]
pub struct DisasterRecoveryDrillSpec {
    /// The `DisasterRecoveryPlan` in the same namespace.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub plan: String,
    /// The backup to restore; the plan's latest successful one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub backup: Option<String>,
    /// Checks that must pass for the restore to count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub checks: Vec<DrillCheck>,
    /// Give up after this long.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Keep the drill namespace this long after the drill, for inspection.
    #[serde(default = "default_keep")]
    pub keep_namespace_for: Duration,
}

fn default_timeout() -> Duration {
    Duration::from("4h")
}

fn default_keep() -> Duration {
    Duration::from("1h")
}

/// A check run against the restored namespace: exactly one of `http` or `job`, matching `type`.
#[derive(Clone, Debug, Deserialize, Serialize, KubeSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.type == 'Http' ? (has(self.http) && !has(self.job)) : (has(self.job) && !has(self.http))").message("an Http check needs `http`, a Job check needs `job`")
)]
pub struct DrillCheck {
    /// Check name.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub name: String,
    /// `Http` or `Job`.
    #[serde(rename = "type")]
    pub kind: CheckKind,
    /// An HTTP GET inside the drill namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    /// A Job in the drill namespace that must succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobTemplate>,
}

/// Kind of a drill check: `Http` or `Job`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum CheckKind {
    Http,
    Job,
}

/// An HTTP GET expected to answer with a given status.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpCheck {
    /// URL, usually a Service in the drill namespace.
    #[schemars(regex(pattern = HTTP_URL), length(max = 2048))]
    pub url: String,
    /// Expected HTTP status.
    #[serde(default = "default_status")]
    #[schemars(range(min = 100, max = 599))]
    pub expect_status: u16,
}

fn default_status() -> u16 {
    200
}

/// Phase of a drill: `Pending → Restoring → Verifying → Succeeded | Failed → CleanedUp`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum DrillPhase {
    #[default]
    Pending,
    Restoring,
    Verifying,
    Succeeded,
    Failed,
    CleanedUp,
}

/// Result of one check.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// The check.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What it saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Progress and result of a drill.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DisasterRecoveryDrillStatus {
    /// The phase.
    #[serde(default)]
    pub phase: DrillPhase,
    /// The isolated namespace the backup is restored into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill_namespace: Option<String>,
    /// The backup restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// When the restore started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When every check had passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_at: Option<Time>,
    /// Recovery time measured, from start to all checks passing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_rto: Option<Duration>,
    /// Each check's result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
    /// Identifier of the evidence kept in the controller's database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_id: Option<i64>,
    /// `RtoMet`, `Complete`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
