//! `govcloud-controller run` as an operator meets it: against `govcloud-controller apiserver`
//! standing in for the cluster, it serves `/livez` and `/readyz`, leads, and on SIGTERM stops
//! within the grace period and releases its lease; every bad input stops it at start with one
//! line naming the flag or file and what to do.

use crate::process_support;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use process_support::{apiserver, binary, http_get, install};

/// Installs what the chart installs, from a test without a runtime of its own.
fn install_blocking(kubeconfig: &Path) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(install(kubeconfig));
}

/// `run`'s arguments for a replica on free ports with SQLite in `dir`.
fn run_args(dir: &Path, kubeconfig: &Path) -> Vec<String> {
    vec![
        "run".into(),
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--namespace".into(),
        "kube-system".into(),
        "--database-url".into(),
        format!("sqlite://{}", dir.join("govcloud.db").display()),
        "--state-dir".into(),
        dir.join("state").display().to_string(),
        "--api-address".into(),
        "127.0.0.1:0".into(),
        "--agent-api-address".into(),
        "127.0.0.1:0".into(),
        "--metrics-address".into(),
        "127.0.0.1:0".into(),
        "--identity".into(),
        "replica-1".into(),
    ]
}

/// `args` with the database URL taken from `file` instead (as the chart mounts its Secret).
fn with_url_file(args: &[String], file: &Path) -> Vec<String> {
    args.iter()
        .map(|a| {
            if a == "--database-url" {
                "--database-url-file".to_owned()
            } else if a.starts_with("sqlite://") {
                file.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect()
}

/// Runs `run` with `args` where `flag`'s value is replaced (or added) by `value`, expecting a
/// failure at start; returns its one line of error.
fn refused(args: &[String], flag: &str, value: &str) -> String {
    let mut args = args.to_vec();
    match args.iter().position(|a| a == flag) {
        Some(at) => value.clone_into(&mut args[at + 1]),
        None => args.extend([flag.to_owned(), value.to_owned()]),
    }
    let started = Instant::now();
    let mut child = binary()
        .args(&args)
        .env_remove("GOVCLOUD_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!(
                "{flag} {value} was accepted: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output: Output = child.wait_with_output().expect("output");
    assert!(
        !output.status.success(),
        "{flag} {value} exited successfully: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    // Start-up logs (at the default level) may come first; the error is one last line, and
    // nothing else is a warning or an error.
    let lines: Vec<&str> = stderr.lines().collect();
    let last = lines.last().copied().unwrap_or_default();
    assert!(
        last.starts_with("govcloud-controller: "),
        "{flag} {value}: {stderr}"
    );
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.contains(" INFO ") && !l.starts_with("govcloud-controller: ")),
        "{flag} {value}: one line of error, got:\n{stderr}"
    );
    last.to_owned()
}

#[test]
fn bad_input_stops_run_at_start_naming_the_flag_or_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let (_cluster, kubeconfig) = apiserver(dir, None);
    let args = run_args(dir, &kubeconfig);

    // A cluster without the CRDs.
    let error = refused(&args, "--identity", "replica-1");
    assert!(
        error.contains("tenants") && error.contains("govcloud-controller crds"),
        "{error}"
    );
    install_blocking(&kubeconfig);

    // A kubeconfig that does not parse.
    let garbage = dir.join("garbage.yaml");
    std::fs::write(&garbage, "clusters: [this is: not a kubeconfig").expect("write");
    let error = refused(&args, "--kubeconfig", &garbage.display().to_string());
    assert!(error.contains("garbage.yaml"), "{error}");

    // A missing kubeconfig file.
    let error = refused(&args, "--kubeconfig", "/nonexistent/kubeconfig");
    assert!(error.contains("/nonexistent/kubeconfig"), "{error}");

    // A context the kubeconfig does not have.
    let error = refused(&args, "--context", "prod-cluster");
    assert!(
        error.contains("`prod-cluster`") && error.contains("--context"),
        "{error}"
    );

    // An API server nobody answers at.
    let text = std::fs::read_to_string(&kubeconfig).expect("kubeconfig");
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("a server line")
        .to_owned();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let unreachable = dir.join("unreachable.yaml");
    std::fs::write(
        &unreachable,
        text.replace(&server, &format!("https://127.0.0.1:{port}")),
    )
    .expect("write");
    let error = refused(&args, "--kubeconfig", &unreachable.display().to_string());
    assert!(
        error.contains(&format!("127.0.0.1:{port}")) && error.contains("does not answer"),
        "{error}"
    );

    // A namespace that does not exist.
    let error = refused(&args, "--namespace", "govcloud-system");
    assert!(
        error.contains("`govcloud-system`") && error.contains("--namespace"),
        "{error}"
    );

    // A database URL of no known kind, a URL file that is missing or empty.
    let error = refused(&args, "--database-url", "mysql://root@localhost/govcloud");
    assert!(error.contains("--database-url"), "{error}");
    let url_file = dir.join("database-url");
    let from_file = with_url_file(&args, &url_file);
    let error = refused(&from_file, "--identity", "replica-1");
    assert!(
        error.contains("--database-url-file") && error.contains("database-url"),
        "{error}"
    );
    std::fs::write(&url_file, "\n").expect("write");
    let error = refused(&from_file, "--identity", "replica-1");
    assert!(error.contains("is empty"), "{error}");

    // TLS files missing, and a key that is not the certificate's.
    let tls = dir.join("tls");
    std::fs::create_dir(&tls).expect("tls dir");
    let error = refused(&args, "--tls-dir", &tls.display().to_string());
    assert!(
        error.contains("--tls-dir") && error.contains("tls.crt"),
        "{error}"
    );
    let pki = dir.join("cluster/pki");
    std::fs::copy(pki.join("server.crt"), tls.join("tls.crt")).expect("copy");
    std::fs::copy(pki.join("ca.key"), tls.join("tls.key")).expect("copy");
    let error = refused(&args, "--tls-dir", &tls.display().to_string());
    assert!(
        error.contains("tls.key") && error.contains("does not match"),
        "{error}"
    );
    let error = refused(&args, "--agent-ca-dir", &tls.display().to_string());
    assert!(
        error.contains("--agent-ca-dir") && error.contains("tls.crt"),
        "{error}"
    );

    // Timing that cannot fence.
    let error = refused(&args, "--renew-deadline", "20s");
    assert!(error.contains("--lease-duration"), "{error}");
}

#[test]
fn a_wrong_database_password_is_refused_naming_the_flag() {
    let Some(url) = govcloud_tests::database::server_url(
        "a_wrong_database_password_is_refused_naming_the_flag",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (_cluster, kubeconfig) = apiserver(dir.path(), None);
    let args = run_args(dir.path(), &kubeconfig);
    let mut wrong = url::Url::parse(&url).expect("a URL");
    wrong
        .set_password(Some("not-the-password"))
        .expect("a password");
    let error = refused(&args, "--database-url", wrong.as_str());
    assert!(
        error.contains("--database-url") && error.contains("password authentication failed"),
        "{error}"
    );
    assert!(
        !error.contains("not-the-password"),
        "the password is never printed: {error}"
    );
}

#[test]
fn run_is_ready_leads_and_stops_on_sigterm_releasing_its_lease() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let (_cluster, kubeconfig) = apiserver(dir, None);
    install_blocking(&kubeconfig);
    // The database URL from a file, as the chart passes it.
    let url_file = dir.join("database-url");
    std::fs::write(
        &url_file,
        format!("sqlite://{}\n", dir.join("govcloud.db").display()),
    )
    .expect("write");
    let mut child = binary()
        .args(with_url_file(&run_args(dir, &kubeconfig), &url_file))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start run");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.next().expect("a line").expect("utf-8");
    assert!(
        ready.starts_with("govcloud-controller running as replica-1: controller-api https://"),
        "{ready}"
    );
    let metrics = ready
        .split_whitespace()
        .skip_while(|w| *w != "metrics")
        .nth(1)
        .expect("metrics")
        .to_owned();
    assert_eq!(
        http_get(&metrics.replace("/metrics", "/livez")).map(|(status, _)| status),
        Some(200)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) =
            http_get(&metrics.replace("/metrics", "/readyz")).expect("/readyz answers");
        let leading =
            http_get(&metrics).is_some_and(|(_, text)| text.contains("\ngovcloud_leader 1"));
        if status == 200 && leading {
            assert!(
                body.contains("[+]storage ok") && body.contains("[+]controller-caches ok"),
                "{body}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready and leading in 30 s: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let kubectl_lease = || {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args([
                "-n",
                "kube-system",
                "get",
                "lease",
                "govcloud-controller",
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ])
            .output();
        output
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let with_kubectl = kubectl_lease().is_some();
    if with_kubectl {
        assert_eq!(kubectl_lease().as_deref(), Some("replica-1"));
    }

    let stopping = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(30),
            "still running 30 s after SIGTERM (the chart's grace period)"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "{exit}");
    eprintln!("stopped {:?} after SIGTERM", stopping.elapsed());
    if with_kubectl {
        assert_eq!(
            kubectl_lease().as_deref(),
            Some(""),
            "the lease is released"
        );
    }
}
