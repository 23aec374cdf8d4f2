//! High availability as a city runs it: `govcloud-controller apiserver` stands in for the
//! cluster (with kube-apiserver's audit log), PostgreSQL holds the shared state, and replicas of
//! `govcloud-controller run` elect a leader on a `Lease`.
//!
//! - Killing the leader with SIGKILL hands the lease to the other replica within the lease
//!   duration plus one retry, and the Ankang seed keeps converging.
//! - A leader frozen with SIGSTOP past its lease loses it to another replica; once resumed it
//!   writes nothing: the audit log holds no write with its user agent after it resumed.
//! - Across the whole run, every write of a replica falls inside one of its terms as the lease's
//!   own writes in the audit log delimit them, and a new term starts only after the previous
//!   holder's last renewal is a lease duration old.

#[allow(dead_code)] // not every suite uses every part of the harness
mod controllers_support;
mod process_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use controllers_support::eventually;
use govcloud_crds::Tenant;
use govcloud_tests::database::TestDatabase;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use process_support::{Process, apiserver, binary, http_get, install, workspace_root};
use serde_json::{Value, json};

/// The controller's namespace in this test.
const NAMESPACE: &str = "govcloud-system";
/// The lease's name (the default).
const LEASE: &str = "govcloud-controller";
/// client-go's timing, the defaults of `run`.
const LEASE_DURATION: Duration = Duration::from_secs(15);
const RETRY_PERIOD: Duration = Duration::from_secs(2);
/// Slack for the test's own polling and process scheduling on a loaded machine.
const SLACK: Duration = Duration::from_secs(1);

/// One replica of `run`.
struct Replica {
    name: String,
    process: Process,
}

impl Replica {
    fn start(name: &str, dir: &Path, kubeconfig: &Path, database: &str) -> Self {
        let mut command = binary();
        command
            .arg("run")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--namespace", NAMESPACE, "--identity", name])
            .args(["--database-url", database])
            .arg("--state-dir")
            .arg(dir.join(name))
            .arg("--agent-ca-dir")
            .arg(dir.join("agent-ca"))
            .args(["--api-address", "127.0.0.1:0"])
            .args(["--agent-api-address", "127.0.0.1:0"])
            .args(["--metrics-address", "127.0.0.1:0"])
            .env("GOVCLOUD_LOG", "info,govcloud_controller=debug");
        let process = Process::start(command, &dir.join(format!("{name}.log")));
        assert!(
            process
                .ready
                .starts_with(&format!("govcloud-controller running as {name}: ")),
            "{}",
            process.ready
        );
        Self {
            name: name.to_owned(),
            process,
        }
    }

    fn metrics_url(&self) -> String {
        self.process.field("metrics")
    }

    /// `govcloud_leader` as this replica reports it.
    fn leader_gauge(&self) -> Option<u8> {
        let (_, body) = http_get(&self.metrics_url())?;
        body.lines()
            .find_map(|line| line.strip_prefix("govcloud_leader "))
            .and_then(|value| value.trim().parse().ok())
    }

    /// `/readyz`'s status code.
    fn readyz(&self) -> Option<u16> {
        let url = self.metrics_url().replace("/metrics", "/readyz");
        http_get(&url).map(|(status, _)| status)
    }
}

async fn holder(client: &Client) -> Option<String> {
    Api::<Lease>::namespaced(client.clone(), NAMESPACE)
        .get_opt(LEASE)
        .await
        .ok()
        .flatten()?
        .spec?
        .holder_identity
        .filter(|h| !h.is_empty())
}

