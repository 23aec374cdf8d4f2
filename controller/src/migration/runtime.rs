//! Runs the `SystemMigration` and `MigrationPlan` controllers with what they share: the
//! controller's [`Context`], the tenant cache (systems are weighed against their tenant, so
//! both start once it is complete), the caches of systems and plans, and the HTTPS client of
//! webhook steps.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use govcloud_crds::{MigrationPlan, SystemMigration, Tenant};
use kube::runtime::reflector::Store;

use super::last_writes::LastWrites;
use super::webhook::WebhookClient;
use super::{plan_controller, system_controller};
use crate::runtime::{Context, Shutdown, controller_config, log_failure};

/// What every reconcile of a system or a plan shares.
pub struct MigrationContext {
    /// The controller's shared context.
    pub shared: Arc<Context>,
    /// The cache of every tenant, complete.
    pub tenants: Store<Tenant>,
    /// The cache of every migration system (the system controller's reflector).
    pub systems: Store<SystemMigration>,
    /// The cache of every migration plan (the plan controller's reflector).
    pub plans: Store<MigrationPlan>,
    /// The HTTPS client of webhook migration steps.
    pub webhooks: WebhookClient,
    /// Each system's last status write, to tell whether the cache holds it.
    pub writes: LastWrites,
}

impl std::fmt::Debug for MigrationContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrationContext")
            .field("systems", &self.systems.state().len())
            .field("plans", &self.plans.state().len())
            .finish_non_exhaustive()
    }
}

/// Runs both controllers with `shared`, calling webhooks with `webhooks`, from the moment the
/// tenant cache is complete until `shutdown` completes.
pub async fn run(shared: Arc<Context>, webhooks: WebhookClient, shutdown: impl Shutdown) {
    let systems = system_controller::controller(&shared.client).with_config(controller_config());
    // Plans: a burst of system changes is one replan.
    let plans = plan_controller::controller(&shared.client)
        .with_config(controller_config().debounce(Duration::from_secs(1)));
    let tenants = tokio::select! {
        tenants = shared.tenants.ready() => tenants,
        () = shutdown.clone() => return,
    };
    let ctx = Arc::new(MigrationContext {
        shared,
        tenants,
        systems: systems.store(),
        plans: plans.store(),
        webhooks,
        writes: LastWrites::default(),
    });
    let systems = systems
        .graceful_shutdown_on(shutdown.clone())
        .run(
            system_controller::reconcile,
            system_controller::error_policy,
            ctx.clone(),
        )
        .for_each(|result| log_failure(result, system_controller::CONTROLLER));
    let plans = plans
        .graceful_shutdown_on(shutdown)
        .run(
            plan_controller::reconcile,
            plan_controller::error_policy,
            ctx,
        )
        .for_each(|result| log_failure(result, plan_controller::CONTROLLER));
    futures::join!(systems, plans);
}
