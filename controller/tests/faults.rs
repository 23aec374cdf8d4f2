//! Fault tests: real `govcloud-controller` processes, real faults, assertions on what is left.
//!
//! - **A crash mid-convergence** (`local` mode seeded with two generated small cities and
//!   systems whose first step is a Job, SIGKILL once some routers have their prefixes while other
//!   objects still wait, restart on the same data directory): once converged again, every IPAM
//!   allocation and router prefix is unique per owner and every active ledger row belongs to an
//!   object that exists; every dedicated network's VLAN and VRF is unique on its router, with
//!   exactly one row per site; each migration step of type Job has exactly one Job; no audit
//!   record is duplicated and the hash chain verifies; every object's `observedGeneration` is
//!   current.
//! - **A crash of a separate API server** (`govcloud-controller apiserver` under the writes of a
//!   `run` replica and of concurrent creates, SIGKILL): its SQLite file passes `PRAGMA
//!   integrity_check`, every acknowledged create survives, and, restarted at the same address,
//!   the replica (still running) resumes and reconciles objects created after the restart.
//! - **PostgreSQL restarted under load** (a private server of the test, never the machine's
//!   shared one; `run` on it while the controller's API issues tokens): the replica reconnects,
//!   every token acknowledged with success has exactly one audit record, no active token lacks
//!   one, and the audit chain verifies.
//! - **A full filesystem** under the API server's data directory (a small tmpfs, root only):
//!   writes fail with an error naming the cause, the state passes `PRAGMA integrity_check`, no
//!   object is half-written, and writes succeed again once space is freed, without a restart.
//!
//! The tests kill processes, so they are a test binary of their own, and run one at a time.

#[allow(dead_code)] // not every suite uses every part of the harness
mod controllers_support;
mod faults_support;
mod process_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use controllers_support::eventually;
use faults_support::{PrivatePostgres, SmallFilesystem, https_client, integrity_check};
use govcloud_controller::storage::{AuditRecord, ChainStatus, Storage};
use govcloud_crds::{
    AddressPool, DedicatedNetwork, ExtranetLink, MigrationPlan, QuotaRequest, Router,
    SystemMigration, Tenant,
};
use govcloud_tests::province::{CitySize, ProvinceSpec, generate};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use process_support::{Process, apiserver_at, binary, client, http_get, install, local};
use serde_json::{Value, json};

/// The tests run one at a time: each loads both cores of the machine it was sized on.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The controller's namespace when `run` runs against a separate API server.
const NAMESPACE: &str = "govcloud-system";

// ---------------------------------------------------------------------------------------------
// 1. A crash mid-convergence
// ---------------------------------------------------------------------------------------------

/// The tenant, plan and systems the crash test adds to the city: systems whose first step is a
/// Job, approved and in a plan whose window is always open, so their Jobs are created while the
/// controllers converge.
const PROBE: &str = "faults-probe";
const PROBE_SYSTEMS: usize = 4;
/// The first step of each probe system, a Job.
const PROBE_JOB_STEP: &str = "copy";

fn probe_manifests() -> String {
    let mut documents = vec![
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": { "name": PROBE, "labels": { "govcloud.io/tenant": PROBE } },
        }),
        json!({
            "apiVersion": "govcloud.io/v1alpha1", "kind": "Tenant",
            "metadata": { "name": PROBE },
            "spec": {
                "displayName": "故障测试", "level": "City",
                "owners": [{ "kind": "Group", "name": "faults:admins" }],
                "contact": { "name": "运维", "email": "ops@faults.example.org" },
                "quota": { "cpu": "4", "memory": "8Gi", "storage": "100Gi" },
            },
        }),
        json!({
            "apiVersion": "govcloud.io/v1alpha1", "kind": "MigrationPlan",
            "metadata": { "name": PROBE },
            "spec": {
                "displayName": "故障测试迁移", "deadline": "2099-12-31", "timeZone": "UTC",
                "systemSelector": { "matchLabels": { "govcloud.io/campaign": PROBE } },
                "maintenanceWindows": [{ "name": "always", "schedule": "0 0 * * *",
                    "duration": "24h", "concurrency": 100 }],
            },
        }),
    ];
    for index in 0..PROBE_SYSTEMS {
        documents.push(json!({
            "apiVersion": "govcloud.io/v1alpha1", "kind": "SystemMigration",
            "metadata": { "name": format!("probe-{index}"), "namespace": PROBE,
                "labels": { "govcloud.io/campaign": PROBE } },
            "spec": {
                "displayName": format!("探针系统 {index}"), "classification": "Unclassified",
                "source": { "site": "机房", "platform": "VirtualMachine", "hosts": 1 },
                "resources": { "cpu": "1", "memory": "1Gi" },
                "steps": [
                    { "name": PROBE_JOB_STEP,
                      "run": { "type": "Job", "job": { "image": "registry.example.org/migrate:1" } },
                      "rollback": { "type": "Job", "job": { "image": "registry.example.org/migrate:1", "args": ["undo"] } } },
                    { "name": "verify", "run": { "type": "Manual", "manual": { "instructions": "verify" } } },
                ],
                "approval": { "decision": "Approved", "decidedBy": "ops", "reason": "fault test" },
            },
        }));
    }
    documents
        .iter()
        .map(|document| format!("---\n{}", serde_norway::to_string(document).expect("YAML")))
        .collect::<Vec<_>>()
        .concat()
}

