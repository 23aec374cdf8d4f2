//! Router enrollment and the agent listener over real HTTPS, on SQLite and on PostgreSQL: a
//! router enrolled through the API posts telemetry with its certificate (real rustls clients)
//! and its samples are stored once; a client without a certificate, or with one of another CA,
//! cannot complete the handshake; another router's certificate, a revoked one, a body that does
//! not parse or carries an unknown field are refused, counted, and store nothing.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]
// Counters read back from the text exposition are small integers, exact in an f64.
#![allow(clippy::float_cmp)]

use crate::api_support;

use std::sync::Arc;

use api_support::{Env, Reply, TENANT_B};
use chrono::{Duration, Utc};
use govcloud_controller::agents::{self, AgentCa, KeySource, RunningAgentApi};
use govcloud_crds::Router;
use reqwest::Method;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

on_both_backends!(
    an_enrolled_router_reports_and_a_report_sent_twice_is_stored_once,
    handshakes_without_a_certificate_of_the_agent_ca_fail,
    another_routers_certificate_is_refused,
    a_revoked_certificate_is_refused_at_once,
    bodies_that_do_not_parse_or_carry_unknown_fields_are_refused,
    enrollment_takes_a_csr_and_is_for_root_operations_only,
);

const ROUTER_A: &str = "hanyin-core";
const ROUTER_B: &str = "ankang-core";

/// A running agent listener of an environment.
struct Agents {
    running: RunningAgentApi,
    url: String,
}

impl Agents {
    async fn start(env: &Env) -> Self {
        create_router(env, ROUTER_B, None).await;
        create_router(env, ROUTER_A, Some(ROUTER_B)).await;
        let running = env.agent_listener().await;
        let url = format!("{}{}", running.url, agents::TELEMETRY_PATH);
        Self { running, url }
    }

    async fn post(&self, client: &reqwest::Client, body: &[u8]) -> Result<Reply, reqwest::Error> {
        let response = client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .body(body.to_vec())
            .send()
            .await?;
        Ok(Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await?.to_vec(),
        })
    }
}

async fn create_router(env: &Env, name: &str, upstream: Option<&str>) {
    let router: Router = serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "Router",
        "metadata": {"name": name},
        "spec": {
            "displayName": name,
            "site": if upstream.is_some() {
                json!({"level": "County", "divisionCode": "610921", "name": "汉阴县"})
            } else {
                json!({"level": "City", "divisionCode": "610900", "name": "安康市"})
            },
            "upstream": upstream,
            "interfaces": [{"name": "eth0", "role": "Uplink"}, {"name": "eth1", "role": "Uplink"}],
        },
    }))
    .unwrap();
    kube::Api::<Router>::all(env.client.clone())
        .create(&kube::api::PostParams::default(), &router)
        .await
        .unwrap();
}

/// A certificate issued through the API.
struct Enrolled {
    serial: String,
    certificate: String,
    key: String,
    ca: String,
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
    assert_eq!(body["router"], router);
    assert_eq!(body["keyOrigin"], "server");
    Enrolled {
        serial: body["serial"].as_str().unwrap().to_owned(),
        certificate: body["certificate"].as_str().unwrap().to_owned(),
        key: body["privateKey"].as_str().unwrap().to_owned(),
        ca: body["ca"].as_str().unwrap().to_owned(),
    }
}

