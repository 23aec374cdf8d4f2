//! Every command in the user guides runs. The `$ `-prefixed lines of the guides' `console` blocks
//! are executed in order — operations, network, departments, auditors — against local mode
//! seeded with the Ankang example (the guides' starting point), from a directory where
//! `.govcloud` is local mode's data directory and `examples` the project's, with `kubectl` and
//! the freshly built `govctl` on PATH and a private HOME.

use crate::support;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use govcloud_tests::local::kubectl_or_skip;
use govcloud_tests::workspace_root;
use support::local::start_local;

/// How long a command that streams (`--watch`) may take to print its table's header, on a
/// loaded machine; it is stopped as soon as it has.
const STREAM_FOR: Duration = Duration::from_secs(60);

/// How long any other command may take before it is taken for hung: `kubectl apply -f
/// examples/ankang/` reads and patches each of the example's 382 objects, which took over a
/// minute on a loaded two-core machine.
const COMMAND_LIMIT: Duration = Duration::from_secs(300);

/// The guides, in the order a newcomer reads them.
const GUIDES: &[&str] = &[
    "docs/guides/operations.md",
    "docs/guides/network.md",
    "docs/guides/departments.md",
    "docs/guides/auditors.md",
];

/// The commands of a guide's console blocks, in order.
fn commands(guide: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(guide).expect("guide");
    govcloud_tests::guides::console_commands(&text)
}

/// The README's main command, which `controller/tests/local.rs` runs (with free ports and a
/// temporary data directory).
fn readme_main_command() -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README");
    readme
        .lines()
        .find(|l| l.starts_with("cargo run -p govcloud-controller -- local"))
        .expect("the main command")
        .to_owned()
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::too_many_lines)]
async fn every_command_of_every_guide_runs() {
    let Some(kubectl_path) = kubectl_or_skip("every_command_of_every_guide_runs") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("state");
    let plane = start_local(&data_dir, true).await;
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("work dir");
    symlink(&data_dir, &work.join(".govcloud"));
    symlink(&workspace_root().join("examples"), &work.join("examples"));
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("home");
    let govctl = PathBuf::from(env!("CARGO_BIN_EXE_govctl"));
    // The agent is another package's binary, built next to govctl by `cargo test --workspace`.
    let agent = govctl.with_file_name("govcloud-agent");
    assert!(
        agent.exists(),
        "the network guide runs govcloud-agent: build it first (cargo build -p govcloud-agent, or cargo test --workspace)"
    );
    let path = format!(
        "{}:{}:{}",
        govctl.parent().expect("dir").display(),
        kubectl_path.parent().expect("dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for guide in GUIDES {
        for command in commands(&workspace_root().join(guide)) {
            if command.starts_with("cargo run ") {
                assert_eq!(
                    command,
                    readme_main_command(),
                    "{guide} starts local mode as the README does"
                );
                continue;
            }
            if command.starts_with("export KUBECONFIG=") {
                continue;
            }
            assert!(
                command.starts_with("kubectl ")
                    || command.starts_with("govctl ")
                    || command.starts_with("govcloud-agent "),
                "{guide} runs only kubectl, govctl, govcloud-agent and cargo: {command}"
            );
            let streams = command.contains("--watch");
            let limit = if streams { STREAM_FOR } else { COMMAND_LIMIT };
            let mut run = Command::new("timeout");
            run.arg(format!("{}s", limit.as_secs()))
                .args(["sh", "-c", &command])
                .current_dir(&work)
                .env("KUBECONFIG", &plane.api.kubeconfig)
                .env("PATH", &path)
                .env("HOME", &home)
                .env_remove("XDG_CONFIG_HOME")
                .env_remove("GOVCTL_CONFIG")
                .env_remove("GOVCTL_TOKEN")
                .env_remove("GOVCTL_SERVER")
                .env_remove("GOVCTL_CA");
            if streams {
                // Wait for the table's header (however long a loaded machine takes, up to the
                // limit), check that the command still streams, then stop it as Ctrl-C would.
                let mut child = run
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("run the command");
                let stdout = BufReader::new(child.stdout.take().expect("stdout"));
                let mut printed = Vec::new();
                for line in stdout.lines().map_while(Result::ok) {
                    let header = line.contains("NAME");
                    printed.push(line);
                    if header {
                        break;
                    }
                }
                let streaming = child.try_wait().expect("wait").is_none();
                let stopped = Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status()
                    .expect("kill -INT");
                let output = child.wait_with_output().expect("wait for the command");
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(
                    streaming && stopped.success(),
                    "{guide}: `{command}` should stream until stopped: {stderr}"
                );
                assert!(
                    printed.iter().any(|line| line.contains("NAME")),
                    "{guide}: `{command}` printed nothing: {stderr}"
                );
                ran += 1;
                continue;
            }
            let output = run.output().expect("run the command");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            {
                assert!(
                    output.status.success(),
                    "{guide}: `{command}` failed:\n{stderr}\n{stdout}"
                );
                assert!(
                    !stdout.trim().is_empty() || !stderr.trim().is_empty(),
                    "{guide}: `{command}` printed nothing"
                );
            }
            ran += 1;
        }
    }
    assert!(ran >= 25, "only {ran} commands ran");
    plane.shutdown().await;
}
