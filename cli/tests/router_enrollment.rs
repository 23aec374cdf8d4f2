//! `govctl router enroll|certificates|revoke` against local mode with the Ankang seed: the
//! files an agent needs are written (the key with mode 0600, the agent CA of the data
//! directory), existing files are kept unless `--force`, certificates are listed and revoked,
//! and unknown routers and serials end with the not-found exit code.

use crate::support;

use std::path::Path;
use std::process::Command;

use govcloud_crds::api::RouterCertificateView;
use serde_json::Value;
use support::command::{issue_token, json, ok, run};
use support::local::start_local;

const ROUTER: &str = "hanyin-core";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_enroll_list_and_revoke_a_router() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("state");
    let plane = start_local(&data_dir, true).await;
    assert!(
        plane
            .ready_line()
            .contains(&format!("agent-api {}", plane.operator.agent_api.url))
    );
    let home = dir.path().join("home");
    let out = dir.path().join("agent");
    let govctl = |args: &[&str]| -> Command {
        let mut command = support::command::govctl(&home);
        command.arg("--config").arg(&plane.govctl_config).args(args);
        command
    };
    let out_arg = out.to_str().expect("utf-8 path");

    let printed = ok(&mut govctl(&["router", "enroll", ROUTER, "--out", out_arg]));
    assert!(
        printed.starts_with(&format!("Enrolled router {ROUTER}: certificate serial ")),
        "{printed}"
    );
    let key = out.join(format!("{ROUTER}.key"));
    assert!(printed.contains(&key.display().to_string()), "{printed}");
    assert!(!printed.contains("PRIVATE KEY"), "{printed}");
    assert!(
        std::fs::read_to_string(&key)
            .expect("key")
            .contains("PRIVATE KEY")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(
        std::fs::read_to_string(out.join("ca.crt")).expect("ca"),
        std::fs::read_to_string(data_dir.join("pki/agents-ca.crt")).expect("agent CA")
    );
    assert!(out.join(format!("{ROUTER}.crt")).is_file());

    // The files are kept unless --force.
    let (code, _, stderr) = run(&mut govctl(&["router", "enroll", ROUTER, "--out", out_arg]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    let second: Value = json(&mut govctl(&[
        "router", "enroll", ROUTER, "--out", out_arg, "--force",
    ]));
    let serial = second["serial"].as_str().expect("serial").to_owned();
    assert_eq!(second["privateKey"], key.display().to_string());

    let listed: Vec<RouterCertificateView> = json(&mut govctl(&["router", "certificates", ROUTER]));
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].serial, serial);

    let revoked = ok(&mut govctl(&["router", "revoke", ROUTER, &serial]));
    assert!(
        revoked.starts_with(&format!(
            "Certificate {serial} of router {ROUTER} revoked at "
        )),
        "{revoked}"
    );
    let table = ok(&mut govctl(&["router", "certificates", ROUTER]));
    assert_eq!(table.matches("revoked").count(), 1, "{table}");
    assert_eq!(table.matches("active").count(), 1, "{table}");

    let (code, _, stderr) = run(&mut govctl(&["router", "revoke", ROUTER, "0123"]));
    assert_eq!(code, 4, "{stderr}");
    let elsewhere = dir.path().join("elsewhere");
    let elsewhere = elsewhere.to_str().expect("utf-8 path");
    let (code, _, stderr) = run(&mut govctl(&[
        "router",
        "enroll",
        "no-such-router",
        "--out",
        elsewhere,
    ]));
    assert_eq!(code, 4, "{stderr}");
    // A county's operations may not enroll routers: they serve the whole network.
    let county = issue_token(
        &mut govctl(&[]),
        "hanbin",
        "operations",
        "hanbin operations",
    );
    let (code, _, stderr) = run(govctl(&["router", "enroll", ROUTER, "--out", elsewhere])
        .env("GOVCTL_TOKEN", &county.token));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("root tenant"), "{stderr}");
    let (code, _, stderr) = run(&mut govctl(&["router", "enroll", "../x"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(!Path::new("x.key").exists());
    plane.shutdown().await;
}
