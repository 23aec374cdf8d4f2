//! The Helm chart `charts/govcloud`, with three sets of values (the defaults, the production-like
//! `tests/chart/production-values.yaml`, the single-replica `tests/chart/sqlite-values.yaml`):
//! `helm lint --strict` is clean; every rendered object validates against Kubernetes 1.29 and
//! 1.37 (kubernetes-validate, strict) or, for the Prometheus Operator's kinds, against the schema
//! stated in `tests/chart/monitoring-crds.yaml`; checkov's Kubernetes checks pass, skipping only
//! what the chart skips itself with a reason; bad values are refused naming the value; the RBAC is
//! the least-privilege set, the tenant-admin role the controller's, the PrometheusRule the rule
//! files; the objects the embedded API server serves apply with the real `kubectl apply
//! --server-side`, and the generated certificates survive an upgrade (`lookup`); the controller
//! accepts every argument the chart passes; and the install guide's commands run as far as a
//! machine without a cluster allows.
//!
//! Helm runs through helm-python-sdk (Helm v4's Go SDK, no helm binary) from
//! `tests/chart/chart_check.py`. What is missing — python3 with helm-python-sdk and
//! kubernetes-validate, checkov, kubectl, the `govcloud-controller` binary — skips with a printed
//! reason, and fails when `GOVCLOUD_REQUIRE_ALL=1` (`.ci/run` installs them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use govcloud_controller::permissions::{self, Scope};
use govcloud_tests::local::{TestServer, kubectl, kubectl_or_skip};
use govcloud_tests::manifests::{self, Document};
use govcloud_tests::require::{on_path_or_skip, skip};
use govcloud_tests::workspace_root;
use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::{Value, json};

/// The chart, relative to the workspace.
const CHART: &str = "charts/govcloud";
/// The Python side of these tests.
const HELPER: &str = "tests/chart/chart_check.py";
/// The stated schema of ServiceMonitor and PrometheusRule, as CRDs.
const MONITORING_CRDS: &str = "tests/chart/monitoring-crds.yaml";
/// The Kubernetes versions every rendered object is validated against: the chart's oldest
/// (`kubeVersion: >=1.29.0-0`) and the newest kubernetes-validate knows.
const KUBERNETES_VERSIONS: &[&str] = &["1.29.0", "1.37.0"];
/// The install guide.
const INSTALL_GUIDE: &str = "docs/guides/install.md";

/// A set of values the chart is checked with.
struct ValueSet {
    name: &'static str,
    file: Option<&'static str>,
}

const VALUE_SETS: &[ValueSet] = &[
    ValueSet {
        name: "default",
        file: None,
    },
    ValueSet {
        name: "production",
        file: Some("tests/chart/production-values.yaml"),
    },
    ValueSet {
        name: "sqlite",
        file: Some("tests/chart/sqlite-values.yaml"),
    },
];

/// Kinds the chart renders that the embedded API server serves: applied with kubectl.
const SERVED_KINDS: &[&str] = &[
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "NetworkPolicy",
    "PrometheusRule",
    "Role",
    "RoleBinding",
    "Secret",
    "ServiceAccount",
    "ServiceMonitor",
];
/// Kinds the chart renders that the embedded API server does not serve (it runs no workloads):
/// validated, not applied.
const UNSERVED_KINDS: &[&str] = &[
    "Deployment",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "Service",
];

// ---------------------------------------------------------------------------------------------
// The parts these tests need.

/// Whether python3 runs the helper with helm-python-sdk and kubernetes-validate; skips otherwise.
fn python_or_skip(test: &str) -> bool {
    let output = match Command::new("python3")
        .arg(workspace_root().join(HELPER))
        .arg("modules")
        .output()
    {
        Ok(output) => output,
        Err(error) => {
            skip(test, &format!("python3 cannot run: {error}"));
            return false;
        }
    };
    let found: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let missing: Vec<&str> = ["helm_python", "kubernetes_validate"]
        .into_iter()
        .filter(|module| found[module].is_null())
        .collect();
    if !output.status.success() || !missing.is_empty() {
        skip(
            test,
            &format!(
                "python3 lacks {missing:?} (pip install helm-python-sdk kubernetes-validate): {}",
                String::from_utf8_lossy(&output.stderr)
            ),
        );
        return false;
    }
    eprintln!("{test}: Python modules {found}");
    true
}

/// The `govcloud-controller` binary that `cargo test --workspace` builds next to this test's
/// own directory, or `None` (after printing why).
fn controller_binary_or_skip(test: &str) -> Option<PathBuf> {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(Path::to_path_buf))
        .map(|dir| dir.join("govcloud-controller"));
    match binary {
        Some(path) if path.is_file() => Some(path),
        _ => {
            skip(
                test,
                "the govcloud-controller binary is not built (cargo build -p govcloud-controller, \
                 or cargo test --workspace)",
            );
            None
        }
    }
}

/// Runs the Python helper with `args`, from the workspace root.
fn helper(args: &[&str]) -> Output {
    Command::new("python3")
        .arg(workspace_root().join(HELPER))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("run python3 tests/chart/chart_check.py")
}

