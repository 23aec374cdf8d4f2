//! The three kinds of step action, observed: a `Job` (created from its template on first
//! observation, so a restart between recording the start and creating it loses nothing; its
//! outcome read from the Job's conditions), a `Webhook` (one call or status poll per
//! observation, retries and polls timed by `nextAttemptAt` in the step's status), and a
//! `Manual` step (a confirmation in `spec.confirmations`).

use crate::failure::CallFailures as _;
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use govcloud_crds::SystemMigration;
use govcloud_crds::common::JobTemplate;
use govcloud_crds::migration::step::{MigrationStep, StepKind, WebhookAction};
use govcloud_crds::migration::system::SystemMigrationStatus;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EnvFromSource, EnvVar, PodSpec, PodTemplateSpec, SeccompProfile,
    Secret, SecretEnvSource, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt as _};
use sha2::{Digest as _, Sha256};

use super::reconcile_error::Error;
use super::runtime::MigrationContext;
use super::webhook::{CallOutcome, CallRequest, Credentials, PollOutcome, retry_delay};
use govcloud_core::kube_time::{from_kube, to_kube};
use govcloud_core::migration::runbook::{Cursor, Outcome, Pass};

/// Label on a step's Job naming its system.
pub const SYSTEM_LABEL: &str = "govcloud.io/system";
/// Label on a step's Job naming its step.
pub const STEP_LABEL: &str = "govcloud.io/step";

/// What an observation found, and when to look again if the action is still in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub outcome: Outcome,
    pub retry_in: Option<Duration>,
}

impl Observation {
    fn done(outcome: Outcome) -> Self {
        Self {
            outcome,
            retry_in: None,
        }
    }

    fn in_flight(message: String, retry_in: Option<Duration>) -> Self {
        Self {
            outcome: Outcome::InFlight { message },
            retry_in,
        }
    }
}

/// `Job`, `Webhook` or `Manual`: the metric label of a step kind.
pub fn kind_label(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Job => "Job",
        StepKind::Webhook => "Webhook",
        StepKind::Manual => "Manual",
    }
}

/// The name of the Job of `cursor`, for a Job action: `<system>-<step>-<run|rollback>`, or
/// shortened with a hash of the whole when longer than a DNS label allows.
pub fn job_name_for(system: &SystemMigration, cursor: Cursor) -> Option<String> {
    let step = system.spec.steps.get(cursor.index)?;
    let action = cursor.action(&system.spec.steps)?;
    if action.kind != StepKind::Job {
        return None;
    }
    Some(job_name(&system.name_any(), &step.name, cursor.pass))
}

fn job_name(system: &str, step: &str, pass: Pass) -> String {
    let full = format!("{system}-{step}-{}", pass.as_str());
    if full.len() <= 63 {
        return full;
    }
    let digest = Sha256::digest(full.as_bytes());
    let hash = hex::encode(&digest[..5]);
    let prefix: String = full.chars().take(52).collect();
    format!("{}-{hash}", prefix.trim_end_matches('-'))
}

/// The message recorded when an action starts.
pub fn starting_message(steps: &[MigrationStep], cursor: Cursor) -> String {
    let what = match cursor.pass {
        Pass::Run => "step",
        Pass::Rollback => "rollback",
    };
    match cursor.action(steps).map(|a| a.kind) {
        Some(StepKind::Manual) => format!("{what} waits for a confirmation"),
        Some(StepKind::Job) => format!("{what} starts a Job"),
        Some(StepKind::Webhook) => format!("{what} calls its webhook"),
        None => format!("{what} has no action"),
    }
}

/// The Job running `template` for `system`, owned by it.
pub fn build_job(system: &SystemMigration, name: &str, step: &str, template: &JobTemplate) -> Job {
    let labels = BTreeMap::from([
        (SYSTEM_LABEL.to_owned(), system.name_any()),
        (STEP_LABEL.to_owned(), step.to_owned()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "govcloud".to_owned(),
        ),
    ]);
    let container = Container {
        name: "step".to_owned(),
        image: Some(template.image.clone()),
        command: (!template.command.is_empty()).then(|| template.command.clone()),
        args: (!template.args.is_empty()).then(|| template.args.clone()),
        env: (!template.env.is_empty()).then(|| {
            template
                .env
                .iter()
                .map(|e| EnvVar {
                    name: e.name.clone(),
                    value: Some(e.value.clone()),
                    value_from: None,
                })
                .collect()
        }),
        env_from: template.secret_env_from.as_ref().map(|secret| {
            vec![EnvFromSource {
                secret_ref: Some(SecretEnvSource {
                    name: secret.clone(),
                    optional: Some(false),
                }),
                ..EnvFromSource::default()
            }]
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            run_as_non_root: Some(true),
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                add: None,
            }),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                localhost_profile: None,
            }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    };
    Job {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: system.metadata.namespace.clone(),
            labels: Some(labels.clone()),
            owner_references: system.controller_owner_ref(&()).map(|o| vec![o]),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(template.backoff_limit.unwrap_or(2)),
            active_deadline_seconds: template.active_deadline_seconds,
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".to_owned()),
                    automount_service_account_token: Some(false),
                    containers: vec![container],
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// What a Job's conditions say.
pub fn job_outcome(job: &Job) -> Outcome {
    let name = job.name_any();
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map_or(&[][..], Vec::as_slice);
    let holds = |kind: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == kind && c.status == "True")
    };
    if holds("Complete").is_some() {
        Outcome::Succeeded {
            message: format!("Job {name} completed"),
        }
    } else if let Some(failed) = holds("Failed") {
        Outcome::Failed {
            message: format!(
                "Job {name} failed: {}",
                failed
                    .message
                    .as_deref()
                    .or(failed.reason.as_deref())
                    .unwrap_or("no reason given")
            ),
        }
    } else {
        Outcome::InFlight {
            message: format!("Job {name} is running"),
        }
    }
}

