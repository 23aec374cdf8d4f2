//! The `Tenant` reconciler, the kube glue around the pure planner: fetch (the tenant, the
//! hierarchy from the cache, the namespaces it wants) → validate and build ([`govcloud_core::tenancy::plan`]) →
//! apply (server-side apply under [`FIELD_MANAGER`], children owned by the tenant so that the
//! garbage collector deletes them with it) → status ([`govcloud_core::tenancy::status`], patched only when it
//! changed). Permanent errors set `Ready=False` with the error's category and wait for a
//! change; transient ones requeue with backoff. A finalizer revokes a deleted tenant's API
//! tokens, the one piece of its state that lives outside Kubernetes.

use crate::failure::CallFailures as _;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use govcloud_crds::Tenant;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::RoleBinding;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{self, Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::Error;
use super::runtime::TenancyContext;
use crate::announcement::{Announcement, Severity};
use crate::status_apply::apply_status_if_changed;
use crate::storage::NewAuditRecord;
use govcloud_core::tenancy::hierarchy::Hierarchy;
use govcloud_core::tenancy::plan::{self, NamespaceClaim, TENANT_LABEL};
use govcloud_core::tenancy::quota::{Partial, Quota, add_partial, usage_from_quota_status};
use govcloud_core::tenancy::status::{self, Observed, Outcome, QUOTA_EXCEEDED, READY};

/// The controller's name in metrics and logs.
pub const CONTROLLER: &str = "tenant";
/// The field manager of everything the tenant controller writes.
pub const FIELD_MANAGER: &str = "govcloud-tenant-controller";
/// How often a tenant is reconciled without a change, to repair drift nobody reported (the
/// objects it owns are watched, so this is a safety net, not how changes are noticed).
pub const RESYNC: Duration = Duration::from_secs(60 * 60);

/// The controller of `Tenant`s: triggered by tenants (a tenant's change also reconciles its
/// parent and children) and by the objects it owns. Namespaced children of a cluster-scoped
/// owner are mapped by hand: kube-runtime's `owns()` would look the owner up in the child's
/// namespace and find nothing.
pub fn controller(client: &Client) -> Controller<Tenant> {
    let tenants: Api<Tenant> = Api::all(client.clone());
    let controller = Controller::new(tenants.clone(), watcher::Config::default());
    let store = controller.store();
    let owned = || watcher::Config::default().labels(TENANT_LABEL);
    let generations: Mutex<HashMap<String, Option<i64>>> = Mutex::new(HashMap::new());
    controller
        .watches(tenants, watcher::Config::default(), move |tenant| {
            // Parent and children read a tenant's spec (delegation, hierarchy) and its
            // existence, not its status: a status write relates to nobody.
            let mut seen = generations.lock().unwrap_or_else(PoisonError::into_inner);
            let name = tenant.name_any();
            if tenant.metadata.deletion_timestamp.is_some() {
                seen.remove(&name);
            } else if seen.insert(name, tenant.metadata.generation)
                == Some(tenant.metadata.generation)
            {
                return Vec::new();
            }
            related_tenants(&store, &tenant)
        })
        .watches(Api::<Namespace>::all(client.clone()), owned(), |o| {
            owning_tenant(&o)
        })
        .watches(Api::<ResourceQuota>::all(client.clone()), owned(), |o| {
            owning_tenant(&o)
        })
        .watches(Api::<LimitRange>::all(client.clone()), owned(), |o| {
            owning_tenant(&o)
        })
        .watches(Api::<NetworkPolicy>::all(client.clone()), owned(), |o| {
            owning_tenant(&o)
        })
        .watches(Api::<RoleBinding>::all(client.clone()), owned(), |o| {
            owning_tenant(&o)
        })
}

/// The tenants whose plan or status depends on `tenant`: its parent (delegation) and its
/// children (their parent's existence, cycles).
fn related_tenants(store: &Store<Tenant>, tenant: &Tenant) -> Vec<ObjectRef<Tenant>> {
    let Some(name) = tenant.metadata.name.as_deref() else {
        return Vec::new();
    };
    let mut related: Vec<ObjectRef<Tenant>> = tenant
        .spec
        .parent
        .iter()
        .map(|p| ObjectRef::new(p))
        .collect();
    related.extend(
        store
            .state()
            .iter()
            .filter(|t| t.spec.parent.as_deref() == Some(name))
            .map(|t| ObjectRef::from_obj(t.as_ref())),
    );
    related
}

/// The tenant controlling `object`, from its owner references.
fn owning_tenant<K: Resource>(object: &K) -> Option<ObjectRef<Tenant>> {
    object
        .meta()
        .owner_references
        .iter()
        .flatten()
        .find(|o| {
            o.controller == Some(true)
                && o.kind == "Tenant"
                && o.api_version == format!("{}/{}", govcloud_crds::GROUP, govcloud_crds::VERSION)
        })
        .map(|o| ObjectRef::new(&o.name))
}

/// Finalizer that revokes a tenant's API tokens before the tenant goes: the tokens live in SQL,
/// outside Kubernetes' garbage collection, and a tenant re-created under the same name must not
/// inherit them.
pub const TOKENS_FINALIZER: &str = "govcloud.io/revoke-tokens";

/// Who the audit log names for revocations done by this controller.
const ACTOR: &str = "govcloud-tenant-controller";

/// Reconciles one tenant (or, once it is being deleted, revokes its tokens).
pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<TenancyContext>) -> Result<Action, Error> {
    let started = Instant::now();
    let api: Api<Tenant> = Api::all(ctx.shared.client.clone());
    let name = tenant.name_any();
    let result = finalizer(&api, TOKENS_FINALIZER, Arc::clone(&tenant), |event| async {
        match event {
            FinalizerEvent::Apply(tenant) => reconcile_tenant(&tenant, &ctx).await,
            FinalizerEvent::Cleanup(tenant) => revoke_tokens(&tenant, &ctx).await,
        }
    })
    .await
    .map_err(|error| match error {
        finalizer::Error::ApplyFailed(error) | finalizer::Error::CleanupFailed(error) => error,
        finalizer::Error::AddFinalizer(source) | finalizer::Error::RemoveFinalizer(source) => {
            Error::kube("update the finalizers of", format!("Tenant {name}"))(source)
        }
        finalizer::Error::UnnamedObject | finalizer::Error::InvalidFinalizer => {
            Error::MissingMetadata {
                object: "a Tenant".into(),
                field: "metadata.name",
            }
        }
    });
    ctx.shared.reconciled(CONTROLLER, &name, started, result)
}

