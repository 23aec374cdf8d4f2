//! The migration controllers end to end against the embedded API server over real HTTPS with
//! real watches: a classified system is rejected; two systems competing for the last quota
//! cannot both be scheduled; a Job + Webhook + Manual runbook completes (the test completes
//! the Job as Kubernetes' job controller would); a failing step rolls back the completed steps
//! in reverse order; stopping and restarting the controllers mid-runbook neither repeats nor
//! skips a step; a webhook step retries after a timeout and a 503 against a local HTTPS tool; a
//! plan that cannot be planned names the field, and a missing dependency names the system.

#![allow(clippy::too_many_lines, clippy::missing_panics_doc)]

use crate::controllers_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use controllers_support::{Harness, eventually, step_phase};
use govcloud_apiserver::tls::{load_or_create, rustls_config};
use govcloud_crds::migration::system::{MigrationPhase, StepPhase};
use govcloud_crds::{MigrationPlan, SystemMigration, Tenant};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

impl Harness {
    async fn create<K>(&self, api: Api<K>, object: Value) -> K
    where
        K: kube::Resource
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let object: K = serde_json::from_value(object).expect("a valid object");
        api.create(&PostParams::default(), &object)
            .await
            .expect("create")
    }

    fn systems(&self) -> Api<SystemMigration> {
        Api::namespaced(self.client.clone(), "police")
    }

    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), "police")
    }

    async fn system(&self, name: &str) -> SystemMigration {
        self.systems().get(name).await.expect("the system")
    }

    /// Waits until `name` satisfies `check`.
    async fn wait_for(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&SystemMigration) -> bool,
    ) -> SystemMigration {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let system = self.system(name).await;
            if check(&system) {
                return system;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after 60 s waiting for {what}; the status is {:#?}",
                system.status
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_for_phase(&self, name: &str, phase: MigrationPhase) -> SystemMigration {
        self.wait_for(name, &format!("{name} to be {phase:?}"), |s| {
            s.status.as_ref().is_some_and(|st| st.phase == phase)
        })
        .await
    }

    /// Marks a Job complete or failed, as Kubernetes' job controller would.
    async fn finish_job(&self, name: &str, succeeded: bool) {
        let condition = if succeeded { "Complete" } else { "Failed" };
        let status = json!({ "status": { "conditions": [{
            "type": condition, "status": "True", "reason": "Test", "message": format!("marked {condition} by the test"),
        }]}});
        self.jobs()
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("patch the Job's status");
    }

    async fn confirm(&self, system: &str, step: &str) {
        let mut confirmations = self.system(system).await.spec.confirmations;
        confirmations.push(
            serde_json::from_value(json!({"step": step, "confirmedBy": "test"}))
                .expect("confirmation"),
        );
        self.systems()
            .patch(
                system,
                &PatchParams::default(),
                &Patch::Merge(&json!({ "spec": { "confirmations": confirmations } })),
            )
            .await
            .expect("confirm");
    }

    /// Serves `tool` over HTTPS with a CA of its own and creates the Secret `tool` in `police`
    /// with that CA and, when given, a bearer token; returns the tool's URL.
    async fn serve_tool(&self, tool: &Tool, token: Option<&str>) -> String {
        let url = serve(tool.clone(), self.dir.path()).await;
        let mut data = json!({ "ca.crt": b64(&tool_ca(self.dir.path())) });
        if let Some(token) = token {
            data["token"] = json!(b64(token));
        }
        self.create(
            Api::<Secret>::namespaced(self.client.clone(), "police"),
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": { "name": "tool", "namespace": "police" },
                "data": data,
            }),
        )
        .await;
        url
    }
}

fn tenant() -> Value {
    json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "Tenant",
        "metadata": { "name": "police" },
        "spec": {
            "displayName": "公安局", "level": "Department", "divisionCode": "610900",
            "owners": [{ "kind": "Group", "name": "police:admins" }],
            "contact": { "name": "运维", "email": "ops@police.example.org" },
            "quota": { "cpu": "10", "memory": "40Gi", "storage": "1Ti" },
        },
    })
}

