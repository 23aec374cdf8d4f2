//! Controller runtime wiring: the shared [`Context`] of the reconcilers (client, storage, event
//! recorder, metrics, caches, backoff) and [`run_controllers`], which runs the `Tenant` and
//! `QuotaRequest` controllers until shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use futures::{FutureExt as _, StreamExt as _};
use govcloud_crds::{MigrationPlan, QuotaRequest, SystemMigration, Tenant};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::controller::Action;
use kube::runtime::controller::Config;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::Store;

use crate::announcement::Announcement;
use crate::metrics::Metrics;
use crate::migration;
use crate::migration::webhook::WebhookClient;
use crate::storage::Storage;
use crate::tenancy;

/// The name the controller reports events under.
pub const REPORTER: &str = "govcloud-controller";

/// Per-object exponential backoff of transient failures: 1 s, 2 s, 4 s, … up to 5 minutes;
/// reset by a success.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// Longest wait between retries.
    pub const MAX: Duration = Duration::from_secs(300);

    /// Counts a failure of `key` and returns how long to wait before the next attempt.
    pub fn next(&self, key: &str) -> Duration {
        let Ok(mut failures) = self.failures.lock() else {
            return Self::MAX;
        };
        let count = failures.entry(key.to_owned()).or_default();
        *count = count.saturating_add(1);
        let seconds = 1_u64
            .checked_shl(count.saturating_sub(1))
            .unwrap_or(u64::MAX);
        Duration::from_secs(seconds).min(Self::MAX)
    }

    /// Forgets the failures of `key`.
    pub fn reset(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }
}

/// What the error policy needs of a reconciler's error.
pub trait ReconcileError: std::error::Error + 'static {
    /// Static category: condition reason, event reason and metric label.
    fn category(&self) -> &'static str;
    /// Whether only a change of the object can fix it (else: retry with backoff).
    fn is_permanent(&self) -> bool;
}

impl ReconcileError for crate::tenancy::error::Error {
    fn category(&self) -> &'static str {
        Self::category(self)
    }

    fn is_permanent(&self) -> bool {
        Self::is_permanent(self)
    }
}

/// What every reconcile of the controllers shares.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// SQL storage (the audit log).
    pub storage: Storage,
    /// Publishes Kubernetes events.
    pub recorder: Recorder,
    /// The controller's metrics.
    pub metrics: Arc<Metrics>,
    /// The cache of every tenant (the tenant controller's reflector).
    pub tenants: Store<Tenant>,
    /// The cache of every quota request (the request controller's reflector).
    pub requests: Store<QuotaRequest>,
    /// Backoff of transient failures, per object.
    pub backoff: Backoff,
    /// The cache of every migration system (the system controller's reflector).
    pub systems: Store<SystemMigration>,
    /// The cache of every migration plan (the plan controller's reflector).
    pub plans: Store<MigrationPlan>,
    /// The HTTPS client of webhook migration steps.
    pub webhooks: WebhookClient,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("storage", &self.storage.redacted_url())
            .field("tenants", &self.tenants.state().len())
            .field("requests", &self.requests.state().len())
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context over `client` and `storage` with the given caches.
    #[allow(clippy::too_many_arguments)] // each a distinct shared handle, built once
    pub fn new(
        client: Client,
        storage: Storage,
        metrics: Arc<Metrics>,
        tenants: Store<Tenant>,
        requests: Store<QuotaRequest>,
        systems: Store<SystemMigration>,
        plans: Store<MigrationPlan>,
        webhooks: WebhookClient,
    ) -> Self {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: REPORTER.to_owned(),
                instance: None,
            },
        );
        Self {
            client,
            storage,
            recorder,
            metrics,
            tenants,
            requests,
            backoff: Backoff::default(),
            systems,
            plans,
            webhooks,
        }
    }

    /// The same context, publishing events as `instance` of the controller (the replica's
    /// name: events then tell which replica wrote them).
    #[must_use]
    pub fn reporting_as(mut self, instance: Option<String>) -> Self {
        self.recorder = Recorder::new(
            self.client.clone(),
            Reporter {
                controller: REPORTER.to_owned(),
                instance,
            },
        );
        self
    }

    /// What a controller does after a failed reconcile of `object`: counts the error, then
    /// waits for the object to change (permanent errors) or retries with backoff (transient).
    pub fn after_failure(
        &self,
        controller: &'static str,
        object: &str,
        error: &impl ReconcileError,
    ) -> Action {
        self.metrics.failed(controller, error.category());
        let chain = crate::report::error_chain(error);
        if error.is_permanent() {
            tracing::info!(controller, object, category = error.category(), error = %chain, "the object needs a change");
            Action::await_change()
        } else {
            let delay = self.backoff.next(&format!("{controller}/{object}"));
            tracing::warn!(controller, object, category = error.category(), error = %chain, retry_in = ?delay, "reconcile failed");
            Action::requeue(delay)
        }
    }

    /// Publishes `announcement` about `reference` as the controller's `action`, through the
    /// shared recorder; a failure is logged, never fatal (events are best effort, as in
    /// Kubernetes).
    pub async fn announce(
        &self,
        reference: &ObjectReference,
        action: &'static str,
        announcement: impl Into<Announcement>,
    ) {
        crate::announcement::publish(&self.recorder, reference, action, &announcement.into()).await;
    }
}

