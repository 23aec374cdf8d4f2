//! Errors of the migration reconcilers (`SystemMigration` and `MigrationPlan`), each with a
//! static category (condition reason, event reason, metric label) and whether it is permanent
//! (a condition, then wait for a change) or transient (requeue with backoff).

use crate::failure::{KubeCallFailed, StorageCallFailed};
use govcloud_core::migration::error::PlanError;
use govcloud_core::tenancy::quota::InvalidAmount;

/// A failed reconcile of a system or a campaign.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The system's resources do not parse (the schema admits only quantities, so this is a
    /// system written past admission).
    #[error("system {system} is invalid: {source}")]
    InvalidResources {
        system: String,
        #[source]
        source: InvalidAmount,
    },
    /// The campaign cannot be planned.
    #[error("migration plan {plan} is invalid: {source}")]
    InvalidPlan {
        plan: String,
        #[source]
        source: PlanError,
    },
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
            Self::InvalidResources { .. } => "InvalidResources",
            Self::InvalidPlan { source, .. } => source.category(),
            Self::MissingMetadata { .. } => "MissingMetadata",
            Self::Kube(_) => "KubeApi",
            Self::Storage(_) => "Storage",
        }
    }

    /// Whether only a change of the object can fix it.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::InvalidResources { .. } | Self::InvalidPlan { .. } | Self::MissingMetadata { .. }
        )
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
