//! Errors of the `DedicatedNetwork` reconciler. A network's own mistakes (an unknown router, a
//! VLAN clash) are no errors: they are its `Ready` condition. What remains are failed calls,
//! all transient (retried with backoff).

use crate::failure::{KubeCallFailed, StorageCallFailed};

/// A failed reconcile of a dedicated network.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the Kubernetes API failed.
    #[error(transparent)]
    Kube(#[from] KubeCallFailed),
    /// The SQL storage failed.
    #[error(transparent)]
    Storage(#[from] StorageCallFailed),
}

impl crate::runtime::ReconcileError for Error {
    fn category(&self) -> &'static str {
        match self {
            Self::Kube(_) => "KubeApi",
            Self::Storage(_) => "Storage",
        }
    }

    fn is_permanent(&self) -> bool {
        false
    }
}
