//! The synthetic province (`govcloud_tests::province`): the same spec gives byte-identical
//! files and another seed different ones; every manifest validates against its CRD; two small
//! cities seeded into local mode are all accepted and converge to the outcomes the data set is
//! built for (classified systems rejected, approved ones scheduled, prefixes and VLANs
//! allocated, quota requests decided); and kubectl applies a city server-side.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use govcloud_controller::local::{self, LocalControlPlane, LocalOptions};
use govcloud_tests::local::{kubectl, kubectl_or_skip};
use govcloud_tests::province::{CitySize, Province, ProvinceSpec, generate};
use govcloud_tests::schema::SchemaSet;
use govcloud_tests::validate_manifests;
use kube::api::{Api, DynamicObject, GroupVersionKind, ListParams};
use kube::{Client, ResourceExt as _};
use serde_json::Value;

fn small(cities: usize, seed: u64) -> ProvinceSpec {
    ProvinceSpec {
        seed,
        cities,
        city: CitySize::small(),
    }
}

fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|entry| {
            let entry = entry.expect("entry");
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).expect("read a file"),
            )
        })
        .collect()
}

#[test]
fn the_same_spec_gives_the_same_bytes_and_another_seed_does_not() {
    let first = tempfile::tempdir().expect("tempdir");
    let second = tempfile::tempdir().expect("tempdir");
    let other = tempfile::tempdir().expect("tempdir");
    let written = generate(&small(3, 42))
        .write_to(first.path())
        .expect("write");
    generate(&small(3, 42))
        .write_to(second.path())
        .expect("write");
    generate(&small(3, 43))
        .write_to(other.path())
        .expect("write");
    assert_eq!(written.len(), 12 * 3, "one file per kind and city");
    let (a, b, c) = (
        files_in(first.path()),
        files_in(second.path()),
        files_in(other.path()),
    );
    assert_eq!(a, b);
    assert_eq!(a.keys().collect::<Vec<_>>(), c.keys().collect::<Vec<_>>());
    assert_ne!(a, c);
    // A city's data does not depend on how many cities follow it.
    let one = generate(&small(1, 42)).render();
    let three = generate(&small(3, 42)).render();
    let first_city = |files: &[(String, String)]| -> Vec<String> {
        files
            .iter()
            .filter(|(name, _)| name.ends_with("-c01.yaml"))
            .map(|(_, text)| text.lines().skip(1).collect::<Vec<_>>().join("\n"))
            .collect()
    };
    assert_eq!(first_city(&one), first_city(&three));
}

#[test]
fn the_sizes_are_what_they_promise_and_names_are_unique() {
    let large = generate(&ProvinceSpec {
        seed: 1,
        cities: 2,
        city: CitySize::large(),
    });
    let counts = large.counts_by_kind();
    let size = CitySize::large();
    assert_eq!(counts["Tenant"], 2 * size.tenants());
    assert!((450..=550).contains(&size.tenants()));
    assert_eq!(counts["Namespace"], 2 * size.tenants());
    assert_eq!(counts["Router"], 2 * size.routers());
    assert_eq!(counts["ExtranetLink"], 2 * size.links());
    assert_eq!(counts["SystemMigration"], 2 * 5000);
    assert_eq!(counts["DedicatedNetwork"], 2 * 50);
    assert_eq!(counts["AddressPool"], 2 * 2);
    let per_city = large.object_count() / 2;
    assert!(
        (6000..=6800).contains(&per_city),
        "{per_city} objects per city"
    );
    let small_city = generate(&small(1, 1)).object_count();
    assert!((200..=400).contains(&small_city), "{small_city} objects");

    let mut seen = BTreeSet::new();
    for object in large.objects() {
        let key = (
            object["kind"].as_str().unwrap_or_default().to_owned(),
            object["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        assert!(key.2.starts_with("c0"), "{key:?} carries its city's code");
        assert!(seen.insert(key.clone()), "{key:?} twice");
    }
}

#[test]
fn every_generated_manifest_validates_against_its_crd() {
    let schemas = SchemaSet::govcloud().expect("schemas");
    for spec in [
        small(2, 7),
        ProvinceSpec {
            seed: 7,
            cities: 1,
            city: CitySize::large(),
        },
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        generate(&spec).write_to(dir.path()).expect("write");
        let problems = validate_manifests(dir.path(), &schemas).expect("read");
        assert!(
            problems.is_empty(),
            "invalid generated manifests:\n{}",
            problems.join("\n")
        );
    }
}

async fn start_local(data_dir: &Path, seed: Option<&Path>) -> LocalControlPlane {
    local::start(&LocalOptions {
        data_dir: data_dir.to_path_buf(),
        seed: seed.map(Path::to_path_buf),
        api_address: "127.0.0.1:0".parse().expect("address"),
        controller_api_address: "127.0.0.1:0".parse().expect("address"),
        metrics_address: "127.0.0.1:0".parse().expect("address"),
        agent_api_address: "127.0.0.1:0".parse().expect("address"),
        telemetry_retention: govcloud_controller::network::retention::DEFAULT_RETENTION,
        operations_tenant: Some("c01".to_owned()),
        audit_log: None,
    })
    .await
    .expect("start local mode")
}

async fn list(client: &Client, kind: &str) -> Vec<DynamicObject> {
    let gvk = GroupVersionKind::gvk("govcloud.io", "v1alpha1", kind);
    let (resource, _) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .unwrap_or_else(|error| panic!("discover {kind}: {error}"));
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    api.list(&ListParams::default())
        .await
        .unwrap_or_else(|error| panic!("list {kind}: {error}"))
        .items
}

fn status<'a>(object: &'a DynamicObject, pointer: &str) -> Option<&'a Value> {
    object.data.pointer(&format!("/status{pointer}"))
}

