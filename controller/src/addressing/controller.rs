//! The kube glue of addressing: the `AddressPool` controller and the controller of routers with
//! no pool, around the pure owners, pass and status of [`govcloud_core::addressing`].
//!
//! A pool's reconcile: check the spec and its overlap with older pools (refused → `Ready=False`
//! naming the field, nothing allocated) → read the ledger → plan the wants (parents first) →
//! run the pass → record its releases and allocations, each in its own transaction (the
//! ledger's unique indexes decide; on a conflict: read the ledger again and run the pass again,
//! a bounded number of times) → the routers' prefix and `AddressAssigned` under
//! [`ROUTER_FIELD_MANAGER`] → the pool's totals under [`FIELD_MANAGER`] → events → metrics →
//! requeue when the next hold expires, at most [`PERIOD`] later.
//!
//! Triggers: the pool itself, and every significant change of a `Router` (spec, pool label,
//! deletion), an `ExtranetLink` (spec, deletion) or a `DedicatedNetwork` (spec, decommission,
//! deletion) reconciles every pool. No reconcile acts before the caches of all three kinds are
//! complete, so a restart never mistakes an unlisted object for a deleted one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt as _};
use govcloud_crds::{AddressPool, DedicatedNetwork, ExtranetLink, Router};
use kube::api::Api;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource, ResourceExt as _};
use serde::de::DeserializeOwned;

use super::error::Error;
use crate::failure::CallFailures as _;
use crate::runtime::{Context, Shutdown, log_failure};
use crate::status_apply::{apply_status, apply_status_if_changed};
use crate::storage::{NewIpamAllocation, StorageError};
use govcloud_core::addressing::owners::{self, RouterInput, Want};
use govcloud_core::addressing::pass::{self, Pass};
use govcloud_core::addressing::status::{self, PoolOutcome, RouterAddress};
use govcloud_core::ipam::{
    Allocator, LedgerEntry, LedgerError, Level, Prefix, ValidPool, check_overlaps,
};

/// The pool controller's name in metrics and logs.
pub const CONTROLLER: &str = "address-pool";
/// The router controller's name (routers with no pool) in metrics and logs.
pub const ROUTER_CONTROLLER: &str = "address-assignment";
/// The field manager of the pools' status.
pub const FIELD_MANAGER: &str = "govcloud-address-pool-controller";
/// The field manager of a router's `status.prefix` and `AddressAssigned` condition.
pub const ROUTER_FIELD_MANAGER: &str = "govcloud-ipam";
/// How often each pool is looked at without a trigger (holds expire, other pools change).
pub const PERIOD: Duration = Duration::from_secs(60);
/// Passes tried against a ledger that keeps changing before giving up (and retrying later).
pub const MAX_ATTEMPTS: usize = 5;

/// What the addressing controllers share.
pub struct AddressingContext {
    /// The controller's shared context.
    pub shared: Arc<Context>,
    /// Every pool.
    pub pools: Store<AddressPool>,
    /// Every router.
    pub routers: Store<Router>,
    /// Every extranet link.
    pub links: Store<ExtranetLink>,
    /// Every dedicated network.
    pub networks: Store<DedicatedNetwork>,
    /// Set once each cache above holds a complete listing.
    ready: [Arc<AtomicBool>; 4],
}

impl std::fmt::Debug for AddressingContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressingContext")
            .field("pools", &self.pools.state().len())
            .field("routers", &self.routers.state().len())
            .finish_non_exhaustive()
    }
}

impl AddressingContext {
    fn ready(&self) -> bool {
        self.ready.iter().all(|r| r.load(Ordering::Acquire))
    }

    fn pool_names(&self) -> BTreeSet<String> {
        self.pools.state().iter().map(|p| p.name_any()).collect()
    }
}

