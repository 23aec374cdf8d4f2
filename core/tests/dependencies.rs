//! The core stays pure: nothing in its dependency tree is a Kubernetes client, a database
//! driver, an async runtime, an HTTP stack or a socket library. The tree is what building the
//! core alone compiles: the normal and build dependencies of `cargo metadata`, with optional
//! dependencies followed only where a feature the core's own tree asks for enables them (the
//! workspace's resolve unifies features across members, so `kube` shows the client the
//! controller enables; the core does not ask for it). A dependency that brings an I/O crate in
//! fails this test, naming the chain that pulled it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Package names (or prefixes of names) that do I/O, and why they are kept out.
const FORBIDDEN: &[(&str, &str)] = &[
    ("kube-client", "a Kubernetes client"),
    ("kube-runtime", "controllers and watches"),
    ("sqlx", "a database driver"),
    ("tokio", "an async runtime"),
    ("mio", "sockets"),
    ("axum", "an HTTP server"),
    ("hyper", "an HTTP stack"),
    ("tower", "network services"),
    ("reqwest", "an HTTP client"),
    ("ureq", "an HTTP client"),
    ("rustls", "TLS"),
    ("netlink", "netlink sockets"),
    ("prometheus", "metrics registries (the glue owns them)"),
];

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// The packages reachable from a root through normal and build dependencies, following
/// optional dependencies only where an enabled feature turns them on.
struct Tree<'m> {
    packages: BTreeMap<&'m str, &'m Value>,
    nodes: BTreeMap<&'m str, &'m Value>,
    /// Each reached package, with the package that first pulled it in.
    parent: BTreeMap<String, Option<String>>,
    features: BTreeMap<String, BTreeSet<String>>,
    /// Optional dependencies turned on, per package (by package name).
    enabled_optional: BTreeSet<(String, String)>,
    /// Features asked of a dependency through `dep?/feature` before the dependency was on.
    weak: BTreeMap<(String, String), BTreeSet<String>>,
}

impl<'m> Tree<'m> {
    fn new(metadata: &'m Value) -> Self {
        let list = |key: &str| -> BTreeMap<&'m str, &'m Value> {
            let values = match key {
                "packages" => metadata["packages"].as_array(),
                _ => metadata["resolve"]["nodes"].as_array(),
            };
            values
                .into_iter()
                .flatten()
                .map(|value| (value["id"].as_str().expect("an id"), value))
                .collect()
        };
        Self {
            packages: list("packages"),
            nodes: list("nodes"),
            parent: BTreeMap::new(),
            features: BTreeMap::new(),
            enabled_optional: BTreeSet::new(),
            weak: BTreeMap::new(),
        }
    }

    fn name(&self, id: &str) -> String {
        self.packages[id]["name"].as_str().unwrap_or(id).to_owned()
    }

    /// The declarations of `id`'s normal and build dependencies named `name` (any name when
    /// `None`).
    fn declarations(&self, id: &str, name: Option<&str>) -> Vec<&'m Value> {
        self.packages[id]["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|dep| dep["kind"].as_str() != Some("dev"))
            .filter(|dep| name.is_none_or(|name| dep["name"].as_str() == Some(name)))
            .collect()
    }

