//! The `QuotaRequest` reconciler: keeps undecided requests `Pending` until they expire, and
//! carries out decisions exactly once. An approval records the tenant's `previousQuota` in
//! the request's status before anything changes, then merge-patches the tenant's
//! `spec.quota` under the field manager [`QUOTA_FIELD_MANAGER`], appends one audit record
//! and marks the request `Applied`; a denial appends one audit record and marks it `Denied`.
//! Each step checks what earlier attempts already did (the status read fresh from the API
//! server, the audit log searched for this request's record), so a crash or a restart
//! between steps never repeats one.

use crate::failure::CallFailures as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use govcloud_crds::quantity::ResourceKind;
use govcloud_crds::tenancy::quota_request::{QuotaRequestPhase, QuotaRequestStatus};
use govcloud_crds::{QuotaRequest, Tenant};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource as _, ResourceExt as _};
use serde_json::json;

use super::error::Error;
use super::runtime::TenancyContext;
use crate::announcement::{Announcement, Severity};
use crate::status_apply::apply_status_if_changed;
use crate::storage::{AuditRecord, NewAuditRecord, Storage, StorageError};
use govcloud_core::conditions::Desired;
use govcloud_core::tenancy::hierarchy::Hierarchy;
use govcloud_core::tenancy::plan::PlanError;
use govcloud_core::tenancy::quota::{Quota, partial_from_list, partial_to_list};
use govcloud_core::tenancy::requests::{
    self, ACTION_APPLY, ACTION_DENY, APPLIED, Next, phase_counts,
};

/// The controller's name in metrics and logs.
pub const CONTROLLER: &str = "quota-request";
/// The field manager of the requests' status.
pub const FIELD_MANAGER: &str = "govcloud-quota-request-controller";
/// The field manager of the quota changes it makes to tenants.
pub const QUOTA_FIELD_MANAGER: &str = "govcloud-quota-requests";
/// The `object_kind` of its audit records.
pub const AUDIT_KIND: &str = "QuotaRequest";

