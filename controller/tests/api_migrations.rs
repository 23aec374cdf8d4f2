//! The migration endpoints over HTTPS, against the embedded Kubernetes API server with the Ankang
//! tenants (no controllers run, so phases and step states are set here as the reconcilers would),
//! on SQLite and on PostgreSQL: visibility between departments, all-or-nothing submissions with
//! the server's admission as a dry run, decisions by operations, confirmations of manual steps,
//! the campaign view with other tenants' systems as counts, and the audit records of each change.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::api_support;

use api_support::{Env, ROOT, TENANT_A, TENANT_B};
use govcloud_crds::{MigrationPlan, SystemMigration};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

on_both_backends!(
    departments_see_and_submit_only_their_own_systems,
    a_batch_with_one_bad_item_creates_nothing,
    operations_approve_or_deny,
    only_waiting_manual_steps_are_confirmed_once,
    campaigns_show_other_tenants_as_counts_only,
);

/// Creates the default namespaces of the tenants (the Tenant controller does not run here).
async fn namespaces(env: &Env, names: &[&str]) {
    let api: Api<Namespace> = Api::all(env.client.clone());
    for name in names {
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        api.create(&PostParams::default(), &namespace)
            .await
            .unwrap();
    }
}

/// A valid system with a manual step `migrate` (with a manual rollback) and a manual `verify`.
fn system(namespace: &str, name: &str) -> Value {
    json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "SystemMigration",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "displayName": format!("系统 {name}"),
            "classification": "Unclassified",
            "source": {"site": "机房", "platform": "VirtualMachine", "hosts": 2},
            "resources": {"cpu": "4", "memory": "16Gi"},
            "steps": [
                {
                    "name": "migrate",
                    "run": {"type": "Manual", "manual": {"instructions": "Move the data."}},
                    "rollback": {"type": "Manual", "manual": {"instructions": "Move it back."}}
                },
                {
                    "name": "verify",
                    "run": {"type": "Manual", "manual": {"instructions": "Check it works."}}
                }
            ]
        }
    })
}

/// `namespace/name` of every system in Kubernetes.
async fn stored(env: &Env) -> Vec<String> {
    let api: Api<SystemMigration> = Api::all(env.client.clone());
    let mut keys: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| {
            format!(
                "{}/{}",
                s.metadata.namespace.unwrap(),
                s.metadata.name.unwrap()
            )
        })
        .collect();
    keys.sort();
    keys
}

/// Sets a system's status as the reconciler would.
async fn set_status(env: &Env, namespace: &str, name: &str, status: Value) {
    let api: Api<SystemMigration> = Api::namespaced(env.client.clone(), namespace);
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await
    .unwrap();
}

/// The actions and objects of the audit log, in order.
async fn audited(env: &Env) -> Vec<(String, String)> {
    let reply = env.get("/v1/audit", &env.root_ops).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply
        .text()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|r| {
            r["action"]
                .as_str()
                .unwrap()
                .starts_with("system-migration.")
        })
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["object"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["namespace"].as_str().unwrap(),
                s["name"].as_str().unwrap()
            )
        })
        .collect()
}

