//! The tenancy controllers against the embedded API server over real HTTPS with real watches:
//! the Ankang tenants get their namespaces, quotas, limits, network policies and role bindings;
//! status aggregates usage; deleting a tenant removes what it owns; hierarchy and share errors
//! become conditions; quota requests are applied exactly once (across restarts and a crash
//! between the audit record and the status), denied, expired; and nothing is patched when
//! nothing changed. The tests stand in for Kubernetes' built-in controllers (the
//! `ResourceQuota` controller's `status.used`) and bootstrap (the `default` namespace).

#![allow(clippy::too_many_lines, clippy::missing_panics_doc)]

use crate::controllers_support;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use controllers_support::{Harness, eventually};
use govcloud_controller::storage::{
    AuditRecord, NewApiToken, NewAuditRecord, Role, hash_token_secret,
};
use govcloud_crds::quantity::{Amount, ResourceKind};
use govcloud_crds::tenancy::quota_request::QuotaRequestPhase;
use govcloud_crds::{QuotaRequest, Tenant};
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, RoleBinding};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt as _};
use serde_json::json;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

impl Harness {
    /// A fresh server with the CRDs installed, the `default` namespace (which kube-apiserver
    /// creates at start) and the given files of `examples/ankang/` applied.
    async fn seeded(seed: &[&str]) -> Self {
        let harness = Self::start().await;
        // The server starts with `default`, where events about cluster-scoped objects go.
        let namespaces: Api<Namespace> = Api::all(harness.client.clone());
        namespaces
            .get("default")
            .await
            .expect("the default namespace exists from the start");
        if !seed.is_empty() {
            let seed_dir = harness.dir.path().join("seed");
            std::fs::create_dir_all(&seed_dir).expect("seed dir");
            for file in seed {
                std::fs::copy(
                    workspace_root().join("examples/ankang").join(file),
                    seed_dir.join(file),
                )
                .expect("copy seed file");
            }
            govcloud_controller::local::apply_seed(&harness.client, &seed_dir, "test-seed")
                .await
                .expect("apply the seed");
        }
        harness
    }

    fn tenants(&self) -> Api<Tenant> {
        Api::all(self.client.clone())
    }

    fn requests(&self) -> Api<QuotaRequest> {
        Api::all(self.client.clone())
    }

    fn in_namespace<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn audit(&self) -> Vec<AuditRecord> {
        self.storage.audit().list(..).await.expect("audit log")
    }
}

fn condition<'a>(
    tenant: &'a Tenant,
    kind: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    tenant
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == kind)
}

fn condition_is(tenant: &Tenant, kind: &str, status: &str) -> bool {
    condition(tenant, kind).is_some_and(|c| c.status == status)
        && tenant.status.as_ref().and_then(|s| s.observed_generation) == tenant.metadata.generation
}

fn amount(quantity: &Quantity) -> Amount {
    Amount::from_quantity(quantity).expect("quantity")
}

fn quota_of(tenant: &Tenant) -> [Amount; 3] {
    [
        amount(&tenant.spec.quota.cpu),
        amount(&tenant.spec.quota.memory),
        amount(&tenant.spec.quota.storage),
    ]
}

const KEYS: [&str; 3] = ["requests.cpu", "requests.memory", "requests.storage"];

fn hard_of(quota: &ResourceQuota) -> [Amount; 3] {
    let hard = quota
        .spec
        .as_ref()
        .and_then(|s| s.hard.clone())
        .expect("hard");
    KEYS.map(|k| amount(&hard[k]))
}

fn owned_by(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    tenant: &Tenant,
) -> bool {
    meta.owner_references.iter().flatten().any(|o| {
        o.kind == "Tenant"
            && o.controller == Some(true)
            && Some(&o.uid) == tenant.metadata.uid.as_ref()
    })
}

/// Whether `tenant`'s status counts every child of `all` as delegated. A parent reconciled before
/// its cache held all of its children is `Ready` with a partial delegation, then reconciled again.
fn delegation_settled(tenant: &Tenant, all: &[Tenant]) -> bool {
    let Some(status) = tenant.status.as_ref() else {
        return false;
    };
    let name = tenant.name_any();
    let children: Vec<&Tenant> = all
        .iter()
        .filter(|t| t.spec.parent.as_deref() == Some(name.as_str()))
        .collect();
    ["cpu", "memory", "storage"]
        .iter()
        .enumerate()
        .all(|(i, key)| {
            let expected: Amount = children.iter().map(|c| quota_of(c)[i]).sum();
            status.delegated.get(*key).map_or(Amount::ZERO, amount) == expected
        })
}

