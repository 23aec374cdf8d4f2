//! The controller API's behaviour over HTTPS, against the embedded Kubernetes API server with the
//! Ankang tenants, on SQLite and on PostgreSQL: who-am-I, tenants, the quota request lifecycle,
//! token administration, bad input, the audit log and its metrics; and the OpenAPI document's
//! drift from `docs/api/openapi.json`.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::api_support;

use api_support::{B_REQUEST, Env, ROOT, TENANT_A, TENANT_B, workspace_root};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    whoami_describes_the_token,
    a_tenant_shows_quota_namespaces_and_children,
    editors_request_quota_and_operations_approve,
    operations_deny_and_decisions_are_final,
    a_token_cannot_decide_its_own_request,
    bad_input_is_refused_naming_the_field_and_nothing_is_created,
    operations_issue_list_and_revoke_tokens,
    the_audit_log_is_exported_in_order_and_verified,
    unknown_paths_and_methods_are_problems,
    the_served_openapi_document_is_the_committed_one,
);

async fn whoami_describes_the_token(env: &Env) {
    let (token, id) = env.issue(TENANT_A, "editor").await;
    let reply = env.get("/v1/whoami", &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.content_type(), "application/json");
    let body = reply.json();
    assert_eq!(body["tokenId"], id);
    assert_eq!(body["tenant"], TENANT_A);
    assert_eq!(body["role"], "editor");
    assert_eq!(body["description"], "editor of city-finance");
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(body["expiresAt"].clone()).unwrap();
    let days = (expires - chrono::Utc::now()).num_days();
    assert!(
        (89..=90).contains(&days),
        "default lifetime of 90 days: {days}"
    );
    let root = env.get("/v1/whoami", &env.root_ops).await.json();
    assert_eq!(root["tenant"], ROOT);
    assert_eq!(root["role"], "operations");
}

async fn a_tenant_shows_quota_namespaces_and_children(env: &Env) {
    let (viewer, _) = env.issue(TENANT_A, "viewer").await;
    let reply = env.get("/v1/tenants/city-finance", &viewer).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let view = reply.json();
    assert_eq!(view["name"], TENANT_A);
    assert_eq!(view["displayName"], "安康市财政局");
    assert_eq!(view["level"], "Department");
    assert_eq!(view["parent"], ROOT);
    assert_eq!(view["children"], json!([]));
    assert_eq!(view["namespaces"][0], TENANT_A);
    let resources = view["resources"].as_array().unwrap();
    let names: Vec<_> = resources.iter().map(|r| r["resource"].clone()).collect();
    assert_eq!(names, [json!("cpu"), json!("memory"), json!("storage")]);
    assert_eq!(resources[0]["hard"], "192");
    assert_eq!(resources[1]["hard"], "768Gi");
    assert_eq!(resources[0]["used"], "0");
    // No reconciler runs in this suite: the tenant is not ready and says why.
    assert_eq!(view["ready"], false);
    assert!(view["message"].is_string());

    let root = env.get("/v1/tenants/ankang", &env.root_ops).await.json();
    let children = root["children"].as_array().unwrap();
    assert_eq!(children.len(), 29, "{children:?}");
    assert!(children.contains(&json!(TENANT_A)) && children.contains(&json!(TENANT_B)));
    assert_eq!(root["level"], "City");
    assert!(root.get("parent").is_none());
    // A child sees itself, not its parent.
    assert_eq!(env.get("/v1/tenants/ankang", &viewer).await.status, 404);
}