async fn departments_see_and_submit_only_their_own_systems(env: &Env) {
    namespaces(env, &[TENANT_A, TENANT_B]).await;
    let (a, a_id) = env.issue(TENANT_A, "editor").await;
    let (b, _) = env.issue(TENANT_B, "editor").await;
    let (viewer, _) = env.issue(TENANT_A, "viewer").await;
    let (auditor, _) = env.issue(ROOT, "auditor").await;

    let reply = env
        .post(
            "/v1/migrations",
            &a,
            &json!([system(TENANT_A, "payroll"), system(TENANT_A, "ledger")]),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(
        names(&reply.json()),
        ["city-finance/payroll", "city-finance/ledger"]
    );
    assert_eq!(reply.json()[0]["tenant"], TENANT_A);
    assert_eq!(reply.json()[0]["phase"], "Pending");
    let reply = env
        .post("/v1/migrations", &b, &json!([system(TENANT_B, "grid")]))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let stored_payroll = {
        let api: Api<SystemMigration> = Api::namespaced(env.client.clone(), TENANT_A);
        api.get("payroll").await.unwrap()
    };
    assert_eq!(
        stored_payroll.metadata.annotations.unwrap()["govcloud.io/submitted-by"],
        format!("editor of city-finance (token {a_id})")
    );

    // Lists: each department its own; operations and auditors of the city everything.
    let list = env.get("/v1/migrations", &a).await;
    assert_eq!(
        names(&list.json()),
        ["city-finance/ledger", "city-finance/payroll"]
    );
    assert_eq!(
        names(&env.get("/v1/migrations", &b).await.json()),
        ["hanbin/grid"]
    );
    assert_eq!(
        env.get("/v1/migrations", &auditor)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let only_b = env.get("/v1/migrations?tenant=hanbin", &env.root_ops).await;
    assert_eq!(names(&only_b.json()), ["hanbin/grid"]);
    let scheduled = env
        .get("/v1/migrations?phase=Scheduled", &env.root_ops)
        .await;
    assert_eq!(scheduled.json(), json!([]));
    env.get("/v1/migrations?tenant=hanbin", &a)
        .await
        .problem(404);
    env.get("/v1/migrations?phase=Done", &a).await.problem(422);

    // Another tenant's system answers exactly like a missing one.
    let foreign = env.get("/v1/migrations/hanbin/grid", &a).await;
    let missing = env.get("/v1/migrations/city-finance/nothing", &a).await;
    foreign.problem(404);
    assert_eq!(foreign.body, missing.body);
    let own = env.get("/v1/migrations/city-finance/payroll", &a).await;
    assert_eq!(own.status, 200, "{}", own.text());
    let view = own.json();
    assert_eq!(view["steps"][0]["name"], "migrate");
    assert_eq!(view["steps"][0]["phase"], "Pending");
    assert_eq!(view["steps"][0]["instructions"], "Move the data.");
    assert_eq!(view["source"]["hosts"], 2);
    let confirm = env
        .post(
            "/v1/migrations/hanbin/grid/confirmations",
            &a,
            &json!({"step": "migrate"}),
        )
        .await;
    assert_eq!(confirm.body, missing.body);

    // Submitting into another tenant's namespace is refused like into a missing one.
    let reply = env
        .post("/v1/migrations", &b, &json!([system(TENANT_A, "spy")]))
        .await;
    let problem = reply.problem(422);
    assert_eq!(problem["errors"][0]["index"], 0);
    assert_eq!(problem["errors"][0]["field"], "metadata.namespace");
    let nowhere = env
        .post("/v1/migrations", &b, &json!([system("nowhere", "spy")]))
        .await;
    assert_eq!(
        nowhere.problem(422)["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .replace("nowhere", "X"),
        problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .replace("city-finance", "X")
    );
    // Viewers and auditors submit nothing.
    env.post("/v1/migrations", &viewer, &json!([system(TENANT_A, "x")]))
        .await
        .problem(403);
    env.post("/v1/migrations", &auditor, &json!([system(TENANT_A, "x")]))
        .await
        .problem(403);

    assert_eq!(
        stored(env).await,
        ["city-finance/ledger", "city-finance/payroll", "hanbin/grid"]
    );
    assert_eq!(
        audited(env).await,
        [
            (
                "system-migration.submit".into(),
                "SystemMigration/city-finance/payroll".into()
            ),
            (
                "system-migration.submit".into(),
                "SystemMigration/city-finance/ledger".into()
            ),
            (
                "system-migration.submit".into(),
                "SystemMigration/hanbin/grid".into()
            ),
        ]
    );
}

async fn a_batch_with_one_bad_item_creates_nothing(env: &Env) {
    namespaces(env, &[TENANT_A]).await;
    let (a, _) = env.issue(TENANT_A, "editor").await;
    let mut no_hosts = system(TENANT_A, "no-hosts");
    no_hosts["spec"]["source"]["hosts"] = json!(0);
    let mut classified = system(TENANT_A, "classified");
    classified["spec"]["classification"] = json!("Classified");
    classified["spec"]["sensitivity"] = json!("Internal");
    let batch = json!([system(TENANT_A, "good"), no_hosts, classified]);
    let reply = env.post("/v1/migrations", &a, &batch).await;
    let problem = reply.problem(422);
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{problem}");
    assert_eq!(errors[0]["index"], 1);
    assert_eq!(errors[0]["name"], "city-finance/no-hosts");
    assert!(
        errors[0]["detail"].as_str().unwrap().contains("hosts"),
        "{problem}"
    );
    assert_eq!(errors[1]["index"], 2);
    assert!(
        errors[1]["detail"]
            .as_str()
            .unwrap()
            .contains("sensitivity applies to unclassified systems only"),
        "{problem}"
    );
    assert!(stored(env).await.is_empty());

    // Rules across the batch: one name twice, a system depending on itself.
    let mut itself = system(TENANT_A, "itself");
    itself["spec"]["dependsOn"] = json!([{"name": "itself"}]);
    let batch = json!([system(TENANT_A, "twice"), system(TENANT_A, "twice"), itself]);
    let problem = env.post("/v1/migrations", &a, &batch).await.problem(422);
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors[0]["index"], 1);
    assert_eq!(
        errors[0]["detail"],
        "system city-finance/twice is also item 0 of the batch"
    );
    assert_eq!(errors[1]["index"], 2);
    assert_eq!(errors[1]["field"], "spec.dependsOn[0]");
    assert!(stored(env).await.is_empty());

    // Systems that exist: a 409 naming them, and the others are not created either.
    let reply = env
        .post("/v1/migrations", &a, &json!([system(TENANT_A, "good")]))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let reply = env
        .post(
            "/v1/migrations",
            &a,
            &json!([system(TENANT_A, "new"), system(TENANT_A, "good")]),
        )
        .await;
    let problem = reply.problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("city-finance/good"),
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["index"], 1);
    assert_eq!(stored(env).await, ["city-finance/good"]);

    // Bodies that are no batch.
    env.post("/v1/migrations", &a, &json!([]))
        .await
        .problem(422);
    env.post("/v1/migrations", &a, &json!({"kind": "SystemMigration"}))
        .await
        .problem(422);
    let mut approved = system(TENANT_A, "self-approved");
    approved["spec"]["approval"] =
        json!({"decision": "Approved", "decidedBy": "me", "reason": "sure"});
    let problem = env
        .post("/v1/migrations", &a, &json!([approved]))
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "spec.approval");
    assert_eq!(audited(env).await.len(), 1);

    // A whole inventory is more than the 64 KiB other requests may send.
    let mut large = system(TENANT_A, "large");
    large["metadata"]["annotations"] = json!({"example.org/notes": "x".repeat(100 * 1024)});
    let reply = env.post("/v1/migrations", &a, &json!([large])).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
}