/// Logs what a controller's stream reports as failed (its reconciles log their own errors).
fn log_failure<T, E: std::error::Error + 'static>(
    result: Result<T, E>,
    controller: &'static str,
) -> futures::future::Ready<()> {
    if let Err(error) = result {
        tracing::debug!(error = %crate::report::error_chain(&error), controller);
    }
    futures::future::ready(())
}

/// How long the controllers may take to finish after `shutdown`, before they are dropped.
///
/// kube-runtime's graceful shutdown stops a controller's watch, then lets its reconciles finish;
/// but its runner is held until the controller's cache has listed once, and the stopped watch
/// can no longer complete that list — a shutdown in the first moments after start would wait
/// for ever (seen in local mode's tests under load). After this grace, whatever is left is
/// dropped, which cancels the reconciles still running.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs the `Tenant`, `QuotaRequest`, `SystemMigration` and `MigrationPlan` controllers, the
/// `Router` and `ExtranetLink` ones ([`crate::network::run`]), the `AddressPool` and
/// `DedicatedNetwork` ones, against `client` until `shutdown` completes; reconciles in flight
/// then finish, for at most [`SHUTDOWN_GRACE`]. Events are published as `instance` (the
/// replica's name) when given. `caches_synced` is called once the tenant cache has listed
/// everything (what the others wait for). Leader election is the caller's
/// ([`crate::operator`]): this runs the controllers unconditionally.
pub async fn run_controllers(
    client: Client,
    storage: Storage,
    metrics: Arc<Metrics>,
    webhooks: WebhookClient,
    instance: Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    caches_synced: impl FnOnce() + Send + 'static,
) {
    let shutdown = shutdown.shared();
    let shutdown_then_grace = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        }
    };
    let config = Config::default().concurrency(8);
    // Tenants: a tenant's change reconciles its parent through a second watch of the tenants,
    // which can deliver a deletion before the controller's own cache has it; waiting a second
    // lets the cache catch up, so the parent's delegation never counts a deleted child (seen
    // under CI load), and a burst of changes is one reconcile.
    let tenants = tenancy::controller::controller(&client)
        .with_config(config.clone().debounce(Duration::from_secs(1)));
    let requests = tenancy::request_controller::controller(&client).with_config(config.clone());
    let systems = migration::system_controller::controller(&client).with_config(config.clone());
    // Plans: a burst of system changes is one replan.
    let plans = migration::plan_controller::controller(&client)
        .with_config(config.debounce(Duration::from_secs(1)));
    let ctx = Arc::new(
        Context::new(
            client,
            storage,
            metrics,
            tenants.store(),
            requests.store(),
            systems.store(),
            plans.store(),
            webhooks,
        )
        .reporting_as(instance),
    );
    // Routers and links: independent of the tenants.
    let network = crate::network::run(ctx.clone(), shutdown.clone());
    // Address pools: allocation from the routers, links and dedicated networks.
    let addressing = crate::addressing::run(ctx.clone(), shutdown.clone());
    // Dedicated networks: their VLAN/VRF ledger and phases.
    let consolidation = crate::consolidation::run(ctx.clone(), shutdown.clone());
    let tenants = tenants
        .graceful_shutdown_on(shutdown.clone())
        .run(
            tenancy::controller::reconcile,
            tenancy::controller::error_policy,
            ctx.clone(),
        )
        .for_each(|result| log_failure(result, "tenant controller"));
    // The other controllers start once the tenant cache is complete (quota requests and
    // systems are weighed against their tenant). One waiter only: kube-runtime 5's
    // `Store::wait_until_ready` wakes just the last of several concurrent waiters (its
    // `DelayedInit` polls a oneshot receiver that keeps one waker), so reconciles must not
    // each wait on it.
    let tenant_cache = ctx.tenants.clone();
    let dependents = async move {
        tokio::select! {
            ready = tenant_cache.wait_until_ready() => {
                if ready.is_err() {
                    return;
                }
                caches_synced();
            }
            () = shutdown.clone() => return,
        }
        let requests = requests
            .graceful_shutdown_on(shutdown.clone())
            .run(
                tenancy::request_controller::reconcile,
                tenancy::request_controller::error_policy,
                ctx.clone(),
            )
            .for_each(|result| log_failure(result, "quota request controller"));
        let systems = systems
            .graceful_shutdown_on(shutdown.clone())
            .run(
                migration::system_controller::reconcile,
                migration::system_controller::error_policy,
                ctx.clone(),
            )
            .for_each(|result| log_failure(result, "system migration controller"));
        let plans = plans
            .graceful_shutdown_on(shutdown)
            .run(
                migration::plan_controller::reconcile,
                migration::plan_controller::error_policy,
                ctx,
            )
            .for_each(|result| log_failure(result, "migration plan controller"));
        futures::join!(requests, systems, plans);
    };
    let all = async {
        futures::join!(tenants, dependents, network, addressing, consolidation);
    };
    tokio::select! {
        () = all => {}
        () = shutdown_then_grace => tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "controllers still running after the shutdown grace: dropping them"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes_and_resets() {
        let backoff = Backoff::default();
        let waits: Vec<u64> = (0..12).map(|_| backoff.next("t/a").as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff.next("t/b").as_secs(), 1, "per object");
        backoff.reset("t/a");
        assert_eq!(backoff.next("t/a").as_secs(), 1);
    }
}
