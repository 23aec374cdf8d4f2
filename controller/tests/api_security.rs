//! The controller API's security properties over HTTPS, on SQLite and on PostgreSQL: for every
//! endpoint a token of tenant A can neither read nor change tenant B's objects and gets the very
//! 404 body of a missing object; missing, malformed, unknown, expired and revoked tokens are
//! refused with `401`; roles are enforced; a token never decides its own request; plain HTTP is
//! refused; token secrets never reach the logs.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod api_support;

use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use api_support::{B_REQUEST, Env, ROOT, Reply, TENANT_A, TENANT_B};
use chrono::{TimeDelta, Utc};
use govcloud_controller::api::auth::mint_secret;
use govcloud_controller::storage::{NewApiToken, Role};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

on_both_backends!(
    tenant_a_can_neither_read_nor_change_tenant_b,
    missing_malformed_unknown_expired_and_revoked_tokens_are_refused,
    roles_limit_what_a_token_may_do,
    plain_http_is_refused,
    token_secrets_never_reach_the_logs,
);

const MISSING_TENANT: &str = "no-such-tenant";
const MISSING_REQUEST: &str = "no-such-request";

fn new_request() -> Value {
    json!({"requested": {"cpu": "500"}, "justification": "a request that must never be stored"})
}

fn decision() -> Value {
    json!({"reason": "a decision that must never be recorded"})
}

/// Asserts that `hidden` (another tenant's object) and `missing` (no object at all) get the
/// same 404 answer, byte for byte.
async fn assert_same_404(
    env: &Env,
    token: &str,
    method: &Method,
    hidden: &str,
    missing: &str,
    body: Option<&Value>,
) {
    let hidden_reply = env.call(method.clone(), hidden, Some(token), body).await;
    let missing_reply = env.call(method.clone(), missing, Some(token), body).await;
    hidden_reply.problem(404);
    missing_reply.problem(404);
    assert_eq!(
        hidden_reply.text(),
        missing_reply.text(),
        "{method} {hidden} and {missing} answer differently"
    );
    assert_eq!(hidden_reply.headers.len(), missing_reply.headers.len());
    for name in ["content-type", "content-length", "www-authenticate"] {
        assert_eq!(
            hidden_reply.headers.get(name),
            missing_reply.headers.get(name),
            "{name}"
        );
    }
}

/// Like [`assert_same_404`] for token requests whose body names the tenant.
async fn assert_same_404_body(env: &Env, token: &str, path: &str, hidden: &Value, missing: &Value) {
    let hidden_reply = env.post(path, token, hidden).await;
    let missing_reply = env.post(path, token, missing).await;
    hidden_reply.problem(404);
    missing_reply.problem(404);
    assert_eq!(
        hidden_reply.text(),
        missing_reply.text(),
        "{hidden} vs {missing}"
    );
}

