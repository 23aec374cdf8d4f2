//! Running the real `govctl` binary: a command with no settings from the machine, its exit
//! code, output and JSON, and issuing a token with it.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use govcloud_crds::api::IssuedToken;

/// `govctl` with no settings from the machine: no `GOVCTL_*` variables, `HOME` and
/// `XDG_CONFIG_HOME` inside `home` (so the default settings file is `home/.config/govctl/…`).
pub fn govctl(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_govctl"));
    for name in [
        "GOVCTL_CONFIG",
        "GOVCTL_SERVER",
        "GOVCTL_TOKEN",
        "GOVCTL_CA",
        "GOVCTL_NAMESPACE",
    ] {
        command.env_remove(name);
    }
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// Runs `command`, returning its exit code, standard output and standard error.
pub fn run(command: &mut Command) -> (i32, String, String) {
    outcome(command.output().expect("run govctl"))
}

/// The exit code, standard output and standard error of a finished `govctl`.
pub fn outcome(output: Output) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = output;
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).expect("utf-8 stdout"),
        String::from_utf8(stderr).expect("utf-8 stderr"),
    )
}

/// Runs `command`, which must succeed, and returns its standard output.
pub fn ok(command: &mut Command) -> String {
    let (code, stdout, stderr) = run(command);
    assert_eq!(code, 0, "govctl failed: {stderr}\n{stdout}");
    stdout
}

/// Runs `command` with `-o json` and reads its output as `T`.
pub fn json<T: serde::de::DeserializeOwned>(command: &mut Command) -> T {
    let stdout = ok(command.args(["-o", "json"]));
    serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

/// A new token of `tenant` with `role`, issued by `operations` (`govctl` with an operations
/// token).
pub fn issue_token(
    operations: &mut Command,
    tenant: &str,
    role: &str,
    description: &str,
) -> IssuedToken {
    json(operations.args([
        "token",
        "issue",
        "--tenant",
        tenant,
        "--role",
        role,
        "--description",
        description,
    ]))
}
