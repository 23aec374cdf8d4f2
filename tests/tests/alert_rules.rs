//! The Prometheus rules in `charts/govcloud/files/rules/` (the one source of the alert rules: the
//! chart's PrometheusRule embeds these files) and their unit tests in `monitoring/tests/`:
//! `promtool check rules` on every rule file, `promtool test rules` on every unit-test file, every
//! alert covered by a unit test, and every metric the rules use (in expressions and in the queries
//! of their templates) and every alert documented in `docs/metrics.md`, so that rules, tests and
//! docs cannot drift apart. The promtool tests skip without promtool (Debian package
//! `prometheus`) unless `GOVCLOUD_REQUIRE_ALL=1`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use govcloud_tests::require::on_path_or_skip;
use govcloud_tests::workspace_root;
use serde_norway::Value;

/// Where the rule files live (inside the chart, which can read no file outside itself).
const RULES_DIR: &str = "charts/govcloud/files/rules";
/// Where their promtool unit tests live.
const TESTS_DIR: &str = "monitoring/tests";

/// The `.yaml`/`.yml` files directly in `dir` (relative to the workspace), sorted; at least one.
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let dir = workspace_root().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("read {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no YAML files in {}", dir.display());
    files
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    serde_norway::from_str(&text)
        .unwrap_or_else(|error| panic!("parse {}: {error}", path.display()))
}

/// The promtool on PATH, or `None` (after printing why) when absent and skipping is allowed.
fn promtool_or_skip(test: &str) -> Option<PathBuf> {
    on_path_or_skip(test, "promtool", "install the Debian package `prometheus`")
}