async fn operations_approve_or_deny(env: &Env) {
    namespaces(env, &[TENANT_A]).await;
    let (a, _) = env.issue(TENANT_A, "editor").await;
    let (a_ops, _) = env.issue(TENANT_A, "operations").await;
    let mut classified = system(TENANT_A, "secret");
    classified["spec"]["classification"] = json!("Classified");
    let batch = json!([
        system(TENANT_A, "payroll"),
        system(TENANT_A, "ledger"),
        classified
    ]);
    assert_eq!(env.post("/v1/migrations", &a, &batch).await.status, 201);
    let approve = json!({"decision": "Approved", "reason": "fits the quota; wave 2"});

    let forbidden = env
        .post("/v1/migrations/city-finance/payroll/approval", &a, &approve)
        .await;
    assert!(
        forbidden.problem(403)["detail"]
            .as_str()
            .unwrap()
            .contains("operations")
    );
    env.post(
        "/v1/migrations/city-finance/payroll/approval",
        &env.root_ops,
        &json!({"decision": "Approved", "reason": " "}),
    )
    .await
    .problem(422);
    let reply = env
        .post(
            "/v1/migrations/city-finance/payroll/approval",
            &env.root_ops,
            &approve,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let view = reply.json();
    assert_eq!(view["decision"], "Approved");
    assert_eq!(view["approval"]["reason"], "fits the quota; wave 2");
    assert!(
        view["approval"]["decidedBy"]
            .as_str()
            .unwrap()
            .ends_with(')'),
        "{view}"
    );
    let again = env
        .post(
            "/v1/migrations/city-finance/payroll/approval",
            &env.root_ops,
            &approve,
        )
        .await;
    assert!(
        again.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("already approved")
    );
    // A department's operations token does not decide its own systems (as with quota).
    let deny = json!({"decision": "Denied", "reason": "the vendor contract ends first"});
    let own = env
        .post("/v1/migrations/city-finance/ledger/approval", &a_ops, &deny)
        .await;
    assert!(
        own.problem(403)["detail"]
            .as_str()
            .unwrap()
            .contains("operations of a parent tenant")
    );
    let reply = env
        .post(
            "/v1/migrations/city-finance/ledger/approval",
            &env.root_ops,
            &deny,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let classified = env
        .post(
            "/v1/migrations/city-finance/secret/approval",
            &env.root_ops,
            &approve,
        )
        .await;
    assert!(
        classified.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("classified")
    );
    env.post(
        "/v1/migrations/city-finance/nothing/approval",
        &env.root_ops,
        &approve,
    )
    .await
    .problem(404);

    let api: Api<SystemMigration> = Api::namespaced(env.client.clone(), TENANT_A);
    let payroll = api.get("payroll").await.unwrap();
    let approval = payroll.spec.approval.unwrap();
    assert!(
        approval
            .decided_by
            .starts_with("local mode operations (govctl) (token ")
    );
    let actions: Vec<String> = audited(env)
        .await
        .into_iter()
        .map(|(action, _)| action)
        .collect();
    assert_eq!(
        actions[3..],
        ["system-migration.approve", "system-migration.deny"]
    );
}

async fn only_waiting_manual_steps_are_confirmed_once(env: &Env) {
    namespaces(env, &[TENANT_A]).await;
    let (a, a_id) = env.issue(TENANT_A, "editor").await;
    let (auditor, _) = env.issue(ROOT, "auditor").await;
    assert_eq!(
        env.post("/v1/migrations", &a, &json!([system(TENANT_A, "payroll")]))
            .await
            .status,
        201
    );
    let path = "/v1/migrations/city-finance/payroll/confirmations";
    let not_waiting = env.post(path, &a, &json!({"step": "migrate"})).await;
    assert!(
        not_waiting.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("not waiting")
    );
    set_status(
        env,
        TENANT_A,
        "payroll",
        json!({"phase": "Migrating", "currentStep": "migrate", "steps": [
            {"name": "migrate", "phase": "WaitingForConfirmation", "attempts": 1},
            {"name": "verify", "phase": "Pending"}
        ]}),
    )
    .await;
    let unknown = env.post(path, &a, &json!({"step": "deploy"})).await;
    assert!(
        unknown.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("no step \"deploy\"")
    );
    env.post(path, &a, &json!({"step": "verify"}))
        .await
        .problem(409);
    env.post(path, &a, &json!({"step": "migrate", "rollback": true}))
        .await
        .problem(409);
    env.post(path, &auditor, &json!({"step": "migrate"}))
        .await
        .problem(403);

    let reply = env.post(path, &a, &json!({"step": "migrate"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let confirmed_by = format!("editor of city-finance (token {a_id})");
    assert_eq!(
        reply.json()["confirmations"],
        json!([{"step": "migrate", "confirmedBy": confirmed_by}])
    );
    let twice = env.post(path, &a, &json!({"step": "migrate"})).await;
    assert!(
        twice.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("already confirmed by")
    );

    // The step failed later and rolls back: its manual rollback waits for a confirmation.
    set_status(
        env,
        TENANT_A,
        "payroll",
        json!({"phase": "RollingBack", "steps": [
            {"name": "migrate", "phase": "RollingBack", "attempts": 1},
            {"name": "verify", "phase": "Failed"}
        ]}),
    )
    .await;
    let reply = env
        .post(
            path,
            &env.root_ops,
            &json!({"step": "migrate", "rollback": true}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["confirmations"].as_array().unwrap().len(), 2);
    let view = env
        .get("/v1/migrations/city-finance/payroll", &a)
        .await
        .json();
    assert_eq!(view["phase"], "RollingBack");
    assert_eq!(view["steps"][0]["phase"], "RollingBack");
    assert_eq!(view["steps"][0]["rollbackInstructions"], "Move it back.");
    assert_eq!(
        audited(env).await[1..],
        [
            (
                "system-migration.confirm".into(),
                "SystemMigration/city-finance/payroll".into()
            ),
            (
                "system-migration.confirm".into(),
                "SystemMigration/city-finance/payroll".into()
            ),
        ]
    );
}

async fn campaigns_show_other_tenants_as_counts_only(env: &Env) {
    namespaces(env, &[TENANT_A, TENANT_B]).await;
    let (a, _) = env.issue(TENANT_A, "viewer").await;
    let batch = json!([
        system(TENANT_A, "payroll"),
        system(TENANT_B, "grid"),
        system(TENANT_A, "ledger")
    ]);
    assert_eq!(
        env.post("/v1/migrations", &env.root_ops, &batch)
            .await
            .status,
        201
    );
    let plans: Api<MigrationPlan> = Api::all(env.client.clone());
    let plan: MigrationPlan = serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "MigrationPlan",
        "metadata": {"name": "ankang-2025"},
        "spec": {
            "displayName": "迁移上云",
            "deadline": "2025-12-31",
            "maintenanceWindows": [
                {"name": "weekend", "schedule": "0 20 * * 5", "duration": "34h", "concurrency": 4}
            ]
        }
    }))
    .unwrap();
    plans.create(&PostParams::default(), &plan).await.unwrap();
    plans
        .patch_status(
            "ankang-2025",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "totalSystems": 3,
                "completedSystems": 0,
                "waveCount": 2,
                "waves": [
                    {"number": 1, "systems": 2, "completed": 0, "firstWindow": "2025-06-06T12:00:00Z", "lastWindowEnd": "2025-06-07T22:00:00Z"},
                    {"number": 2, "systems": 1, "completed": 0}
                ],
                "tenants": [
                    {"tenant": TENANT_A, "total": 2, "completed": 0, "blocked": 1},
                    {"tenant": TENANT_B, "total": 1, "completed": 0, "blocked": 1}
                ],
                "blockers": [{"reason": "AwaitingApproval", "count": 2, "examples": ["city-finance/ledger", "hanbin/grid"]}],
                "projectedCompletion": "2025-07-01",
                "projectedDaysLate": -183,
                "conditions": [{"type": "OnTrack", "status": "True", "reason": "AheadOfDeadline", "message": "", "lastTransitionTime": "2025-06-01T00:00:00Z"}]
            }})),
        )
        .await
        .unwrap();
    let window = json!({"plan": "ankang-2025", "wave": 1, "windowStart": "2025-06-06T12:00:00Z", "windowEnd": "2025-06-07T22:00:00Z"});
    set_status(env, TENANT_A, "payroll", window.clone()).await;
    set_status(env, TENANT_B, "grid", window).await;

    let reply = env.get("/v1/migration-plans/ankang-2025", &a).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let view = reply.json();
    assert_eq!(view["onTrack"], true);
    assert_eq!(view["projectedDaysLate"], -183);
    assert_eq!(view["waves"][0]["firstWindow"], "2025-06-06T12:00:00Z");
    assert_eq!(view["blockers"][0]["count"], 2);
    assert_eq!(
        view["blockers"][0]["examples"],
        json!(["city-finance/ledger"])
    );
    assert_eq!(
        view["tenants"][1],
        json!({"tenant": "hanbin", "total": 1, "completed": 0, "blocked": 1})
    );
    assert_eq!(names(&view["systems"]), ["city-finance/payroll"]);
    assert_eq!(view["systems"][0]["windowEnd"], "2025-06-07T22:00:00Z");
    assert!(!reply.text().contains("grid"), "{}", reply.text());

    let root = env
        .get("/v1/migration-plans/ankang-2025", &env.root_ops)
        .await
        .json();
    assert_eq!(root["blockers"][0]["examples"].as_array().unwrap().len(), 2);
    assert_eq!(
        names(&root["systems"]),
        ["city-finance/payroll", "hanbin/grid"]
    );
    let list = env.get("/v1/migration-plans", &a).await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(list.json()[0]["name"], "ankang-2025");
    assert_eq!(list.json()[0]["systems"], json!([]));
    assert!(!list.text().contains("grid"));
    env.get("/v1/migration-plans/none", &a).await.problem(404);
}