/// Observes the in-flight action of `cursor`; webhook bookkeeping (attempts, acceptance,
/// next attempt) is written into `status`.
pub async fn observe(
    ctx: &MigrationContext,
    system: &SystemMigration,
    status: &mut SystemMigrationStatus,
    cursor: Cursor,
    now: DateTime<Utc>,
) -> Result<Observation, Error> {
    let Some(step) = system.spec.steps.get(cursor.index) else {
        return Ok(Observation::done(Outcome::Failed {
            message: "the step is no longer in the runbook".to_owned(),
        }));
    };
    let Some(action) = cursor.action(&system.spec.steps) else {
        return Ok(Observation::done(Outcome::Succeeded {
            message: "nothing to do".to_owned(),
        }));
    };
    match action.kind {
        StepKind::Manual => Ok(observe_manual(system, &step.name, cursor.pass)),
        StepKind::Job => match &action.job {
            Some(template) => observe_job(ctx, system, &step.name, cursor.pass, template).await,
            None => Ok(Observation::done(Outcome::Failed {
                message: "a Job step without `job`".to_owned(),
            })),
        },
        StepKind::Webhook => match &action.webhook {
            Some(webhook) => observe_webhook(ctx, system, status, cursor, webhook, now).await,
            None => Ok(Observation::done(Outcome::Failed {
                message: "a Webhook step without `webhook`".to_owned(),
            })),
        },
    }
}

fn observe_manual(system: &SystemMigration, step: &str, pass: Pass) -> Observation {
    let rollback = pass == Pass::Rollback;
    match system
        .spec
        .confirmations
        .iter()
        .find(|c| c.step == step && c.rollback == rollback)
    {
        Some(confirmation) => Observation::done(Outcome::Succeeded {
            message: format!("confirmed by {}", confirmation.confirmed_by),
        }),
        None => Observation::in_flight(
            format!(
                "waiting for a confirmation: govctl migration confirm {} {step}{}",
                system.name_any(),
                if rollback { " --rollback" } else { "" }
            ),
            None,
        ),
    }
}

async fn observe_job(
    ctx: &MigrationContext,
    system: &SystemMigration,
    step: &str,
    pass: Pass,
    template: &JobTemplate,
) -> Result<Observation, Error> {
    let namespace = system.metadata.namespace.clone().unwrap_or_default();
    let name = job_name(&system.name_any(), step, pass);
    let jobs: Api<Job> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    let what = format!("Job {namespace}/{name}");
    let existing = jobs
        .get_opt(&name)
        .await
        .map_err(Error::kube("read", what.clone()))?;
    let job = if let Some(job) = existing {
        job
    } else {
        // Created on first observation: a restart after the start was recorded creates it.
        let job = build_job(system, &name, step, template);
        match jobs.create(&PostParams::default(), &job).await {
            Ok(created) => created,
            Err(kube::Error::Api(status)) if status.code == 409 => jobs
                .get(&name)
                .await
                .map_err(Error::kube("read", what.clone()))?,
            Err(error) => return Err(Error::kube("create", what)(error)),
        }
    };
    let ours = job
        .owner_references()
        .iter()
        .any(|o| Some(&o.uid) == system.metadata.uid.as_ref());
    if !ours {
        return Ok(Observation::done(Outcome::Failed {
            message: format!("{what} exists and belongs to another object"),
        }));
    }
    Ok(Observation {
        outcome: job_outcome(&job),
        retry_in: None,
    })
}

