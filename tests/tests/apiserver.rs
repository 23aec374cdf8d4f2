//! The semantics of the embedded API server that local mode relies on, pinned with kube-rs against a
//! real server (`TestServer::start()`): paginated lists, selectors, optimistic concurrency, the
//! status subresource, server-side apply, patches, finalizers, garbage collection, namespace
//! termination, deletecollection, watches (order, objects entering and leaving a selection,
//! bookmarks, `410 Gone` and the watcher's re-list), the lifecycle of CRDs, and concurrent
//! writers (a stale version conflicts; a write without one is retried by the server).
//!
//! Each test is one scenario read top to bottom, so some are longer than clippy likes.
#![allow(clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Debug;
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use govcloud_crds::Tenant;
use govcloud_tests::local::TestServer;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::{GroupVersionKind, Status};
use kube::discovery::{self, Discovery, Scope};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Longest a test waits for something the server does in the background.
const PATIENCE: Duration = Duration::from_secs(10);

/// A server and a client of it.
struct Env {
    server: TestServer,
    client: Client,
}

impl Env {
    async fn start() -> Self {
        let server = TestServer::start().await;
        let client = govcloud_controller::local::client_for(&server.server)
            .await
            .expect("client");
        Self { server, client }
    }

    /// A server with the govcloud CRDs installed.
    async fn with_crds() -> Self {
        let env = Self::start().await;
        govcloud_controller::local::install(&env.client)
            .await
            .expect("install the govcloud CRDs");
        env
    }

    async fn namespace(&self, name: &str) -> Namespace {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        namespaces
            .create(
                &PostParams::default(),
                &object(json!({"metadata": {"name": name}})),
            )
            .await
            .expect("create a namespace")
    }

    fn config_maps(&self, namespace: &str) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn stop(self) {
        self.server.server.shutdown().await;
    }
}

fn object<K: DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).expect("a valid object")
}

fn config_map(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
    let data: BTreeMap<&str, &str> = data.iter().copied().collect();
    object(json!({"metadata": {"name": name, "labels": labels}, "data": data}))
}

/// A valid `Tenant` (with no status).
fn tenant(name: &str) -> Value {
    json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {
            "displayName": "测试",
            "level": "County",
            "owners": [{"kind": "Group", "name": "ops"}],
            "quota": {"cpu": "8", "memory": "16Gi", "storage": "1Ti"},
        },
    })
}

/// The `Status` of a failed request.
fn failure<T: Debug>(result: kube::Result<T>) -> Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The numeric resource version of an object.
fn version<K: kube::Resource>(object: &K) -> u64 {
    object
        .meta()
        .resource_version
        .as_deref()
        .expect("a resource version")
        .parse()
        .expect("a numeric resource version")
}

fn names<K: kube::Resource>(items: &[K]) -> BTreeSet<String> {
    items.iter().map(ResourceExt::name_any).collect()
}

/// Polls `check` until it answers, for up to [`PATIENCE`].
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next item of a stream, failing the test if none comes within [`PATIENCE`] or it ends.
async fn next<T>(stream: &mut (impl Stream<Item = T> + Unpin)) -> T {
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
}

/// The names a watcher's (re-)list delivers, up to its `InitDone`.
async fn initial_list<K: kube::Resource + Debug>(
    events: &mut (impl Stream<Item = watcher::Result<watcher::Event<K>>> + Unpin),
) -> Vec<String> {
    let mut listed = Vec::new();
    loop {
        match next(events).await.expect("a watcher event") {
            watcher::Event::Init => {}
            watcher::Event::InitApply(object) => listed.push(object.name_any()),
            watcher::Event::InitDone => return listed,
            other => panic!("unexpected event while listing: {other:?}"),
        }
    }
}

/// A request kube-rs has no typed call for; answers the JSON body or the `Status`.
async fn raw(
    client: &Client,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> kube::Result<Value> {
    let mut request = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = body.map(Value::to_string).unwrap_or_default().into_bytes();
    client.request(request.body(body).expect("a request")).await
}

// 1. limit and continue

#[tokio::test(flavor = "multi_thread")]
async fn lists_are_paginated_with_limit_and_continue() {
    let env = Env::start().await;
    env.namespace("paging").await;
    let maps = env.config_maps("paging");
    for i in 0..25 {
        let parity = if i % 2 == 0 { "even" } else { "odd" };
        maps.create(
            &PostParams::default(),
            &config_map(&format!("cm-{i:02}"), &[("parity", parity)], &[]),
        )
        .await
        .expect("create");
    }
    let pages = async |selector: &str, limit: u32| {
        let mut sizes = Vec::new();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = ListParams::default().labels(selector).limit(limit);
            if let Some(token) = &token {
                params = params.continue_token(token);
            }
            let page = maps.list(&params).await.expect("a page");
            sizes.push(page.items.len());
            seen.extend(page.items.iter().map(ResourceExt::name_any));
            token = page.metadata.continue_.filter(|c| !c.is_empty());
            if token.is_none() {
                return (sizes, seen);
            }
            assert!(sizes.len() < 10, "the pages never end: {sizes:?}");
        }
    };
    let (sizes, seen) = pages("", 10).await;
    assert_eq!(sizes, [10, 10, 5]);
    let all: Vec<String> = (0..25).map(|i| format!("cm-{i:02}")).collect();
    assert_eq!(seen, all, "every name once, in order");
    // `limit` counts selected objects; a last page that is exactly full has no continue token.
    let (sizes, seen) = pages("parity=even", 5).await;
    assert_eq!(sizes, [5, 5, 3]);
    assert_eq!(seen.len(), 13);
    let (sizes, _) = pages("parity=odd", 6).await;
    assert_eq!(sizes, [6, 6]);

    for bad in ["not-a-token", "e30"] {
        let status = failure(
            maps.list(&ListParams::default().limit(10).continue_token(bad))
                .await,
        );
        assert_eq!(status.code, 400, "continue={bad}: {}", status.message);
    }

    // kube-rs' watcher lists in pages (of 7 here) before watching.
    let mut events = watcher(maps.clone(), watcher::Config::default().page_size(7)).boxed();
    let listed = initial_list(&mut events).await;
    assert_eq!(listed, all);
    drop(events);

    // Every page reports the version of the first: what changes meanwhile, a watch from it
    // delivers (here, a creation in the part of the list already read).
    let first = maps
        .list(&ListParams::default().limit(10))
        .await
        .expect("first page");
    let listed_at = first.metadata.resource_version.clone().expect("a version");
    maps.create(&PostParams::default(), &config_map("cm-00a", &[], &[]))
        .await
        .expect("create between pages");
    let mut token = first.metadata.continue_.clone();
    while let Some(continue_token) = token.filter(|t| !t.is_empty()) {
        let page = maps
            .list(
                &ListParams::default()
                    .limit(10)
                    .continue_token(&continue_token),
            )
            .await
            .expect("next page");
        assert_eq!(page.metadata.resource_version.as_ref(), Some(&listed_at));
        assert!(!names(&page.items).contains("cm-00a"));
        token = page.metadata.continue_;
    }
    let mut events = maps
        .watch(&WatchParams::default().timeout(10), &listed_at)
        .await
        .expect("watch")
        .boxed();
    match next(&mut events).await.expect("an event") {
        WatchEvent::Added(map) => assert_eq!(map.name_any(), "cm-00a"),
        other => panic!("expected the creation between the pages, got {other:?}"),
    }
    drop(events);
    env.stop().await;
}

