//! The real `govctl` binary: help, completions, usage errors, exit codes, the settings file
//! written by `login` and read back, and every command against the real HTTPS API of local mode
//! (the Ankang seed), started once for the whole file. Each test works with tenants and tokens of
//! its own, so that the tests may run in any order and at the same time; the one test that
//! breaks its server (a database gone: HTTP 500) starts a local mode of its own.

/// Support shared with govctl's other test files.
mod support {
    pub mod audit;
    pub mod command;
    pub mod local;
    pub mod process;
}

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use govcloud_crds::QuotaRequest;
use govcloud_crds::api::{
    AuditRecordView, AuditVerification, IssuedToken, Role, TokenView, WhoAmI,
};
use govcloud_crds::tenancy::quota_request::QuotaRequestPhase;
use k8s_openapi::api::core::v1::ResourceQuota;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use support::audit::tamper_with_the_audit_log;
use support::command::{govctl, issue_token, json, ok, outcome, run};
use support::local::start_local;
use support::process::{self, runtime};

/// A token of the right shape that no server issued.
const TOKEN: &str = "gct_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
/// The Linux pipe buffer holds this much; an export bigger than four of them cannot fit.
const PIPE_BUFFER: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Running govctl

/// Runs `command` with `input` on standard input.
fn run_with_input(command: &mut Command, input: &str) -> (i32, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn govctl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    outcome(child.wait_with_output().expect("wait"))
}

/// A loopback URL on which nothing listens.
fn unreachable_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("https://127.0.0.1:{port}")
}

/// Polls `check` every 100 ms for up to a minute; `check` says what it saw when not done.
fn eventually<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let mut seen = String::new();
    for _ in 0..600 {
        match check() {
            Ok(value) => return value,
            Err(last) => seen = last,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}; last seen: {seen}");
}

// ---------------------------------------------------------------------------------------------
// Local mode

/// Local mode with the Ankang seed, shared by every test of this file, on a runtime that lives
/// as long as the test process.
struct Plane {
    /// Local mode and its runtime.
    shared: process::Plane,
    /// Local mode's data directory: the controller's database is `govcloud.db` in it.
    data: PathBuf,
    /// `https://127.0.0.1:PORT`: the controller's API.
    url: String,
    /// The CA that signed the API's certificate (`DATA/pki/ca.crt`).
    ca: PathBuf,
}

/// The settings file local mode writes, as read here.
#[derive(serde::Deserialize)]
struct LocalSettings {
    server: String,
    ca: PathBuf,
}

fn plane() -> &'static Plane {
    static PLANE: OnceLock<Plane> = OnceLock::new();
    PLANE.get_or_init(|| {
        let (shared, data) = process::Plane::start("govctl-tests");
        let text = std::fs::read_to_string(&shared.local.govctl_config).expect("govctl.toml");
        let settings: LocalSettings = toml::from_str(&text).expect("local mode's settings");
        Plane {
            shared,
            data,
            url: settings.server,
            ca: settings.ca,
        }
    })
}

impl Plane {
    /// `govctl` pointed at the API through the environment, as scripts do, with `token`.
    fn govctl(&self, home: &Path, token: &str) -> Command {
        let mut command = govctl(home);
        command
            .env("GOVCTL_SERVER", &self.url)
            .env("GOVCTL_CA", &self.ca)
            .env("GOVCTL_TOKEN", token);
        command
    }

    /// `govctl --config DATA/govctl.toml`: local mode's operations token of the root tenant
    /// `ankang`.
    fn operations(&self, home: &Path) -> Command {
        let mut command = govctl(home);
        command
            .arg("--config")
            .arg(&self.shared.local.govctl_config);
        command
    }

    /// A new token of `tenant` with `role`, issued by operations.
    fn issue(&self, tenant: &str, role: &str, description: &str) -> IssuedToken {
        let home = tempfile::tempdir().expect("home");
        issue_token(&mut self.operations(home.path()), tenant, role, description)
    }