/// Declares a small department of the Ankang city.
async fn declare_tenant(client: &Client, name: &str, cpu: &str) {
    let tenant: Tenant = serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "Tenant",
        "metadata": { "name": name },
        "spec": {
            "displayName": format!("HA probe {name}"),
            "level": "Department",
            "parent": "ankang",
            "owners": [{ "kind": "Group", "name": "ankang:cloud-ops" }],
            "contact": { "name": "ops", "email": "ops@ankang.example.org" },
            "quota": { "cpu": cpu, "memory": "1Gi", "storage": "1Gi" },
        },
    }))
    .expect("a tenant");
    Api::<Tenant>::all(client.clone())
        .patch(
            name,
            &PatchParams::apply("ha-test").force(),
            &Patch::Apply(&tenant),
        )
        .await
        .expect("declare the tenant");
}

/// Waits until the tenant controller made `name`'s namespace and reported on its generation.
async fn reconciled(client: &Client, name: &str, limit: Duration) {
    let tenants = Api::<Tenant>::all(client.clone());
    let namespaces = Api::<Namespace>::all(client.clone());
    eventually(
        &format!("tenant {name} reconciled"),
        limit.as_secs(),
        || {
            let (tenants, namespaces) = (tenants.clone(), namespaces.clone());
            async move {
                let tenant = tenants.get(name).await.ok()?;
                let status = tenant.status.as_ref()?;
                (status.observed_generation == tenant.metadata.generation).then_some(())?;
                namespaces.get_opt(name).await.ok()??;
                Some(())
            }
        },
    )
    .await;
}

/// Every tenant of the cluster reconciled at its current generation.
async fn all_tenants_reconciled(client: &Client, limit: Duration) {
    let tenants = Api::<Tenant>::all(client.clone());
    eventually("every tenant reconciled", limit.as_secs(), || {
        let tenants = tenants.clone();
        async move {
            let list = tenants.list(&kube::api::ListParams::default()).await.ok()?;
            list.items
                .iter()
                .all(|t| {
                    t.status
                        .as_ref()
                        .is_some_and(|s| s.observed_generation == t.metadata.generation)
                })
                .then_some(list.items.len())
        }
    })
    .await;
}

/// One line of the audit log that matters here.
#[derive(Debug)]
struct Write {
    at: DateTime<Utc>,
    replica: String,
    verb: String,
    resource: String,
    name: String,
    code: u16,
}

const WRITE_VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

/// The writes replicas of the controller sent, in the order the API server received them.
fn controller_writes(audit_log: &Path) -> Vec<Write> {
    let text = std::fs::read_to_string(audit_log).expect("the audit log");
    let mut writes: Vec<Write> = text
        .lines()
        .filter_map(|line| {
            let event: Value = serde_json::from_str(line).expect("an audit event");
            let verb = event["verb"].as_str()?.to_owned();
            if !WRITE_VERBS.contains(&verb.as_str()) {
                return None;
            }
            let agent = event["userAgent"].as_str()?;
            let replica = agent
                .strip_prefix("govcloud-controller/")?
                .split_once(" (")?
                .1
                .strip_suffix(')')?
                .to_owned();
            Some(Write {
                at: event["requestReceivedTimestamp"]
                    .as_str()?
                    .parse()
                    .expect("a timestamp"),
                replica,
                verb,
                resource: event["objectRef"]["resource"].as_str()?.to_owned(),
                name: event["objectRef"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                code: event["responseStatus"]["code"]
                    .as_u64()
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or_default(),
            })
        })
        .collect();
    writes.sort_by_key(|w| w.at);
    writes
}

/// A write to the leader lease (its creation names no object in the path).
fn is_lease_write(write: &Write) -> bool {
    write.resource == "leases" && (write.name == LEASE || write.verb == "create")
}

/// The cluster: the embedded API server alone, with the CRDs, the tenant-admin role, the
/// controller's namespace and the Ankang seed, as an operator would install them; and one agent
/// CA for every replica in `DIR/agent-ca`, as the chart's Secret provides it.
async fn install_cluster(dir: &Path, audit_log: &Path) -> (Process, PathBuf, Client) {
    let (apiserver, kubeconfig) = apiserver(dir, Some(audit_log));
    let client = install(&kubeconfig).await;
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": NAMESPACE } }))
                .expect("a namespace"),
        )
        .await
        .expect("the controller's namespace");
    govcloud_controller::local::apply_seed(
        &client,
        &workspace_root().join("examples/ankang"),
        "ha-test",
    )
    .await
    .expect("apply the Ankang seed");

    let ca_dir = dir.join("agent-ca");
    let generated = dir.join("generated-ca");
    govcloud_controller::agents::AgentCa::load_or_create(&generated).expect("an agent CA");
    std::fs::create_dir(&ca_dir).expect("agent CA dir");
    std::fs::copy(generated.join("agents-ca.crt"), ca_dir.join("tls.crt")).expect("copy");
    std::fs::copy(generated.join("agents-ca.key"), ca_dir.join("tls.key")).expect("copy");

    (apiserver, kubeconfig, client)
}