async fn editors_request_quota_and_operations_approve(env: &Env) {
    let (editor, editor_id) = env.issue(TENANT_A, "editor").await;
    let reply = env
        .post(
            "/v1/tenants/city-finance/quota-requests",
            &editor,
            &json!({
                "requested": {"cpu": "256", "memory": "1Ti"},
                "justification": "财政一体化系统迁移上云，需要更多计算资源",
                "validFor": "168h",
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let created = reply.json();
    let name = created["name"].as_str().unwrap().to_owned();
    let today = chrono::Utc::now().format("%Y%m%d").to_string();
    assert!(
        name.starts_with(&format!("city-finance-{today}-")) && name.len() == 12 + 1 + 8 + 1 + 5,
        "{name}"
    );
    assert_eq!(
        reply.headers["location"],
        format!("/v1/tenants/city-finance/quota-requests/{name}").as_str()
    );
    assert_eq!(created["tenant"], TENANT_A);
    assert_eq!(created["phase"], "Pending");
    assert_eq!(created["requested"], json!({"cpu": "256", "memory": "1Ti"}));
    let requested_by = format!("editor of city-finance (token {editor_id})");
    assert_eq!(created["requestedBy"], requested_by.as_str());
    assert!(created.get("approval").is_none());
    assert!(created["createdAt"].is_string() && created["expiresAt"].is_string());

    // The object in Kubernetes, written by the API's field manager.
    let object = env.quota_request(&name).await;
    assert_eq!(object.spec.tenant, TENANT_A);
    assert_eq!(
        object.spec.requested_by.as_deref(),
        Some(requested_by.as_str())
    );
    assert_eq!(object.spec.valid_for.as_str(), "168h");
    assert!(
        object
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .any(|f| f.manager.as_deref() == Some("govcloud-api"))
    );

    // Listed (with the seed's requests of other tenants left out) and shown.
    let list = env
        .get("/v1/tenants/city-finance/quota-requests", &editor)
        .await;
    assert_eq!(list.status, 200);
    let list = list.json();
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, [name.as_str()]);
    let shown = env
        .get(
            &format!("/v1/tenants/city-finance/quota-requests/{name}"),
            &editor,
        )
        .await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.json(), created);

    // An editor cannot decide; operations can.
    let decision = json!({"reason": "财政局 CPU 使用率持续偏高，批准"});
    let approve = format!("/v1/tenants/city-finance/quota-requests/{name}/approve");
    env.post(&approve, &editor, &decision).await.problem(403);
    let reply = env.post(&approve, &env.root_ops, &decision).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let approved = reply.json();
    assert_eq!(approved["phase"], "Approved");
    assert_eq!(approved["approval"]["decision"], "Approved");
    assert_eq!(
        approved["approval"]["reason"],
        "财政局 CPU 使用率持续偏高，批准"
    );
    let object = env.quota_request(&name).await;
    let approval = object.spec.approval.unwrap();
    assert_eq!(approval.decision, govcloud_crds::common::Decision::Approved);
    assert_eq!(
        approval.decided_by,
        "local mode operations (govctl) (token 1)"
    );
    assert_eq!(approval.reason, "财政局 CPU 使用率持续偏高，批准");

    // The seed's requests of the tenant's siblings stay where they are.
    assert!(
        env.quota_request_names()
            .await
            .contains(&B_REQUEST.to_owned())
    );
}

async fn operations_deny_and_decisions_are_final(env: &Env) {
    let (editor, _) = env.issue(TENANT_A, "editor").await;
    let name = env.request_quota(TENANT_A, &editor, "300").await;
    let base = format!("/v1/tenants/city-finance/quota-requests/{name}");
    let deny = json!({"reason": "the city has no spare cores this quarter"});
    let reply = env
        .post(&format!("{base}/deny"), &env.root_ops, &deny)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["phase"], "Denied");
    for action in ["approve", "deny"] {
        let problem = env
            .post(&format!("{base}/{action}"), &env.root_ops, &deny)
            .await
            .problem(409);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("already denied")
        );
        assert_eq!(problem["instance"], format!("{base}/{action}").as_str());
    }
    // The seed's decided request is final too.
    env.post(
        "/v1/tenants/city-ecology/quota-requests/city-ecology-cpu-2025q2/approve",
        &env.root_ops,
        &deny,
    )
    .await
    .problem(409);
    // A reason is required.
    let pending = env.request_quota(TENANT_A, &editor, "200").await;
    let problem = env
        .post(
            &format!("/v1/tenants/city-finance/quota-requests/{pending}/approve"),
            &env.root_ops,
            &json!({"reason": "  "}),
        )
        .await
        .problem(422);
    assert_eq!(problem["field"], "reason");
    assert!(env.quota_request(&pending).await.spec.approval.is_none());
}

async fn a_token_cannot_decide_its_own_request(env: &Env) {
    // Operations may request quota too, but never approve what they asked for.
    let (ops, _) = env.issue(ROOT, "operations").await;
    let name = env.request_quota(TENANT_A, &ops, "250").await;
    let path = format!("/v1/tenants/city-finance/quota-requests/{name}/approve");
    let decision = json!({"reason": "looks fine to me"});
    let problem = env.post(&path, &ops, &decision).await.problem(403);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("cannot decide a quota request it created"),
        "{problem}"
    );
    assert!(env.quota_request(&name).await.spec.approval.is_none());
    // A department's own operations token cannot raise its own quota either.
    let (department_ops, _) = env.issue(TENANT_A, "operations").await;
    let (editor, _) = env.issue(TENANT_A, "editor").await;
    let own = env.request_quota(TENANT_A, &editor, "260").await;
    env.post(
        &format!("/v1/tenants/city-finance/quota-requests/{own}/approve"),
        &department_ops,
        &decision,
    )
    .await
    .problem(403);
    assert!(env.quota_request(&own).await.spec.approval.is_none());
    // Another operations token of the parent may.
    let reply = env.post(&path, &env.root_ops, &decision).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

