//! The steps of a system's migration (`Job`, `Webhook`, `Manual`) and their rollbacks.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{DNS_LABEL, HttpsUrl, JobTemplate};

/// One step of a migration runbook, run in order. A step may carry a rollback; if a step fails
/// before the point of no return, the rollbacks of the completed steps run in reverse order.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStep {
    /// Step name, unique within the system.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub name: String,
    /// What the step does.
    pub run: StepAction,
    /// How to undo the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<StepAction>,
    /// Once this step has succeeded, failures no longer roll back: the system goes to `Failed`
    /// and waits for operations. At most one step per system is the point of no return.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub point_of_no_return: bool,
}

/// What a step does: exactly one of `job`, `webhook` or `manual`, matching `type`.
#[derive(Clone, Debug, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.type == 'Job' ? (has(self.job) && !has(self.webhook) && !has(self.manual)) : true").message("a Job step needs `job` and nothing else"),
    validation = Rule::new("self.type == 'Webhook' ? (has(self.webhook) && !has(self.job) && !has(self.manual)) : true").message("a Webhook step needs `webhook` and nothing else"),
    validation = Rule::new("self.type == 'Manual' ? (has(self.manual) && !has(self.job) && !has(self.webhook)) : true").message("a Manual step needs `manual` and nothing else")
)]
pub struct StepAction {
    /// `Job`, `Webhook` or `Manual`.
    #[serde(rename = "type")]
    pub kind: StepKind,
    /// A Job in the tenant's namespace; success or failure is read from its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobTemplate>,
    /// An HTTPS call to a migration tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookAction>,
    /// A pause until someone confirms through `govctl migration confirm` or kubectl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<ManualAction>,
}

/// Kind of a step: `Job` (a Kubernetes Job), `Webhook` (an HTTPS call) or `Manual` (a
/// confirmation by a person).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum StepKind {
    Job,
    Webhook,
    Manual,
}

/// An HTTPS call to a migration tool, optionally followed by polling a status URL.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAction {
    /// The URL to call; the body is the step and the system as JSON.
    pub url: HttpsUrl,
    /// HTTP method.
    #[serde(default)]
    pub method: WebhookMethod,
    /// Timeout of each call, in seconds.
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 300))]
    pub timeout_seconds: u32,
    /// Retries after a failed call (connection error or 5xx), with exponential backoff.
    #[serde(default = "default_retries")]
    #[schemars(range(min = 0, max = 10))]
    pub retries: u32,
    /// A URL to poll until it reports the operation succeeded or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_url: Option<HttpsUrl>,
    /// Seconds between polls of `statusUrl`.
    #[serde(default = "default_poll_seconds")]
    #[schemars(range(min = 5, max = 3600))]
    pub poll_interval_seconds: u32,
    /// A `Secret` in the same namespace holding `token` (sent as a bearer token) and optionally
    /// `ca.crt` (to trust the tool's certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub credentials_secret: Option<String>,
}

fn default_timeout_seconds() -> u32 {
    30
}

fn default_retries() -> u32 {
    3
}

fn default_poll_seconds() -> u32 {
    30
}

/// HTTP method of a webhook step: `POST` or `PUT`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "UPPERCASE")]
pub enum WebhookMethod {
    #[default]
    Post,
    Put,
}

/// A step done by people, confirmed when done.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ManualAction {
    /// What to do, shown by `govctl migration show`.
    #[schemars(length(min = 1, max = 4000))]
    pub instructions: String,
}

/// A person's confirmation that a manual step (or its rollback) is done.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StepConfirmation {
    /// The step confirmed.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub step: String,
    /// Who confirmed it.
    #[schemars(length(min = 1, max = 253))]
    pub confirmed_by: String,
    /// Whether the confirmation is for the step's rollback rather than the step itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback: bool,
}
