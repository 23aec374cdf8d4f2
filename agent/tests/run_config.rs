//! `govcloud-agent run` refuses a configuration it cannot use before doing anything: an unknown
//! key (of the `[config]` table too) is named with its line, a value out of range with its key,
//! a missing certificate with its path, and the exit code is 1.

use std::process::Command;

fn run_with(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agent.toml");
    std::fs::write(&path, config).expect("write the configuration");
    let output = Command::new(env!("CARGO_BIN_EXE_govcloud-agent"))
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .expect("run the agent");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const CONFIG: &str = r#"controller_url = "https://127.0.0.1:7443"
router = "lab-city"
certificate = "router.crt"
key = "router.key"
ca = "ca.crt"
state_dir = "state"
"#;

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let (code, stderr) = run_with(&format!("{CONFIG}report_every = 5\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("agent.toml: line 7: unknown field `report_every`"),
        "{stderr}"
    );
}

#[test]
fn a_missing_certificate_is_named_with_its_path() {
    let (code, stderr) = run_with(CONFIG);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`certificate` names "), "{stderr}");
    assert!(
        stderr.contains("router.crt, which cannot be read"),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_is_named() {
    let output = Command::new(env!("CARGO_BIN_EXE_govcloud-agent"))
        .args(["run", "--config", "/nonexistent/agent.toml"])
        .output()
        .expect("run the agent");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("failed to read the configuration /nonexistent/agent.toml"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_key_of_the_config_table_is_named_with_its_line() {
    let (code, stderr) = run_with(&format!(
        "{CONFIG}\n[config]\nenabled = true\npoll_interval = 5\n"
    ));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("agent.toml: line 10: unknown field `poll_interval`"),
        "{stderr}"
    );
}

#[test]
fn a_config_value_out_of_range_is_named_by_its_key() {
    let (code, stderr) = run_with(&format!("{CONFIG}[config]\npoll_seconds = 120\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("invalid `config.poll_seconds`"), "{stderr}");
    assert!(stderr.contains("must be at most 60"), "{stderr}");
    let (code, stderr) = run_with(&format!("{CONFIG}[config]\nprobe_attempts = 0\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("invalid `config.probe_attempts`"),
        "{stderr}"
    );
}