/// A rustls client (ring) trusting `ca_pem`, presenting `identity` (certificate, key) if any.
fn agent_client(ca_pem: &str, identity: Option<(&str, &str)>) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((certificate, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(certificate.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .no_proxy()
        .build()
        .unwrap()
}

fn enrolled_client(enrolled: &Enrolled) -> reqwest::Client {
    agent_client(&enrolled.ca, Some((&enrolled.certificate, &enrolled.key)))
}

fn report(router: &str, sequence: u64) -> Value {
    let link = |name: &str, index: u32| {
        json!({
            "name": name,
            "index": index,
            "operState": "up",
            "carrier": true,
            "mtu": 1500,
            "speedMbps": 1000,
            "counters": {
                "rxBytes": 1_000 * sequence, "txBytes": 2_000 * sequence,
                "rxPackets": 10, "txPackets": 20, "rxErrors": 0, "txErrors": 0,
                "rxDropped": 0, "txDropped": 0,
            },
        })
    };
    json!({
        "router": router,
        "agentVersion": "0.1.0",
        "sequence": sequence,
        "observedAt": Utc::now() - Duration::seconds(i64::try_from(100 - sequence).unwrap()),
        "intervalSeconds": 30,
        "links": [link("eth0", 2), link("eth1", 3)],
        "routes": [{"table": 254, "family": "inet6", "routes": 3, "hasDefault": true}],
    })
}

/// Samples stored for `router`'s `eth0` in the last day.
async fn samples(env: &Env, router: &str) -> usize {
    env.storage
        .telemetry()
        .window(
            router,
            "eth0",
            Utc::now() - Duration::days(1),
            Utc::now() + Duration::days(1),
        )
        .await
        .unwrap()
        .len()
}

fn refusals(env: &Env, reason: &str) -> f64 {
    env.metric(&format!(
        "govcloud_telemetry_refused_total{{reason=\"{reason}\"}}"
    ))
}

async fn an_enrolled_router_reports_and_a_report_sent_twice_is_stored_once(env: &Env) {
    let agents = Agents::start(env).await;
    let enrolled = enroll(env, ROUTER_A).await;
    assert_eq!(enrolled.ca, env.agent_ca.ca_pem());
    assert_ne!(
        enrolled.ca, env.ca_pem,
        "the agent CA is not the API server's"
    );
    let client = enrolled_client(&enrolled);
    let body = report(ROUTER_A, 1).to_string();

    let reply = agents.post(&client, body.as_bytes()).await.unwrap();
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert_eq!(reply.json(), json!({"sequence": 1, "stored": true}));
    assert_eq!(samples(env, ROUTER_A).await, 1);
    let latest = env
        .storage
        .telemetry()
        .latest_report(ROUTER_A)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((latest.sequence, latest.links.len()), (1, 2));
    assert_eq!(latest.agent_version, "0.1.0");

    // A spooled report sent again: 200, nothing stored twice.
    let reply = agents.post(&client, body.as_bytes()).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json(), json!({"sequence": 1, "stored": false}));
    assert_eq!(samples(env, ROUTER_A).await, 1);
    let reply = agents
        .post(&client, report(ROUTER_A, 2).to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert_eq!(samples(env, ROUTER_A).await, 2);
    assert_eq!(
        env.metric("govcloud_telemetry_reports_total{outcome=\"stored\"}"),
        2.0
    );
    assert_eq!(
        env.metric("govcloud_telemetry_reports_total{outcome=\"duplicate\"}"),
        1.0
    );

    // The listing shows the certificate, never a key; the audit log has the issue.
    let listed = env
        .get(
            &format!("/v1/routers/{ROUTER_A}/certificates"),
            &env.root_ops,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(listed.json()[0]["serial"], enrolled.serial.as_str());
    assert!(!listed.text().contains("PRIVATE KEY"));
    let audit = env.get("/v1/audit", &env.root_ops).await.text();
    assert!(audit.contains("router-certificate.issue"), "{audit}");
    assert!(!audit.contains("PRIVATE KEY"));

    // A deleted Router gets no telemetry in.
    kube::Api::<Router>::all(env.client.clone())
        .delete(ROUTER_A, &kube::api::DeleteParams::default())
        .await
        .unwrap();
    let reply = agents
        .post(&client, report(ROUTER_A, 3).to_string().as_bytes())
        .await
        .unwrap();
    reply.problem(404);
    assert_eq!(refusals(env, "unknown_router"), 1.0);
    assert_eq!(samples(env, ROUTER_A).await, 2);
    agents.running.shutdown().await;
}

async fn handshakes_without_a_certificate_of_the_agent_ca_fail(env: &Env) {
    let agents = Agents::start(env).await;
    let enrolled = enroll(env, ROUTER_A).await;
    let body = report(ROUTER_A, 1).to_string();

    let anonymous = agent_client(&enrolled.ca, None);
    let error = agents.post(&anonymous, body.as_bytes()).await.unwrap_err();
    assert!(error.is_connect() || error.is_request(), "{error:?}");

    // A certificate for the same router name from another CA.
    let other_ca = AgentCa::generate().unwrap();
    let forged = other_ca
        .issue_router(ROUTER_A, KeySource::Generate)
        .unwrap();
    let impostor = agent_client(
        &enrolled.ca,
        Some((
            &forged.certificate_pem,
            forged.private_key_pem.as_deref().unwrap(),
        )),
    );
    agents.post(&impostor, body.as_bytes()).await.unwrap_err();

    // The API server's CA does not make the listener trusted either: the agent CA is separate.
    let api_ca_client = agent_client(&env.ca_pem, Some((&enrolled.certificate, &enrolled.key)));
    agents
        .post(&api_ca_client, body.as_bytes())
        .await
        .unwrap_err();

    assert!(refusals(env, "handshake") >= 2.0);
    assert_eq!(samples(env, ROUTER_A).await, 0);
    agents.running.shutdown().await;
}

async fn another_routers_certificate_is_refused(env: &Env) {
    let agents = Agents::start(env).await;
    enroll(env, ROUTER_A).await;
    let b = enroll(env, ROUTER_B).await;
    let reply = agents
        .post(
            &enrolled_client(&b),
            report(ROUTER_A, 1).to_string().as_bytes(),
        )
        .await
        .unwrap();
    let problem = reply.problem(403);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(ROUTER_B), "{detail}");
    assert_eq!(refusals(env, "router_mismatch"), 1.0);
    assert_eq!(samples(env, ROUTER_A).await, 0);
    assert_eq!(samples(env, ROUTER_B).await, 0);
    assert_eq!(
        env.storage
            .telemetry()
            .latest_report(ROUTER_A)
            .await
            .unwrap(),
        None
    );
    agents.running.shutdown().await;
}

async fn a_revoked_certificate_is_refused_at_once(env: &Env) {
    let agents = Agents::start(env).await;
    let enrolled = enroll(env, ROUTER_A).await;
    let client = enrolled_client(&enrolled);
    let reply = agents
        .post(&client, report(ROUTER_A, 1).to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(reply.status, 202, "{}", reply.text());

    let path = format!(
        "/v1/routers/{ROUTER_A}/certificates/{}/revocation",
        enrolled.serial
    );
    let reply = env
        .call(Method::POST, &path, Some(&env.root_ops), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let revoked_at = reply.json()["revokedAt"].as_str().unwrap().to_owned();

    // The same client, probably on the same connection: refused from the next request on.
    let reply = agents
        .post(&client, report(ROUTER_A, 2).to_string().as_bytes())
        .await
        .unwrap();
    let problem = reply.problem(403);
    assert!(
        problem["detail"].as_str().unwrap().contains("revoked"),
        "{problem}"
    );
    assert_eq!(refusals(env, "revoked"), 1.0);
    assert_eq!(samples(env, ROUTER_A).await, 1);

    // Revoking again changes nothing; a serial of no certificate of the router is a 404.
    let again = env
        .call(Method::POST, &path, Some(&env.root_ops), None)
        .await;
    assert_eq!(again.json()["revokedAt"], revoked_at.as_str());
    let other = enroll(env, ROUTER_B).await;
    env.call(
        Method::POST,
        &format!(
            "/v1/routers/{ROUTER_A}/certificates/{}/revocation",
            other.serial
        ),
        Some(&env.root_ops),
        None,
    )
    .await
    .problem(404);
    env.call(
        Method::POST,
        &format!("/v1/routers/{ROUTER_A}/certificates/zz/revocation"),
        Some(&env.root_ops),
        None,
    )
    .await
    .problem(404);
    let audit = env.get("/v1/audit", &env.root_ops).await.text();
    assert_eq!(audit.matches("router-certificate.revoke").count(), 1);

    // A new enrollment lets the router in again.
    let renewed = enroll(env, ROUTER_A).await;
    let reply = agents
        .post(
            &enrolled_client(&renewed),
            report(ROUTER_A, 3).to_string().as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 202, "{}", reply.text());
    agents.running.shutdown().await;
}

async fn bodies_that_do_not_parse_or_carry_unknown_fields_are_refused(env: &Env) {
    let agents = Agents::start(env).await;
    let client = enrolled_client(&enroll(env, ROUTER_A).await);

    let reply = agents
        .post(&client, b"{\n  \"router\": \"hanyin-core\",\n  oops\n}")
        .await
        .unwrap();
    let detail = reply.problem(400)["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("line 3"), "{detail}");

    let mut unknown = report(ROUTER_A, 1);
    unknown["links"][0]["counters"]["bogus"] = json!(1);
    let reply = agents
        .post(&client, unknown.to_string().as_bytes())
        .await
        .unwrap();
    let detail = reply.problem(400)["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("links[0].counters.bogus") && detail.contains("unknown field `bogus`"),
        "{detail}"
    );
    let mut unknown = report(ROUTER_A, 1);
    unknown["secret"] = json!("x");
    agents
        .post(&client, unknown.to_string().as_bytes())
        .await
        .unwrap()
        .problem(400);
    assert_eq!(refusals(env, "malformed"), 3.0);

    let mut insane = report(ROUTER_A, 1);
    insane["sequence"] = json!(0);
    let reply = agents
        .post(&client, insane.to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(reply.problem(422)["field"], "sequence");
    assert_eq!(refusals(env, "invalid"), 1.0);

    let huge = vec![b' '; 5 * 1024 * 1024];
    agents.post(&client, &huge).await.unwrap().problem(413);
    assert_eq!(refusals(env, "too_large"), 1.0);

    assert_eq!(samples(env, ROUTER_A).await, 0);
    assert_eq!(
        env.storage
            .telemetry()
            .latest_report(ROUTER_A)
            .await
            .unwrap(),
        None
    );
    agents.running.shutdown().await;
}

async fn enrollment_takes_a_csr_and_is_for_root_operations_only(env: &Env) {
    let agents = Agents::start(env).await;
    let path = format!("/v1/routers/{ROUTER_A}/certificates");

    // A CSR: the key never leaves the "router"; the subject it asks for is ignored.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ankang-core");
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let reply = env.post(&path, &env.root_ops, &json!({"csr": csr})).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["keyOrigin"], "csr");
    assert_eq!(body["router"], ROUTER_A);
    assert!(body.get("privateKey").is_none(), "{body}");
    let client = agent_client(
        body["ca"].as_str().unwrap(),
        Some((body["certificate"].as_str().unwrap(), &key.serialize_pem())),
    );
    let reply = agents
        .post(&client, report(ROUTER_A, 1).to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(reply.status, 202, "{}", reply.text());

    let reply = env
        .post(&path, &env.root_ops, &json!({"csr": "not a csr"}))
        .await;
    assert_eq!(reply.problem(422)["field"], "csr");
    env.post(&path, &env.root_ops, &json!({"key": "x"}))
        .await
        .problem(422);
    env.post(
        "/v1/routers/no-such-router/certificates",
        &env.root_ops,
        &json!({}),
    )
    .await
    .problem(404);

    // A county's operations, and the city's viewers, may not enroll routers.
    let (county_ops, _) = env.issue(TENANT_B, "operations").await;
    let problem = env.post(&path, &county_ops, &json!({})).await.problem(403);
    assert!(
        problem["detail"].as_str().unwrap().contains("root tenant"),
        "{problem}"
    );
    env.get(&path, &county_ops).await.problem(403);
    let (viewer, _) = env.issue(api_support::ROOT, "viewer").await;
    env.post(&path, &viewer, &json!({})).await.problem(403);
    let (auditor, _) = env.issue(api_support::ROOT, "auditor").await;
    assert_eq!(env.get(&path, &auditor).await.status, 200);
    env.call(
        Method::POST,
        &format!("{path}/00ff/revocation"),
        Some(&auditor),
        None,
    )
    .await
    .problem(403);
    env.post(&path, "gct_nonsense", &json!({}))
        .await
        .problem(401);
    let listed = env.get(&path, &env.root_ops).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    agents.running.shutdown().await;
}