/// A cache of every object of `K`, and a stream that yields once per significant change (the
/// `key` of an object changed, it was deleted, or a listing completed); the stream keeps the
/// cache up to date and sets `ready` when the first listing is complete.
fn cache<K, Key>(
    client: &Client,
    ready: Arc<AtomicBool>,
    key: impl Fn(&K) -> Key + Send + 'static,
) -> (Store<K>, impl Stream<Item = ()> + Send + 'static)
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    Key: PartialEq + Send + 'static,
{
    let (store, writer) = reflector::store::<K>();
    let events = reflector::reflector(
        writer,
        watcher(Api::<K>::all(client.clone()), watcher::Config::default()).default_backoff(),
    );
    let mut seen: HashMap<String, Key> = HashMap::new();
    let changes = events.filter_map(move |event| {
        let significant = match event {
            Ok(watcher::Event::Apply(object) | watcher::Event::InitApply(object)) => {
                let k = key(&object);
                let changed = seen.get(&object.name_any()) != Some(&k);
                seen.insert(object.name_any(), k);
                changed && ready.load(Ordering::Acquire)
            }
            Ok(watcher::Event::Delete(object)) => {
                seen.remove(&object.name_any());
                true
            }
            Ok(watcher::Event::InitDone) => {
                ready.store(true, Ordering::Release);
                true
            }
            Ok(watcher::Event::Init) => false,
            Err(error) => {
                tracing::debug!(%error, "addressing watch");
                false
            }
        };
        std::future::ready(significant.then_some(()))
    });
    (store, changes)
}

/// Runs the pool controller and the controller of routers with no pool until `shutdown`.
pub async fn run(shared: Arc<Context>, shutdown: impl Shutdown) {
    let client = shared.client.clone();
    let ready: [Arc<AtomicBool>; 4] = Default::default();
    let (pools, pool_changes) = cache::<AddressPool, ()>(&client, ready[0].clone(), |_| ());
    let (routers, router_changes) = cache(&client, ready[1].clone(), |r: &Router| {
        (
            r.metadata.generation,
            r.labels().get(owners::POOL_LABEL).cloned(),
        )
    });
    let (links, link_changes) = cache(&client, ready[2].clone(), |l: &ExtranetLink| {
        l.metadata.generation
    });
    let (networks, network_changes) = cache(&client, ready[3].clone(), |n: &DedicatedNetwork| {
        (n.metadata.generation, owners::migrates_to_extranet(n))
    });
    let ctx = Arc::new(AddressingContext {
        shared,
        pools,
        routers,
        links,
        networks,
        ready,
    });
    let triggers = futures::stream::select(
        router_changes,
        futures::stream::select(link_changes, network_changes),
    );
    let pool_controller = Controller::new(
        Api::<AddressPool>::all(client.clone()),
        watcher::Config::default(),
    )
    .with_config(
        Config::default()
            .concurrency(4)
            .debounce(Duration::from_millis(300)),
    )
    .reconcile_all_on(triggers)
    .graceful_shutdown_on(shutdown.clone())
    .run(reconcile, error_policy, ctx.clone())
    .for_each(|result| log_failure(result, CONTROLLER));
    let router_controller = Controller::new(Api::<Router>::all(client), watcher::Config::default())
        .with_config(Config::default().concurrency(4))
        .reconcile_all_on(pool_changes)
        .graceful_shutdown_on(shutdown)
        .run(reconcile_router, router_error_policy, ctx)
        .for_each(|result| log_failure(result, ROUTER_CONTROLLER));
    futures::join!(pool_controller, router_controller);
}

/// Counts the error, then retries with backoff.
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime calls
pub fn error_policy(pool: Arc<AddressPool>, error: &Error, ctx: Arc<AddressingContext>) -> Action {
    ctx.shared
        .after_failure(CONTROLLER, &pool.name_any(), error)
}

/// Counts the error, then retries with backoff.
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime calls
pub fn router_error_policy(
    router: Arc<Router>,
    error: &Error,
    ctx: Arc<AddressingContext>,
) -> Action {
    ctx.shared
        .after_failure(ROUTER_CONTROLLER, &router.name_any(), error)
}

/// The objects of a cache that are not being deleted: one being deleted (a finalizer keeps it
/// a while) no longer holds prefixes.
fn live<K: Resource + Clone>(store: &Store<K>) -> impl Iterator<Item = Arc<K>>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store
        .state()
        .into_iter()
        .filter(|o| o.meta().deletion_timestamp.is_none())
}