fn plan() -> Value {
    json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "MigrationPlan",
        "metadata": { "name": "campaign" },
        "spec": {
            "displayName": "迁移上云", "deadline": "2099-12-31", "timeZone": "UTC",
            "maintenanceWindows": [{ "name": "always", "schedule": "0 0 * * *", "duration": "24h", "concurrency": 100 }],
        },
    })
}

fn manual(name: &str) -> Value {
    json!({ "name": name, "run": { "type": "Manual", "manual": { "instructions": format!("do {name}") } } })
}

fn job_step(name: &str) -> Value {
    json!({
        "name": name,
        "run": { "type": "Job", "job": { "image": "registry.example.org/migrate:1", "args": [name] } },
        "rollback": { "type": "Job", "job": { "image": "registry.example.org/migrate:1", "args": ["undo", name] } },
    })
}

fn system(name: &str, classification: &str, cpu: &str, steps: &[Value]) -> Value {
    json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "SystemMigration",
        "metadata": { "name": name, "namespace": "police" },
        "spec": {
            "displayName": format!("系统 {name}"), "classification": classification,
            "source": { "site": "机房", "platform": "VirtualMachine", "hosts": 2 },
            "resources": { "cpu": cpu, "memory": "4Gi" },
            "steps": steps,
            "approval": { "decision": "Approved", "decidedBy": "ops", "reason": "planned" },
        },
    })
}