// 2. selectors

#[tokio::test(flavor = "multi_thread")]
async fn label_and_field_selectors_filter_lists() {
    let env = Env::start().await;
    env.namespace("labels").await;
    env.namespace("labels-2").await;
    let maps = env.config_maps("labels");
    let objects = [
        config_map("a", &[("app", "web"), ("tier", "front")], &[]),
        config_map("b", &[("app", "web"), ("tier", "back")], &[]),
        config_map("c", &[("app", "db")], &[]),
        config_map("d", &[], &[]),
        config_map("e", &[("app", "cache"), ("legacy", "true")], &[]),
    ];
    for map in &objects {
        maps.create(&PostParams::default(), map)
            .await
            .expect("create");
    }
    env.config_maps("labels-2")
        .create(&PostParams::default(), &config_map("a", &[], &[]))
        .await
        .expect("create");
    let cases: &[(&str, &[&str])] = &[
        ("app=web", &["a", "b"]),
        ("app==web", &["a", "b"]),
        ("app!=web", &["c", "d", "e"]),
        ("app in (web,db)", &["a", "b", "c"]),
        ("app notin (web,db)", &["d", "e"]),
        ("tier", &["a", "b"]),
        ("!tier", &["c", "d", "e"]),
        ("app=web,tier!=back", &["a"]),
        ("app,!legacy", &["a", "b", "c"]),
        ("legacy=true", &["e"]),
        ("app=nothing", &[]),
    ];
    for (selector, expected) in cases {
        let list = maps
            .list(&ListParams::default().labels(selector))
            .await
            .expect("list");
        let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(names(&list.items), expected, "labelSelector={selector}");
    }

    let everywhere: Api<ConfigMap> = Api::all(env.client.clone());
    let located = |list: &[ConfigMap]| -> BTreeSet<(String, String)> {
        list.iter()
            .map(|m| (m.namespace().unwrap_or_default(), m.name_any()))
            .collect()
    };
    let pair = |ns: &str, name: &str| (ns.to_owned(), name.to_owned());
    let list = everywhere
        .list(&ListParams::default().fields("metadata.name=a"))
        .await
        .expect("list");
    assert_eq!(
        located(&list.items),
        BTreeSet::from([pair("labels", "a"), pair("labels-2", "a")])
    );
    let list = everywhere
        .list(&ListParams::default().fields("metadata.namespace=labels-2"))
        .await
        .expect("list");
    assert_eq!(
        located(&list.items),
        BTreeSet::from([pair("labels-2", "a")])
    );
    let list = everywhere
        .list(&ListParams::default().fields("metadata.namespace=labels,metadata.name!=a"))
        .await
        .expect("list");
    assert_eq!(names(&list.items), names(&objects[1..]));
    let list = maps
        .list(
            &ListParams::default()
                .fields("metadata.name=c")
                .labels("app"),
        )
        .await
        .expect("list");
    assert_eq!(names(&list.items), BTreeSet::from(["c".to_owned()]));

    let status = failure(maps.list(&ListParams::default().fields("spec.x=y")).await);
    assert_eq!(status.code, 400, "{}", status.message);
    assert!(status.message.contains("spec.x"), "{}", status.message);
    let status = failure(
        maps.list(&ListParams::default().labels("app in (web"))
            .await,
    );
    assert_eq!(status.code, 400, "{}", status.message);
    env.stop().await;
}

// 3. create, get, update, delete

#[tokio::test(flavor = "multi_thread")]
async fn objects_round_trip_with_optimistic_concurrency() {
    let env = Env::start().await;
    env.namespace("crud").await;
    let maps = env.config_maps("crud");
    let mut sent = config_map("cm", &[], &[("k", "1")]);
    sent.metadata.uid = Some("forged-uid".to_owned());
    sent.metadata.creation_timestamp = Some(object(json!("2000-01-01T00:00:00Z")));
    let created = maps
        .create(&PostParams::default(), &sent)
        .await
        .expect("create");
    let uid = created.uid().expect("a uid");
    assert!(!uid.is_empty() && uid != "forged-uid", "uid {uid}");
    let created_at = created
        .metadata
        .creation_timestamp
        .clone()
        .expect("a creation time");
    assert!(created_at.0.as_second() > 946_684_800, "{created_at:?}");
    let got = maps.get("cm").await.expect("get");
    assert_eq!(got.uid().as_deref(), Some(uid.as_str()));
    assert_eq!(version(&got), version(&created));
    assert_eq!(got.data, created.data);

    let mut changed = got.clone();
    changed.data = Some(BTreeMap::from([("k".to_owned(), "2".to_owned())]));
    let updated = maps
        .replace("cm", &PostParams::default(), &changed)
        .await
        .expect("update");
    assert!(version(&updated) > version(&created));
    assert_eq!(updated.uid().as_deref(), Some(uid.as_str()));
    assert_eq!(updated.metadata.creation_timestamp, Some(created_at));

    // An update based on the old resource version conflicts and stores nothing.
    let mut stale = got.clone();
    stale.data = Some(BTreeMap::from([("k".to_owned(), "stale".to_owned())]));
    let status = failure(maps.replace("cm", &PostParams::default(), &stale).await);
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    let current = maps.get("cm").await.expect("get");
    assert_eq!(version(&current), version(&updated));
    assert_eq!(current.data, updated.data);

    // Writes that change nothing keep the resource version and produce no event.
    let unchanged = maps
        .replace("cm", &PostParams::default(), &current)
        .await
        .expect("no-op update");
    assert_eq!(version(&unchanged), version(&updated));
    let patched = maps
        .patch(
            "cm",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "2"}})),
        )
        .await
        .expect("no-op patch");
    assert_eq!(version(&patched), version(&updated));
    let mut events = maps
        .watch(
            &WatchParams::default().timeout(10),
            &version(&updated).to_string(),
        )
        .await
        .expect("watch")
        .boxed();
    maps.patch(
        "cm",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "3"}})),
    )
    .await
    .expect("patch");
    match next(&mut events).await.expect("an event") {
        WatchEvent::Modified(map) => {
            assert_eq!(
                map.data.and_then(|d| d.get("k").cloned()).as_deref(),
                Some("3")
            );
        }
        other => panic!("expected the real change first, got {other:?}"),
    }
    drop(events);

    let status = failure(
        maps.create(&PostParams::default(), &config_map("cm", &[], &[]))
            .await,
    );
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists")
    );
    let deleted = maps
        .delete("cm", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(deleted.is_left(), "deleted at once, without finalizers");
    assert!(maps.get_opt("cm").await.expect("get").is_none());
    let status = failure(maps.delete("cm", &DeleteParams::default()).await);
    assert_eq!(status.code, 404);
    let again = maps
        .create(&PostParams::default(), &config_map("cm", &[], &[]))
        .await
        .expect("create again");
    assert_ne!(again.uid(), Some(uid), "a new object gets a new uid");
    env.stop().await;
}

// 4. status subresource

