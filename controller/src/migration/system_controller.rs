//! The `SystemMigration` reconciler, the kube glue around [`govcloud_core::migration::gate`] and
//! [`govcloud_core::migration::runbook`]: fetch (the tenant's room from the tenant cache and the reservation
//! ledger) → decide the gate (pure) → reserve (one SQL transaction) → run the runbook, writing
//! the status before each action and after it → status (server-side apply under
//! [`FIELD_MANAGER`] of the fields this controller owns; the campaign's fields — plan, wave,
//! window, blockers — belong to the plan controller). A finalizer releases the reservation of
//! a deleted system.

use crate::failure::CallFailures as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use govcloud_crds::SystemMigration;
use govcloud_crds::common::ResourceList;
use govcloud_crds::migration::system::{MigrationPhase, SystemMigrationStatus};
use govcloud_crds::{Tenant, quantity::ResourceKind};
use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{self, Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt as _};

use super::reconcile_error::Error;
use super::runtime::MigrationContext;
use super::steps;
use crate::announcement::Announcement;
use crate::status_apply::apply_status;
use crate::storage::{NewReservation, ReserveOutcome, ReservedAmounts};
use govcloud_core::kube_time::from_kube;
use govcloud_core::migration::gate::{self, Facts, Gate, TenantRoom};
use govcloud_core::migration::runbook::{self, Next, Outcome, Transition};
use govcloud_core::tenancy::quota::{Quota, partial_from_amounts, partial_from_list};

/// The controller's name in metrics and logs.
pub const CONTROLLER: &str = "system-migration";
/// The field manager of the fields this controller writes.
pub const FIELD_MANAGER: &str = "govcloud-migration-controller";
/// Finalizer that releases a deleted system's quota reservation (it lives in SQL).
pub const RESERVATION_FINALIZER: &str = "govcloud.io/release-quota";
/// The longest a timer waits for a window to open: a day, so that a clock set right meanwhile
/// is heeded within one.
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 60 * 60);
/// How soon a step in flight with no time of its own (a Job, whose changes are watched) is
/// looked at again.
const IN_FLIGHT: Duration = Duration::from_secs(5 * 60);
/// The most runbook actions one reconcile takes (the rest in the next one).
const MAX_ACTIONS_PER_RECONCILE: usize = 32;

/// The controller of `SystemMigration`s: triggered by systems, by the Jobs of their steps, and
/// by their tenant (whose quota decides whether they fit).
pub fn controller(client: &Client) -> Controller<SystemMigration> {
    let systems: Api<SystemMigration> = Api::all(client.clone());
    let controller = Controller::new(systems, watcher::Config::default());
    let store = controller.store();
    let waiting = store.clone();
    let rooms: Mutex<HashMap<String, String>> = Mutex::new(HashMap::new());
    controller
        .owns(
            Api::<Job>::all(client.clone()),
            watcher::Config::default().labels(steps::SYSTEM_LABEL),
        )
        .watches(
            Api::<Tenant>::all(client.clone()),
            watcher::Config::default(),
            move |tenant| {
                // Only what a system's gate reads of its tenant: namespaces and quota figures
                // (not the conditions and counters the tenant controller rewrites).
                let room = tenant.status.as_ref().map_or_else(String::new, |s| {
                    serde_json::to_string(&(&s.namespaces, &s.hard, &s.delegated, &s.used))
                        .unwrap_or_default()
                });
                let mut seen = rooms.lock().unwrap_or_else(PoisonError::into_inner);
                if seen.insert(tenant.name_any(), room.clone()) == Some(room) {
                    return Vec::new();
                }
                systems_of_tenant(&store, &tenant)
            },
        )
        .watches(
            Api::<SystemMigration>::all(client.clone()),
            watcher::Config::default(),
            move |system| waiting_for_quota(&waiting, &system),
        )
}

/// When `system` gives its reservation back (done, rolled back, rejected or being deleted),
/// the systems waiting for quota are weighed again.
fn waiting_for_quota(
    store: &Store<SystemMigration>,
    system: &SystemMigration,
) -> Vec<ObjectRef<SystemMigration>> {
    let releases = system.metadata.deletion_timestamp.is_some()
        || system.status.as_ref().is_some_and(|s| {
            matches!(
                s.phase,
                MigrationPhase::Completed | MigrationPhase::RolledBack | MigrationPhase::Rejected
            )
        });
    if !releases {
        return Vec::new();
    }
    store
        .state()
        .iter()
        .filter(|s| {
            s.status.as_ref().is_some_and(|st| {
                govcloud_core::conditions::status_of(&st.conditions, gate::QUOTA_EXCEEDED)
                    == Some("True")
            })
        })
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}

