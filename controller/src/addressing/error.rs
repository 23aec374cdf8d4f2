//! Errors of the addressing controllers, each with a static category (event reason, metric
//! label) and whether it is permanent. A refused pool spec or ledger is not an error here: it
//! is the pool's `Ready=False` condition, and the pool is looked at again periodically.

use crate::failure::{KubeCallFailed, StorageCallFailed};

/// A failed reconcile of a pool or a router.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Other writers kept changing the ledger under every attempt.
    #[error(
        "failed to record the allocations of AddressPool {pool}: the ledger changed under each of {attempts} attempts"
    )]
    Contention { pool: String, attempts: usize },
    /// A call to the Kubernetes API failed.
    #[error(transparent)]
    Kube(#[from] KubeCallFailed),
    /// The SQL storage failed.
    #[error(transparent)]
    Storage(#[from] StorageCallFailed),
}

impl Error {
    /// Static category: event reason and metric label.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Contention { .. } => "LedgerContention",
            Self::Kube(_) => "KubeApi",
            Self::Storage(_) => "Storage",
        }
    }

    /// Whether only a change of the object can fix it: never here (each is retried).
    pub fn is_permanent(&self) -> bool {
        false
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
