//! The extranet endpoints over HTTPS (`/v1/routers`, `/v1/links`), against the embedded
//! Kubernetes API server with the Ankang routers and links (no controllers run, so statuses are
//! written here as the reconcilers would), on SQLite and on PostgreSQL: tokens of the city read
//! them with any role; tokens of departments and counties are refused with a 403 that does not
//! depend on what exists; lists filter by compliance and router; a missing object and a name
//! that cannot be one answer the same 404.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::api_support;

use api_support::{Env, ROOT, TENANT_A, TENANT_B, workspace_root};
use govcloud_crds::{ExtranetLink, Router};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

on_both_backends!(
    the_city_reads_routers_and_links_with_any_role,
    departments_and_counties_are_refused_whatever_exists,
);

/// Applies the Ankang routers and links, and writes the statuses the reconcilers would: the
/// county link `cc-hanbin` degraded, `hanbin-core` connected.
async fn network(env: &Env) {
    let seed = tempfile::tempdir().unwrap();
    for file in ["30-routers.yaml", "40-extranet-links.yaml"] {
        std::fs::copy(
            workspace_root().join("examples/ankang").join(file),
            seed.path().join(file),
        )
        .unwrap();
    }
    govcloud_controller::local::apply_seed(&env.client, seed.path(), "test-seed")
        .await
        .unwrap();
    Api::<ExtranetLink>::all(env.client.clone())
        .patch_status(
            "cc-hanbin",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "compliance": "Degraded",
                "membersUp": 1,
                "contractedSpeedMbps": 1000,
                "utilisationP95Percent": "42.0",
                "members": [
                    {"side": "Upstream", "interface": "cc-hanbin-a", "up": true, "speedMbps": 1000},
                    {"side": "Downstream", "interface": "up-a", "up": false}
                ],
                "reasons": ["member 1 at the downstream end (hanbin-core up-a) is down"],
                "lastEvaluated": "2025-03-01T08:00:00Z",
                "conditions": [{
                    "type": "RedundancyLost", "status": "True", "reason": "MemberDown",
                    "message": "member 1 at the downstream end (hanbin-core up-a) is down",
                    "lastTransitionTime": "2025-03-01T08:00:00Z"
                }]
            }})),
        )
        .await
        .unwrap();
    Api::<Router>::all(env.client.clone())
        .patch_status(
            "hanbin-core",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "agentVersion": "0.1.0",
                "lastSeen": "2025-03-01T08:00:00Z",
                "interfaces": [
                    {"name": "up-a", "operState": "down", "carrier": false, "mtu": 1500},
                    {"name": "up-b", "operState": "up", "carrier": true, "speedMbps": 1000, "mtu": 1500}
                ],
                "conditions": [{
                    "type": "Connected", "status": "True", "reason": "Reporting",
                    "message": "the agent reports every 30 s",
                    "lastTransitionTime": "2025-03-01T07:00:00Z"
                }]
            }})),
        )
        .await
        .unwrap();
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_city_reads_routers_and_links_with_any_role(env: &Env) {
    network(env).await;
    let (viewer, _) = env.issue(ROOT, "viewer").await;
    let (auditor, _) = env.issue(ROOT, "auditor").await;
    for token in [&env.root_ops, &viewer, &auditor] {
        let routers = env.get("/v1/routers", token).await;
        assert_eq!(routers.status, 200, "{}", routers.text());
        let routers = routers.json();
        let list = names(&routers);
        assert_eq!(list.len(), 152);
        assert!(list.windows(2).all(|pair| pair[0] < pair[1]), "by name");
        let hanbin = routers
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "hanbin-core")
            .unwrap();
        assert_eq!(hanbin["connected"], true);
        assert_eq!(hanbin["level"], "County");
        assert_eq!(hanbin["upstream"], "ankang-core");
        let links = env.get("/v1/links", token).await;
        assert_eq!(links.status, 200, "{}", links.text());
        assert_eq!(names(&links.json()).len(), 151);
    }

    let degraded = env
        .get("/v1/links?compliance=Degraded", &viewer)
        .await
        .json();
    assert_eq!(names(&degraded), ["cc-hanbin"]);
    assert_eq!(degraded[0]["membersUp"], 1);
    assert_eq!(degraded[0]["utilisationP95Percent"], "42.0");
    let at_hanbin = names(
        &env.get("/v1/links?router=hanbin-core", &viewer)
            .await
            .json(),
    );
    assert!(at_hanbin.contains(&"cc-hanbin".to_owned()), "{at_hanbin:?}");
    assert!(at_hanbin.len() > 1, "and its townships: {at_hanbin:?}");
    assert!(
        at_hanbin.iter().all(|l| l.contains("hanbin")),
        "{at_hanbin:?}"
    );
    let bad = env.get("/v1/links?compliance=degraded", &viewer).await;
    assert_eq!(bad.problem(422)["field"], "compliance");

    let link = env.get("/v1/links/cc-hanbin", &viewer).await;
    assert_eq!(link.status, 200, "{}", link.text());
    let link = link.json();
    assert_eq!(link["tier"], "CityCounty");
    assert_eq!(link["memberSpeedMbps"], 1000);
    assert_eq!(
        link["upstreamMembers"],
        json!(["cc-hanbin-a", "cc-hanbin-b"])
    );
    assert_eq!(link["utilisationWindow"], "168h");
    assert_eq!(link["members"][1]["router"], "hanbin-core");
    assert_eq!(link["members"][1]["up"], false);
    assert_eq!(
        link["reasons"],
        json!(["member 1 at the downstream end (hanbin-core up-a) is down"])
    );
    assert_eq!(link["conditions"][0]["type"], "RedundancyLost");

    let router = env.get("/v1/routers/hanbin-core", &auditor).await.json();
    assert_eq!(router["siteName"], "汉滨区");
    assert_eq!(router["agentVersion"], "0.1.0");
    assert_eq!(router["interfaces"][0]["name"], "up-a");
    assert_eq!(router["interfaces"][0]["role"], "Uplink");
    assert_eq!(router["interfaces"][0]["operState"], "down");
    assert!(
        router["links"]
            .as_array()
            .unwrap()
            .contains(&json!("cc-hanbin"))
    );

    // A missing object and a name that cannot be one: the same 404.
    for path in ["/v1/links/nope", "/v1/links/Not_A_Name"] {
        let missing = env.get(path, &viewer).await;
        assert_eq!(
            missing.problem(404)["detail"],
            "no extranet link of that name is visible to this token"
        );
    }
    let missing = env.get("/v1/routers/nope", &viewer).await;
    assert_eq!(
        missing.body,
        env.get("/v1/routers/NOPE", &viewer).await.body
    );
}

async fn departments_and_counties_are_refused_whatever_exists(env: &Env) {
    network(env).await;
    let (department, _) = env.issue(TENANT_A, "viewer").await;
    let (county_ops, _) = env.issue(TENANT_B, "operations").await;
    for token in [&department, &county_ops] {
        let mut bodies = Vec::new();
        for path in [
            "/v1/routers",
            "/v1/routers/hanbin-core",
            "/v1/routers/nope",
            "/v1/links",
            "/v1/links/cc-hanbin",
            "/v1/links/nope",
        ] {
            let reply = env.get(path, token).await;
            let problem = reply.problem(403);
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains("read with a token of a root tenant"),
                "{problem}"
            );
            bodies.push(problem["detail"].clone());
        }
        assert!(
            bodies.windows(2).all(|pair| pair[0] == pair[1]),
            "the same refusal whatever exists: {bodies:?}"
        );
    }
    let anonymous = env
        .call(reqwest::Method::GET, "/v1/links", None, None)
        .await;
    assert_eq!(anonymous.status, 401);
}
