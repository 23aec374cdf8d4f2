//! Starting the embedded API server for a test: a fresh data directory, a free loopback port,
//! and kubectl pointed at it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use govcloud_apiserver::server::{self, RunningServer, ServerConfig};

/// An API server in a temporary directory; dropped with the test.
#[derive(Debug)]
pub struct TestServer {
    /// The running server.
    pub server: RunningServer,
    /// Its data directory (removed when the test ends).
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server on a free loopback port.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = start_in(dir.path(), "127.0.0.1:0").await;
        Self { server, dir }
    }

    /// The kubeconfig the server wrote.
    pub fn kubeconfig(&self) -> PathBuf {
        self.server.kubeconfig.clone()
    }
}

/// Starts a server on `data_dir` and `address`.
pub async fn start_in(data_dir: &Path, address: &str) -> RunningServer {
    server::start(ServerConfig {
        data_dir: data_dir.to_path_buf(),
        address: address.parse().expect("address"),
        audit_log: None,
    })
    .await
    .expect("start the API server")
}

/// The kubectl on PATH, or `None` (after printing why) when absent and skipping is allowed.
pub fn kubectl_or_skip(test: &str) -> Option<PathBuf> {
    crate::require::on_path_or_skip(test, "kubectl", "the Debian package kubectl")
}

/// Runs kubectl against a server with its own discovery cache.
pub fn kubectl(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> Output {
    let cache = kubeconfig.with_file_name("kubectl-cache");
    Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(&cache)
        .args(args)
        .output()
        .expect("run kubectl")
}