/// A fresh server with the CRDs, a tenant `police` (10 cores) and a plan whose window is always
/// open, and the controllers running.
async fn started_harness() -> Harness {
    let mut harness = Harness::start().await;
    harness
        .create(Api::<Tenant>::all(harness.client.clone()), tenant())
        .await;
    harness
        .create(Api::<MigrationPlan>::all(harness.client.clone()), plan())
        .await;
    harness.run();
    // The tenant controller creates the namespace systems go into.
    let namespaces: Api<Namespace> = Api::all(harness.client.clone());
    eventually("the police namespace", 30, || async {
        namespaces.get_opt("police").await.ok().flatten()
    })
    .await;
    harness
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classified_systems_are_rejected_and_the_last_quota_goes_to_one_system() {
    let h = started_harness().await;
    h.create(
        h.systems(),
        system("secret", "Classified", "1", &[manual("move")]),
    )
    .await;
    let secret = h.wait_for_phase("secret", MigrationPhase::Rejected).await;
    let status = secret.status.expect("status");
    assert!(
        status
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("classified"))
    );
    assert!(status.window_start.is_none(), "never scheduled");
    // Two systems of 6 cores each in a tenant of 10: one is scheduled, the other waits.
    h.create(
        h.systems(),
        system("alpha", "Unclassified", "6", &[manual("move")]),
    )
    .await;
    h.create(
        h.systems(),
        system("beta", "Unclassified", "6", &[manual("move")]),
    )
    .await;
    let migrating = |s: &SystemMigration| {
        s.status
            .as_ref()
            .is_some_and(|st| st.phase == MigrationPhase::Migrating)
    };
    let exceeded = |s: &SystemMigration| {
        s.status.as_ref().is_some_and(|st| {
            st.conditions
                .iter()
                .any(|c| c.type_ == "QuotaExceeded" && c.status == "True")
        })
    };
    let (winner, loser) = eventually("one system migrating, the other over quota", 60, || async {
        let a = h.system("alpha").await;
        let b = h.system("beta").await;
        match (migrating(&a) && exceeded(&b), migrating(&b) && exceeded(&a)) {
            (true, _) => Some((a, b)),
            (_, true) => Some((b, a)),
            _ => None,
        }
    })
    .await;
    assert_eq!(
        winner.status.as_ref().expect("status").reserved["cpu"].0,
        "6"
    );
    let loser_status = loser.status.clone().expect("status");
    assert_eq!(loser_status.phase, MigrationPhase::Approved);
    assert!(loser_status.reserved.is_empty());
    assert!(
        loser_status
            .reason
            .expect("reason")
            .contains("cpu: needs 6 cores")
    );
    let ledger = h
        .storage
        .reservations()
        .list_by_tenant("police")
        .await
        .expect("ledger");
    assert_eq!(ledger.len(), 1);
    // The winner completes: its reservation is released and the other gets the quota.
    h.confirm(&winner.name_any(), "move").await;
    h.wait_for_phase(&winner.name_any(), MigrationPhase::Completed)
        .await;
    h.wait_for_phase(&loser.name_any(), MigrationPhase::Migrating)
        .await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_webhook_and_manual_runbook_completes() {
    let h = started_harness().await;
    let tool = Tool::default();
    let url = h.serve_tool(&tool, Some("s3cret-token")).await;
    let steps = [
        job_step("copy"),
        json!({ "name": "switch", "pointOfNoReturn": true, "run": { "type": "Webhook", "webhook": {
            "url": format!("{url}/ok"), "timeoutSeconds": 5, "retries": 1, "credentialsSecret": "tool" } } }),
        manual("verify"),
    ];
    h.create(h.systems(), system("portal", "Unclassified", "2", &steps))
        .await;
    let job = eventually("the copy Job", 60, || async {
        h.jobs().get_opt("portal-copy-run").await.ok().flatten()
    })
    .await;
    let pod = job.spec.expect("spec").template.spec.expect("pod");
    assert_eq!(
        pod.containers[0].args.as_deref(),
        Some(&["copy".to_owned()][..])
    );
    assert_eq!(
        h.system("portal").await.status.expect("status").phase,
        MigrationPhase::Migrating
    );
    h.finish_job("portal-copy-run", true).await;
    let waiting = h
        .wait_for("portal", "verify to wait for a confirmation", |s| {
            step_phase(s, "verify") == Some(StepPhase::WaitingForConfirmation)
        })
        .await;
    let status = waiting.status.expect("status");
    assert_eq!(
        status.phase,
        MigrationPhase::Verifying,
        "past the point of no return"
    );
    assert!(status.point_of_no_return_passed);
    assert_eq!(tool.calls(), 1);
    let headers = tool.headers.lock().expect("lock")[0].clone();
    assert_eq!(headers.0, "Bearer s3cret-token");
    h.confirm("portal", "verify").await;
    let done = h.wait_for_phase("portal", MigrationPhase::Completed).await;
    let status = done.status.expect("status");
    assert!(
        status
            .steps
            .iter()
            .all(|s| s.phase == StepPhase::Succeeded && s.attempts == 1)
    );
    assert!(status.reserved.is_empty());
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True" && c.reason == "Completed"),
        "{:?}",
        status.conditions
    );
    assert!(
        h.storage
            .reservations()
            .find("police/portal")
            .await
            .expect("ledger")
            .is_none()
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_rolls_back_completed_steps_in_reverse_order() {
    let h = started_harness().await;
    let steps = [job_step("first"), job_step("second"), job_step("third")];
    h.create(h.systems(), system("tax", "Unclassified", "1", &steps))
        .await;
    for step in ["first", "second"] {
        let name = format!("tax-{step}-run");
        eventually(&name, 60, || async {
            h.jobs().get_opt(&name).await.ok().flatten()
        })
        .await;
        h.finish_job(&name, true).await;
    }
    eventually("tax-third-run", 60, || async {
        h.jobs().get_opt("tax-third-run").await.ok().flatten()
    })
    .await;
    h.finish_job("tax-third-run", false).await;
    h.wait_for_phase("tax", MigrationPhase::RollingBack).await;
    eventually("tax-second-rollback", 60, || async {
        h.jobs().get_opt("tax-second-rollback").await.ok().flatten()
    })
    .await;
    // The first step's rollback waits for the second's.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        h.jobs()
            .get_opt("tax-first-rollback")
            .await
            .expect("read")
            .is_none()
    );
    h.finish_job("tax-second-rollback", true).await;
    eventually("tax-first-rollback", 60, || async {
        h.jobs().get_opt("tax-first-rollback").await.ok().flatten()
    })
    .await;
    h.finish_job("tax-first-rollback", true).await;
    let rolled = h.wait_for_phase("tax", MigrationPhase::RolledBack).await;
    let status = rolled.status.expect("status");
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "False" && c.reason == "RolledBack"),
        "{:?}",
        status.conditions
    );
    let phases: Vec<StepPhase> = status.steps.iter().map(|s| s.phase).collect();
    assert_eq!(
        phases,
        [
            StepPhase::RolledBack,
            StepPhase::RolledBack,
            StepPhase::Failed
        ]
    );
    assert!(
        status
            .reason
            .expect("reason")
            .starts_with("step third failed: Job tax-third-run failed")
    );
    assert!(
        h.jobs()
            .get_opt("tax-third-rollback")
            .await
            .expect("read")
            .is_none(),
        "the failed step is not rolled back"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_runbook_neither_repeats_nor_skips_a_step() {
    let mut h = started_harness().await;
    let steps = [manual("prepare"), job_step("copy"), manual("verify")];
    h.create(h.systems(), system("hr", "Unclassified", "1", &steps))
        .await;
    h.wait_for("hr", "prepare to wait", |s| {
        step_phase(s, "prepare") == Some(StepPhase::WaitingForConfirmation)
    })
    .await;
    h.confirm("hr", "prepare").await;
    let job = eventually("hr-copy-run", 60, || async {
        h.jobs().get_opt("hr-copy-run").await.ok().flatten()
    })
    .await;
    // Killed while the Job runs; the Job finishes while the controller is away.
    h.stop().await;
    h.finish_job("hr-copy-run", true).await;
    h.run();
    let waiting = h
        .wait_for("hr", "verify to wait", |s| {
            step_phase(s, "verify") == Some(StepPhase::WaitingForConfirmation)
        })
        .await;
    let again = h.jobs().get("hr-copy-run").await.expect("the Job");
    assert_eq!(again.uid(), job.uid(), "the Job was not created again");
    let status = waiting.status.expect("status");
    assert!(
        status.steps.iter().all(|s| s.attempts == 1),
        "{:?}",
        status.steps
    );
    // Killed again while waiting for the confirmation.
    h.stop().await;
    h.confirm("hr", "verify").await;
    h.run();
    let done = h.wait_for_phase("hr", MigrationPhase::Completed).await;
    assert!(
        done.status
            .expect("status")
            .steps
            .iter()
            .all(|s| s.phase == StepPhase::Succeeded && s.attempts == 1)
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_step_retries_after_a_timeout_and_a_server_error() {
    let h = started_harness().await;
    let tool = Tool::default();
    let url = h.serve_tool(&tool, None).await;
    let steps = [
        json!({ "name": "cutover", "run": { "type": "Webhook", "webhook": {
        "url": format!("{url}/flaky"), "timeoutSeconds": 1, "retries": 3, "credentialsSecret": "tool" } } }),
    ];
    h.create(h.systems(), system("flaky", "Unclassified", "1", &steps))
        .await;
    let done = h.wait_for_phase("flaky", MigrationPhase::Completed).await;
    let step = &done.status.expect("status").steps[0];
    assert_eq!(step.attempts, 3, "a timeout, a 503, then success");
    assert_eq!(tool.calls(), 3);
    let keys: Vec<String> = tool
        .headers
        .lock()
        .expect("lock")
        .iter()
        .map(|h| h.1.clone())
        .collect();
    assert!(
        keys.iter()
            .all(|k| k == &keys[0] && k.ends_with("/cutover/run")),
        "{keys:?}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplannable_plans_and_missing_dependencies_are_reported_naming_the_field_and_system() {
    let h = started_harness().await;
    let plans: Api<MigrationPlan> = Api::all(h.client.clone());
    // Hour 25 passes the schema's shape but no cron parser.
    let window = json!({ "spec": { "maintenanceWindows": [
        { "name": "always", "schedule": "0 25 * * *", "duration": "24h", "concurrency": 100 }
    ] } });
    plans
        .patch("campaign", &PatchParams::default(), &Patch::Merge(&window))
        .await
        .expect("patch the plan");
    let refused = eventually("the plan to say why it cannot plan", 60, || async {
        let plan = plans.get("campaign").await.ok()?;
        let status = plan.status?;
        let condition = status
            .conditions
            .into_iter()
            .find(|c| c.type_ == "OnTrack")?;
        (condition.reason == "InvalidSchedule").then_some(condition)
    })
    .await;
    assert_eq!(refused.status, "Unknown");
    assert!(
        refused
            .message
            .starts_with("spec.maintenanceWindows[0].schedule: cannot parse \"0 25 * * *\""),
        "{}",
        refused.message
    );
    plans
        .patch(
            "campaign",
            &PatchParams::default(),
            &Patch::Merge(&json!({ "spec": plan()["spec"] })),
        )
        .await
        .expect("restore the plan");
    let mut orphan = system("orphan", "Unclassified", "1", &[manual("move")]);
    orphan["spec"]["dependsOn"] = json!([{ "name": "ghost" }]);
    h.create(h.systems(), orphan).await;
    let blocked = h
        .wait_for("orphan", "the missing dependency to be named", |s| {
            s.status
                .as_ref()
                .is_some_and(|st| st.blockers == ["dependency police/ghost does not exist"])
        })
        .await;
    assert!(blocked.status.expect("status").window_start.is_none());
    // The blocker and `OnTrack` of one status (the restored schedule's, not the bad one's).
    let plan = eventually("the plan to list the blocker, off track", 60, || async {
        let plan = plans.get("campaign").await.ok()?;
        let status = plan.status?;
        let listed = status
            .blockers
            .iter()
            .any(|b| b.examples == ["police/orphan"]);
        let off_track = status
            .conditions
            .iter()
            .any(|c| c.type_ == "OnTrack" && c.status == "False");
        (listed && off_track).then_some(status)
    })
    .await;
    let on_track = plan
        .conditions
        .iter()
        .find(|c| c.type_ == "OnTrack")
        .expect("OnTrack");
    assert_eq!(on_track.status, "False");
    h.shutdown().await;
}

/// A migration tool: `/ok` answers 200; `/flaky` sleeps past the timeout, then answers 503,
/// then 200. Records each call's `Authorization` and `Idempotency-Key`.
#[derive(Clone, Default)]
struct Tool {
    headers: Arc<Mutex<Vec<(String, String)>>>,
}

impl Tool {
    fn calls(&self) -> usize {
        self.headers.lock().expect("lock").len()
    }

    fn record(&self, headers: &HeaderMap) -> usize {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let mut calls = self.headers.lock().expect("lock");
        calls.push((get("authorization"), get("idempotency-key")));
        calls.len()
    }
}

async fn ok(State(tool): State<Tool>, headers: HeaderMap) -> (StatusCode, &'static str) {
    tool.record(&headers);
    (StatusCode::OK, r#"{"message":"switched"}"#)
}

async fn flaky(State(tool): State<Tool>, headers: HeaderMap) -> (StatusCode, &'static str) {
    match tool.record(&headers) {
        1 => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            (StatusCode::OK, "too late")
        }
        2 => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        _ => (StatusCode::OK, r#"{"message":"cut over"}"#),
    }
}

/// Secret data as the API carries it (the embedded API server, like an apiserver without the
/// `stringData` conversion, stores `data` only).
fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn tool_ca(dir: &std::path::Path) -> String {
    load_or_create(&dir.join("tool"), &["127.0.0.1"])
        .expect("certificates")
        .ca_pem
}

async fn serve(tool: Tool, dir: &std::path::Path) -> String {
    let certificates = load_or_create(&dir.join("tool"), &["127.0.0.1"]).expect("certificates");
    let rustls = rustls_config(&certificates).await.expect("rustls");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let address = listener.local_addr().expect("address");
    let app = axum::Router::new()
        .route("/ok", post(ok))
        .route("/flaky", post(flaky))
        .with_state(tool);
    let server = axum_server::from_tcp_rustls(listener, rustls).expect("server");
    tokio::spawn(server.serve(app.into_make_service()));
    format!("https://{address}")
}