#[tokio::test(flavor = "multi_thread")]
async fn the_status_subresource_separates_spec_and_status() {
    let env = Env::with_crds().await;
    let tenants: Api<Tenant> = Api::all(env.client.clone());
    let mut sent = tenant("county");
    sent["status"] = json!({"observedGeneration": 7, "namespaces": ["forged"]});
    let created = tenants
        .create(&PostParams::default(), &object(sent))
        .await
        .expect("create");
    assert_eq!(created.status, None, "status sent on create is dropped");
    assert_eq!(created.metadata.generation, Some(1));

    // /status changes the status only: no spec change, no new generation.
    let with_status = tenants
        .patch_status(
            "county",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "spec": {"displayName": "ignored"},
                "status": {"observedGeneration": 1, "namespaces": ["county"]},
            })),
        )
        .await
        .expect("patch status");
    let status = with_status.status.clone().expect("a status");
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(status.namespaces, ["county"]);
    assert_eq!(with_status.spec.display_name, "测试");
    assert_eq!(with_status.metadata.generation, Some(1));
    assert!(version(&with_status) > version(&created));

    // The main resource keeps the stored status, whatever PUT or merge patch sends.
    let mut replaced = with_status.clone();
    replaced.status = Some(object(json!({"observedGeneration": 99})));
    replaced
        .labels_mut()
        .insert("team".to_owned(), "ops".to_owned());
    let replaced = tenants
        .replace("county", &PostParams::default(), &replaced)
        .await
        .expect("replace");
    assert_eq!(replaced.status, with_status.status);
    assert_eq!(
        replaced.labels().get("team").map(String::as_str),
        Some("ops")
    );
    assert_eq!(replaced.metadata.generation, Some(1), "labels are not spec");
    let patched = tenants
        .patch(
            "county",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observedGeneration": 98}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(patched.status, with_status.status);
    assert_eq!(version(&patched), version(&replaced), "nothing changed");

    // A spec change bumps the generation and keeps the status.
    let respecced = tenants
        .patch(
            "county",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"displayName": "新名字"}})),
        )
        .await
        .expect("spec patch");
    assert_eq!(respecced.metadata.generation, Some(2));
    assert_eq!(respecced.spec.display_name, "新名字");
    assert_eq!(respecced.status, with_status.status);

    // PUT /status with another spec keeps the stored spec.
    let mut status_put = respecced.clone();
    status_put.spec.display_name = "ignored again".to_owned();
    status_put.status = Some(object(json!({"observedGeneration": 2})));
    let status_put = tenants
        .replace_status("county", &PostParams::default(), &status_put)
        .await
        .expect("replace status");
    assert_eq!(status_put.spec.display_name, "新名字");
    assert_eq!(status_put.metadata.generation, Some(2));
    assert_eq!(
        status_put.status.and_then(|s| s.observed_generation),
        Some(2)
    );
    env.stop().await;
}

// 5. server-side apply

/// The `fieldsV1` of `manager`'s entry in `managedFields`, checking it is `FieldsV1`.
fn owned_fields(tenant: &Tenant, manager: &str) -> Option<Value> {
    let entry = tenant
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .find(|entry| entry.manager.as_deref() == Some(manager))?;
    assert_eq!(entry.fields_type.as_deref(), Some("FieldsV1"));
    assert!(entry.time.is_some(), "{manager}'s entry has a time");
    Some(entry.fields_v1.clone().expect("fieldsV1").0)
}

#[tokio::test(flavor = "multi_thread")]
async fn server_side_apply_tracks_managers_and_conflicts() {
    let env = Env::with_crds().await;
    let tenants: Api<Tenant> = Api::all(env.client.clone());
    let manager_a = PatchParams::apply("manager-a");
    let mut config = tenant("applied");
    config["spec"]["divisionCode"] = json!("610902");
    config["spec"]["contact"] = json!({"name": "值班室"});
    let applied = tenants
        .patch("applied", &manager_a, &Patch::Apply(&config))
        .await
        .expect("apply creates");
    assert_eq!(applied.spec.division_code.as_deref(), Some("610902"));
    assert!(applied.spec.contact.is_some());
    let fields = owned_fields(&applied, "manager-a").expect("manager-a owns fields");
    assert!(
        fields.pointer("/f:spec/f:divisionCode").is_some(),
        "{fields}"
    );
    assert!(fields.pointer("/f:spec/f:contact").is_some(), "{fields}");
    let entry = applied
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .find(|e| e.manager.as_deref() == Some("manager-a"))
        .expect("entry");
    assert_eq!(entry.operation.as_deref(), Some("Apply"));
    assert_eq!(entry.api_version.as_deref(), Some("govcloud.io/v1alpha1"));

    // Re-applying without a field removes it.
    config["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("contact");
    let reapplied = tenants
        .patch("applied", &manager_a, &Patch::Apply(&config))
        .await
        .expect("re-apply");
    assert_eq!(reapplied.spec.contact, None);
    assert_eq!(reapplied.spec.division_code.as_deref(), Some("610902"));
    let fields = owned_fields(&reapplied, "manager-a").expect("fields");
    assert!(fields.pointer("/f:spec/f:contact").is_none(), "{fields}");

    // Another manager setting a field manager-a owns conflicts, naming manager-a, unless forced.
    let other = json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": "applied"},
        "spec": {"displayName": "另一个"},
    });
    let status = failure(
        tenants
            .patch(
                "applied",
                &PatchParams::apply("manager-b"),
                &Patch::Apply(&other),
            )
            .await,
    );
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(status.message.contains("manager-a"), "{}", status.message);
    assert!(
        status.message.contains(".spec.displayName"),
        "{}",
        status.message
    );
    assert_eq!(
        tenants.get("applied").await.expect("get").spec.display_name,
        "测试"
    );
    let forced = tenants
        .patch(
            "applied",
            &PatchParams::apply("manager-b").force(),
            &Patch::Apply(&other),
        )
        .await
        .expect("forced apply");
    assert_eq!(forced.spec.display_name, "另一个");
    let b_fields = owned_fields(&forced, "manager-b").expect("manager-b owns fields");
    assert!(
        b_fields.pointer("/f:spec/f:displayName").is_some(),
        "{b_fields}"
    );
    let a_fields = owned_fields(&forced, "manager-a").expect("manager-a still owns fields");
    assert!(
        a_fields.pointer("/f:spec/f:displayName").is_none(),
        "{a_fields}"
    );
    assert!(
        a_fields.pointer("/f:spec/f:divisionCode").is_some(),
        "{a_fields}"
    );
    // Now manager-a's old value conflicts with manager-b.
    let status = failure(
        tenants
            .patch("applied", &manager_a, &Patch::Apply(&config))
            .await,
    );
    assert_eq!(status.code, 409);
    assert!(status.message.contains("manager-b"), "{}", status.message);
    env.stop().await;
}

// 6. JSON patch and merge patch

