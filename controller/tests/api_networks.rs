//! The dedicated-network endpoints over HTTPS (`/v1/networks`, `/v1/networks/{name}`), against
//! the embedded Kubernetes API server with the Ankang dedicated networks (no controllers run, so
//! one status is written here as the reconciler would), on SQLite and on PostgreSQL: operations
//! of the city see every network; a department sees only its own, and another department's
//! network answers the same 404 as a missing one.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::api_support;

use api_support::{Env, ROOT, workspace_root};
use govcloud_crds::DedicatedNetwork;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

on_both_backends!(
    operations_see_every_network_with_its_consolidation,
    a_department_sees_only_its_own_networks,
);

/// Applies the Ankang dedicated networks and writes medins-net's status as the reconciler
/// would: planned, a VLAN, a VRF and a /64 at its first site.
async fn networks(env: &Env) {
    let seed = tempfile::tempdir().unwrap();
    std::fs::copy(
        workspace_root().join("examples/ankang/60-dedicated-networks.yaml"),
        seed.path().join("60-dedicated-networks.yaml"),
    )
    .unwrap();
    govcloud_controller::local::apply_seed(&env.client, seed.path(), "test-seed")
        .await
        .unwrap();
    let statuses = [
        (
            "medins-net",
            json!({
                "disposition": "MigrateToExtranet",
                "phase": "Planned",
                "sites": [{
                    "router": "ankang-core", "vlanId": 210, "vrf": "vrf1000", "vrfTable": 1000,
                    "prefix": "2001:db8:0:10::/64"
                }],
                "conditions": [{
                    "type": "Ready", "status": "True", "reason": "Reconciled",
                    "message": "every site holds a VLAN, a VRF and a /64",
                    "lastTransitionTime": "2025-03-01T08:00:00Z"
                }]
            }),
        ),
        (
            "samr-legacy-vpn",
            json!({
                "disposition": "Retire",
                "phase": "Decommissioned",
                "annualSavingsYuan": 120_000,
                "decommissionedAt": "2025-04-30T00:00:00Z"
            }),
        ),
    ];
    for (name, status) in statuses {
        Api::<DedicatedNetwork>::all(env.client.clone())
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .unwrap();
    }
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn operations_see_every_network_with_its_consolidation(env: &Env) {
    networks(env).await;
    let (viewer, _) = env.issue(ROOT, "viewer").await;
    for token in [&env.root_ops, &viewer] {
        let list = env.get("/v1/networks", token).await;
        assert_eq!(list.status, 200, "{}", list.text());
        let list = list.json();
        assert_eq!(
            names(&list),
            [
                "emergency-satcom",
                "forestry-fire-net",
                "hrss-net",
                "medins-net",
                "natres-survey-net",
                "police-video-net",
                "samr-legacy-vpn",
                "water-hydro-net"
            ]
        );
        let samr = list
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "samr-legacy-vpn")
            .unwrap();
        assert_eq!(samr["disposition"], "Retire");
        assert_eq!(samr["phase"], "Decommissioned");
        assert_eq!(samr["annualCostYuan"], 120_000);
        assert_eq!(samr["annualSavingsYuan"], 120_000);
        assert_eq!(samr["siteCount"], 3);
    }
    let medins = env.get("/v1/networks/medins-net", &viewer).await;
    assert_eq!(medins.status, 200, "{}", medins.text());
    let medins = medins.json();
    assert_eq!(medins["department"], "city-medins");
    assert_eq!(medins["classification"], "Unclassified");
    assert_eq!(medins["disposition"], "MigrateToExtranet");
    assert_eq!(medins["phase"], "Planned");
    assert_eq!(medins["ready"], true);
    assert_eq!(medins["technology"], "Mpls");
    assert_eq!(medins["sites"].as_array().unwrap().len(), 11);
    assert_eq!(
        medins["sites"][0],
        json!({
            "router": "ankang-core", "pinnedVlanId": 210, "vlanId": 210, "vrf": "vrf1000",
            "vrfTable": 1000, "prefix": "2001:db8:0:10::/64"
        })
    );
    assert_eq!(medins["sites"][1], json!({"router": "hanbin-core"}));
    assert_eq!(medins["conditions"][0]["type"], "Ready");
    let satcom = env
        .get("/v1/networks/emergency-satcom", &viewer)
        .await
        .json();
    assert_eq!(satcom["lifecycle"], "New");
    assert!(
        satcom["exemption"].as_str().unwrap().contains("安政办函"),
        "{satcom}"
    );
    // A missing object and a name that cannot be one: the same 404.
    for path in ["/v1/networks/nope", "/v1/networks/Not_A_Name"] {
        let missing = env.get(path, &viewer).await;
        assert_eq!(
            missing.problem(404)["detail"],
            "no dedicated network of that name is visible to this token"
        );
    }
}

async fn a_department_sees_only_its_own_networks(env: &Env) {
    networks(env).await;
    let (medins, _) = env.issue("city-medins", "viewer").await;
    let list = env.get("/v1/networks", &medins).await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(names(&list.json()), ["medins-net"]);
    let own = env.get("/v1/networks/medins-net", &medins).await;
    assert_eq!(own.status, 200, "{}", own.text());
    // Another department's network: the same 404 as a missing one.
    let other = env.get("/v1/networks/hrss-net", &medins).await;
    let missing = env.get("/v1/networks/nope", &medins).await;
    assert_eq!(other.problem(404)["detail"], missing.problem(404)["detail"]);
    let (hrss, _) = env.issue("city-hrss", "operations").await;
    assert_eq!(
        names(&env.get("/v1/networks", &hrss).await.json()),
        ["hrss-net"]
    );
    let (finance, _) = env.issue("city-finance", "viewer").await;
    assert!(
        names(&env.get("/v1/networks", &finance).await.json()).is_empty(),
        "a department without dedicated networks sees none"
    );
}
