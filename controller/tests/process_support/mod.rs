//! What the suites that run `govcloud-controller` as a process share: the binary (without the
//! caller's `KUBECONFIG` or `POD_NAME`), a process that announces itself with a ready line, the
//! API server alone standing in for a cluster (`govcloud-controller apiserver`), a kube client of
//! it with what the chart installs, and a plain HTTP GET of the metrics and health endpoints.

#![allow(dead_code)] // each suite uses its part

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The controller's binary, without the caller's kubeconfig or pod name.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_govcloud-controller"));
    command.env_remove("KUBECONFIG").env_remove("POD_NAME");
    command
}

/// A process whose first line of standard output was its ready line; standard error goes to a
/// file. Killed when dropped.
#[derive(Debug)]
pub struct Process {
    pub child: Child,
    pub ready: String,
}

impl Process {
    /// Starts `command` and waits for its ready line.
    pub fn start(mut command: Command, log: &Path) -> Self {
        let log_file = File::create(log).expect("log file");
        command.stdout(Stdio::piped()).stderr(log_file);
        let mut child = command.spawn().expect("spawn govcloud-controller");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let Some(Ok(ready)) = lines.next() else {
            let _ = child.kill();
            let mut text = String::new();
            let _ = File::open(log).and_then(|mut f| f.read_to_string(&mut text));
            panic!("no ready line; standard error:\n{text}");
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, ready }
    }

    /// The word after `name` in the ready line.
    pub fn field(&self, name: &str) -> String {
        let words: Vec<&str> = self.ready.split_whitespace().collect();
        let at = words
            .iter()
            .position(|w| *w == name)
            .unwrap_or_else(|| panic!("`{name}` in `{}`", self.ready));
        words[at + 1].to_owned()
    }

    /// Sends `signal` (`-STOP`, `-TERM`, …) with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `govcloud-controller apiserver` on a free loopback port with its state in `DIR/cluster`
/// (and its audit log where asked); returns it and its kubeconfig.
pub fn apiserver(dir: &Path, audit_log: Option<&Path>) -> (Process, PathBuf) {
    let mut command = binary();
    command
        .arg("apiserver")
        .arg("--data-dir")
        .arg(dir.join("cluster"))
        .args(["--address", "127.0.0.1:0"]);
    if let Some(path) = audit_log {
        command.arg("--audit-log-path").arg(path);
    }
    let process = Process::start(command, &dir.join("apiserver.log"));
    let kubeconfig = PathBuf::from(process.field("kubeconfig"));
    (process, kubeconfig)
}

/// A kube client from `kubeconfig`.
pub async fn client(kubeconfig: &Path) -> kube::Client {
    let file = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .expect("config");
    kube::Client::try_from(config).expect("client")
}

/// Installs what the chart installs (the CRDs, the tenant-admin role) through `kubeconfig`.
pub async fn install(kubeconfig: &Path) -> kube::Client {
    let client = client(kubeconfig).await;
    govcloud_controller::local::install(&client)
        .await
        .expect("install the CRDs and the tenant-admin role");
    client
}

/// A plain HTTP GET on loopback: status and body, or `None` when nothing answers.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/')?;
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

impl Process {
    /// Kills the process with SIGKILL, as a crash or the OOM killer would, and reaps it.
    pub fn kill_hard(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `limit` for a clean exit; returns whether it exited with
    /// success.
    pub fn terminate(&mut self, limit: Duration) -> bool {
        self.signal("-TERM");
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.success();
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `govcloud-controller local` on free loopback ports with its state in `data_dir`, applying
/// `seed` when given, with `extra` arguments; standard error goes to `log`.
pub fn local(data_dir: &Path, seed: Option<&Path>, extra: &[&str], log: &Path) -> Process {
    let mut command = binary();
    command.args(["local", "--data-dir"]).arg(data_dir).args([
        "--api-address",
        "127.0.0.1:0",
        "--controller-api-address",
        "127.0.0.1:0",
        "--metrics-address",
        "127.0.0.1:0",
        "--agent-api-address",
        "127.0.0.1:0",
    ]);
    if let Some(seed) = seed {
        command.arg("--seed").arg(seed);
    }
    command.args(extra);
    let process = Process::start(command, log);
    assert!(
        process.ready.starts_with("govcloud local mode ready: "),
        "{}",
        process.ready
    );
    process
}

/// `govcloud-controller apiserver` with its state in `data_dir` at `address` (port 0 picks a
/// free one); returns it and its kubeconfig.
pub fn apiserver_at(data_dir: &Path, address: &str, log: &Path) -> (Process, PathBuf) {
    let mut command = binary();
    command
        .arg("apiserver")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--address", address]);
    let process = Process::start(command, log);
    let kubeconfig = PathBuf::from(process.field("kubeconfig"));
    (process, kubeconfig)
}