#[tokio::test(flavor = "multi_thread")]
async fn json_patch_tests_and_merge_patch_removes() {
    let env = Env::start().await;
    env.namespace("patches").await;
    let maps = env.config_maps("patches");
    let created = maps
        .create(
            &PostParams::default(),
            &config_map("cm", &[], &[("a", "1"), ("b", "2")]),
        )
        .await
        .expect("create");
    let path = "/api/v1/namespaces/patches/configmaps/cm";
    let json_patch = async |ops: Value| {
        raw(
            &env.client,
            "PATCH",
            path,
            &[("Content-Type", "application/json-patch+json")],
            Some(&ops),
        )
        .await
    };
    let status = failure(
        json_patch(json!([
            {"op": "test", "path": "/data/a", "value": "wrong"},
            {"op": "replace", "path": "/data/a", "value": "changed"},
        ]))
        .await,
    );
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    let status = failure(json_patch(json!([{"op": "remove", "path": "/data/missing"}])).await);
    assert_eq!(status.code, 422, "{}", status.message);
    let unchanged = maps.get("cm").await.expect("get");
    assert_eq!(version(&unchanged), version(&created), "nothing stored");
    let patched = json_patch(json!([
        {"op": "test", "path": "/data/a", "value": "1"},
        {"op": "replace", "path": "/data/a", "value": "changed"},
    ]))
    .await
    .expect("a passing test applies the patch");
    assert_eq!(patched["data"], json!({"a": "changed", "b": "2"}));

    let merged = maps
        .patch(
            "cm",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"b": null, "c": "3"}})),
        )
        .await
        .expect("merge patch");
    let data = merged.data.expect("data");
    assert_eq!(
        data.into_iter().collect::<Vec<_>>(),
        [
            ("a".to_owned(), "changed".to_owned()),
            ("c".to_owned(), "3".to_owned())
        ]
    );
    env.stop().await;
}

// 7. finalizers

#[tokio::test(flavor = "multi_thread")]
async fn finalizers_hold_deletion_until_removed() {
    let env = Env::start().await;
    env.namespace("final").await;
    let maps = env.config_maps("final");
    let mut held = config_map("held", &[], &[]);
    held.metadata.finalizers = Some(vec!["example.com/hold".to_owned()]);
    let created = maps
        .create(&PostParams::default(), &held)
        .await
        .expect("create");
    let marked = maps
        .delete("held", &DeleteParams::default())
        .await
        .expect("delete")
        .left()
        .expect("the object, still there");
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert!(version(&marked) > version(&created));
    let stored = maps.get("held").await.expect("still stored");
    assert_eq!(
        stored.metadata.deletion_timestamp,
        marked.metadata.deletion_timestamp
    );
    assert_eq!(stored.finalizers(), ["example.com/hold"]);
    // Deleting again changes nothing.
    let again = maps
        .delete("held", &DeleteParams::default())
        .await
        .expect("delete again")
        .left()
        .expect("the object");
    assert_eq!(version(&again), version(&marked));

    // No new finalizer while terminating; other changes are allowed.
    let status = failure(
        maps.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}}),
            ),
        )
        .await,
    );
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert!(
        status
            .details
            .iter()
            .flat_map(|d| &d.causes)
            .any(|c| c.field == "metadata.finalizers"),
        "{status:?}"
    );
    let relabelled = maps
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"still": "here"}}})),
        )
        .await
        .expect("an update while terminating");
    assert_eq!(relabelled.finalizers(), ["example.com/hold"]);

    // Removing the last finalizer completes the deletion.
    maps.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove the finalizer");
    assert!(maps.get_opt("held").await.expect("get").is_none());
    env.stop().await;
}

// 8. owner references

fn owned_secret(name: &str, owner: &ConfigMap) -> Secret {
    object(json!({
        "metadata": {
            "name": name,
            "ownerReferences": [{
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": owner.name_any(),
                "uid": owner.uid().expect("owner uid"),
            }],
        },
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_deletion_collects_or_orphans_dependents() {
    let env = Env::start().await;
    env.namespace("gc").await;
    let maps = env.config_maps("gc");
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), "gc");
    let pp = PostParams::default();
    let owner = maps
        .create(&pp, &config_map("owner", &[], &[]))
        .await
        .expect("owner");
    for name in ["dep-1", "dep-2"] {
        secrets
            .create(&pp, &owned_secret(name, &owner))
            .await
            .expect("dependent");
    }
    secrets
        .create(&pp, &object(json!({"metadata": {"name": "unrelated"}})))
        .await
        .expect("unrelated");
    maps.delete("owner", &DeleteParams::background())
        .await
        .expect("delete the owner");
    eventually("the dependents are collected", async || {
        let list = secrets.list(&ListParams::default()).await.expect("list");
        (names(&list.items) == BTreeSet::from(["unrelated".to_owned()])).then_some(())
    })
    .await;

    // Orphan: the owner goes, the dependents stay without their owner reference.
    let owner = maps
        .create(&pp, &config_map("owner-2", &[], &[]))
        .await
        .expect("owner");
    let owner_uid = owner.uid().expect("uid");
    for name in ["kept-1", "kept-2"] {
        secrets
            .create(&pp, &owned_secret(name, &owner))
            .await
            .expect("dependent");
    }
    maps.delete("owner-2", &DeleteParams::orphan())
        .await
        .expect("delete the owner");
    assert!(maps.get_opt("owner-2").await.expect("get").is_none());
    eventually("the dependents are released", async || {
        let mut released = true;
        for name in ["kept-1", "kept-2"] {
            let secret = secrets.get(name).await.expect("an orphan stays");
            released &= !secret.owner_references().iter().any(|r| r.uid == owner_uid);
        }
        released.then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let list = secrets.list(&ListParams::default()).await.expect("list");
    assert_eq!(
        names(&list.items),
        BTreeSet::from(["kept-1", "kept-2", "unrelated"].map(str::to_owned))
    );
    env.stop().await;
}

// 9. namespaces

#[tokio::test(flavor = "multi_thread")]
async fn namespaces_gate_creation_and_terminate_with_their_contents() {
    let env = Env::with_crds().await;
    let status = failure(
        env.config_maps("missing")
            .create(&PostParams::default(), &config_map("cm", &[], &[]))
            .await,
    );
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));

    let namespaces: Api<Namespace> = Api::all(env.client.clone());
    env.namespace("doomed").await;
    env.namespace("spared").await;
    let maps = env.config_maps("doomed");
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), "doomed");
    let pp = PostParams::default();
    for name in ["a", "b"] {
        maps.create(&pp, &config_map(name, &[], &[]))
            .await
            .expect("create");
    }
    secrets
        .create(&pp, &object(json!({"metadata": {"name": "s"}})))
        .await
        .expect("secret");
    let mut held = config_map("held", &[], &[]);
    held.metadata.finalizers = Some(vec!["example.com/hold".to_owned()]);
    maps.create(&pp, &held).await.expect("held");
    env.config_maps("spared")
        .create(&pp, &config_map("a", &[], &[]))
        .await
        .expect("elsewhere");
    let tenants: Api<Tenant> = Api::all(env.client.clone());
    tenants
        .create(&pp, &object(tenant("cluster-scoped")))
        .await
        .expect("tenant");

    let terminating = namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .expect("delete the namespace")
        .left()
        .expect("the namespace, terminating");
    assert!(terminating.metadata.deletion_timestamp.is_some());
    let phase = |ns: &Namespace| ns.status.as_ref().and_then(|s| s.phase.clone());
    assert_eq!(phase(&terminating).as_deref(), Some("Terminating"));

    // The contents go; the object with a finalizer holds the namespace in Terminating.
    // The held object's deletion is asserted too: wait for it with the rest.
    eventually("the namespace's contents are deleted", async || {
        let left = names(&maps.list(&ListParams::default()).await.expect("list").items);
        let secrets_left = secrets.list(&ListParams::default()).await.expect("list");
        let held_deleting = maps
            .get("held")
            .await
            .expect("held")
            .metadata
            .deletion_timestamp
            .is_some();
        (left == BTreeSet::from(["held".to_owned()])
            && secrets_left.items.is_empty()
            && held_deleting)
            .then_some(())
    })
    .await;
    assert!(
        maps.get("held")
            .await
            .expect("held")
            .metadata
            .deletion_timestamp
            .is_some()
    );
    let still = namespaces.get("doomed").await.expect("still there");
    assert_eq!(phase(&still).as_deref(), Some("Terminating"));
    let status = failure(maps.create(&pp, &config_map("late", &[], &[])).await);
    assert_eq!(status.code, 403, "{}", status.message);

    maps.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release the finalizer");
    eventually("the namespace is removed", async || {
        namespaces
            .get_opt("doomed")
            .await
            .expect("get")
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        env.config_maps("spared")
            .get_opt("a")
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        tenants
            .get_opt("cluster-scoped")
            .await
            .expect("get")
            .is_some()
    );
    env.stop().await;
}

// 10. deletecollection

#[tokio::test(flavor = "multi_thread")]
async fn deletecollection_deletes_only_selected_objects() {
    let env = Env::start().await;
    env.namespace("batch").await;
    env.namespace("other").await;
    let maps = env.config_maps("batch");
    let pp = PostParams::default();
    for (name, batch) in [("a", "1"), ("b", "1"), ("c", "1"), ("d", "2"), ("e", "2")] {
        maps.create(&pp, &config_map(name, &[("batch", batch)], &[]))
            .await
            .expect("create");
    }
    maps.create(&pp, &config_map("f", &[], &[]))
        .await
        .expect("create");
    env.config_maps("other")
        .create(&pp, &config_map("a", &[("batch", "1")], &[]))
        .await
        .expect("create");
    let deleted = maps
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("batch=1"),
        )
        .await
        .expect("deletecollection")
        .left()
        .expect("the deleted objects");
    assert_eq!(
        names(&deleted.items),
        BTreeSet::from(["a", "b", "c"].map(str::to_owned))
    );
    let left = maps.list(&ListParams::default()).await.expect("list");
    assert_eq!(
        names(&left.items),
        BTreeSet::from(["d", "e", "f"].map(str::to_owned))
    );
    assert!(
        env.config_maps("other")
            .get_opt("a")
            .await
            .expect("get")
            .is_some()
    );

    // The propagation policy applies to each object deleted: dependents are collected by
    // default and released with Orphan.
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), "batch");
    for (owner, policy) in [("collected", "background"), ("orphaning", "orphan")] {
        let owner = maps
            .create(&pp, &config_map(owner, &[("policy", policy)], &[]))
            .await
            .expect("owner");
        secrets
            .create(
                &pp,
                &owned_secret(&format!("of-{}", owner.name_any()), &owner),
            )
            .await
            .expect("dependent");
    }
    let params = |policy: &str| ListParams::default().labels(&format!("policy={policy}"));
    maps.delete_collection(&DeleteParams::background(), &params("background"))
        .await
        .expect("deletecollection");
    maps.delete_collection(&DeleteParams::orphan(), &params("orphan"))
        .await
        .expect("deletecollection");
    eventually("the dependents are collected or released", async || {
        let left = secrets.list(&ListParams::default()).await.expect("list");
        let released = left
            .items
            .iter()
            .all(|secret| secret.owner_references().is_empty());
        (names(&left.items) == BTreeSet::from(["of-orphaning".to_owned()]) && released)
            .then_some(())
    })
    .await;
    env.stop().await;
}

