//! The `MigrationPlan` reconciler, the kube glue around the pure planner: fetch (the selected
//! systems from the cache, each reduced to a [`SystemInput`] with what it waits for) → plan
//! ([`plan_campaign`], pure) → status (the campaign's, and each selected system's plan, wave,
//! window and blockers, server-side applied under [`FIELD_MANAGER`] only where they changed)
//! → metrics. A system selected by several plans belongs to the first by name.

use crate::failure::CallFailures as _;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use govcloud_crds::common::Decision;
use govcloud_crds::migration::plan::{BlockerReason, MigrationPlanStatus};
use govcloud_crds::migration::system::{MigrationPhase, SystemMigrationStatus};
use govcloud_crds::{MigrationPlan, SystemMigration};
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::core::{Selector, SelectorExt as _};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};

use super::reconcile_error::Error;
use super::runtime::MigrationContext;
use super::system_controller::key_of;
use crate::status_apply::{apply_status, apply_status_if_changed};
use govcloud_core::conditions;
use govcloud_core::kube_time::{from_kube, to_kube};
use govcloud_core::migration::gate::QUOTA_EXCEEDED;
use govcloud_core::migration::input::{CampaignSpec, Hold, SystemInput};
use govcloud_core::migration::plan::{CampaignPlan, plan_campaign};
use govcloud_core::migration::status::to_status;
use govcloud_core::tenancy::ownership::Ownership;

/// The controller's name in metrics and logs.
pub const CONTROLLER: &str = "migration-plan";
/// The field manager of what the plan controller writes (its status, and the campaign's
/// fields of each system's status).
pub const FIELD_MANAGER: &str = "govcloud-migration-plan-controller";
/// Assignments written at once: each system's status is a request of its own.
const ASSIGNMENTS_IN_FLIGHT: usize = 16;
/// How often a plan is replanned without a change: windows open and close with time.
pub const RESYNC: Duration = Duration::from_secs(5 * 60);

/// The controller of `MigrationPlan`s, replanning every plan when a system changes what the
/// planner reads of it — its spec, labels, phase, quota verdict or the window it is migrating
/// in — and not when only the fields this controller assigns (or other counters) change.
pub fn controller(client: &Client) -> Controller<MigrationPlan> {
    let plans: Api<MigrationPlan> = Api::all(client.clone());
    let controller = Controller::new(plans, watcher::Config::default());
    let store = controller.store();
    let seen: Mutex<HashMap<String, String>> = Mutex::new(HashMap::new());
    controller.watches(
        Api::<SystemMigration>::all(client.clone()),
        watcher::Config::default(),
        move |system| {
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            if system.metadata.deletion_timestamp.is_some() {
                // Being deleted, or gone (a deletion's last event looks the same): replan each
                // time, and forget it.
                seen.remove(&key_of(&system));
            } else {
                let input = planner_input(&system);
                if seen.insert(key_of(&system), input.clone()) == Some(input) {
                    return Vec::new();
                }
            }
            store
                .state()
                .iter()
                .map(|p| ObjectRef::from_obj(p.as_ref()))
                .collect::<Vec<_>>()
        },
    )
}

/// What the planner reads of `system`, as one comparable string.
fn planner_input(system: &SystemMigration) -> String {
    let status = system.status.clone().unwrap_or_default();
    let quota = conditions::status_of(&status.conditions, QUOTA_EXCEEDED);
    serde_json::to_string(&(
        system.metadata.generation,
        system.labels(),
        status.phase,
        quota,
        &status.window_end,
    ))
    .unwrap_or_default()
}

/// Counts the error, then waits for a change (permanent) or retries with backoff (transient).
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime calls
pub fn error_policy(plan: Arc<MigrationPlan>, error: &Error, ctx: Arc<MigrationContext>) -> Action {
    ctx.shared
        .after_failure(CONTROLLER, &plan.name_any(), error)
}

fn selector(plan: &MigrationPlan) -> Option<Selector> {
    match &plan.spec.system_selector {
        None => Some(Selector::default()),
        Some(selector) => Selector::try_from(selector.clone()).ok(),
    }
}

/// What a system waits for, from its phase and conditions.
fn hold_and_busy(
    system: &SystemMigration,
    status: &SystemMigrationStatus,
    now: DateTime<Utc>,
) -> (Option<Hold>, Option<DateTime<Utc>>) {
    let denied = system
        .spec
        .approval
        .as_ref()
        .is_some_and(|a| a.decision == Decision::Denied);
    let quota = conditions::status_of(&status.conditions, QUOTA_EXCEEDED) == Some("True");
    match status.phase {
        MigrationPhase::Pending | MigrationPhase::Assessed | MigrationPhase::Approved if quota => {
            (Some(Hold::Soft(BlockerReason::QuotaExceeded)), None)
        }
        MigrationPhase::Pending | MigrationPhase::Assessed => {
            (Some(Hold::Soft(BlockerReason::AwaitingApproval)), None)
        }
        MigrationPhase::Migrating | MigrationPhase::Verifying => {
            let end = status
                .window_end
                .as_ref()
                .and_then(from_kube)
                .unwrap_or(now);
            (None, Some(end.max(now)))
        }
        MigrationPhase::Failed | MigrationPhase::RollingBack | MigrationPhase::RolledBack => {
            (Some(Hold::Hard(BlockerReason::AwaitingOperations)), None)
        }
        MigrationPhase::Rejected if denied => {
            (Some(Hold::Hard(BlockerReason::AwaitingOperations)), None)
        }
        _ => (None, None),
    }
}

