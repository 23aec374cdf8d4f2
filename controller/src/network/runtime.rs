//! Runs the `Router` and `ExtranetLink` controllers with what they share: the controller's
//! [`Context`] (client, storage, events, metrics, backoff), the caches of routers and links,
//! and the links' utilisation figures.

use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use govcloud_crds::{ExtranetLink, Router};
use kube::runtime::controller::Config;
use kube::runtime::reflector::Store;

use super::utilisation::UtilisationCache;
use super::{link_controller, router_controller};
use crate::runtime::Context;

/// What every reconcile of a router or a link shares.
pub struct NetworkContext {
    /// The controller's shared context.
    pub shared: Arc<Context>,
    /// The cache of every router (the router controller's reflector).
    pub routers: Store<Router>,
    /// The cache of every link (the link controller's reflector).
    pub links: Store<ExtranetLink>,
    /// Each link's utilisation p95 figures, recomputed now and then.
    pub utilisation: Mutex<UtilisationCache>,
}

impl std::fmt::Debug for NetworkContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkContext")
            .field("routers", &self.routers.state().len())
            .field("links", &self.links.state().len())
            .finish_non_exhaustive()
    }
}

/// Runs both controllers with `shared` until `shutdown` completes.
pub async fn run(
    shared: Arc<Context>,
    shutdown: impl Future<Output = ()> + Clone + Send + Sync + 'static,
) {
    let config = Config::default().concurrency(8);
    let routers = router_controller::controller(&shared.client).with_config(config.clone());
    let links = link_controller::controller(&shared.client).with_config(config);
    let ctx = Arc::new(NetworkContext {
        shared,
        routers: routers.store(),
        links: links.store(),
        utilisation: Mutex::new(UtilisationCache::default()),
    });
    let routers = routers
        .graceful_shutdown_on(shutdown.clone())
        .run(
            router_controller::reconcile,
            router_controller::error_policy,
            ctx.clone(),
        )
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(error = %crate::report::error_chain(&error), "router controller");
            }
        });
    let links = links
        .graceful_shutdown_on(shutdown)
        .run(link_controller::reconcile, link_controller::error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(error = %crate::report::error_chain(&error), "extranet link controller");
            }
        });
    futures::join!(routers, links);
}