// 11. watches

#[tokio::test(flavor = "multi_thread")]
async fn watches_deliver_changes_in_order_from_a_resource_version() {
    let env = Env::start().await;
    env.namespace("watched").await;
    let maps = env.config_maps("watched");
    let pp = PostParams::default();
    maps.create(&pp, &config_map("old", &[], &[]))
        .await
        .expect("create");
    let from = maps
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("list resource version");
    let created = maps
        .create(&pp, &config_map("w", &[("watch", "me")], &[("n", "1")]))
        .await
        .expect("create");
    maps.create(&pp, &config_map("unselected", &[], &[]))
        .await
        .expect("create");
    let modified = maps
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"n": "2"}})),
        )
        .await
        .expect("patch");
    maps.delete("w", &DeleteParams::default())
        .await
        .expect("delete");

    let mut events = maps
        .watch(
            &WatchParams::default().labels("watch=me").timeout(10),
            &from,
        )
        .await
        .expect("watch")
        .boxed();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match next(&mut events).await.expect("an event") {
            WatchEvent::Added(m) => seen.push(("ADDED", m.name_any(), version(&m))),
            WatchEvent::Modified(m) => seen.push(("MODIFIED", m.name_any(), version(&m))),
            WatchEvent::Deleted(m) => seen.push(("DELETED", m.name_any(), version(&m))),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(status) => panic!("watch failed: {status:?}"),
        }
    }
    assert_eq!(
        seen.iter()
            .map(|(t, n, _)| (*t, n.as_str()))
            .collect::<Vec<_>>(),
        [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]
    );
    assert_eq!(seen[0].2, version(&created));
    assert_eq!(seen[1].2, version(&modified));
    assert!(seen[2].2 > seen[1].2, "{seen:?}");
    drop(events);

    // Resuming from the creation gives the rest only; "0" starts with the current state.
    let mut events = maps
        .watch(
            &WatchParams::default().timeout(10),
            &version(&created).to_string(),
        )
        .await
        .expect("watch")
        .boxed();
    match next(&mut events).await.expect("an event") {
        WatchEvent::Added(m) => assert_eq!(m.name_any(), "unselected"),
        other => panic!("expected the next creation, got {other:?}"),
    }
    assert!(matches!(
        next(&mut events).await,
        Ok(WatchEvent::Modified(_))
    ));
    assert!(matches!(
        next(&mut events).await,
        Ok(WatchEvent::Deleted(_))
    ));
    drop(events);
    let mut events = maps
        .watch(&WatchParams::default().timeout(10), "0")
        .await
        .expect("watch")
        .boxed();
    let mut current = BTreeSet::new();
    for _ in 0..2 {
        match next(&mut events).await.expect("an event") {
            WatchEvent::Added(m) => current.insert(m.name_any()),
            other => panic!("expected the current state, got {other:?}"),
        };
    }
    assert_eq!(
        current,
        BTreeSet::from(["old", "unselected"].map(str::to_owned))
    );
    drop(events);
    env.stop().await;
}

/// A watch event as (type, name, value of `data.n`).
fn summary(event: WatchEvent<ConfigMap>) -> (&'static str, String, String) {
    let (kind, map) = match event {
        WatchEvent::Added(m) => ("ADDED", m),
        WatchEvent::Modified(m) => ("MODIFIED", m),
        WatchEvent::Deleted(m) => ("DELETED", m),
        other => panic!("unexpected event {other:?}"),
    };
    let n = map
        .data
        .as_ref()
        .and_then(|d| d.get("n").cloned())
        .unwrap_or_default();
    (kind, map.name_any(), n)
}

