//! `GET /v1/config` on the agent listener over real HTTPS (mutual TLS), on SQLite and on
//! PostgreSQL, against the embedded API server: a router with a prefix and a link gets its
//! addresses and its two-member route with an `ETag`; `If-None-Match` gives `304`; a long poll
//! answers early, with a higher generation, when a consolidated network or a link appears;
//! another router's certificate gets that router's configuration only; a revoked certificate
//! and a bad `waitSeconds` are refused.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]
#![allow(clippy::float_cmp)]

use crate::api_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use api_support::{Env, Reply};
use chrono::Utc;
use govcloud_controller::agents::{self, RunningAgentApi};
use govcloud_controller::storage::NewIpamAllocation;
use govcloud_crds::{AddressPool, DedicatedNetwork, ExtranetLink, Router};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use reqwest::Method;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

on_both_backends!(
    a_router_with_a_prefix_and_a_link_gets_its_configuration_with_an_etag,
    a_long_poll_answers_early_when_the_configuration_changes,
    each_certificate_gets_its_own_routers_configuration_only,
    a_revoked_certificate_and_bad_parameters_are_refused,
);

const CITY: &str = "ankang-core";
const COUNTY: &str = "hanyin-core";

struct Agents {
    running: RunningAgentApi,
    url: String,
}

impl Agents {
    async fn start(env: &Env) -> Self {
        let running = env.agent_listener().await;
        let url = format!("{}{}", running.url, agents::CONFIG_PATH);
        Self { running, url }
    }

    async fn get(&self, client: &reqwest::Client, query: &str, etag: Option<&str>) -> Reply {
        let mut request = client.get(format!("{}{query}", self.url));
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        let response = request.send().await.unwrap();
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }
}

fn etag_of(reply: &Reply) -> String {
    reply
        .headers
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned()
}

async fn create<K>(env: &Env, object: Value) -> K
where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let object: K = serde_json::from_value(object).unwrap();
    Api::<K>::all(env.client.clone())
        .create(&PostParams::default(), &object)
        .await
        .unwrap()
}

async fn patch_status<K>(env: &Env, name: &str, status: Value)
where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    Api::<K>::all(env.client.clone())
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "status": status })),
        )
        .await
        .unwrap();
}

async fn allocate(env: &Env, level: i32, kind: &str, owner: &str, prefix: &str) {
    env.storage
        .ipam()
        .allocate(&NewIpamAllocation {
            pool: "ankang".to_owned(),
            prefix: prefix.to_owned(),
            level,
            owner_kind: kind.to_owned(),
            owner_name: owner.to_owned(),
            allocated_at: Utc::now(),
        })
        .await
        .unwrap();
}

async fn router(env: &Env, name: &str, upstream: Option<&str>, interfaces: Value, prefix: &str) {
    let level = if upstream.is_some() { "County" } else { "City" };
    create::<Router>(
        env,
        json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "Router",
            "metadata": {"name": name},
            "spec": {
                "displayName": name,
                "site": {"level": level, "divisionCode": "610921", "name": name},
                "upstream": upstream,
                "interfaces": interfaces,
                "managementInterface": "mgmt0",
            },
        }),
    )
    .await;
    patch_status::<Router>(env, name, json!({"prefix": prefix})).await;
}

async fn link(env: &Env) {
    create::<ExtranetLink>(
        env,
        json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "ExtranetLink",
            "metadata": {"name": "cc-hanyin"},
            "spec": {
                "tier": "CityCounty",
                "upstream": {"router": CITY, "members": ["down0", "down1"]},
                "downstream": {"router": COUNTY, "members": ["up0", "up1"]},
            },
        }),
    )
    .await;
}

/// The pool, the city and county routers with their prefixes and LANs; the link `cc-hanyin`
/// and its members' /64s when `with_link`.
async fn city(env: &Env, with_link: bool) {
    create::<AddressPool>(
        env,
        json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "AddressPool",
            "metadata": {"name": "ankang"},
            "spec": {"prefix": "2001:db8:a00::/48"},
        }),
    )
    .await;
    let city_interfaces = json!([
        {"name": "mgmt0", "role": "Management"},
        {"name": "lan0", "role": "Lan"},
        {"name": "down0", "role": "Downlink"},
        {"name": "down1", "role": "Downlink"},
    ]);
    router(env, CITY, None, city_interfaces, "2001:db8:a00::/48").await;
    let county_interfaces = json!([
        {"name": "mgmt0", "role": "Management"},
        {"name": "up0", "role": "Uplink"},
        {"name": "up1", "role": "Uplink"},
        {"name": "lan0", "role": "Lan"},
    ]);
    router(
        env,
        COUNTY,
        Some(CITY),
        county_interfaces,
        "2001:db8:a00:100::/56",
    )
    .await;
    allocate(env, 0, "Router", CITY, "2001:db8:a00::/48").await;
    allocate(env, 1, "Router", COUNTY, "2001:db8:a00:100::/56").await;
    allocate(
        env,
        3,
        "RouterLan",
        "ankang-core/lan0",
        "2001:db8:a00:1::/64",
    )
    .await;
    allocate(
        env,
        3,
        "RouterLan",
        "hanyin-core/lan0",
        "2001:db8:a00:100::/64",
    )
    .await;
    if with_link {
        link_allocations(env).await;
        link(env).await;
    }
}