/// Checks that every write lies in its writer's term, and that a term begins only after the
/// previous holder's last lease write is a lease duration old; returns how many times the lease
/// changed hands.
fn count_terms(writes: &[Write]) -> usize {
    let mut holder: Option<(&str, DateTime<Utc>)> = None;
    let mut terms = 0;
    for write in writes {
        if is_lease_write(write) {
            if !(200..300).contains(&write.code) {
                continue;
            }
            if let Some((previous, renewed)) = holder
                && previous != write.replica
            {
                let gap = (write.at - renewed).to_std().unwrap_or_default();
                assert!(
                    gap + Duration::from_millis(100) >= LEASE_DURATION,
                    "{} took the lease {gap:?} after {previous}'s last renewal",
                    write.replica
                );
                terms += 1;
            }
            holder = Some((write.replica.as_str(), write.at));
            continue;
        }
        let current = holder.map(|(h, _)| h);
        assert_eq!(
            current,
            Some(write.replica.as_str()),
            "{} sent {} {}/{} at {} outside its term",
            write.replica,
            write.verb,
            write.resource,
            write.name,
            write.at
        );
    }
    terms
}

/// Waits for a leader and for the seed to converge; checks that the gauges agree with the lease
/// and that both replicas are ready; returns the leader's name.
async fn leader_elected(client: &Client, replicas: &[Replica]) -> String {
    let first = eventually("a leader", 30, || {
        let client = client.clone();
        async move { holder(&client).await }
    })
    .await;
    all_tenants_reconciled(client, Duration::from_secs(120)).await;
    let (leading, following): (Vec<&Replica>, Vec<&Replica>) =
        replicas.iter().partition(|r| r.name == first);
    let (leading, following) = (leading[0], following[0]);
    // The gauges and the readiness of both replicas, all of them before asserting.
    eventually(
        "the gauges agree with the lease, both replicas ready",
        30,
        || async {
            (leading.leader_gauge() == Some(1)
                && following.leader_gauge() == Some(0)
                && leading.readyz() == Some(200)
                && following.readyz() == Some(200))
            .then_some(())
        },
    )
    .await;
    for replica in [leading, following] {
        assert_eq!(replica.readyz(), Some(200), "{} is ready", replica.name);
    }

    first
}

