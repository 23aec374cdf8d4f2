//! `govctl migration` against the real API of local mode (the Ankang seed, the controllers
//! running), started once for the whole file: inventories refused row by row with line numbers
//! and nothing created, good inventories and manifests submitted, list, show, confirm, approve
//! and the campaign view, in tables and as JSON. The controllers move the systems' phases on
//! their own; these tests assert only what the API itself does.

/// Support shared with govctl's other test files.
mod support {
    pub mod command;
    pub mod local;
    pub mod process;
}

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use govcloud_crds::SystemMigration;
use govcloud_crds::api::{MigrationPlanView, MigrationSummary, MigrationView};
use govcloud_crds::migration::system::{MigrationPhase, StepPhase};
use kube::Api;
use support::command::{issue_token, json, ok, run};
use support::process::Plane;

/// The columns of an inventory, as the guide documents them.
const HEADER: &str = "name,namespace,displayName,classification,sensitivity,site,platform,hosts,maintainer,cpu,memory,storage,dependsOn,notBefore";

/// Local mode with the Ankang seed, started once for the whole file.
fn plane() -> &'static Plane {
    static PLANE: OnceLock<Plane> = OnceLock::new();
    PLANE.get_or_init(|| Plane::start("govctl-migration-tests").0)
}

/// `govctl` with local mode's settings (server, CA, the root operations token), and `token`
/// instead of that token when given.
fn govctl(home: &Path, token: Option<&str>) -> Command {
    let plane = plane();
    let mut command = support::command::govctl(home);
    command.arg("--config").arg(&plane.local.govctl_config);
    if let Some(token) = token {
        command.env("GOVCTL_TOKEN", token);
    }
    command
}

/// A new token of `tenant` with `role`.
fn issue(home: &Path, tenant: &str, role: &str) -> String {
    let description = format!("{role} of {tenant}");
    issue_token(&mut govctl(home, None), tenant, role, &description).token
}

/// Whether system `namespace/name` exists in Kubernetes.
fn exists(namespace: &str, name: &str) -> bool {
    let plane = plane();
    let api: Api<SystemMigration> = Api::namespaced(plane.local.client.clone(), namespace);
    plane
        .block_on(api.get_opt(name))
        .expect("read the system")
        .is_some()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the file");
    path
}

#[test]
fn bad_inventories_exit_2_naming_lines_and_columns_and_create_nothing() {
    let home = tempfile::tempdir().expect("home");
    let token = issue(home.path(), "city-finance", "editor");
    let cases: &[(&str, &[&str])] = &[
        (
            &format!(
                "{HEADER}\n\
                 bad-one,,工资,Unclassified,,机房,VirtualMachine,2,,4,16Gi,,,\n\
                 \n\
                 bad-two,,工资,Unclassified,,机房,VirtualMachine,three,,4,16Gi,,,\n\
                 bad-three,,涉密,Secret,,机房,VirtualMachine,1,,4,16Gi,,,\n\
                 bad-four,,环,Unclassified,,机房,VirtualMachine,1,,4,16Gi,,bad-one;bad-four,\n"
            ),
            &[
                "line 4, column \"hosts\": \"three\" is not a number",
                "line 5, column \"classification\": \"Secret\" is not one of",
                "line 6, column \"dependsOn\": \"bad-four\" is the system itself",
            ],
        ),
        (
            "name,displayName,classification,site,platform,cpu,memory\nbad-five,x,Unclassified,机房,Other,1,1Gi\n",
            &["line 1: the required column \"hosts\" is missing"],
        ),
        (
            &format!("{HEADER},owner\nbad-six,,x,Unclassified,,机房,Other,1,,1,1Gi,,,,me\n"),
            &["line 1, column \"owner\": unknown column"],
        ),
    ];
    for (index, (text, expected)) in cases.iter().enumerate() {
        let file = write(home.path(), &format!("bad-{index}.csv"), text);
        let (code, stdout, stderr) = run(govctl(home.path(), Some(&token))
            .args(["migration", "submit", "-f"])
            .arg(&file));
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            stderr.starts_with("error: nothing was submitted: "),
            "{stderr}"
        );
        for line in *expected {
            assert!(stderr.contains(line), "{line:?} not in:\n{stderr}");
        }
    }
    for name in ["bad-one", "bad-two", "bad-five", "bad-six"] {
        assert!(!exists("city-finance", name), "{name} was created");
    }
}

