//! What every handler shares: the Kubernetes client, storage, a watched cache of the tenants
//! (for visibility), the audit metrics; and the helpers that turn their failures into problems.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use govcloud_crds::Tenant;
use kube::Client;
use kube::runtime::reflector::Store;
use tokio::sync::watch;

use super::audit::AuditMetrics;
use super::auth::Caller;
use super::problem::{ApiProblem, ProblemKind};
use super::scope::{Hierarchy, Scope};
use crate::agents::AgentCa;
use crate::report::error_chain;
use crate::storage::{NewAuditRecord, Storage, StorageError};

/// How long a request waits for the first list of tenants after a start.
const TENANTS_READY_TIMEOUT: Duration = Duration::from_secs(15);

/// The handlers' state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    storage: Storage,
    tenants: Store<Tenant>,
    /// Becomes `true` once the tenant cache has been filled. kube-runtime 5's
    /// `Store::wait_until_ready` wakes only the last of several concurrent waiters, so one task
    /// waits on it and handlers wait on this channel instead.
    tenants_ready: watch::Receiver<bool>,
    metrics: AuditMetrics,
    /// Signs router certificates (enrollment); `None` where routers are not enrolled.
    agent_ca: Option<AgentCa>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("storage", &self.inner.storage.redacted_url())
            .finish_non_exhaustive()
    }
}

/// One audit event, before it is chained.
#[derive(Debug)]
pub struct AuditEvent<'a> {
    /// The tenant concerned.
    pub tenant: &'a str,
    /// `quota-request.create`, `token.issue`, ….
    pub action: &'static str,
    /// `QuotaRequest`, `ApiToken`.
    pub object_kind: &'static str,
    /// The object's name or id.
    pub object_name: String,
    /// What changed (never a secret).
    pub detail: serde_json::Value,
}

impl AppState {
    /// The state of a server.
    pub fn new(
        client: Client,
        storage: Storage,
        tenants: Store<Tenant>,
        metrics: AuditMetrics,
        agent_ca: Option<AgentCa>,
    ) -> Self {
        let (ready, tenants_ready) = watch::channel(false);
        let store = tenants.clone();
        tokio::spawn(async move {
            if store.wait_until_ready().await.is_ok() {
                let _ = ready.send(true);
            }
        });
        Self {
            inner: Arc::new(Inner {
                client,
                storage,
                tenants,
                tenants_ready,
                metrics,
                agent_ca,
            }),
        }
    }

    /// The Kubernetes client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Storage.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The audit metrics.
    pub fn metrics(&self) -> &AuditMetrics {
        &self.inner.metrics
    }

    /// The agent CA, which signs router certificates.
    pub fn agent_ca(&self) -> Option<&AgentCa> {
        self.inner.agent_ca.as_ref()
    }

    /// The tenants as last seen by the watch, waiting for the first list after a start.
    pub async fn tenants(&self) -> Result<Vec<Arc<Tenant>>, ApiProblem> {
        let mut ready = self.inner.tenants_ready.clone();
        let ready =
            tokio::time::timeout(TENANTS_READY_TIMEOUT, ready.wait_for(|ready| *ready)).await;
        if !matches!(ready, Ok(Ok(_))) {
            return Err(ApiProblem::new(
                ProblemKind::Unavailable,
                "the tenant hierarchy has not been read from Kubernetes yet; retry shortly",
            ));
        }
        Ok(self.inner.tenants.state())
    }

    /// The tenant hierarchy.
    pub async fn hierarchy(&self) -> Result<Hierarchy, ApiProblem> {
        let tenants = self.tenants().await?;
        Ok(Hierarchy::new(tenants.iter().filter_map(|tenant| {
            tenant
                .metadata
                .name
                .as_deref()
                .map(|name| (name, tenant.spec.parent.as_deref()))
        })))
    }

    /// What `caller` sees.
    pub async fn scope(&self, caller: &Caller) -> Result<Scope, ApiProblem> {
        Ok(self.hierarchy().await?.scope(&caller.tenant))
    }

    /// Appends an audit record of `caller`'s action and counts it.
    pub async fn audit(&self, caller: &Caller, event: AuditEvent<'_>) -> Result<(), ApiProblem> {
        let record = NewAuditRecord {
            at: Utc::now(),
            actor: caller.actor(),
            tenant: Some(event.tenant.to_owned()),
            action: event.action.to_owned(),
            object_kind: event.object_kind.to_owned(),
            object_name: event.object_name,
            detail: event.detail,
        };
        match self.storage().audit().append(&record).await {
            Ok(stored) => {
                self.metrics().record_appended();
                tracing::info!(
                    seq = stored.seq,
                    action = event.action,
                    tenant = event.tenant,
                    object = %format!("{}/{}", record.object_kind, record.object_name),
                    token = caller.token_id,
                    "audited"
                );
                Ok(())
            }
            Err(error) => Err(storage_problem("append an audit record", &error)),
        }
    }
}

/// Logs a storage failure and answers 500.
pub fn storage_problem(operation: &str, error: &StorageError) -> ApiProblem {
    tracing::error!(
        category = error.category(),
        error = %error_chain(error),
        "failed to {operation}"
    );
    ApiProblem::internal()
}

/// The problem for a failed Kubernetes request: a refusal by admission keeps its message (and
/// the field when Kubernetes names one), a conflict is a 409; anything else is logged and
/// answered 502.
pub fn kube_problem(operation: &str, error: &kube::Error) -> ApiProblem {
    if let kube::Error::Api(status) = error {
        match status.code {
            409 => {
                return ApiProblem::new(
                    ProblemKind::Conflict,
                    format!(
                        "failed to {operation}: the object changed meanwhile; read it again and retry"
                    ),
                );
            }
            400 | 422 => {
                let field = status
                    .details
                    .as_ref()
                    .and_then(|details| details.causes.first())
                    .map(|cause| cause.field.trim_start_matches("spec.").to_owned());
                let detail = format!("Kubernetes refused to {operation}: {}", status.message);
                return match field {
                    Some(field) if !field.is_empty() => ApiProblem::invalid(field, detail),
                    _ => ApiProblem::new(ProblemKind::InvalidInput, detail),
                };
            }
            _ => {}
        }
    }
    tracing::error!(error = %error_chain(error), "failed to {operation}");
    ApiProblem::new(
        ProblemKind::Upstream,
        format!("failed to {operation}: the Kubernetes API did not answer as expected"),
    )
}