/// Runs `promtool <args> <file>` for every file; panics with promtool's output for each failure.
fn promtool_on_each(promtool: &Path, args: &[&str], files: &[PathBuf]) {
    let mut failures = Vec::new();
    for file in files {
        let output = Command::new(promtool)
            .args(args)
            .arg(file)
            .current_dir(workspace_root())
            .output()
            .expect("run promtool");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            println!("{stdout}{stderr}");
        } else {
            failures.push(format!(
                "promtool {} {} failed ({}):\n{stdout}{stderr}",
                args.join(" "),
                file.display(),
                output.status
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn promtool_checks_every_rule_file() {
    let Some(promtool) = promtool_or_skip("promtool_checks_every_rule_file") else {
        return;
    };
    promtool_on_each(&promtool, &["check", "rules"], &yaml_files(RULES_DIR));
}

#[test]
fn promtool_unit_tests_of_the_rules_pass() {
    let Some(promtool) = promtool_or_skip("promtool_unit_tests_of_the_rules_pass") else {
        return;
    };
    promtool_on_each(&promtool, &["test", "rules"], &yaml_files(TESTS_DIR));
}

/// The rules of a rule file (every group).
fn rules(file: &Path) -> Vec<Value> {
    read_yaml(file)["groups"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{}: no `groups` list", file.display()))
        .iter()
        .flat_map(|group| group["rules"].as_sequence().cloned().unwrap_or_default())
        .collect()
}

/// Alert names of every rule file.
fn alert_names() -> BTreeSet<String> {
    yaml_files(RULES_DIR)
        .iter()
        .flat_map(|file| rules(file))
        .filter_map(|rule| rule["alert"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn every_rule_file_and_every_alert_has_unit_tests() {
    let mut tested_files = BTreeSet::new();
    let mut tested_alerts = BTreeSet::new();
    for file in yaml_files(TESTS_DIR) {
        let suite = read_yaml(&file);
        let dir = file.parent().expect("a test file's directory");
        for rule_file in suite["rule_files"].as_sequence().into_iter().flatten() {
            let path = dir.join(rule_file.as_str().expect("a rule file path"));
            tested_files.insert(
                path.canonicalize()
                    .unwrap_or_else(|error| panic!("{}: {error}", path.display())),
            );
        }
        for test in suite["tests"].as_sequence().into_iter().flatten() {
            for alert_test in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                if let Some(name) = alert_test["alertname"].as_str() {
                    tested_alerts.insert(name.to_owned());
                }
            }
        }
    }
    let untested_files: Vec<PathBuf> = yaml_files(RULES_DIR)
        .into_iter()
        .filter(|file| !tested_files.contains(&file.canonicalize().expect("rule file")))
        .collect();
    assert!(
        untested_files.is_empty(),
        "rule files no file in {TESTS_DIR} loads: {untested_files:?}"
    );
    let untested_alerts: Vec<String> = alert_names().difference(&tested_alerts).cloned().collect();
    assert!(
        untested_alerts.is_empty(),
        "alerts without an alert_rule_test in {TESTS_DIR}: {untested_alerts:?}"
    );
}

/// The `govcloud_…` metric names in `text`: `govcloud_` not preceded by a name character,
/// followed by lowercase letters, digits and underscores.
fn metric_names(text: &str) -> BTreeSet<String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    for (start, _) in text.match_indices("govcloud_") {
        if text[..start].chars().next_back().is_some_and(is_name_char) {
            continue;
        }
        let name: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        names.insert(name);
    }
    names
}

/// Every string in a YAML value (expressions, labels, annotation templates and their queries).
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Sequence(items) => items.iter().for_each(|item| strings(item, out)),
        Value::Mapping(map) => map.values().for_each(|item| strings(item, out)),
        Value::Tagged(tagged) => strings(&tagged.value, out),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Whether `docs` documents `name`: in backticks, directly or (for a histogram's `_bucket`,
/// `_sum` and `_count` series) through the histogram's name.
fn documented(docs: &str, name: &str) -> bool {
    let quoted = |name: &str| docs.contains(&format!("`{name}`"));
    quoted(name)
        || ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|suffix| name.strip_suffix(suffix))
            .any(quoted)
}

#[test]
fn every_metric_and_alert_of_the_rules_is_documented() {
    let docs_path = workspace_root().join("docs/metrics.md");
    let docs = std::fs::read_to_string(&docs_path)
        .unwrap_or_else(|error| panic!("read {}: {error}", docs_path.display()));
    let mut used = BTreeSet::new();
    for file in yaml_files(RULES_DIR) {
        let mut texts = Vec::new();
        for rule in rules(&file) {
            strings(&rule, &mut texts);
        }
        let names: BTreeSet<String> = texts.iter().flat_map(|text| metric_names(text)).collect();
        assert!(
            !names.is_empty(),
            "{} uses no govcloud_ metric",
            file.display()
        );
        used.extend(names);
    }
    let undocumented: Vec<&String> = used
        .iter()
        .filter(|name| !documented(&docs, name))
        .collect();
    assert!(
        undocumented.is_empty(),
        "metrics used in {RULES_DIR} but not documented in docs/metrics.md: {undocumented:?}"
    );
    let undocumented_alerts: Vec<String> = alert_names()
        .into_iter()
        .filter(|alert| !docs.contains(&format!("`{alert}`")))
        .collect();
    assert!(
        undocumented_alerts.is_empty(),
        "alerts in {RULES_DIR} not documented in docs/metrics.md: {undocumented_alerts:?}"
    );
}

#[test]
fn metric_names_are_read_from_expressions_and_templates() {
    let names = metric_names(
        "sum(rate(govcloud_migration_step_duration_seconds_bucket[5m])) / \
         govcloud:migration_systems:sum + x_govcloud_y {{ query \"govcloud_migration_systems{phase=~'F.*'}\" }}",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "govcloud_migration_step_duration_seconds_bucket",
            "govcloud_migration_systems"
        ]
    );
    assert!(documented(
        "| `govcloud_migration_step_duration_seconds` | histogram |",
        "govcloud_migration_step_duration_seconds_bucket"
    ));
    assert!(!documented(
        "| `govcloud_migration_systems_total` |",
        "govcloud_migration_systems"
    ));
}
