//! What the fault suite (`faults.rs`) needs beyond running `govcloud-controller`: a private
//! PostgreSQL server it may stop and start (never the machine's shared one), a small tmpfs it
//! can fill (unmounted when dropped, even on panic), SQLite's own integrity check of a state
//! file, and an HTTPS client of the controller's API trusting a CA file.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::str::FromStr as _;
use std::sync::Arc;

use govcloud_tests::require::{is_root, skip};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// A free TCP port on loopback (free when asked; nothing holds it afterwards).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

fn run(mut command: Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The directory of PostgreSQL's server programs (`initdb`, `pg_ctl`): what `pg_config
/// --bindir` says, else the newest `/usr/lib/postgresql/*/bin` (Debian's layout), else the
/// directory of `initdb` on `PATH`.
fn postgres_bindir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let configured = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if let Some(dir) = configured.filter(|dir| has_server(dir)) {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).find(|dir| has_server(dir)))
}

/// A PostgreSQL server of this test alone: a cluster made with `initdb` in a temporary
/// directory, listening on a free loopback port, run as the `postgres` OS user when the test
/// runs as root (PostgreSQL refuses to run as root). Stopped (immediately) when dropped.
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl PrivatePostgres {
    /// Makes and starts the server, or skips `test` (the project's skip rule) when the server
    /// programs are not installed or the `postgres` OS user a root test needs does not exist.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        let Some(bindir) = postgres_bindir() else {
            skip(
                test,
                "PostgreSQL's server programs (initdb, pg_ctl) are not installed (Debian package \
                 postgresql; .ci/setup-postgres installs it)",
            );
            return None;
        };
        let as_postgres_user = is_root();
        if as_postgres_user {
            let known = Command::new("id")
                .args(["-u", "postgres"])
                .output()
                .is_ok_and(|output| output.status.success());
            if !known {
                skip(
                    test,
                    "running as root, and PostgreSQL refuses root: it needs the `postgres` OS \
                     user, which does not exist (the postgresql package creates it)",
                );
                return None;
            }
        }
        let dir = tempfile::tempdir().expect("a directory for the private PostgreSQL");
        let server = Self {
            dir,
            bindir,
            port: free_port(),
            as_postgres_user,
        };
        if as_postgres_user {
            let mut chown = Command::new("chown");
            chown.arg("postgres:").arg(server.dir.path());
            run(chown, "chown the private PostgreSQL's directory");
        }
        let mut initdb = server.program("initdb");
        initdb.arg("-D").arg(server.data()).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run(initdb, "initdb of the private PostgreSQL");
        server.start();
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's log.
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn program(&self, name: &str) -> Command {
        let path = self.bindir.join(name);
        if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let mut pg_ctl = self.program("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log())
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1",
                self.port,
                self.dir.path().display()
            ))
            .arg("start");
        run(pg_ctl, "start the private PostgreSQL");
    }

    /// Stops the server at once, as a crash would: every backend is killed, in-flight
    /// transactions are lost, and the next start recovers from the write-ahead log.
    pub fn stop_immediately(&self) {
        let mut pg_ctl = self.program("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"]);
        run(pg_ctl, "stop the private PostgreSQL");
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let mut pg_ctl = self.program("pg_ctl");
        let _ = pg_ctl
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// A tmpfs of a fixed size mounted on a fresh directory; unmounted when dropped (lazily when
/// something still holds it), whether the test passed or panicked.
pub struct SmallFilesystem {
    mount_point: tempfile::TempDir,
}

impl SmallFilesystem {
    /// Mounts `size_mib` MiB, or skips `test` when not root or when mounting is not allowed
    /// (a container without `CAP_SYS_ADMIN`).
    pub fn mount_or_skip(test: &str, size_mib: u32) -> Option<Self> {
        if !is_root() {
            skip(test, "mounting a small tmpfs needs root");
            return None;
        }
        let mount_point = tempfile::tempdir().expect("a mount point");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(mount_point.path())
            .output()
            .expect("run mount");
        if !output.status.success() {
            skip(
                test,
                &format!(
                    "mount -t tmpfs failed (a container without CAP_SYS_ADMIN?): {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            );
            return None;
        }
        Some(Self { mount_point })
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.mount_point.path()
    }

    /// Bytes still free on it.
    pub fn available(&self) -> u64 {
        let output = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(self.path())
            .output()
            .expect("run df");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .nth(1)
            .and_then(|line| line.trim().parse().ok())
            .expect("df's answer")
    }
}

impl Drop for SmallFilesystem {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.path())
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(self.path()).status();
        }
    }
}

/// SQLite's `PRAGMA integrity_check` of the database file `path`, its rows joined by newlines
/// (`ok` when intact). Opening the file recovers a write-ahead log left by a crash, as the next
/// start of the server would.
pub async fn integrity_check(path: &Path) -> String {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .expect("a SQLite URL")
        .create_if_missing(false);
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .unwrap_or_else(|error| panic!("open {}: {error}", path.display()));
    let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut connection)
        .await
        .expect("PRAGMA integrity_check");
    connection.close().await.expect("close");
    rows.into_iter()
        .map(|(row,)| row)
        .collect::<Vec<_>>()
        .join("\n")
}

/// An HTTPS client that trusts the CA certificate in `ca_file` (PEM).
pub fn https_client(ca_file: &Path) -> reqwest::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let pem = std::fs::read(ca_file).expect("the CA file");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(&pem).expect("a PEM certificate"))
        .expect("a CA certificate");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .no_proxy()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("an HTTPS client")
}
