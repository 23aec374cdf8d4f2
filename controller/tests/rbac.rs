//! The controller's RBAC (`govcloud_controller::permissions::CONTROLLER`) against what the code
//! does and what the chart grants:
//!
//! - `every_permission_is_used_and_nothing_else_is_requested`: local mode with the Ankang seed and
//!   the API server's audit log, driven through what the seed alone does not do — a migration
//!   with a Job, a Webhook (credentials from a Secret) and a Manual step submitted, approved and
//!   confirmed through the controller's API, a quota request created and approved, the API's
//!   single-object reads, and a submission and a quota request taken back because their audit
//!   record cannot be written. Every verb of every entry the controller requests is then in the
//!   audit log under the replica's user agent, every entry the API server checks on a write is
//!   shown needed by what the controller wrote, and nothing it requested is beyond the table.
//!   (The controller and API suites check the other direction on every code path they run.)
//! - `the_chart_grants_exactly_the_table`: renders `charts/govcloud` with default values through
//!   helm-python-sdk and compares its ClusterRole and Role with the table both ways, naming each
//!   missing or extra (group, resource, verb), and its `govcloud-tenant-admin` ClusterRole with
//!   `tenancy::plan::tenant_admin_role()`. Skips with a printed reason without python3 or
//!   helm-python-sdk, and fails instead when `GOVCLOUD_REQUIRE_ALL=1`.

#![allow(clippy::too_many_lines)]

use crate::api_support;
use crate::controllers_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::routing::post;
use controllers_support::{eventually, step_phase};
use govcloud_controller::local::{self, LocalOptions};
use govcloud_controller::operator::cluster::user_agent;
use govcloud_controller::permissions::{self, CONTROLLER, Check, Permission, Request, Scope, Verb};
use govcloud_crds::migration::system::{MigrationPhase, StepPhase};
use govcloud_crds::tenancy::quota_request::QuotaRequestPhase;
use govcloud_crds::{MigrationPlan, QuotaRequest, SystemMigration, Tenant};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::rbac::v1::{PolicyRule, RoleBinding};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use reqwest::Method;
use serde_json::{Value, json};

/// The tenant whose namespace the migration and the quota request use.
const TENANT: &str = "city-finance";
/// The system migrated through the API.
const SYSTEM: &str = "rbac-portal";
/// The Secret with the webhook step's credentials.
const TOOL_SECRET: &str = "rbac-tool";
/// The label that puts a system in this test's campaign (always-open window).
const CAMPAIGN_LABEL: &str = "govcloud.io/campaign";
const CAMPAIGN: &str = "rbac-check";

// ---------------------------------------------------------------------------------------------
// Every permission is used, nothing else is requested.

/// The controller's HTTPS API, as govctl reaches it from `govctl.toml`.
struct ControllerApi {
    http: reqwest::Client,
    url: String,
    token: String,
}

#[derive(serde::Deserialize)]
struct GovctlToml {
    server: String,
    ca: String,
    token: String,
}

impl ControllerApi {
    fn from_config(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).expect("govctl.toml");
        let config: GovctlToml = toml::from_str(&text).expect("govctl.toml parses");
        let ca = std::fs::read_to_string(&config.ca).expect("the CA of govctl.toml");
        Self {
            http: api_support::https_client(&ca),
            url: config.server,
            token: config.token,
        }
    }

    /// The same API with another token.
    fn with_token(&self, token: &str) -> Self {
        Self {
            http: self.http.clone(),
            url: self.url.clone(),
            token: token.to_owned(),
        }
    }

    /// Sends a request with the token; returns the status and the body as JSON
    /// (`null` when it is not).
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the controller API answers");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("a body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn expect(&self, method: Method, path: &str, body: Option<&Value>, status: u16) -> Value {
        let (got, body) = self.call(method.clone(), path, body).await;
        assert_eq!(got, status, "{method} {path}: {body}");
        body
    }
}

