//! kube-rs against the embedded API server: a small controller converges, watches resume from
//! a stored resource version after the server restarts, and bad requests get Kubernetes
//! `Status` answers with nothing stored.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use govcloud_crds::Tenant;
use govcloud_tests::local::{TestServer, start_in};
use govcloud_tests::workspace_root;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use serde_json::json;

async fn client(server: &govcloud_apiserver::server::RunningServer) -> Client {
    govcloud_controller::local::client_for(server)
        .await
        .expect("client")
}

async fn seeded(server: &govcloud_apiserver::server::RunningServer) -> Client {
    let client = client(server).await;
    govcloud_controller::local::install(&client)
        .await
        .expect("install CRDs");
    let seed = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        workspace_root().join("examples/ankang/10-tenants.yaml"),
        seed.path().join("10-tenants.yaml"),
    )
    .expect("copy");
    govcloud_controller::local::apply_seed(&client, seed.path(), "test-seed")
        .await
        .expect("seed");
    client
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct ReconcileError(#[from] kube::Error);

async fn reconcile(tenant: Arc<Tenant>, client: Arc<Client>) -> Result<Action, ReconcileError> {
    let api: Api<Tenant> = Api::all((*client).clone());
    let generation = tenant.metadata.generation.unwrap_or_default();
    let status = json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "Tenant",
        "status": {
            "observedGeneration": generation,
            "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled", "message": "", "lastTransitionTime": "2025-03-01T08:00:00Z"}],
        },
    });
    api.patch_status(
        &tenant.name_any(),
        &PatchParams::apply("test-controller").force(),
        &Patch::Apply(&status),
    )
    .await?;
    Ok(Action::await_change())
}

fn error_policy(_: Arc<Tenant>, _: &ReconcileError, _: Arc<Client>) -> Action {
    Action::requeue(Duration::from_millis(200))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kube_rs_controller_converges() {
    let server = TestServer::start().await;
    let client = seeded(&server.server).await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    let controller = tokio::spawn(
        Controller::new(tenants.clone(), watcher::Config::default())
            .run(reconcile, error_policy, Arc::new(client.clone()))
            .for_each(|_| async {}),
    );
    let converged = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let list = tenants.list(&ListParams::default()).await.expect("list");
            let ready = list
                .items
                .iter()
                .filter(|t| {
                    t.status
                        .as_ref()
                        .is_some_and(|s| s.observed_generation.is_some())
                })
                .count();
            if ready == list.items.len() && ready == 30 {
                return list;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("every tenant reconciled within a minute");
    let finance = converged
        .items
        .iter()
        .find(|t| t.name_any() == "city-finance")
        .expect("city-finance");
    assert_eq!(
        finance.status.as_ref().and_then(|s| s.observed_generation),
        Some(1)
    );
    // The status write did not bump the generation, and the spec is untouched.
    assert_eq!(finance.metadata.generation, Some(1));
    assert_eq!(finance.spec.display_name, "安康市财政局");

    // A spec change reaches the controller through its watch.
    let patch = json!({"spec": {"displayName": "财政局"}});
    tenants
        .patch(
            "city-finance",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .expect("patch");
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let tenant = tenants.get("city-finance").await.expect("get");
            if tenant.status.as_ref().and_then(|s| s.observed_generation) == Some(2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the controller saw generation 2");
    controller.abort();
    server.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn watches_resume_from_a_stored_resource_version_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_in(dir.path(), "127.0.0.1:0").await;
    let address = server.address.to_string();
    let client = client(&server).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team"}})).expect("ns"),
        )
        .await
        .expect("namespace");
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    let first: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "first"}, "data": {"n": "1"}}))
            .expect("cm");
    let created = maps
        .create(&PostParams::default(), &first)
        .await
        .expect("create");
    let version = created.resource_version().expect("resource version");
    server.shutdown().await;

    let server = start_in(dir.path(), &address).await;
    let client = self::client(&server).await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "team");
    let second: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "second"}})).expect("cm");
    maps.create(&PostParams::default(), &second)
        .await
        .expect("create after restart");
    let mut stream = maps
        .watch(&WatchParams::default().timeout(5), &version)
        .await
        .expect("watch")
        .boxed();
    let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event")
        .expect("stream")
        .expect("ok");
    match event {
        WatchEvent::Added(map) => assert_eq!(map.name_any(), "second"),
        other => panic!("expected the creation after the restart, got {other:?}"),
    }
    // A version older than the log is refused with 410 Gone, which makes watchers re-list.
    let existing = maps.get("first").await.expect("state survived the restart");
    assert_eq!(
        existing.data.and_then(|d| d.get("n").cloned()),
        Some("1".to_owned())
    );
    server.shutdown().await;
}

/// The `Status` code and message a raw request is answered with.
async fn answer(
    client: &Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .body(body)
        .expect("request");
    match client.request::<serde_json::Value>(request).await {
        Err(kube::Error::Api(status)) => (status.code, status.message),
        other => panic!("expected a Status, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_kubernetes_statuses_and_store_nothing() {
    let server = TestServer::start().await;
    let client = seeded(&server.server).await;
    let tenants = "/apis/govcloud.io/v1alpha1/tenants";
    let (code, message) = answer(
        &client,
        "POST",
        tenants,
        "application/json",
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(code, 400, "{message}");
    let apply = format!("{tenants}/city-finance?fieldManager=test");
    let (code, message) = answer(
        &client,
        "PATCH",
        &apply,
        "application/apply-patch+yaml",
        b"spec: [unclosed".to_vec(),
    )
    .await;
    assert_eq!(code, 400, "{message}");
    let (code, _) = answer(
        &client,
        "GET",
        "/apis/govcloud.io/v1alpha1/widgets",
        "application/json",
        Vec::new(),
    )
    .await;
    assert_eq!(code, 404);
    let (code, message) = answer(
        &client,
        "POST",
        tenants,
        "application/json",
        br#"{"apiVersion":"govcloud.io/v1","kind":"Tenant","metadata":{"name":"x"}}"#.to_vec(),
    )
    .await;
    assert_eq!(code, 400, "{message}");
    let bad_name = json!({"apiVersion": "govcloud.io/v1alpha1", "kind": "Tenant", "metadata": {"name": "Not_A_Label"},
        "spec": {"displayName": "x", "level": "County", "parent": "ankang", "owners": [{"kind": "Group", "name": "g"}], "quota": {"cpu": 1, "memory": "1Gi", "storage": "1Gi"}}});
    let (code, message) = answer(
        &client,
        "POST",
        tenants,
        "application/json",
        bad_name.to_string().into_bytes(),
    )
    .await;
    assert_eq!(code, 422, "{message}");
    assert!(message.contains("metadata.name"), "{message}");
    let mut huge = bad_name.clone();
    huge["metadata"]["name"] = json!("huge");
    huge["metadata"]["annotations"] = json!({"x": "a".repeat(2 * 1024 * 1024)});
    let (code, _) = answer(
        &client,
        "POST",
        tenants,
        "application/json",
        huge.to_string().into_bytes(),
    )
    .await;
    assert_eq!(code, 413);
    let (code, message) = answer(
        &client,
        "GET",
        &format!("{tenants}?labelSelector=a%20in%20(b"),
        "application/json",
        Vec::new(),
    )
    .await;
    assert_eq!(code, 400, "{message}");
    let api: Api<Tenant> = Api::all(client);
    let names: Vec<String> = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(kube::ResourceExt::name_any)
        .collect();
    assert_eq!(names.len(), 30, "nothing was stored: {names:?}");
    server.server.shutdown().await;
}
