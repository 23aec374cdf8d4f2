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
    assert!(problem.contains(".members: Invalid value: \"array\": an extranet link end needs exactly two distinct member interfaces"), "{problem}");
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

/// What the examples define, for resolving references between them.
struct Index {
    tenants: BTreeSet<String>,
    namespaces: BTreeSet<String>,
    router_interfaces: BTreeMap<String, BTreeSet<String>>,
    systems: BTreeSet<(String, String)>,
    dr_plans: BTreeSet<(String, String)>,
}

impl Index {
    fn new(documents: &[Document]) -> Self {
        let of_kind =
            |kind: &'static str| documents.iter().filter(move |d| d.type_meta().1 == kind);
        let namespaced = |kind: &'static str| -> BTreeSet<(String, String)> {
            of_kind(kind)
                .map(|d| {
                    (
                        text(&d.value, "/metadata/namespace").to_owned(),
                        d.name().to_owned(),
                    )
                })
                .collect()
        };
        let router_interfaces = of_kind("Router")
            .map(|router| {
                let interfaces = router
                    .value
                    .pointer("/spec/interfaces")
                    .and_then(Value::as_array);
                let names = interfaces
                    .into_iter()
                    .flatten()
                    .map(|i| text(i, "/name").to_owned())
                    .collect();
                (router.name().to_owned(), names)
            })
            .collect();
        Self {
            tenants: of_kind("Tenant").map(|d| d.name().to_owned()).collect(),
            namespaces: of_kind("Namespace").map(|d| d.name().to_owned()).collect(),
            router_interfaces,
            systems: namespaced("SystemMigration"),
            dr_plans: namespaced("DisasterRecoveryPlan"),
        }
    }

    /// The references of `document` that do not resolve.
    fn unresolved(&self, document: &Document) -> Vec<String> {
        let spec = &document.value["spec"];
        let namespace = text(&document.value, "/metadata/namespace");
        let mut missing = Vec::new();
        if !namespace.is_empty() && !self.namespaces.contains(namespace) {
            missing.push(format!("namespace {namespace}"));
        }
        match document.type_meta().1 {
            "Tenant" => {
                let parent = text(spec, "/parent");
                if !parent.is_empty() && !self.tenants.contains(parent) {
                    missing.push(format!("parent tenant {parent}"));
                }
            }
            "QuotaRequest" | "DedicatedNetwork" => {
                let tenant = [text(spec, "/tenant"), text(spec, "/department")].concat();
                if !self.tenants.contains(&tenant) {
                    missing.push(format!("tenant {tenant}"));
                }
                for site in spec["sites"].as_array().into_iter().flatten() {
                    self.router(text(site, "/router"), &[], &mut missing);
                }
            }
            "Router" => {
                let upstream = text(spec, "/upstream");
                if !upstream.is_empty() {
                    self.router(upstream, &[], &mut missing);
                }
            }
            "ExtranetLink" => {
                for end in ["upstream", "downstream"] {
                    let members: Vec<&str> = spec[end]["members"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    self.router(
                        text(spec, &format!("/{end}/router")),
                        &members,
                        &mut missing,
                    );
                }
            }
            "SystemMigration" => {
                for dependency in spec["dependsOn"].as_array().into_iter().flatten() {
                    let target = (
                        dependency
                            .get("namespace")
                            .and_then(Value::as_str)
                            .unwrap_or(namespace)
                            .to_owned(),
                        text(dependency, "/name").to_owned(),
                    );
                    if !self.systems.contains(&target) {
                        missing.push(format!("dependency {}/{}", target.0, target.1));
                    }
                }
            }
            "DisasterRecoveryDrill"
                if !self
                    .dr_plans
                    .contains(&(namespace.to_owned(), text(spec, "/plan").to_owned())) =>
            {
                missing.push(format!("plan {}", text(spec, "/plan")));
            }
            _ => {}
        }
        missing
    }

    fn router(&self, router: &str, interfaces: &[&str], missing: &mut Vec<String>) {
        match self.router_interfaces.get(router) {
            None => missing.push(format!("router {router}")),
            Some(known) => missing.extend(
                interfaces
                    .iter()
                    .filter(|i| !known.contains(**i))
                    .map(|i| format!("interface {i} of router {router}")),
            ),
        }
    }
}

/// The references between example objects resolve, as the reconcilers will require.
#[test]
fn references_between_examples_resolve() {
    let documents = examples();
    let index = Index::new(&documents);
    let broken: Vec<String> = documents
        .iter()
        .flat_map(|document| {
            index
                .unresolved(document)
                .into_iter()
                .map(move |m| format!("{document}: no {m}"))
        })
        .collect();
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
