//! The `DedicatedNetwork` controller end to end against the embedded API server over real HTTPS
//! with real watches and a SQLite ledger:
//! - with every controller running (`run_controllers`): unclassified networks get a VLAN and a
//!   VRF per site, distinct per router; a classified one is tracked, never allocated; an unknown
//!   router and a pinned VLAN clash are named by field; a deleted network's VLANs are released
//!   so another network takes them;
//! - with the consolidation controller alone (the test plays the router controller and the IPAM
//!   controller: it writes the sites' /64 in the IPAM ledger and the routers' configuration
//!   generations in their status): the phases, an early decommission refused, then savings;
//! - admission (the CRD's schema and CEL rules in the embedded API server): a `New` network
//!   without an exemption and VLAN ids 0 and 4095 are refused, naming the field.

#![allow(clippy::too_many_lines, clippy::missing_panics_doc)]

use crate::controllers_support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use controllers_support::{Harness, eventually};
use govcloud_controller::runtime::Context;
use govcloud_controller::storage::NewIpamAllocation;
use govcloud_crds::network::dedicated_network::{
    ConsolidationPhase, DedicatedNetworkStatus, Disposition,
};
use govcloud_crds::{DedicatedNetwork, Router};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn create_routers(h: &Harness) {
    let routers: Api<Router> = Api::all(h.client.clone());
    for (name, level, code, upstream) in [
        ("ankang-core", "City", "610900", None),
        ("hanbin-core", "County", "610902", Some("ankang-core")),
    ] {
        let mut spec = json!({
            "displayName": format!("{name} 路由器"),
            "site": {"level": level, "divisionCode": code, "name": name},
            "interfaces": [
                {"name": "up-a", "role": "Uplink"},
                {"name": "lan0", "role": "Lan"}
            ]
        });
        if let Some(upstream) = upstream {
            spec["upstream"] = json!(upstream);
        }
        let router: Router = serde_json::from_value(json!({
            "apiVersion": "govcloud.io/v1alpha1", "kind": "Router",
            "metadata": {"name": name},
            "spec": spec
        }))
        .expect("a router");
        routers
            .create(&PostParams::default(), &router)
            .await
            .expect("create a router");
    }
}

fn network(name: &str, classification: &str, sites: &[(&str, Option<u16>)]) -> Value {
    let sites: Vec<Value> = sites
        .iter()
        .map(|(router, vlan)| match vlan {
            Some(vlan) => json!({"router": router, "vlanId": vlan}),
            None => json!({"router": router}),
        })
        .collect();
    json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "DedicatedNetwork",
        "metadata": {"name": name},
        "spec": {
            "displayName": format!("{name} 专网"),
            "department": "city-medins",
            "classification": classification,
            "lifecycle": "Existing",
            "annualCostYuan": 1_260_000,
            "sites": sites
        }
    })
}

async fn create(h: &Harness, manifest: Value) -> Result<DedicatedNetwork, kube::Error> {
    let network: DedicatedNetwork = serde_json::from_value(manifest).expect("a network");
    Api::<DedicatedNetwork>::all(h.client.clone())
        .create(&PostParams::default(), &network)
        .await
}

/// Waits until `name`'s status passes `check`; returns it. A network with a problem (a VLAN
/// clash) is looked at again only 30 s after its last reconcile, whatever changed meanwhile (the
/// clash's holder deleted): the wait allows for that and for a loaded machine.
async fn wait_for(
    h: &Harness,
    name: &str,
    what: &str,
    check: impl Fn(&DedicatedNetworkStatus) -> bool,
) -> DedicatedNetworkStatus {
    let api: Api<DedicatedNetwork> = Api::all(h.client.clone());
    let check = &check;
    eventually(&format!("{name}: {what}"), 90, || {
        let api = api.clone();
        async move {
            let status = api.get(name).await.ok()?.status?;
            check(&status).then_some(status)
        }
    })
    .await
}

fn condition<'a>(
    status: &'a DedicatedNetworkStatus,
    kind: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    status.conditions.iter().find(|c| c.type_ == kind)
}

