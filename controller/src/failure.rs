//! The calls every reconciler makes — to the Kubernetes API and to SQL storage — failed, as
//! values their error enums wrap: each failure names its action and object the same way
//! everywhere, and `Error::kube("read", object)` / `Error::storage(…)` build them for any enum
//! that wraps both (through [`CallFailures`]).

use crate::storage::StorageError;

/// A failed call to the Kubernetes API.
#[derive(Debug, thiserror::Error)]
#[error("failed to {action} {object}")]
pub struct KubeCallFailed {
    pub action: &'static str,
    pub object: String,
    #[source]
    pub source: Box<kube::Error>,
}

impl KubeCallFailed {
    /// Whether the API server answered 404 Not Found (the object is gone).
    pub fn is_not_found(&self) -> bool {
        matches!(self.source.as_ref(), kube::Error::Api(status) if status.code == 404)
    }
}

/// A failed call to the SQL storage.
#[derive(Debug, thiserror::Error)]
#[error("failed to {action} for {object}")]
pub struct StorageCallFailed {
    pub action: &'static str,
    pub object: String,
    #[source]
    pub source: Box<StorageError>,
}

/// Builds an error enum's value from a failed call: `.map_err(Error::kube("read", name))?`.
pub trait CallFailures: From<KubeCallFailed> + From<StorageCallFailed> + Sized {
    /// A failed Kubernetes call: `action` on `object`.
    fn kube(action: &'static str, object: impl Into<String>) -> impl FnOnce(kube::Error) -> Self {
        let object = object.into();
        move |source| {
            KubeCallFailed {
                action,
                object,
                source: Box::new(source),
            }
            .into()
        }
    }

    /// A failed storage call: `action` for `object`.
    fn storage(
        action: &'static str,
        object: impl Into<String>,
    ) -> impl FnOnce(StorageError) -> Self {
        let object = object.into();
        move |source| {
            StorageCallFailed {
                action,
                object,
                source: Box::new(source),
            }
            .into()
        }
    }
}

impl<T: From<KubeCallFailed> + From<StorageCallFailed>> CallFailures for T {}