fn systems_of_tenant(
    store: &Store<SystemMigration>,
    tenant: &Tenant,
) -> Vec<ObjectRef<SystemMigration>> {
    let namespaces = tenant
        .status
        .as_ref()
        .map(|s| s.namespaces.clone())
        .unwrap_or_default();
    store
        .state()
        .iter()
        .filter(|s| {
            s.metadata
                .namespace
                .as_ref()
                .is_some_and(|ns| namespaces.contains(ns))
        })
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}

/// `namespace/name` of a system.
pub fn key_of(system: &SystemMigration) -> String {
    format!(
        "{}/{}",
        system.metadata.namespace.as_deref().unwrap_or_default(),
        system.name_any()
    )
}

/// Reconciles one system (or, once it is being deleted, releases its reservation).
pub async fn reconcile(
    system: Arc<SystemMigration>,
    ctx: Arc<MigrationContext>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let namespace = system.metadata.namespace.clone().unwrap_or_default();
    let api: Api<SystemMigration> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    let key = key_of(&system);
    let result = finalizer(
        &api,
        RESERVATION_FINALIZER,
        Arc::clone(&system),
        |event| async {
            match event {
                FinalizerEvent::Apply(system) => Box::pin(reconcile_system(&system, &ctx)).await,
                FinalizerEvent::Cleanup(system) => {
                    ctx.shared
                        .storage
                        .reservations()
                        .release(&key_of(&system))
                        .await
                        .map_err(Error::storage("release the quota of", key_of(&system)))?;
                    ctx.writes.forget(&key_of(&system));
                    Ok(Action::await_change())
                }
            }
        },
    )
    .await
    .map_err(|error| match error {
        finalizer::Error::ApplyFailed(error) | finalizer::Error::CleanupFailed(error) => error,
        finalizer::Error::AddFinalizer(source) | finalizer::Error::RemoveFinalizer(source) => {
            Error::kube("update the finalizers of", format!("SystemMigration {key}"))(source)
        }
        finalizer::Error::UnnamedObject | finalizer::Error::InvalidFinalizer => {
            Error::MissingMetadata {
                object: "a SystemMigration".into(),
                field: "metadata.name",
            }
        }
    });
    ctx.shared.reconciled(CONTROLLER, &key, started, result)
}

/// Counts the error, then waits for a change (permanent) or retries with backoff (transient).
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime calls
pub fn error_policy(
    system: Arc<SystemMigration>,
    error: &Error,
    ctx: Arc<MigrationContext>,
) -> Action {
    ctx.shared
        .after_failure(CONTROLLER, &key_of(&system), error)
}

async fn reconcile_system(
    cached: &SystemMigration,
    ctx: &MigrationContext,
) -> Result<Action, Error> {
    // Acting on a status older than this controller's last write would repeat a step (call a
    // webhook again, start the runbook over): when the cache may not hold that write yet, read
    // the system afresh.
    let key = key_of(cached);
    let fresh;
    let system = if ctx.writes.seen_in(&key, cached) {
        cached
    } else {
        let namespace = cached.metadata.namespace.clone().unwrap_or_default();
        let Some(read) = Api::<SystemMigration>::namespaced(ctx.shared.client.clone(), &namespace)
            .get_opt(&cached.name_any())
            .await
            .map_err(Error::kube("read system", key.clone()))?
        else {
            return Ok(Action::await_change());
        };
        fresh = read;
        &fresh
    };
    let status = system.status.clone().unwrap_or_default();
    match status.phase {
        MigrationPhase::Migrating
        | MigrationPhase::Verifying
        | MigrationPhase::RollingBack
        | MigrationPhase::Failed => run_runbook(system, ctx, status).await,
        MigrationPhase::Completed | MigrationPhase::RolledBack => {
            // Done: the reservation is released (again, in case a crash came between).
            ctx.shared
                .storage
                .reservations()
                .release(&key_of(system))
                .await
                .map_err(Error::storage("release the quota of", key_of(system)))?;
            Ok(Action::await_change())
        }
        _ => Box::pin(pass_gates(system, ctx, status)).await,
    }
}