fn text<'a>(object: &'a DynamicObject, pointer: &str) -> &'a str {
    object
        .data
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The first object of a reconciled kind not observed at its generation.
async fn unobserved(client: &Client, province: &Province) -> Option<String> {
    let reconciled: BTreeSet<&str> = govcloud_controller::controllers::CONTROLLERS
        .iter()
        .map(|controller| controller.reconciles)
        .collect();
    for kind in &reconciled {
        let objects = list(client, kind).await;
        let expected = province.objects_of(kind).count();
        if objects.len() != expected {
            return Some(format!("{} {kind} objects, not {expected}", objects.len()));
        }
        for object in &objects {
            let observed = status(object, "/observedGeneration").and_then(Value::as_i64);
            if observed != object.metadata.generation {
                return Some(format!(
                    "{kind} {} observed generation {observed:?} of {:?}",
                    object.name_any(),
                    object.metadata.generation
                ));
            }
        }
    }
    None
}

/// The first system not in the phase its classification and approval lead to.
async fn systems_unmet(client: &Client) -> Option<String> {
    for system in list(client, "SystemMigration").await {
        let phase = status(&system, "/phase")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let expected = if text(&system, "/spec/classification") == "Classified" {
            "Rejected"
        } else if system.data.pointer("/spec/approval").is_some() {
            "Scheduled"
        } else {
            "Assessed"
        };
        if phase != expected {
            return Some(format!(
                "system {} is {phase:?}, not {expected}",
                system.name_any()
            ));
        }
    }
    None
}

/// The first router without a prefix of its level, or a pool that allocated nothing.
async fn addresses_unmet(client: &Client) -> Option<String> {
    let mut prefixes = BTreeSet::new();
    for router in list(client, "Router").await {
        let Some(prefix) = status(&router, "/prefix").and_then(Value::as_str) else {
            return Some(format!("router {} has no prefix", router.name_any()));
        };
        let length = match router
            .labels()
            .get("govcloud.io/site-level")
            .map(String::as_str)
        {
            Some("city") => "/40",
            Some("county") => "/48",
            _ => "/56",
        };
        if !prefix.ends_with(length) || !prefixes.insert(prefix.to_owned()) {
            return Some(format!("router {} has prefix {prefix}", router.name_any()));
        }
    }
    for pool in list(client, "AddressPool").await {
        if status(&pool, "/allocated")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            == 0
        {
            return Some(format!("pool {} allocated nothing", pool.name_any()));
        }
    }
    None
}