async fn tenant_a_can_neither_read_nor_change_tenant_b(env: &Env) {
    let (a_viewer, _) = env.issue(TENANT_A, "viewer").await;
    let (a_editor, _) = env.issue(TENANT_A, "editor").await;
    let (a_ops, _) = env.issue(TENANT_A, "operations").await;
    let (a_auditor, _) = env.issue(TENANT_A, "auditor").await;
    let (b_editor, b_token_id) = env.issue(TENANT_B, "editor").await;
    let b_request = env.request_quota(TENANT_B, &b_editor, "600").await;
    let a_request = env.request_quota(TENANT_A, &a_editor, "250").await;
    let names_before = env.quota_request_names().await;
    let seeded_b_request = env.quota_request(B_REQUEST).await;
    let b_tokens_before = env.storage.tokens().list_by_tenant(TENANT_B).await.unwrap();
    let root_tokens_before = env.storage.tokens().list_by_tenant(ROOT).await.unwrap();

    let get = Method::GET;
    for token in [&a_viewer, &a_editor, &a_ops, &a_auditor] {
        // A's own objects are visible …
        assert_eq!(env.get("/v1/tenants/city-finance", token).await.status, 200);
        let own = format!("/v1/tenants/city-finance/quota-requests/{a_request}");
        assert_eq!(env.get(&own, token).await.status, 200);
        // … B's, and the parent's, answer like missing ones.
        for tenant in [TENANT_B, ROOT] {
            assert_same_404(
                env,
                token,
                &get,
                &format!("/v1/tenants/{tenant}"),
                &format!("/v1/tenants/{MISSING_TENANT}"),
                None,
            )
            .await;
            assert_same_404(
                env,
                token,
                &get,
                &format!("/v1/tenants/{tenant}/quota-requests"),
                &format!("/v1/tenants/{MISSING_TENANT}/quota-requests"),
                None,
            )
            .await;
        }
        for request in [B_REQUEST, b_request.as_str()] {
            assert_same_404(
                env,
                token,
                &get,
                &format!("/v1/tenants/hanbin/quota-requests/{request}"),
                &format!("/v1/tenants/hanbin/quota-requests/{MISSING_REQUEST}"),
                None,
            )
            .await;
            // Through A's own path, B's request is a missing request of A.
            assert_same_404(
                env,
                token,
                &get,
                &format!("/v1/tenants/city-finance/quota-requests/{request}"),
                &format!("/v1/tenants/city-finance/quota-requests/{MISSING_REQUEST}"),
                None,
            )
            .await;
        }
    }

    // Creating a request for B.
    let post = Method::POST;
    for token in [&a_editor, &a_ops] {
        assert_same_404(
            env,
            token,
            &post,
            "/v1/tenants/hanbin/quota-requests",
            &format!("/v1/tenants/{MISSING_TENANT}/quota-requests"),
            Some(&new_request()),
        )
        .await;
    }

    // Deciding B's requests, by both paths.
    for action in ["approve", "deny"] {
        for request in [B_REQUEST, b_request.as_str()] {
            for tenant in [TENANT_B, TENANT_A] {
                assert_same_404(
                    env,
                    &a_ops,
                    &post,
                    &format!("/v1/tenants/{tenant}/quota-requests/{request}/{action}"),
                    &format!("/v1/tenants/{tenant}/quota-requests/{MISSING_REQUEST}/{action}"),
                    Some(&decision()),
                )
                .await;
            }
        }
    }

    // Tokens of B (and of the parent): list, issue, revoke.
    for tenant in [TENANT_B, ROOT] {
        assert_same_404(
            env,
            &a_ops,
            &get,
            &format!("/v1/tokens?tenant={tenant}"),
            &format!("/v1/tokens?tenant={MISSING_TENANT}"),
            None,
        )
        .await;
        for role in ["viewer", "operations"] {
            assert_same_404_body(
                env,
                &a_ops,
                "/v1/tokens",
                &json!({"tenant": tenant, "role": role, "description": "escalation"}),
                &json!({"tenant": MISSING_TENANT, "role": role, "description": "escalation"}),
            )
            .await;
        }
    }
    let delete = Method::DELETE;
    for id in [b_token_id, root_tokens_before[0].id] {
        assert_same_404(
            env,
            &a_ops,
            &delete,
            &format!("/v1/tokens/{id}"),
            "/v1/tokens/987654321",
            None,
        )
        .await;
    }

    // The audit log: A's auditor and operations see A's records only.
    let all = env.storage.audit().list(..).await.unwrap();
    assert!(all.iter().any(|r| r.tenant.as_deref() == Some(TENANT_B)));
    assert!(all.iter().any(|r| r.tenant.as_deref() == Some(ROOT)));
    for token in [&a_auditor, &a_ops] {
        let export = env.get("/v1/audit", token).await;
        assert_eq!(export.status, 200, "{}", export.text());
        let records: Vec<Value> = export
            .text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert!(!records.is_empty());
        assert!(
            records.iter().all(|r| r["tenant"] == TENANT_A),
            "{records:?}"
        );
        assert!(!export.text().contains(&b_request));
    }
    // B cannot see A either.
    assert_same_404(
        env,
        &b_editor,
        &get,
        &format!("/v1/tenants/city-finance/quota-requests/{a_request}"),
        &format!("/v1/tenants/{MISSING_TENANT}/quota-requests/{a_request}"),
        None,
    )
    .await;

    // Nothing of B's (or of the parent's) changed.
    assert_eq!(env.quota_request_names().await, names_before);
    assert!(env.quota_request(&b_request).await.spec.approval.is_none());
    assert!(env.quota_request(&a_request).await.spec.approval.is_none());
    let b_now = env.quota_request(B_REQUEST).await;
    assert_eq!(b_now.spec, seeded_b_request.spec);
    assert_eq!(
        b_now.metadata.resource_version,
        seeded_b_request.metadata.resource_version
    );
    assert_eq!(
        env.storage.tokens().list_by_tenant(TENANT_B).await.unwrap(),
        b_tokens_before
    );
    assert_eq!(
        env.storage.tokens().list_by_tenant(ROOT).await.unwrap(),
        root_tokens_before
    );
    assert_eq!(env.get("/v1/whoami", &b_editor).await.status, 200);
    assert_eq!(env.get("/v1/whoami", &env.root_ops).await.status, 200);
}