/// The tenant owning `namespace` (by its status) and its room: quota minus delegated, used and
/// the reservations of its other systems.
async fn tenant_room(
    ctx: &MigrationContext,
    namespace: &str,
    key: &str,
) -> Result<Option<(TenantRoom, Quota)>, Error> {
    let Some(tenant) = ctx.tenants.state().into_iter().find(|t| {
        t.status
            .as_ref()
            .is_some_and(|s| s.namespaces.iter().any(|ns| ns == namespace))
    }) else {
        return Ok(None);
    };
    let name = tenant.name_any();
    let Some(status) = tenant.status.as_ref() else {
        return Ok(None);
    };
    // Unreadable amounts in another controller's status count as nothing free.
    let read = |list, path| partial_from_list(list, path).map(|p| Quota::from_partial(&p));
    let capacity = match (
        read(&status.hard, "status.hard"),
        read(&status.delegated, "status.delegated"),
        read(&status.used, "status.used"),
    ) {
        (Ok(hard), Ok(delegated), Ok(used)) => {
            hard.minus_floor_zero(delegated).minus_floor_zero(used)
        }
        _ => Quota::ZERO,
    };
    let others = ctx
        .shared
        .storage
        .reservations()
        .list_by_tenant(&name)
        .await
        .map_err(Error::storage(
            "list the quota reservations of",
            name.clone(),
        ))?
        .into_iter()
        .filter(|r| r.system != key)
        .fold(Quota::ZERO, |sum, r| sum.plus(from_reserved(r.amounts)));
    Ok(Some((
        TenantRoom {
            tenant: name,
            free: capacity.minus_floor_zero(others),
        },
        capacity,
    )))
}

fn to_reserved(quota: Quota) -> ReservedAmounts {
    let milli = |r| i64::try_from(quota.get(r).milli()).unwrap_or(i64::MAX);
    ReservedAmounts {
        cpu_milli: milli(ResourceKind::Cpu),
        memory_milli: milli(ResourceKind::Memory),
        storage_milli: milli(ResourceKind::Storage),
    }
}

fn from_reserved(amounts: ReservedAmounts) -> Quota {
    use govcloud_crds::quantity::Amount;
    Quota {
        cpu: Amount::from_milli(amounts.cpu_milli.into()),
        memory: Amount::from_milli(amounts.memory_milli.into()),
        storage: Amount::from_milli(amounts.storage_milli.into()),
    }
}

fn window_of(status: &SystemMigrationStatus) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    Some((
        from_kube(status.window_start.as_ref()?)?,
        from_kube(status.window_end.as_ref()?)?,
    ))
}

/// The gates before the runbook; starts the runbook when the window is open.
async fn pass_gates(
    system: &SystemMigration,
    ctx: &MigrationContext,
    status: SystemMigrationStatus,
) -> Result<Action, Error> {
    let key = key_of(system);
    let namespace = system.metadata.namespace.clone().unwrap_or_default();
    let uid = system.metadata.uid.clone().ok_or(Error::MissingMetadata {
        object: format!("SystemMigration {key}"),
        field: "metadata.uid",
    })?;
    let request = partial_from_amounts(&system.spec.resources, "spec.resources")
        .map(|p| Quota::from_partial(&p))
        .map_err(|source| Error::InvalidResources {
            system: key.clone(),
            source,
        })?;
    let (utc_now, now) = {
        let now = ctx.shared.clock.now();
        (now.utc(), now.time())
    };
    let room = tenant_room(ctx, &namespace, &key).await?;
    let held = ctx
        .shared
        .storage
        .reservations()
        .find(&key)
        .await
        .map_err(Error::storage("read the quota reservation of", key.clone()))?
        .filter(|r| r.system_uid == uid);
    let mut facts = Facts {
        spec: &system.spec,
        request,
        tenant: room.as_ref().map(|(room, _)| room),
        reserved: held.is_some(),
        window: window_of(&status),
        now: utc_now,
    };
    let mut decision = gate::decide(&facts);
    if let (Gate::Reserve, Some((room, capacity))) = (&decision, &room) {
        let new = NewReservation {
            system: key.clone(),
            system_uid: uid.clone(),
            tenant: room.tenant.clone(),
            amounts: to_reserved(request),
            reserved_at: utc_now,
        };
        decision = reserve(ctx, &new, *capacity, request, &mut facts).await?;
    }
    if matches!(decision, Gate::Rejected { .. }) && facts.reserved {
        ctx.shared
            .storage
            .reservations()
            .release(&key)
            .await
            .map_err(Error::storage("release the quota of", key.clone()))?;
        facts.reserved = false;
    }
    let reserved = if facts.reserved {
        request.to_list()
    } else {
        ResourceList::new()
    };
    let generation = system.metadata.generation;
    if decision == Gate::Start {
        let mut started = gate::status(&status, &Gate::Start, reserved, generation, now.0);
        started.steps = runbook::initial_steps(&system.spec.steps);
        started.point_of_no_return_passed = false;
        write_status(ctx, system, &status, &started).await?;
        ctx.shared
            .announce(
                &system.object_ref(&()),
                "Migrate",
                Announcement::normal(
                    "MigrationStarted",
                    "the maintenance window is open: the runbook starts",
                ),
            )
            .await;
        return run_runbook(system, ctx, started).await;
    }
    let desired = gate::status(&status, &decision, reserved, generation, now.0);
    write_status(ctx, system, &status, &desired).await?;
    announce_gate(ctx, system, &status, &desired, &decision).await;
    Ok(match decision {
        // The one change no watch reports: the window opening.
        Gate::WindowNotOpen { opens } => Action::requeue(
            (opens - utc_now)
                .to_std()
                .unwrap_or(Duration::from_secs(1))
                .clamp(Duration::from_secs(1), LONGEST_WAIT),
        ),
        // Every other gate waits for a change that a watch reports: the system's spec (an
        // approval), its status (its campaign placing it), its tenant (quota, namespaces), or
        // another system giving its reservation back.
        _ => Action::await_change(),
    })
}

