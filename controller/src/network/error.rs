//! Errors of the network reconcilers (`Router` and `ExtranetLink`), each with a static
//! category (condition reason, event reason, metric label) and whether it is permanent (a
//! condition, then wait for a change) or transient (requeue with backoff).

use super::contract::ContractError;
use crate::storage::StorageError;

/// A failed reconcile of a router or a link.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The link's spec cannot be evaluated.
    #[error("extranet link {link} is invalid: {source}")]
    InvalidLink {
        link: String,
        #[source]
        source: ContractError,
    },
    /// A call to the Kubernetes API failed.
    #[error("failed to {action} {object}")]
    Kube {
        action: &'static str,
        object: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// The SQL storage failed.
    #[error("failed to {action} of {object}")]
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
            Self::InvalidLink { source, .. } => source.category(),
            Self::Kube { .. } => "KubeApi",
            Self::Storage { .. } => "Storage",
        }
    }

    /// Whether only a change of the object can fix it.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::InvalidLink { .. })
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

impl crate::runtime::ReconcileError for Error {
    fn category(&self) -> &'static str {
        Self::category(self)
    }

    fn is_permanent(&self) -> bool {
        Self::is_permanent(self)
    }
}