/// Every authenticated endpoint, with a body that would be accepted.
fn endpoints(a_request: &str, token_id: i64) -> Vec<(Method, String, Option<Value>)> {
    let requests = "/v1/tenants/city-finance/quota-requests";
    vec![
        (Method::GET, "/v1/whoami".into(), None),
        (Method::GET, "/v1/tenants/city-finance".into(), None),
        (Method::GET, requests.into(), None),
        (Method::POST, requests.into(), Some(new_request())),
        (Method::GET, format!("{requests}/{a_request}"), None),
        (
            Method::POST,
            format!("{requests}/{a_request}/approve"),
            Some(decision()),
        ),
        (
            Method::POST,
            format!("{requests}/{a_request}/deny"),
            Some(decision()),
        ),
        (Method::GET, "/v1/tokens?tenant=city-finance".into(), None),
        (
            Method::POST,
            "/v1/tokens".into(),
            Some(json!({"tenant": TENANT_A, "role": "operations", "description": "stolen"})),
        ),
        (Method::DELETE, format!("/v1/tokens/{token_id}"), None),
        (Method::GET, "/v1/audit".into(), None),
        (Method::GET, "/v1/audit/verify".into(), None),
    ]
}

async fn missing_malformed_unknown_expired_and_revoked_tokens_are_refused(env: &Env) {
    let (editor, _) = env.issue(TENANT_A, "editor").await;
    let (victim, victim_id) = env.issue(TENANT_A, "viewer").await;
    let a_request = env.request_quota(TENANT_A, &editor, "250").await;
    let (revoked, revoked_id) = env.issue(TENANT_A, "operations").await;
    let reply = env
        .call(
            Method::DELETE,
            &format!("/v1/tokens/{revoked_id}"),
            Some(&env.root_ops),
            None,
        )
        .await;
    assert_eq!(reply.status, 204);
    let expired = mint_secret().unwrap();
    let now = Utc::now();
    env.storage
        .tokens()
        .insert(&NewApiToken {
            tenant: TENANT_A.into(),
            role: Role::Operations,
            token_hash: expired.hash.clone(),
            created_at: now - TimeDelta::days(2),
            expires_at: Some(now - TimeDelta::seconds(1)),
            description: "expired operations".into(),
        })
        .await
        .unwrap();
    let unknown = mint_secret().unwrap().secret;
    let names_before = env.quota_request_names().await;
    let tokens_before = env.storage.tokens().list_by_tenant(TENANT_A).await.unwrap();
    let audit_before = env.storage.audit().list(..).await.unwrap();

    for (method, path, body) in endpoints(&a_request, victim_id) {
        // No credentials: a challenge.
        let mut request = env
            .http
            .request(method.clone(), format!("{}{path}", env.url));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let reply = Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        };
        reply.problem(401);
        assert_eq!(
            reply.headers["www-authenticate"],
            "Bearer realm=\"govcloud\""
        );

        // Malformed credentials.
        let malformed = [
            format!("Basic {}", env.root_ops),
            env.root_ops.clone(),
            "Bearer".to_owned(),
            "Bearer ".to_owned(),
            "Bearer not-a-token".to_owned(),
            format!("Bearer {}", env.root_ops.replacen("gct_", "gcx_", 1)),
            format!("Bearer {}x", env.root_ops),
        ];
        for header in malformed {
            let mut request = env
                .http
                .request(method.clone(), format!("{}{path}", env.url))
                .header("authorization", header.as_str());
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} with {header:?}");
            assert_eq!(
                response.headers()["www-authenticate"],
                "Bearer realm=\"govcloud\", error=\"invalid_token\""
            );
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
        }

        // Unknown, expired and revoked tokens: the same answer.
        let mut answers = Vec::new();
        for token in [&unknown, &expired.secret, &revoked] {
            let reply = env
                .call(method.clone(), &path, Some(token), body.as_ref())
                .await;
            let problem = reply.problem(401);
            assert_eq!(
                reply.headers["www-authenticate"],
                "Bearer realm=\"govcloud\", error=\"invalid_token\""
            );
            answers.push(problem);
        }
        assert_eq!(answers[0], answers[1], "{method} {path}");
        assert_eq!(answers[0], answers[2], "{method} {path}");
    }

    // Nothing happened.
    assert_eq!(env.quota_request_names().await, names_before);
    assert!(env.quota_request(&a_request).await.spec.approval.is_none());
    assert_eq!(
        env.storage.tokens().list_by_tenant(TENANT_A).await.unwrap(),
        tokens_before
    );
    assert_eq!(env.storage.audit().list(..).await.unwrap(), audit_before);
    assert_eq!(env.get("/v1/whoami", &victim).await.status, 200);
    // The document stays public.
    let reply = env.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, 200);
}

