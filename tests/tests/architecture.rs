//! Docs that cannot drift: `docs/architecture.md`'s crate graph against `cargo metadata`, the
//! files it names against the tree, comments that cite only ADRs in the repository, no absolute
//! path of a particular machine in what users read, and a `//!` line opening every Rust file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
}

/// Every file of the repository (its path from the root), leaving out build output and VCS.
fn repository_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a readable directory") {
            let path = entry.expect("an entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                if !matches!(name, "target" | ".git" | ".govcloud" | "node_modules") {
                    walk(&path, root, out);
                }
            } else {
                out.push(path.strip_prefix(root).expect("inside the root").to_owned());
            }
        }
    }
    let root = root();
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    files.sort();
    files
}

/// `cargo metadata --no-deps` of the workspace.
fn workspace_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// The workspace's members and, for each, its normal dependencies on other members.
fn workspace_graph(metadata: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let packages = metadata["packages"].as_array().expect("packages");
    let members: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    packages
        .iter()
        .map(|package| {
            let deps = package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|dep| dep["kind"].is_null())
                .filter_map(|dep| dep["name"].as_str())
                .filter(|name| members.contains(*name))
                .map(str::to_owned)
                .collect();
            (package["name"].as_str().expect("a name").to_owned(), deps)
        })
        .collect()
}

/// The graph written in the page, between `<!-- crate-graph -->` and `<!-- /crate-graph -->`:
/// one `crate → dep, dep` line per crate, `(none)` for no dependency.
fn documented_graph(page: &str) -> BTreeMap<String, BTreeSet<String>> {
    let start = page
        .find("<!-- crate-graph -->")
        .expect("the page marks its crate graph");
    let end = page
        .find("<!-- /crate-graph -->")
        .expect("the crate graph's end marker");
    page[start..end]
        .lines()
        .filter_map(|line| line.split_once('→'))
        .map(|(name, deps)| {
            let deps = deps
                .split(',')
                .map(str::trim)
                .filter(|dep| !dep.is_empty() && *dep != "(none)")
                .map(str::to_owned)
                .collect();
            (name.trim().to_owned(), deps)
        })
        .collect()
}

#[test]
fn the_crate_graph_on_the_architecture_page_is_the_workspaces() {
    let page = read("docs/architecture.md");
    let documented = documented_graph(&page);
    let metadata = workspace_metadata();
    let actual = workspace_graph(&metadata);
    assert_eq!(
        documented, actual,
        "docs/architecture.md's crate graph (left) differs from cargo metadata (right)"
    );
    // The crate table names every member with its folder.
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().expect("a name");
        let manifest = Path::new(package["manifest_path"].as_str().expect("a manifest path"));
        let folder = manifest
            .parent()
            .and_then(|dir| dir.strip_prefix(root()).ok())
            .expect("a member inside the workspace")
            .display()
            .to_string();
        let row = format!("| `{name}` | `{folder}/` |");
        assert!(
            page.contains(&row),
            "docs/architecture.md's crate table lacks {row}"
        );
    }
}

