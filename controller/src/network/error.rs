//! Errors of the network reconcilers (`Router` and `ExtranetLink`), each with a static
//! category (condition reason, event reason, metric label) and whether it is permanent (a
//! condition, then wait for a change) or transient (requeue with backoff).

use crate::failure::{KubeCallFailed, StorageCallFailed};
use govcloud_core::network::contract::ContractError;

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
            Self::InvalidLink { source, .. } => source.category(),
            Self::Kube(_) => "KubeApi",
            Self::Storage(_) => "Storage",
        }
    }

    /// Whether only a change of the object can fix it.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::InvalidLink { .. })
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