/// Reconciles one campaign.
pub async fn reconcile(
    plan: Arc<MigrationPlan>,
    ctx: Arc<MigrationContext>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_plan(&plan, &ctx).await;
    ctx.shared
        .reconciled(CONTROLLER, &plan.name_any(), started, result)
}

async fn reconcile_plan(plan: &MigrationPlan, ctx: &MigrationContext) -> Result<Action, Error> {
    let name = plan.name_any();
    let clock = ctx.shared.clock.now();
    let (utc_now, now) = (clock.utc(), clock.stamp());
    let spec = match CampaignSpec::from_spec(&plan.spec) {
        Ok(spec) => spec,
        Err(source) => {
            let error = Error::InvalidPlan {
                plan: name.clone(),
                source,
            };
            record_invalid(ctx, plan, &error, now).await?;
            return Err(error);
        }
    };
    let plans = ctx.plans.state();
    // The first plan by name selecting a system owns it (this one, even before the cache
    // holds it).
    let selectors: Vec<(String, Option<Selector>)> = plans
        .iter()
        .filter(|p| p.name_any() != name)
        .map(|p| (p.name_any(), selector(p)))
        .chain(std::iter::once((name.clone(), selector(plan))))
        .collect();
    let own = |system: &SystemMigration| -> bool {
        let labels = system.labels();
        selectors
            .iter()
            .filter(|(_, s)| s.as_ref().is_some_and(|s| s.matches(labels)))
            .map(|(plan, _)| plan)
            .min()
            == Some(&name)
    };
    let tenants = Ownership::new(&ctx.tenants.state());
    let all = ctx.systems.state();
    let selected: Vec<Arc<SystemMigration>> = all.iter().filter(|s| own(s)).cloned().collect();
    let mut inputs = Vec::with_capacity(selected.len());
    let mut invalid: BTreeMap<String, String> = BTreeMap::new();
    for system in &selected {
        let namespace = system.metadata.namespace.clone().unwrap_or_default();
        let status = system.status.clone().unwrap_or_default();
        let tenant = tenants.owner(&namespace).unwrap_or(&namespace);
        match SystemInput::from_spec(
            &namespace,
            &system.name_any(),
            tenant,
            &system.spec,
            status.phase,
        ) {
            Ok(mut input) => {
                (input.hold, input.busy_until) = hold_and_busy(system, &status, utc_now);
                inputs.push(input);
            }
            Err(error) => {
                invalid.insert(key_of(system), error.to_string());
            }
        }
    }
    let campaign = plan_campaign(&spec, &inputs, utc_now).map_err(|source| Error::InvalidPlan {
        plan: name.clone(),
        source,
    })?;
    let previous = plan.status.clone().unwrap_or_default();
    let desired = to_status(
        &campaign,
        &previous.conditions,
        plan.metadata.generation,
        now,
    );
    write_plan_status(ctx, &name, &previous, &desired).await?;
    futures::stream::iter(selected.iter().map(Ok))
        .try_for_each_concurrent(ASSIGNMENTS_IN_FLIGHT, |system| {
            assign(ctx, system, &name, &campaign, invalid.get(&key_of(system)))
        })
        .await?;
    // Systems this plan no longer selects lose its assignment.
    for system in all.iter().filter(|s| {
        s.status.as_ref().and_then(|st| st.plan.as_deref()) == Some(name.as_str()) && !own(s)
    }) {
        apply_assignment(ctx, system, &serde_json::json!({})).await?;
    }
    record_metrics(ctx, &name, &campaign, &selected, &all);
    Ok(Action::requeue(RESYNC))
}

async fn record_invalid(
    ctx: &MigrationContext,
    plan: &MigrationPlan,
    error: &Error,
    now: Timestamp,
) -> Result<(), Error> {
    let previous = plan.status.clone().unwrap_or_default();
    let mut desired = previous.clone();
    let message = match error {
        Error::InvalidPlan { source, .. } => source.to_string(),
        other => other.to_string(),
    };
    conditions::set(
        &mut desired.conditions,
        &conditions::Desired {
            kind: govcloud_core::migration::status::ON_TRACK,
            status: "Unknown",
            reason: error.category(),
            message,
        },
        plan.metadata.generation,
        now,
    );
    desired.observed_generation = plan.metadata.generation;
    write_plan_status(ctx, &plan.name_any(), &previous, &desired).await
}

async fn write_plan_status(
    ctx: &MigrationContext,
    name: &str,
    previous: &MigrationPlanStatus,
    desired: &MigrationPlanStatus,
) -> Result<(), Error> {
    let api = Api::<MigrationPlan>::all(ctx.shared.client.clone());
    apply_status_if_changed(&api, name, FIELD_MANAGER, previous, desired)
        .await
        .map_err(Error::kube("update the status of migration plan", name))?;
    Ok(())
}