/// Backticked words of `text` that look like files: `name.rs`, `dir/name.ext`, `dir/`.
fn named_files(text: &str) -> BTreeSet<String> {
    const EXTENSIONS: [&str; 8] = [
        ".rs", ".md", ".toml", ".yaml", ".sql", ".json", ".service", ".py",
    ];
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| !word.contains(' ') && !word.contains('<') && !word.contains('*'))
        .filter(|word| !word.starts_with('/') && !word.contains("://") && !word.contains("::"))
        // `DATA_DIR/govctl.toml`: a placeholder, not a path of the repository.
        .filter(|word| {
            !word.split('/').any(|part| {
                part.len() > 1 && part.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
        })
        .filter(|word| EXTENSIONS.iter().any(|ext| word.ends_with(ext)))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_file_the_architecture_page_names_exists() {
    let page = read("docs/architecture.md");
    let files = repository_files();
    let mut missing = Vec::new();
    for name in named_files(&page) {
        let found = if name.contains('/') {
            root().join(&name).exists()
                || root().join("docs").join(&name).exists()
                || files.iter().any(|f| f.ends_with(&name))
        } else {
            files
                .iter()
                .any(|f| f.file_name().is_some_and(|n| n == name.as_str()))
        };
        if !found {
            missing.push(name);
        }
    }
    // Links are relative to the page.
    for link in page
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
    {
        if !link.contains("://") && !link.starts_with('#') {
            let path = link.split('#').next().unwrap_or(link);
            if !root().join("docs").join(path).exists() {
                missing.push(link.to_owned());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/architecture.md names files that do not exist: {missing:?}"
    );
}

/// The text files people and tools read: sources, docs, manifests, units, scripts.
fn text_files() -> Vec<PathBuf> {
    repository_files()
        .into_iter()
        .filter(|path| {
            let name = path.to_string_lossy();
            [
                ".rs", ".md", ".toml", ".service", ".yaml", ".tpl", ".py", ".sh",
            ]
            .iter()
            .any(|ext| name.ends_with(ext))
                || name == ".ci/run"
                || name.starts_with(".ci/")
        })
        .collect()
}

#[test]
fn comments_cite_adrs_in_the_repository_or_nothing() {
    let mut offences = Vec::new();
    for path in text_files() {
        let text = std::fs::read_to_string(root().join(&path)).unwrap_or_default();
        let shown = path.display();
        for (number, line) in text.lines().enumerate() {
            let at = format!("{shown}:{}", number + 1);
            // An ADR cited by path must be in the repository.
            let mut rest = line;
            while let Some(start) = rest.find("adr/") {
                let cited: String = rest[start + 4..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                    .collect();
                let cited = cited.trim_end_matches('.');
                let is_markdown = Path::new(cited).extension().is_some_and(|e| e == "md");
                if is_markdown && !root().join("docs/adr").join(cited).exists() {
                    offences.push(format!(
                        "{at}: cites docs/adr/{cited}, which does not exist"
                    ));
                }
                rest = &rest[start + 4..];
            }
            // Documents outside the repository: the design, the issue tracker.
            let lower = line.to_lowercase();
            // (Spelled in parts, so that this test does not find itself.)
            let design = concat!("design", ".md");
            let shared = concat!("../", "shared");
            if lower.contains(design) || lower.contains(shared) {
                offences.push(format!("{at}: cites a document outside the repository"));
            }
            if let Some(position) = lower.find("issue ") {
                let after = &lower[position + 6..];
                if after.starts_with(|c: char| c.is_ascii_digit()) {
                    offences.push(format!("{at}: cites the issue tracker: {}", line.trim()));
                }
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

#[test]
fn what_users_read_names_no_path_of_a_particular_machine() {
    const MACHINE_PATHS: [&str; 4] = ["/work/", "/root/", "/Users/", "/tmp/ci"];
    let mut offences = Vec::new();
    for path in repository_files() {
        let name = path.to_string_lossy();
        let read_by_users = name == "README.md"
            || name.starts_with("docs/")
            || name.starts_with("bench/")
            || name.starts_with(".ci/")
            || name.ends_with(".service");
        if !read_by_users {
            continue;
        }
        let text = std::fs::read_to_string(root().join(&path)).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            if let Some(found) = MACHINE_PATHS.iter().find(|p| line.contains(*p)) {
                offences.push(format!("{name}:{}: {found} in {}", number + 1, line.trim()));
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

#[test]
fn every_rust_file_opens_with_a_line_on_its_role() {
    let missing: Vec<String> = repository_files()
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter(|path| {
            let text = std::fs::read_to_string(root().join(path)).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "Rust files without a `//!` line: {missing:?}"
    );
}

#[test]
fn the_controllers_on_the_architecture_page_are_the_ones_started() {
    use govcloud_controller::controllers::CONTROLLERS;

    let page = read("docs/architecture.md");
    let start = page
        .find("<!-- controllers -->")
        .expect("the page marks its controllers");
    let end = page
        .find("<!-- /controllers -->")
        .expect("the controllers' end marker");
    let documented: Vec<Vec<String>> = page[start..end]
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect();
    let listed: Vec<Vec<String>> = CONTROLLERS
        .iter()
        .map(|c| {
            [c.name, c.reconciles, c.field_manager, c.capability]
                .map(str::to_owned)
                .to_vec()
        })
        .collect();
    assert_eq!(
        documented, listed,
        "docs/architecture.md's controllers (left) against the code's"
    );

    // Every controller the source builds is listed, and each listed capability has the module.
    let mut built = 0;
    for path in repository_files() {
        let name = path.to_string_lossy();
        if name.starts_with("controller/src/") && name.ends_with(".rs") {
            let text = std::fs::read_to_string(root().join(&path)).unwrap_or_default();
            built += text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .map(|line| line.matches("Controller::new(").count())
                .sum::<usize>();
        }
    }
    assert_eq!(
        built,
        CONTROLLERS.len(),
        "controller/src builds {built} controllers; controllers::CONTROLLERS lists {}",
        CONTROLLERS.len()
    );
    for controller in CONTROLLERS {
        let module = root().join("controller/src").join(controller.capability);
        assert!(
            module.is_dir(),
            "{} has no module {}",
            controller.name,
            module.display()
        );
    }
}