/// Every object of the kinds with a reconciler, as JSON, by kind.
async fn reconciled_objects(client: &Client) -> BTreeMap<&'static str, Vec<Value>> {
    async fn all<K>(client: &Client) -> Vec<Value>
    where
        K: Resource<DynamicType = ()>,
    {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ApiResource::erase::<K>(&()));
        api.list(&ListParams::default())
            .await
            .map(|list| {
                list.items
                    .into_iter()
                    .map(|object| serde_json::to_value(object).expect("JSON"))
                    .collect()
            })
            .unwrap_or_default()
    }
    BTreeMap::from([
        ("Tenant", all::<Tenant>(client).await),
        ("QuotaRequest", all::<QuotaRequest>(client).await),
        ("SystemMigration", all::<SystemMigration>(client).await),
        ("MigrationPlan", all::<MigrationPlan>(client).await),
        ("Router", all::<Router>(client).await),
        ("ExtranetLink", all::<ExtranetLink>(client).await),
        ("AddressPool", all::<AddressPool>(client).await),
        ("DedicatedNetwork", all::<DedicatedNetwork>(client).await),
    ])
}

fn name_of(object: &Value) -> String {
    match object["metadata"]["namespace"].as_str() {
        Some(namespace) => format!("{namespace}/{}", object["metadata"]["name"]),
        None => object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

fn observed_current(object: &Value) -> bool {
    !object["status"]["observedGeneration"].is_null()
        && object["status"]["observedGeneration"] == object["metadata"]["generation"]
}

/// The objects not yet converged: a stale `observedGeneration`, a router without its prefix, a
/// probe system without its Job step started, an extranet migration without its sites.
fn not_converged(objects: &BTreeMap<&'static str, Vec<Value>>) -> Vec<String> {
    let mut waiting = Vec::new();
    for (kind, list) in objects {
        for object in list {
            let name = name_of(object);
            if !observed_current(object) {
                waiting.push(format!("{kind} {name}: observedGeneration"));
            }
            match *kind {
                "Router" if object["status"]["prefix"].is_null() => {
                    waiting.push(format!("Router {name}: prefix"));
                }
                "SystemMigration"
                    if name.starts_with(&format!("{PROBE}/"))
                        && object["status"]["phase"] != "Migrating" =>
                {
                    waiting.push(format!("SystemMigration {name}: phase"));
                }
                "DedicatedNetwork"
                    if object["status"]["disposition"] == "MigrateToExtranet"
                        && object["status"]["sites"].as_array().map_or(0, Vec::len)
                            != sites_of(object).len() =>
                {
                    waiting.push(format!("DedicatedNetwork {name}: sites"));
                }
                _ => {}
            }
        }
    }
    waiting
}

fn sites_of(network: &Value) -> BTreeSet<String> {
    network["spec"]["sites"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|site| site["router"].as_str().map(str::to_owned))
        .collect()
}

/// Checks the IPAM ledger against the objects: one active prefix per owner and level, one
/// owner per prefix, each router's `status.prefix` its ledger row, and no active row whose
/// owner is gone.
async fn check_ipam(storage: &Storage, objects: &BTreeMap<&'static str, Vec<Value>>) -> usize {
    let active = storage
        .ipam()
        .list_all_active()
        .await
        .expect("the IPAM ledger");
    let mut prefixes = BTreeMap::new();
    let mut owners = BTreeMap::new();
    for row in &active {
        if let Some(other) = prefixes.insert((&row.pool, &row.prefix), row) {
            panic!("prefix {} held twice: {other:?} and {row:?}", row.prefix);
        }
        let owner = (&row.pool, &row.owner_kind, &row.owner_name, row.level);
        if let Some(other) = owners.insert(owner, row) {
            panic!("owner holds two prefixes at one level: {other:?} and {row:?}");
        }
    }
    let names = |kind: &str| -> BTreeSet<String> { objects[kind].iter().map(name_of).collect() };
    let (routers, links) = (names("Router"), names("ExtranetLink"));
    let networks: BTreeMap<String, BTreeSet<String>> = objects["DedicatedNetwork"]
        .iter()
        .map(|n| (name_of(n), sites_of(n)))
        .collect();
    for row in &active {
        let (object, part) = row
            .owner_name
            .split_once('/')
            .unwrap_or((row.owner_name.as_str(), ""));
        let exists = match row.owner_kind.as_str() {
            "Router" | "RouterLan" => routers.contains(object),
            "LinkMember" => links.contains(object) && ["0", "1"].contains(&part),
            "NetworkSite" => networks.get(object).is_some_and(|s| s.contains(part)),
            other => panic!("an owner kind the test does not know: {other} ({row:?})"),
        };
        assert!(exists, "a leaked allocation, its owner is gone: {row:?}");
    }
    for router in &objects["Router"] {
        let name = name_of(router);
        let held: Vec<_> = active
            .iter()
            .filter(|row| row.owner_kind == "Router" && row.owner_name == name)
            .collect();
        assert_eq!(held.len(), 1, "router {name}'s site prefixes: {held:?}");
        assert_eq!(
            router["status"]["prefix"].as_str(),
            Some(held[0].prefix.as_str()),
            "router {name}'s status.prefix is its ledger row"
        );
    }
    active.len()
}

/// Checks the segment ledger against the dedicated networks: a VLAN and a VRF table unique on
/// each router, exactly one row per site of each extranet migration (as its status shows), no
/// row of another network.
async fn check_segments(storage: &Storage, objects: &BTreeMap<&'static str, Vec<Value>>) -> usize {
    let segments = storage.segments();
    let in_ledger = segments.networks().await.expect("the segment ledger");
    let mut vlans = BTreeSet::new();
    let mut tables = BTreeSet::new();
    let mut rows = 0;
    for network in &objects["DedicatedNetwork"] {
        let name = name_of(network);
        let held = segments.of_network(&name).await.expect("a network's rows");
        if network["status"]["disposition"] != "MigrateToExtranet" {
            assert!(
                held.is_empty(),
                "{name} is not migrating but holds {held:?}"
            );
            continue;
        }
        let routers: Vec<&str> = held.iter().map(|row| row.router.as_str()).collect();
        let unique: BTreeSet<String> = routers.iter().map(|r| (*r).to_owned()).collect();
        assert_eq!(routers.len(), unique.len(), "{name}: one row per site");
        assert_eq!(
            unique,
            sites_of(network),
            "{name}: a row at each site, no other"
        );
        for row in &held {
            assert!(
                vlans.insert((row.router.clone(), row.vlan_id)),
                "VLAN {} twice on {}",
                row.vlan_id,
                row.router
            );
            assert!(
                tables.insert((row.router.clone(), row.vrf_table)),
                "VRF table {} twice on {}",
                row.vrf_table,
                row.router
            );
            let shown = network["status"]["sites"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|site| site["router"] == row.router.as_str())
                .unwrap_or_else(|| panic!("{name}'s status shows {}", row.router));
            assert_eq!(shown["vlanId"], row.vlan_id, "{name} at {}", row.router);
            assert_eq!(shown["vrfTable"], row.vrf_table, "{name} at {}", row.router);
        }
        rows += held.len();
    }
    let known: BTreeSet<String> = objects["DedicatedNetwork"].iter().map(name_of).collect();
    for network in in_ledger {
        assert!(
            known.contains(&network),
            "segments of a gone network {network}"
        );
    }
    rows
}

/// Every Job of a migration step, grouped by system and step: exactly one each, and one for
/// the first step of every probe system.
async fn check_jobs(client: &Client) -> usize {
    let jobs: Api<Job> = Api::all(client.clone());
    let list = jobs
        .list(&ListParams::default().labels(govcloud_controller::migration::steps::SYSTEM_LABEL))
        .await
        .expect("the Jobs");
    let mut by_step: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for job in &list.items {
        let labels = job.metadata.labels.clone().unwrap_or_default();
        let key = (
            job.metadata.namespace.clone().unwrap_or_default(),
            labels[govcloud_controller::migration::steps::SYSTEM_LABEL].clone(),
            labels[govcloud_controller::migration::steps::STEP_LABEL].clone(),
        );
        by_step
            .entry(key)
            .or_default()
            .push(job.metadata.name.clone().unwrap_or_default());
    }
    for (step, jobs) in &by_step {
        assert_eq!(jobs.len(), 1, "one Job for {step:?}: {jobs:?}");
    }
    for index in 0..PROBE_SYSTEMS {
        let key = (
            PROBE.to_owned(),
            format!("probe-{index}"),
            PROBE_JOB_STEP.to_owned(),
        );
        assert_eq!(
            by_step.get(&key),
            Some(&vec![format!("probe-{index}-{PROBE_JOB_STEP}-run")]),
            "the Job of probe-{index}"
        );
    }
    list.items.len()
}

/// The audit log: the chain verifies, and no action on an object is recorded twice (each
/// record's action, object and the object's uid when it names one).
async fn check_audit(storage: &Storage) -> Vec<AuditRecord> {
    let status = storage
        .audit()
        .verify()
        .await
        .expect("verify the audit chain");
    assert!(
        matches!(status, ChainStatus::Intact { .. }),
        "the audit chain: {status:?}"
    );
    let records = storage.audit().list(..).await.expect("the audit log");
    let mut seen = BTreeMap::new();
    for record in &records {
        let uid = serde_json::from_str::<Value>(&record.detail)
            .ok()
            .and_then(|detail| detail["uid"].as_str().map(str::to_owned));
        let key = (
            record.action.clone(),
            record.object_kind.clone(),
            record.object_name.clone(),
            uid,
        );
        if let Some(first) = seen.insert(key, record.seq) {
            panic!(
                "audit records {first} and {} record the same action: {record:?}",
                record.seq
            );
        }
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_convergence_leaves_no_duplicate_or_leaked_side_effect() {
    let _one = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("state");
    // Two generated small cities, and the probe: systems whose first step is a Job.
    let seed = dir.path().join("seed");
    let province = generate(&ProvinceSpec {
        seed: 2025,
        cities: 2,
        city: CitySize::small(),
    });
    province.write_to(&seed).expect("write the province");
    std::fs::write(seed.join("zz-faults-probe.yaml"), probe_manifests()).expect("the probe");
    // The operations token of local mode goes to the first city.
    let operations = ["--operations-tenant", "c01"];

    let mut first = local(
        &data_dir,
        Some(&seed),
        &operations,
        &dir.path().join("local-1.log"),
    );
    let kubeconfig = data_dir.join("kubeconfig");
    let kube = client(&kubeconfig).await;

    // SIGKILL once some routers have their prefix while other objects still wait.
    let (with_prefix, waiting) = eventually("a router with a prefix, objects waiting", 120, || {
        let kube = kube.clone();
        async move {
            let objects = reconciled_objects(&kube).await;
            let with_prefix = objects["Router"]
                .iter()
                .filter(|r| !r["status"]["prefix"].is_null())
                .count();
            let waiting = not_converged(&objects).len();
            (with_prefix > 0 && waiting > 0).then_some((with_prefix, waiting))
        }
    })
    .await;
    first.kill_hard();
    eprintln!(
        "killed after {:?} with {with_prefix} routers addressed and {waiting} objects waiting",
        started.elapsed()
    );

    let mut second = local(
        &data_dir,
        None,
        &operations,
        &dir.path().join("local-2.log"),
    );
    let kube = client(&kubeconfig).await;
    // What still waits, reported every few seconds (the cause when the wait times out).
    let reported = Arc::new(std::sync::Mutex::new(Instant::now()));
    let objects = eventually("the cities converged after the restart", 150, || {
        let (kube, reported) = (kube.clone(), reported.clone());
        async move {
            let objects = reconciled_objects(&kube).await;
            let waiting = not_converged(&objects);
            if waiting.is_empty() {
                return Some(objects);
            }
            let mut last = reported.lock().expect("the report time");
            if last.elapsed() > Duration::from_secs(5) {
                eprintln!("{} not converged, e.g. {}", waiting.len(), waiting[0]);
                *last = Instant::now();
            }
            None
        }
    })
    .await;
    eprintln!("converged again after {:?}", started.elapsed());
    let jobs = check_jobs(&kube).await;
    assert!(second.terminate(Duration::from_secs(30)), "a clean stop");

    let storage = Storage::open(&format!(
        "sqlite://{}",
        data_dir.join("govcloud.db").display()
    ))
    .await
    .expect("the controller's database");
    let allocations = check_ipam(&storage, &objects).await;
    let segments = check_segments(&storage, &objects).await;
    let records = check_audit(&storage).await;
    for request in &objects["QuotaRequest"] {
        let phase = request["status"]["phase"].as_str().unwrap_or_default();
        if ["Applied", "Denied"].contains(&phase) {
            let name = name_of(request);
            let decided = records
                .iter()
                .filter(|r| r.object_kind == "QuotaRequest" && r.object_name == name)
                .count();
            assert_eq!(decided, 1, "{phase} quota request {name}: one audit record");
        }
    }
    storage.close().await;
    eprintln!(
        "checked {allocations} allocations, {segments} segments, {jobs} Jobs, {} audit records \
         in {:?}",
        records.len(),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// 2. A crash of a separate API server
// ---------------------------------------------------------------------------------------------

fn tenant(name: &str, parent: Option<&str>) -> Value {
    let mut spec = json!({
        "displayName": format!("故障 {name}"),
        "level": if parent.is_some() { "Department" } else { "City" },
        "owners": [{ "kind": "Group", "name": "faults:ops" }],
        "contact": { "name": "ops", "email": "ops@faults.example.org" },
        "quota": if parent.is_some() {
            json!({ "cpu": "1", "memory": "1Gi", "storage": "1Gi" })
        } else {
            json!({ "cpu": "1000", "memory": "1000Gi", "storage": "1000Gi" })
        },
    });
    if let Some(parent) = parent {
        spec["parent"] = json!(parent);
    }
    json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "Tenant",
        "metadata": { "name": name }, "spec": spec,
    })
}

async fn declare(client: &Client, tenant: &Value) {
    let name = tenant["metadata"]["name"].as_str().expect("a name");
    Api::<Tenant>::all(client.clone())
        .patch(
            name,
            &PatchParams::apply("faults-test").force(),
            &Patch::Apply(tenant),
        )
        .await
        .unwrap_or_else(|error| panic!("declare tenant {name}: {error}"));
}

/// Whether `name` has its namespace and a status of its current generation.
async fn tenant_reconciled(client: &Client, name: &str) -> bool {
    let tenant = Api::<Tenant>::all(client.clone()).get_opt(name).await;
    let namespace = Api::<Namespace>::all(client.clone()).get_opt(name).await;
    matches!(
        (tenant, namespace),
        (Ok(Some(tenant)), Ok(Some(_)))
            if tenant.status.as_ref().and_then(|s| s.observed_generation)
                == tenant.metadata.generation
    )
}

/// The controller's namespace, a kube client with what the chart installs.
async fn cluster(kubeconfig: &Path) -> Client {
    let kube = install(kubeconfig).await;
    Api::<Namespace>::all(kube.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": NAMESPACE } }))
                .expect("a namespace"),
        )
        .await
        .expect("the controller's namespace");
    kube
}

/// One replica of `run` against `kubeconfig` on `database`, its state in `dir/run`.
fn run_replica(dir: &Path, kubeconfig: &Path, database: &str) -> Process {
    let mut command = binary();
    command
        .arg("run")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--namespace", NAMESPACE, "--identity", "faults"])
        .args(["--database-url", database])
        .arg("--state-dir")
        .arg(dir.join("run"))
        .args(["--api-address", "127.0.0.1:0"])
        .args(["--agent-api-address", "127.0.0.1:0"])
        .args(["--metrics-address", "127.0.0.1:0"]);
    Process::start(command, &dir.join("run.log"))
}

fn config_map(name: &str, index: usize) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": { "name": name, "namespace": NAMESPACE },
        "data": { "index": index.to_string(), "payload": "x".repeat(2048) },
    }))
    .expect("a ConfigMap")
}