/// Revokes every active token of a deleted tenant, each with an audit record.
async fn revoke_tokens(tenant: &Tenant, ctx: &TenancyContext) -> Result<Action, Error> {
    let name = tenant.name_any();
    let object = format!("Tenant {name}");
    let tokens = ctx
        .shared
        .storage
        .tokens()
        .list_by_tenant(&name)
        .await
        .map_err(Error::storage("list the tokens of", object.clone()))?;
    let now = ctx.shared.clock.precise();
    for token in tokens.iter().filter(|t| t.revoked_at.is_none()) {
        if ctx
            .shared
            .storage
            .tokens()
            .revoke(&name, token.id, now)
            .await
            .map_err(Error::storage("revoke a token of", object.clone()))?
        {
            let record = NewAuditRecord {
                at: now,
                actor: ACTOR.to_owned(),
                tenant: Some(name.clone()),
                action: "token.revoke".to_owned(),
                object_kind: "ApiToken".to_owned(),
                object_name: token.id.to_string(),
                detail: serde_json::json!({ "reason": "tenant deleted", "role": token.role.as_str() }),
            };
            ctx.shared
                .storage
                .audit()
                .append(&record)
                .await
                .map_err(Error::storage(
                    "audit the revocation of a token of",
                    object.clone(),
                ))?;
        }
    }
    tracing::info!(tenant = %name, revoked = tokens.iter().filter(|t| t.revoked_at.is_none()).count(), "revoked the tokens of a deleted tenant");
    Ok(Action::await_change())
}

/// Counts the error, then waits for a change (permanent) or retries with backoff (transient).
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime calls
pub fn error_policy(tenant: Arc<Tenant>, error: &Error, ctx: Arc<TenancyContext>) -> Action {
    ctx.shared
        .after_failure(CONTROLLER, &tenant.name_any(), error)
}