/// The JSON a successful helper run printed.
fn helper_json(args: &[&str]) -> Value {
    let output = helper(args);
    assert!(
        output.status.success(),
        "chart_check.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("chart_check.py prints JSON")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

// ---------------------------------------------------------------------------------------------
// Rendering.

/// A rendered release: its files in a temporary directory, their documents, and NOTES.txt.
struct Rendered {
    dir: tempfile::TempDir,
    documents: Vec<Document>,
    notes: String,
}

impl Rendered {
    /// The documents of `kind`.
    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.documents
            .iter()
            .filter(|doc| doc.type_meta().1 == kind)
            .map(|doc| &doc.value)
            .collect()
    }

    /// The one document of `kind` whose name ends with `suffix`.
    fn one(&self, kind: &str, suffix: &str) -> &Value {
        let found: Vec<&Value> = self
            .of_kind(kind)
            .into_iter()
            .filter(|doc| {
                doc["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with(suffix))
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {kind} named …{suffix} in {}",
            self.dir.path().display()
        );
        found[0]
    }

    /// The kinds rendered.
    fn kinds(&self) -> BTreeSet<String> {
        self.documents
            .iter()
            .map(|doc| doc.type_meta().1.to_owned())
            .collect()
    }
}

/// Renders the chart with `set` (plus the helper's `extra` options) as release `release` in
/// `namespace`; `Err` holds Helm's message.
fn try_render(
    set: &ValueSet,
    release: &str,
    namespace: &str,
    extra: &[&str],
) -> Result<Rendered, String> {
    let mut args = vec!["--name", release, "--namespace", namespace];
    if let Some(file) = set.file {
        args.extend(["--values", file]);
    }
    args.extend(extra);
    render_with(&args)
}

/// Renders the chart with the helper's render options `options` (values, names, cluster).
fn render_with(options: &[&str]) -> Result<Rendered, String> {
    // Not a hidden directory (tempfile's default `.tmp…`): checkov skips those.
    let dir = tempfile::Builder::new()
        .prefix("govcloud-chart-")
        .tempdir()
        .expect("tempdir");
    let mut args = vec!["render", CHART, "--out", path_str(dir.path())];
    args.extend(options);
    let output = helper(&args);
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let report: Value = serde_json::from_slice(&output.stdout).expect("render prints JSON");
    let mut documents = Vec::new();
    for file in manifests::yaml_files(dir.path()).expect("list the rendered files") {
        documents.extend(manifests::read_documents(&file).expect("parse a rendered file"));
    }
    Ok(Rendered {
        dir,
        documents,
        notes: report["notes"].as_str().unwrap_or_default().to_owned(),
    })
}

fn render(set: &ValueSet) -> Rendered {
    try_render(set, "r", "ns", &[])
        .unwrap_or_else(|error| panic!("render with {} values: {error}", set.name))
}

/// The container of the Deployment.
fn container(rendered: &Rendered) -> &Value {
    &rendered.one("Deployment", "govcloud")["spec"]["template"]["spec"]["containers"][0]
}

/// The environment variable `name` of the container.
fn env<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_array()
        .and_then(|env| env.iter().find(|var| var["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in the container's env"))
}

/// The container's arguments.
fn args(container: &Value) -> Vec<String> {
    container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|arg| arg.as_str().expect("a string argument").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Lint, validation, checkov, refusals.

#[test]
fn the_chart_lints_clean_with_each_values_set() {
    if !python_or_skip("the_chart_lints_clean_with_each_values_set") {
        return;
    }
    for set in VALUE_SETS {
        let mut args = vec!["lint", CHART];
        if let Some(file) = set.file {
            args.extend(["--values", file]);
        }
        let report = helper_json(&args);
        assert_eq!(report["total_charts_linted"], 1, "{report}");
        assert_eq!(report["errors"], json!([]), "{} values: {report}", set.name);
        // Severity 1 is information; the one Helm gives is that the chart has no icon.
        let findings: Vec<&Value> = report["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["severity"].as_i64() != Some(1) || m["error"] != "icon is recommended")
            .collect();
        assert!(findings.is_empty(), "{} values: {findings:?}", set.name);
    }
}

#[test]
fn every_rendered_object_validates_against_kubernetes_1_29_and_1_37() {
    if !python_or_skip("every_rendered_object_validates_against_kubernetes_1_29_and_1_37") {
        return;
    }
    for set in VALUE_SETS {
        let rendered = render(set);
        let mut args = vec!["validate", path_str(rendered.dir.path())];
        for version in KUBERNETES_VERSIONS {
            args.extend(["--kubernetes", version]);
        }
        args.extend(["--monitoring-crds", MONITORING_CRDS]);
        let report = helper_json(&args);
        assert_eq!(report["problems"], json!([]), "{} values", set.name);
        let checked = report["checked"].as_array().expect("checked").len();
        let custom =
            rendered.of_kind("ServiceMonitor").len() + rendered.of_kind("PrometheusRule").len();
        let builtin = rendered.documents.len() - custom;
        assert_eq!(
            checked,
            builtin * KUBERNETES_VERSIONS.len() + custom,
            "{} values: every object is validated: {report}",
            set.name
        );
        eprintln!("{} values: {checked} validations, none failed", set.name);
    }
}

/// `checkov.io/skipN: CKV_…=reason` annotations of the rendered files.
/// The Deployment's volume of the database Secret.
fn database_volume(rendered: &Rendered) -> Value {
    rendered.one("Deployment", "govcloud")["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "database")
        .cloned()
        .expect("a database volume")
}

/// The names of a container's environment variables.
fn env_names(container: &Value) -> impl Iterator<Item = &str> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
}

fn skips_in(rendered: &Rendered) -> BTreeMap<String, String> {
    let mut skips = BTreeMap::new();
    for doc in &rendered.documents {
        for (key, value) in doc.value["metadata"]["annotations"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if key.starts_with("checkov.io/skip") {
                let (check, reason) = value
                    .as_str()
                    .and_then(|v| v.split_once('='))
                    .unwrap_or_else(|| panic!("{doc}: {key} is not CHECK=reason"));
                skips.insert(check.to_owned(), reason.to_owned());
            }
        }
    }
    skips
}

#[test]
fn checkov_passes_and_every_skip_is_in_the_chart_with_a_reason() {
    let test = "checkov_passes_and_every_skip_is_in_the_chart_with_a_reason";
    if !python_or_skip(test) {
        return;
    }
    let Some(checkov) = on_path_or_skip(test, "checkov", "pip install checkov") else {
        return;
    };
    for set in VALUE_SETS {
        let rendered = render(set);
        // Not --quiet: its output leaves out the checks skipped, which are checked here.
        // --skip-download: checkov runs offline (no guidelines fetched from its vendor).
        let output = Command::new(&checkov)
            .args(["-d", path_str(rendered.dir.path())])
            .args([
                "--framework",
                "kubernetes",
                "--compact",
                "-o",
                "json",
                "--skip-download",
            ])
            .output()
            .expect("run checkov");
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("checkov's JSON ({error}):\n{}", text(&output)));
        let report = if report.is_array() {
            report[0].clone()
        } else {
            report
        };
        let summary = &report["summary"];
        let failed: Vec<String> = report["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|check| {
                format!(
                    "{} {} {}",
                    check["check_id"], check["check_name"], check["resource"]
                )
            })
            .collect();
        assert!(
            failed.is_empty(),
            "{} values: checkov fails {failed:#?}",
            set.name
        );
        assert_eq!(
            summary["parsing_errors"], 0,
            "{} values: {summary}",
            set.name
        );
        assert!(
            summary["passed"].as_u64().is_some_and(|passed| passed > 50),
            "{} values: checkov ran few checks: {summary}",
            set.name
        );
        let declared = skips_in(&rendered);
        for check in report["results"]["skipped_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let id = check["check_id"].as_str().expect("check_id");
            let reason = check["check_result"]["suppress_comment"]
                .as_str()
                .unwrap_or_default();
            assert!(
                declared.get(id).is_some_and(|declared| declared == reason) && reason.len() > 20,
                "{} values: {id} is skipped without a reason written in the chart ({reason})",
                set.name
            );
        }
        eprintln!(
            "{} values: checkov {summary}; skipped in the chart: {declared:#?}",
            set.name
        );
    }
}

#[test]
fn bad_values_are_refused_naming_the_value() {
    if !python_or_skip("bad_values_are_refused_naming_the_value") {
        return;
    }
    let cases: &[(&str, &[&str])] = &[
        (r#"{"replicas": -1}"#, &["'/replicas'", "minimum"]),
        (
            r#"{"storage": {"mode": "mysql"}}"#,
            &["'/storage/mode'", "postgres", "sqlite"],
        ),
        (
            r#"{"storage": {"mode": "sqlite"}}"#,
            &["'/replicas'", "'/storage/mode'"],
        ),
        (
            r#"{"storage": {"mode": "sqlite"}, "replicas": 3}"#,
            &["'/replicas'", "got 3"],
        ),
        (
            r#"{"replicas": "two"}"#,
            &["'/replicas'", "got string, want integer"],
        ),
        (
            r#"{"agentService": {"port": "8444"}}"#,
            &["'/agentService/port'", "want integer"],
        ),
        (
            r#"{"agentService": {"type": "Ingress"}}"#,
            &["'/agentService/type'"],
        ),
        (r#"{"replica": 2}"#, &["'replica' not allowed"]),
        (r#"{"image": {"digest": "latest"}}"#, &["'/image/digest'"]),
        (
            r#"{"networkPolicy": {"egress": {"postgres": {"ports": [0]}}}}"#,
            &["'/networkPolicy/egress/postgres/ports/0'"],
        ),
    ];
    for (values, expected) in cases {
        let Err(error) = try_render(&VALUE_SETS[0], "r", "ns", &["--set-json", values]) else {
            panic!("{values} was accepted");
        };
        for part in *expected {
            assert!(
                error.contains(part),
                "{values}: the refusal does not name {part}:\n{error}"
            );
        }
    }
    // The sqlite values file itself is fine; one more replica is refused by name.
    let two = ["--set-json", r#"{"replicas": 2}"#];
    let Err(error) = try_render(&VALUE_SETS[2], "r", "ns", &two) else {
        panic!("two replicas on SQLite were accepted");
    };
    assert!(
        error.contains("'/replicas'") && error.contains("'/storage/mode'"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// What the objects say.

#[test]
fn the_defaults_run_two_hardened_replicas_on_postgres() {
    if !python_or_skip("the_defaults_run_two_hardened_replicas_on_postgres") {
        return;
    }
    let rendered = render(&VALUE_SETS[0]);
    let deployment = rendered.one("Deployment", "govcloud");
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(
        rendered.one("PodDisruptionBudget", "govcloud")["spec"]["minAvailable"],
        1
    );
    assert!(rendered.of_kind("PersistentVolumeClaim").is_empty());
    let c = container(&rendered);
    assert_eq!(
        env(c, "GOVCLOUD_DATABASE_URL_FILE")["value"],
        "/etc/govcloud/database/url"
    );
    let database = database_volume(&rendered);
    assert_eq!(database["secret"]["secretName"], "govcloud-database");
    assert_eq!(
        database["secret"]["items"],
        json!([{"key": "url", "path": "url"}])
    );
    for (name, field) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
        ("GOVCLOUD_NAMESPACE", "metadata.namespace"),
    ] {
        assert_eq!(
            env(c, name)["valueFrom"]["fieldRef"]["fieldPath"],
            field,
            "{name}"
        );
    }
    assert_eq!(env(c, "GOVCLOUD_TLS_DIR")["value"], "/etc/govcloud/tls");
    assert_eq!(
        env(c, "GOVCLOUD_AGENT_CA_DIR")["value"],
        "/etc/govcloud/agent-ca"
    );
    assert_eq!(env(c, "MALLOC_ARENA_MAX")["value"], "2");
    let args = args(c);
    for expected in [
        "run",
        "--api-address=0.0.0.0:8443",
        "--agent-api-address=0.0.0.0:8444",
        "--metrics-address=0.0.0.0:9464",
        "--leader-elect=true",
        "--lease-name=govcloud-controller",
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "{expected} not in {args:?}"
        );
    }
    let ports: BTreeMap<&str, &Value> = c["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| (p["name"].as_str().unwrap_or_default(), &p["containerPort"]))
        .collect();
    assert_eq!(
        ports,
        BTreeMap::from([
            ("agent", &json!(8444)),
            ("api", &json!(8443)),
            ("metrics", &json!(9464))
        ])
    );

    // The hardened pod; the token mounted in it and nowhere else.
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], true);
    assert_eq!(
        rendered.one("ServiceAccount", "govcloud")["automountServiceAccountToken"],
        false
    );
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let security = &c["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(security["runAsUser"], 65532);
    assert_eq!(
        c["livenessProbe"]["httpGet"],
        json!({"path": "/livez", "port": "metrics"})
    );
    assert_eq!(
        c["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "metrics"})
    );
    assert!(c["resources"]["requests"].is_object() && c["resources"]["limits"].is_object());
    let spread = &pod["topologySpreadConstraints"][0];
    assert_eq!(spread["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(spread["whenUnsatisfiable"], "ScheduleAnyway");
}

#[test]
fn sqlite_runs_one_replica_on_a_claim_with_the_recreate_strategy() {
    if !python_or_skip("sqlite_runs_one_replica_on_a_claim_with_the_recreate_strategy") {
        return;
    }
    let rendered = render(&VALUE_SETS[2]);
    let deployment = rendered.one("Deployment", "govcloud");
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"], json!({"type": "Recreate"}));
    assert!(rendered.of_kind("PodDisruptionBudget").is_empty());
    let claim = rendered.one("PersistentVolumeClaim", "-data");
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "5Gi");
    assert_eq!(
        env(container(&rendered), "GOVCLOUD_DATABASE_URL")["value"],
        "sqlite:///var/lib/govcloud/govcloud.db"
    );
    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes");
    assert!(
        volumes
            .iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"])
    );
    assert!(
        !skips_in(&rendered).contains_key("CKV_K8S_35"),
        "no Secret in the environment"
    );
    assert!(
        env_names(container(&rendered)).all(|name| name != "GOVCLOUD_DATABASE_URL_FILE"),
        "SQLite needs no Secret"
    );
}

#[test]
fn services_secrets_and_monitoring_follow_the_values() {
    if !python_or_skip("services_secrets_and_monitoring_follow_the_values") {
        return;
    }
    let [default, production, sqlite] = [0, 1, 2].map(|i| render(&VALUE_SETS[i]));
    // Services: the API ClusterIP on 8443, the agent listener's type from the values, metrics.
    assert_eq!(default.one("Service", "-api")["spec"]["type"], "ClusterIP");
    assert_eq!(
        default.one("Service", "-api")["spec"]["ports"][0]["port"],
        8443
    );
    assert_eq!(
        default.one("Service", "-agent")["spec"]["type"],
        "ClusterIP"
    );
    assert_eq!(
        default.one("Service", "-metrics")["spec"]["ports"][0]["port"],
        9464
    );
    assert_eq!(
        production.one("Service", "-agent")["spec"]["type"],
        "LoadBalancer"
    );
    assert_eq!(
        sqlite.one("Service", "-agent")["spec"]["ports"][0]["nodePort"],
        30844
    );

    // Generated TLS material by default, the agent CA kept by helm uninstall.
    let agent_ca = default.one("Secret", "-agent-ca");
    assert_eq!(
        agent_ca["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    for key in ["tls.crt", "tls.key"] {
        assert!(
            agent_ca["data"][key]
                .as_str()
                .is_some_and(|v| v.len() > 100),
            "{key}"
        );
    }
    let tls = default.one("Secret", "-tls");
    for key in ["tls.crt", "tls.key", "ca.crt"] {
        assert!(
            tls["data"][key].as_str().is_some_and(|v| v.len() > 100),
            "{key}"
        );
    }

    // Production: three replicas, the digest, existing Secrets used as they are, monitoring.
    let deployment = production.one("Deployment", "govcloud");
    assert_eq!(deployment["spec"]["replicas"], 3);
    let c = container(&production);
    assert!(
        c["image"].as_str().is_some_and(|i| i.contains("@sha256:")),
        "{}",
        c["image"]
    );
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        container(&default)["imagePullPolicy"],
        "Always",
        "a tag can move"
    );
    assert_eq!(
        database_volume(&production)["secret"]["items"],
        json!([{"key": "database-url", "path": "url"}])
    );
    assert_eq!(
        database_volume(&production)["secret"]["secretName"],
        "govcloud-postgres"
    );
    assert!(production.of_kind("Secret").is_empty());
    let volumes = &deployment["spec"]["template"]["spec"]["volumes"];
    assert_eq!(volumes[0]["secret"]["secretName"], "govcloud-api-tls");
    assert_eq!(volumes[1]["secret"]["secretName"], "govcloud-agent-ca");
    assert!(
        args(c)
            .iter()
            .any(|arg| arg.starts_with("--agent-server-name=")
                && arg.ends_with(",govcloud-agent.ankang.example.org"))
    );
    let monitor = production.one("ServiceMonitor", "govcloud");
    let metrics_labels = &production.one("Service", "-metrics")["metadata"]["labels"];
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("labels")
    {
        assert_eq!(
            &metrics_labels[key], value,
            "the ServiceMonitor selects the metrics Service"
        );
    }
    assert_eq!(production.of_kind("PrometheusRule").len(), 1);
    assert!(default.of_kind("ServiceMonitor").is_empty());
    assert!(default.of_kind("PrometheusRule").is_empty());
}

#[test]
fn the_network_policy_admits_the_three_ports_and_egress_where_the_values_say() {
    if !python_or_skip("the_network_policy_admits_the_three_ports_and_egress_where_the_values_say")
    {
        return;
    }
    let [default, production, sqlite] = [0, 1, 2].map(|i| render(&VALUE_SETS[i]));
    let ports = |rendered: &Rendered, direction: &str| -> BTreeSet<i64> {
        rendered.one("NetworkPolicy", "govcloud")["spec"][direction]
            .as_array()
            .expect("rules")
            .iter()
            .flat_map(|rule| rule["ports"].as_array().cloned().unwrap_or_default())
            .filter_map(|port| port["port"].as_i64())
            .collect()
    };
    for rendered in [&default, &production, &sqlite] {
        let policy = rendered.one("NetworkPolicy", "govcloud");
        assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(
            ports(rendered, "ingress"),
            BTreeSet::from([8443, 8444, 9464])
        );
    }
    assert_eq!(
        ports(&default, "egress"),
        BTreeSet::from([53, 443, 5432, 6443])
    );
    assert_eq!(
        ports(&sqlite, "egress"),
        BTreeSet::from([53, 443, 6443]),
        "no PostgreSQL"
    );
    assert_eq!(
        ports(&production, "egress"),
        BTreeSet::from([53, 443, 5432, 6443, 9090])
    );
    let agent = &production.one("NetworkPolicy", "govcloud")["spec"]["ingress"][1];
    assert_eq!(agent["from"][0]["ipBlock"]["cidr"], "10.61.0.0/16");
}

#[test]
fn the_roles_grant_exactly_what_the_controllers_code_calls() {
    if !python_or_skip("the_roles_grant_exactly_what_the_controllers_code_calls") {
        return;
    }
    let rendered = render(&VALUE_SETS[0]);
    for (kind, name, scope) in [
        ("ClusterRole", "r-govcloud", Scope::Cluster),
        ("Role", "r-govcloud-leader-election", Scope::OwnNamespace),
    ] {
        let role = rendered.one(kind, name);
        let rules: Vec<PolicyRule> =
            serde_json::from_value(role["rules"].clone()).expect("the rules are PolicyRules");
        let diff = permissions::compare(permissions::CONTROLLER, scope, &rules)
            .unwrap_or_else(|error| panic!("{kind} {name}: {error}"));
        assert!(
            diff.is_empty(),
            "{kind} {name} differs from permissions::CONTROLLER:\n{diff}"
        );
        // Laid out as policy_rules lays the table out: one rule per group, resource and
        // resource names, sorted, verbs sorted — each permission in one place.
        let layout =
            serde_json::to_value(permissions::policy_rules(permissions::CONTROLLER, scope))
                .expect("JSON");
        assert_eq!(
            role["rules"], layout,
            "{kind} {name}: the layout of the rules"
        );
    }
    let role = rendered.one("Role", "-leader-election");
    assert_eq!(
        role["metadata"]["namespace"], "ns",
        "Leases in the release namespace only"
    );
    assert!(args(container(&rendered)).contains(&"--lease-name=govcloud-controller".to_owned()));
    let binding = rendered.one("ClusterRoleBinding", "r-govcloud");
    assert_eq!(binding["roleRef"]["name"], "r-govcloud");
    assert_eq!(
        binding["subjects"][0],
        json!({"kind": "ServiceAccount", "name": "r-govcloud", "namespace": "ns"})
    );
    let binding = rendered.one("RoleBinding", "-leader-election");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(binding["metadata"]["namespace"], "ns");
    assert_eq!(binding["subjects"][0]["name"], "r-govcloud");
}

/// The decoded `data` of a rendered Secret, written into `dir` (as the Secret's volume would be).
fn mount_secret(secret: &Value, dir: &Path) {
    use base64::Engine as _;
    std::fs::create_dir_all(dir).expect("create the mount directory");
    for (key, value) in secret["data"].as_object().expect("data") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().expect("base64 text"))
            .unwrap_or_else(|error| panic!("{key} is not base64: {error}"));
        std::fs::write(dir.join(key), bytes).expect("write a Secret's file");
    }
}

#[test]
fn the_controller_loads_the_tls_material_the_chart_generates() {
    if !python_or_skip("the_controller_loads_the_tls_material_the_chart_generates") {
        return;
    }
    let rendered = render(&VALUE_SETS[0]);
    let mounts = tempfile::tempdir().expect("tempdir");
    let (tls, agent_ca) = (mounts.path().join("tls"), mounts.path().join("agent-ca"));
    mount_secret(rendered.one("Secret", "-tls"), &tls);
    mount_secret(rendered.one("Secret", "-agent-ca"), &agent_ca);
    // What `govcloud-controller run` does with --tls-dir and --agent-ca-dir.
    govcloud_apiserver::tls::load_files(
        &tls.join("tls.crt"),
        &tls.join("tls.key"),
        Some(&tls.join("ca.crt")),
    )
    .unwrap_or_else(|error| panic!("the generated API certificate: {error}"));
    let ca = govcloud_controller::agents::AgentCa::load(
        &agent_ca.join("tls.crt"),
        &agent_ca.join("tls.key"),
    )
    .unwrap_or_else(|error| panic!("the generated agent CA: {error}"));
    // It signs routers' certificates and the agent listener's.
    ca.issue_router(
        "hanyin-core",
        govcloud_controller::agents::KeySource::Generate,
    )
    .unwrap_or_else(|error| panic!("the generated agent CA signs a router: {error}"));
    ca.issue_serving(&["r-govcloud-agent.ns.svc".to_owned()])
        .unwrap_or_else(|error| panic!("the generated agent CA signs the listener: {error}"));
}

#[test]
fn the_tenant_admin_role_is_the_controllers() {
    if !python_or_skip("the_tenant_admin_role_is_the_controllers") {
        return;
    }
    let rendered = render(&VALUE_SETS[0]);
    let shipped = rendered.one("ClusterRole", "govcloud-tenant-admin");
    let controller = serde_json::to_value(govcloud_core::tenancy::plan::tenant_admin_role())
        .expect("the controller's role as JSON");
    assert_eq!(shipped["metadata"]["name"], controller["metadata"]["name"]);
    assert_eq!(
        shipped["rules"], controller["rules"],
        "templates/tenant-admin-clusterrole.yaml differs from tenant_admin_role() \
         (`govcloud-controller tenant-admin-role`)"
    );
}

#[test]
fn the_prometheus_rule_is_the_rule_files() {
    if !python_or_skip("the_prometheus_rule_is_the_rule_files") {
        return;
    }
    let rendered = render(&VALUE_SETS[1]);
    let rule = rendered.one("PrometheusRule", "govcloud");
    let dir = workspace_root().join(CHART).join("files/rules");
    let mut groups = Vec::new();
    for file in manifests::yaml_files(&dir).expect("the rule files") {
        let documents = manifests::read_documents(&file).expect("a rule file");
        assert_eq!(documents.len(), 1, "{}", file.display());
        groups.extend(
            documents[0].value["groups"]
                .as_array()
                .cloned()
                .expect("groups"),
        );
    }
    assert!(groups.len() >= 3, "{groups:?}");
    assert_eq!(
        rule["spec"]["groups"],
        Value::Array(groups),
        "the PrometheusRule embeds files/rules/*.yaml as they are"
    );
    assert_eq!(
        rule["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
}

/// The schema of `path` (JSON pointer-free: a list of keys) in the values schema, following
/// `$ref`s into `definitions`.
fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/definitions/");
            resolve(schema, &schema["definitions"][name])
        }
        None => node,
    }
}

/// Every value's dotted path in `values`, down to where the schema lists no more properties.
fn leaf_paths(schema: &Value, node: &Value, values: &Value, prefix: &str, out: &mut Vec<String>) {
    let node = resolve(schema, node);
    match (node["properties"].as_object(), values.as_object()) {
        (Some(properties), Some(values)) => {
            for (key, value) in values {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                let child = properties
                    .get(key)
                    .unwrap_or_else(|| panic!("values.yaml's {path} is not in values.schema.json"));
                leaf_paths(schema, child, value, &path, out);
            }
        }
        _ => out.push(prefix.to_owned()),
    }
}

/// Every object schema with properties refuses others; free maps take strings only; `global`
/// (Helm's values shared with a parent chart, not this chart's) is the one open object.
fn closed_everywhere(schema: &Value, at: &str, problems: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties")
                && map.get("additionalProperties") != Some(&json!(false))
            {
                problems.push(format!(
                    "{at}: properties without additionalProperties: false"
                ));
            }
            if map.get("type") == Some(&json!("object"))
                && !map.contains_key("properties")
                && !map.contains_key("additionalProperties")
                && !at.ends_with("properties.global")
            {
                problems.push(format!("{at}: an object open to anything"));
            }
            // Conditions (`if`/`then` of `allOf`) constrain values already shaped elsewhere.
            for (key, value) in map
                .iter()
                .filter(|(key, _)| !["if", "then", "else"].contains(&key.as_str()))
            {
                closed_everywhere(value, &format!("{at}.{key}"), problems);
            }
        }
        Value::Array(items) => {
            for (index, value) in items.iter().enumerate() {
                closed_everywhere(value, &format!("{at}[{index}]"), problems);
            }
        }
        _ => {}
    }
}

#[test]
fn every_value_is_commented_closed_in_the_schema_and_listed_in_the_readme() {
    let chart = workspace_root().join(CHART);
    let values_text = std::fs::read_to_string(chart.join("values.yaml")).expect("values.yaml");
    // A comment right above every key.
    let mut previous = "";
    for (number, line) in values_text.lines().enumerate() {
        let trimmed = line.trim_start();
        let is_key = trimmed.split_once(':').is_some_and(|(key, _)| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if is_key && !trimmed.starts_with('#') {
            assert!(
                previous.trim_start().starts_with('#'),
                "values.yaml:{}: `{}` has no comment above it",
                number + 1,
                trimmed
            );
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(chart.join("values.schema.json")).expect("values.schema.json"),
    )
    .expect("values.schema.json is JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    let mut problems = Vec::new();
    closed_everywhere(&schema, "schema", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");

    let values: Value = serde_norway::from_str(&values_text).expect("values.yaml is YAML");
    let mut paths = Vec::new();
    leaf_paths(&schema, &schema, &values, "", &mut paths);
    let readme = std::fs::read_to_string(chart.join("README.md")).expect("the chart's README.md");
    let missing: Vec<&String> = paths
        .iter()
        .filter(|path| !readme.contains(&format!("| `{path}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "values missing from the chart's README table: {missing:?}"
    );
    assert!(paths.len() > 60, "{paths:?}");
}

// ---------------------------------------------------------------------------------------------
// The embedded API server and the controller binary.

/// The documents of `rendered` the embedded API server serves, as one YAML stream; panics on a
/// kind that is neither served nor known to be unserved.
fn served_stream(rendered: &Rendered) -> String {
    let mut stream = String::new();
    for doc in &rendered.documents {
        let kind = doc.type_meta().1;
        if SERVED_KINDS.contains(&kind) {
            stream.push_str("---\n");
            stream.push_str(&serde_json::to_string_pretty(&doc.value).expect("JSON"));
            stream.push('\n');
        } else {
            assert!(
                UNSERVED_KINDS.contains(&kind),
                "{doc}: classify kind {kind}"
            );
        }
    }
    stream
}

/// Applies `stream` with `kubectl apply --server-side` as Helm's field manager; returns its output.
fn apply(kubectl_path: &Path, config: &Path, stream: &str, file: &Path) -> String {
    std::fs::write(file, stream).expect("write the objects to apply");
    let output = kubectl(
        kubectl_path,
        config,
        &[
            "apply",
            "--server-side",
            "--field-manager=helm",
            "-f",
            path_str(file),
        ],
    );
    assert!(
        output.status.success(),
        "kubectl apply {}:\n{}",
        file.display(),
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn kubectl_ok(kubectl_path: &Path, config: &Path, args: &[&str]) -> String {
    let output = kubectl(kubectl_path, config, args);
    assert!(
        output.status.success(),
        "kubectl {args:?}:\n{}",
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn rendered_objects_apply_to_the_embedded_api_server_and_tls_survives_upgrades() {
    let test = "rendered_objects_apply_to_the_embedded_api_server_and_tls_survives_upgrades";
    let Some(kubectl_path) = kubectl_or_skip(test) else {
        return;
    };
    if !python_or_skip(test) {
        return;
    }
    let server = TestServer::start().await;
    let cluster = Cluster {
        kubectl: kubectl_path,
        config: server.kubeconfig(),
        work: server.dir.path().to_path_buf(),
    };
    for crds in [
        workspace_root().join(CHART).join("crds"),
        workspace_root().join(MONITORING_CRDS),
    ] {
        let args = ["apply", "--server-side", "-f", path_str(&crds)];
        kubectl_ok(&cluster.kubectl, &cluster.config, &args);
    }
    for set in VALUE_SETS {
        let namespace = format!("govcloud-{}", set.name);
        let release = format!("city-{}", set.name);
        let object =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
        let file = cluster.work.join(format!("{namespace}.json"));
        apply(
            &cluster.kubectl,
            &cluster.config,
            &object.to_string(),
            &file,
        );

        // Install: rendered as Helm renders for a cluster (lookup finds nothing yet), applied.
        let config = path_str(&cluster.config);
        let installed = try_render(set, &release, &namespace, &["--kubeconfig", config])
            .unwrap_or_else(|error| panic!("{} values: {error}", set.name));
        let file = installed.dir.path().join("served.yaml");
        let applied = apply(
            &cluster.kubectl,
            &cluster.config,
            &served_stream(&installed),
            &file,
        );
        for kind in installed
            .kinds()
            .iter()
            .filter(|k| SERVED_KINDS.contains(&k.as_str()))
        {
            assert!(
                applied.to_lowercase().contains(&kind.to_lowercase()),
                "{} values: no {kind} applied:\n{applied}",
                set.name
            );
        }
        eprintln!("{} values: applied\n{applied}", set.name);
        apply_the_controllers_lease(&cluster, &installed, &release, &namespace);

        // Upgrade: lookup finds the generated Secrets and keeps their data.
        let kept = upgrade_keeps_the_generated_secrets(&cluster, set, &release, &namespace);
        let expected = if set.name == "production" { 0 } else { 2 };
        assert_eq!(
            kept, expected,
            "{} values: generated Secrets compared",
            set.name
        );
    }
}

/// Applies the Lease the controller takes, where and under the name the Role allows.
fn apply_the_controllers_lease(
    cluster: &Cluster,
    installed: &Rendered,
    release: &str,
    namespace: &str,
) {
    let lease_name = args(container(installed))
        .iter()
        .find_map(|arg| arg.strip_prefix("--lease-name=").map(str::to_owned))
        .expect("--lease-name");
    let role = installed.one("Role", "-leader-election");
    assert_eq!(role["metadata"]["namespace"], namespace);
    assert_eq!(role["rules"][1]["resourceNames"], json!([lease_name]));
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": lease_name, "namespace": namespace},
        "spec": {
            "holderIdentity": format!("{release}-govcloud-5d9c7b6f4-x2x7q"),
            "leaseDurationSeconds": 15,
        },
    });
    let file = installed.dir.path().join("lease.json");
    apply(&cluster.kubectl, &cluster.config, &lease.to_string(), &file);
}

/// Renders an upgrade for the cluster and applies it: the generated TLS and agent-CA Secrets
/// come out with the data the server holds (an offline render would make new ones). Returns how
/// many generated Secrets were compared.
fn upgrade_keeps_the_generated_secrets(
    cluster: &Cluster,
    set: &ValueSet,
    release: &str,
    namespace: &str,
) -> usize {
    let config = path_str(&cluster.config);
    let upgraded = try_render(
        set,
        release,
        namespace,
        &["--kubeconfig", config, "--upgrade"],
    )
    .unwrap_or_else(|error| panic!("{} values: {error}", set.name));
    let offline = try_render(set, release, namespace, &["--upgrade"])
        .unwrap_or_else(|error| panic!("{} values: {error}", set.name));
    let mut compared = 0;
    for secret in upgraded.of_kind("Secret") {
        let name = secret["metadata"]["name"].as_str().expect("name");
        if !(name.ends_with("-tls") || name.ends_with("-agent-ca")) {
            continue;
        }
        let get = ["-n", namespace, "get", "secret", name, "-o", "json"];
        let stored: Value =
            serde_json::from_str(&kubectl_ok(&cluster.kubectl, &cluster.config, &get))
                .expect("kubectl get -o json");
        assert_eq!(
            secret["data"], stored["data"],
            "{name} is kept across the upgrade"
        );
        assert_ne!(
            offline.one("Secret", name)["data"]["tls.crt"],
            stored["data"]["tls.crt"],
            "{name}: without lookup a new certificate would be generated"
        );
        compared += 1;
    }
    let file = upgraded.dir.path().join("served.yaml");
    apply(
        &cluster.kubectl,
        &cluster.config,
        &served_stream(&upgraded),
        &file,
    );
    compared
}

#[test]
fn the_controller_accepts_every_argument_and_variable_the_chart_passes() {
    let test = "the_controller_accepts_every_argument_and_variable_the_chart_passes";
    if !python_or_skip(test) {
        return;
    }
    let Some(binary) = controller_binary_or_skip(test) else {
        return;
    };
    let output = Command::new(&binary)
        .args(["run", "--help"])
        .output()
        .expect("run govcloud-controller run --help");
    let raw_help = text(&output);
    assert!(
        output.status.success(),
        "govcloud-controller run --help:\n{raw_help}"
    );
    // clap wraps long lines: one space between words.
    let help = raw_help.split_whitespace().collect::<Vec<_>>().join(" ");
    for set in VALUE_SETS {
        let rendered = render(set);
        let c = container(&rendered);
        let args = args(c);
        assert_eq!(args[0], "run");
        for arg in &args[1..] {
            let flag = arg.split_once('=').map_or(arg.as_str(), |(flag, _)| flag);
            assert!(
                help.contains(&format!("{flag} "))
                    || help.contains(&format!("{flag}="))
                    || help.contains(&format!("{flag} <")),
                "{} values: `govcloud-controller run` has no {flag}:\n{help}",
                set.name
            );
        }
        for var in c["env"].as_array().expect("env") {
            let name = var["name"].as_str().expect("name");
            if name == "POD_NAMESPACE" {
                continue; // for the operator's own use by name in events; read by no flag
            }
            if name == "MALLOC_ARENA_MAX" {
                continue; // read by glibc's allocator as the process starts, not by a flag
            }
            assert!(
                help.contains(&format!("[env: {name}")),
                "{} values: `govcloud-controller run` reads no {name}:\n{help}",
                set.name
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The install guide.

/// The guide's YAML block that starts with `# FILE`, written into `dir/FILE`.
fn write_guide_file(guide: &str, file: &str, dir: &Path) {
    let marker = format!("```yaml\n# {file}\n");
    let start = guide
        .find(&marker)
        .unwrap_or_else(|| panic!("the guide shows no {file}"))
        + 8;
    let end = guide[start..].find("```").expect("the end of the block") + start;
    std::fs::write(dir.join(file), &guide[start..end]).expect("write the guide's values file");
}

/// Whether `command` is a line of `notes`, where an upper-case word of the notes (ROUTER,
/// ROOT-TENANT) stands for any word.
fn in_notes(notes: &str, command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    notes.lines().any(|line| {
        let line: Vec<&str> = line.split_whitespace().collect();
        line.len() == words.len()
            && line.iter().zip(&words).all(|(note, word)| {
                note == word
                    || (note.len() > 3 && note.chars().all(|c| c.is_ascii_uppercase() || c == '-'))
            })
    })
}

/// A `helm install|upgrade|uninstall` command: release, chart, namespace, values files, --set.
#[derive(Debug, Default)]
struct HelmCommand {
    action: String,
    release: String,
    chart: Option<String>,
    namespace: String,
    values: Vec<String>,
    set: Vec<String>,
}

fn parse_helm(command: &str) -> HelmCommand {
    let mut words = command.split_whitespace().skip(1);
    let mut parsed = HelmCommand {
        action: words.next().expect("a helm action").to_owned(),
        namespace: "default".to_owned(),
        ..HelmCommand::default()
    };
    let mut positional = Vec::new();
    while let Some(word) = words.next() {
        let mut value = || {
            words
                .next()
                .unwrap_or_else(|| panic!("{command}: {word} needs a value"))
                .to_owned()
        };
        match word {
            "--namespace" | "-n" => parsed.namespace = value(),
            "--values" | "-f" => parsed.values.push(value()),
            "--set" => parsed.set.push(value()),
            other if other.starts_with('-') => panic!("{command}: the test does not map {other}"),
            other => positional.push(other.to_owned()),
        }
    }
    parsed.release = positional.first().cloned().expect("a release name");
    parsed.chart = positional.get(1).cloned();
    parsed
}

/// Where the guide's commands run: kubectl, the embedded API server's kubeconfig, a working
/// directory (with `charts` linked and the guide's values file).
struct Cluster {
    kubectl: PathBuf,
    config: PathBuf,
    work: PathBuf,
}

/// Maps a `helm` command of the guide onto what this machine can do; `release` holds the last
/// install or upgrade. Returns a line for the report.
fn run_helm(command: &str, cluster: &Cluster, release: &mut Option<Rendered>) -> String {
    let helm = parse_helm(command);
    match helm.action.as_str() {
        "install" | "upgrade" => {
            if helm.action == "install" {
                // Helm creates the CRDs of crds/ on install (a create, not an apply).
                let crds = workspace_root().join(CHART).join("crds");
                kubectl_ok(
                    &cluster.kubectl,
                    &cluster.config,
                    &["create", "-f", path_str(&crds)],
                );
            }
            assert_eq!(
                helm.chart.as_deref(),
                Some(CHART),
                "{command}: the checkout's chart"
            );
            // Rendered as Helm renders for a cluster: lookup sees what the server holds.
            let mut options: Vec<String> = vec![
                "--name".into(),
                helm.release.clone(),
                "--namespace".into(),
                helm.namespace.clone(),
                "--kubeconfig".into(),
                path_str(&cluster.config).to_owned(),
            ];
            for file in &helm.values {
                options.extend([
                    "--values".into(),
                    cluster.work.join(file).display().to_string(),
                ]);
            }
            for set in &helm.set {
                options.extend(["--set".into(), set.clone()]);
            }
            if helm.action == "upgrade" {
                options.push("--upgrade".into());
            }
            let options: Vec<&str> = options.iter().map(String::as_str).collect();
            let rendered =
                render_with(&options).unwrap_or_else(|error| panic!("{command}: {error}"));
            let mut validate = vec!["validate", path_str(rendered.dir.path())];
            for version in KUBERNETES_VERSIONS {
                validate.extend(["--kubernetes", version]);
            }
            validate.extend(["--monitoring-crds", MONITORING_CRDS]);
            assert_eq!(helper_json(&validate)["problems"], json!([]), "{command}");
            let file = cluster
                .work
                .join(format!("{}-{}.yaml", helm.release, helm.action));
            apply(
                &cluster.kubectl,
                &cluster.config,
                &served_stream(&rendered),
                &file,
            );
            *release = Some(rendered);
            format!(
                "mapped to a cluster-aware render, validated against Kubernetes \
                 {KUBERNETES_VERSIONS:?}, served kinds applied: {command}"
            )
        }
        "uninstall" => {
            // What Helm deletes: the release's objects, less those annotated to be kept.
            let rendered = release.take().expect("helm uninstall after an install");
            let deleted: Vec<String> = rendered
                .documents
                .iter()
                .filter(|doc| SERVED_KINDS.contains(&doc.type_meta().1))
                .filter(|doc| {
                    doc.value["metadata"]["annotations"]["helm.sh/resource-policy"] != "keep"
                })
                .map(|doc| serde_json::to_string(&doc.value).expect("JSON"))
                .collect();
            let file = cluster.work.join("uninstall.yaml");
            std::fs::write(&file, format!("---\n{}\n", deleted.join("\n---\n"))).expect("write");
            kubectl_ok(
                &cluster.kubectl,
                &cluster.config,
                &["delete", "-f", path_str(&file)],
            );
            format!(
                "mapped to kubectl delete of the release's served objects, kept ones left: \
                 {command}"
            )
        }
        other => panic!("{command}: the test does not map helm {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_install_guide_runs_as_far_as_this_machine_allows() {
    let test = "the_install_guide_runs_as_far_as_this_machine_allows";
    let Some(kubectl_path) = kubectl_or_skip(test) else {
        return;
    };
    if !python_or_skip(test) {
        return;
    }
    let Some(controller) = controller_binary_or_skip(test) else {
        return;
    };
    let guide = std::fs::read_to_string(workspace_root().join(INSTALL_GUIDE)).expect("the guide");
    let server = TestServer::start().await;
    let config = server.kubeconfig();
    let work = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(workspace_root().join("charts"), work.path().join("charts"))
        .expect("link the charts into the working directory");
    write_guide_file(&guide, "govcloud-values.yaml", work.path());
    // The Prometheus Operator is a prerequisite of the guide's values (ServiceMonitor on).
    kubectl_ok(
        &kubectl_path,
        &config,
        &[
            "apply",
            "--server-side",
            "-f",
            path_str(&workspace_root().join(MONITORING_CRDS)),
        ],
    );
    let path = format!(
        "{}:{}:{}",
        controller.parent().expect("dir").display(),
        kubectl_path.parent().expect("dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cluster = Cluster {
        kubectl: kubectl_path.clone(),
        config: config.clone(),
        work: work.path().to_path_buf(),
    };
    let mut release = None;
    let mut report = Vec::new();
    for command in govcloud_tests::guides::console_commands(&guide) {
        if command.starts_with("helm ") {
            report.push(run_helm(&command, &cluster, &mut release));
            continue;
        }
        let needs_pods = ["rollout status", "port-forward", " exec ", "get svc"]
            .iter()
            .any(|part| command.contains(part))
            || command.starts_with("govctl ");
        if needs_pods {
            // No pod runs here: the command must be the one the chart's notes give.
            let notes = release.as_ref().map_or("", |r: &Rendered| r.notes.as_str());
            assert!(
                in_notes(notes, &command),
                "`{command}` is not in the chart's notes:\n{notes}"
            );
            report.push(format!(
                "checked against NOTES.txt (needs running pods): {command}"
            ));
            continue;
        }
        assert!(
            command.starts_with("kubectl ") || command.starts_with("govcloud-controller "),
            "{INSTALL_GUIDE}: the test does not know how to run `{command}`"
        );
        // kubectl's imperative `create namespace|secret` sends protobuf, which the embedded API
        // server does not read: the same object goes as JSON instead.
        let imperative = command
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|pair| {
                pair[0] == "create" && ["namespace", "secret", "configmap"].contains(&pair[1])
            });
        let shell = if imperative {
            format!("{command} --dry-run=client -o json | kubectl create -f -")
        } else {
            command.clone()
        };
        let output = Command::new("sh")
            .args(["-c", &shell])
            .current_dir(work.path())
            .env("KUBECONFIG", &config)
            .env("PATH", &path)
            .output()
            .expect("run the command");
        assert!(
            output.status.success(),
            "`{command}` failed:\n{}",
            text(&output)
        );
        report.push(if imperative {
            format!("ran on the embedded API server (the object sent as JSON): {command}")
        } else {
            format!("ran on the embedded API server: {command}")
        });
    }
    let ca = std::fs::read_to_string(work.path().join("govcloud-ca.crt"))
        .expect("govcloud-ca.crt written");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    assert!(report.len() >= 14, "{report:#?}");
    eprintln!("{INSTALL_GUIDE}:\n{}", report.join("\n"));
}
