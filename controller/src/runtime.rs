//! What every controller shares, and [`run_controllers`], which starts each capability's
//! controllers through its own `run` — tenancy, migration, network, addressing, consolidation —
//! until shutdown. The shared [`Context`] holds the client, storage, event recorder, metrics,
//! per-object backoff, the clock and the tenant cache (read by tenancy and migration); each
//! capability keeps its own caches in its own context.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::controller::Action;
use kube::runtime::controller::Config;
use kube::runtime::events::{Recorder, Reporter};

use crate::activity::Activity;
use crate::announcement::Announcement;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::migration::webhook::WebhookClient;
use crate::retry::Backoff;
use crate::storage::Storage;
use crate::tenancy::TenantCache;

/// The name the controller reports events under.
pub const REPORTER: &str = "govcloud-controller";

/// What the error policy needs of a reconciler's error.
pub trait ReconcileError: std::error::Error + 'static {
    /// Static category: condition reason, event reason and metric label.
    fn category(&self) -> &'static str;
    /// Whether only a change of the object can fix it (else: retry with backoff).
    fn is_permanent(&self) -> bool;
}

/// The future whose completion stops the controllers: shared by every capability's `run`.
pub trait Shutdown: Future<Output = ()> + Clone + Send + Sync + 'static {}

impl<F: Future<Output = ()> + Clone + Send + Sync + 'static> Shutdown for F {}

/// What every reconcile of every controller shares.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// SQL storage.
    pub storage: Storage,
    /// Publishes Kubernetes events ([`Context::announce`]).
    pub recorder: Recorder,
    /// The controller's metrics.
    pub metrics: Arc<Metrics>,
    /// Backoff of transient failures, per object ([`crate::retry::RetryPolicy::RECONCILE`]):
    /// forgotten on success, and once idle (objects deleted while failing).
    pub backoff: Backoff,
    /// The tenant cache, once complete (published by tenancy, read by migration).
    pub tenants: TenantCache,
    /// The controllers' one clock.
    pub clock: Clock,
    /// News in SQL (reports, served configurations, allocations), for the controllers that
    /// subscribe ([`crate::activity`]).
    pub activity: Activity,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("storage", &self.storage.redacted_url())
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context over `client` and `storage`, counting in `metrics`.
    pub fn new(client: Client, storage: Storage, metrics: Arc<Metrics>) -> Self {
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
            backoff: Backoff::default(),
            tenants: TenantCache::default(),
            clock: Clock::system(),
            activity: Activity::default(),
        }
    }

    /// The same context, reading the time from `clock` (a test's fixed or stepped clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
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

    /// What a controller does after a reconcile of `object` that began at `started`: counts
    /// it, and forgets the object's failures when it succeeded.
    pub fn reconciled<T, E>(
        &self,
        controller: &'static str,
        object: &str,
        started: std::time::Instant,
        result: Result<T, E>,
    ) -> Result<T, E> {
        self.metrics.reconciled(controller, started.elapsed());
        if result.is_ok() {
            self.backoff.reset(&backoff_key(controller, object));
        }
        result
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
            let delay = self.backoff.next(&backoff_key(controller, object));
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

/// The backoff's key of `object` under `controller`.
fn backoff_key(controller: &str, object: &str) -> String {
    format!("{controller}/{object}")
}

/// The configuration of a controller: eight reconciles at once.
pub fn controller_config() -> Config {
    Config::default().concurrency(8)
}

/// Logs what a controller's stream reports as failed (its reconciles log their own errors).
pub fn log_failure<T, E: std::error::Error + 'static>(
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

/// Runs every capability's controllers ([`crate::tenancy::run`], [`crate::migration::run`],
/// [`crate::network::run`], [`crate::addressing::run`], [`crate::consolidation::run`]) against
/// `client` until `shutdown` completes; reconciles in flight then finish, for at most
/// [`SHUTDOWN_GRACE`]. Events are published as `instance` (the replica's name) when given.
/// `caches_synced` is called once the tenant cache has listed everything (what quota requests
/// and migrations wait for). Leader election is the caller's ([`crate::operator`]): this runs
/// the controllers unconditionally.
pub async fn run_controllers(
    client: Client,
    storage: Storage,
    metrics: Arc<Metrics>,
    webhooks: WebhookClient,
    instance: Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    caches_synced: impl FnOnce() + Send + 'static,
) {
    let shutdown = shutdown.boxed().shared();
    let shared = Arc::new(Context::new(client, storage, metrics).reporting_as(instance));
    let synced = {
        let shared = Arc::clone(&shared);
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                _ = shared.tenants.ready() => caches_synced(),
                () = shutdown => {}
            }
        }
    };
    let activity = {
        let shared = Arc::clone(&shared);
        let shutdown = shutdown.clone();
        async move { crate::activity::watch(shared.storage.clone(), &shared.activity, shutdown).await }
    };
    let all = futures::future::join3(
        synced,
        activity,
        futures::future::join5(
            crate::tenancy::run(Arc::clone(&shared), shutdown.clone()),
            crate::migration::run(Arc::clone(&shared), webhooks, shutdown.clone()),
            crate::network::run(Arc::clone(&shared), shutdown.clone()),
            crate::addressing::run(Arc::clone(&shared), shutdown.clone()),
            crate::consolidation::run(shared, shutdown.clone()),
        ),
    );
    let shutdown_then_grace = async move {
        shutdown.await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        _ = all => {}
        () = shutdown_then_grace => tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "controllers still running after the shutdown grace: dropping them"
        ),
    }
}