async fn reconcile_tenant(tenant: &Tenant, ctx: &TenancyContext) -> Result<Action, Error> {
    let name = tenant.metadata.name.clone().ok_or(Error::MissingMetadata {
        object: "a Tenant".into(),
        field: "metadata.name",
    })?;
    let owner = tenant
        .controller_owner_ref(&())
        .ok_or_else(|| Error::MissingMetadata {
            object: format!("Tenant {name}"),
            field: "metadata.uid",
        })?;
    tracing::debug!(tenant = %name, generation = ?tenant.metadata.generation, "reconciling tenant");
    let now = ctx.shared.clock.now().stamp();

    // Validate and build (pure), against the hierarchy as the cache has it, this tenant last.
    let cached = ctx.tenants.state();
    let hierarchy = Hierarchy::new(
        cached
            .iter()
            .map(AsRef::as_ref)
            .chain(std::iter::once(tenant)),
    );
    let validated = match plan::validate(&name, tenant, &hierarchy) {
        Ok(validated) => validated,
        Err(source) => {
            return Err(fail(
                ctx,
                tenant,
                &name,
                Error::InvalidTenant {
                    tenant: name.clone(),
                    source,
                },
                now,
            )
            .await);
        }
    };
    let plans = plan::build(&name, tenant, &validated, &owner);

    // Fetch the namespaces it wants (never take one that is someone else's), then apply.
    if let Err(error) = check_namespaces(ctx, &name, &owner.uid, &plans).await {
        return Err(
            if error.is_permanent() || matches!(error, Error::NamespaceNotReady { .. }) {
                fail(ctx, tenant, &name, error, now).await
            } else {
                error
            },
        );
    }
    let mut usage = Partial::new();
    for plan in &plans {
        add_partial(&mut usage, &apply_namespace(ctx, plan).await?);
    }
    let frozen =
        freeze_removed_namespaces(ctx, &name, &owner, &validated.namespace_names(), &mut usage)
            .await?;

    // Status.
    let observed = Observed {
        namespaces: validated.namespace_names(),
        frozen,
        usage,
    };
    let desired = status::desired_status(
        tenant.status.as_ref(),
        tenant.metadata.generation,
        &Outcome::Reconciled {
            validated: &validated,
            observed: &observed,
        },
        now,
    );
    write_status(ctx, tenant, &name, desired).await?;
    ctx.shared.metrics.tenancy().set_tenant(
        &name,
        validated.quota,
        validated.delegated,
        &observed.usage,
    );
    let existing: BTreeSet<String> = cached
        .iter()
        .filter_map(|t| t.metadata.name.clone())
        .chain(std::iter::once(name))
        .collect();
    ctx.shared.metrics.retain_tenants(&existing);
    Ok(Action::requeue(RESYNC))
}