/// Reconciles one pool.
pub async fn reconcile(
    pool: Arc<AddressPool>,
    ctx: Arc<AddressingContext>,
) -> Result<Action, Error> {
    if !ctx.ready() {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let started = Instant::now();
    let result = reconcile_pool(&pool, &ctx).await;
    ctx.shared
        .reconciled(CONTROLLER, &pool.name_any(), started, result)
}

/// The pool's spec checked, and its prefix against the pools created before it (the younger of
/// two overlapping pools is the one refused).
pub fn validate(
    pool: &AddressPool,
    all: &[Arc<AddressPool>],
) -> Result<ValidPool, govcloud_core::ipam::PoolError> {
    let valid = ValidPool::from_spec(&pool.spec)?;
    // Older first; within a second (the timestamps' precision), a ready pool before one that
    // is not, then by name.
    let age = |p: &AddressPool| {
        let ready = p
            .status
            .as_ref()
            .and_then(|s| govcloud_core::conditions::status_of(&s.conditions, status::READY))
            == Some("True");
        (p.metadata.creation_timestamp.clone(), !ready, p.name_any())
    };
    let mine = age(pool);
    let older: Vec<(String, Prefix)> = all
        .iter()
        .filter(|p| age(p) < mine)
        .filter_map(|p| Some((p.name_any(), Prefix::parse(p.spec.prefix.as_str()).ok()?)))
        .collect();
    check_overlaps(valid.prefix(), older.iter().map(|(n, p)| (n.as_str(), *p)))?;
    Ok(valid)
}

async fn reconcile_pool(pool: &AddressPool, ctx: &AddressingContext) -> Result<Action, Error> {
    let name = pool.name_any();
    let clock = ctx.shared.clock.now();
    let (now, stamp) = (clock.utc(), clock.stamp());
    let routers: Vec<RouterInput> = live(&ctx.routers)
        .map(|r| owners::from_router(&r))
        .collect();
    let pool_names = ctx.pool_names();
    let wants = {
        let links: Vec<_> = live(&ctx.links).map(|l| owners::from_link(&l)).collect();
        let networks: Vec<_> = live(&ctx.networks)
            .filter_map(|n| owners::from_network(&n))
            .collect();
        owners::wants(&name, &pool_names, &routers, &links, &networks)
    };
    let outcome = match validate(pool, &ctx.pools.state()) {
        Err(error) => Err((error.category(), error.to_string())),
        Ok(valid) => match allocate(ctx, &name, &valid, &wants, now).await? {
            Err(error) => Err((
                error.category(),
                format!("the ledger does not fit the spec: {error}"),
            )),
            Ok((pass, entries)) => Ok((valid, pass, entries)),
        },
    };
    let (pool_outcome, next) = match outcome {
        Err((reason, message)) => {
            let held = held_prefixes(ctx, &name).await?;
            for want in wants.iter().filter(|w| w.owner.kind == owners::ROUTER) {
                let held = held.get(&(want.owner.name.clone(), want.level)).copied();
                let address = status::pool_not_ready(&name, held, &message);
                write_cached_router(ctx, &want.owner.name, &address, stamp).await?;
            }
            ctx.shared.metrics.addressing().forget_pool(&name);
            (PoolOutcome::NotReady { reason, message }, PERIOD)
        }
        Ok((valid, pass, entries)) => {
            for want in wants.iter().filter(|w| w.owner.kind == owners::ROUTER) {
                if let Some(assignment) = pass.assignments.get(&want.owner) {
                    let address = status::router_address(&name, assignment);
                    write_cached_router(ctx, &want.owner.name, &address, stamp).await?;
                }
            }
            let totals = status::totals(&valid, &entries, now);
            ctx.shared.metrics.addressing().set_pool(&name, &totals);
            let exhausted = pass.exhausted().map(ToString::to_string).collect();
            (
                PoolOutcome::Served { totals, exhausted },
                next_expiry(&entries, now),
            )
        }
    };
    write_pool(ctx, pool, &pool_outcome, stamp).await?;
    ctx.shared.metrics.addressing().retain_pools(&pool_names);
    Ok(Action::requeue(next))
}

/// When the next hold of the pool expires (plus a second), at most [`PERIOD`] from now.
fn next_expiry(entries: &[LedgerEntry], now: DateTime<Utc>) -> Duration {
    entries
        .iter()
        .filter_map(|e| match e.state {
            govcloud_core::ipam::EntryState::Released {
                hold_until: Some(until),
            } if until > now => (until - now).to_std().ok(),
            _ => None,
        })
        .map(|d| d + Duration::from_secs(1))
        .fold(PERIOD, Duration::min)
}

/// Each router's active prefix in the pool's ledger, by (router, level).
async fn held_prefixes(
    ctx: &AddressingContext,
    pool: &str,
) -> Result<BTreeMap<(String, Level), Prefix>, Error> {
    let rows = ctx
        .shared
        .storage
        .ipam()
        .list_active(pool)
        .await
        .map_err(Error::storage(
            "read the ledger",
            format!("AddressPool {pool}"),
        ))?;
    Ok(rows
        .iter()
        .filter(|r| r.owner_kind == owners::ROUTER)
        .filter_map(|r| LedgerEntry::try_from(r).ok())
        .map(|e| ((e.owner.name, e.level), e.prefix))
        .collect())
}

/// The pool's ledger entries in use at `now`.
async fn ledger(
    ctx: &AddressingContext,
    pool: &str,
    now: DateTime<Utc>,
) -> Result<Result<Vec<LedgerEntry>, LedgerError>, Error> {
    let rows = ctx
        .shared
        .storage
        .ipam()
        .list_in_use(pool, now)
        .await
        .map_err(Error::storage(
            "read the ledger",
            format!("AddressPool {pool}"),
        ))?;
    Ok(rows.iter().map(LedgerEntry::try_from).collect())
}

/// Runs passes until one is recorded whole; returns it with the ledger after it, or the reason
/// the ledger cannot be read into an allocator.
async fn allocate(
    ctx: &AddressingContext,
    pool: &str,
    valid: &ValidPool,
    wants: &[Want],
    now: DateTime<Utc>,
) -> Result<Result<(Pass, Vec<LedgerEntry>), LedgerError>, Error> {
    for _ in 0..MAX_ATTEMPTS {
        let entries = match ledger(ctx, pool, now).await? {
            Ok(entries) => entries,
            Err(error) => return Ok(Err(error)),
        };
        let mut allocator = match Allocator::from_ledger(valid.clone(), entries.clone(), now) {
            Ok(allocator) => allocator,
            Err(error) => return Ok(Err(error)),
        };
        let stale = owners::stale(&entries, wants);
        let pass = pass::run(&mut allocator, wants, &stale, now);
        if pass.allocated.is_empty() && pass.released.is_empty() {
            return Ok(Ok((pass, entries)));
        }
        if record(ctx, pool, &pass, now).await? {
            let entries = match ledger(ctx, pool, now).await? {
                Ok(entries) => entries,
                Err(error) => return Ok(Err(error)),
            };
            return Ok(Ok((pass, entries)));
        }
    }
    Err(Error::Contention {
        pool: pool.to_owned(),
        attempts: MAX_ATTEMPTS,
    })
}

/// Records a pass's releases then allocations; `false` when another writer changed the ledger
/// first (a conflict, or a release of a row already released).
async fn record(
    ctx: &AddressingContext,
    pool: &str,
    pass: &Pass,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let ipam = ctx.shared.storage.ipam();
    for released in &pass.released {
        let prefix = released.release.prefix.to_string();
        match ipam
            .release(pool, &prefix, now, released.release.hold_until)
            .await
        {
            Ok(_) => tracing::debug!(pool, owner = %released.owner, %prefix, "released"),
            Err(StorageError::NotFound { .. }) => return Ok(false),
            Err(error) => {
                return Err(Error::storage(
                    "release a prefix",
                    format!("AddressPool {pool}"),
                )(error));
            }
        }
    }
    let rows: Vec<NewIpamAllocation> = pass
        .allocated
        .iter()
        .map(|new| NewIpamAllocation {
            pool: pool.to_owned(),
            prefix: new.prefix.to_string(),
            level: new.level.ledger(),
            owner_kind: new.owner.kind.clone(),
            owner_name: new.owner.name.clone(),
            allocated_at: now,
        })
        .collect();
    // One transaction for the pass's allocations: recorded whole, or planned again.
    match ipam.allocate_all(&rows).await {
        Ok(_) => {
            // One line per pass: a first pass over a city allocates hundreds of prefixes.
            for new in &pass.allocated {
                tracing::debug!(pool, owner = %new.owner, prefix = %new.prefix, "allocated");
            }
            if !pass.allocated.is_empty() {
                tracing::info!(pool, prefixes = pass.allocated.len(), "allocated");
            }
        }
        Err(StorageError::Conflict { detail, .. }) => {
            tracing::debug!(pool, %detail, "the ledger changed: planning again");
            return Ok(false);
        }
        Err(error) => {
            return Err(Error::storage(
                "record the allocations",
                format!("AddressPool {pool}"),
            )(error));
        }
    }
    Ok(true)
}

/// [`write_router`] for the router of that name in the cache, if it is there.
async fn write_cached_router(
    ctx: &AddressingContext,
    name: &str,
    address: &RouterAddress,
    stamp: k8s_openapi::jiff::Timestamp,
) -> Result<(), Error> {
    match ctx.routers.get(&reflector::ObjectRef::new(name)) {
        Some(router) => write_router(ctx, &router, address, stamp).await,
        None => Ok(()),
    }
}

/// Applies a router's prefix and `AddressAssigned` when they changed, with an event.
async fn write_router(
    ctx: &AddressingContext,
    router: &Router,
    address: &RouterAddress,
    stamp: k8s_openapi::jiff::Timestamp,
) -> Result<(), Error> {
    let name = router.name_any();
    let name = name.as_str();
    let previous = router.status.as_ref();
    let Some(fields) = status::router_patch(previous, address, router.metadata.generation, stamp)
    else {
        return Ok(());
    };
    let api = Api::<Router>::all(ctx.shared.client.clone());
    let result = apply_status(&api, name, ROUTER_FIELD_MANAGER, &fields).await;
    match result {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
        Err(error) => return Err(Error::kube("update the prefix of router", name)(error)),
    }
    if let Some(announcement) = status::router_announcement(previous, address) {
        ctx.shared
            .announce(&router.object_ref(&()), "Allocate", announcement)
            .await;
    }
    Ok(())
}

/// Applies the pool's status when it changed, with the events of its transitions.
async fn write_pool(
    ctx: &AddressingContext,
    pool: &AddressPool,
    outcome: &PoolOutcome,
    stamp: k8s_openapi::jiff::Timestamp,
) -> Result<(), Error> {
    let name = pool.name_any();
    let previous = pool.status.clone().unwrap_or_default();
    let desired = status::pool_status(&previous, outcome, pool.metadata.generation, stamp);
    let api = Api::<AddressPool>::all(ctx.shared.client.clone());
    let applied = apply_status_if_changed(&api, &name, FIELD_MANAGER, &previous, &desired)
        .await
        .map_err(Error::kube(
            "update the status of address pool",
            name.clone(),
        ))?;
    if !applied {
        return Ok(());
    }
    for announcement in status::pool_announcements(&previous, &desired) {
        ctx.shared
            .announce(&pool.object_ref(&()), "Allocate", announcement)
            .await;
    }
    Ok(())
}

/// Reconciles one router for its pool: a router with no pool (none named or existing, or
/// several and none named) gets `AddressAssigned=False` and no prefix; a router with a pool is
/// its pool's business.
pub async fn reconcile_router(
    router: Arc<Router>,
    ctx: Arc<AddressingContext>,
) -> Result<Action, Error> {
    if !ctx.ready() {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let started = Instant::now();
    let input = owners::from_router(&router);
    let result = match owners::pool_of(&input, &ctx.pool_names()) {
        Ok(_) => Ok(()),
        Err(why) => {
            let stamp = ctx.shared.clock.now().stamp();
            write_router(&ctx, &router, &status::unassigned(&why), stamp).await
        }
    };
    ctx.shared
        .reconciled(ROUTER_CONTROLLER, &router.name_any(), started, result)
        .map(|()| Action::await_change())
}