/// The first dedicated network with the wrong disposition or unallocated sites.
async fn networks_unmet(client: &Client) -> Option<String> {
    for network in list(client, "DedicatedNetwork").await {
        let disposition = status(&network, "/disposition").and_then(Value::as_str);
        let classified = text(&network, "/spec/classification") == "Classified";
        let retired = network.data.pointer("/spec/retire") == Some(&Value::Bool(true));
        let expected = if classified {
            "MigrateToIntranet"
        } else if retired {
            "Retire"
        } else {
            "MigrateToExtranet"
        };
        if disposition != Some(expected) {
            return Some(format!(
                "network {} disposition {disposition:?}",
                network.name_any()
            ));
        }
        let sites = network
            .data
            .pointer("/spec/sites")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let allocated = status(&network, "/sites")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if expected == "MigrateToExtranet" && allocated != sites {
            return Some(format!(
                "network {} has {allocated} of {sites} sites allocated",
                network.name_any()
            ));
        }
    }
    None
}

/// Quota requests not one applied, one denied and one pending per city.
async fn requests_unmet(client: &Client, province: &Province) -> Option<String> {
    let mut request_phases = BTreeMap::<String, usize>::new();
    for request in list(client, "QuotaRequest").await {
        let phase = status(&request, "/phase")
            .and_then(Value::as_str)
            .unwrap_or_default();
        *request_phases.entry(phase.to_owned()).or_default() += 1;
    }
    let cities = province.spec().cities;
    let expected: BTreeMap<String, usize> =
        [("Applied", cities), ("Denied", cities), ("Pending", cities)]
            .into_iter()
            .map(|(phase, count)| (phase.to_owned(), count))
            .collect();
    if request_phases != expected {
        return Some(format!("quota requests by phase: {request_phases:?}"));
    }
    None
}

/// The first tenant that is not Ready.
async fn tenants_unmet(client: &Client) -> Option<String> {
    for tenant in list(client, "Tenant").await {
        let ready = status(&tenant, "/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        if !ready {
            return Some(format!("tenant {} is not Ready", tenant.name_any()));
        }
    }
    None
}

/// The first expectation the cluster does not meet yet, or `None` when it meets them all.
async fn unmet(client: &Client, province: &Province) -> Option<String> {
    if let Some(problem) = unobserved(client, province).await {
        return Some(problem);
    }
    if let Some(problem) = systems_unmet(client).await {
        return Some(problem);
    }
    if let Some(problem) = addresses_unmet(client).await {
        return Some(problem);
    }
    if let Some(problem) = networks_unmet(client).await {
        return Some(problem);
    }
    if let Some(problem) = requests_unmet(client, province).await {
        return Some(problem);
    }
    tenants_unmet(client).await
}

async fn wait_until_converged(client: &Client, province: &Province) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let Some(problem) = unmet(client, province).await else {
            return;
        };
        assert!(
            Instant::now() < deadline,
            "not converged after 300 s: {problem}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_small_cities_seeded_into_local_mode_are_accepted_and_converge() {
    let province = generate(&small(2, 11));
    let manifests = tempfile::tempdir().expect("tempdir");
    province.write_to(manifests.path()).expect("write");
    let data = tempfile::tempdir().expect("tempdir");
    let plane = start_local(data.path(), Some(manifests.path())).await;
    let report = plane.seed.clone().expect("a seed report");
    assert_eq!(
        usize::try_from(report.total()).expect("count"),
        province.object_count()
    );
    for (kind, count) in province.counts_by_kind() {
        assert_eq!(
            report.objects_by_kind.get(&kind).copied(),
            Some(count as u64),
            "{kind}"
        );
    }
    wait_until_converged(&plane.client, &province).await;
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_applies_a_generated_city_server_side() {
    let Some(kubectl_path) = kubectl_or_skip("kubectl_applies_a_generated_city_server_side") else {
        return;
    };
    let province = generate(&small(1, 5));
    let manifests = tempfile::tempdir().expect("tempdir");
    province.write_to(manifests.path()).expect("write");
    let data = tempfile::tempdir().expect("tempdir");
    let plane = start_local(data.path(), None).await;
    let kubeconfig = plane.api.kubeconfig.clone();
    let directory = manifests.path().to_string_lossy().into_owned();
    let output = tokio::task::spawn_blocking(move || {
        kubectl(
            &kubectl_path,
            &kubeconfig,
            &["apply", "--server-side", "-f", &directory],
        )
    })
    .await
    .expect("kubectl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let applied = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.ends_with(" serverside-applied"))
        .count();
    assert_eq!(applied, province.object_count());
    wait_until_converged(&plane.client, &province).await;
    plane.shutdown().await;
}
