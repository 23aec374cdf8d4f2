//! The real `govctl` binary: help, completions, usage errors, exit codes, the settings file
//! written by `login` and read back, and every command against a stub of the HTTPS API that
//! speaks the API's wire types (crds::api) over TLS with a CA of its own.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use chrono::{TimeZone, Utc};
use govcloud_crds::api::{
    AuditRecordView, AuditVerification, IssuedToken, QuotaRequestView, ResourceFigures, Role,
    TenantView, TokenView, WhoAmI,
};
use govcloud_crds::tenancy::quota_request::QuotaRequestPhase;
use serde_json::{Value, json};
use support::{Reply, Request, StubServer, govctl, run, run_with_input, unreachable_server};

const TOKEN: &str = "gct_department_token_0123456789";

fn whoami() -> WhoAmI {
    WhoAmI {
        token_id: 12,
        tenant: "city-finance".to_owned(),
        role: Role::Editor,
        description: "finance clerk".to_owned(),
        expires_at: None,
    }
}

fn tenant(name: &str) -> TenantView {
    TenantView {
        name: name.to_owned(),
        display_name: "市财政局".to_owned(),
        level: "Department".to_owned(),
        parent: Some("city".to_owned()),
        children: vec![],
        namespaces: vec![name.to_owned()],
        resources: vec![
            ResourceFigures {
                resource: "cpu".to_owned(),
                hard: "64".to_owned(),
                used: "12".to_owned(),
                delegated: None,
            },
            ResourceFigures {
                resource: "memory".to_owned(),
                hard: "256Gi".to_owned(),
                used: "64Gi".to_owned(),
                delegated: None,
            },
        ],
        ready: true,
        message: None,
    }
}

fn quota_request(phase: QuotaRequestPhase) -> QuotaRequestView {
    serde_json::from_value(json!({
        "name": "city-finance-20250601",
        "tenant": "city-finance",
        "requested": {"cpu": "96", "memory": "384Gi"},
        "justification": "tax filing season",
        "requestedBy": "finance clerk (token 12)",
        "phase": phase,
        "createdAt": "2025-06-01T08:00:00Z",
    }))
    .expect("quota request view")
}

fn record(seq: i64) -> AuditRecordView {
    AuditRecordView {
        seq,
        at: Utc
            .with_ymd_and_hms(2025, 6, 1, 8, 0, 0)
            .single()
            .expect("time"),
        actor: "finance clerk (token 12)".to_owned(),
        tenant: Some("city-finance".to_owned()),
        action: "quota-request.create".to_owned(),
        object: format!("QuotaRequest/r-{seq}"),
        detail: json!({"cpu": "96"}),
        prev_hash: format!("{:064x}", seq - 1),
        hash: format!("{seq:064x}"),
    }
}

/// The API as a department's token sees it: its own tenant `city-finance`; every other tenant
/// is not found; writes answer as the API documents.
fn api(request: &Request) -> Reply {
    if request.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return Reply::problem(401, "Unauthorized", "missing or invalid token", None);
    }
    match (request.method.as_str(), request.target.as_str()) {
        ("GET", "/v1/whoami") => Reply::json(200, &whoami()),
        ("GET", "/v1/tenants/city-finance") => Reply::json(200, &tenant("city-finance")),
        ("GET", "/v1/tenants/city-finance/quota-requests") => {
            Reply::json(200, &vec![quota_request(QuotaRequestPhase::Pending)])
        }
        ("POST", "/v1/tenants/city-finance/quota-requests") => {
            Reply::json(201, &quota_request(QuotaRequestPhase::Pending))
        }
        ("POST", "/v1/tenants/city-finance/quota-requests/city-finance-20250601/approve") => {
            Reply::problem(
                403,
                "Forbidden",
                "a department cannot approve its own quota request",
                None,
            )
        }
        ("POST", "/v1/tenants/city-finance/quota-requests/decided/deny") => Reply::problem(
            409,
            "Conflict",
            "quota request decided was already approved",
            None,
        ),
        ("GET", "/v1/audit/verify") => Reply::json(
            200,
            &AuditVerification {
                intact: false,
                records: 120,
                first_broken_seq: Some(57),
                reason: Some("hash mismatch".to_owned()),
            },
        ),
        ("GET", "/v1/audit?from=2&to=3") => Reply::text(
            200,
            "application/x-ndjson",
            [2, 3]
                .map(|seq| serde_json::to_string(&record(seq)).expect("json") + "\n")
                .concat(),
        ),
        ("GET", "/v1/audit") => Reply::text(
            200,
            "application/x-ndjson",
            (1..=20_000)
                .map(|seq| serde_json::to_string(&record(seq)).expect("json") + "\n")
                .collect(),
        ),
        ("GET", "/v1/tokens") => {
            Reply::problem(500, "Internal Server Error", "database locked", None)
        }
        (_, target) if target.starts_with("/v1/tenants/") => Reply::problem(
            404,
            "Not Found",
            "no tenant visible to this token by that name",
            None,
        ),
        _ => Reply::problem(404, "Not Found", "no such endpoint", None),
    }
}

