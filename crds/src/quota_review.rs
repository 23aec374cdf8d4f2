//! `QuotaReview`: the periodic efficiency review of cloud quota (云资源效能评估).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{CronSchedule, Duration, HTTP_URL};

/// A periodic review of how tenants use their quota. On its schedule the controller reads
/// usage from Prometheus over the window, compares it with each tenant's quota and pending
/// requests, classifies each tenant and resource as `Idle`, `Underused`, `RightSized` or `Hot`,
/// and recommends a quota. Every run and the decision on each finding are kept in the
/// controller's database; the status shows the latest run.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "QuotaReview",
    status = "QuotaReviewStatus",
    shortname = "qrev",
    category = "govcloud",
    doc = "A periodic review of quota efficiency, with recommendations and decisions.",
    printcolumn(name = "Schedule", type_ = "string", json_path = ".spec.schedule"),
    printcolumn(name = "Last Run", type_ = "date", json_path = ".status.lastRunTime"),
    printcolumn(name = "Idle", type_ = "integer", json_path = ".status.lastRun.idle"),
    printcolumn(
        name = "Underused",
        type_ = "integer",
        json_path = ".status.lastRun.underused"
    ),
    printcolumn(name = "Hot", type_ = "integer", json_path = ".status.lastRun.hot"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct QuotaReviewSpec {
    /// When the review runs, e.g. `0 3 * * 1` (Mondays at 03:00).
    pub schedule: CronSchedule,
    /// How far back usage is read, e.g. `336h` (two weeks).
    #[serde(default = "default_window")]
    pub window: Duration,
    /// Which tenants are reviewed, by label; all tenants when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_selector: Option<LabelSelector>,
    /// Base URL of the Prometheus HTTP API; the controller's configured one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = HTTP_URL), length(max = 2048))]
    pub prometheus_url: Option<String>,
    /// Percentile of usage compared with quota (95 reads the 95th percentile).
    #[serde(default = "default_percentile")]
    #[schemars(range(min = 50, max = 100))]
    pub usage_percentile: u8,
    /// Where the classes begin.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Headroom kept above the observed percentile when recommending a quota, in percent.
    #[serde(default = "default_headroom")]
    #[schemars(range(min = 0, max = 200))]
    pub headroom_percent: u16,
    /// Stop scheduling runs; the history stays.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

fn default_window() -> Duration {
    Duration::from("336h")
}

fn default_percentile() -> u8 {
    95
}

fn default_headroom() -> u16 {
    30
}

/// Usage thresholds, in percent of quota: below `idleBelowPercent` is `Idle`, below
/// `underusedBelowPercent` is `Underused`, above `hotAbovePercent` is `Hot`, and anything
/// between is `RightSized`.
#[derive(Clone, Debug, Deserialize, Serialize, KubeSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.idleBelowPercent < self.underusedBelowPercent && self.underusedBelowPercent < self.hotAbovePercent").message("thresholds must rise: idleBelowPercent < underusedBelowPercent < hotAbovePercent"))]
pub struct Thresholds {
    /// Usage below this is `Idle`.
    #[schemars(range(min = 0, max = 100))]
    pub idle_below_percent: u8,
    /// Usage below this is `Underused`.
    #[schemars(range(min = 0, max = 100))]
    pub underused_below_percent: u8,
    /// Usage above this is `Hot`.
    #[schemars(range(min = 0, max = 100))]
    pub hot_above_percent: u8,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            idle_below_percent: 5,
            underused_below_percent: 40,
            hot_above_percent: 85,
        }
    }
}

/// The findings of one run, counted by class.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Identifier of the run in the controller's database (`govctl` shows its findings).
    pub run_id: i64,
    /// Tenants reviewed.
    pub tenants: u32,
    /// Findings classed `Idle`.
    pub idle: u32,
    /// Findings classed `Underused`.
    pub underused: u32,
    /// Findings classed `RightSized`.
    pub right_sized: u32,
    /// Findings classed `Hot`.
    pub hot: u32,
    /// Findings still waiting for a decision.
    pub undecided: u32,
}

/// The state of a review.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuotaReviewStatus {
    /// When the last run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_time: Option<Time>,
    /// When the next run is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_time: Option<Time>,
    /// The last run's findings by class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunSummary>,
    /// `Ready`, `PrometheusReachable`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