/// The controller of `QuotaRequest`s, also woken by tenant changes (a tenant appearing, or
/// capacity freed for an approved request that did not fit).
pub fn controller(client: &Client) -> Controller<QuotaRequest> {
    let controller = Controller::new(
        Api::<QuotaRequest>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    controller.watches(
        Api::<Tenant>::all(client.clone()),
        watcher::Config::default(),
        move |tenant| waiting_on(&store, &tenant),
    )
}

/// Requests that may move when `tenant` changes: undecided ones of that tenant, and approved
/// ones not yet applied (whose capacity check involves parents and siblings).
fn waiting_on(store: &Store<QuotaRequest>, tenant: &Tenant) -> Vec<ObjectRef<QuotaRequest>> {
    let name = tenant.metadata.name.as_deref().unwrap_or_default();
    store
        .state()
        .iter()
        .filter(|r| {
            let phase = r.status.as_ref().map(|s| s.phase).unwrap_or_default();
            match phase {
                QuotaRequestPhase::Pending => r.spec.tenant == name || r.spec.approval.is_some(),
                QuotaRequestPhase::Approved => true,
                _ => false,
            }
        })
        .map(|r| ObjectRef::from_obj(r.as_ref()))
        .collect()
}

/// Reconciles one quota request.
pub async fn reconcile(
    request: Arc<QuotaRequest>,
    ctx: Arc<TenancyContext>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_request(&request, &ctx).await;
    ctx.shared
        .metrics
        .tenancy()
        .set_quota_requests(&phase_counts(
            ctx.requests.state().iter().map(AsRef::as_ref),
        ));
    ctx.shared
        .reconciled(CONTROLLER, &request.name_any(), started, result)
}

/// Counts the error, then waits for a change (permanent) or retries with backoff (transient).
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime calls
pub fn error_policy(request: Arc<QuotaRequest>, error: &Error, ctx: Arc<TenancyContext>) -> Action {
    ctx.shared
        .after_failure(CONTROLLER, &request.name_any(), error)
}

async fn reconcile_request(request: &QuotaRequest, ctx: &TenancyContext) -> Result<Action, Error> {
    let name = request
        .metadata
        .name
        .clone()
        .ok_or(Error::MissingMetadata {
            object: "a QuotaRequest".into(),
            field: "metadata.name",
        })?;
    if request.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    // `run_controllers` starts this controller once the tenant cache is complete, so "no such
    // tenant" means what it says.
    let now = ctx.shared.clock.now().stamp();
    let next = match requests::next(request, now) {
        Ok(next) => next,
        Err(source) => return Err(invalid(ctx, request, &name, source, now).await),
    };
    tracing::debug!(request = %name, ?next, "reconciling quota request");
    match next {
        Next::Done => Ok(Action::await_change()),
        Next::Wait { expires_at } => {
            let tenant_exists = ctx
                .tenants
                .get(&ObjectRef::new(&request.spec.tenant))
                .is_some();
            let status = requests::pending_status(request, tenant_exists, expires_at, now);
            let reason_before = decided_reason(request.status.as_ref());
            write_status(ctx, request, &name, &status).await?;
            if !tenant_exists && reason_before.as_deref() != Some("TenantNotFound") {
                publish_condition(ctx, request, &status, requests::DECIDED, Severity::Warning)
                    .await;
            }
            let left = expires_at.duration_since(now);
            let left = Duration::try_from(left).unwrap_or_default();
            Ok(Action::requeue(left.max(Duration::from_millis(100))))
        }
        Next::Expire { expires_at } => {
            let status = requests::expired_status(request, expires_at, now);
            write_status(ctx, request, &name, &status).await?;
            publish_condition(ctx, request, &status, requests::DECIDED, Severity::Normal).await;
            Ok(Action::await_change())
        }
        Next::Deny => deny(ctx, request, &name, now).await,
        Next::Apply => apply(ctx, &name, now).await,
    }
}

fn decided_reason(status: Option<&QuotaRequestStatus>) -> Option<String> {
    status?
        .conditions
        .iter()
        .find(|c| c.type_ == requests::DECIDED)
        .map(|c| c.reason.clone())
}

/// Records a permanent error in the `Decided` condition and returns it.
async fn invalid(
    ctx: &TenancyContext,
    request: &QuotaRequest,
    name: &str,
    source: requests::RequestError,
    now: Timestamp,
) -> Error {
    let mut status = request.status.clone().unwrap_or_default();
    status.observed_generation = request.metadata.generation;
    govcloud_core::conditions::set(
        &mut status.conditions,
        &Desired {
            kind: requests::DECIDED,
            status: "False",
            reason: source.category(),
            message: source.to_string(),
        },
        request.metadata.generation,
        now,
    );
    if let Err(error) = write_status(ctx, request, name, &status).await {
        tracing::warn!(request = %name, error = %crate::report::error_chain(&error), "failed to record a quota request's error in its status");
    }
    Error::InvalidRequest {
        request: name.to_owned(),
        source,
    }
}

fn uid_of(request: &QuotaRequest, name: &str) -> Result<String, Error> {
    request
        .metadata
        .uid
        .clone()
        .ok_or_else(|| Error::MissingMetadata {
            object: format!("QuotaRequest {name}"),
            field: "metadata.uid",
        })
}

/// A denial: one audit record, then `Denied`.
async fn deny(
    ctx: &TenancyContext,
    request: &QuotaRequest,
    name: &str,
    now: Timestamp,
) -> Result<Action, Error> {
    let uid = uid_of(request, name)?;
    let Some(approval) = request.spec.approval.as_ref() else {
        return Ok(Action::await_change());
    };
    let status = requests::with_decision(
        request,
        request.status.clone().unwrap_or_default(),
        QuotaRequestPhase::Denied,
        now,
    );
    let record = NewAuditRecord {
        at: ctx.shared.clock.precise(),
        actor: approval.decided_by.clone(),
        tenant: Some(request.spec.tenant.clone()),
        action: ACTION_DENY.to_owned(),
        object_kind: AUDIT_KIND.to_owned(),
        object_name: name.to_owned(),
        detail: json!({
            "uid": uid,
            "requested": request.spec.requested,
            "requestedBy": request.spec.requested_by,
            "reason": approval.reason,
            "decidedAt": status.decided_at,
        }),
    };
    append_once(ctx, request, &uid, &record).await?;
    write_status(ctx, request, name, &status).await?;
    publish_condition(ctx, request, &status, requests::DECIDED, Severity::Normal).await;
    Ok(Action::await_change())
}

/// Appends `record` unless the audit log already holds the record of this action on this
/// request (an earlier attempt appended it, then failed before its status write).
async fn append_once(
    ctx: &TenancyContext,
    request: &QuotaRequest,
    uid: &str,
    record: &NewAuditRecord,
) -> Result<(), Error> {
    let object = format!("QuotaRequest {}", record.object_name);
    let existing = find_audit_record(
        &ctx.shared.storage,
        &record.action,
        &record.object_name,
        uid,
        created(request),
    )
    .await
    .map_err(Error::storage("search the audit log", object.clone()))?;
    if existing.is_none() {
        ctx.shared
            .storage
            .audit()
            .append(record)
            .await
            .map_err(Error::storage("append to the audit log", object))?;
    }
    Ok(())
}

/// An approval: previous quota recorded, tenant changed, one audit record, then `Applied`.
async fn apply(ctx: &TenancyContext, name: &str, now: Timestamp) -> Result<Action, Error> {
    // Read the request from the API server, not the cache: a stale copy could lack the
    // previous quota recorded by an earlier attempt, or an `Applied` phase.
    let api: Api<QuotaRequest> = Api::all(ctx.shared.client.clone());
    let Some(request) = api
        .get_opt(name)
        .await
        .map_err(Error::kube("read quota request", name))?
    else {
        return Ok(Action::await_change());
    };
    if requests::next(&request, now) != Ok(Next::Apply) {
        return Ok(Action::await_change());
    }
    let Some(approval) = request.spec.approval.clone() else {
        return Ok(Action::await_change());
    };
    let uid = uid_of(&request, name)?;
    let requested = match requests::requested(&request) {
        Ok(requested) => requested,
        Err(source) => return Err(invalid(ctx, &request, name, source, now).await),
    };
    let tenant_name = request.spec.tenant.clone();
    let mut status = requests::with_decision(
        &request,
        request.status.clone().unwrap_or_default(),
        QuotaRequestPhase::Approved,
        now,
    );
    let tenants: Api<Tenant> = Api::all(ctx.shared.client.clone());
    let Some(tenant) = tenants
        .get_opt(&tenant_name)
        .await
        .map_err(Error::kube("read tenant", &tenant_name))?
    else {
        let message = format!(
            "spec.tenant: tenant \"{tenant_name}\" does not exist; the quota changes when it does"
        );
        let status = not_applied(&request, status, "TenantNotFound", message, now);
        write_status(ctx, &request, name, &status).await?;
        return Ok(Action::await_change());
    };
    let current = Quota::from_spec(&tenant.spec.quota, "spec.quota").map_err(|source| {
        Error::InvalidTenant {
            tenant: tenant_name.clone(),
            source: PlanError::Quantity(source),
        }
    })?;

    // 1. The previous quota, recorded before the tenant changes.
    if status.previous_quota.is_empty() {
        status.previous_quota = current.to_list();
        write_status(ctx, &request, name, &status).await?;
        publish_condition(ctx, &request, &status, requests::DECIDED, Severity::Normal).await;
    }
    let target = requests::target_quota(current, &requested);

    // 2. The tenant's quota, unless an earlier attempt changed it already.
    if target != current {
        if !fits(ctx, &request, &tenant, (current, target), &status, now).await? {
            return Ok(Action::await_change());
        }
        change_quota(&tenants, &tenant, &requested, target).await?;
    }

    // 3. One audit record.
    let record = NewAuditRecord {
        at: ctx.shared.clock.precise(),
        actor: approval.decided_by.clone(),
        tenant: Some(tenant_name.clone()),
        action: ACTION_APPLY.to_owned(),
        object_kind: AUDIT_KIND.to_owned(),
        object_name: name.to_owned(),
        detail: json!({
            "uid": uid,
            "previous": status.previous_quota,
            "new": target.to_list(),
            "requested": partial_to_list(&requested),
            "requestedBy": request.spec.requested_by,
            "reason": approval.reason,
            "decidedAt": status.decided_at,
        }),
    };
    append_once(ctx, &request, &uid, &record).await?;

    // 4. Applied.
    let previous =
        partial_from_list(&status.previous_quota, "status.previousQuota").unwrap_or_default();
    status.phase = QuotaRequestPhase::Applied;
    if status.applied_at.is_none() {
        status.applied_at = Some(Time(now));
    }
    let status = requests::with_applied(
        &request,
        status,
        &Desired {
            kind: APPLIED,
            status: "True",
            reason: "QuotaChanged",
            message: format!(
                "tenant {tenant_name}: {}",
                requests::change_summary(&previous, target, &requested)
            ),
        },
        now,
    );
    write_status(ctx, &request, name, &status).await?;
    publish_condition(ctx, &request, &status, APPLIED, Severity::Normal).await;
    Ok(Action::await_change())
}

/// Whether changing the tenant's quota from `current` to `target` keeps the hierarchy sound;
/// when it does not, the request stays `Approved` with `Applied=False` saying why, and waits
/// for a tenant to change.
async fn fits(
    ctx: &TenancyContext,
    request: &QuotaRequest,
    tenant: &Tenant,
    (current, target): (Quota, Quota),
    status: &QuotaRequestStatus,
    now: Timestamp,
) -> Result<bool, Error> {
    let tenant_name = tenant.name_any();
    let cached = ctx.tenants.state();
    let hierarchy = Hierarchy::new(
        cached
            .iter()
            .map(AsRef::as_ref)
            .chain(std::iter::once(tenant)),
    );
    let blockers = requests::check_change(&tenant_name, tenant, current, target, &hierarchy);
    let Some(first) = blockers.first() else {
        return Ok(true);
    };
    let message = blockers
        .iter()
        .map(|b| b.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let before = request.status.clone().unwrap_or_default();
    let status = not_applied(
        request,
        status.clone(),
        first.reason,
        format!("not applied: {message}"),
        now,
    );
    write_status(ctx, request, &request.name_any(), &status).await?;
    if condition_changed(&before, &status, APPLIED) {
        publish_condition(ctx, request, &status, APPLIED, Severity::Warning).await;
    }
    Ok(false)
}

fn not_applied(
    request: &QuotaRequest,
    status: QuotaRequestStatus,
    reason: &str,
    message: String,
    now: Timestamp,
) -> QuotaRequestStatus {
    requests::with_applied(
        request,
        status,
        &Desired {
            kind: APPLIED,
            status: "False",
            reason,
            message,
        },
        now,
    )
}

/// Merge-patches the requested resources of the tenant's `spec.quota` to `target`, as
/// `kubectl patch` would, under [`QUOTA_FIELD_MANAGER`]. The tenant's resource version makes
/// it fail (and retry) if the tenant changed since it was read.
async fn change_quota(
    tenants: &Api<Tenant>,
    tenant: &Tenant,
    requested: &govcloud_core::tenancy::quota::Partial,
    target: Quota,
) -> Result<(), Error> {
    let name = tenant.name_any();
    let quota: serde_json::Map<String, serde_json::Value> = requested
        .keys()
        .map(|r: &ResourceKind| (r.as_str().to_owned(), json!(target.get(*r).canonical(*r))))
        .collect();
    let patch = json!({
        "metadata": {"resourceVersion": tenant.resource_version()},
        "spec": {"quota": quota},
    });
    let params = PatchParams {
        field_manager: Some(QUOTA_FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    tenants
        .patch(&name, &params, &Patch::Merge(&patch))
        .await
        .map_err(Error::kube("change the quota of tenant", &name))?;
    Ok(())
}

fn created(request: &QuotaRequest) -> Option<chrono::DateTime<chrono::Utc>> {
    let created = request.metadata.creation_timestamp.as_ref()?.0;
    chrono::DateTime::from_timestamp(created.as_second(), 0)
}

fn condition_changed(before: &QuotaRequestStatus, after: &QuotaRequestStatus, kind: &str) -> bool {
    let find = |s: &QuotaRequestStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == kind)
            .map(|c| (c.status.clone(), c.reason.clone()))
    };
    find(before) != find(after)
}

async fn publish_condition(
    ctx: &TenancyContext,
    request: &QuotaRequest,
    status: &QuotaRequestStatus,
    kind: &'static str,
    severity: Severity,
) {
    if let Some(condition) = status.conditions.iter().find(|c| c.type_ == kind) {
        let announcement = Announcement::of_condition(severity, condition);
        ctx.shared
            .announce(&request.object_ref(&()), kind, announcement)
            .await;
    }
}

/// Applies the request's status when it differs from `request`'s.
async fn write_status(
    ctx: &TenancyContext,
    request: &QuotaRequest,
    name: &str,
    status: &QuotaRequestStatus,
) -> Result<(), Error> {
    let api: Api<QuotaRequest> = Api::all(ctx.shared.client.clone());
    apply_status_if_changed(
        &api,
        name,
        FIELD_MANAGER,
        &request.status.as_ref(),
        &Some(status),
    )
    .await
    .map_err(Error::kube("update the status of quota request", name))?;
    Ok(())
}

/// Records read per page while searching the audit log backwards.
const SEARCH_PAGE: i64 = 256;
/// Slack for clocks of replicas that appended records: the search stops at records older than
/// the request's creation by more than this.
const CLOCK_SLACK: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The audit record of `action` on the request `name` with `uid`, if one was appended. The
/// search walks back from the newest record and stops at records older than the request's
/// creation (`since`, minus [`CLOCK_SLACK`]), so it reads only what was appended while the
/// request existed.
pub async fn find_audit_record(
    storage: &Storage,
    action: &str,
    name: &str,
    uid: &str,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<AuditRecord>, StorageError> {
    let stop = since.map(|s| s - CLOCK_SLACK);
    let mut end = audit_head(storage).await?;
    while end >= 1 {
        let start = (end - SEARCH_PAGE + 1).max(1);
        let page = storage.audit().list(start..=end).await?;
        for record in page.iter().rev() {
            if record.action == action
                && record.object_kind == AUDIT_KIND
                && record.object_name == name
                && serde_json::from_str::<serde_json::Value>(&record.detail)
                    .ok()
                    .is_some_and(|d| d.get("uid").and_then(|u| u.as_str()) == Some(uid))
            {
                return Ok(Some(record.clone()));
            }
            if stop.is_some_and(|stop| record.at < stop) {
                return Ok(None);
            }
        }
        end = start - 1;
    }
    Ok(None)
}

/// The `seq` of the newest audit record (0 when the log is empty). Sequence numbers run
/// 1, 2, 3, … without gaps, so the head is found with O(log n) point reads.
async fn audit_head(storage: &Storage) -> Result<i64, StorageError> {
    let audit = storage.audit();
    let exists =
        |seq: i64| async move { Ok::<_, StorageError>(!audit.list(seq..=seq).await?.is_empty()) };
    if !exists(1).await? {
        return Ok(0);
    }
    let (mut low, mut high) = (1_i64, 2_i64);
    while exists(high).await? {
        low = high;
        high = high.saturating_mul(2);
    }
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if exists(middle).await? {
            low = middle;
        } else {
            high = middle;
        }
    }
    Ok(low)
}
