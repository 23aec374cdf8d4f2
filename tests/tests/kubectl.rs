//! The real kubectl against the embedded API server: apply the Ankang examples, get with printer
//! columns, watch an update, patch, delete with a finalizer, discovery, explain, and refusals
//! that name the field.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use govcloud_tests::local::{TestServer, kubectl, kubectl_or_skip};
use govcloud_tests::workspace_root;

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn ok(output: &Output) -> String {
    let (stdout, stderr) = text(output);
    assert!(
        output.status.success(),
        "kubectl failed:\n{stderr}\n{stdout}"
    );
    stdout
}

async fn server_with_crds(kubectl_path: &Path) -> TestServer {
    let server = TestServer::start().await;
    let crds = workspace_root().join("charts/govcloud/crds");
    ok(&kubectl(
        kubectl_path,
        &server.kubeconfig(),
        &["apply", "--server-side", "-f", crds.to_str().expect("path")],
    ));
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_applies_the_examples_and_gets_them_with_printer_columns() {
    let Some(kubectl_path) = kubectl_or_skip("kubectl_applies_the_examples") else {
        return;
    };
    let server = server_with_crds(&kubectl_path).await;
    let config = server.kubeconfig();
    let examples = workspace_root().join("examples/ankang");
    let applied = ok(&kubectl(
        &kubectl_path,
        &config,
        &["apply", "-f", examples.to_str().expect("path")],
    ));
    assert!(
        applied.contains("tenant.govcloud.io/ankang created"),
        "{applied}"
    );
    assert!(
        applied.contains("extranetlink.govcloud.io/ankang-hanbin created")
            || applied.contains("extranetlink.govcloud.io/"),
        "{applied}"
    );

    let tenants = ok(&kubectl(&kubectl_path, &config, &["get", "tenants"]));
    let header = tenants.lines().next().unwrap_or_default();
    for column in [
        "NAME",
        "DISPLAY NAME",
        "LEVEL",
        "PARENT",
        "CPU",
        "MEMORY",
        "READY",
        "AGE",
    ] {
        assert!(
            header.contains(column),
            "missing column {column} in {header}"
        );
    }
    assert!(
        tenants
            .lines()
            .any(|l| l.starts_with("ankang ") && l.contains("City")),
        "{tenants}"
    );
    assert_eq!(tenants.lines().count(), 31, "{tenants}");

    let links = ok(&kubectl(
        &kubectl_path,
        &config,
        &["get", "xlink", "-o", "wide"],
    ));
    assert!(
        links
            .lines()
            .next()
            .unwrap_or_default()
            .contains("COMPLIANCE"),
        "{links}"
    );

    let systems = ok(&kubectl(
        &kubectl_path,
        &config,
        &[
            "get",
            "systemmigrations",
            "-A",
            "-l",
            "govcloud.io/campaign=ankang-2025",
        ],
    ));
    assert!(systems.lines().count() > 10, "{systems}");

    // Applying again changes nothing.
    let again = ok(&kubectl(
        &kubectl_path,
        &config,
        &["apply", "-f", examples.to_str().expect("path")],
    ));
    assert!(
        again.contains("tenant.govcloud.io/ankang unchanged"),
        "{again}"
    );
    server.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_discovers_resources_and_explains_fields() {
    let Some(kubectl_path) = kubectl_or_skip("kubectl_discovers_resources") else {
        return;
    };
    let server = server_with_crds(&kubectl_path).await;
    let config = server.kubeconfig();
    let resources = ok(&kubectl(&kubectl_path, &config, &["api-resources"]));
    let tenants = resources
        .lines()
        .find(|l| l.starts_with("tenants "))
        .unwrap_or_default();
    assert!(
        tenants.contains("tn")
            && tenants.contains("govcloud.io/v1alpha1")
            && tenants.contains("Tenant"),
        "{resources}"
    );
    assert!(
        resources.lines().any(|l| l.starts_with("namespaces ")),
        "{resources}"
    );
    let explained = ok(&kubectl(
        &kubectl_path,
        &config,
        &["explain", "tenants.spec.quota"],
    ));
    assert!(explained.contains("total quota"), "{explained}");
    server.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_patch_bumps_the_generation_and_get_watch_sees_it() {
    let Some(kubectl_path) = kubectl_or_skip("kubectl_patch_and_watch") else {
        return;
    };
    let server = server_with_crds(&kubectl_path).await;
    let config = server.kubeconfig();
    let tenants = workspace_root().join("examples/ankang/10-tenants.yaml");
    ok(&kubectl(
        &kubectl_path,
        &config,
        &["apply", "-f", tenants.to_str().expect("path")],
    ));

    let cache = config.with_file_name("kubectl-cache");
    let mut watch = Command::new(&kubectl_path)
        .arg("--kubeconfig")
        .arg(&config)
        .arg("--cache-dir")
        .arg(&cache)
        .args([
            "get",
            "tenant",
            "city-finance",
            "-w",
            "-o",
            "custom-columns=NAME:.metadata.name,DISPLAY:.spec.displayName",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kubectl get -w");
    let stdout = watch.stdout.take().expect("stdout");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = lines_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the header");
    assert!(first.contains("DISPLAY"), "{first}");
    let initial = lines_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the current object");
    assert!(initial.contains("city-finance"), "{initial}");

    ok(&kubectl(
        &kubectl_path,
        &config,
        &[
            "patch",
            "tenant",
            "city-finance",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"displayName":"安康市财政局（更新）"}}"#,
        ],
    ));
    let update = lines_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the watch to see the patch");
    assert!(update.contains("安康市财政局（更新）"), "{update}");
    let _ = watch.kill();
    let _ = watch.wait();

    let generation = ok(&kubectl(
        &kubectl_path,
        &config,
        &[
            "get",
            "tenant",
            "city-finance",
            "-o",
            "jsonpath={.metadata.generation}",
        ],
    ));
    assert_eq!(generation, "2");
    let label = ok(&kubectl(
        &kubectl_path,
        &config,
        &["label", "tenant", "city-finance", "audited=yes"],
    ));
    assert!(label.contains("labeled"), "{label}");
    let generation = ok(&kubectl(
        &kubectl_path,
        &config,
        &[
            "get",
            "tenant",
            "city-finance",
            "-o",
            "jsonpath={.metadata.generation}",
        ],
    ));
    assert_eq!(generation, "2", "a label is not a spec change");
    server.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_delete_waits_for_finalizers() {
    let Some(kubectl_path) = kubectl_or_skip("kubectl_delete_waits_for_finalizers") else {
        return;
    };
    let server = TestServer::start().await;
    let config = server.kubeconfig();
    let manifest = server.dir.path().join("held.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: drills}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: drills\n  finalizers: [govcloud.io/test]\ndata: {a: b}\n",
    )
    .expect("write manifest");
    ok(&kubectl(
        &kubectl_path,
        &config,
        &["apply", "-f", manifest.to_str().expect("path")],
    ));
    ok(&kubectl(
        &kubectl_path,
        &config,
        &[
            "delete",
            "configmap",
            "held",
            "-n",
            "drills",
            "--wait=false",
        ],
    ));
    let held = ok(&kubectl(
        &kubectl_path,
        &config,
        &[
            "get",
            "configmap",
            "held",
            "-n",
            "drills",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
        ],
    ));
    assert!(
        !held.is_empty(),
        "the object must stay, marked for deletion"
    );
    ok(&kubectl(
        &kubectl_path,
        &config,
        &[
            "patch",
            "configmap",
            "held",
            "-n",
            "drills",
            "--type",
            "json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ],
    ));
    let gone = kubectl(
        &kubectl_path,
        &config,
        &["get", "configmap", "held", "-n", "drills"],
    );
    let (_, stderr) = text(&gone);
    assert!(
        !gone.status.success() && stderr.contains("NotFound"),
        "{stderr}"
    );
    server.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_reports_invalid_objects_with_the_field() {
    let Some(kubectl_path) = kubectl_or_skip("kubectl_reports_invalid_objects") else {
        return;
    };
    let server = server_with_crds(&kubectl_path).await;
    let config = server.kubeconfig();
    let manifest = server.dir.path().join("bad-link.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: govcloud.io/v1alpha1\nkind: ExtranetLink\nmetadata: {name: broken}\nspec:\n  tier: CityCounty\n  upstream: {router: a, members: [eth1]}\n  downstream: {router: b, members: [eth1, eth2]}\n",
    )
    .expect("write manifest");
    let refused = kubectl(
        &kubectl_path,
        &config,
        &["apply", "-f", manifest.to_str().expect("path")],
    );
    let (_, stderr) = text(&refused);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("spec.upstream.members")
            && stderr.contains("exactly two distinct member interfaces"),
        "{stderr}"
    );

    std::fs::write(&manifest, "apiVersion: govcloud.io/v1alpha1\nkind: ExtranetLink\nmetadata: {name: typo}\nspec:\n  teir: CityCounty\n").expect("write");
    let refused = kubectl(
        &kubectl_path,
        &config,
        &["apply", "-f", manifest.to_str().expect("path")],
    );
    let (_, stderr) = text(&refused);
    assert!(
        !refused.status.success() && stderr.contains("teir"),
        "{stderr}"
    );
    let missing = kubectl(&kubectl_path, &config, &["get", "extranetlinks", "broken"]);
    assert!(!missing.status.success(), "nothing was stored");
    server.server.shutdown().await;
}