async fn bad_input_is_refused_naming_the_field_and_nothing_is_created(env: &Env) {
    let (editor, _) = env.issue(TENANT_A, "editor").await;
    let before = env.quota_request_names().await;
    let audit_before = env.storage.audit().list(..).await.unwrap().len();
    let why = "the tax system moves onto the cloud";
    let path = "/v1/tenants/city-finance/quota-requests";
    let cases = [
        (
            json!({"requested": {"cpu": "-4"}, "justification": why}),
            422,
            Some("requested.cpu"),
            "negative",
        ),
        (
            json!({"requested": {"cpu": -4}, "justification": why}),
            422,
            Some("requested.cpu"),
            "negative",
        ),
        (
            json!({"requested": {"cpu": "lots"}, "justification": why}),
            422,
            Some("requested.cpu"),
            "failed to parse quantity",
        ),
        (
            json!({"requested": {"memory": "5GB"}, "justification": why}),
            422,
            Some("requested.memory"),
            "failed to parse quantity",
        ),
        (
            json!({"requested": {"cpu": {"n": 1}}, "justification": why}),
            422,
            Some("requested.cpu"),
            "requested.cpu",
        ),
        (
            json!({"requested": {"cpu": "8"}, "justification": "more"}),
            422,
            Some("justification"),
            "10 to 2000",
        ),
        (
            json!({"requested": {}, "justification": why}),
            422,
            Some("requested"),
            "at least one",
        ),
        (
            json!({"requested": {"cpu": "8"}, "justification": why, "validFor": "1y"}),
            422,
            Some("validFor"),
            "duration",
        ),
        (
            json!({"requested": {"cpu": "8"}}),
            422,
            None,
            "justification",
        ),
    ];
    for (body, status, field, detail) in cases {
        let problem = env.post(path, &editor, &body).await.problem(status);
        assert_eq!(problem["field"].as_str(), field, "{body}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(detail),
            "{body}: {problem}"
        );
        assert_eq!(problem["instance"], path, "{problem}");
    }
    // Unknown tenant: the 404 of any tenant the token cannot see.
    let problem = env
        .post(
            "/v1/tenants/no-such-tenant/quota-requests",
            &env.root_ops,
            &json!({"requested": {"cpu": "8"}, "justification": why}),
        )
        .await
        .problem(404);
    assert!(problem.get("instance").is_none());
    // Not JSON, and not declared as JSON.
    let reply = env
        .http
        .post(format!("{}{path}", env.url))
        .bearer_auth(&editor)
        .header("content-type", "application/json")
        .body("{\"requested\":")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    let reply = env
        .http
        .post(format!("{}{path}", env.url))
        .bearer_auth(&editor)
        .body("requested=8")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 415);
    let huge = json!({"requested": {"cpu": "8"}, "justification": "x".repeat(100_000)});
    let reply = env.post(path, &editor, &huge).await;
    assert_eq!(reply.status, 413, "{}", reply.text());
    // Nothing was created, nothing audited.
    assert_eq!(env.quota_request_names().await, before);
    assert_eq!(
        env.storage.audit().list(..).await.unwrap().len(),
        audit_before
    );
}

