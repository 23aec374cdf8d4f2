//! Runs the `Tenant` and `QuotaRequest` controllers with what they share: the controller's
//! [`Context`] and the caches of tenants and quota requests. The tenant cache, once it has
//! listed every tenant, is published to the other capabilities ([`Context::tenants`]); quota
//! requests start only then (they are weighed against their tenant).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use govcloud_crds::{QuotaRequest, Tenant};
use k8s_openapi::NamespaceResourceScope;
use kube::runtime::reflector::Store;
use kube::{Api, Resource};

use super::{controller, request_controller};
use crate::runtime::{Context, Shutdown, controller_config, log_failure};

/// What every reconcile of a tenant or a quota request shares.
pub struct TenancyContext {
    /// The controller's shared context.
    pub shared: Arc<Context>,
    /// The cache of every tenant (the tenant controller's reflector).
    pub tenants: Store<Tenant>,
    /// The cache of every quota request (the request controller's reflector).
    pub requests: Store<QuotaRequest>,
}

impl std::fmt::Debug for TenancyContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenancyContext")
            .field("tenants", &self.tenants.state().len())
            .field("requests", &self.requests.state().len())
            .finish_non_exhaustive()
    }
}

impl TenancyContext {
    /// A namespaced API of the shared client.
    pub(crate) fn namespaced<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.shared.client.clone(), namespace)
    }
}

/// Runs both controllers with `shared` until `shutdown` completes.
pub async fn run(shared: Arc<Context>, shutdown: impl Shutdown) {
    // Tenants: a tenant's change reconciles its parent through a second watch of the tenants,
    // which can deliver a deletion before the controller's own cache has it; waiting a second
    // lets the cache catch up, so the parent's delegation never counts a deleted child (seen
    // under CI load), and a burst of changes is one reconcile.
    let tenants = controller::controller(&shared.client)
        .with_config(controller_config().debounce(Duration::from_secs(1)));
    let requests = request_controller::controller(&shared.client).with_config(controller_config());
    let ctx = Arc::new(TenancyContext {
        shared,
        tenants: tenants.store(),
        requests: requests.store(),
    });
    let tenants = tenants
        .graceful_shutdown_on(shutdown.clone())
        .run(controller::reconcile, controller::error_policy, ctx.clone())
        .for_each(|result| log_failure(result, controller::CONTROLLER));
    // Quota requests start once the tenant cache is complete. One waiter only: kube-runtime 5's
    // `Store::wait_until_ready` wakes just the last of several concurrent waiters (its
    // `DelayedInit` polls a oneshot receiver that keeps one waker), so the cache is published
    // to the others through `Context::tenants`.
    let requests = async move {
        tokio::select! {
            ready = ctx.tenants.wait_until_ready() => {
                if ready.is_err() {
                    return;
                }
                ctx.shared.tenants.publish(ctx.tenants.clone());
            }
            () = shutdown.clone() => return,
        }
        requests
            .graceful_shutdown_on(shutdown)
            .run(
                request_controller::reconcile,
                request_controller::error_policy,
                ctx,
            )
            .for_each(|result| log_failure(result, request_controller::CONTROLLER))
            .await;
    };
    futures::join!(tenants, requests);
}