fn ready_reason(status: &DedicatedNetworkStatus) -> (String, String) {
    condition(status, "Ready")
        .map_or_else(Default::default, |c| (c.status.clone(), c.reason.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networks_get_distinct_segments_which_deletion_releases() {
    let mut h = Harness::start().await;
    create_routers(&h).await;
    let medins = [("ankang-core", Some(210)), ("hanbin-core", None)];
    create(&h, network("medins-net", "Unclassified", &medins))
        .await
        .expect("medins-net");
    let both = [("ankang-core", None), ("hanbin-core", None)];
    create(&h, network("hrss-net", "Unclassified", &both))
        .await
        .expect("hrss-net");
    create(&h, network("police-net", "Classified", &both))
        .await
        .expect("police-net");
    create(
        &h,
        network("lost-net", "Unclassified", &[("nowhere-core", None)]),
    )
    .await
    .expect("lost-net");
    h.run();

    // Two unclassified networks on the same routers: a VLAN and a VRF each, never shared.
    let medins = wait_for(&h, "medins-net", "two sites allocated", |s| {
        s.sites.len() == 2
    })
    .await;
    let hrss = wait_for(&h, "hrss-net", "two sites allocated", |s| {
        s.sites.len() == 2
    })
    .await;
    assert_eq!(medins.disposition, Some(Disposition::MigrateToExtranet));
    assert_eq!(medins.sites[0].router, "ankang-core");
    assert_eq!(medins.sites[0].vlan_id, 210, "the pinned VLAN");
    for router in ["ankang-core", "hanbin-core"] {
        let a = medins
            .sites
            .iter()
            .find(|s| s.router == router)
            .expect("a site");
        let b = hrss
            .sites
            .iter()
            .find(|s| s.router == router)
            .expect("a site");
        assert_ne!(a.vlan_id, b.vlan_id, "VLAN shared on {router}");
        assert_ne!(a.vrf_table, b.vrf_table, "VRF table shared on {router}");
        assert!(a.vrf_table >= 1000 && b.vrf_table >= 1000);
        assert_eq!(a.vrf, format!("vrf{}", a.vrf_table));
    }
    let unpinned = hrss.sites.iter().map(|s| s.vlan_id).min().expect("sites");
    assert!(unpinned >= 100, "{hrss:?}");
    // No /64 yet (no address pool): the network waits, saying so.
    assert_eq!(medins.phase, ConsolidationPhase::Inventoried);
    assert_eq!(
        ready_reason(&medins),
        ("False".to_owned(), "PrefixPending".to_owned())
    );
    let ledger = h
        .storage
        .segments()
        .of_network("medins-net")
        .await
        .expect("ledger");
    assert_eq!(ledger.len(), 2);

    // A classified network: tracked, never configured on extranet routers.
    let police = wait_for(&h, "police-net", "planned", |s| {
        s.phase == ConsolidationPhase::Planned
    })
    .await;
    assert_eq!(police.disposition, Some(Disposition::MigrateToIntranet));
    assert!(police.sites.is_empty());
    let cutover = condition(&police, "CutoverComplete").expect("CutoverComplete");
    assert_eq!(
        (cutover.status.as_str(), cutover.reason.as_str()),
        ("False", "NotOnExtranet")
    );
    assert!(
        h.storage
            .segments()
            .of_network("police-net")
            .await
            .expect("ledger")
            .is_empty()
    );

    // A site at no known router: named by field.
    let lost = wait_for(&h, "lost-net", "not ready", |s| {
        ready_reason(s).0 == "False"
    })
    .await;
    let ready = condition(&lost, "Ready").expect("Ready");
    assert_eq!(ready.reason, "UnknownRouter");
    assert!(
        ready.message.contains("spec.sites[0].router") && ready.message.contains("nowhere-core"),
        "{ready:?}"
    );
    assert_eq!(lost.phase, ConsolidationPhase::Inventoried);

    // A pinned VLAN another network holds on that router: the field and the holder named.
    create(
        &h,
        network("clash-net", "Unclassified", &[("ankang-core", Some(210))]),
    )
    .await
    .expect("clash-net");
    let clash = wait_for(&h, "clash-net", "a VLAN conflict", |s| {
        ready_reason(s).1 == "VlanConflict"
    })
    .await;
    let message = &condition(&clash, "Ready").expect("Ready").message;
    assert!(
        message.contains("spec.sites[0].vlanId") && message.contains("medins-net"),
        "{message}"
    );
    assert!(clash.sites.is_empty());

    // The metrics are set after the status is written.
    let planned =
        "govcloud_dedicated_networks{disposition=\"MigrateToIntranet\",phase=\"Planned\"} 1";
    let metrics = eventually("the classified network's metric", 30, || async {
        let metrics = h.metrics.render();
        metrics.contains(planned).then_some(metrics)
    })
    .await;
    assert!(metrics.contains(planned), "{metrics}");

    // Deleting medins-net releases its VLANs and VRFs: clash-net takes VLAN 210.
    Api::<DedicatedNetwork>::all(h.client.clone())
        .delete("medins-net", &DeleteParams::default())
        .await
        .expect("delete medins-net");
    let clash = wait_for(&h, "clash-net", "VLAN 210 once released", |s| {
        s.sites.first().is_some_and(|site| site.vlan_id == 210)
    })
    .await;
    assert_eq!(clash.sites[0].router, "ankang-core");
    let left = eventually("medins-net's segments released", 30, || async {
        let left = h.storage.segments().of_network("medins-net").await.ok()?;
        left.is_empty().then_some(left)
    })
    .await;
    assert!(left.is_empty());
    h.shutdown().await;
}

/// Runs the consolidation controller alone over `h`'s API server and storage, with the news in
/// SQL (new allocations, served configurations) that triggers it.
fn run_consolidation(
    h: &Harness,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let ctx = Arc::new(Context::new(
        h.client.clone(),
        h.storage.clone(),
        h.metrics.clone(),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = futures::FutureExt::shared(async move {
        let _ = stopped.await;
    });
    let news = {
        let ctx = Arc::clone(&ctx);
        let shutdown = shutdown.clone();
        async move {
            govcloud_controller::activity::watch(ctx.storage.clone(), &ctx.activity, shutdown)
                .await;
        }
    };
    let task = tokio::spawn(async move {
        futures::join!(govcloud_controller::consolidation::run(ctx, shutdown), news);
    });
    (stop, task)
}

/// Writes a router's configuration generations and `ConfigApplied`, as the router controller
/// does from the served configuration and the agent's reports.
async fn router_config(h: &Harness, router: &str, desired: i64, applied: Option<i64>) {
    let applied_ok = applied == Some(desired);
    let mut status = json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "Router",
        "status": {
            "desiredConfigGeneration": desired,
            "conditions": [{
                "type": "ConfigApplied",
                "status": if applied_ok { "True" } else { "False" },
                "reason": if applied_ok { "Applied" } else { "Pending" },
                "message": "",
                "lastTransitionTime": "2026-11-27T08:00:00Z"
            }]
        }
    });
    if let Some(applied) = applied {
        status["status"]["appliedConfigGeneration"] = json!(applied);
    }
    Api::<Router>::all(h.client.clone())
        .patch_status(
            router,
            &PatchParams::apply("test-router-controller").force(),
            &Patch::Apply(&status),
        )
        .await
        .expect("patch the router's status");
}

/// Records the configuration served to `router`, as the agent listener does when the agent
/// fetches it: with the segment `network`'s status gives the router, or without any.
async fn serve(h: &Harness, router: &str, network: Option<&DedicatedNetworkStatus>) {
    let segments: Vec<Value> = network
        .into_iter()
        .flat_map(|status| status.sites.iter())
        .filter(|site| site.router == router)
        .map(|site| {
            json!({
                "network": "medins-net",
                "vlan": {"name": format!("vlan{}", site.vlan_id), "parent": "lan0", "id": site.vlan_id},
                "vrf": {"name": site.vrf, "table": site.vrf_table},
                "address": "2001:db8:0:10::1/64"
            })
        })
        .collect();
    let body = json!({"router": router, "segments": segments}).to_string();
    let etag = format!("{:064x}", segments.len() + 1);
    h.storage
        .router_configs()
        .record(router, &etag, &body, Utc::now())
        .await
        .expect("record the configuration served");
}

async fn add_prefix(h: &Harness, network: &str, router: &str, prefix: &str) {
    h.storage
        .ipam()
        .allocate(&NewIpamAllocation {
            pool: "ankang-v6".to_owned(),
            prefix: prefix.to_owned(),
            level: 3,
            owner_kind: "NetworkSite".to_owned(),
            owner_name: format!("{network}/{router}"),
            allocated_at: Utc::now(),
        })
        .await
        .expect("allocate a /64");
}

async fn patch_spec(h: &Harness, name: &str, spec: Value) {
    Api::<DedicatedNetwork>::all(h.client.clone())
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": spec})),
        )
        .await
        .expect("patch the network");
}

async fn events_of(h: &Harness, name: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(h.client.clone(), "default");
    let list = events.list(&ListParams::default()).await.expect("events");
    list.items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter_map(|e| e.reason)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phases_follow_the_routers_and_decommission_waits_for_the_cutover() {
    let h = Harness::start().await;
    create_routers(&h).await;
    let sites = [("ankang-core", None), ("hanbin-core", Some(120))];
    create(&h, network("medins-net", "Unclassified", &sites))
        .await
        .expect("medins-net");
    let (stop, task) = run_consolidation(&h);
    let api: Api<DedicatedNetwork> = Api::all(h.client.clone());

    // VLAN and VRF first, then the /64 the IPAM controller allocates: Planned.
    wait_for(&h, "medins-net", "waiting for its /64", |s| {
        s.sites.len() == 2 && ready_reason(s).1 == "PrefixPending"
    })
    .await;
    add_prefix(&h, "medins-net", "ankang-core", "2001:db8:0:10::/64").await;
    add_prefix(&h, "medins-net", "hanbin-core", "2001:db8:100:10::/64").await;
    let planned = wait_for(&h, "medins-net", "planned", |s| {
        s.phase == ConsolidationPhase::Planned
    })
    .await;
    let hanbin = planned
        .sites
        .iter()
        .find(|s| s.router == "hanbin-core")
        .expect("a site");
    assert_eq!(hanbin.vlan_id, 120);
    assert_eq!(
        hanbin
            .prefix
            .as_ref()
            .map(govcloud_crds::common::Prefix::as_str),
        Some("2001:db8:100:10::/64")
    );
    assert_eq!(
        ready_reason(&planned),
        ("True".to_owned(), "Reconciled".to_owned())
    );
    // Reconciled every few seconds while waiting, an unchanged network is not written again.
    let before = api
        .get("medins-net")
        .await
        .expect("the network")
        .metadata
        .resource_version;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = api
        .get("medins-net")
        .await
        .expect("the network")
        .metadata
        .resource_version;
    assert_eq!(before, after, "the status was rewritten without a change");

    // Decommission confirmed too early: reported, not acted on.
    patch_spec(
        &h,
        "medins-net",
        json!({"decommission": {"confirmedBy": "wang.fang@ankang.example.org"}}),
    )
    .await;
    let blocked = wait_for(&h, "medins-net", "decommission blocked", |s| {
        ready_reason(s).1 == "DecommissionBlocked"
    })
    .await;
    assert_eq!(blocked.phase, ConsolidationPhase::Planned);
    assert_eq!(blocked.annual_savings_yuan, None);
    let message = &condition(&blocked, "Ready").expect("Ready").message;
    assert!(
        message.contains("spec.decommission") && message.contains("Migrated"),
        "{message}"
    );
    patch_spec(&h, "medins-net", json!({"decommission": null})).await;

    // The routers are served a configuration without the segment: still planned.
    serve(&h, "ankang-core", None).await;
    serve(&h, "hanbin-core", None).await;
    router_config(&h, "ankang-core", 1, Some(1)).await;
    router_config(&h, "hanbin-core", 1, Some(1)).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let status = api
        .get("medins-net")
        .await
        .expect("the network")
        .status
        .expect("a status");
    assert_eq!(
        status.phase,
        ConsolidationPhase::Planned,
        "no router carries the segment"
    );
    // Then one that carries it (generation 2): cutting over until both applied it.
    serve(&h, "ankang-core", Some(&planned)).await;
    serve(&h, "hanbin-core", Some(&planned)).await;
    router_config(&h, "ankang-core", 2, Some(1)).await;
    router_config(&h, "hanbin-core", 2, Some(1)).await;
    let cutting = wait_for(&h, "medins-net", "cutting over", |s| {
        s.phase == ConsolidationPhase::CuttingOver
    })
    .await;
    let cutover = condition(&cutting, "CutoverComplete").expect("CutoverComplete");
    assert_eq!(cutover.status, "False");
    router_config(&h, "ankang-core", 2, Some(2)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = api
        .get("medins-net")
        .await
        .expect("the network")
        .status
        .expect("a status");
    assert_eq!(
        status.phase,
        ConsolidationPhase::CuttingOver,
        "hanbin-core has not applied"
    );
    router_config(&h, "hanbin-core", 2, Some(2)).await;
    let migrated = wait_for(&h, "medins-net", "migrated", |s| {
        s.phase == ConsolidationPhase::Migrated
    })
    .await;
    let cutover = condition(&migrated, "CutoverComplete").expect("CutoverComplete");
    assert_eq!(cutover.status, "True");

    // Now the confirmation is acted on: savings recorded; the segment stays, since the old
    // network is what was switched off.
    patch_spec(
        &h,
        "medins-net",
        json!({"decommission": {"confirmedBy": "wang.fang@ankang.example.org"}}),
    )
    .await;
    let done = wait_for(&h, "medins-net", "decommissioned", |s| {
        s.phase == ConsolidationPhase::Decommissioned
    })
    .await;
    assert_eq!(done.annual_savings_yuan, Some(1_260_000));
    assert!(done.decommissioned_at.is_some());
    assert_eq!(done.sites.len(), 2, "{done:?}");
    assert_eq!(
        h.storage
            .segments()
            .of_network("medins-net")
            .await
            .expect("ledger")
            .len(),
        2
    );
    // The metrics are set after the status is written.
    let retired = "govcloud_dedicated_network_annual_cost_retired_yuan 1260000";
    let metrics = eventually("the retired cost metric", 30, || async {
        let metrics = h.metrics.render();
        metrics.contains(retired).then_some(metrics)
    })
    .await;
    assert!(metrics.contains(retired), "{metrics}");
    let reasons = eventually("the phase events", 30, || {
        let h = &h;
        async move {
            let reasons = events_of(h, "medins-net").await;
            [
                "PrefixPending",
                "Planned",
                "CuttingOver",
                "Migrated",
                "Decommissioned",
                "DecommissionBlocked",
            ]
            .iter()
            .all(|r| reasons.iter().any(|e| e == r))
            .then_some(reasons)
        }
    })
    .await;
    assert!(reasons.iter().any(|r| r == "PrefixPending"), "{reasons:?}");

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the controller stops")
        .expect("no panic");
    h.shutdown().await;
}

fn refusal(result: Result<DedicatedNetwork, kube::Error>) -> String {
    match result {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            status.message
        }
        other => panic!("expected a 422, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_refuses_new_networks_and_vlans_out_of_range() {
    let h = Harness::start().await;
    let mut new = network("new-net", "Unclassified", &[("ankang-core", None)]);
    new["spec"]["lifecycle"] = json!("New");
    let message = refusal(create(&h, new.clone()).await);
    assert!(
        message.contains("spec.lifecycle") && message.contains("no new dedicated networks"),
        "{message}"
    );
    // With an exemption approved by operations, it is accepted.
    new["spec"]["exemption"] = json!({
        "reference": "安政办函〔2025〕18号",
        "approvedBy": "li.hua@ankang.example.org"
    });
    create(&h, new).await.expect("an exempted new network");
    for vlan in [0, 4095] {
        let message = refusal(
            create(
                &h,
                network("bad-vlan", "Unclassified", &[("ankang-core", Some(vlan))]),
            )
            .await,
        );
        assert!(
            message.contains("spec.sites[0].vlanId"),
            "{vlan}: {message}"
        );
    }
    h.shutdown().await;
}