async fn operations_issue_list_and_revoke_tokens(env: &Env) {
    let reply = env
        .post(
            "/v1/tokens",
            &env.root_ops,
            &json!({"tenant": TENANT_A, "role": "auditor", "description": "审计 张敏", "expiresIn": "24h"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let issued = reply.json();
    let secret = issued["token"].as_str().unwrap().to_owned();
    let id = issued["id"].as_i64().unwrap();
    assert!(secret.starts_with("gct_") && secret.len() == 47, "{secret}");
    assert_eq!(issued["tenant"], TENANT_A);
    assert_eq!(issued["role"], "auditor");
    assert_eq!(issued["description"], "审计 张敏");
    // Only the hash is stored.
    let stored = env.storage.tokens().list_by_tenant(TENANT_A).await.unwrap();
    let stored = stored.iter().find(|t| t.id == id).unwrap();
    assert_eq!(
        stored.token_hash,
        govcloud_controller::storage::hash_token_secret(&secret)
    );
    assert_ne!(stored.token_hash, secret);

    let list = env
        .get("/v1/tokens?tenant=city-finance", &env.root_ops)
        .await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert!(!list.text().contains(&secret) && !list.text().contains(&stored.token_hash));
    let list = list.json();
    let ids: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, [json!(id)]);
    assert!(list[0].get("token").is_none() && list[0].get("revokedAt").is_none());
    // Without a tenant, the caller's own.
    let own = env.get("/v1/tokens", &env.root_ops).await.json();
    assert_eq!(own[0]["tenant"], ROOT);

    assert_eq!(env.get("/v1/whoami", &secret).await.status, 200);
    let revoke = env
        .call(
            Method::DELETE,
            &format!("/v1/tokens/{id}"),
            Some(&env.root_ops),
            None,
        )
        .await;
    assert_eq!(revoke.status, 204, "{}", revoke.text());
    assert!(revoke.body.is_empty());
    env.get("/v1/whoami", &secret).await.problem(401);
    let again = env
        .call(
            Method::DELETE,
            &format!("/v1/tokens/{id}"),
            Some(&env.root_ops),
            None,
        )
        .await;
    assert_eq!(again.status, 204);
    let list = env
        .get("/v1/tokens?tenant=city-finance", &env.root_ops)
        .await
        .json();
    assert!(list[0]["revokedAt"].is_string());
    // A token of an operations tenant's subtree can be administered by it.
    let (department_ops, _) = env.issue(TENANT_A, "operations").await;
    let reply = env
        .post(
            "/v1/tokens",
            &department_ops,
            &json!({"tenant": TENANT_A, "role": "viewer", "description": "finance viewer"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    for (body, field) in [
        (
            json!({"tenant": TENANT_A, "role": "viewer", "description": ""}),
            "description",
        ),
        (
            json!({"tenant": TENANT_A, "role": "viewer", "description": "x", "expiresIn": "forever"}),
            "expiresIn",
        ),
        (
            json!({"tenant": TENANT_A, "role": "root", "description": "x"}),
            "role",
        ),
    ] {
        let problem = env
            .post("/v1/tokens", &env.root_ops, &body)
            .await
            .problem(422);
        assert_eq!(problem["field"], field, "{problem}");
    }
    env.post(
        "/v1/tokens",
        &env.root_ops,
        &json!({"tenant": "no-such-tenant", "role": "viewer", "description": "x"}),
    )
    .await
    .problem(404);
}

async fn the_audit_log_is_exported_in_order_and_verified(env: &Env) {
    let (editor, editor_id) = env.issue(TENANT_A, "editor").await;
    let (auditor, _) = env.issue(ROOT, "auditor").await;
    let name = env.request_quota(TENANT_A, &editor, "220").await;
    env.post(
        &format!("/v1/tenants/city-finance/quota-requests/{name}/approve"),
        &env.root_ops,
        &json!({"reason": "approved after review"}),
    )
    .await;
    let (_, revoked_id) = env.issue(TENANT_B, "viewer").await;
    let revoke = env
        .call(
            Method::DELETE,
            &format!("/v1/tokens/{revoked_id}"),
            Some(&env.root_ops),
            None,
        )
        .await;
    assert_eq!(revoke.status, 204);

    let reply = env.get("/v1/audit", &auditor).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.content_type(), "application/x-ndjson");
    let records: Vec<Value> = reply
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let actions: Vec<_> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "token.issue",
            "token.issue",
            "token.issue",
            "quota-request.create",
            "quota-request.approve",
            "token.issue",
            "token.revoke",
        ]
    );
    let seqs: Vec<_> = records.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
    for pair in records.windows(2) {
        assert_eq!(pair[1]["prevHash"], pair[0]["hash"]);
    }
    assert_eq!(records[0]["actor"], "govcloud-controller local mode");
    let create = &records[3];
    assert_eq!(
        create["actor"],
        format!("editor of city-finance (token {editor_id})").as_str()
    );
    assert_eq!(create["tenant"], TENANT_A);
    assert_eq!(create["object"], format!("QuotaRequest/{name}").as_str());
    assert_eq!(create["detail"]["requested"], json!({"cpu": "220"}));
    assert_eq!(records[4]["detail"]["decision"], "Approved");
    assert_eq!(
        records[6]["object"],
        format!("ApiToken/{revoked_id}").as_str()
    );
    assert_eq!(records[6]["tenant"], TENANT_B);

    // Ranges.
    let part = env.get("/v1/audit?from=4&to=5", &auditor).await.text();
    let part: Vec<Value> = part
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(part, records[3..5]);
    assert!(
        env.get("/v1/audit?from=100", &auditor)
            .await
            .body
            .is_empty()
    );
    let problem = env
        .get("/v1/audit?from=5&to=4", &auditor)
        .await
        .problem(422);
    assert_eq!(problem["field"], "to");
    let problem = env.get("/v1/audit?from=abc", &auditor).await.problem(422);
    assert_eq!(problem["field"], "from");

    // Verification, and the metrics.
    let verify = env.get("/v1/audit/verify", &auditor).await;
    assert_eq!(verify.status, 200, "{}", verify.text());
    assert_eq!(verify.json(), json!({"intact": true, "records": 7}));
    assert!((env.metric("govcloud_audit_records_total") - 6.0).abs() < f64::EPSILON);
    assert!((env.metric("govcloud_audit_chain_intact") - 1.0).abs() < f64::EPSILON);

    // An edited row is found, named, and turns the gauge to 0.
    tamper(env, 4).await;
    let verify = env.get("/v1/audit/verify", &env.root_ops).await.json();
    assert_eq!(verify["intact"], false);
    assert_eq!(verify["firstBrokenSeq"], 4);
    assert!(verify["reason"].as_str().unwrap().contains("record 4"));
    assert!(env.metric("govcloud_audit_chain_intact").abs() < f64::EPSILON);
}

/// Edits the actor of audit record `seq` behind the API's back, as an intruder who dropped the
/// append-only trigger would.
async fn tamper(env: &Env, seq: i64) {
    use govcloud_controller::storage::DbPool;
    const EDIT: &str = "UPDATE audit_log SET actor = 'someone else' WHERE seq = $1";
    match env.storage.pool() {
        DbPool::Sqlite(pool) => {
            sqlx::query("DROP TRIGGER audit_log_no_update")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query(EDIT).bind(seq).execute(pool).await.unwrap();
        }
        DbPool::Postgres(pool) => {
            sqlx::query("DROP TRIGGER audit_log_no_update ON audit_log")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query(EDIT).bind(seq).execute(pool).await.unwrap();
        }
    }
}

async fn unknown_paths_and_methods_are_problems(env: &Env) {
    env.get("/v1/nothing-here", &env.root_ops)
        .await
        .problem(404);
    env.get("/", &env.root_ops).await.problem(404);
    let problem = env
        .call(Method::PUT, "/v1/whoami", Some(&env.root_ops), None)
        .await
        .problem(405);
    assert_eq!(problem["instance"], "/v1/whoami");
}

async fn the_served_openapi_document_is_the_committed_one(env: &Env) {
    let reply = env.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type(), "application/json");
    assert_eq!(
        reply.text(),
        govcloud_controller::api::openapi::document_json()
    );
}

/// `docs/api/openapi.json` is what the code generates; `GOVCLOUD_UPDATE_OPENAPI=1` rewrites it.
#[test]
fn the_committed_openapi_document_has_not_drifted() {
    let path = workspace_root().join("docs/api/openapi.json");
    let generated = govcloud_controller::api::openapi::document_json();
    if std::env::var("GOVCLOUD_UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == generated {
        return;
    }
    let differences = match serde_json::from_str::<Value>(&committed) {
        Ok(old) => {
            let mut out = Vec::new();
            json_differences(
                "",
                &old,
                &serde_json::from_str(&generated).unwrap(),
                &mut out,
            );
            if out.is_empty() {
                out.push("(same JSON, different formatting)".to_owned());
            }
            out
        }
        Err(error) => vec![format!("the committed file is not JSON: {error}")],
    };
    panic!(
        "docs/api/openapi.json has drifted from the code; regenerate it with \
         `GOVCLOUD_UPDATE_OPENAPI=1 cargo test -p govcloud-controller --test integration \
         api::the_committed_openapi_document_has_not_drifted` and commit it. Differences (committed \
         → generated):\n{}",
        differences
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The JSON pointers where `old` and `new` differ, with both values.
fn json_differences(pointer: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => json_differences(&child, x, y, out),
                    (Some(x), None) => out.push(format!("{child}: removed (was {x})")),
                    (None, Some(y)) => out.push(format!("{child}: added {y}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                json_differences(&format!("{pointer}/{index}"), x, y, out);
            }
        }
        _ if old != new => out.push(format!("{pointer}: {old} → {new}")),
        _ => {}
    }
}