#[tokio::test(flavor = "multi_thread")]
async fn selector_watches_see_objects_enter_and_leave() {
    let env = Env::start().await;
    env.namespace("moving").await;
    let maps = env.config_maps("moving");
    let from = maps
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("version");
    let set = async |patch: Value| {
        maps.patch("x", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .expect("patch")
    };
    maps.create(&PostParams::default(), &config_map("x", &[], &[("n", "0")]))
        .await
        .expect("create");
    set(json!({"metadata": {"labels": {"watch": "me"}}, "data": {"n": "1"}})).await;
    set(json!({"data": {"n": "2"}})).await;
    let left = set(json!({"metadata": {"labels": {"watch": null}}, "data": {"n": "3"}})).await;
    set(json!({"data": {"n": "4"}})).await;
    set(json!({"metadata": {"labels": {"watch": "me"}}, "data": {"n": "5"}})).await;
    maps.delete("x", &DeleteParams::default())
        .await
        .expect("delete");
    // As kube-apiserver does: entering the selection is ADDED, leaving it DELETED (with the
    // last state that matched, at the version of the change).
    let expected = [
        ("ADDED", "x", "1"),
        ("MODIFIED", "x", "2"),
        ("DELETED", "x", "2"),
        ("ADDED", "x", "5"),
        ("DELETED", "x", "5"),
    ];
    // From the log, and live.
    let mut replayed = maps
        .watch(
            &WatchParams::default().labels("watch=me").timeout(10),
            &from,
        )
        .await
        .expect("watch")
        .boxed();
    let mut seen = Vec::new();
    let mut left_at = None;
    while seen.len() < expected.len() {
        let event = next(&mut replayed).await.expect("an event");
        if let WatchEvent::Deleted(m) = &event
            && left_at.is_none()
        {
            left_at = Some(version(m));
        }
        seen.push(summary(event));
    }
    let seen: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|(t, n, v)| (*t, n.as_str(), v.as_str()))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(left_at, Some(version(&left)));
    drop(replayed);

    let now = maps
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("version");
    let mut live = maps
        .watch(&WatchParams::default().labels("watch=me").timeout(10), &now)
        .await
        .expect("watch")
        .boxed();
    maps.create(
        &PostParams::default(),
        &config_map("y", &[("watch", "me")], &[("n", "1")]),
    )
    .await
    .expect("create");
    maps.patch(
        "y",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"watch": "not-me"}}, "data": {"n": "2"}})),
    )
    .await
    .expect("patch");
    assert_eq!(
        summary(next(&mut live).await.expect("event")),
        ("ADDED", "y".to_owned(), "1".to_owned())
    );
    assert_eq!(
        summary(next(&mut live).await.expect("event")),
        ("DELETED", "y".to_owned(), "1".to_owned())
    );
    drop(live);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn watches_receive_bookmarks_when_allowed() {
    let env = Env::start().await;
    env.namespace("marks").await;
    let maps = env.config_maps("marks");
    let created = maps
        .create(&PostParams::default(), &config_map("cm", &[], &[]))
        .await
        .expect("create");
    let from = version(&created).to_string();
    let mut with = maps
        .watch(&WatchParams::default().timeout(60), &from)
        .await
        .expect("watch")
        .boxed();
    let mut without = maps
        .watch(
            &WatchParams::default().timeout(60).disable_bookmarks(),
            &from,
        )
        .await
        .expect("watch")
        .boxed();
    let bookmark = tokio::time::timeout(Duration::from_secs(15), with.next())
        .await
        .expect("a bookmark within 15 s")
        .expect("the stream goes on")
        .expect("an event");
    match bookmark {
        WatchEvent::Bookmark(bookmark) => {
            let at: u64 = bookmark
                .metadata
                .resource_version
                .parse()
                .expect("a numeric resource version");
            assert!(at >= version(&created));
            assert_eq!(bookmark.types.kind, "ConfigMap");
        }
        other => panic!("expected a bookmark, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(1), without.next())
            .await
            .is_err(),
        "no bookmark without allowWatchBookmarks"
    );
    drop((with, without));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn compacted_resource_versions_are_gone() {
    let env = Env::start().await;
    env.namespace("gone").await;
    let maps = env.config_maps("gone");
    let store = &env.server.server.state.store;
    let pp = PostParams::default();
    let first = maps
        .create(&pp, &config_map("first", &[], &[]))
        .await
        .expect("create");
    let second = maps
        .create(&pp, &config_map("second", &[], &[]))
        .await
        .expect("create");
    let compacted = store.compact_keeping(1).await.expect("compact");
    assert!(compacted >= 2, "dropped {compacted} events");

    let expect_gone = async |from: u64| {
        let mut events = maps
            .watch(&WatchParams::default().timeout(10), &from.to_string())
            .await
            .expect("the watch starts")
            .boxed();
        match next(&mut events).await.expect("an event") {
            WatchEvent::Error(status) => assert_eq!(status.code, 410, "{status:?}"),
            other => panic!("expected 410 Gone from {from}, got {other:?}"),
        }
        let end = tokio::time::timeout(PATIENCE, events.next()).await;
        assert!(matches!(end, Ok(None)), "the stream ends after the error");
    };
    expect_gone(version(&first) - 1).await;
    // The last event was kept: a watch from just before it still works.
    let mut events = maps
        .watch(
            &WatchParams::default().timeout(10),
            &version(&first).to_string(),
        )
        .await
        .expect("watch")
        .boxed();
    match next(&mut events).await.expect("an event") {
        WatchEvent::Added(m) => assert_eq!(m.name_any(), "second"),
        other => panic!("expected the kept event, got {other:?}"),
    }
    drop(events);

    // With the log emptied, only the current version can be watched from.
    store.compact_keeping(0).await.expect("compact");
    expect_gone(version(&first)).await;
    let mut events = maps
        .watch(
            &WatchParams::default().timeout(10),
            &version(&second).to_string(),
        )
        .await
        .expect("watch")
        .boxed();
    maps.create(&pp, &config_map("third", &[], &[]))
        .await
        .expect("create");
    match next(&mut events).await.expect("an event") {
        WatchEvent::Added(m) => assert_eq!(m.name_any(), "third"),
        other => panic!("expected the new creation, got {other:?}"),
    }
    drop(events);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kube_rs_watcher_relists_after_410() {
    let env = Env::start().await;
    env.namespace("relist").await;
    let maps = env.config_maps("relist");
    let pp = PostParams::default();
    maps.create(&pp, &config_map("before", &[], &[]))
        .await
        .expect("create");
    // Short watches, so that the watcher re-watches from its last version every second.
    let mut events = watcher(maps.clone(), watcher::Config::default().timeout(1)).boxed();
    assert_eq!(initial_list(&mut events).await, ["before"]);
    maps.create(&pp, &config_map("during", &[], &[]))
        .await
        .expect("create");
    match next(&mut events).await.expect("a watcher event") {
        watcher::Event::Apply(map) => assert_eq!(map.name_any(), "during"),
        other => panic!("expected the creation, got {other:?}"),
    }
    // A write the config-map watcher does not see, then the log is emptied: the watcher's
    // version is now older than the log.
    Api::<Secret>::namespaced(env.client.clone(), "relist")
        .create(&pp, &object(json!({"metadata": {"name": "elsewhere"}})))
        .await
        .expect("create");
    env.server
        .server
        .state
        .store
        .compact_keeping(0)
        .await
        .expect("compact");
    match next(&mut events).await {
        Err(watcher::Error::WatchError(status)) => assert_eq!(status.code, 410, "{status:?}"),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
    assert_eq!(initial_list(&mut events).await, ["before", "during"]);
    maps.create(&pp, &config_map("after", &[], &[]))
        .await
        .expect("create");
    match next(&mut events).await.expect("a watcher event") {
        watcher::Event::Apply(map) => assert_eq!(map.name_any(), "after"),
        other => panic!("expected the creation after the re-list, got {other:?}"),
    }
    drop(events);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kube_rs_watcher_relists_after_the_periodic_compaction() {
    let env = Env::start().await;
    env.namespace("window").await;
    let maps = env.config_maps("window");
    let pp = PostParams::default();
    maps.create(&pp, &config_map("before", &[], &[]))
        .await
        .expect("create");
    let mut events = watcher(maps.clone(), watcher::Config::default().timeout(1)).boxed();
    assert_eq!(initial_list(&mut events).await, ["before"]);
    // Writes the watcher does not see, then the compaction the server runs every minute,
    // here with no window: everything up to now is history.
    Api::<Secret>::namespaced(env.client.clone(), "window")
        .create(&pp, &object(json!({"metadata": {"name": "elsewhere"}})))
        .await
        .expect("create");
    let store = &env.server.server.state.store;
    let mut compactor = govcloud_apiserver::store::Compactor::new(Duration::ZERO);
    let dropped = compactor.tick(store).await.expect("compact");
    assert!(dropped >= 3, "dropped {dropped} events");
    match next(&mut events).await {
        Err(watcher::Error::WatchError(status)) => {
            assert_eq!(
                (status.code, status.reason.as_str()),
                (410, "Expired"),
                "{status:?}"
            );
        }
        other => panic!("expected 410 Gone, got {other:?}"),
    }
    assert_eq!(initial_list(&mut events).await, ["before"]);
    maps.create(&pp, &config_map("after", &[], &[]))
        .await
        .expect("create");
    match next(&mut events).await.expect("a watcher event") {
        watcher::Event::Apply(map) => assert_eq!(map.name_any(), "after"),
        other => panic!("expected the creation after the re-list, got {other:?}"),
    }
    drop(events);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paginated_list_stays_consistent_under_compaction() {
    let env = Env::start().await;
    env.namespace("paging").await;
    let maps = env.config_maps("paging");
    let pp = PostParams::default();
    let all: BTreeSet<String> = (0..30).map(|i| format!("m{i:02}")).collect();
    for name in &all {
        maps.create(&pp, &config_map(name, &[("round", "0")], &[]))
            .await
            .expect("create");
    }
    let store = &env.server.server.state.store;
    // Pages of 7 while every object is relabelled and the log compacted between pages, with a
    // window that still holds what changed since the list began: every object once, in order,
    // every page at the version of the first.
    let params = ListParams::default().limit(7);
    let mut listed = Vec::new();
    let mut page = maps.list(&params).await.expect("first page");
    let list_version = page.metadata.resource_version.clone();
    loop {
        listed.extend(page.items.iter().map(ResourceExt::name_any));
        assert_eq!(page.metadata.resource_version, list_version);
        let Some(token) = page.metadata.continue_.clone().filter(|t| !t.is_empty()) else {
            break;
        };
        for name in all.iter().skip(listed.len() - 1).take(3) {
            maps.patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"round": "1"}}})),
            )
            .await
            .expect("relabel");
        }
        // The 30 creations go; the 12 relabellings since the list began stay.
        store.compact_keeping(15).await.expect("compact");
        page = maps
            .list(&params.clone().continue_token(&token))
            .await
            .expect("next page");
    }
    assert_eq!(listed, all.iter().cloned().collect::<Vec<_>>());

    // A compaction past the list's version expires its continue token, as Kubernetes does;
    // listing again from the start works.
    let first = maps.list(&params).await.expect("first page");
    let token = first.metadata.continue_.clone().expect("a continue token");
    maps.create(&pp, &config_map("late", &[], &[]))
        .await
        .expect("create");
    store.compact_keeping(0).await.expect("compact");
    let status = failure(maps.list(&params.clone().continue_token(&token)).await);
    assert_eq!(
        (status.code, status.reason.as_str()),
        (410, "Expired"),
        "{status:?}"
    );
    let again = maps.list(&ListParams::default()).await.expect("list again");
    assert_eq!(again.items.len(), all.len() + 1);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pushed_down_selectors_page_like_the_selectors_match() {
    use govcloud_apiserver::selector::{LabelSelector, labels_of};

    let env = Env::start().await;
    env.namespace("mixed").await;
    let maps = env.config_maps("mixed");
    let pp = PostParams::default();
    let apps = ["web", "db", "cache", ""];
    for i in 0..40_usize {
        let mut labels = vec![("wave", (i % 3).to_string())];
        if i % 4 != 3 {
            labels.push(("app", apps[i % 4].to_owned()));
        }
        if i % 5 == 0 {
            labels.push(("legacy", String::new()));
        }
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        maps.create(&pp, &config_map(&format!("m{i:02}"), &labels, &[]))
            .await
            .expect("create");
    }
    let everything = maps.list(&ListParams::default()).await.expect("list");
    for selector in [
        "app=web",
        "app!=web",
        "app in (web,cache)",
        "app notin (web,cache)",
        "!app",
        "app",
        "legacy",
        "!legacy,wave=1",
        "wave notin (0),app notin (db)",
        "wave>0",
        "missing notin (x)",
    ] {
        let parsed = LabelSelector::parse(selector).expect("a selector");
        let expected: Vec<String> = everything
            .items
            .iter()
            .filter(|m| parsed.matches(&labels_of(&serde_json::to_value(m).expect("json"))))
            .map(ResourceExt::name_any)
            .collect();
        let mut params = ListParams::default().labels(selector).limit(4);
        let mut paged = Vec::new();
        loop {
            let page = maps.list(&params).await.expect("page");
            paged.extend(page.items.iter().map(ResourceExt::name_any));
            match page.metadata.continue_.filter(|t| !t.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        assert_eq!(paged, expected, "labelSelector={selector}");
    }
    env.stop().await;
}

// 12. CRD lifecycle

fn widget_crd() -> CustomResourceDefinition {
    object(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["size"],
                            "properties": {"size": {"type": "integer", "minimum": 1}},
                        },
                        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                    },
                }},
            }],
        },
    }))
}

