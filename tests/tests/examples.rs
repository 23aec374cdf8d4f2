//! Every manifest under `examples/` validates against its CRD as the API server would, refers
//! only to objects the examples define, and the Ankang data set has the size of the real city.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use govcloud_tests::manifests::{Document, read_documents, yaml_files};
use govcloud_tests::schema::SchemaSet;
use govcloud_tests::{validate_manifests, workspace_root};
use serde_json::Value;

fn examples() -> Vec<Document> {
    let dir = workspace_root().join("examples");
    yaml_files(&dir)
        .expect("examples directory")
        .iter()
        .flat_map(|file| read_documents(file).unwrap_or_else(|error| panic!("{error}")))
        .collect()
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[test]
fn every_example_validates_against_its_crd() {
    let schemas = SchemaSet::govcloud().expect("schemas");
    let problems =
        validate_manifests(&workspace_root().join("examples"), &schemas).expect("read examples");
    assert!(
        problems.is_empty(),
        "invalid example manifests:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_malformed_example_is_reported_with_its_file_line_object_and_field() {
    let source = workspace_root().join("examples/ankang/40-extranet-links.yaml");
    let text = fs::read_to_string(&source).expect("links example");
    let first_members = text.find("members:").expect("a link with members");
    let line_end = first_members + text[first_members..].find('\n').expect("end of line");
    let mut broken = text.clone();
    broken.replace_range(first_members..line_end, "members: [only-one]");
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("links.yaml");
    fs::write(&copy, broken).expect("write");

    let schemas = SchemaSet::govcloud().expect("schemas");
    let problems = validate_manifests(dir.path(), &schemas).expect("read");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let problem = &problems[0];
    assert!(
        problem.starts_with(&format!("{}:", copy.display())),
        "{problem}"
    );
    assert!(problem.contains("(ExtranetLink "), "{problem}");
    assert!(problem.contains(".members: Invalid value: an extranet link end needs exactly two distinct member interfaces"), "{problem}");
}

#[test]
fn objects_are_unique_and_every_kind_is_exemplified() {
    let mut seen = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for document in examples() {
        let (api_version, kind) = document.type_meta();
        let key = (
            api_version.to_owned(),
            kind.to_owned(),
            text(&document.value, "/metadata/namespace").to_owned(),
            document.name().to_owned(),
        );
        assert!(seen.insert(key), "{document} is defined twice");
        if api_version == "govcloud.io/v1alpha1" {
            kinds.insert(kind.to_owned());
        }
    }
    let expected: BTreeSet<String> = govcloud_crds::crdgen::all()
        .into_iter()
        .map(|crd| crd.spec.names.kind)
        .collect();
    assert_eq!(kinds, expected);
}

/// The references between example objects resolve, as the reconcilers will require.
#[test]
fn references_between_examples_resolve() {
    let documents = examples();
    let names = |kind: &str| -> BTreeSet<String> {
        documents
            .iter()
            .filter(|d| d.type_meta().1 == kind)
            .map(|d| d.name().to_owned())
            .collect()
    };
    let tenants = names("Tenant");
    let namespaces = names("Namespace");
    let mut router_interfaces: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for router in documents.iter().filter(|d| d.type_meta().1 == "Router") {
        let interfaces = router
            .value
            .pointer("/spec/interfaces")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        router_interfaces.insert(
            router.name().to_owned(),
            interfaces
                .iter()
                .map(|i| text(i, "/name").to_owned())
                .collect(),
        );
    }
    let systems: BTreeSet<(String, String)> = documents
        .iter()
        .filter(|d| d.type_meta().1 == "SystemMigration")
        .map(|d| {
            (
                text(&d.value, "/metadata/namespace").to_owned(),
                d.name().to_owned(),
            )
        })
        .collect();
    let dr_plans: BTreeSet<(String, String)> = documents
        .iter()
        .filter(|d| d.type_meta().1 == "DisasterRecoveryPlan")
        .map(|d| {
            (
                text(&d.value, "/metadata/namespace").to_owned(),
                d.name().to_owned(),
            )
        })
        .collect();

    let mut broken = Vec::new();
    for document in &documents {
        let spec = &document.value["spec"];
        let namespace = text(&document.value, "/metadata/namespace");
        if !namespace.is_empty() && !namespaces.contains(namespace) {
            broken.push(format!("{document}: namespace {namespace} is not defined"));
        }
        match document.type_meta().1 {
            "Tenant" => {
                let parent = text(spec, "/parent");
                if !parent.is_empty() && !tenants.contains(parent) {
                    broken.push(format!("{document}: parent {parent} is not a tenant"));
                }
            }
            "QuotaRequest" | "DedicatedNetwork" => {
                let tenant = [text(spec, "/tenant"), text(spec, "/department")].concat();
                if !tenants.contains(&tenant) {
                    broken.push(format!("{document}: tenant {tenant} is not defined"));
                }
                for site in spec["sites"].as_array().into_iter().flatten() {
                    let router = text(site, "/router");
                    if !router_interfaces.contains_key(router) {
                        broken.push(format!("{document}: router {router} is not defined"));
                    }
                }
            }
            "Router" => {
                let upstream = text(spec, "/upstream");
                if !upstream.is_empty() && !router_interfaces.contains_key(upstream) {
                    broken.push(format!("{document}: upstream {upstream} is not a router"));
                }
            }
            "ExtranetLink" => {
                for end in ["upstream", "downstream"] {
                    let router = text(spec, &format!("/{end}/router"));
                    match router_interfaces.get(router) {
                        None => {
                            broken.push(format!("{document}: {end} router {router} is not defined"))
                        }
                        Some(interfaces) => {
                            for member in spec[end]["members"].as_array().into_iter().flatten() {
                                let member = member.as_str().unwrap_or_default();
                                if !interfaces.contains(member) {
                                    broken.push(format!(
                                        "{document}: {router} has no interface {member}"
                                    ));
                                }
                            }
                        }
                    }
                }
            }
            "SystemMigration" => {
                for dependency in spec["dependsOn"].as_array().into_iter().flatten() {
                    let target_namespace = dependency
                        .get("namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(namespace);
                    if !systems.contains(&(
                        target_namespace.to_owned(),
                        text(dependency, "/name").to_owned(),
                    )) {
                        broken.push(format!(
                            "{document}: dependency {target_namespace}/{} is not defined",
                            text(dependency, "/name")
                        ));
                    }
                }
            }
            "DisasterRecoveryDrill" => {
                if !dr_plans.contains(&(namespace.to_owned(), text(spec, "/plan").to_owned())) {
                    broken.push(format!(
                        "{document}: plan {} is not defined",
                        text(spec, "/plan")
                    ));
                }
            }
            _ => {}
        }
    }
    assert!(
        broken.is_empty(),
        "unresolved references:\n{}",
        broken.join("\n")
    );
}

/// The data set approaches the real city: ten county-level units, townships under each, and
/// links of both tiers.
#[test]
fn the_ankang_data_set_has_the_size_of_the_city() {
    let documents = examples();
    let count = |kind: &str, pointer: &str, value: &str| {
        documents
            .iter()
            .filter(|d| d.type_meta().1 == kind && text(&d.value, pointer) == value)
            .count()
    };
    assert_eq!(count("Tenant", "/spec/level", "City"), 1);
    assert_eq!(count("Tenant", "/spec/level", "County"), 10);
    assert!(count("Tenant", "/spec/level", "Department") >= 10);
    assert_eq!(count("Router", "/spec/site/level", "County"), 10);
    let townships = count("Router", "/spec/site/level", "Township");
    assert!(townships >= 50, "only {townships} township routers");
    assert_eq!(count("ExtranetLink", "/spec/tier", "CityCounty"), 10);
    assert_eq!(
        count("ExtranetLink", "/spec/tier", "CountyTownship"),
        townships
    );
    assert_eq!(
        count("SystemMigration", "/spec/classification", "Classified"),
        1
    );
    assert!(count("DedicatedNetwork", "/spec/classification", "Classified") >= 1);
    assert!(count("DedicatedNetwork", "/spec/classification", "Unclassified") >= 1);
}
