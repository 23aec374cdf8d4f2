//! At rest means idle: once local mode has converged on the Ankang example and nothing changes,
//! no controller reconciles an unchanged object more than about once a minute. Every wait is on a
//! watch, or on a timer set for the moment something is due (a router's report turning stale, a
//! maintenance window opening), never a poll of what a watch would tell.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use govcloud_crds::{
    AddressPool, DedicatedNetwork, ExtranetLink, MigrationPlan, QuotaRequest, Router,
    SystemMigration, Tenant,
};
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

use crate::local::{interrupt, start};
use crate::process_support::{client, http_get};
use govcloud_tests::local::kubectl_or_skip;

/// How long the reconcile counters are watched once everything has settled.
const WINDOW: Duration = Duration::from_secs(30);

/// The objects of one kind whose `status.observedGeneration` is not yet their generation.
async fn unconverged<K>(client: &Client) -> Vec<String>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let api: Api<K> = Api::all(client.clone());
    let list = api
        .list(&ListParams::default())
        .await
        .expect("list while waiting for convergence");
    list.items
        .iter()
        .filter_map(|object| {
            let value = serde_json::to_value(object).expect("an object serialises");
            let generation = value["metadata"]["generation"].as_i64();
            let observed = value["status"]["observedGeneration"].as_i64();
            (observed.is_none() || observed != generation).then(|| {
                format!(
                    "{} {}",
                    K::kind(&()),
                    value["metadata"]["name"].as_str().unwrap_or("?")
                )
            })
        })
        .collect()
}

/// Every object a controller owns, by kind, with its status not yet current.
async fn all_unconverged(client: &Client) -> Vec<String> {
    let mut left = unconverged::<Tenant>(client).await;
    left.extend(unconverged::<QuotaRequest>(client).await);
    left.extend(unconverged::<Router>(client).await);
    left.extend(unconverged::<ExtranetLink>(client).await);
    left.extend(unconverged::<AddressPool>(client).await);
    left.extend(unconverged::<DedicatedNetwork>(client).await);
    left.extend(unconverged::<SystemMigration>(client).await);
    left.extend(unconverged::<MigrationPlan>(client).await);
    left
}

/// `govcloud_reconciliations_total` by controller, from a scrape of `metrics`.
fn reconciliations(metrics: &str) -> BTreeMap<String, f64> {
    let (_, text) = http_get(metrics).expect("the metrics endpoint answers");
    text.lines()
        .filter_map(|line| line.strip_prefix("govcloud_reconciliations_total{controller=\""))
        .filter_map(|rest| {
            let (controller, value) = rest.split_once("\"} ")?;
            Some((controller.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// The most reconciles one controller may do in [`WINDOW`] at rest over `objects` objects:
/// once a minute each, plus a few for a status write's own watch event still in flight.
fn bound(objects: u32) -> f64 {
    f64::from(objects) * WINDOW.as_secs_f64() / 60.0 + 5.0
}

#[test]
fn at_rest_no_controller_reconciles_an_unchanged_object_more_than_once_a_minute() {
    if kubectl_or_skip("at_rest_no_controller_reconciles").is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut local = start(&dir.path().join("state"), true);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let client = runtime.block_on(client(&local.kubeconfig));

    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let left = runtime.block_on(all_unconverged(&client));
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not converged within 180 s: {left:?}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    // Statuses written just now come back as watch events: let them pass.
    std::thread::sleep(Duration::from_secs(10));

    let objects: BTreeMap<&str, u32> = [
        ("tenant", 30),
        ("quota-request", 3),
        ("router", 152),
        ("address-assignment", 152),
        ("extranet-link", 151),
        ("address-pool", 2),
        ("dedicated-network", 8),
        ("system-migration", 15),
        ("migration-plan", 1),
    ]
    .into_iter()
    .collect();
    let before = reconciliations(&local.metrics);
    std::thread::sleep(WINDOW);
    let after = reconciliations(&local.metrics);
    let busy: Vec<String> = after
        .iter()
        .filter_map(|(controller, count)| {
            let done = count - before.get(controller).copied().unwrap_or(0.0);
            let limit = bound(objects.get(controller.as_str()).copied().unwrap_or(0));
            (done > limit)
                .then(|| format!("{controller}: {done} reconciles in {WINDOW:?} (at most {limit})"))
        })
        .collect();
    eprintln!(
        "reconciles at rest in {WINDOW:?}: {:?}",
        after
            .iter()
            .map(|(c, n)| (c.clone(), n - before.get(c).copied().unwrap_or(0.0)))
            .collect::<BTreeMap<_, _>>()
    );
    assert!(interrupt(&mut local.child).success());
    assert!(busy.is_empty(), "busy at rest: {busy:?}");
}