fn widget(name: &str, spec: &Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})
}

#[tokio::test(flavor = "multi_thread")]
async fn crds_are_served_updated_and_removed() {
    let env = Env::start().await;
    env.namespace("crd").await;
    let client = &env.client;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    crds.create(&PostParams::default(), &widget_crd())
        .await
        .expect("create the CRD");

    // Discoverable and servable at once.
    let (resource, capabilities) = discovery::pinned_kind(client, &gvk)
        .await
        .expect("the new kind is discovered");
    assert_eq!(resource.plural, "widgets");
    assert_eq!(capabilities.scope, Scope::Namespaced);
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "crd", &resource);
    let created = widgets
        .create(
            &PostParams::default(),
            &object(widget("w1", &json!({"size": 3}))),
        )
        .await
        .expect("create a widget");
    assert_eq!(created.data["spec"]["size"], 3);

    // Invalid objects are 422 naming the field.
    for (spec, field) in [(json!({"size": 0}), "spec.size"), (json!({}), "spec.size")] {
        let status = failure(
            widgets
                .create(&PostParams::default(), &object(widget("bad", &spec)))
                .await,
        );
        assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
        let fields: Vec<&str> = status
            .details
            .iter()
            .flat_map(|d| &d.causes)
            .map(|c| c.field.as_str())
            .collect();
        assert!(fields.contains(&field), "{spec}: {fields:?}");
    }

    // A field and a printer column added by an update take effect.
    let strict_create = async |name: &str| {
        raw(
            client,
            "POST",
            "/apis/example.com/v1/namespaces/crd/widgets?fieldValidation=Strict",
            &[("Content-Type", "application/json")],
            Some(&widget(name, &json!({"size": 2, "color": "red"}))),
        )
        .await
    };
    let columns = async || {
        let table = raw(
            client,
            "GET",
            "/apis/example.com/v1/namespaces/crd/widgets",
            &[("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
            None,
        )
        .await
        .expect("a table");
        table["columnDefinitions"]
            .as_array()
            .expect("columns")
            .iter()
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    // Unknown fields under `fieldValidation=Strict` are a strict decoding error: 400, as in
    // kube-apiserver.
    let status = failure(strict_create("red").await);
    assert_eq!(status.code, 400, "{}", status.message);
    assert!(status.message.contains("color"), "{}", status.message);
    assert!(!columns().await.contains(&"Color".to_owned()));
    let mut crd = serde_json::to_value(crds.get("widgets.example.com").await.expect("get"))
        .expect("serialise");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["color"] =
        json!({"type": "string"});
    crd["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array_mut()
        .expect("columns")
        .push(json!({"name": "Color", "type": "string", "jsonPath": ".spec.color"}));
    crds.replace("widgets.example.com", &PostParams::default(), &object(crd))
        .await
        .expect("update the CRD");
    let red = strict_create("red")
        .await
        .expect("the new field is accepted");
    assert_eq!(red["spec"]["color"], "red");
    assert!(columns().await.contains(&"Color".to_owned()));

    // Deleting the CRD stops serving it and deletes its instances.
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .expect("delete the CRD");
    let status = failure(discovery::pinned_kind(client, &gvk).await);
    assert_eq!(status.code, 404, "{}", status.message);
    let discovered = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    assert!(!discovered.has_group("example.com"));
    assert_eq!(
        failure(widgets.list(&ListParams::default()).await).code,
        404
    );
    let store = &env.server.server.state.store;
    eventually("the instances are deleted", async || {
        let (left, _) = store
            .list("example.com/widgets", None, None, None)
            .await
            .expect("store list");
        left.is_empty().then_some(())
    })
    .await;
    crds.create(&PostParams::default(), &widget_crd())
        .await
        .expect("create the CRD again");
    let list = widgets.list(&ListParams::default()).await.expect("list");
    assert!(list.items.is_empty(), "{:?}", names(&list.items));
    env.stop().await;
}

// 13. concurrency

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_conflict_cleanly_and_every_change_is_watched_once() {
    const TASKS: usize = 20;
    const OPERATIONS: usize = 10;
    let env = Env::start().await;
    env.namespace("race").await;
    let maps = env.config_maps("race");
    let shared = maps
        .create(&PostParams::default(), &config_map("shared", &[], &[]))
        .await
        .expect("create");
    let start = version(&shared);

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let maps = maps.clone();
        tasks.push(tokio::spawn(async move {
            let pp = PostParams::default();
            let key = format!("task-{task:02}");
            let mut written = Vec::new();
            let mut conflicts = 0;
            let mut own = maps
                .create(&pp, &config_map(&key, &[], &[("step", "0")]))
                .await
                .expect("create");
            written.push(version(&own));
            for step in 1..OPERATIONS {
                if step % 2 == 0 {
                    own.data = Some(BTreeMap::from([("step".to_owned(), step.to_string())]));
                    own = maps
                        .replace(&key, &pp, &own)
                        .await
                        .expect("nobody else writes this object");
                    written.push(version(&own));
                    continue;
                }
                let mut current = maps.get("shared").await.expect("get");
                current
                    .data
                    .get_or_insert_default()
                    .insert(key.clone(), step.to_string());
                match maps.replace("shared", &pp, &current).await {
                    Ok(updated) => written.push(version(&updated)),
                    Err(kube::Error::Api(status)) if status.code == 409 => conflicts += 1,
                    Err(other) => panic!("an update either succeeds or conflicts: {other}"),
                }
            }
            (key, written, conflicts)
        }));
    }
    let mut written = Vec::new();
    let mut shared_writers = BTreeSet::new();
    let mut conflicts = 0;
    for task in tasks {
        let (key, versions, task_conflicts) = task.await.expect("task");
        assert_eq!(versions.len() + task_conflicts, OPERATIONS);
        if versions.len() > OPERATIONS / 2 {
            shared_writers.insert(key);
        }
        written.extend(versions);
        conflicts += task_conflicts;
    }
    let unique: HashSet<u64> = written.iter().copied().collect();
    assert_eq!(
        unique.len(),
        written.len(),
        "every write has its own version"
    );
    assert!(written.iter().all(|&v| v > start));
    println!("{} writes, {conflicts} conflicts", written.len());

    // No update was lost: every task whose shared update succeeded left its key.
    let shared = maps.get("shared").await.expect("get");
    let keys: BTreeSet<String> = shared.data.unwrap_or_default().into_keys().collect();
    assert!(
        keys.is_superset(&shared_writers),
        "{keys:?} ⊉ {shared_writers:?}"
    );
    let list = maps.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), TASKS + 1);
    let finals: HashSet<u64> = list.items.iter().map(version).collect();
    assert_eq!(finals.len(), list.items.len(), "final versions are unique");

    // The event log has every change exactly once, in order.
    let mut events = maps
        .watch(&WatchParams::default().timeout(30), &start.to_string())
        .await
        .expect("watch")
        .boxed();
    let mut watched = Vec::new();
    while watched.len() < written.len() {
        match next(&mut events).await.expect("an event") {
            WatchEvent::Added(m) | WatchEvent::Modified(m) => watched.push(version(&m)),
            WatchEvent::Bookmark(_) => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(
        watched.windows(2).all(|pair| pair[0] < pair[1]),
        "increasing versions: {watched:?}"
    );
    let mut expected = written.clone();
    expected.sort_unstable();
    assert_eq!(watched, expected);
    let extra = tokio::time::timeout(Duration::from_millis(500), events.next()).await;
    assert!(
        matches!(extra, Err(_) | Ok(Some(Ok(WatchEvent::Bookmark(_))))),
        "no event beyond the writes: {extra:?}"
    );
    drop(events);

    // Writes without a resource version (merge patches, applies) never conflict: the server
    // retries them on the latest version, as kube-apiserver does.
    maps.create(&PostParams::default(), &config_map("patched", &[], &[]))
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let maps = maps.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("task-{task:02}");
            for step in 0..OPERATIONS / 2 {
                let result = if task % 2 == 0 {
                    let patch = json!({"data": {&key: step.to_string()}});
                    maps.patch("patched", &PatchParams::default(), &Patch::Merge(patch))
                        .await
                } else {
                    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "patched"}, "data": {&key: step.to_string()}});
                    maps.patch("patched", &PatchParams::apply(&key), &Patch::Apply(config))
                        .await
                };
                if let Err(error) = result {
                    panic!("{key}: a write without a resource version failed: {error}");
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let patched = maps.get("patched").await.expect("get");
    let data = patched.data.unwrap_or_default();
    assert_eq!(data.len(), TASKS, "{data:?}");
    let final_step = (OPERATIONS / 2 - 1).to_string();
    assert!(data.values().all(|v| *v == final_step), "{data:?}");
    env.stop().await;
}