/// Waits until the `count` tenants are `Ready` at their generation, each counting all of its
/// children as delegated (what the namespaces' quotas are computed from).
async fn wait_all_ready(h: &Harness, count: usize) -> Vec<Tenant> {
    let tenants = h.tenants();
    eventually(
        "every tenant Ready with its children delegated",
        120,
        || {
            let tenants = tenants.clone();
            async move {
                let list = tenants.list(&ListParams::default()).await.ok()?;
                (list.items.len() == count
                    && list.items.iter().all(|t| {
                        condition_is(t, "Ready", "True") && delegation_settled(t, &list.items)
                    }))
                .then_some(list.items)
            }
        },
    )
    .await
}

/// Retries `write` while the server answers 409 Conflict. kube-apiserver retries a patch
/// without a `resourceVersion` precondition itself when it races another writer (here: the
/// controllers' status writes); the embedded server answers 409 instead, so the tests retry
/// for it, as a client of a real server never has to.
async fn retry_conflicts<T, F, Fut>(mut write: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    for _ in 0..50 {
        match write().await {
            Err(kube::Error::Api(status)) if status.code == 409 => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other.expect("write"),
        }
    }
    panic!("still conflicting after 50 attempts");
}

/// `kubectl patch --type merge` under `manager`.
async fn merge<K>(api: &Api<K>, name: &str, patch: &serde_json::Value, manager: &str) -> K
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let params = PatchParams {
        field_manager: Some(manager.to_owned()),
        ..PatchParams::default()
    };
    let patch = Patch::Merge(patch);
    retry_conflicts(|| api.patch(name, &params, &patch)).await
}

