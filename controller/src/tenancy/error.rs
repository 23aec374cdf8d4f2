//! Errors of the tenancy reconcilers, each with a static category (condition reason, event
//! reason and metric label) and whether it is permanent (a condition, then wait for a change)
//! or transient (requeue with backoff).

use super::plan::PlanError;
use super::requests::RequestError;
use crate::storage::StorageError;

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
    #[error("failed to {action} {object}")]
    Kube {
        action: &'static str,
        object: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// The SQL storage failed.
    #[error("failed to {action} for {object}")]
    Storage {
        action: &'static str,
        object: String,
        #[source]
        source: Box<StorageError>,
    },
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
            Self::Kube { .. } => "KubeApi",
            Self::Storage { .. } => "Storage",
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
            Self::NamespaceNotReady { .. } | Self::Kube { .. } | Self::Storage { .. } => false,
        }
    }

    /// Whether the API server answered 404 Not Found (the object is gone).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Kube { source, .. } if matches!(source.as_ref(), kube::Error::Api(status) if status.code == 404))
    }

    /// A failed Kubernetes call.
    pub(crate) fn kube(
        action: &'static str,
        object: impl Into<String>,
    ) -> impl FnOnce(kube::Error) -> Self {
        let object = object.into();
        move |source| Self::Kube {
            action,
            object,
            source: Box::new(source),
        }
    }

    /// A failed storage call.
    pub(crate) fn storage(
        action: &'static str,
        object: impl Into<String>,
    ) -> impl FnOnce(StorageError) -> Self {
        let object = object.into();
        move |source| Self::Storage {
            action,
            object,
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_permanence() {
        let invalid = Error::InvalidTenant {
            tenant: "police".into(),
            source: PlanError::SharesExceeded {
                total: 120,
                shares: "a 60%, b 60%".into(),
            },
        };
        assert_eq!(invalid.category(), "NamespaceSharesExceeded");
        assert!(invalid.is_permanent());
        assert_eq!(
            invalid.to_string(),
            "tenant police is invalid: spec.namespaces: the quota shares add up to 120%, more than 100% (a 60%, b 60%)"
        );
        let waiting = Error::NamespaceNotReady {
            tenant: "t".into(),
            reason: "namespace \"t\" is being deleted".into(),
        };
        assert!(!waiting.is_permanent());
        assert_eq!(waiting.category(), "NamespaceNotReady");
    }
}