/// `govctl` pointed at `stub` through the environment, as scripts do.
fn against(stub: &StubServer, home: &std::path::Path) -> std::process::Command {
    let mut command = govctl(home);
    command
        .env("GOVCTL_SERVER", &stub.url)
        .env("GOVCTL_CA", &stub.ca)
        .env("GOVCTL_TOKEN", TOKEN);
    command
}

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

#[test]
fn login_fails_without_writing_anything() {
    let home = tempfile::tempdir().expect("home");
    let config = home.path().join(".config/govctl/config.toml");
    let ca = home.path().join("ca.crt");
    std::fs::write(&ca, support::certificates().0).expect("CA");

    // Unreachable server: exit 6, no file.
    let server = unreachable_server();
    let (code, _, stderr) = run(govctl(home.path())
        .args(["login", "--server", &server, "--token", TOKEN])
        .arg("--ca")
        .arg(&ca));
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: failed to log in: cannot reach the server at {server}: "
        )),
        "{stderr}"
    );
    assert!(!config.exists());

    // A token the server refuses: exit 3 with the server's detail, no file.
    let stub = StubServer::start(api);
    let (code, _, stderr) = run_with_input(
        govctl(home.path())
            .args(["login", "--server", &stub.url])
            .arg("--ca")
            .arg(&stub.ca),
        "not-the-token\n",
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("401 Unauthorized: missing or invalid token"),
        "{stderr}"
    );
    assert!(!config.exists());
    assert!(!stderr.contains("not-the-token"), "{stderr}");

    // No token at all: a usage error.
    let (code, _, stderr) = run(govctl(home.path())
        .args(["login", "--server", &stub.url])
        .arg("--ca")
        .arg(&stub.ca));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no token"), "{stderr}");

    // The wrong CA: the TLS failure is named, with a hint, and nothing is written.
    let (code, _, stderr) = run(govctl(home.path())
        .args(["login", "--server", &stub.url, "--token", TOKEN])
        .arg("--ca")
        .arg(&ca));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("failed to connect securely"), "{stderr}");
    assert!(stderr.contains("CA file"), "{stderr}");
    assert!(!config.exists());
}