/// Reserves in one transaction; the gate that follows.
async fn reserve(
    ctx: &MigrationContext,
    new: &NewReservation,
    capacity: Quota,
    request: Quota,
    facts: &mut Facts<'_>,
) -> Result<Gate, Error> {
    let outcome = ctx
        .shared
        .storage
        .reservations()
        .reserve(new, to_reserved(capacity))
        .await
        .map_err(Error::storage("reserve the quota of", new.system.clone()))?;
    Ok(match outcome {
        ReserveOutcome::Reserved(_) => {
            facts.reserved = true;
            gate::decide(facts)
        }
        ReserveOutcome::Insufficient { free } => Gate::QuotaExceeded {
            approved: true,
            shortfall: gate::shortfall(request, from_reserved(free)).map_or_else(
                || "other systems reserved the tenant's free quota meanwhile".to_owned(),
                |short| format!("{short} after other reservations"),
            ),
        },
    })
}

async fn announce_gate(
    ctx: &MigrationContext,
    system: &SystemMigration,
    before: &SystemMigrationStatus,
    after: &SystemMigrationStatus,
    decision: &Gate,
) {
    if before.phase == after.phase && before.reason == after.reason {
        return;
    }
    let note = after.reason.clone().unwrap_or_default();
    let announcement = match decision {
        Gate::Rejected { .. } => Announcement::warning("Rejected", note),
        Gate::QuotaExceeded { .. } => Announcement::warning("QuotaExceeded", note),
        Gate::NoTenant => Announcement::warning("NoTenant", note),
        Gate::AwaitingApproval => Announcement::normal("Assessed", note),
        Gate::AwaitingWindow { .. } | Gate::Reserve => Announcement::normal("Approved", note),
        Gate::WindowNotOpen { .. } | Gate::Start => Announcement::normal("Scheduled", note),
        Gate::WindowMissed => Announcement::warning("WindowMissed", note),
    };
    ctx.shared
        .announce(&system.object_ref(&()), "Assess", announcement)
        .await;
}

