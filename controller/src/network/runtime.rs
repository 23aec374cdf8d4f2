//! Runs the `Router` and `ExtranetLink` controllers with what they share: the controller's
//! [`Context`] (client, storage, events, metrics, backoff, clock), the caches of routers and
//! links, and the links' utilisation figures; triggers them with the routers' news in SQL; keeps
//! the fleet's metrics; and forgets the served configurations of deleted routers.

use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use govcloud_crds::{ExtranetLink, Router};
use kube::Api;
use kube::api::ListParams;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::Notify;

use super::error::Error;
use super::{link_controller, router_controller};
use crate::activity::News;
use crate::failure::CallFailures as _;
use crate::runtime::{Context, Shutdown, controller_config, log_failure};
use govcloud_core::network::utilisation::UtilisationCache;

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
    /// Told after each router's reconcile: the fleet's metrics (routers present, IPv6-ready
    /// sites) are recomputed from the cache shortly after, once for a burst of reconciles.
    pub fleet_changed: Notify,
}

impl std::fmt::Debug for NetworkContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkContext")
            .field("routers", &self.routers.state().len())
            .field("links", &self.links.state().len())
            .finish_non_exhaustive()
    }
}

/// Runs both controllers with `shared` until `shutdown` completes, triggered also by the
/// routers' news in SQL ([`crate::activity`]), and the task that keeps the fleet's metrics.
pub async fn run(shared: Arc<Context>, shutdown: impl Shutdown) {
    let routers = router_controller::controller(&shared.client)
        .reconcile_on(shared.activity.subscribe().filter_map(|news| async move {
            match news {
                News::Router(router) => Some(ObjectRef::new(&router)),
                News::Allocations => None,
            }
        }))
        .with_config(controller_config());
    let links = link_controller::controller(&shared.client);
    let link_store = links.store();
    let links = links
        .reconcile_on(shared.activity.subscribe().flat_map(move |news| {
            futures::stream::iter(match news {
                News::Router(router) => link_controller::links_of(&link_store, &router),
                News::Allocations => Vec::new(),
            })
        }))
        .with_config(controller_config());
    let ctx = Arc::new(NetworkContext {
        shared,
        routers: routers.store(),
        links: links.store(),
        utilisation: Mutex::new(UtilisationCache::default()),
        fleet_changed: Notify::new(),
    });
    let fleet = router_controller::keep_fleet_metrics(ctx.clone(), shutdown.clone());
    let routers = routers
        .graceful_shutdown_on(shutdown.clone())
        .run(
            router_controller::reconcile,
            router_controller::error_policy,
            ctx.clone(),
        )
        .for_each(|result| log_failure(result, router_controller::CONTROLLER));
    let forgetting = forget_deleted_routers(ctx.shared.clone(), shutdown.clone());
    let links = links
        .graceful_shutdown_on(shutdown)
        .run(
            link_controller::reconcile,
            link_controller::error_policy,
            ctx,
        )
        .for_each(|result| log_failure(result, link_controller::CONTROLLER));
    futures::join!(routers, links, forgetting, fleet);
}

/// How often the served configurations of deleted routers are looked for.
const FORGET_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Every [`FORGET_EVERY`], deletes the served configuration (`router_configs`) of each router
/// that no longer exists, so a router re-created later starts from a fresh generation's row
/// rather than a stale ETag. Reads the routers from the API server (not a cache that may not
/// have listed yet), and skips a round on any error.
async fn forget_deleted_routers(shared: Arc<Context>, shutdown: impl Future<Output = ()> + Clone) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(FORGET_EVERY) => {}
            () = shutdown.clone() => return,
        }
        if let Err(error) = forget_deleted_router_configs(&shared.client, &shared.storage).await {
            tracing::debug!(error = %crate::report::error_chain(&error), "failed to look for the configurations of deleted routers");
        }
    }
}

/// Deletes the served configuration of each router that no longer exists; returns their names.
pub async fn forget_deleted_router_configs(
    client: &kube::Client,
    storage: &crate::storage::Storage,
) -> Result<Vec<String>, Error> {
    let routers = Api::<Router>::all(client.clone())
        .list_metadata(&ListParams::default())
        .await
        .map_err(Error::kube("list", "routers"))?;
    let existing: std::collections::HashSet<String> = routers
        .items
        .into_iter()
        .filter_map(|r| r.metadata.name)
        .collect();
    let configs = storage.router_configs();
    let stored = configs
        .list()
        .await
        .map_err(Error::storage("list", "the configurations served"))?;
    let mut forgotten = Vec::new();
    for stored in stored.into_iter().filter(|s| !existing.contains(&s.router)) {
        let deleted = configs
            .delete(&stored.router)
            .await
            .map_err(Error::storage(
                "delete the configuration of",
                stored.router.clone(),
            ))?;
        if deleted {
            tracing::info!(router = %stored.router, "forgot the configuration of a deleted router");
            forgotten.push(stored.router);
        }
    }
    Ok(forgotten)
}