#[test]
fn login_saves_the_settings_that_later_commands_use() {
    let home = tempfile::tempdir().expect("home");
    let stub = StubServer::start(api);
    let (code, stdout, stderr) = run_with_input(
        govctl(home.path())
            .args(["login", "--server", &stub.url])
            .arg("--ca")
            .arg(&stub.ca),
        &format!("{TOKEN}\n"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("as editor of tenant city-finance"),
        "{stdout}"
    );
    assert!(!stdout.contains(TOKEN));

    let config = home.path().join(".config/govctl/config.toml");
    let text = std::fs::read_to_string(&config).expect("settings file");
    assert_eq!(
        text,
        format!(
            "server = \"{}\"\nca = \"{}\"\ntoken = \"{TOKEN}\"\n",
            stub.url,
            stub.ca.display()
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

    // Later commands need nothing but the file.
    let (code, stdout, stderr) = run(govctl(home.path()).args(["whoami", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let me: WhoAmI = serde_json::from_str(&stdout).expect("whoami json");
    assert_eq!(me, whoami());
    assert!(
        stub.requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );

    // The environment overrides the file: here a server that is not there.
    let elsewhere = unreachable_server();
    let (code, _, stderr) = run(govctl(home.path())
        .env("GOVCTL_SERVER", &elsewhere)
        .arg("whoami"));
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains(&elsewhere), "{stderr}");
    // … and a token from the environment replaces the file's.
    let (code, _, stderr) = run(govctl(home.path())
        .env("GOVCTL_TOKEN", "another-token")
        .arg("whoami"));
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(
        stub.requests()
            .last()
            .and_then(|r| r.authorization.clone())
            .as_deref(),
        Some("Bearer another-token")
    );

    // A settings file named explicitly, in local mode's format, works the same.
    let local = home.path().join("data/govctl.toml");
    std::fs::create_dir_all(local.parent().expect("dir")).expect("mkdir");
    std::fs::copy(&config, &local).expect("copy");
    std::fs::remove_file(&config).expect("remove");
    let (code, stdout, stderr) = run(govctl(home.path())
        .env("GOVCTL_CONFIG", &local)
        .args(["tenant", "show"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Name:          city-finance\n"), "{stdout}");
}

#[test]
fn quota_show_prints_units_and_free() {
    let home = tempfile::tempdir().expect("home");
    let stub = StubServer::start(api);
    let (code, stdout, stderr) = run(against(&stub, home.path()).args(["quota", "show"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "Tenant city-finance (市财政局)\n\n\
         RESOURCE  QUOTA     USED      FREE\n\
         cpu       64 cores  12 cores  52 cores\n\
         memory    256 GiB   64 GiB    192 GiB\n"
    );
    let (code, stdout, _) = run(against(&stub, home.path()).args(["quota", "show", "-o", "yaml"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("free: 192Gi"), "{stdout}");
}

#[test]
fn tenant_show_of_an_invisible_tenant_exits_4() {
    let home = tempfile::tempdir().expect("home");
    let stub = StubServer::start(api);
    let (code, stdout, stderr) =
        run(against(&stub, home.path()).args(["tenant", "show", "county-hanbin"]));
    assert_eq!(code, 4, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(
        stderr,
        "error: failed to show tenant county-hanbin: 404 Not Found: no tenant visible to this token by that name\n"
    );
}

#[test]
fn quota_request_sends_validated_quantities() {
    let home = tempfile::tempdir().expect("home");
    let stub = StubServer::start(api);
    let (code, stdout, stderr) = run(against(&stub, home.path()).args([
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
    assert!(
        stdout.contains("Quota request city-finance-20250601 sent"),
        "{stdout}"
    );
    assert!(stdout.contains("cpu 96 cores, memory 384 GiB"), "{stdout}");
    let post = stub
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("a POST");
    assert_eq!(post.target, "/v1/tenants/city-finance/quota-requests");
    let body: Value = serde_json::from_str(&post.body).expect("json body");
    assert_eq!(
        body,
        json!({
            "requested": {"cpu": "96", "memory": "384Gi"},
            "justification": "tax filing season",
            "validFor": "720h",
        })
    );

    let (code, stdout, _) = run(against(&stub, home.path()).args(["quota", "requests"]));
    assert_eq!(code, 0);
    assert!(stdout.starts_with("NAME "), "{stdout}");
    assert!(stdout.contains("Pending"), "{stdout}");
}

#[test]
fn refusals_and_conflicts_have_their_own_exit_codes() {
    let home = tempfile::tempdir().expect("home");
    let stub = StubServer::start(api);
    let (code, _, stderr) = run(against(&stub, home.path()).args([
        "quota",
        "approve",
        "city-finance-20250601",
        "--reason",
        "ok",
    ]));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("cannot approve its own quota request"),
        "{stderr}"
    );
    let (code, _, stderr) =
        run(against(&stub, home.path()).args(["quota", "deny", "decided", "--reason", "late"]));
    assert_eq!(code, 5, "{stderr}");
    let (code, _, stderr) = run(against(&stub, home.path()).args(["token", "list"]));
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains("500 Internal Server Error: database locked"),
        "{stderr}"
    );
}

#[test]
fn token_issue_prints_the_secret_in_the_token_field() {
    let home = tempfile::tempdir().expect("home");
    let created = Utc
        .with_ymd_and_hms(2025, 6, 1, 8, 0, 0)
        .single()
        .expect("time");
    let stub = StubServer::start(move |request| {
        assert_eq!(request.line(), "POST /v1/tokens");
        let asked: Value = serde_json::from_str(&request.body).expect("json");
        Reply::json(
            201,
            &IssuedToken {
                token: "gct_new_secret".to_owned(),
                view: TokenView {
                    id: 31,
                    tenant: asked["tenant"].as_str().expect("tenant").to_owned(),
                    role: serde_json::from_value(asked["role"].clone()).expect("role"),
                    description: asked["description"].as_str().expect("d").to_owned(),
                    created_at: created,
                    expires_at: None,
                    revoked_at: None,
                },
            },
        )
    });
    let (code, stdout, stderr) = run(against(&stub, home.path()).args([
        "token",
        "issue",
        "--tenant",
        "county-hanbin",
        "--role",
        "editor",
        "--expires-in",
        "720h",
        "-o",
        "json",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(printed["token"], "gct_new_secret");
    assert_eq!(printed["id"], 31);
    let asked: Value = serde_json::from_str(&stub.requests()[0].body).expect("json");
    assert_eq!(
        asked,
        json!({
            "tenant": "county-hanbin",
            "role": "editor",
            "description": "editor token for county-hanbin",
            "expiresIn": "720h",
        })
    );
}

#[test]
fn token_revoke_deletes_by_id() {
    let home = tempfile::tempdir().expect("home");
    let stub = StubServer::start(|request| {
        assert_eq!(request.line(), "DELETE /v1/tokens/31");
        Reply::empty(204)
    });
    let (code, stdout, stderr) = run(against(&stub, home.path()).args(["token", "revoke", "31"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "Token 31 revoked.\n");
}

#[test]
fn a_broken_audit_chain_exits_1_naming_the_record() {
    let home = tempfile::tempdir().expect("home");
    let stub = StubServer::start(api);
    let (code, stdout, stderr) = run(against(&stub, home.path()).args(["audit", "verify"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(
        stderr,
        "error: the audit chain is broken at record 57: hash mismatch (120 records checked)\n"
    );
    let (code, stdout, _) =
        run(against(&stub, home.path()).args(["audit", "verify", "-o", "json"]));
    assert_eq!(code, 1);
    let result: AuditVerification = serde_json::from_str(&stdout).expect("json");
    assert_eq!(result.first_broken_seq, Some(57));
}

#[test]
fn audit_export_prints_json_lines_and_a_closed_pipe_is_success() {
    let home = tempfile::tempdir().expect("home");
    let stub = StubServer::start(api);
    let (code, stdout, stderr) =
        run(against(&stub, home.path()).args(["audit", "export", "--from", "2", "--to", "3"]));
    assert_eq!(code, 0, "{stderr}");
    let records: Vec<AuditRecordView> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one record a line"))
        .collect();
    assert_eq!(records, vec![record(2), record(3)]);

    // `govctl audit export | head -n 1`: the reader goes away after one line.
    let mut child = against(&stub, home.path())
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
    assert!(first.contains("\"seq\":1"), "{first}");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn login_from_a_local_mode_settings_file() {
    let home = tempfile::tempdir().expect("home");
    let stub = StubServer::start(api);
    // Local mode's DATA/govctl.toml; here with the CA beside it, named relatively.
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::copy(&stub.ca, data.join("ca.crt")).expect("CA");
    std::fs::write(
        data.join("govctl.toml"),
        format!(
            "server = \"{}\"\nca = \"ca.crt\"\ntoken = \"{TOKEN}\"\n",
            stub.url
        ),
    )
    .expect("write");
    let (code, stdout, stderr) = run(govctl(home.path()).current_dir(home.path()).args([
        "login",
        "--from",
        "data/govctl.toml",
    ]));
    assert_eq!(code, 0, "{stderr}");
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
