//! Runs the `DedicatedNetwork` controller and the sweep that releases the VLANs and VRFs of
//! deleted networks (see `docs/adr/0011-dedicated-network-segment-ledger.md`).

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use govcloud_crds::DedicatedNetwork;
use kube::ResourceExt as _;
use kube::runtime::reflector::Store;

use super::controller;
use crate::runtime::{Context, Shutdown, controller_config, log_failure};
use crate::storage::StorageError;

/// How often the ledger is compared with the existing networks.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// What every reconcile of a dedicated network shares.
pub struct ConsolidationContext {
    /// The controller's shared context.
    pub shared: Arc<Context>,
    /// The cache of every dedicated network (the controller's reflector).
    pub networks: Store<DedicatedNetwork>,
}

impl std::fmt::Debug for ConsolidationContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsolidationContext")
            .field("networks", &self.networks.state().len())
            .finish_non_exhaustive()
    }
}

/// Runs the controller and the sweep with `shared` until `shutdown` completes.
pub async fn run(shared: Arc<Context>, shutdown: impl Shutdown) {
    let networks = controller::controller(&shared.client, shared.activity.subscribe())
        .with_config(controller_config());
    let ctx = Arc::new(ConsolidationContext {
        shared,
        networks: networks.store(),
    });
    let running = networks
        .graceful_shutdown_on(shutdown.clone())
        .run(controller::reconcile, controller::error_policy, ctx.clone())
        .for_each(|result| log_failure(result, controller::CONTROLLER));
    futures::join!(running, sweep(ctx, shutdown));
}

/// Once the cache of networks is complete, releases every `SWEEP_INTERVAL` the ledger rows of
/// networks that no longer exist, and forgets their metrics.
async fn sweep(ctx: Arc<ConsolidationContext>, shutdown: impl Future<Output = ()> + Clone) {
    tokio::select! {
        ready = ctx.networks.wait_until_ready() => {
            if ready.is_err() {
                return;
            }
        }
        () = shutdown.clone() => return,
    }
    loop {
        if let Err(error) = sweep_once(&ctx).await {
            tracing::warn!(error = %crate::report::error_chain(&error), "failed to sweep the segment ledger");
        }
        tokio::select! {
            () = tokio::time::sleep(SWEEP_INTERVAL) => {}
            () = shutdown.clone() => return,
        }
    }
}

/// One comparison of the ledger with the cache: the rows of a network the cache does not hold
/// are released. Safe against a network created meanwhile: its reconcile, the only writer of
/// its rows, runs from the cache, so a network with rows is in the cache until deleted.
async fn sweep_once(ctx: &ConsolidationContext) -> Result<(), StorageError> {
    let existing: BTreeSet<String> = ctx.networks.state().iter().map(|n| n.name_any()).collect();
    let segments = ctx.shared.storage.segments();
    for network in segments.networks().await? {
        if !existing.contains(&network) {
            let released = segments.release_network(&network).await?;
            tracing::info!(
                network,
                released,
                "released the VLANs and VRFs of a deleted dedicated network"
            );
        }
    }
    ctx.shared.metrics.consolidation().retain(&existing);
    Ok(())
}
