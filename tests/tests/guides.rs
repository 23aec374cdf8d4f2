//! Every command in the user guides runs: the `$ `-prefixed lines of their `console` blocks are
//! executed in order against local mode seeded with the Ankang example (the guide's starting
//! point), with `KUBECONFIG` pointing at it and the workspace as working directory.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use govcloud_controller::local::{self, LocalOptions};
use govcloud_tests::local::kubectl_or_skip;
use govcloud_tests::workspace_root;

/// How long a command that streams (`--watch`) runs before it is stopped.
const STREAM_FOR: Duration = Duration::from_secs(3);

/// The commands of a guide's console blocks, in order.
fn commands(guide: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(guide).expect("guide");
    let mut in_console = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_console = line.trim() == "```console";
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ").filter(|_| in_console) {
            found.push(command.to_owned());
        }
    }
    found
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

#[tokio::test(flavor = "multi_thread")]
async fn every_command_of_the_operations_guide_runs() {
    let Some(kubectl_path) = kubectl_or_skip("every_command_of_the_operations_guide_runs") else {
        return;
    };
    let guide = workspace_root().join("docs/guides/operations.md");
    let commands = commands(&guide);
    assert!(commands.len() >= 10, "{commands:?}");
    // The state the guide starts from: local mode with the Ankang seed.
    let dir = tempfile::tempdir().expect("tempdir");
    let plane = local::start(&LocalOptions {
        data_dir: dir.path().join("state"),
        seed: Some(workspace_root().join("examples/ankang")),
        api_address: "127.0.0.1:0".parse().expect("address"),
        metrics_address: "127.0.0.1:0".parse().expect("address"),
    })
    .await
    .expect("start local mode");
    let config = plane.api.kubeconfig.clone();
    for command in &commands {
        if command.starts_with("cargo run ") {
            assert_eq!(
                command,
                &readme_main_command(),
                "the guide starts local mode as the README does"
            );
            continue;
        }
        if command.starts_with("export KUBECONFIG=") {
            continue;
        }
        assert!(
            command.starts_with("kubectl "),
            "the guide runs only kubectl and cargo: {command}"
        );
        let streams = command.contains("--watch") || command.contains(" -w");
        let mut shell = Command::new("timeout");
        if streams {
            shell.arg(format!("{}s", STREAM_FOR.as_secs()));
        } else {
            shell.arg("60s");
        }
        let output = shell
            .args(["sh", "-c", command])
            .current_dir(workspace_root())
            .env("KUBECONFIG", &config)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    kubectl_path.parent().expect("dir").display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", dir.path())
            .output()
            .expect("run the command");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if streams {
            assert_eq!(
                output.status.code(),
                Some(124),
                "`{command}` should stream until stopped: {stderr}"
            );
            assert!(
                stdout.contains("NAME"),
                "`{command}` printed nothing: {stderr}"
            );
        } else {
            assert!(
                output.status.success(),
                "`{command}` failed:\n{stderr}\n{stdout}"
            );
            assert!(!stdout.trim().is_empty(), "`{command}` printed nothing");
        }
    }
    plane.shutdown().await;
}