    /// Waits until the controller has recorded quota request `name` as pending. A decision
    /// made before that may find the object changed meanwhile (409), as the API documents.
    fn wait_until_pending(&self, name: &str) {
        let requests: Api<QuotaRequest> = Api::all(self.shared.local.client.clone());
        eventually(&format!("quota request {name} to be pending"), || {
            let request = self
                .block_on(requests.get(name))
                .map_err(|e| e.to_string())?;
            match &request.status {
                Some(status)
                    if status.phase == QuotaRequestPhase::Pending
                        && status.observed_generation == request.metadata.generation =>
                {
                    Ok(())
                }
                status => Err(format!("{status:?}")),
            }
        });
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.shared.block_on(future)
    }
}

// ---------------------------------------------------------------------------------------------
// The command line alone

#[test]
fn help_reads_well_and_documents_exit_codes() {
    let home = tempfile::tempdir().expect("home");
    let (code, stdout, _) = run(govctl(home.path()).arg("--help"));
    assert_eq!(code, 0);
    for expected in [
        "login",
        "whoami",
        "tenant",
        "quota",
        "token",
        "audit",
        "completions",
        "Global options",
        "GOVCTL_SERVER",
        "GOVCTL_TOKEN",
        "Exit codes:",
        "3  authentication or authorisation failure",
        "6  server error (HTTP 5xx), or the server cannot be reached",
    ] {
        assert!(
            stdout.contains(expected),
            "--help lacks {expected:?}:\n{stdout}"
        );
    }
    let (code, stdout, _) = run(govctl(home.path()).args(["quota", "request", "--help"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("--justification <TEXT>"), "{stdout}");
}

#[test]
fn the_token_value_never_appears_in_help() {
    let home = tempfile::tempdir().expect("home");
    let (code, stdout, _) = run(govctl(home.path())
        .env("GOVCTL_TOKEN", TOKEN)
        .args(["whoami", "--help"]));
    assert_eq!(code, 0);
    assert!(!stdout.contains(TOKEN), "{stdout}");
}

#[test]
fn completions_for_every_shell() {
    let home = tempfile::tempdir().expect("home");
    let (code, stdout, stderr) = run(govctl(home.path()).args(["completions", "bash"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("_govctl()"), "{stdout}");
    assert!(stdout.contains("complete -F _govctl"), "{stdout}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let (code, stdout, stderr) = run(govctl(home.path()).args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(stdout.contains("quota"), "{shell}");
    }
}

#[test]
fn usage_errors_exit_2_and_name_the_flag() {
    let home = tempfile::tempdir().expect("home");
    let cases: &[(&[&str], &str)] = &[
        (
            &["quota", "request", "--cpu", "lots", "--justification", "x"],
            "--cpu",
        ),
        (
            &[
                "quota",
                "request",
                "--memory",
                "-1Gi",
                "--justification",
                "x",
            ],
            "--memory",
        ),
        (
            &[
                "quota",
                "request",
                "--storage",
                "5GB",
                "--justification",
                "x",
            ],
            "--storage",
        ),
        (
            &[
                "quota",
                "request",
                "--cpu",
                "4",
                "--justification",
                "x",
                "--valid-for",
                "30d",
            ],
            "--valid-for",
        ),
        (&["quota", "request", "--justification", "x"], "--cpu"),
        (&["quota", "request", "--cpu", "4"], "--justification"),
        (
            &["quota", "request", "--cpu", "4", "--justification", ""],
            "--justification",
        ),
        (&["quota", "approve", "r1"], "--reason"),
        (
            &["token", "issue", "--tenant", "a", "--role", "boss"],
            "--role",
        ),
        (&["audit", "export", "--from", "0"], "--from"),
        (&["-o", "xml", "whoami"], "--output"),
        (&["completions", "tcsh"], "<SHELL>"),
        (&["frobnicate"], "frobnicate"),
    ];
    for (args, flag) in cases {
        let (code, stdout, stderr) = run(govctl(home.path()).args(*args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag),
            "{args:?} should name {flag}: {stderr}"
        );
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
    let (_, _, stderr) = run(govctl(home.path()).args([
        "quota",
        "request",
        "--memory",
        "-1Gi",
        "--justification",
        "x",
    ]));
    assert!(stderr.contains("negative"), "{stderr}");
}

#[test]
fn missing_settings_are_explained() {
    let home = tempfile::tempdir().expect("home");
    let (code, _, stderr) = run(govctl(home.path()).arg("whoami"));
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: no server: pass --server URL, set GOVCTL_SERVER, or run `govctl login`\n"
    );
    let (code, _, stderr) = run(govctl(home.path()).args(["whoami", "--server", "https://x"]));
    assert_eq!(code, 3);
    assert!(stderr.contains("no token"), "{stderr}");
    let (code, _, stderr) = run(govctl(home.path())
        .env("GOVCTL_SERVER", "http://127.0.0.1:8443")
        .env("GOVCTL_TOKEN", TOKEN)
        .arg("whoami"));
    assert_eq!(code, 2);
    assert!(stderr.contains("HTTPS only"), "{stderr}");
    let missing = home.path().join("nowhere/govctl.toml");
    let (code, _, stderr) = run(govctl(home.path())
        .env("GOVCTL_CONFIG", &missing)
        .arg("whoami"));
    assert_eq!(code, 2);
    assert!(stderr.contains("does not exist"), "{stderr}");
    let broken = home.path().join("broken.toml");
    std::fs::write(&broken, "server = \n").expect("write");
    let (code, _, stderr) = run(govctl(home.path())
        .arg("--config")
        .arg(&broken)
        .arg("whoami"));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("failed to parse the settings file"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_server_exits_6_with_a_clear_message() {
    let home = tempfile::tempdir().expect("home");
    let server = unreachable_server();
    let (code, stdout, stderr) = run(govctl(home.path())
        .args(["whoami", "--server", &server])
        .env("GOVCTL_TOKEN", TOKEN));
    assert_eq!(code, 6, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with(&format!(
            "error: failed to ask the server who you are: cannot reach the server at {server}: "
        )),
        "{stderr}"
    );
    assert!(stderr.contains("refused"), "{stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one error, printed once: {stderr}"
    );
    assert!(!stderr.contains(TOKEN));
}

// ---------------------------------------------------------------------------------------------
// Logging in

#[test]
fn login_fails_without_writing_anything() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    let config = home.path().join(".config/govctl/config.toml");

    // Unreachable server: exit 6, no file.
    let server = unreachable_server();
    let (code, _, stderr) = run(govctl(home.path())
        .args(["login", "--server", &server, "--token", TOKEN])
        .arg("--ca")
        .arg(&plane.ca));
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: failed to log in: cannot reach the server at {server}: "
        )),
        "{stderr}"
    );
    assert!(!config.exists());

    // A token the server refuses (unknown, or not a token at all): exit 3 with the server's
    // detail, no file, and the token is not repeated.
    for (token, detail) in [
        (TOKEN, "the token is unknown, expired or revoked"),
        (
            "not-the-token",
            "the Authorization header must be `Bearer <token>` with a govcloud API token",
        ),
    ] {
        let (code, _, stderr) = run_with_input(
            govctl(home.path())
                .args(["login", "--server", &plane.url])
                .arg("--ca")
                .arg(&plane.ca),
            &format!("{token}\n"),
        );
        assert_eq!(code, 3, "{stderr}");
        assert_eq!(
            stderr,
            format!("error: failed to log in: 401 Authentication required: {detail}\n")
        );
        assert!(!config.exists());
        assert!(!stderr.contains(token), "{stderr}");
    }

    // No token at all: a usage error.
    let (code, _, stderr) = run(govctl(home.path())
        .args(["login", "--server", &plane.url])
        .arg("--ca")
        .arg(&plane.ca));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no token"), "{stderr}");

    // The wrong CA (one the API's certificate does not chain to): the TLS failure is named,
    // with a hint, and nothing is written.
    let other = tempfile::tempdir().expect("other CA");
    let certificates =
        govcloud_apiserver::tls::load_or_create(other.path(), &["127.0.0.1"]).expect("a CA");
    let wrong_ca = other.path().join("wrong-ca.crt");
    std::fs::write(&wrong_ca, certificates.ca_pem).expect("CA");
    let viewer = plane.issue("city-hrss", "viewer", "hrss viewer");
    let login = |ca: &Path| {
        run(govctl(home.path())
            .args(["login", "--server", &plane.url, "--token", &viewer.token])
            .arg("--ca")
            .arg(ca))
    };
    let (code, _, stderr) = login(&wrong_ca);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("failed to connect securely"), "{stderr}");
    assert!(stderr.contains("CA file"), "{stderr}");
    assert!(!config.exists());
    // The same token with the right CA logs in.
    let (code, _, stderr) = login(&plane.ca);
    assert_eq!(code, 0, "{stderr}");
    assert!(config.exists());
}

#[test]
fn login_saves_the_settings_that_later_commands_use() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    let clerk = plane.issue("city-civil", "editor", "civil affairs clerk");
    let (code, stdout, stderr) = run_with_input(
        govctl(home.path())
            .args(["login", "--server", &plane.url])
            .arg("--ca")
            .arg(&plane.ca),
        &format!("{}\n", clerk.token),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "as editor of tenant city-civil (token {}, civil affairs clerk)",
            clerk.view.id
        )),
        "{stdout}"
    );
    assert!(!stdout.contains(&clerk.token));

    let config = home.path().join(".config/govctl/config.toml");
    let text = std::fs::read_to_string(&config).expect("settings file");
    assert_eq!(
        text,
        format!(
            "server = \"{}\"\nca = \"{}\"\ntoken = \"{}\"\n",
            plane.url,
            plane.ca.display(),
            clerk.token
        )
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Later commands need nothing but the file: the server knows the token from it.
    let me: WhoAmI = json(govctl(home.path()).arg("whoami"));
    assert_eq!(
        me,
        WhoAmI {
            token_id: clerk.view.id,
            tenant: "city-civil".to_owned(),
            role: Role::Editor,
            description: "civil affairs clerk".to_owned(),
            expires_at: clerk.view.expires_at,
        }
    );
    environment_overrides_the_file(plane, home.path(), &config);
}