#[test]
fn a_good_inventory_creates_the_systems_listed_and_shown() {
    let home = tempfile::tempdir().expect("home");
    let token = issue(home.path(), "city-finance", "editor");
    let file = write(
        home.path(),
        "inventory.csv",
        &format!(
            "{HEADER}\n\
             inv-payroll,,工资发放系统,Unclassified,Internal,市财政局机房,VirtualMachine,2,示例软件有限公司,4,16Gi,1Ti,inv-ledger,\n\
             inv-ledger,city-finance,总账系统,非涉密,,市财政局机房,PhysicalServer,1,,2,8Gi,,,2025-09-01\n"
        ),
    );
    let stdout = ok(govctl(home.path(), Some(&token))
        .args(["migration", "submit", "--label", "team=finance", "-f"])
        .arg(&file));
    assert!(stdout.starts_with("Submitted 2 systems"), "{stdout}");
    assert!(stdout.contains("city-finance/inv-payroll"), "{stdout}");
    assert!(exists("city-finance", "inv-payroll") && exists("city-finance", "inv-ledger"));

    let systems: Vec<MigrationSummary> =
        json(govctl(home.path(), Some(&token)).args(["migration", "list"]));
    assert!(
        systems
            .iter()
            .all(|s| s.namespace.starts_with("city-finance")),
        "{systems:?}"
    );
    assert!(systems.iter().any(|s| s.name == "inv-ledger"));
    let table = ok(govctl(home.path(), Some(&token)).args(["migration", "list"]));
    assert!(table.starts_with("SYSTEM "), "{table}");
    assert!(table.contains("总账系统"), "{table}");

    // The department's own namespace is the default.
    let shown = ok(govctl(home.path(), Some(&token)).args(["migration", "show", "inv-payroll"]));
    for expected in [
        "System:          city-finance/inv-payroll",
        "Steps:",
        "migrate",
        "Migrate the system as agreed with the cloud operations team, then confirm this step.",
        "Depends on:      city-finance/inv-ledger",
    ] {
        assert!(shown.contains(expected), "{expected:?} not in:\n{shown}");
    }
    let view: MigrationView = json(govctl(home.path(), Some(&token)).args([
        "migration",
        "show",
        "city-finance/inv-ledger",
    ]));
    assert_eq!(view.steps.len(), 1);
    assert_eq!(view.not_before.as_deref(), Some("2025-09-01"));

    // Again: the systems exist (409, exit 5), named by line; nothing else happens.
    let (code, _, stderr) = run(govctl(home.path(), Some(&token))
        .args(["migration", "submit", "-f"])
        .arg(&file));
    assert_eq!(code, 5, "{stderr}");
    assert!(
        stderr.contains("line 2 (city-finance/inv-payroll)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 3 (city-finance/inv-ledger)"),
        "{stderr}"
    );

    // A step that does not wait for confirmation is a conflict; another tenant's system is
    // not found; an editor decides nothing.
    let (code, _, stderr) = run(govctl(home.path(), Some(&token)).args([
        "migration",
        "confirm",
        "inv-payroll",
        "nothing",
    ]));
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("has no step \"nothing\""), "{stderr}");
    let (code, _, _) =
        run(govctl(home.path(), Some(&token)).args(["migration", "show", "hanbin/hanbin-grid"]));
    assert_eq!(code, 4);
    let (code, _, _) = run(govctl(home.path(), Some(&token)).args([
        "migration",
        "approve",
        "inv-payroll",
        "--reason",
        "mine",
    ]));
    assert_eq!(code, 3);
}

#[test]
fn manifests_are_submitted_and_refusals_name_the_document() {
    let home = tempfile::tempdir().expect("home");
    let manifest = |name: &str, hosts: u32| {
        format!(
            "apiVersion: govcloud.io/v1alpha1\nkind: SystemMigration\nmetadata:\n  name: {name}\n\
             spec:\n  displayName: 系统 {name}\n  classification: Unclassified\n\
             \x20 source: {{site: 机房, platform: Container, hosts: {hosts}}}\n\
             \x20 resources: {{cpu: '1', memory: 1Gi}}\n  steps:\n  - name: cut-over\n\
             \x20   run: {{type: Manual, manual: {{instructions: Switch DNS.}}}}\n"
        )
    };
    let bad = write(
        home.path(),
        "bad.yaml",
        &format!(
            "{}---\n{}",
            manifest("yaml-good", 1),
            manifest("yaml-bad", 0)
        ),
    );
    let (code, _, stderr) = run(govctl(home.path(), None)
        .args(["migration", "submit", "-n", "city-archives", "-f"])
        .arg(&bad));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("document 2 (city-archives/yaml-bad)"),
        "{stderr}"
    );
    assert!(!exists("city-archives", "yaml-good"));

    let good = write(
        home.path(),
        "good.yaml",
        &format!(
            "{}---\n{}",
            manifest("yaml-one", 1),
            manifest("yaml-two", 3)
        ),
    );
    let created: Vec<MigrationSummary> = json(
        govctl(home.path(), None)
            .args(["migration", "submit", "-n", "city-archives", "-f"])
            .arg(&good),
    );
    let names: Vec<&str> = created.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["yaml-one", "yaml-two"]);
    assert!(exists("city-archives", "yaml-two"));
    let (code, _, stderr) = run(govctl(home.path(), None)
        .args(["migration", "submit", "--runbook", "r.yaml", "-f"])
        .arg(&good));
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn operations_approve_and_everyone_follows_the_campaign() {
    let home = tempfile::tempdir().expect("home");
    let stdout = ok(govctl(home.path(), None).args([
        "migration",
        "approve",
        "city-archives/digital-archives",
        "--reason",
        "reviewed with the archives bureau",
    ]));
    assert!(
        stdout.starts_with("System city-archives/digital-archives approved by "),
        "{stdout}"
    );
    let (code, _, stderr) = run(govctl(home.path(), None).args([
        "migration",
        "deny",
        "digital-archives",
        "-n",
        "city-archives",
        "--reason",
        "changed my mind",
    ]));
    assert_eq!(code, 5, "{stderr}");

    let plans: Vec<MigrationPlanView> = json(govctl(home.path(), None).args(["migration", "plan"]));
    assert!(plans.iter().any(|p| p.name == "ankang-2025"), "{plans:?}");
    let table = ok(govctl(home.path(), None).args(["migration", "plan", "ankang-2025"]));
    assert!(table.starts_with("Campaign:"), "{table}");
    assert!(table.contains("2025-12-31"), "{table}");

    // A department sees its own systems in the campaign and the others only as counts.
    let token = issue(home.path(), "city-finance", "viewer");
    let plan: MigrationPlanView =
        json(govctl(home.path(), Some(&token)).args(["migration", "plan", "ankang-2025"]));
    assert!(
        plan.systems.iter().all(|s| s.namespace == "city-finance"),
        "{plan:?}"
    );
    for blocker in &plan.blockers {
        assert!(
            blocker
                .examples
                .iter()
                .all(|e| e.starts_with("city-finance/")),
            "{blocker:?}"
        );
    }
}