async fn roles_limit_what_a_token_may_do(env: &Env) {
    let (viewer, _) = env.issue(TENANT_A, "viewer").await;
    let (editor, _) = env.issue(TENANT_A, "editor").await;
    let (auditor, _) = env.issue(TENANT_A, "auditor").await;
    let (ops, _) = env.issue(TENANT_A, "operations").await;
    let (victim, victim_id) = env.issue(TENANT_A, "viewer").await;
    let a_request = env.request_quota(TENANT_A, &editor, "250").await;
    let names_before = env.quota_request_names().await;
    let tokens_before = env.storage.tokens().list_by_tenant(TENANT_A).await.unwrap();

    // (role, token, indexes of the endpoints it may use) — see `endpoints`.
    let reads = [0, 1, 2, 4];
    let cases: [(&str, &String, Vec<usize>); 3] = [
        ("viewer", &viewer, reads.to_vec()),
        ("editor", &editor, [&reads[..], &[3]].concat()),
        ("auditor", &auditor, [&reads[..], &[10, 11]].concat()),
    ];
    for (role, token, allowed) in cases {
        for (index, (method, path, body)) in
            endpoints(&a_request, victim_id).into_iter().enumerate()
        {
            if allowed.contains(&index) {
                continue;
            }
            let problem = env
                .call(method.clone(), &path, Some(token), body.as_ref())
                .await
                .problem(403);
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("a {role} token cannot ")),
                "{method} {path}: {problem}"
            );
        }
    }
    // Nothing was changed by the refused calls.
    assert_eq!(env.quota_request_names().await, names_before);
    assert!(env.quota_request(&a_request).await.spec.approval.is_none());
    assert_eq!(
        env.storage.tokens().list_by_tenant(TENANT_A).await.unwrap(),
        tokens_before
    );
    assert_eq!(env.get("/v1/whoami", &victim).await.status, 200);

    // What each role may do, it can.
    for (index, (method, path, body)) in endpoints(&a_request, victim_id).into_iter().enumerate() {
        let token = match index {
            3 => &editor,
            10 | 11 => &auditor,
            0..=4 => &viewer,
            _ => &ops,
        };
        // A department's operations token cannot decide its own tenant's requests.
        if index == 5 || index == 6 {
            env.call(method, &path, Some(token), body.as_ref())
                .await
                .problem(403);
            continue;
        }
        let reply = env
            .call(method.clone(), &path, Some(token), body.as_ref())
            .await;
        assert!(
            (200..300).contains(&reply.status),
            "{method} {path}: {} {}",
            reply.status,
            reply.text()
        );
    }
    let decided = env
        .post(
            &format!("/v1/tenants/city-finance/quota-requests/{a_request}/approve"),
            &env.root_ops,
            &decision(),
        )
        .await;
    assert_eq!(decided.status, 200, "{}", decided.text());
}

