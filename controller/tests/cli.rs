//! The `govcloud-controller` binary: the commands the README and the guides show.

use std::process::Command;

fn controller() -> Command {
    Command::new(env!("CARGO_BIN_EXE_govcloud-controller"))
}

#[test]
fn crds_prints_every_crd_as_one_yaml_stream() {
    let output = controller()
        .arg("crds")
        .output()
        .expect("run govcloud-controller crds");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(stdout.matches("kind: CustomResourceDefinition").count(), 12);
    assert!(stdout.contains("name: tenants.govcloud.io"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("kubectl apply --server-side -f -"),
        "{stderr}"
    );
}

#[test]
fn migrate_creates_the_database_and_reports_its_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("govcloud.db").display());
    let output = controller()
        .args(["migrate", "--database-url", &url])
        .output()
        .expect("run migrate");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        stdout.starts_with(&format!("{url}: schema version ")),
        "{stdout}"
    );
    assert!(dir.path().join("govcloud.db").exists());
}

#[test]
fn a_failed_connection_names_the_url_without_its_password() {
    let output = controller()
        .args([
            "migrate",
            "--database-url",
            "postgres://govcloud:hunter2@127.0.0.1:1/govcloud",
        ])
        .output()
        .expect("run migrate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("failed to open database postgres://govcloud:***@127.0.0.1:1/govcloud"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn an_unknown_database_scheme_is_a_clear_error() {
    let output = controller()
        .args(["migrate", "--database-url", "mysql://x@y/z"])
        .output()
        .expect("run migrate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mysql"), "{stderr}");
}