/// Sets a `ResourceQuota`'s `status.used`, as Kubernetes' quota controller would.
async fn set_used(h: &Harness, namespace: &str, cpu: &str, memory: &str) {
    let quotas: Api<ResourceQuota> = h.in_namespace(namespace);
    let status = json!({"status": {"used": {"requests.cpu": cpu, "requests.memory": memory, "requests.storage": "0"}}});
    let (params, patch) = (PatchParams::default(), Patch::Merge(&status));
    retry_conflicts(|| quotas.patch_status("govcloud-quota", &params, &patch)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ankang_tenants_get_namespaces_quotas_policies_and_bindings() {
    let mut h = Harness::seeded(&["00-namespaces.yaml", "10-tenants.yaml"]).await;
    h.run();
    let tenants = wait_all_ready(&h, 30).await;
    let by_name: BTreeMap<String, Tenant> =
        tenants.iter().map(|t| (t.name_any(), t.clone())).collect();

    // Every tenant: namespaces labelled and owned, quotas adding up to quota − delegated.
    for tenant in &tenants {
        let name = tenant.name_any();
        let status = tenant.status.as_ref().expect("status");
        let mut expected_namespaces = vec![name.clone()];
        expected_namespaces.extend(tenant.spec.namespaces.iter().map(|n| n.name.clone()));
        assert_eq!(status.namespaces, expected_namespaces, "{name}");
        let children: Vec<&Tenant> = tenants
            .iter()
            .filter(|t| t.spec.parent.as_deref() == Some(name.as_str()))
            .collect();
        let quota = quota_of(tenant);
        let delegated: [Amount; 3] =
            std::array::from_fn(|i| children.iter().map(|c| quota_of(c)[i]).sum());
        let own: [Amount; 3] = std::array::from_fn(|i| {
            let left = quota[i] - delegated[i];
            if left.is_negative() {
                Amount::ZERO
            } else {
                left
            }
        });
        let mut sum = [Amount::ZERO; 3];
        for namespace in &status.namespaces {
            let ns = Api::<Namespace>::all(h.client.clone())
                .get(namespace)
                .await
                .expect("namespace");
            assert_eq!(
                ns.labels().get("govcloud.io/tenant").map(String::as_str),
                Some(name.as_str())
            );
            assert!(
                owned_by(&ns.metadata, tenant),
                "{namespace} owned by {name}"
            );
            let rq = h
                .in_namespace::<ResourceQuota>(namespace)
                .get("govcloud-quota")
                .await
                .expect("quota");
            assert!(owned_by(&rq.metadata, tenant));
            let hard = hard_of(&rq);
            for i in 0..3 {
                sum[i] = sum[i] + hard[i];
            }
            let limits = h
                .in_namespace::<LimitRange>(namespace)
                .get("govcloud-defaults")
                .await
                .expect("limit range");
            assert!(owned_by(&limits.metadata, tenant));
            let policy = h
                .in_namespace::<NetworkPolicy>(namespace)
                .get("govcloud-tenant-isolation")
                .await
                .expect("network policy");
            assert!(owned_by(&policy.metadata, tenant));
            let binding = h
                .in_namespace::<RoleBinding>(namespace)
                .get("govcloud-tenant-admins")
                .await
                .expect("role binding");
            assert!(owned_by(&binding.metadata, tenant));
            assert_eq!(binding.role_ref.name, "govcloud-tenant-admin");
            assert_eq!(
                binding.subjects.as_ref().map(Vec::len),
                Some(tenant.spec.owners.len())
            );
        }
        assert_eq!(
            sum, own,
            "{name}: the namespaces' quotas add up to quota − delegated"
        );
        assert_eq!(amount(&status.hard["cpu"]), quota[0], "{name}: status.hard");
        assert_eq!(
            condition(tenant, "QuotaExceeded").map(|c| c.status.as_str()),
            Some("False")
        );
    }
    // The numbers of the example: the city keeps 4096 − 3616 CPU and 16Ti − 14464Gi memory.
    let city = &by_name["ankang"];
    let city_status = city.status.as_ref().expect("status");
    assert_eq!(city_status.delegated["cpu"], Quantity("3616".into()));
    assert_eq!(city_status.delegated["memory"], Quantity("14464Gi".into()));
    let city_quota = hard_of(
        &h.in_namespace::<ResourceQuota>("ankang")
            .get("govcloud-quota")
            .await
            .expect("rq"),
    );
    assert_eq!(city_quota[0], Amount::parse("480").expect("480"));
    assert_eq!(city_quota[1], Amount::parse("1920Gi").expect("1920Gi"));
    // city-police splits 50/50 with city-police-video.
    let video = hard_of(
        &h.in_namespace::<ResourceQuota>("city-police-video")
            .get("govcloud-quota")
            .await
            .expect("rq"),
    );
    assert_eq!(video[0], Amount::parse("128").expect("128"));
    // The network policy admits the tenant, its allowTrafficFrom tenants and the platform.
    let policy = h
        .in_namespace::<NetworkPolicy>("city-finance")
        .get("govcloud-tenant-isolation")
        .await
        .expect("policy");
    let peers = serde_json::to_value(
        policy.spec.expect("spec").ingress.expect("ingress")[0]
            .from
            .clone(),
    )
    .expect("json");
    let allowed: Vec<&str> = peers
        .as_array()
        .expect("peers")
        .iter()
        .filter_map(|p| {
            p.pointer("/namespaceSelector/matchLabels/govcloud.io~1tenant")?
                .as_str()
        })
        .collect();
    assert_eq!(allowed, ["city-finance", "city-ndrc", "city-services"]);
    // The finance LimitRange carries its containerDefaults.
    let limits = h
        .in_namespace::<LimitRange>("city-finance")
        .get("govcloud-defaults")
        .await
        .expect("limits");
    let item = &limits.spec.expect("spec").limits[0];
    assert_eq!(
        item.default_request.as_ref().expect("requests")["cpu"],
        Quantity("250m".into())
    );
    assert_eq!(
        item.default.as_ref().expect("limits")["memory"],
        Quantity("4Gi".into())
    );
    let role = Api::<ClusterRole>::all(h.client.clone())
        .get("govcloud-tenant-admin")
        .await
        .expect("tenant-admin role");
    assert!(role.rules.expect("rules").iter().any(|r| {
        r.resources
            .as_ref()
            .is_some_and(|res| res.contains(&"deployments".to_owned()))
    }));

    // Usage: the quota controller's stand-in reports usage; the tenant's status sums it.
    set_used(&h, "city-police", "10", "20Gi").await;
    set_used(&h, "city-police-video", "5500m", "4Gi").await;
    let aggregated = eventually("city-police usage aggregated", 30, || {
        let tenants = h.tenants();
        async move {
            let t = tenants.get("city-police").await.ok()?;
            let used = &t.status.as_ref()?.used;
            (used.get("cpu") == Some(&Quantity("15500m".into()))
                && used.get("memory") == Some(&Quantity("24Gi".into())))
            .then_some(t)
        }
    })
    .await;
    assert_eq!(
        condition(&aggregated, "QuotaExceeded").map(|c| c.status.as_str()),
        Some("False")
    );
    // The usage is city-police's reconcile's, the quotas ankang's: wait for all three.
    let city_cpu = "govcloud_tenant_quota{resource=\"cpu\",tenant=\"ankang\"} 4096";
    let city_memory = "govcloud_tenant_quota{resource=\"memory\",tenant=\"ankang\"} 17592186044416";
    let metrics = eventually("usage and quota metrics", 30, || {
        let metrics = h.metrics.clone();
        async move {
            let text = metrics.render();
            (text.contains("govcloud_tenant_usage{resource=\"cpu\",tenant=\"city-police\"} 15.5")
                && text.contains(city_cpu)
                && text.contains(city_memory))
            .then_some(text)
        }
    })
    .await;
    assert!(metrics.contains(city_cpu));
    assert!(metrics.contains(city_memory));

    // No change, no patch: re-reconciling every tenant (a restart) and a touched namespace
    // leave the tenants' resource versions alone.
    let before: BTreeMap<String, String> = h
        .tenants()
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|t| (t.name_any(), t.resource_version().expect("rv")))
        .collect();
    h.stop().await;
    h.run();
    eventually("every tenant reconciled again", 60, || {
        let metrics = h.metrics.clone();
        async move { (metrics.reconciliations("tenant") >= 30).then_some(()) }
    })
    .await;
    merge(
        &Api::<Namespace>::all(h.client.clone()),
        "city-finance",
        &json!({"metadata": {"annotations": {"example.org/touched": "yes"}}}),
        "kubectl-patch",
    )
    .await;
    let reconciled = h.metrics.reconciliations("tenant");
    eventually("the touched namespace's tenant reconciled", 30, || {
        let metrics = h.metrics.clone();
        async move { (metrics.reconciliations("tenant") > reconciled).then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after: BTreeMap<String, String> = h
        .tenants()
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|t| (t.name_any(), t.resource_version().expect("rv")))
        .collect();
    assert_eq!(
        before, after,
        "re-reconciling unchanged tenants patched nothing"
    );

    // A child's quota pushes the city over its capacity: QuotaExceeded on the city, with the
    // amounts; the city's own namespace keeps nothing rather than going negative.
    merge(
        &h.tenants(),
        "city-finance",
        &json!({"spec": {"quota": {"cpu": "1000"}}}),
        "kubectl-patch",
    )
    .await;
    let city = eventually("ankang QuotaExceeded", 30, || {
        let tenants = h.tenants();
        async move {
            let t = tenants.get("ankang").await.ok()?;
            condition_is(&t, "QuotaExceeded", "True").then_some(t)
        }
    })
    .await;
    let exceeded = condition(&city, "QuotaExceeded").expect("condition");
    assert_eq!(exceeded.reason, "ChildQuotasExceedQuota");
    assert!(
        exceeded.message.starts_with(
            "cpu: the child tenants' quotas add up to 4424 cores, more than the tenant's quota of 4096 cores (largest: city-finance 1000 cores"
        ),
        "{}",
        exceeded.message
    );
    let city_quota = eventually("the city's own quota goes to zero", 30, || {
        let quotas = h.in_namespace::<ResourceQuota>("ankang");
        async move {
            let hard = hard_of(&quotas.get("govcloud-quota").await.ok()?);
            (hard[0] == Amount::ZERO).then_some(hard)
        }
    })
    .await;
    assert_eq!(
        city_quota[1],
        Amount::parse("1920Gi").expect("memory unchanged")
    );
    let events: Api<Event> = h.in_namespace("default");
    eventually("a warning event on the city", 30, || {
        let events = events.clone();
        async move {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items
                .iter()
                .any(|e| {
                    e.reason.as_deref() == Some("ChildQuotasExceedQuota")
                        && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("ankang")
                        && e.type_.as_deref() == Some("Warning")
                })
                .then_some(())
        }
    })
    .await;

    // Deleting a tenant deletes what it owns (garbage collection), revokes its API tokens (a
    // finalizer: they live in SQL), and the parent no longer counts its quota.
    let token = h
        .storage
        .tokens()
        .insert(&NewApiToken {
            tenant: "city-archives".into(),
            role: Role::Editor,
            token_hash: hash_token_secret("archives-clerk-secret"),
            created_at: chrono::Utc::now(),
            expires_at: None,
            description: "archives clerk".into(),
        })
        .await
        .expect("a token of city-archives");
    eventually("the tokens finalizer on city-archives", 30, || {
        let tenants = h.tenants();
        async move {
            let t = tenants.get("city-archives").await.ok()?;
            t.metadata
                .finalizers?
                .iter()
                .any(|f| f == "govcloud.io/revoke-tokens")
                .then_some(())
        }
    })
    .await;
    h.tenants()
        .delete("city-archives", &DeleteParams::default())
        .await
        .expect("delete city-archives");
    eventually("city-archives' namespace and objects gone", 60, || {
        let namespaces: Api<Namespace> = Api::all(h.client.clone());
        let quotas: Api<ResourceQuota> = h.in_namespace("city-archives");
        let bindings: Api<RoleBinding> = h.in_namespace("city-archives");
        async move {
            let ns = namespaces.get_opt("city-archives").await.ok()?;
            let rq = quotas.get_opt("govcloud-quota").await.ok()?;
            let rb = bindings.get_opt("govcloud-tenant-admins").await.ok()?;
            (ns.is_none() && rq.is_none() && rb.is_none()).then_some(())
        }
    })
    .await;
    // The finalizer revokes the tokens apart from the garbage collection: wait for it too.
    let (revoked, audit) = eventually("city-archives' token revoked and audited", 30, || async {
        let revoked = h
            .storage
            .tokens()
            .list_by_tenant("city-archives")
            .await
            .ok()?;
        let audit = h.storage.audit().list(..).await.ok()?;
        let done = revoked
            .iter()
            .all(|t| t.id != token.id || t.revoked_at.is_some())
            && audit
                .iter()
                .any(|r| r.action == "token.revoke" && r.object_name == token.id.to_string());
        done.then_some((revoked, audit))
    })
    .await;
    assert!(
        revoked
            .iter()
            .all(|t| t.id != token.id || t.revoked_at.is_some()),
        "the token was revoked"
    );
    assert!(
        audit
            .iter()
            .any(|r| r.action == "token.revoke" && r.object_name == token.id.to_string()),
        "the revocation was audited"
    );
    let archives_cpu = amount(&by_name["city-archives"].spec.quota.cpu);
    eventually("ankang's delegation drops", 30, || {
        let tenants = h.tenants();
        async move {
            let t = tenants.get("ankang").await.ok()?;
            let delegated = amount(t.status.as_ref()?.delegated.get("cpu")?);
            let expected = Amount::parse("4424").expect("4424") - archives_cpu;
            (delegated == expected).then_some(())
        }
    })
    .await;
    eventually("metrics forget the deleted tenant", 30, || {
        let metrics = h.metrics.clone();
        async move { (!metrics.render().contains("tenant=\"city-archives\"")).then_some(()) }
    })
    .await;
    h.shutdown().await;
}

fn tenant(name: &str, parent: Option<&str>, cpu: &str) -> Tenant {
    serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {
            "displayName": name,
            "level": if parent.is_some() { "Department" } else { "City" },
            "parent": parent,
            "owners": [{"kind": "Group", "name": format!("{name}-admins")}],
            "quota": {"cpu": cpu, "memory": format!("{cpu}Gi"), "storage": format!("{cpu}Ti")},
        },
    }))
    .expect("tenant")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hierarchy_and_share_errors_become_conditions() {
    let mut h = Harness::seeded(&[]).await;
    let tenants = h.tenants();
    let create = |t: Tenant| {
        let tenants = tenants.clone();
        async move {
            tenants
                .create(&PostParams::default(), &t)
                .await
                .expect("create tenant");
        }
    };
    // A cycle a → b → a, a child waiting for its parent, shares over 100 %.
    create(tenant("loop-a", Some("loop-b"), "4")).await;
    create(tenant("loop-b", Some("loop-a"), "4")).await;
    create(tenant("waiting", Some("late-parent"), "4")).await;
    let mut greedy = tenant("greedy", None, "8");
    greedy.spec.namespaces = serde_json::from_value(json!([
        {"name": "greedy-one", "quotaPercent": 60},
        {"name": "greedy-two", "quotaPercent": 50},
    ]))
    .expect("namespaces");
    create(greedy).await;
    // Created before the controllers run: the cycle exists from the start, so nothing of
    // loop-a or loop-b is ever applied.
    h.run();

    let ready_false = |name: &'static str, reason: &'static str| {
        let tenants = h.tenants();
        async move {
            eventually(&format!("{name} Ready=False {reason}"), 30, || {
                let tenants = tenants.clone();
                async move {
                    let t = tenants.get(name).await.ok()?;
                    let c = condition(&t, "Ready")?;
                    (c.status == "False" && c.reason == reason).then(|| c.message.clone())
                }
            })
            .await
        }
    };
    assert_eq!(
        ready_false("loop-a", "ParentCycle").await,
        "spec.parent: the tenant hierarchy has a cycle: loop-a → loop-b → loop-a"
    );
    assert_eq!(
        ready_false("loop-b", "ParentCycle").await,
        "spec.parent: the tenant hierarchy has a cycle: loop-b → loop-a → loop-b"
    );
    assert_eq!(
        ready_false("greedy", "NamespaceSharesExceeded").await,
        "spec.namespaces: the quota shares add up to 110%, more than 100% (greedy-one 60%, greedy-two 50%)"
    );
    let waiting = ready_false("waiting", "ParentNotFound").await;
    assert!(
        waiting.starts_with("spec.parent: tenant \"late-parent\" does not exist"),
        "{waiting}"
    );
    // Nothing is partly applied for refused tenants.
    let namespaces: Api<Namespace> = Api::all(h.client.clone());
    for name in ["loop-a", "loop-b", "greedy", "greedy-one"] {
        assert!(
            namespaces.get_opt(name).await.expect("get").is_none(),
            "{name}"
        );
    }
    // A tenant with a missing parent is still usable.
    assert!(namespaces.get_opt("waiting").await.expect("get").is_some());

    // Fixes are picked up from the watch: the parent appears, the cycle is broken, the shares
    // are lowered.
    create(tenant("late-parent", None, "16")).await;
    retry_conflicts(|| async {
        let remove_parent = json!([{"op": "remove", "path": "/spec/parent"}]);
        h.tenants()
            .patch(
                "loop-b",
                &PatchParams::default(),
                &Patch::Json::<()>(serde_json::from_value(remove_parent).expect("patch")),
            )
            .await
    })
    .await;
    merge(
        &h.tenants(),
        "greedy",
        &json!({"spec": {"namespaces": [
            {"name": "greedy-one", "quotaPercent": 60},
            {"name": "greedy-two", "quotaPercent": 40},
        ]}}),
        "kubectl-patch",
    )
    .await;
    let all = wait_all_ready(&h, 5).await;
    let loop_b = all
        .iter()
        .find(|t| t.name_any() == "loop-b")
        .expect("loop-b");
    assert_eq!(
        loop_b.status.as_ref().expect("status").delegated["cpu"],
        Quantity("4".into()),
        "loop-a is now loop-b's child"
    );
    let greedy_default = hard_of(
        &h.in_namespace::<ResourceQuota>("greedy")
            .get("govcloud-quota")
            .await
            .expect("rq"),
    );
    assert_eq!(
        greedy_default[0],
        Amount::ZERO,
        "100% handed to the extra namespaces"
    );
    let greedy_one = hard_of(
        &h.in_namespace::<ResourceQuota>("greedy-one")
            .get("govcloud-quota")
            .await
            .expect("rq"),
    );
    assert_eq!(greedy_one[0].canonical(ResourceKind::Cpu), "4800m");

    // Usage above the quota (the quota was lowered below it) is reported.
    set_used(&h, "late-parent", "15", "1Gi").await;
    merge(
        &h.tenants(),
        "late-parent",
        &json!({"spec": {"quota": {"cpu": "10"}}}),
        "kubectl-patch",
    )
    .await;
    let message = eventually("late-parent over its quota", 30, || {
        let tenants = h.tenants();
        async move {
            let t = tenants.get("late-parent").await.ok()?;
            let c = condition(&t, "QuotaExceeded")?;
            (c.status == "True"
                && c.reason == "UsageExceedsQuota"
                && c.message.contains("quota 10 cores"))
            .then(|| c.message.clone())
        }
    })
    .await;
    assert_eq!(
        message,
        "cpu: 15 cores in use in the tenant's own namespaces, more than the 6 cores left to them (quota 10 cores minus 4 cores delegated to child tenants)"
    );
    // Errors are counted by category (after the reconcile that wrote the condition).
    let counted = "govcloud_reconcile_errors_total{category=\"ParentCycle\",controller=\"tenant\"}";
    let text = eventually("the ParentCycle errors counted", 30, || async {
        let text = h.metrics.render();
        text.contains(counted).then_some(text)
    })
    .await;
    assert!(text.contains(counted), "{text}");
    h.shutdown().await;
}

async fn wait_phase(h: &Harness, name: &str, phase: QuotaRequestPhase) -> QuotaRequest {
    let requests = h.requests();
    eventually(&format!("{name} {phase:?}"), 30, || {
        let requests = requests.clone();
        async move {
            let r = requests.get(name).await.ok()?;
            (r.status.as_ref()?.phase == phase).then_some(r)
        }
    })
    .await
}

fn records_for<'a>(records: &'a [AuditRecord], name: &str) -> Vec<&'a AuditRecord> {
    records.iter().filter(|r| r.object_name == name).collect()
}