async fn plain_http_is_refused(env: &Env) {
    let address = env.api.as_ref().unwrap().address;
    // A raw HTTP/1.1 request gets no HTTP answer.
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET /v1/whoami HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\r\n",
        env.root_ops
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept a plain HTTP connection open");
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP was answered: {}",
        String::from_utf8_lossy(&answer)
    );
    // At most a TLS alert record (content type 21).
    assert!(answer.is_empty() || answer[0] == 21, "{answer:?}");
    // An HTTP client fails outright.
    let plain = reqwest::Client::builder().no_proxy().build().unwrap();
    let result = plain
        .get(format!("http://{address}/v1/whoami"))
        .bearer_auth(&env.root_ops)
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
    // HTTPS on the same port works.
    assert_eq!(env.get("/v1/whoami", &env.root_ops).await.status, 200);
}

/// Everything logged by this test binary from the first call of [`captured_logs`] on.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

/// Installs (once) a global subscriber that records every event at every level, including
/// `log` records, into a buffer; returns the buffer.
fn captured_logs() -> LogBuffer {
    static BUFFER: OnceLock<LogBuffer> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = LogBuffer::default();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(buffer.clone())
                .try_init()
                .expect("no other global subscriber in this test binary");
            buffer
        })
        .clone()
}

async fn token_secrets_never_reach_the_logs(env: &Env) {
    let logs = captured_logs();
    let (secret, id) = env.issue(TENANT_A, "editor").await;
    assert_eq!(env.get("/v1/whoami", &secret).await.status, 200);
    let name = env.request_quota(TENANT_A, &secret, "250").await;
    env.get(
        &format!("/v1/tenants/city-finance/quota-requests/{name}"),
        &secret,
    )
    .await;
    env.get("/v1/audit", &env.root_ops).await;
    let reply = env
        .call(
            Method::DELETE,
            &format!("/v1/tokens/{id}"),
            Some(&env.root_ops),
            None,
        )
        .await;
    assert_eq!(reply.status, 204);
    env.get("/v1/whoami", &secret).await.problem(401);
    let unknown = mint_secret().unwrap().secret;
    env.get("/v1/whoami", &unknown).await.problem(401);
    let malformed = format!("{secret}{unknown}");
    env.get("/v1/whoami", &malformed).await.problem(401);
    // A failing request logs too (a decision without a body).
    env.post(
        &format!("/v1/tenants/city-finance/quota-requests/{name}/approve"),
        &env.root_ops,
        &json!({}),
    )
    .await
    .problem(422);

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    let _ = std::io::stderr().flush();
    assert!(
        text.contains("audited") && text.contains("quota-request.create"),
        "the logs were not captured: {text}"
    );
    for (what, value) in [
        ("the issued token", &secret),
        ("the root operations token", &env.root_ops),
        ("an unknown token", &unknown),
        ("a malformed token", &malformed),
    ] {
        assert!(!text.contains(value.as_str()), "{what} appears in the logs");
        // Not even most of it.
        assert!(
            !text.contains(&value[4..24]),
            "part of {what} appears in the logs"
        );
    }
}