    /// The resolved package of `id`'s dependency on the package named `name`.
    fn resolved(&self, id: &str, name: &str) -> Option<String> {
        self.nodes[id]["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|dep| dep["pkg"].as_str())
            .find(|pkg| self.name(pkg) == name)
            .map(str::to_owned)
    }

    fn reach(&mut self, id: &str, from: Option<&str>) {
        if self.parent.contains_key(id) {
            return;
        }
        self.parent.insert(id.to_owned(), from.map(str::to_owned));
        for declaration in self.declarations(id, None) {
            if declaration["optional"].as_bool() != Some(true) {
                let name = declaration["name"].as_str().expect("a name").to_owned();
                self.use_dependency(id, &name, declaration);
            }
        }
    }

    fn use_dependency(&mut self, id: &str, name: &str, declaration: &Value) {
        let Some(child) = self.resolved(id, name) else {
            return;
        };
        self.reach(&child, Some(id));
        if declaration["uses_default_features"].as_bool() != Some(false) {
            self.activate(&child, "default");
        }
        for feature in declaration["features"].as_array().into_iter().flatten() {
            self.activate(&child, feature.as_str().expect("a feature"));
        }
        let pending = self
            .weak
            .remove(&(id.to_owned(), name.to_owned()))
            .unwrap_or_default();
        for feature in pending {
            self.activate(&child, &feature);
        }
    }

    fn enable_optional(&mut self, id: &str, name: &str) {
        if !self
            .enabled_optional
            .insert((id.to_owned(), name.to_owned()))
        {
            return;
        }
        for declaration in self.declarations(id, Some(name)) {
            self.use_dependency(id, name, declaration);
        }
    }

    fn activate(&mut self, id: &str, feature: &str) {
        if !self
            .features
            .entry(id.to_owned())
            .or_default()
            .insert(feature.to_owned())
        {
            return;
        }
        let Some(entries) = self.packages[id]["features"][feature].as_array() else {
            // A feature that is not declared is an optional dependency's implicit feature.
            self.enable_optional(id, feature);
            return;
        };
        for entry in entries {
            let entry = entry.as_str().expect("a feature entry");
            if let Some(dep) = entry.strip_prefix("dep:") {
                self.enable_optional(id, dep);
            } else if let Some((dep, dep_feature)) = entry.split_once('/') {
                let (dep, weak) = match dep.strip_suffix('?') {
                    Some(dep) => (dep, true),
                    None => (dep, false),
                };
                let optional = self
                    .declarations(id, Some(dep))
                    .iter()
                    .any(|d| d["optional"].as_bool() == Some(true));
                let on = !optional
                    || self
                        .enabled_optional
                        .contains(&(id.to_owned(), dep.to_owned()));
                if !on && !weak {
                    self.enable_optional(id, dep);
                }
                if on || !weak {
                    if let Some(child) = self.resolved(id, dep) {
                        self.activate(&child, dep_feature);
                    }
                } else {
                    self.weak
                        .entry((id.to_owned(), dep.to_owned()))
                        .or_default()
                        .insert(dep_feature.to_owned());
                }
            } else {
                self.activate(id, entry);
            }
        }
    }

    fn chain(&self, id: &str) -> String {
        let mut chain = vec![self.name(id)];
        let mut parent = self.parent[id].as_deref();
        while let Some(p) = parent {
            chain.push(self.name(p));
            parent = self.parent[p].as_deref();
        }
        chain.reverse();
        chain.join(" → ")
    }
}

fn core_tree(metadata: &Value) -> Tree<'_> {
    let root = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|package| package["name"] == "govcloud-core")
        .and_then(|package| package["id"].as_str())
        .expect("govcloud-core in the workspace");
    let mut tree = Tree::new(metadata);
    tree.reach(root, None);
    tree.activate(root, "default");
    tree
}

#[test]
fn core_has_no_io_crate_in_its_dependency_tree() {
    let metadata = metadata();
    let tree = core_tree(&metadata);
    let names: BTreeSet<String> = tree.parent.keys().map(|id| tree.name(id)).collect();
    for expected in ["govcloud-crds", "chrono", "k8s-openapi", "kube-core"] {
        assert!(
            names.contains(expected),
            "the walk reaches {expected}: {names:?}"
        );
    }
    let offences: Vec<String> = tree
        .parent
        .keys()
        .filter_map(|id| {
            let name = tree.name(id);
            FORBIDDEN
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
                .map(|(_, why)| format!("{name} ({why}): {}", tree.chain(id)))
        })
        .collect();
    assert!(
        offences.is_empty(),
        "I/O crates in govcloud-core's tree:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_walk_finds_the_client_where_the_controller_asks_for_it() {
    // The same walk from the controller must see kube's client: the test can tell.
    let metadata = metadata();
    let root = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|package| package["name"] == "govcloud-controller")
        .and_then(|package| package["id"].as_str())
        .expect("govcloud-controller in the workspace");
    let mut tree = Tree::new(&metadata);
    tree.reach(root, None);
    tree.activate(root, "default");
    let names: BTreeSet<String> = tree.parent.keys().map(|id| tree.name(id)).collect();
    for expected in ["kube-client", "kube-runtime", "sqlx", "tokio", "hyper"] {
        assert!(
            names.contains(expected),
            "the controller's tree has {expected}"
        );
    }
}