/// Runs the runbook from `status` as far as it goes now.
async fn run_runbook(
    system: &SystemMigration,
    ctx: &MigrationContext,
    mut status: SystemMigrationStatus,
) -> Result<Action, Error> {
    let steps_spec = &system.spec.steps;
    let tenant = system.metadata.namespace.clone().unwrap_or_default();
    let generation = system.metadata.generation;
    for _ in 0..MAX_ACTIONS_PER_RECONCILE {
        let (utc_now, now) = {
            let now = ctx.shared.clock.now();
            (now.utc(), now.time())
        };
        match runbook::next(steps_spec, &status) {
            Next::Start(cursor) => {
                let job_name = steps::job_name_for(system, cursor);
                let message = steps::starting_message(steps_spec, cursor);
                let mut next = runbook::start(steps_spec, &status, cursor, &now, job_name, message);
                gate::set_runbook_ready(&mut next, generation, now.0);
                write_status(ctx, system, &status, &next).await?;
                status = next;
            }
            Next::Observe(cursor) => {
                let mut observed = status.clone();
                let observation =
                    steps::observe(ctx, system, &mut observed, cursor, utc_now).await?;
                let (mut next, transition) =
                    runbook::finish(steps_spec, &observed, cursor, &observation.outcome, &now);
                gate::set_runbook_ready(&mut next, generation, now.0);
                write_status(ctx, system, &status, &next).await?;
                if let Some(transition) = &transition {
                    record_transition(ctx, system, &next, cursor, transition, utc_now).await;
                }
                status = next;
                if matches!(observation.outcome, Outcome::InFlight { .. }) {
                    return Ok(Action::requeue(observation.retry_in.unwrap_or(IN_FLIGHT)));
                }
            }
            end @ (Next::Completed | Next::RolledBack) => {
                let completed = end == Next::Completed;
                let mut next = status.clone();
                next.phase = if completed {
                    MigrationPhase::Completed
                } else {
                    MigrationPhase::RolledBack
                };
                next.current_step = None;
                next.reserved = ResourceList::new();
                gate::set_runbook_ready(&mut next, generation, now.0);
                ctx.shared
                    .storage
                    .reservations()
                    .release(&key_of(system))
                    .await
                    .map_err(Error::storage("release the quota of", key_of(system)))?;
                write_status(ctx, system, &status, &next).await?;
                let (reason, note) = if completed {
                    (
                        "Completed",
                        "every step succeeded: the system runs on the cloud",
                    )
                } else {
                    ctx.shared.metrics.migration().rolled_back(&tenant);
                    ("RolledBack", "every completed step was rolled back")
                };
                ctx.shared
                    .announce(
                        &system.object_ref(&()),
                        "Migrate",
                        Announcement::normal(reason, note),
                    )
                    .await;
                return Ok(Action::await_change());
            }
            Next::Failed => return Ok(Action::await_change()),
        }
    }
    Ok(Action::requeue(Duration::from_secs(1)))
}

async fn record_transition(
    ctx: &MigrationContext,
    system: &SystemMigration,
    status: &SystemMigrationStatus,
    cursor: runbook::Cursor,
    transition: &Transition,
    now: DateTime<Utc>,
) {
    let step = &status.steps[cursor.index];
    let kind = cursor
        .action(&system.spec.steps)
        .map_or("Manual", |a| steps::kind_label(a.kind));
    let seconds = step
        .started_at
        .as_ref()
        .and_then(|t| u64::try_from(now.timestamp() - t.0.as_second()).ok())
        .map_or(0.0, |seconds| Duration::from_secs(seconds).as_secs_f64());
    let (outcome, announcement) = match transition {
        Transition::StepSucceeded => (
            "succeeded",
            Announcement::normal("StepSucceeded", format!("step {} succeeded", step.name)),
        ),
        Transition::StepRolledBack => (
            "rolled_back",
            Announcement::normal(
                "StepRolledBack",
                format!("step {} was rolled back", step.name),
            ),
        ),
        Transition::RollbackBegins { reason } => (
            "failed",
            Announcement::warning("RollingBack", reason.clone()),
        ),
        Transition::Failed { reason } => (
            "failed",
            Announcement::warning("FailedAfterPointOfNoReturn", reason.clone()),
        ),
    };
    ctx.shared
        .metrics
        .migration()
        .observe_step(kind, outcome, seconds);
    ctx.shared
        .announce(&system.object_ref(&()), "Migrate", announcement)
        .await;
}

/// The fields of the status the plan controller owns; never part of this controller's apply.
const PLAN_FIELDS: [&str; 5] = ["plan", "wave", "windowStart", "windowEnd", "blockers"];

/// The fields of `status` this controller owns: all but [`PLAN_FIELDS`].
fn owned_fields(status: &SystemMigrationStatus) -> serde_json::Value {
    let mut fields = serde_json::to_value(status).unwrap_or_default();
    if let Some(fields) = fields.as_object_mut() {
        for field in PLAN_FIELDS {
            fields.remove(field);
        }
    }
    fields
}

/// Server-side applies the fields of `desired` this controller owns, when they differ from
/// `current`'s.
pub(crate) async fn write_status(
    ctx: &MigrationContext,
    system: &SystemMigration,
    current: &SystemMigrationStatus,
    desired: &SystemMigrationStatus,
) -> Result<(), Error> {
    if current == desired {
        return Ok(());
    }
    let (current, desired) = (owned_fields(current), owned_fields(desired));
    if current == desired {
        return Ok(());
    }
    let namespace = system.metadata.namespace.clone().unwrap_or_default();
    let api = Api::<SystemMigration>::namespaced(ctx.shared.client.clone(), &namespace);
    let written = apply_status(&api, &system.name_any(), FIELD_MANAGER, &desired)
        .await
        .map_err(Error::kube("update the status of system", key_of(system)))?;
    ctx.writes.remember(key_of(system), &written);
    Ok(())
}