/// Writes the campaign's fields of one system's status when they changed.
async fn assign(
    ctx: &MigrationContext,
    system: &SystemMigration,
    plan: &str,
    campaign: &CampaignPlan,
    invalid: Option<&String>,
) -> Result<(), Error> {
    let key = key_of(system);
    let current = system.status.clone().unwrap_or_default();
    let mut desired = SystemMigrationStatus {
        plan: Some(plan.to_owned()),
        ..SystemMigrationStatus::default()
    };
    let busy = matches!(
        current.phase,
        MigrationPhase::Migrating | MigrationPhase::Verifying
    );
    if busy {
        // A system migrating keeps the window it started in.
        desired.window_start.clone_from(&current.window_start);
        desired.window_end.clone_from(&current.window_end);
    } else if let Some(assignment) = campaign.assignments.get(&key) {
        desired.window_start = to_kube(assignment.start);
        desired.window_end = to_kube(assignment.end);
    }
    desired.wave =
        campaign
            .assignments
            .get(&key)
            .map(|a| a.wave)
            .or(if busy { current.wave } else { None });
    if let Some(block) = campaign.blocked.get(&key) {
        desired.blockers = vec![block.to_string()];
    }
    if let Some(message) = invalid {
        desired.blockers = vec![message.clone()];
    }
    let previous = campaign_fields(&current);
    let fields = campaign_fields(&desired);
    if previous == fields {
        return Ok(());
    }
    apply_assignment(ctx, system, &fields).await
}

/// The campaign's fields of a system's status (plan, wave, window, blockers), as this
/// controller applies them: the absent ones left out.
fn campaign_fields(status: &SystemMigrationStatus) -> serde_json::Value {
    let mut fields = serde_json::Map::new();
    if let Some(plan) = &status.plan {
        fields.insert("plan".into(), serde_json::json!(plan));
    }
    if let Some(wave) = status.wave {
        fields.insert("wave".into(), serde_json::json!(wave));
    }
    if let Some(start) = &status.window_start {
        fields.insert("windowStart".into(), serde_json::json!(start));
    }
    if let Some(end) = &status.window_end {
        fields.insert("windowEnd".into(), serde_json::json!(end));
    }
    if !status.blockers.is_empty() {
        fields.insert("blockers".into(), serde_json::json!(status.blockers));
    }
    serde_json::Value::Object(fields)
}

/// Applies the campaign's `fields` of a system's status (none: the system leaves the
/// campaign); nothing when the system is gone.
async fn apply_assignment(
    ctx: &MigrationContext,
    system: &SystemMigration,
    fields: &serde_json::Value,
) -> Result<(), Error> {
    let namespace = system.metadata.namespace.clone().unwrap_or_default();
    let api = Api::<SystemMigration>::namespaced(ctx.shared.client.clone(), &namespace);
    match apply_status(&api, &system.name_any(), FIELD_MANAGER, fields).await {
        // Deleted since the cache saw it: nothing to assign.
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        other => other
            .map(drop)
            .map_err(Error::kube("assign a window to system", key_of(system))),
    }
}

fn record_metrics(
    ctx: &MigrationContext,
    name: &str,
    campaign: &CampaignPlan,
    selected: &[Arc<SystemMigration>],
    all: &[Arc<SystemMigration>],
) {
    let rejected = selected
        .iter()
        .filter(|s| {
            s.status
                .as_ref()
                .is_some_and(|st| st.phase == MigrationPhase::Rejected)
        })
        .count();
    let to_migrate = selected.len().saturating_sub(rejected);
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let ratio = if to_migrate == 0 {
        1.0
    } else {
        f64::from(campaign.completed_systems) / to_migrate as f64
    };
    ctx.shared.metrics.migration().set_campaign(
        name,
        ratio,
        campaign.projection.days_late,
        campaign.projection.on_track,
    );
    let existing: BTreeSet<String> = ctx.plans.state().iter().map(|p| p.name_any()).collect();
    ctx.shared.metrics.migration().retain_campaigns(&existing);
    // Every system, whichever plan it is in.
    let tenants = Ownership::new(&ctx.tenants.state());
    let mut by_phase: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut failed: BTreeMap<String, i64> = BTreeMap::new();
    for system in all {
        let namespace = system.metadata.namespace.clone().unwrap_or_default();
        let tenant = tenants
            .owner(&namespace)
            .map_or(namespace.clone(), str::to_owned);
        let status = system.status.clone().unwrap_or_default();
        *by_phase
            .entry((tenant.clone(), format!("{:?}", status.phase)))
            .or_default() += 1;
        let entry = failed.entry(tenant).or_default();
        if status.phase == MigrationPhase::Failed && status.point_of_no_return_passed {
            *entry += 1;
        }
    }
    ctx.shared
        .metrics
        .migration()
        .set_migration_systems(&by_phase);
    ctx.shared
        .metrics
        .migration()
        .set_failed_after_point_of_no_return(&failed);
}