/// An HTTPS migration tool with a CA of its own: `POST /ok` answers 200.
async fn serve_tool(dir: &Path) -> (String, String) {
    let certificates =
        govcloud_apiserver::tls::load_or_create(dir, &["127.0.0.1"]).expect("tool certificates");
    let rustls = govcloud_apiserver::tls::rustls_config(&certificates)
        .await
        .expect("tool TLS");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the tool");
    listener.set_nonblocking(true).expect("non-blocking");
    let address = listener.local_addr().expect("the tool's address");
    let app = axum::Router::new().route("/ok", post(|| async { r#"{"message":"switched"}"# }));
    let server = axum_server::from_tcp_rustls(listener, rustls).expect("the tool's server");
    tokio::spawn(server.serve(app.into_make_service()));
    (format!("https://{address}"), certificates.ca_pem)
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A system of this test's campaign in [`TENANT`]: a Job, a Webhook calling `tool` with the
/// credentials of [`TOOL_SECRET`], and a Manual step.
fn system(name: &str, tool: &str) -> Value {
    json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "SystemMigration",
        "metadata": {
            "name": name,
            "namespace": TENANT,
            "labels": {CAMPAIGN_LABEL: CAMPAIGN},
        },
        "spec": {
            "displayName": format!("权限检查 {name}"),
            "classification": "Unclassified",
            "source": {"site": "市行政中心机房", "platform": "VirtualMachine", "hosts": 1},
            "resources": {"cpu": "1", "memory": "1Gi"},
            "steps": [
                {"name": "copy", "run": {"type": "Job", "job": {
                    "image": "registry.example.org/migration/copy:1", "args": ["copy"]}}},
                {"name": "switch", "pointOfNoReturn": true, "run": {"type": "Webhook", "webhook": {
                    "url": format!("{tool}/ok"), "timeoutSeconds": 5, "retries": 1,
                    "credentialsSecret": TOOL_SECRET}}},
                {"name": "verify", "run": {"type": "Manual", "manual": {
                    "instructions": "Check the portal answers."}}},
            ],
        },
    })
}

/// For each entry of the table (by index), the verbs the requests used.
fn used(requests: &[Request], own_namespace: &str) -> BTreeMap<usize, BTreeSet<Verb>> {
    let mut used: BTreeMap<usize, BTreeSet<Verb>> = BTreeMap::new();
    for request in requests {
        for (index, verb) in permissions::allowing(CONTROLLER, request, own_namespace) {
            used.entry(index).or_default().insert(verb);
        }
    }
    used
}

/// The verbs of the entries the controller requests that `requests` have not used yet.
fn unused(requests: &[Request], own_namespace: &str) -> Vec<String> {
    let used = used(requests, own_namespace);
    CONTROLLER
        .iter()
        .enumerate()
        .filter(|(_, p)| p.check == Check::Requested)
        .flat_map(|(index, p)| {
            let used = used.get(&index).cloned().unwrap_or_default();
            p.verbs
                .iter()
                .filter(move |v| !used.contains(v))
                .map(move |v| describe(p, *v))
        })
        .collect()
}

fn describe(permission: &Permission, verb: Verb) -> String {
    let group = if permission.group.is_empty() {
        "core"
    } else {
        permission.group
    };
    format!("({group}, {}, {verb})", permission.resource)
}

/// The controller's resource requests in the audit log so far.
fn controller_requests(audit: &Path, agent: &str) -> Vec<Request> {
    let text = std::fs::read_to_string(audit).expect("the audit log");
    let events = permissions::parse_audit_log(&text).expect("an audit log");
    permissions::requests_of(&events, agent).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_permission_is_used_and_nothing_else_is_requested() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.log");
    let data = dir.path().join("data");
    let plane = local::start(&LocalOptions {
        data_dir: data.clone(),
        seed: Some(api_support::workspace_root().join("examples/ankang")),
        api_address: "127.0.0.1:0".parse().expect("address"),
        controller_api_address: "127.0.0.1:0".parse().expect("address"),
        metrics_address: "127.0.0.1:0".parse().expect("address"),
        agent_api_address: "127.0.0.1:0".parse().expect("address"),
        telemetry_retention: govcloud_controller::network::retention::DEFAULT_RETENTION,
        operations_tenant: None,
        audit_log: Some(audit.clone()),
    })
    .await
    .expect("start local mode");
    let ready = started.elapsed();
    let driving = Instant::now();
    let admin = plane.client.clone();
    let api = ControllerApi::from_config(&plane.govctl_config);
    let own_namespace = local::LEASE_NAMESPACE;
    let lease: Api<Lease> = Api::namespaced(admin.clone(), own_namespace);
    let identity = eventually("the replica to take its lease", 30, || async {
        lease
            .get_opt(govcloud_controller::leader::LeaseSettings::NAME)
            .await
            .ok()
            .flatten()?
            .spec?
            .holder_identity
    })
    .await;
    let agent = user_agent(&identity);

    // The migration: a tool, its credentials, a campaign whose window is always open.
    let (tool, tool_ca) = serve_tool(&dir.path().join("tool")).await;
    let tenants: Api<Tenant> = Api::all(admin.clone());
    eventually("the tenant's namespace in its status", 60, || async {
        let tenant = tenants.get(TENANT).await.ok()?;
        tenant
            .status?
            .namespaces
            .iter()
            .any(|ns| ns == TENANT)
            .then_some(())
    })
    .await;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": TOOL_SECRET, "namespace": TENANT},
        "data": {"ca.crt": b64(tool_ca.as_bytes()), "token": b64(b"rbac-s3cret")},
    }))
    .expect("a Secret");
    Api::<Secret>::namespaced(admin.clone(), TENANT)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the tool's Secret");
    let plan: MigrationPlan = serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "MigrationPlan",
        "metadata": {"name": CAMPAIGN},
        "spec": {
            "displayName": "权限检查", "deadline": "2099-12-31", "timeZone": "UTC",
            "systemSelector": {"matchLabels": {CAMPAIGN_LABEL: CAMPAIGN}},
            "maintenanceWindows": [{"name": "always", "schedule": "0 0 * * *",
                                    "duration": "24h", "concurrency": 10}],
        },
    }))
    .expect("a MigrationPlan");
    Api::<MigrationPlan>::all(admin.clone())
        .create(&PostParams::default(), &plan)
        .await
        .expect("create the campaign");

    // Submitted (a dry run, then the create), approved, the Job completed as Kubernetes' job
    // controller would, the webhook called, the manual step confirmed.
    api.expect(
        Method::POST,
        "/v1/migrations",
        Some(&json!([system(SYSTEM, &tool)])),
        201,
    )
    .await;
    api.expect(
        Method::POST,
        &format!("/v1/migrations/{TENANT}/{SYSTEM}/approval"),
        Some(&json!({"decision": "Approved", "reason": "the RBAC check"})),
        200,
    )
    .await;
    let jobs: Api<Job> = Api::namespaced(admin.clone(), TENANT);
    let job_name = format!("{SYSTEM}-copy-run");
    eventually("the copy Job", 60, || async {
        jobs.get_opt(&job_name).await.ok().flatten()
    })
    .await;
    jobs.patch_status(
        &job_name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"conditions": [{
            "type": "Complete", "status": "True", "reason": "Test", "message": "done"}]}})),
    )
    .await
    .expect("complete the Job");
    let systems: Api<SystemMigration> = Api::namespaced(admin.clone(), TENANT);
    eventually(
        "the verify step to wait for its confirmation",
        60,
        || async {
            let system = systems.get(SYSTEM).await.ok()?;
            (step_phase(&system, "verify") == Some(StepPhase::WaitingForConfirmation)).then_some(())
        },
    )
    .await;
    api.expect(
        Method::POST,
        &format!("/v1/migrations/{TENANT}/{SYSTEM}/confirmations"),
        Some(&json!({"step": "verify"})),
        200,
    )
    .await;
    eventually("the migration to complete", 60, || async {
        let system = systems.get(SYSTEM).await.ok()?;
        (system.status?.phase == MigrationPhase::Completed).then_some(())
    })
    .await;

    // A quota request, created and approved through the API, applied by the controller.
    let cpu: u64 = tenants
        .get(TENANT)
        .await
        .expect("the tenant")
        .spec
        .quota
        .cpu
        .0
        .parse()
        .expect("whole cores");
    let created = api
        .expect(
            Method::POST,
            &format!("/v1/tenants/{TENANT}/quota-requests"),
            Some(&json!({"requested": {"cpu": (cpu + 1).to_string()},
                         "justification": "the RBAC check needs one more core"})),
            201,
        )
        .await;
    let request = created["name"].as_str().expect("a name").to_owned();
    // A token does not decide its own request: another operations token does.
    let issued = api
        .expect(
            Method::POST,
            "/v1/tokens",
            Some(&json!({"tenant": "ankang", "role": "operations",
                         "description": "the RBAC check's second operator"})),
            201,
        )
        .await;
    let decider = api.with_token(issued["token"].as_str().expect("a token"));
    decider
        .expect(
            Method::POST,
            &format!("/v1/tenants/{TENANT}/quota-requests/{request}/approve"),
            Some(&json!({"reason": "the RBAC check"})),
            200,
        )
        .await;
    let requests: Api<QuotaRequest> = Api::all(admin.clone());
    eventually("the quota request to be applied", 60, || async {
        let applied = requests.get(&request).await.ok()?.status?.phase;
        (applied == QuotaRequestPhase::Applied).then_some(())
    })
    .await;

    // The API's single-object reads.
    for path in [
        format!("/v1/tenants/{TENANT}"),
        format!("/v1/tenants/{TENANT}/quota-requests/{request}"),
        format!("/v1/migrations/{TENANT}/{SYSTEM}"),
        "/v1/migration-plans/ankang-2025".to_owned(),
        "/v1/routers/ankang-core".to_owned(),
        "/v1/links/cc-hanbin".to_owned(),
        "/v1/networks/medins-net".to_owned(),
    ] {
        api.expect(Method::GET, &path, None, 200).await;
    }

    // Taken back: a quota request and a submission whose audit record cannot be written.
    let database = format!("sqlite://{}", data.join("govcloud.db").display());
    let mut sql = <sqlx::SqliteConnection as sqlx::Connection>::connect(&database)
        .await
        .expect("the controller's database");
    sqlx::query(
        "CREATE TRIGGER rbac_refuse_audit BEFORE INSERT ON audit_log \
         BEGIN SELECT RAISE(ABORT, 'refused by the rbac test'); END",
    )
    .execute(&mut sql)
    .await
    .expect("refuse audit records");
    let before = requests
        .list(&ListParams::default())
        .await
        .expect("requests")
        .items
        .len();
    api.expect(
        Method::POST,
        &format!("/v1/tenants/{TENANT}/quota-requests"),
        Some(&json!({"requested": {"cpu": (cpu + 2).to_string()},
                     "justification": "never audited, so never kept"})),
        500,
    )
    .await;
    api.expect(
        Method::POST,
        "/v1/migrations",
        Some(&json!([system("rbac-taken-back", &tool)])),
        500,
    )
    .await;
    sqlx::query("DROP TRIGGER rbac_refuse_audit")
        .execute(&mut sql)
        .await
        .expect("audit records again");
    <sqlx::SqliteConnection as sqlx::Connection>::close(sql)
        .await
        .expect("close the database");
    assert_eq!(
        requests
            .list(&ListParams::default())
            .await
            .expect("requests")
            .items
            .len(),
        before,
        "the unaudited quota request was deleted"
    );
    eventually("the unaudited system to be gone", 30, || async {
        systems
            .get_opt("rbac-taken-back")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;

    // Everything the replica requests, some of it periodic (the lease's renewal), shows within
    // a minute; what does not is named after the shutdown.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !unused(&controller_requests(&audit, &agent), own_namespace).is_empty()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // What the API server checks on the controller's writes, shown by what it wrote.
    let on_write: Vec<(&str, &str, &[Verb])> = CONTROLLER
        .iter()
        .filter(|p| matches!(p.check, Check::OnWrite { .. }))
        .map(|p| (p.group, p.resource, p.verbs))
        .collect();
    assert_eq!(
        on_write,
        [(
            "rbac.authorization.k8s.io",
            "clusterroles",
            &[Verb::Bind][..]
        )],
        "each entry checked on a write has its proof below"
    );
    let requests_so_far = controller_requests(&audit, &agent);
    let created_by_controller = |group: &str, resource: &str| -> Vec<Option<String>> {
        requests_so_far
            .iter()
            .filter(|r| {
                r.verb == "create"
                    && r.group == group
                    && r.resource == resource
                    && r.subresource.is_none()
            })
            .map(|r| r.name.clone())
            .collect()
    };
    // bind on govcloud-tenant-admin: the controller created RoleBindings to it.
    assert!(!created_by_controller("rbac.authorization.k8s.io", "rolebindings").is_empty());
    let bindings = Api::<RoleBinding>::all(admin.clone())
        .list(&ListParams::default().labels(govcloud_core::tenancy::plan::TENANT_LABEL))
        .await
        .expect("role bindings");
    assert!(!bindings.items.is_empty());
    for binding in &bindings.items {
        assert_eq!(
            (
                binding.role_ref.kind.as_str(),
                binding.role_ref.name.as_str()
            ),
            ("ClusterRole", permissions::TENANT_ADMIN_ROLE)
        );
        assert!(owned_without_blocking(&binding.metadata, "Tenant"));
    }
    // No update on an owner's finalizers: what the controller creates has a controller owner
    // reference that does not block its owner's deletion (with blockOwnerDeletion, the
    // OwnerReferencesPermissionEnforcement admission plugin would ask for tenants/finalizers
    // and systemmigrations/finalizers).
    let namespaces: Vec<String> = created_by_controller("", "namespaces")
        .into_iter()
        .flatten()
        .collect();
    assert!(
        !namespaces.is_empty(),
        "the controller created no namespace"
    );
    for name in &namespaces {
        let namespace = Api::<Namespace>::all(admin.clone())
            .get(name)
            .await
            .expect("a namespace the controller created");
        assert!(
            owned_without_blocking(&namespace.metadata, "Tenant"),
            "namespace {name}: {:?}",
            namespace.metadata.owner_references
        );
    }
    assert!(!created_by_controller("batch", "jobs").is_empty());
    let job = jobs.get(&job_name).await.expect("the copy Job");
    assert!(
        owned_without_blocking(&job.metadata, "SystemMigration"),
        "{:?}",
        job.metadata.owner_references
    );

    // Stop (the lease is released), then judge the whole log.
    let stopping = Instant::now();
    let driven = stopping.duration_since(driving);
    plane.shutdown().await;
    let stopped = stopping.elapsed();
    let log = std::fs::read_to_string(&audit).expect("the audit log");
    let refused =
        permissions::unpermitted(CONTROLLER, &log, &agent, own_namespace).expect("an audit log");
    assert!(
        refused.is_empty(),
        "local mode made requests permissions::CONTROLLER does not allow:\n  {}",
        refused.join("\n  ")
    );
    let requests = controller_requests(&audit, &agent);
    let unused = unused(&requests, own_namespace);
    assert!(
        unused.is_empty(),
        "permissions::CONTROLLER grants what local mode never used:\n  {}",
        unused.join("\n  ")
    );
    println!(
        "{} requests of {agent} checked against {} entries: local mode ready in {ready:?}, \
         driven in {driven:?}, stopped in {stopped:?}, {:?} in all",
        requests.len(),
        CONTROLLER.len(),
        started.elapsed(),
    );
}

/// Whether `metadata` has a controller owner reference to a govcloud `kind`, and none of its
/// owner references blocks an owner's deletion.
fn owned_without_blocking(
    metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    kind: &str,
) -> bool {
    let owners = metadata.owner_references.as_deref().unwrap_or_default();
    owners.iter().any(|owner| {
        owner.kind == kind
            && owner.api_version == "govcloud.io/v1alpha1"
            && owner.controller == Some(true)
    }) && owners
        .iter()
        .all(|owner| owner.block_owner_deletion != Some(true))
}

// ---------------------------------------------------------------------------------------------
// The chart grants exactly the table.

/// Renders `chart` with its default values as release `r` in namespace `ns`; prints one JSON
/// object, template path → its documents; exits 2 when a module is missing.
const RENDER: &str = r#"
import json, sys
try:
    import helm_python
    import yaml
except ImportError as error:
    print(f"python3 cannot import {error.name}: install helm-python-sdk and PyYAML", file=sys.stderr)
    sys.exit(2)
with helm_python.Chart.load(sys.argv[1]) as chart:
    rendered = chart.render(None, name="r", namespace="ns")
print(json.dumps({
    path: [doc for doc in yaml.safe_load_all(text) if doc]
    for path, text in rendered.items()
    if path.endswith((".yaml", ".yml"))
}))
"#;

/// The chart's rendered documents with their template path, or `None` (skipped) when python3 or
/// its modules are missing and `GOVCLOUD_REQUIRE_ALL=1` is not set.
fn render_chart_or_skip(test: &str) -> Option<Vec<(String, Value)>> {
    let chart = api_support::workspace_root().join("charts/govcloud");
    let skip = |reason: String| {
        govcloud_tests::require::skip(test, &reason);
        None
    };
    let output = match Command::new("python3")
        .arg("-c")
        .arg(RENDER)
        .arg(&chart)
        .output()
    {
        Ok(output) => output,
        Err(error) => return skip(format!("python3 cannot be run: {error}")),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(2) {
        return skip(stderr.trim().to_owned());
    }
    assert!(
        output.status.success(),
        "rendering {} failed: {stderr}",
        chart.display()
    );
    let rendered: BTreeMap<String, Vec<Value>> =
        serde_json::from_slice(&output.stdout).expect("the renderer's JSON");
    Some(
        rendered
            .into_iter()
            .flat_map(|(path, docs)| docs.into_iter().map(move |doc| (path.clone(), doc)))
            .collect(),
    )
}

fn rules_of(doc: &Value) -> Vec<PolicyRule> {
    serde_json::from_value(doc["rules"].clone()).expect("RBAC rules")
}

#[test]
fn the_chart_grants_exactly_the_table() {
    let Some(documents) = render_chart_or_skip("the_chart_grants_exactly_the_table") else {
        return;
    };
    let of_kind = |kind: &str| -> Vec<&(String, Value)> {
        documents
            .iter()
            .filter(|(_, doc)| doc["kind"] == kind)
            .collect()
    };
    let name = |doc: &Value| {
        doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let cluster_roles = of_kind("ClusterRole");
    let (tenant_admin, controller): (Vec<_>, Vec<_>) = cluster_roles
        .iter()
        .partition(|(_, doc)| name(doc) == permissions::TENANT_ADMIN_ROLE);
    let roles = of_kind("Role");
    let mut problems = Vec::new();
    for (scope, found, what) in [
        (Scope::Cluster, &controller, "the controller's ClusterRole"),
        (
            Scope::OwnNamespace,
            &roles.iter().collect::<Vec<_>>(),
            "the controller's Role",
        ),
    ] {
        let [(path, doc)] = found.as_slice() else {
            problems.push(format!(
                "{what}: expected one, the chart renders {}",
                found.len()
            ));
            continue;
        };
        match permissions::compare(CONTROLLER, scope, &rules_of(doc)) {
            Ok(diff) => problems.extend(
                diff.to_string()
                    .lines()
                    .map(|line| format!("{path} ({what} {}): {line}", name(doc))),
            ),
            Err(error) => problems.push(format!("{path} ({what}): {error}")),
        }
        if scope == Scope::OwnNamespace && doc["metadata"]["namespace"] != "ns" {
            problems.push(format!(
                "{path}: the Role is not in the release's namespace: {}",
                doc["metadata"]
            ));
        }
    }
    match tenant_admin.as_slice() {
        [(path, doc)] => {
            let shipped = permissions::grants_of_rules(&rules_of(doc));
            let wanted = govcloud_core::tenancy::plan::tenant_admin_role()
                .rules
                .unwrap_or_default();
            let wanted = permissions::grants_of_rules(&wanted).expect("the controller's rules");
            match shipped {
                Ok(shipped) => {
                    for grant in wanted.difference(&shipped) {
                        problems.push(format!("{path} (govcloud-tenant-admin): missing: {grant}"));
                    }
                    for grant in shipped.difference(&wanted) {
                        problems.push(format!("{path} (govcloud-tenant-admin): extra: {grant}"));
                    }
                }
                Err(error) => problems.push(format!("{path} (govcloud-tenant-admin): {error}")),
            }
        }
        other => problems.push(format!(
            "govcloud-tenant-admin: expected one ClusterRole, the chart renders {}",
            other.len()
        )),
    }
    assert!(
        problems.is_empty(),
        "the chart's RBAC differs from permissions::CONTROLLER (fix the chart's templates or the \
         table, with the code that needs it):\n  {}",
        problems.join("\n  ")
    );
}
