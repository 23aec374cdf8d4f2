//! The self-service path end to end, as a department walks it: in local mode with the Ankang
//! seed every tenant has its namespaces and quota objects; a department token requests more
//! quota with `govctl`; the department cannot approve it; operations approve it; the tenant's
//! quota changes; `govctl audit verify` passes — then fails, naming the record, after a row of
//! the audit table is edited directly.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use govcloud_controller::local::LocalControlPlane;
use govcloud_crds::{QuotaRequest, Tenant};
use k8s_openapi::api::core::v1::ResourceQuota;
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;
use support::audit::tamper_with_the_audit_log;
use support::local::start_local;

/// The words of a command line; double quotes group words.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    words.extend((!current.is_empty()).then_some(current));
    words
}

fn govctl(config: &Path, token: Option<&str>, line: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_govctl"));
    command
        .arg("--config")
        .arg(config)
        .args(words(line))
        .env_remove("GOVCTL_TOKEN")
        .env_remove("GOVCTL_SERVER");
    if let Some(token) = token {
        command.env("GOVCTL_TOKEN", token);
    }
    command.output().expect("run govctl")
}

fn ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "govctl failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Every tenant of the seed gets its namespace and quota objects.
async fn every_tenant_has_its_quota_objects(plane: &LocalControlPlane) {
    let tenants: Api<Tenant> = Api::all(plane.client.clone());
    let all = tenants.list(&ListParams::default()).await.expect("tenants");
    assert_eq!(all.items.len(), 30);
    for tenant in &all.items {
        let name = tenant.metadata.name.clone().expect("name");
        let quotas: Api<ResourceQuota> = Api::namespaced(plane.client.clone(), &name);
        eventually(&format!("the quota of {name}"), async || {
            quotas
                .list(&ListParams::default())
                .await
                .ok()
                .filter(|l| !l.items.is_empty())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_department_requests_quota_operations_approve_and_the_audit_chain_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = dir.path().join("state");
    let plane = start_local(&data, true).await;
    let config = plane.govctl_config.clone();
    let tenants: Api<Tenant> = Api::all(plane.client.clone());

    every_tenant_has_its_quota_objects(&plane).await;

    // Operations issue a department token.
    let issued: Value = serde_json::from_str(&ok(&govctl(
        &config,
        None,
        "token issue --tenant city-finance --role editor --description \"finance clerk\" -o json",
    )))
    .expect("json");
    let department = issued["token"].as_str().expect("the new token").to_owned();
    let whoami = ok(&govctl(&config, Some(&department), "whoami -o json"));
    assert!(whoami.contains("\"tenant\": \"city-finance\""), "{whoami}");

    // The department asks for more.
    let requested: Value = serde_json::from_str(&ok(&govctl(&config, Some(&department), "quota request --cpu 256 --memory 1Ti --justification \"Tax filing season doubles the e-invoicing replicas\" -o json")))
    .expect("json");
    let name = requested["name"].as_str().expect("request name").to_owned();

    // It cannot approve its own request, nor see another tenant.
    let refused = govctl(
        &config,
        Some(&department),
        &format!("quota approve {name} --reason please"),
    );
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let hidden = govctl(&config, Some(&department), "tenant show city-police");
    assert_eq!(
        hidden.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&hidden.stderr)
    );

    // Operations approve; the controller changes the tenant's quota.
    ok(&govctl(
        &config,
        None,
        &format!("quota approve {name} --tenant city-finance --reason \"filing season\""),
    ));
    let requests: Api<QuotaRequest> = Api::all(plane.client.clone());
    eventually("the request to be applied", async || {
        let request = requests.get(&name).await.ok()?;
        (request.status.as_ref()?.applied_at.is_some()).then_some(())
    })
    .await;
    let finance = tenants.get("city-finance").await.expect("tenant");
    assert_eq!(finance.spec.quota.cpu.0, "256");
    assert_eq!(finance.spec.quota.memory.0, "1Ti");
    // The API reads tenants from its watch, a moment behind the write.
    eventually("the department to see its new quota", async || {
        ok(&govctl(&config, Some(&department), "quota show"))
            .contains("256 cores")
            .then_some(())
    })
    .await;

    // The audit chain holds…
    let verified = ok(&govctl(&config, None, "audit verify"));
    assert!(verified.contains("intact"), "{verified}");
    let export = ok(&govctl(&config, None, "audit export"));
    let actions: Vec<String> = export
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).expect("a JSON line")["action"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    for action in [
        "token.issue",
        "quota-request.create",
        "quota-request.approve",
        "quota-request.apply",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "no {action} in {actions:?}"
        );
    }

    // …until someone edits a row behind the API's back.
    tamper_with_the_audit_log(&data, 2, r#"{"cpu":"9999"}"#).await;
    let broken = govctl(&config, None, "audit verify");
    assert_eq!(broken.status.code(), Some(1));
    let message = String::from_utf8_lossy(&broken.stderr);
    assert!(message.contains("record 2"), "{message}");
    plane.shutdown().await;
}