/// Creates ConfigMaps as fast as the server takes them until `stop`; returns the name and
/// index of each create acknowledged.
async fn create_config_maps(kube: Client, stop: Arc<AtomicBool>) -> Vec<(String, usize)> {
    let maps: Api<ConfigMap> = Api::namespaced(kube, NAMESPACE);
    let mut acknowledged = Vec::new();
    for index in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let name = format!("load-{index:05}");
        if maps
            .create(&PostParams::default(), &config_map(&name, index))
            .await
            .is_ok()
        {
            acknowledged.push((name, index));
        }
    }
    acknowledged
}

/// Every acknowledged create is there, whole.
async fn check_survivors(kube: &Client, acknowledged: &[(String, usize)]) {
    let maps: Api<ConfigMap> = Api::namespaced(kube.clone(), NAMESPACE);
    for (name, index) in acknowledged {
        let map = maps
            .get_opt(name)
            .await
            .expect("read a ConfigMap")
            .unwrap_or_else(|| panic!("the acknowledged create of {name} was lost"));
        let data = map.data.unwrap_or_default();
        assert_eq!(data.get("index"), Some(&index.to_string()), "{name}");
        assert_eq!(data.get("payload").map(String::len), Some(2048), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_api_server_restarts_intact_and_the_controller_resumes() {
    let _one = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("cluster");
    let (mut apiserver, kubeconfig) =
        apiserver_at(&state, "127.0.0.1:0", &dir.path().join("apiserver-1.log"));
    let address = apiserver
        .ready
        .split_whitespace()
        .nth(3)
        .and_then(|url| url.strip_prefix("https://"))
        .expect("the API server's address")
        .to_owned();
    let kube = cluster(&kubeconfig).await;
    let database = format!("sqlite://{}", dir.path().join("controller.db").display());
    let mut replica = run_replica(dir.path(), &kubeconfig, &database);

    // Write load: tenants for the replica to reconcile (each a namespace and four objects in
    // it), and ConfigMaps created as fast as the server takes them.
    declare(&kube, &tenant("fault-city", None)).await;
    for index in 0..30 {
        declare(
            &kube,
            &tenant(&format!("fault-dept-{index:02}"), Some("fault-city")),
        )
        .await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(create_config_maps(kube.clone(), stop.clone()));
    eventually("the replica reconciling under load", 60, || {
        let kube = kube.clone();
        async move {
            tenant_reconciled(&kube, "fault-dept-00")
                .await
                .then_some(())
        }
    })
    .await;
    apiserver.kill_hard();
    stop.store(true, Ordering::Relaxed);
    let acknowledged = writer.await.expect("the writer");
    eprintln!(
        "killed the API server after {:?}, {} creates acknowledged",
        started.elapsed(),
        acknowledged.len()
    );

    assert_eq!(
        integrity_check(&state.join("state.db")).await,
        "ok",
        "the API server's state after SIGKILL"
    );
    let (_apiserver, kubeconfig) =
        apiserver_at(&state, &address, &dir.path().join("apiserver-2.log"));
    let kube = client(&kubeconfig).await;
    check_survivors(&kube, &acknowledged).await;
    assert!(
        replica.child.try_wait().expect("wait").is_none(),
        "the replica outlived its API server"
    );
    declare(&kube, &tenant("fault-after-restart", Some("fault-city"))).await;
    eventually(
        "the replica reconciles what is new and what was left",
        90,
        || {
            let kube = kube.clone();
            async move {
                let tenants = Api::<Tenant>::all(kube.clone())
                    .list(&ListParams::default())
                    .await
                    .ok()?;
                for tenant in &tenants.items {
                    let name = tenant.metadata.name.as_deref()?;
                    if !tenant_reconciled(&kube, name).await {
                        return None;
                    }
                }
                tenant_reconciled(&kube, "fault-after-restart")
                    .await
                    .then_some(())
            }
        },
    )
    .await;
    assert!(replica.terminate(Duration::from_secs(30)), "a clean stop");
    eprintln!("the replica resumed; done after {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// 3. PostgreSQL restarted under load
// ---------------------------------------------------------------------------------------------

/// The outcome of one token request: the token's id when acknowledged with success, else
/// what was answered.
type Issued = Vec<Result<i64, String>>;

/// Issues one token through the controller's API: its id when acknowledged with success, else
/// what was answered.
async fn issue_token(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    description: &str,
) -> Result<i64, String> {
    let body = json!({ "tenant": "fault-city", "role": "viewer", "description": description });
    let answer = http
        .post(format!("{url}/v1/tokens"))
        .bearer_auth(secret)
        .json(&body)
        .send()
        .await;
    match answer {
        Ok(response) if response.status().as_u16() == 201 => {
            let body: Value = response.json().await.expect("an issued token");
            Ok(body["id"].as_i64().expect("the token's id"))
        }
        Ok(response) => Err(format!(
            "{}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        )),
        Err(error) => Err(error.to_string()),
    }
}

/// Issues tokens through the controller's API until `stop`, returning each request's outcome.
async fn issue_tokens(
    http: reqwest::Client,
    url: String,
    secret: String,
    worker: usize,
    stop: Arc<AtomicBool>,
) -> Issued {
    let mut outcomes = Vec::new();
    let mut index = 0;
    while !stop.load(Ordering::Relaxed) {
        let issued = issue_token(&http, &url, &secret, &format!("load {worker}-{index}")).await;
        index += 1;
        if issued.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        outcomes.push(issued);
    }
    outcomes
}

/// Every token acknowledged, and every token still active, has exactly one audit record of its
/// issue; the chain verifies and no action is recorded twice.
async fn check_tokens_audited(database: &str, acknowledged: &[i64]) {
    let storage = Storage::open(database).await.expect("the database");
    let records = check_audit(&storage).await;
    let issue_records = |id: i64| {
        records
            .iter()
            .filter(|r| r.action == "token.issue" && r.object_name == id.to_string())
            .count()
    };
    for id in acknowledged {
        assert_eq!(issue_records(*id), 1, "token {id}: one audit record");
    }
    let tokens = storage
        .tokens()
        .list_by_tenant("fault-city")
        .await
        .expect("the tokens");
    for token in tokens.iter().filter(|t| t.revoked_at.is_none()) {
        assert_eq!(
            issue_records(token.id),
            1,
            "active token {} ({}) has one audit record",
            token.id,
            token.description
        );
    }
    storage.close().await;
}

/// `apiserver` and a replica of `run` on `database` (with a root tenant `fault-city`); returns
/// them, a kube client, an operations token of `fault-city` and an HTTPS client of the
/// replica's API once it answers.
async fn operator_on(
    dir: &Path,
    database: &str,
) -> (Process, Process, Client, String, reqwest::Client) {
    let (apiserver, kubeconfig) = apiserver_at(
        &dir.join("cluster"),
        "127.0.0.1:0",
        &dir.join("apiserver.log"),
    );
    let kube = cluster(&kubeconfig).await;
    declare(&kube, &tenant("fault-city", None)).await;
    let issued = binary()
        .args(["issue-token", "--database-url", database])
        .args(["--tenant", "fault-city", "--name", "fault test"])
        .output()
        .expect("issue-token");
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let secret = String::from_utf8(issued.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    let replica = run_replica(dir, &kubeconfig, database);
    let url = replica.field("controller-api");
    let http = https_client(&dir.join("run/pki/ca.crt"));
    eventually("the controller's API answers", 60, || {
        let (http, url, secret) = (http.clone(), url.clone(), secret.clone());
        async move {
            let answer = http
                .get(format!("{url}/v1/whoami"))
                .bearer_auth(&secret)
                .send()
                .await
                .ok()?;
            (answer.status().as_u16() == 200).then_some(())
        }
    })
    .await;
    (apiserver, replica, kube, secret, http)
}

/// How many times PostgreSQL is stopped and started under load.
const RESTARTS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_loses_no_audit_record() {
    const TEST: &str = "postgres_restarted_under_load_loses_no_audit_record";
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(postgres) = PrivatePostgres::start_or_skip(TEST) else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let database = postgres.url();
    let (_apiserver, mut replica, kube, secret, http) = operator_on(dir.path(), &database).await;
    let url = replica.field("controller-api");
    let metrics = replica.field("metrics");

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|worker| {
            tokio::spawn(issue_tokens(
                http.clone(),
                url.clone(),
                secret.clone(),
                worker,
                stop.clone(),
            ))
        })
        .collect();
    // Load, then restarts under it: each stop lands somewhere in the requests in flight.
    let mut down = Instant::now();
    for _ in 0..RESTARTS {
        tokio::time::sleep(Duration::from_secs(2)).await;
        postgres.stop_immediately();
        down = Instant::now();
        tokio::time::sleep(Duration::from_secs(1)).await;
        postgres.start();
        eprintln!("PostgreSQL down for {:?}", down.elapsed());
    }
    declare(&kube, &tenant("fault-after-restart", Some("fault-city"))).await;
    eventually("the replica ready again", 60, || {
        let metrics = metrics.replace("/metrics", "/readyz");
        async move { (http_get(&metrics)?.0 == 200).then_some(()) }
    })
    .await;
    eventually("a tenant declared after the restart reconciled", 60, || {
        let kube = kube.clone();
        async move {
            tenant_reconciled(&kube, "fault-after-restart")
                .await
                .then_some(())
        }
    })
    .await;
    let resumed = Instant::now();
    // The API writes again: a token issued now, while the workers go on.
    let after_restart = issue_token(&http, &url, &secret, "after the restarts").await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.expect("a worker"));
    }
    let after_restart = after_restart.expect("a token issued after the restarts");
    outcomes.push(Ok(after_restart));
    let acknowledged: Vec<i64> = outcomes.iter().flatten().copied().collect();
    let failures: BTreeSet<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    eprintln!("failures: {failures:#?}");
    eprintln!(
        "{} token requests, {} acknowledged; resumed {:?} after the restart",
        outcomes.len(),
        acknowledged.len(),
        resumed.duration_since(down)
    );
    assert!(replica.terminate(Duration::from_secs(30)), "a clean stop");

    assert!(!acknowledged.is_empty(), "tokens were issued");
    check_tokens_audited(&database, &acknowledged).await;
    eprintln!("done after {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// 4. A full filesystem
// ---------------------------------------------------------------------------------------------

/// What a create answered.
#[derive(Debug)]
enum Answer {
    Created,
    Refused { code: u16, message: String },
    Unanswered(String),
}

async fn create_map(maps: &Api<ConfigMap>, name: &str, index: usize) -> Answer {
    match maps
        .create(&PostParams::default(), &config_map(name, index))
        .await
    {
        Ok(_) => Answer::Created,
        Err(kube::Error::Api(status)) => Answer::Refused {
            code: status.code,
            message: status.message,
        },
        Err(error) => Answer::Unanswered(error.to_string()),
    }
}

/// Writes into `path` until the filesystem is full.
fn fill(path: &Path) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).expect("the filler");
    let chunk = vec![0_u8; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let _ = file.flush();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_clearly_and_recovers_without_restart() {
    const TEST: &str = "a_full_disk_refuses_writes_clearly_and_recovers_without_restart";
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(disk) = SmallFilesystem::mount_or_skip(TEST, 32) else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let state = disk.path().join("cluster");
    let (_apiserver, kubeconfig) =
        apiserver_at(&state, "127.0.0.1:0", &dir.path().join("apiserver.log"));
    let kube = client(&kubeconfig).await;
    Api::<Namespace>::all(kube.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": NAMESPACE } }))
                .expect("a namespace"),
        )
        .await
        .expect("the namespace");
    let maps: Api<ConfigMap> = Api::namespaced(kube.clone(), NAMESPACE);

    // Writes while the filesystem fills up, until they are refused.
    let mut answers: Vec<(String, Answer)> = Vec::new();
    for index in 0..20 {
        let name = format!("before-{index:03}");
        let answer = create_map(&maps, &name, index).await;
        assert!(matches!(answer, Answer::Created), "{name}: {answer:?}");
        answers.push((name, answer));
    }
    let filler = disk.path().join("filler");
    let filling = std::thread::spawn({
        let filler = filler.clone();
        move || fill(&filler)
    });
    let mut refused = None;
    for index in 20..5000 {
        let name = format!("during-{index:04}");
        let answer = create_map(&maps, &name, index).await;
        if let Answer::Unanswered(error) = &answer {
            eprintln!("{name}: no answer: {error}");
        }
        let done = filling.is_finished() && !matches!(answer, Answer::Created);
        if done {
            refused = Some(format!("{answer:?}"));
        }
        answers.push((name, answer));
        if done {
            break;
        }
    }
    filling.join().expect("the filler");
    let refused = refused.expect("a write refused once the disk was full");
    eprintln!(
        "disk full after {} writes ({} bytes free): {refused}",
        answers.len(),
        disk.available()
    );
    let (_, last) = answers.last().expect("answers");
    match last {
        Answer::Refused { code, message } => assert!(
            *code == 507 || message.contains("disk is full") || message.contains("disk full"),
            "a refusal naming the full disk, got {code}: {message}"
        ),
        other => panic!("the API server must answer when its disk is full, got {other:?}"),
    }
    // Reads still work, and the state is intact.
    maps.list(&ListParams::default())
        .await
        .expect("a list while the disk is full");
    assert_eq!(integrity_check(&state.join("state.db")).await, "ok");

    // Space again: writes succeed without a restart.
    std::fs::remove_file(&filler).expect("remove the filler");
    let name = "after-space".to_owned();
    eventually("a write accepted once space is freed", 30, || {
        let maps = maps.clone();
        async move {
            // A conflict: an earlier attempt got no answer but was stored.
            matches!(
                create_map(&maps, "after-space", 9999).await,
                Answer::Created | Answer::Refused { code: 409, .. }
            )
            .then_some(())
        }
    })
    .await;
    answers.push((name, Answer::Created));

    // Every object wholly there or not at all: what was acknowledged is there, whole; what
    // was refused is not; what got no answer is one or the other.
    for (index, (name, answer)) in answers.iter().enumerate() {
        let found = maps.get_opt(name).await.expect("read a ConfigMap");
        match (answer, found) {
            (Answer::Created | Answer::Unanswered(_), Some(map)) => {
                let data = map.data.unwrap_or_default();
                assert_eq!(data.get("payload").map(String::len), Some(2048), "{name}");
                if name != "after-space" {
                    assert_eq!(data.get("index"), Some(&index.to_string()), "{name}");
                }
            }
            (Answer::Refused { .. } | Answer::Unanswered(_), None) => {}
            (answer, found) => panic!("{name}: answered {answer:?}, stored {found:?}"),
        }
    }
    assert_eq!(integrity_check(&state.join("state.db")).await, "ok");
    eprintln!("done after {:?}", started.elapsed());
}
