//! A small, typed template of a Kubernetes `Job`, used by migration steps and drill checks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One environment variable of a job's container.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    /// Variable name.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"), length(max = 128))]
    pub name: String,
    /// Variable value (never a secret: reference secrets through `secretEnvFrom`).
    #[schemars(length(max = 4096))]
    pub value: String,
}

/// What a `Job` created by the controller runs: one container in the tenant's namespace.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct JobTemplate {
    /// Container image, e.g. `registry.example.org/migration/rsync:3.2`.
    #[schemars(length(min = 1, max = 512))]
    pub image: String,
    /// Entrypoint; the image's own when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub command: Vec<String>,
    /// Arguments to the entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub args: Vec<String>,
    /// Plain environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub env: Vec<EnvVar>,
    /// Name of a `Secret` in the same namespace whose keys become environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = super::DNS_LABEL), length(max = 63))]
    pub secret_env_from: Option<String>,
    /// Retries of the pod before the job counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub backoff_limit: Option<i32>,
    /// Longest the job may run, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 604_800))]
    pub active_deadline_seconds: Option<i64>,
}
