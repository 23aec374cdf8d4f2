//! Errors of the tenancy reconcilers, each with a static category (condition reason, event
//! reason and metric label) and whether it is permanent (a condition, then wait for a change)
//! or transient (requeue with backoff).

use crate::failure::{KubeCallFailed, StorageCallFailed};
use govcloud_core::tenancy::plan::PlanError;
use govcloud_core::tenancy::requests::RequestError;

/// A failed reconcile of a `Tenant` or a `QuotaRequest`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The tenant cannot be planned (validation).
    #[error("tenant {tenant} is invalid: {source}")]
    InvalidTenant {
        tenant: String,
        #[source]
        source: PlanError,
    },
    /// The quota request cannot be processed.
    #[error("quota request {request} is invalid: {source}")]
    InvalidRequest {
        request: String,
        #[source]
        source: RequestError,
    },
    /// A namespace the tenant wants belongs to someone else.
    #[error("tenant {tenant} cannot use a namespace: {reason}")]
    NamespaceConflict { tenant: String, reason: String },
    /// A namespace the tenant wants is still being deleted.
    #[error("tenant {tenant} waits for a namespace: {reason}")]
    NamespaceNotReady { tenant: String, reason: String },
    /// The object lacks metadata the API server always sets.
    #[error("{object} has no {field}")]
    MissingMetadata { object: String, field: &'static str },
    /// A call to the Kubernetes API failed.
    #[error(transparent)]
    Kube(#[from] KubeCallFailed),
    /// The SQL storage failed.
    #[error(transparent)]
    Storage(#[from] StorageCallFailed),
}

impl Error {
    /// Static category: condition reason, event reason and metric label.
    pub fn category(&self) -> &'static str {
        match self {
            Self::InvalidTenant { source, .. } => source.category(),
            Self::InvalidRequest { source, .. } => source.category(),
            Self::NamespaceConflict { .. } => "NamespaceConflict",
            Self::NamespaceNotReady { .. } => "NamespaceNotReady",
            Self::MissingMetadata { .. } => "MissingMetadata",
            Self::Kube(_) => "KubeApi",
            Self::Storage(_) => "Storage",
        }
    }

    /// Whether only a change of the object (or of what it refers to) can fix it; transient
    /// errors are retried with backoff.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::InvalidTenant { .. }
            | Self::InvalidRequest { .. }
            | Self::NamespaceConflict { .. }
            | Self::MissingMetadata { .. } => true,
            Self::NamespaceNotReady { .. } | Self::Kube(_) | Self::Storage(_) => false,
        }
    }

    /// Whether the API server answered 404 Not Found (the object is gone).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Kube(failure) if failure.is_not_found())
    }
}

impl crate::runtime::ReconcileError for Error {
    fn category(&self) -> &'static str {
        Self::category(self)
    }

    fn is_permanent(&self) -> bool {
        Self::is_permanent(self)
    }
}