async fn link_allocations(env: &Env) {
    allocate(env, 3, "LinkMember", "cc-hanyin/0", "2001:db8:a00:101::/64").await;
    allocate(env, 3, "LinkMember", "cc-hanyin/1", "2001:db8:a00:102::/64").await;
}

struct Enrolled {
    serial: String,
    client: reqwest::Client,
}

async fn enroll(env: &Env, router: &str) -> Enrolled {
    let reply = env
        .post(
            &format!("/v1/routers/{router}/certificates"),
            &env.root_ops,
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let body = reply.json();
    let pem = |key: &str| body[key].as_str().unwrap().to_owned();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pem("ca").as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from_pem_slice(pem("certificate").as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(pem("privateKey").as_bytes()).unwrap(),
        )
        .unwrap();
    Enrolled {
        serial: pem("serial"),
        client: reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .no_proxy()
            .build()
            .unwrap(),
    }
}

async fn a_router_with_a_prefix_and_a_link_gets_its_configuration_with_an_etag(env: &Env) {
    city(env, true).await;
    let agents = Agents::start(env).await;
    let county = enroll(env, COUNTY).await;

    let reply = agents.get(&county.client, "", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.content_type(), "application/json");
    let etag = etag_of(&reply);
    assert_eq!(etag.len(), 66, "a quoted SHA-256: {etag}");
    println!("GET {} as {COUNTY}:\n{}", agents::CONFIG_PATH, reply.text());
    assert_eq!(
        reply.json(),
        json!({
            "router": COUNTY,
            "generation": 1,
            "protectedInterfaces": ["mgmt0"],
            "addresses": [
                {"interface": "lan0", "address": "2001:db8:a00:100::1/64"},
                {"interface": "up0", "address": "2001:db8:a00:101::2/64"},
                {"interface": "up1", "address": "2001:db8:a00:102::2/64"},
            ],
            "routes": [{"destination": "2001:db8:a00::/48", "nextHops": [
                {"via": "2001:db8:a00:101::1", "interface": "up0"},
                {"via": "2001:db8:a00:102::1", "interface": "up1"},
            ]}],
            "probes": [{
                "name": "city-lan",
                "target": "2001:db8:a00:1::1",
                "source": "2001:db8:a00:100::1",
            }],
        })
    );

    // Nothing changed: the same generation, and If-None-Match gives 304 with the ETag.
    let again = agents.get(&county.client, "", None).await;
    assert_eq!(again.body, reply.body, "byte-identical");
    let not_modified = agents.get(&county.client, "", Some(&etag)).await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(etag_of(&not_modified), etag);
    assert!(not_modified.body.is_empty());
    let other = agents.get(&county.client, "", Some("\"0000\"")).await;
    assert_eq!(other.status, 200);

    // The city router's route towards the county goes over both members.
    let city_router = enroll(env, CITY).await;
    let reply = agents.get(&city_router.client, "", None).await;
    assert_eq!(
        reply.json()["routes"],
        json!([{"destination": "2001:db8:a00:100::/56", "nextHops": [
            {"via": "2001:db8:a00:101::2", "interface": "down0"},
            {"via": "2001:db8:a00:102::2", "interface": "down1"},
        ]}])
    );
    let stored = env.storage.router_configs().find(COUNTY).await.unwrap();
    assert_eq!(stored.unwrap().generation, 1);
    agents.running.shutdown().await;
}

async fn a_long_poll_answers_early_when_the_configuration_changes(env: &Env) {
    city(env, false).await;
    let agents = Agents::start(env).await;
    let county = enroll(env, COUNTY).await;
    let first = agents.get(&county.client, "", None).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.json()["generation"], 1);
    assert!(first.json().get("routes").is_none(), "no link yet");
    let etag = etag_of(&first);

    // Nothing changes: 304 after the wait.
    let started = Instant::now();
    let waited = agents
        .get(&county.client, "?waitSeconds=1", Some(&etag))
        .await;
    assert_eq!(waited.status, 304);
    assert!(started.elapsed() >= Duration::from_millis(900));

    // A link appears while the agent waits: answered early, one generation up.
    let poll = {
        let client = county.client.clone();
        let url = format!("{}?waitSeconds=30", agents.url);
        let etag = etag.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let response = client
                .get(url)
                .header("If-None-Match", etag)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap(),
                started.elapsed(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    link_allocations(env).await;
    link(env).await;
    let (status, body, took) = poll.await.unwrap();
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert_eq!(body["generation"], 2);
    assert_eq!(body["routes"][0]["nextHops"].as_array().unwrap().len(), 2);

    // A consolidated network gets a site on the router: generation 3, with its segment.
    let second_etag = etag_of(&agents.get(&county.client, "", None).await);
    let poll = {
        let client = county.client.clone();
        let url = format!("{}?waitSeconds=30", agents.url);
        tokio::spawn(async move {
            let response = client
                .get(url)
                .header("If-None-Match", second_etag)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(1200)).await;
    create::<DedicatedNetwork>(
        env,
        json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "DedicatedNetwork",
            "metadata": {"name": "yibao"},
            "spec": {
                "displayName": "医保专网",
                "department": "city-finance",
                "classification": "Unclassified",
                "lifecycle": "Existing",
                "sites": [{"router": COUNTY}],
            },
        }),
    )
    .await;
    allocate(
        env,
        3,
        "NetworkSite",
        "yibao/hanyin-core",
        "2001:db8:a00:103::/64",
    )
    .await;
    patch_status::<DedicatedNetwork>(
        env,
        "yibao",
        json!({
            "disposition": "MigrateToExtranet",
            "phase": "Planned",
            "sites": [{"router": COUNTY, "vlanId": 100, "vrf": "vrf1000", "vrfTable": 1000}],
        }),
    )
    .await;
    let (status, body) = poll.await.unwrap();
    assert_eq!(status, 200);
    assert!(body["generation"].as_i64().unwrap() >= 3, "{body}");
    let segment = json!({
        "network": "yibao",
        "classified": false,
        "vlan": {"name": "vlan100", "parent": "lan0", "id": 100},
        "vrf": {"name": "vrf1000", "table": 1000},
        "address": "2001:db8:a00:103::1/64",
    });
    // The site may have been seen before its status (no segment yet): then the next poll.
    let body = if body.get("segments").is_some() {
        body
    } else {
        let reply = agents.get(&county.client, "", None).await;
        reply.json()
    };
    assert_eq!(body["segments"], json!([segment]));
    agents.running.shutdown().await;
}

async fn each_certificate_gets_its_own_routers_configuration_only(env: &Env) {
    city(env, true).await;
    let agents = Agents::start(env).await;
    let county = enroll(env, COUNTY).await;
    let city_router = enroll(env, CITY).await;
    let county_config = agents.get(&county.client, "", None).await.json();
    let city_config = agents.get(&city_router.client, "", None).await.json();
    assert_eq!(county_config["router"], COUNTY);
    assert_eq!(city_config["router"], CITY);
    assert_ne!(county_config["addresses"], city_config["addresses"]);
    // There is no way to name another router: the certificate decides, parameters cannot.
    let reply = agents
        .get(&county.client, &format!("?router={CITY}"), None)
        .await;
    let problem = reply.problem(400);
    assert!(problem["detail"].as_str().unwrap().contains("router"));

    // A certificate of a router whose Router object was deleted: 404, counted.
    Api::<Router>::all(env.client.clone())
        .delete(COUNTY, &kube::api::DeleteParams::default())
        .await
        .unwrap();
    agents.get(&county.client, "", None).await.problem(404);
    assert_eq!(
        env.metric("govcloud_telemetry_refused_total{reason=\"unknown_router\"}"),
        1.0
    );
    agents.running.shutdown().await;
}

async fn a_revoked_certificate_and_bad_parameters_are_refused(env: &Env) {
    city(env, true).await;
    let agents = Agents::start(env).await;
    let county = enroll(env, COUNTY).await;
    assert_eq!(agents.get(&county.client, "", None).await.status, 200);
    for bad in ["?waitSeconds=61", "?waitSeconds=-1", "?waitSeconds=soon"] {
        let problem = agents.get(&county.client, bad, None).await.problem(400);
        assert!(
            problem["detail"].as_str().unwrap().contains("waitSeconds"),
            "{problem}"
        );
    }

    let path = format!(
        "/v1/routers/{COUNTY}/certificates/{}/revocation",
        county.serial
    );
    let reply = env
        .call(Method::POST, &path, Some(&env.root_ops), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let problem = agents.get(&county.client, "", None).await.problem(403);
    assert!(problem["detail"].as_str().unwrap().contains("revoked"));
    assert_eq!(
        env.metric("govcloud_telemetry_refused_total{reason=\"revoked\"}"),
        1.0
    );
    agents.running.shutdown().await;
}