/// A campaign whose window is always open, so that a manual step becomes due during the test.
fn always_open_plan(name: &str, label: &str) {
    let plane = plane();
    let plan: govcloud_crds::MigrationPlan = serde_json::from_value(serde_json::json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "MigrationPlan",
        "metadata": { "name": name },
        "spec": {
            "displayName": "confirm test", "deadline": "2099-12-31", "timeZone": "UTC",
            "systemSelector": { "matchLabels": { "govcloud.io/campaign": label } },
            "maintenanceWindows": [{ "name": "always", "schedule": "0 0 * * *", "duration": "24h", "concurrency": 10 }],
        },
    }))
    .expect("a plan");
    let api: Api<govcloud_crds::MigrationPlan> = Api::all(plane.local.client.clone());
    plane
        .block_on(api.create(&kube::api::PostParams::default(), &plan))
        .expect("create the plan");
}

/// Polls `govctl migration show` until `check` holds (60 s at most).
fn show_until(home: &Path, token: &str, system: &str, check: impl Fn(&MigrationView) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let view: MigrationView =
            json(govctl(home, Some(token)).args(["migration", "show", system]));
        if check(&view) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "timed out: {view:?}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_department_confirms_its_due_manual_step_and_the_system_completes() {
    let home = tempfile::tempdir().expect("home");
    always_open_plan("confirm-test", "confirm-test");
    let editor = issue(home.path(), "city-finance", "editor");
    let inventory = write(
        home.path(),
        "one.csv",
        &format!(
            "{HEADER}\nstipends,city-finance,助学金发放系统,Unclassified,Internal,市财政局机房,VirtualMachine,1,,1,2Gi,,,\n"
        ),
    );
    ok(govctl(home.path(), Some(&editor)).args([
        "migration",
        "submit",
        "-f",
        inventory.to_str().expect("utf-8 path"),
        "--label",
        "govcloud.io/campaign=confirm-test",
    ]));
    // Not due yet: refused, exit code 5.
    let (code, _, stderr) = run(govctl(home.path(), Some(&editor)).args([
        "migration",
        "confirm",
        "city-finance/stipends",
        "migrate",
    ]));
    assert_eq!(code, 5, "{stderr}");
    ok(govctl(home.path(), None).args([
        "migration",
        "approve",
        "city-finance/stipends",
        "--reason",
        "fits",
    ]));
    let waiting = |v: &MigrationView| {
        v.steps
            .iter()
            .any(|s| s.name == "migrate" && s.phase == StepPhase::WaitingForConfirmation)
    };
    show_until(home.path(), &editor, "city-finance/stipends", waiting);
    let stdout = ok(govctl(home.path(), Some(&editor)).args([
        "migration",
        "confirm",
        "stipends",
        "migrate",
        "-n",
        "city-finance",
    ]));
    assert!(stdout.contains("confirmed"), "{stdout}");
    show_until(home.path(), &editor, "city-finance/stipends", |v| {
        v.summary.phase == MigrationPhase::Completed
    });
    // Confirming again is refused.
    let (code, _, _) = run(govctl(home.path(), Some(&editor)).args([
        "migration",
        "confirm",
        "city-finance/stipends",
        "migrate",
    ]));
    assert_eq!(code, 5);
}