/// SIGKILLs the leader `first`: the other replica takes over within the lease duration plus one
/// retry, and reconciles a new tenant; returns the survivor's name.
async fn crash_the_leader(client: &Client, replicas: &mut Vec<Replica>, first: &str) -> String {
    let survivor = replicas
        .iter()
        .find(|r| r.name != first)
        .map(|r| r.name.clone())
        .expect("a follower");
    let killed = replicas
        .iter()
        .position(|r| r.name == first)
        .expect("the leader");
    let mut killed = replicas.remove(killed);
    killed.process.child.kill().expect("SIGKILL");
    let crashed_at = Instant::now();
    let _ = killed.process.child.wait();
    let took = eventually(
        "the survivor takes the lease",
        (LEASE_DURATION * 2).as_secs(),
        || {
            let (client, survivor) = (client.clone(), survivor.clone());
            async move {
                (holder(&client).await.as_deref() == Some(survivor.as_str()))
                    .then(|| crashed_at.elapsed())
            }
        },
    )
    .await;
    eprintln!("takeover after SIGKILL: {took:?}");
    assert!(
        took <= LEASE_DURATION + RETRY_PERIOD + SLACK,
        "the survivor took {took:?} to take the lease"
    );
    declare_tenant(client, "ha-after-crash", "1").await;
    reconciled(client, "ha-after-crash", Duration::from_secs(30)).await;
    survivor
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_moves_on_crash_and_a_paused_leader_never_writes_again() {
    const TEST: &str = "the_lease_moves_on_crash_and_a_paused_leader_never_writes_again";
    // A fresh PostgreSQL database, dropped when the test ends (after the replicas, declared
    // later, are killed).
    let Some(test_database) = TestDatabase::postgres(TEST).await else {
        return;
    };
    let database = test_database.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let audit_log = dir.join("audit.log");

    let (_apiserver, kubeconfig, client) = install_cluster(dir, &audit_log).await;

    let mut replicas = vec![
        Replica::start("replica-a", dir, &kubeconfig, database),
        Replica::start("replica-b", dir, &kubeconfig, database),
    ];
    let first = leader_elected(&client, &replicas).await;

    let survivor = crash_the_leader(&client, &mut replicas, &first).await;

    // SIGSTOP the leader past its lease: a third replica takes over; the paused one, resumed,
    // must not write.
    replicas.push(Replica::start("replica-c", dir, &kubeconfig, database));
    let paused = &replicas[0];
    assert_eq!(paused.name, survivor);
    paused.process.signal("-STOP");
    let paused_at = Instant::now();
    let took = eventually(
        "replica-c takes the lease",
        (LEASE_DURATION * 3).as_secs(),
        || {
            let client = client.clone();
            async move {
                (holder(&client).await.as_deref() == Some("replica-c")).then(|| paused_at.elapsed())
            }
        },
    )
    .await;
    eprintln!("takeover from a paused leader: {took:?}");
    declare_tenant(&client, "ha-while-paused", "1").await;
    reconciled(&client, "ha-while-paused", Duration::from_secs(30)).await;
    let resumed_at = Utc::now();
    paused.process.signal("-CONT");
    // Work for both: a change to reconcile right as the paused one wakes, and another later.
    declare_tenant(&client, "ha-while-paused", "2").await;
    eventually("the resumed replica knows it lost", 20, || async {
        (paused.leader_gauge() == Some(0)).then_some(())
    })
    .await;
    declare_tenant(&client, "ha-after-resume", "1").await;
    reconciled(&client, "ha-after-resume", Duration::from_secs(30)).await;
    reconciled(&client, "ha-while-paused", Duration::from_secs(30)).await;
    let gauge = eventually("replica-c's leader gauge", 30, || async {
        let gauge = replicas[1].leader_gauge();
        (gauge == Some(1)).then_some(gauge)
    })
    .await;
    assert_eq!(gauge, Some(1), "replica-c leads");

    // What the API server received.
    let writes = controller_writes(&audit_log);
    let late: Vec<&Write> = writes
        .iter()
        .filter(|w| w.replica == survivor && w.at > resumed_at)
        .collect();
    assert!(
        late.is_empty(),
        "{survivor} wrote after it resumed: {late:#?}"
    );
    assert!(
        writes
            .iter()
            .any(|w| w.replica == "replica-c" && !is_lease_write(w)),
        "replica-c reconciled"
    );
    let terms = count_terms(&writes);
    assert_eq!(
        terms, 2,
        "two changes of hands: after the crash and the pause"
    );
    let lease = Api::<Lease>::namespaced(client.clone(), NAMESPACE)
        .get(LEASE)
        .await
        .expect("the lease");
    assert_eq!(
        lease.spec.and_then(|s| s.lease_transitions),
        Some(2),
        "the lease counts its transitions"
    );
}
