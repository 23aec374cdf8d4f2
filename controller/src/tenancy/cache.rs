//! The tenant hierarchy shared across capabilities: the tenant controller's cache, published
//! once it has listed every tenant, for the controllers that weigh their objects against a
//! tenant (quota requests, migrations) — so that "no such tenant" means what it says. One task
//! waits on the cache (kube-runtime 5's `Store::wait_until_ready` wakes only the last of
//! several concurrent waiters) and publishes it here, where any number may wait.

use std::sync::Arc;

use govcloud_crds::Tenant;
use kube::runtime::reflector::Store;
use tokio::sync::watch;

/// The tenant cache, once complete.
#[derive(Clone, Debug)]
pub struct TenantCache {
    complete: Arc<watch::Sender<Option<Store<Tenant>>>>,
}

impl Default for TenantCache {
    fn default() -> Self {
        let (complete, _) = watch::channel(None);
        Self {
            complete: Arc::new(complete),
        }
    }
}

impl TenantCache {
    /// Publishes `store`, which has listed every tenant.
    pub fn publish(&self, store: Store<Tenant>) {
        self.complete.send_replace(Some(store));
    }

    /// The cache, if published.
    pub fn get(&self) -> Option<Store<Tenant>> {
        self.complete.borrow().clone()
    }

    /// The cache, once published.
    pub async fn ready(&self) -> Store<Tenant> {
        let mut complete = self.complete.subscribe();
        let store = complete
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|store| store.clone());
        match store {
            Some(store) => store,
            // The sender lives as long as `self`: never closed while waited on.
            None => std::future::pending().await,
        }
    }
}