async fn credentials(
    ctx: &MigrationContext,
    namespace: &str,
    webhook: &WebhookAction,
) -> Result<Result<Credentials, String>, Error> {
    let Some(secret) = &webhook.credentials_secret else {
        return Ok(Ok(Credentials::default()));
    };
    let found = Api::<Secret>::namespaced(ctx.shared.client.clone(), namespace)
        .get_opt(secret)
        .await
        .map_err(Error::kube("read Secret", format!("{namespace}/{secret}")))?;
    Ok(match found {
        None => Err(format!("Secret {secret} does not exist")),
        Some(found) => Credentials::from_secret_data(&found.data.unwrap_or_default())
            .map_err(|e| format!("Secret {secret}: {e}")),
    })
}

async fn observe_webhook(
    ctx: &MigrationContext,
    system: &SystemMigration,
    status: &mut SystemMigrationStatus,
    cursor: Cursor,
    webhook: &WebhookAction,
    now: DateTime<Utc>,
) -> Result<Observation, Error> {
    let namespace = system.metadata.namespace.clone().unwrap_or_default();
    let Some(step) = status.steps.get_mut(cursor.index) else {
        return Ok(Observation::done(Outcome::Failed {
            message: "the step has no status".to_owned(),
        }));
    };
    if let Some(due) = step.next_attempt_at.as_ref().and_then(from_kube)
        && due > now
    {
        let wait = (due - now).to_std().unwrap_or(Duration::from_secs(1));
        return Ok(Observation::in_flight(
            step.message.clone().unwrap_or_default(),
            Some(wait),
        ));
    }
    let credentials = match credentials(ctx, &namespace, webhook).await? {
        Ok(credentials) => credentials,
        Err(message) => {
            return Ok(Observation::in_flight(
                format!("waiting for credentials: {message}"),
                Some(Duration::from_secs(30)),
            ));
        }
    };
    let poll_every = Duration::from_secs(u64::from(webhook.poll_interval_seconds));
    let timeout = Duration::from_secs(u64::from(webhook.timeout_seconds));
    if step.accepted_at.is_some() {
        let Some(url) = &webhook.status_url else {
            return Ok(Observation::done(Outcome::Succeeded {
                message: "accepted".to_owned(),
            }));
        };
        let polled = ctx.webhooks.poll(url, &credentials, timeout).await;
        return Ok(match polled {
            PollOutcome::Succeeded { message } => Observation::done(Outcome::Succeeded { message }),
            PollOutcome::Failed { message } => Observation::done(Outcome::Failed { message }),
            PollOutcome::Running { message } | PollOutcome::Retryable { message } => {
                step.next_attempt_at = to_kube(now + poll_every);
                Observation::in_flight(message, Some(poll_every))
            }
        });
    }
    let uid = system.metadata.uid.clone().unwrap_or_default();
    let body = serde_json::json!({
        "system": {
            "namespace": namespace,
            "name": system.name_any(),
            "uid": uid,
            "displayName": system.spec.display_name,
        },
        "step": step.name,
        "action": cursor.pass.as_str(),
        "attempt": step.attempts,
    });
    let request = CallRequest {
        action: webhook,
        body,
        idempotency_key: format!("{uid}/{}/{}", step.name, cursor.pass.as_str()),
        credentials: &credentials,
    };
    Ok(match ctx.webhooks.call(&request).await {
        CallOutcome::Succeeded { message } if webhook.status_url.is_some() => {
            step.accepted_at = to_kube(now);
            step.next_attempt_at = to_kube(now + poll_every);
            Observation::in_flight(
                format!("accepted ({message}); polling the status URL"),
                Some(poll_every),
            )
        }
        CallOutcome::Succeeded { message } => Observation::done(Outcome::Succeeded { message }),
        CallOutcome::Failed { message } => Observation::done(Outcome::Failed { message }),
        CallOutcome::Retryable { message } if step.attempts > webhook.retries => {
            Observation::done(Outcome::Failed {
                message: format!("{message} (gave up after {} calls)", step.attempts),
            })
        }
        CallOutcome::Retryable { message } => {
            let delay = retry_delay(step.attempts);
            step.attempts = step.attempts.saturating_add(1);
            step.next_attempt_at = to_kube(now + delay);
            Observation::in_flight(
                format!(
                    "call {} failed: {message}; retrying in {}s",
                    step.attempts - 1,
                    delay.as_secs()
                ),
                Some(delay),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_fit_a_dns_label_and_stay_distinct() {
        assert_eq!(job_name("portal", "copy", Pass::Run), "portal-copy-run");
        let long = "a".repeat(60);
        let run = job_name(&long, "copy-data", Pass::Run);
        let back = job_name(&long, "copy-data", Pass::Rollback);
        assert!(run.len() <= 63 && back.len() <= 63);
        assert_ne!(run, back);
        assert!(!run.ends_with('-'));
    }
}
