//! `govcloud-controller local` as people run it: the README's command brings the control plane
//! up with the Ankang example, kubectl lists it with its columns, metrics are served, Ctrl-C stops
//! it cleanly, state survives a restart, and a crash mid-seed leaves a usable state.

use crate::process_support;

use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use govcloud_tests::local::kubectl_or_skip;
use process_support::{binary, http_get, workspace_root};

pub(crate) struct Local {
    pub(crate) child: Child,
    pub(crate) kubeconfig: PathBuf,
    pub(crate) metrics: String,
    /// Standard error, read as it is written (a full pipe would block the process's logging,
    /// and with it its shutdown), whole once the process has exited.
    stderr: std::thread::JoinHandle<String>,
}

/// Starts local mode and waits for its ready line.
pub(crate) fn start(data_dir: &Path, seed: bool) -> Local {
    let mut command = binary();
    command
        .args(["local", "--data-dir"])
        .arg(data_dir)
        .args([
            "--api-address",
            "127.0.0.1:0",
            "--controller-api-address",
            "127.0.0.1:0",
            "--metrics-address",
            "127.0.0.1:0",
            "--agent-api-address",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if seed {
        command
            .arg("--seed")
            .arg(workspace_root().join("examples/ankang"));
    }
    let mut child = command.spawn().expect("start govcloud-controller local");
    let mut errors = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = errors.read_to_string(&mut text);
        text
    });
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.next().expect("a line").expect("utf-8");
    assert!(
        ready.starts_with("govcloud local mode ready: api https://127.0.0.1:"),
        "{ready}"
    );
    let field = |name: &str| {
        let words: Vec<&str> = ready.split_whitespace().collect();
        let at = words
            .iter()
            .position(|w| *w == name)
            .expect("field in the ready line");
        words[at + 1].to_owned()
    };
    let kubeconfig = PathBuf::from(field("kubeconfig"));
    let metrics = field("metrics");
    std::thread::spawn(move || lines.for_each(drop));
    Local {
        child,
        kubeconfig,
        metrics,
        stderr,
    }
}

fn kubectl(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> String {
    let output = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(kubeconfig.with_file_name("kubectl-cache"))
        .args(args)
        .output()
        .expect("run kubectl");
    assert!(
        output.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

pub(crate) fn interrupt(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "local mode did not stop within 20 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn local_mode_serves_the_ankang_example_to_kubectl_and_keeps_state() {
    let Some(kubectl_path) = kubectl_or_skip("local_mode_serves_the_ankang_example") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("state");
    let mut local = start(&data_dir, true);
    assert_eq!(local.kubeconfig, data_dir.join("kubeconfig"));

    let listed = kubectl(
        &kubectl_path,
        &local.kubeconfig,
        &["get", "tenants,routers,extranetlinks"],
    );
    assert!(listed.contains("tenant.govcloud.io/ankang"), "{listed}");
    assert!(
        listed.contains("router.govcloud.io/ankang-core"),
        "{listed}"
    );
    assert!(listed.contains("extranetlink.govcloud.io/"), "{listed}");
    assert!(
        listed
            .lines()
            .any(|l| l.contains("NAME") && l.contains("TIER") && l.contains("COMPLIANCE")),
        "{listed}"
    );

    let (_, metrics) = http_get(&local.metrics).expect("metrics answer");
    assert!(
        metrics.contains("govcloud_local_seed_objects{kind=\"Tenant\"} 30"),
        "{metrics}"
    );
    assert!(metrics.contains("govcloud_build_info"), "{metrics}");

    let status = interrupt(&mut local.child);
    assert!(status.success(), "exit status {status}");
    let stderr = local.stderr.join().expect("the stderr reader");
    assert!(stderr.contains("stopping"), "{stderr}");

    // State survives a restart (without the seed this time).
    let mut again = start(&data_dir, false);
    let tenants = kubectl(
        &kubectl_path,
        &again.kubeconfig,
        &["get", "tenants", "-o", "name"],
    );
    assert_eq!(tenants.lines().count(), 30, "{tenants}");
    assert!(interrupt(&mut again.child).success());
}

#[test]
fn a_crash_while_seeding_leaves_a_state_that_starts_and_converges() {
    let Some(kubectl_path) = kubectl_or_skip("a_crash_while_seeding") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("state");
    let mut command = binary();
    let mut child = command
        .args(["local", "--data-dir"])
        .arg(&data_dir)
        .args([
            "--api-address",
            "127.0.0.1:0",
            "--controller-api-address",
            "127.0.0.1:0",
            "--metrics-address",
            "127.0.0.1:0",
            "--agent-api-address",
            "127.0.0.1:0",
            "--seed",
        ])
        .arg(workspace_root().join("examples/ankang"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    // Kill it hard once it has written some objects.
    let database = data_dir.join("state.db-wal");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(&database).map_or(0, |m| m.len()) < 200_000 && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill -9");
    let _ = child.wait();

    let mut local = start(&data_dir, true);
    let all = kubectl(
        &kubectl_path,
        &local.kubeconfig,
        &["get", "tenants,routers,extranetlinks", "-o", "name"],
    );
    assert_eq!(all.lines().count(), 30 + 152 + 151, "{all}");
    assert!(interrupt(&mut local.child).success());
}