fn request(
    name: &str,
    tenant: &str,
    requested: &serde_json::Value,
    valid_for: &str,
) -> QuotaRequest {
    serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "QuotaRequest",
        "metadata": {"name": name},
        "spec": {
            "tenant": tenant,
            "requested": requested,
            "justification": "a new system moves onto the cloud this quarter",
            "requestedBy": "someone@ankang.example.org",
            "validFor": valid_for,
        },
    }))
    .expect("request")
}

fn approval(decision: &str) -> serde_json::Value {
    json!({"spec": {"approval": {
        "decision": decision,
        "decidedBy": "wang.fang@ankang.example.org",
        "reason": "checked against the efficiency review",
    }}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_requests_are_applied_once_denied_and_expired() {
    let mut h = Harness::seeded(&["10-tenants.yaml", "20-quota-requests.yaml"]).await;
    h.run();

    // The seed's approved request: the tenant's quota changes, the request records it.
    let ecology = wait_phase(&h, "city-ecology-cpu-2025q2", QuotaRequestPhase::Applied).await;
    let status = ecology.status.as_ref().expect("status");
    assert_eq!(status.previous_quota["cpu"], Quantity("96".into()));
    assert_eq!(status.previous_quota["memory"], Quantity("384Gi".into()));
    assert!(status.applied_at.is_some() && status.decided_at.is_some());
    let applied = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Applied")
        .expect("Applied");
    assert_eq!(
        applied.message,
        "tenant city-ecology: cpu 96 cores → 128 cores, memory 384 GiB → 512 GiB"
    );
    let tenant = h.tenants().get("city-ecology").await.expect("tenant");
    assert_eq!(tenant.spec.quota.cpu, Quantity("128".into()));
    assert_eq!(tenant.spec.quota.memory, Quantity("512Gi".into()));
    assert_eq!(
        tenant.spec.quota.storage,
        Quantity("40Ti".into()),
        "not requested, unchanged"
    );
    let managers: Vec<String> = tenant
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(
        managers.contains(&"govcloud-quota-requests".to_owned()),
        "{managers:?}"
    );
    // The seed's denied request; the pending one waits with its expiry.
    let hanbin = wait_phase(&h, "hanbin-memory-2025q2", QuotaRequestPhase::Denied).await;
    assert!(hanbin.status.as_ref().expect("status").decided_at.is_some());
    let medins = wait_phase(&h, "city-medins-storage-2025q3", QuotaRequestPhase::Pending).await;
    assert!(medins.status.as_ref().expect("status").expires_at.is_some());

    let records = h.audit().await;
    let ecology_records = records_for(&records, "city-ecology-cpu-2025q2");
    assert_eq!(ecology_records.len(), 1, "one audit record per approval");
    let record = ecology_records[0];
    assert_eq!(record.action, "quota-request.apply");
    assert_eq!(record.actor, "wang.fang@ankang.example.org");
    assert_eq!(record.tenant.as_deref(), Some("city-ecology"));
    assert_eq!(record.object_kind, "QuotaRequest");
    let detail: serde_json::Value = serde_json::from_str(&record.detail).expect("detail");
    assert_eq!(detail["previous"]["cpu"], "96");
    assert_eq!(detail["new"]["cpu"], "128");
    assert_eq!(detail["new"]["memory"], "512Gi");
    assert_eq!(detail["uid"], json!(ecology.metadata.uid));
    let hanbin_records = records_for(&records, "hanbin-memory-2025q2");
    assert_eq!(hanbin_records.len(), 1);
    assert_eq!(hanbin_records[0].action, "quota-request.deny");

    // Operations approve the pending one the way `kubectl patch --type merge` does.
    merge(
        &h.requests(),
        "city-medins-storage-2025q3",
        &approval("Approved"),
        "kubectl-patch",
    )
    .await;
    wait_phase(&h, "city-medins-storage-2025q3", QuotaRequestPhase::Applied).await;
    let medins_tenant = h.tenants().get("city-medins").await.expect("tenant");
    assert_eq!(medins_tenant.spec.quota.storage, Quantity("60Ti".into()));
    // The tenant controller follows: the namespace quota grows.
    eventually("city-medins' ResourceQuota follows", 30, || {
        let quotas = h.in_namespace::<ResourceQuota>("city-medins");
        async move {
            let hard = hard_of(&quotas.get("govcloud-quota").await.ok()?);
            (hard[2] == Amount::parse("60Ti").expect("60Ti")).then_some(())
        }
    })
    .await;

    // A request for more than the parent can give stays Approved, unapplied, with the reason.
    h.requests()
        .create(
            &PostParams::default(),
            &request(
                "police-burst",
                "city-police",
                &json!({"cpu": "1000"}),
                "720h",
            ),
        )
        .await
        .expect("create");
    merge(
        &h.requests(),
        "police-burst",
        &approval("Approved"),
        "kubectl-patch",
    )
    .await;
    let blocked = eventually("police-burst blocked", 30, || {
        let requests = h.requests();
        async move {
            let r = requests.get("police-burst").await.ok()?;
            let c = r
                .status
                .as_ref()?
                .conditions
                .iter()
                .find(|c| c.type_ == "Applied")?
                .clone();
            (c.status == "False").then_some((r, c))
        }
    })
    .await;
    assert_eq!(
        blocked.0.status.as_ref().expect("status").phase,
        QuotaRequestPhase::Approved
    );
    assert_eq!(blocked.1.reason, "ParentCapacityExceeded");
    assert!(
        blocked.1.message.starts_with("not applied: cpu: 1000 cores for \"city-police\" would bring the child tenants of \"ankang\" to"),
        "{}",
        blocked.1.message
    );
    assert_eq!(
        h.tenants()
            .get("city-police")
            .await
            .expect("t")
            .spec
            .quota
            .cpu,
        Quantity("256".into())
    );

    // An unknown tenant: Pending with a condition. A short validity: Expired.
    h.requests()
        .create(
            &PostParams::default(),
            &request("nobody-cpu", "nobody", &json!({"cpu": "4"}), "720h"),
        )
        .await
        .expect("create");
    let nobody = eventually("nobody-cpu TenantNotFound", 30, || {
        let requests = h.requests();
        async move {
            let r = requests.get("nobody-cpu").await.ok()?;
            let c = r
                .status
                .as_ref()?
                .conditions
                .iter()
                .find(|c| c.type_ == "Decided")?
                .clone();
            (c.reason == "TenantNotFound").then_some((r, c))
        }
    })
    .await;
    assert_eq!(
        nobody.0.status.as_ref().expect("status").phase,
        QuotaRequestPhase::Pending
    );
    assert!(
        nobody
            .1
            .message
            .starts_with("spec.tenant: tenant \"nobody\" does not exist")
    );
    h.requests()
        .create(
            &PostParams::default(),
            &request("brief", "city-ndrc", &json!({"cpu": "100"}), "1s"),
        )
        .await
        .expect("create");
    wait_phase(&h, "brief", QuotaRequestPhase::Expired).await;
    // A denial stays denied.
    h.requests()
        .create(
            &PostParams::default(),
            &request("denied-later", "city-ndrc", &json!({"cpu": "100"}), "720h"),
        )
        .await
        .expect("create");
    merge(
        &h.requests(),
        "denied-later",
        &approval("Denied"),
        "kubectl-patch",
    )
    .await;
    wait_phase(&h, "denied-later", QuotaRequestPhase::Denied).await;

    // A restart repeats nothing.
    let before = h.audit().await;
    let ecology_rv = h
        .requests()
        .get("city-ecology-cpu-2025q2")
        .await
        .expect("r")
        .resource_version();
    h.stop().await;
    h.run();
    eventually("requests reconciled after the restart", 30, || {
        let metrics = h.metrics.clone();
        async move { (metrics.reconciliations("quota-request") >= 7).then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        h.audit().await,
        before,
        "no audit record repeated after a restart"
    );
    assert_eq!(
        h.requests()
            .get("city-ecology-cpu-2025q2")
            .await
            .expect("r")
            .resource_version(),
        ecology_rv,
        "an applied request is not patched again"
    );
    wait_phase(&h, "denied-later", QuotaRequestPhase::Denied).await;

    // A crash after the audit record, before the status: the record is found, not repeated.
    h.stop().await;
    let created = h
        .requests()
        .create(
            &PostParams::default(),
            &request("crashed", "city-ndrc", &json!({"cpu": "100"}), "720h"),
        )
        .await
        .expect("create");
    merge(
        &h.requests(),
        "crashed",
        &approval("Approved"),
        "kubectl-patch",
    )
    .await;
    merge(
        &h.tenants(),
        "city-ndrc",
        &json!({"spec": {"quota": {"cpu": "100"}}}),
        "kubectl-patch",
    )
    .await;
    h.storage
        .audit()
        .append(&NewAuditRecord {
            at: chrono::Utc::now(),
            actor: "wang.fang@ankang.example.org".into(),
            tenant: Some("city-ndrc".into()),
            action: "quota-request.apply".into(),
            object_kind: "QuotaRequest".into(),
            object_name: "crashed".into(),
            detail: json!({"uid": created.metadata.uid, "previous": {"cpu": "96"}, "new": {"cpu": "100"}}),
        })
        .await
        .expect("append");
    h.run();
    wait_phase(&h, "crashed", QuotaRequestPhase::Applied).await;
    let records = h.audit().await;
    assert_eq!(
        records_for(&records, "crashed").len(),
        1,
        "the earlier record counts"
    );
    assert!(matches!(
        h.storage.audit().verify().await.expect("verify"),
        govcloud_controller::storage::ChainStatus::Intact { records: 5, .. }
    ));

    // Metrics count the phases.
    let lines = [
        "govcloud_quota_requests{phase=\"Applied\"} 3",
        "govcloud_quota_requests{phase=\"Denied\"} 2",
        "govcloud_quota_requests{phase=\"Expired\"} 1",
        "govcloud_quota_requests{phase=\"Approved\"} 1",
        "govcloud_quota_requests{phase=\"Pending\"} 1",
    ];
    let text = eventually("phase metrics", 30, || {
        let metrics = h.metrics.clone();
        async move {
            let text = metrics.render();
            lines.iter().all(|line| text.contains(line)).then_some(text)
        }
    })
    .await;
    for line in lines {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    h.shutdown().await;
}