/// The environment wins over the settings file in `home`; a file named by `GOVCTL_CONFIG`
/// works like the default one.
fn environment_overrides_the_file(plane: &Plane, home: &Path, config: &Path) {
    // A server from the environment: here one that is not there.
    let elsewhere = unreachable_server();
    let (code, _, stderr) = run(govctl(home).env("GOVCTL_SERVER", &elsewhere).arg("whoami"));
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains(&elsewhere), "{stderr}");
    // A token from the environment replaces the file's: another tenant's …
    let other = plane.issue("city-medins", "viewer", "medical insurance viewer");
    let me: WhoAmI = json(govctl(home).env("GOVCTL_TOKEN", &other.token).arg("whoami"));
    assert_eq!(
        (me.token_id, me.tenant.as_str()),
        (other.view.id, "city-medins")
    );
    // … or one the server refuses.
    let (code, _, stderr) = run(govctl(home).env("GOVCTL_TOKEN", TOKEN).arg("whoami"));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("401 Authentication required"), "{stderr}");

    // A settings file named explicitly, in local mode's format, works the same.
    let local = home.join("data/govctl.toml");
    std::fs::create_dir_all(local.parent().expect("dir")).expect("mkdir");
    std::fs::copy(config, &local).expect("copy");
    std::fs::remove_file(config).expect("remove");
    let (code, stdout, stderr) = run(govctl(home)
        .env("GOVCTL_CONFIG", &local)
        .args(["tenant", "show"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Name:          city-civil\n"), "{stdout}");
}

#[test]
fn login_from_a_local_mode_settings_file() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    // Local mode's DATA/govctl.toml; here with the CA beside it, named relatively.
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::copy(&plane.ca, data.join("ca.crt")).expect("CA");
    let written = std::fs::read_to_string(&plane.shared.local.govctl_config).expect("govctl.toml");
    let absolute = format!("ca = \"{}\"", plane.ca.display());
    assert!(written.contains(&absolute), "{written}");
    std::fs::write(
        data.join("govctl.toml"),
        written.replace(&absolute, "ca = \"ca.crt\""),
    )
    .expect("write");
    let (code, stdout, stderr) = run(govctl(home.path()).current_dir(home.path()).args([
        "login",
        "--from",
        "data/govctl.toml",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("as operations of tenant ankang (token 1, local mode operations (govctl))"),
        "{stdout}"
    );
    assert!(stdout.contains("Settings saved to"), "{stdout}");
    let saved = std::fs::read_to_string(home.path().join(".config/govctl/config.toml"))
        .expect("saved settings");
    assert!(
        saved.contains(&format!("ca = \"{}\"", data.join("ca.crt").display())),
        "the CA is saved as an absolute path: {saved}"
    );
    let (code, _, stderr) = run(govctl(home.path()).args(["login", "--from", "/nonexistent.toml"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("named by --from"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Tenants and quota

#[test]
fn quota_show_prints_units_and_free() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    let viewer = plane.issue("city-archives", "viewer", "archives viewer");
    // Local mode runs no pods; report usage as Kubernetes' quota controller would, in the
    // status of the tenant's ResourceQuota, and let the tenant controller sum it up.
    let quotas: Api<ResourceQuota> =
        Api::namespaced(plane.shared.local.client.clone(), "city-archives");
    eventually("the quota of city-archives", || {
        match plane.block_on(quotas.get_opt("govcloud-quota")) {
            Ok(Some(quota)) => Ok(quota),
            other => Err(format!("{other:?}")),
        }
    });
    let used = json!({"status": {"used": {"requests.cpu": "12", "requests.memory": "64Gi"}}});
    plane
        .block_on(quotas.patch_status(
            "govcloud-quota",
            &PatchParams::default(),
            &Patch::Merge(&used),
        ))
        .expect("report usage");
    let stdout = eventually("the usage in the tenant's status", || {
        let (code, stdout, stderr) = run(plane
            .govctl(home.path(), &viewer.token)
            .args(["quota", "show"]));
        assert_eq!(code, 0, "{stderr}");
        // CPU and memory, both asserted below.
        if stdout.contains("12 cores") && stdout.contains("64 GiB") {
            Ok(stdout)
        } else {
            Err(stdout)
        }
    });
    assert_eq!(
        stdout,
        "Tenant city-archives (安康市档案馆)\n\n\
         RESOURCE  QUOTA     USED      FREE\n\
         cpu       64 cores  12 cores  52 cores\n\
         memory    256 GiB   64 GiB    192 GiB\n\
         storage   100 TiB   0 B       100 TiB\n"
    );
    let (code, stdout, _) = run(plane
        .govctl(home.path(), &viewer.token)
        .args(["quota", "show", "-o", "yaml"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("free: 192Gi"), "{stdout}");
}

#[test]
fn tenant_show_of_an_invisible_or_missing_tenant_exits_4() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    let viewer = plane.issue("city-forestry", "viewer", "forestry viewer");
    // Another department's tenant and one that does not exist answer alike.
    for name in ["hanbin", "no-such-tenant"] {
        let (code, stdout, stderr) = run(plane
            .govctl(home.path(), &viewer.token)
            .args(["tenant", "show", name]));
        assert_eq!(code, 4, "{stderr}");
        assert!(stdout.is_empty());
        assert_eq!(
            stderr,
            format!(
                "error: failed to show tenant {name}: 404 Not found: no tenant of that name is visible to this token\n"
            )
        );
    }
}

#[test]
fn quota_request_sends_validated_quantities() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    let clerk = plane.issue("city-transport", "editor", "transport clerk");
    let (code, stdout, stderr) = run(plane.govctl(home.path(), &clerk.token).args([
        "quota",
        "request",
        "--cpu",
        "96",
        "--memory",
        "384Gi",
        "--justification",
        "tax filing season",
        "--valid-for",
        "720h",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let (name, _) = stdout
        .strip_prefix("Quota request ")
        .and_then(|rest| rest.split_once(" sent"))
        .unwrap_or_else(|| panic!("no request name: {stdout}"));
    assert!(name.starts_with("city-transport-"), "{name}");
    assert!(stdout.contains("cpu 96 cores, memory 384 GiB"), "{stdout}");

    // What the API made of it, as stored in Kubernetes.
    let requests: Api<QuotaRequest> = Api::all(plane.shared.local.client.clone());
    let object = plane
        .block_on(requests.get(name))
        .expect("the QuotaRequest");
    assert_eq!(
        serde_json::to_value(&object.spec).expect("json"),
        json!({
            "tenant": "city-transport",
            "requested": {"cpu": "96", "memory": "384Gi"},
            "justification": "tax filing season",
            "requestedBy": format!("transport clerk (token {})", clerk.view.id),
            "validFor": "720h",
        })
    );

    let (code, stdout, _) = run(plane
        .govctl(home.path(), &clerk.token)
        .args(["quota", "requests"]));
    assert_eq!(code, 0);
    assert!(stdout.starts_with("NAME "), "{stdout}");
    let row = stdout
        .lines()
        .find(|line| line.starts_with(name))
        .unwrap_or_else(|| panic!("no row for {name}: {stdout}"));
    assert!(row.contains("Pending"), "{row}");
}

#[test]
fn refusals_and_conflicts_have_their_own_exit_codes() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    let clerk = plane.issue("city-water", "editor", "water clerk");
    let viewer = plane.issue("city-water", "viewer", "water viewer");
    let department = plane.issue("city-water", "operations", "water operations");
    let request = [
        "quota",
        "request",
        "--cpu",
        "100",
        "--justification",
        "flood season monitoring",
    ];
    // 403: a viewer cannot ask for quota …
    let (code, _, stderr) = run(plane.govctl(home.path(), &viewer.token).args(request));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr
            .contains("403 Not allowed for this token's role: a viewer token cannot request quota"),
        "{stderr}"
    );
    let created: Value = json(plane.govctl(home.path(), &clerk.token).args(request));
    let name = created["name"].as_str().expect("name");
    plane.wait_until_pending(name);
    // … and a department cannot approve its request, not even with an operations token.
    for (token, refusal) in [
        (
            &clerk.token,
            "token cannot decide quota requests; that needs the operations role",
        ),
        (
            &department.token,
            "requests of tenant city-water are decided by the operations of a parent tenant",
        ),
    ] {
        let (code, _, stderr) = run(plane
            .govctl(home.path(), token)
            .args(["quota", "approve", name, "--reason", "ok"]));
        assert_eq!(code, 3, "{stderr}");
        assert!(stderr.contains(refusal), "{stderr}");
    }
    // 409: the city's operations decide once; a second decision conflicts.
    let decide = |verb: &str| {
        run(plane.operations(home.path()).args([
            "quota",
            verb,
            name,
            "--tenant",
            "city-water",
            "--reason",
            "not this quarter",
        ]))
    };
    let (code, _, stderr) = decide("deny");
    assert_eq!(code, 0, "{stderr}");
    for verb in ["approve", "deny"] {
        let (code, _, stderr) = decide(verb);
        assert_eq!(code, 5, "{stderr}");
        assert!(
            stderr.contains("409 Conflict with the object's state: the request was already denied"),
            "{stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[test]
fn token_issue_prints_the_secret_in_the_token_field() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    let printed: Value = json(plane.operations(home.path()).args([
        "token",
        "issue",
        "--tenant",
        "hanbin",
        "--role",
        "editor",
        "--expires-in",
        "720h",
    ]));
    let secret = printed["token"].as_str().expect("the token field");
    assert!(secret.starts_with("gct_"), "{printed}");
    let issued: IssuedToken = serde_json::from_value(printed.clone()).expect("an issued token");
    assert_eq!(printed["id"], issued.view.id);
    assert_eq!(
        (issued.view.tenant.as_str(), issued.view.role),
        ("hanbin", Role::Editor)
    );
    assert_eq!(issued.view.description, "editor token for hanbin");
    let expires_at = issued.view.expires_at.expect("an expiry");
    assert_eq!(
        expires_at - issued.view.created_at,
        chrono::TimeDelta::hours(720)
    );
    assert_eq!(issued.view.revoked_at, None);
    // The secret printed is the token the server issued.
    let me: WhoAmI = json(plane.govctl(home.path(), secret).arg("whoami"));
    assert_eq!(
        me,
        WhoAmI {
            token_id: issued.view.id,
            tenant: "hanbin".to_owned(),
            role: Role::Editor,
            description: "editor token for hanbin".to_owned(),
            expires_at: Some(expires_at),
        }
    );
}

#[test]
fn token_revoke_deletes_by_id() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    let issued = plane.issue("city-samr", "viewer", "market regulation viewer");
    let id = issued.view.id;
    ok(plane.govctl(home.path(), &issued.token).arg("whoami"));
    let (code, stdout, stderr) =
        run(plane
            .operations(home.path())
            .args(["token", "revoke", &id.to_string()]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("Token {id} revoked.\n"));
    let (code, _, stderr) = run(plane.govctl(home.path(), &issued.token).arg("whoami"));
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(
        stderr,
        "error: failed to ask the server who you are: 401 Authentication required: the token is unknown, expired or revoked\n"
    );
    let tokens: Vec<TokenView> =
        json(
            plane
                .operations(home.path())
                .args(["token", "list", "--tenant", "city-samr"]),
        );
    let revoked = tokens.iter().find(|t| t.id == id).expect("the token");
    assert!(revoked.revoked_at.is_some(), "{revoked:?}");
}

// ---------------------------------------------------------------------------------------------
// The audit log

/// The whole audit log as the root's operations see it, as text and as records.
fn export_all(plane: &Plane, home: &Path) -> (String, Vec<AuditRecordView>) {
    let text = ok(plane.operations(home).args(["audit", "export"]));
    let records = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("one record a line"))
        .collect();
    (text, records)
}

/// The only test that breaks the chain; no other test verifies it.
#[test]
fn a_broken_audit_chain_exits_1_naming_the_record() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    let auditor = plane.issue("ankang", "auditor", "city auditor");
    let verified = ok(plane
        .govctl(home.path(), &auditor.token)
        .args(["audit", "verify"]));
    assert!(verified.contains("intact"), "{verified}");

    let victim = plane.issue("city-audit", "viewer", "audit bureau viewer");
    let object = format!("ApiToken/{}", victim.view.id);
    let (_, records) = export_all(plane, home.path());
    let seq = records
        .iter()
        .find(|r| r.action == "token.issue" && r.object == object)
        .expect("the record of the token")
        .seq;
    plane.block_on(tamper_with_the_audit_log(
        &plane.data,
        seq,
        r#"{"role":"operations"}"#,
    ));

    let (code, stdout, stderr) = run(plane
        .govctl(home.path(), &auditor.token)
        .args(["audit", "verify"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(
        stderr,
        format!(
            "error: the audit chain is broken at record {seq}: audit record {seq} does not match its hash (edited) ({} records checked)\n",
            seq - 1
        )
    );
    let (code, stdout, _) = run(plane
        .govctl(home.path(), &auditor.token)
        .args(["audit", "verify", "-o", "json"]));
    assert_eq!(code, 1);
    let result: AuditVerification = serde_json::from_str(&stdout).expect("json");
    assert!(!result.intact);
    assert_eq!(result.first_broken_seq, Some(seq));
}

/// Files `count` quota requests for `tenant`, each with a justification of 2000 characters
/// (6000 bytes), from four processes at a time; returns their names.
fn file_long_requests(plane: &Plane, home: &Path, tenant: &str, count: usize) -> Vec<String> {
    let clerk = plane.issue(tenant, "editor", "urban management clerk");
    let justification = "城市管理".repeat(500);
    let threads = 4;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    (0..count / threads)
                        .map(|_| {
                            let created: Value = json(plane.govctl(home, &clerk.token).args([
                                "quota",
                                "request",
                                "--storage",
                                "1Ti",
                                "--justification",
                                &justification,
                            ]));
                            created["name"].as_str().expect("name").to_owned()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("worker"))
            .collect()
    })
}

#[test]
fn audit_export_prints_json_lines_and_a_closed_pipe_is_success() {
    let plane = plane();
    let home = tempfile::tempdir().expect("home");
    let names = file_long_requests(plane, home.path(), "city-urban", 48);
    let (text, records) = export_all(plane, home.path());
    assert!(
        text.len() > 4 * PIPE_BUFFER,
        "the export ({} bytes) must not fit a pipe",
        text.len()
    );
    let ours: Vec<&AuditRecordView> = records
        .iter()
        .filter(|r| {
            r.action == "quota-request.create"
                && names
                    .iter()
                    .any(|n| r.object == format!("QuotaRequest/{n}"))
        })
        .collect();
    assert_eq!(ours.len(), names.len());

    // A range: the records between two of ours, exactly as in the whole export, chained.
    let (from, to) = (ours[0].seq, ours[1].seq);
    let stdout = ok(plane.operations(home.path()).args([
        "audit",
        "export",
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
    ]));
    let range: Vec<AuditRecordView> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one record a line"))
        .collect();
    let seqs: Vec<i64> = range.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (from..=to).collect::<Vec<_>>());
    assert_eq!(range.first(), Some(ours[0]));
    assert_eq!(range.last(), Some(ours[1]));
    for pair in range.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }

    // `govctl audit export | head -n 1`: the reader goes away after one line.
    let mut child = plane
        .operations(home.path())
        .args(["audit", "export"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    // Dropping the reader closed the pipe.
    let output = child.wait_with_output().expect("wait");
    assert!(first.starts_with("{\"seq\":1,"), "{first}");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// A server error

/// A controller whose database is gone answers 500; govctl exits 6. Closing the database
/// breaks every request, so this test has a local mode of its own (with no seed: it needs
/// nothing but a token).
#[test]
fn a_server_error_exits_6() {
    let dir = tempfile::tempdir().expect("data directory");
    let runtime = runtime();
    let local = runtime.block_on(start_local(dir.path(), false));
    let home = tempfile::tempdir().expect("home");
    let whoami = || {
        run(govctl(home.path())
            .arg("--config")
            .arg(&local.govctl_config)
            .arg("whoami"))
    };
    let (code, _, stderr) = whoami();
    assert_eq!(code, 0, "{stderr}");
    runtime.block_on(local.operator.storage.close());
    let (code, stdout, stderr) = whoami();
    assert_eq!(code, 6, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(
        stderr,
        "error: failed to ask the server who you are: 500 Internal error: the server failed to complete the request; the cause is in its log\n"
    );
    runtime.block_on(local.shutdown());
}