/// Refuses namespaces another tenant or controller holds, and waits for those being deleted.
async fn check_namespaces(
    ctx: &TenancyContext,
    name: &str,
    uid: &str,
    plans: &[plan::NamespacePlan],
) -> Result<(), Error> {
    let namespaces: Api<Namespace> = Api::all(ctx.shared.client.clone());
    for plan in plans {
        let namespace = plan.namespace.name_any();
        let existing = namespaces
            .get_opt(&namespace)
            .await
            .map_err(Error::kube("read namespace", &namespace))?;
        match existing.map(|ns| plan::claim(&ns, name, uid)) {
            None | Some(NamespaceClaim::Free | NamespaceClaim::Ours) => {}
            Some(NamespaceClaim::Wait(reason)) => {
                return Err(Error::NamespaceNotReady {
                    tenant: name.to_owned(),
                    reason,
                });
            }
            Some(NamespaceClaim::Foreign(reason)) => {
                return Err(Error::NamespaceConflict {
                    tenant: name.to_owned(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// Applies one namespace and its objects; returns the usage its `ResourceQuota` reports.
async fn apply_namespace(
    ctx: &TenancyContext,
    plan: &plan::NamespacePlan,
) -> Result<Partial, Error> {
    let namespace = plan.namespace.name_any();
    apply(&Api::all(ctx.shared.client.clone()), &plan.namespace).await?;
    let quota = apply(&ctx.namespaced(&namespace), &plan.resource_quota).await?;
    apply(&ctx.namespaced(&namespace), &plan.limit_range).await?;
    apply(&ctx.namespaced(&namespace), &plan.network_policy).await?;
    apply(&ctx.namespaced(&namespace), &plan.role_binding).await?;
    Ok(quota
        .status
        .as_ref()
        .and_then(|s| s.used.as_ref())
        .map(usage_from_quota_status)
        .unwrap_or_default())
}

/// Records a failure in the tenant's conditions (when the API lets us) and returns it.
async fn fail(
    ctx: &TenancyContext,
    tenant: &Tenant,
    name: &str,
    error: Error,
    now: Timestamp,
) -> Error {
    let message = match &error {
        Error::InvalidTenant { source, .. } => source.to_string(),
        other => crate::report::error_chain(other),
    };
    let desired = status::desired_status(
        tenant.status.as_ref(),
        tenant.metadata.generation,
        &Outcome::Failed {
            reason: error.category(),
            message,
        },
        now,
    );
    if let Err(status_error) = write_status(ctx, tenant, name, desired).await
        && !status_error.is_not_found()
    {
        tracing::warn!(tenant = %name, error = %crate::report::error_chain(&status_error), "failed to record a tenant's failure in its status");
    }
    error
}

/// Server-side applies `object` under the controller's field manager and returns it as stored.
async fn apply<K>(api: &Api<K>, object: &K) -> Result<K, Error>
where
    K: Resource + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let what = format!(
        "{} {}{}",
        K::kind(&K::DynamicType::default()),
        object
            .meta()
            .namespace
            .as_deref()
            .map(|ns| format!("{ns}/"))
            .unwrap_or_default(),
        name
    );
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map_err(Error::kube("apply", what))
}

/// Namespaces the tenant controls but no longer lists: their quota goes to zero (new pods are
/// refused, running ones keep running) until operations delete them; their usage still counts.
async fn freeze_removed_namespaces(
    ctx: &TenancyContext,
    name: &str,
    owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    wanted: &[String],
    usage: &mut Partial,
) -> Result<Vec<String>, Error> {
    let namespaces: Api<Namespace> = Api::all(ctx.shared.client.clone());
    let labelled = namespaces
        .list(&ListParams::default().labels(&format!("{TENANT_LABEL}={name}")))
        .await
        .map_err(Error::kube("list namespaces of tenant", name))?;
    let mut frozen = Vec::new();
    for namespace in labelled.items {
        let ns = namespace.name_any();
        let ours = plan::claim(&namespace, name, &owner.uid) == NamespaceClaim::Ours;
        if !ours || wanted.contains(&ns) {
            continue;
        }
        let quota = plan::resource_quota(&ns, name, Quota::ZERO, owner);
        let applied = apply(&ctx.namespaced(&ns), &quota).await?;
        if let Some(used) = applied.status.as_ref().and_then(|s| s.used.as_ref()) {
            add_partial(usage, &usage_from_quota_status(used));
        }
        frozen.push(ns);
    }
    Ok(frozen)
}

/// Applies the status when it differs from the stored one, and announces each notable
/// transition of `Ready` and `QuotaExceeded`.
async fn write_status(
    ctx: &TenancyContext,
    tenant: &Tenant,
    name: &str,
    desired: govcloud_crds::tenancy::tenant::TenantStatus,
) -> Result<(), Error> {
    let api: Api<Tenant> = Api::all(ctx.shared.client.clone());
    let applied = apply_status_if_changed(
        &api,
        name,
        FIELD_MANAGER,
        &tenant.status.as_ref(),
        &Some(&desired),
    )
    .await
    .map_err(Error::kube("update the status of tenant", name))?;
    if !applied {
        return Ok(());
    }
    let before = tenant.status.clone().unwrap_or_default();
    let reference = tenant.object_ref(&());
    for kind in [READY, QUOTA_EXCEEDED] {
        let old = before.conditions.iter().find(|c| c.type_ == kind);
        let Some(new) = desired.conditions.iter().find(|c| c.type_ == kind) else {
            continue;
        };
        let changed = old.is_none_or(|o| o.status != new.status || o.reason != new.reason);
        if !changed {
            continue;
        }
        let bad = (kind == READY && new.status != "True")
            || (kind == QUOTA_EXCEEDED && new.status == "True");
        if old.is_none() && kind == QUOTA_EXCEEDED && !bad {
            // A tenant that starts within its quota is no news.
            continue;
        }
        ctx.shared
            .announce(
                &reference,
                kind,
                Announcement::of_condition(Severity::warning_if(bad), new),
            )
            .await;
    }
    Ok(())
}
