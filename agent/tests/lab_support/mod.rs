//! What the lab's end-to-end tests share: local mode started for a lab, routers enrolled through
//! the controller's API with their agents' files written, and agent processes killed when
//! dropped.

#![allow(dead_code)] // each test binary uses a different part

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use govcloud_controller::local::{self, LocalControlPlane, LocalOptions};
use govcloud_crds::api::IssuedRouterCertificate;

/// Agent processes, killed when dropped.
#[derive(Default)]
pub struct Agents {
    pub children: Vec<(String, Child)>,
}

impl Agents {
    /// Stops the agent of `router`.
    pub fn stop(&mut self, router: &str) {
        if let Some(position) = self.children.iter().position(|(r, _)| r == router) {
            let (_, mut child) = self.children.remove(position);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Agents {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Local mode on loopback with the data in `data`, seeded from `seed`, its agent listener on
/// `agent_api` (port 0 for any).
pub async fn start_plane(data: &Path, seed: &Path, agent_api: SocketAddr) -> LocalControlPlane {
    local::start(&LocalOptions {
        data_dir: data.to_owned(),
        seed: Some(seed.to_owned()),
        api_address: "127.0.0.1:0".parse().expect("address"),
        controller_api_address: "127.0.0.1:0".parse().expect("address"),
        metrics_address: "127.0.0.1:0".parse().expect("address"),
        agent_api_address: agent_api,
        telemetry_retention: govcloud_controller::network::retention::DEFAULT_RETENTION,
        operations_tenant: None,
        audit_log: None,
    })
    .await
    .expect("start local mode")
}

/// An HTTPS client of the controller's API trusting local mode's CA, and the API's URL and
/// the operations token, from local mode's govctl settings.
pub fn api_client(plane: &LocalControlPlane) -> (reqwest::Client, String, String) {
    let settings: toml::Table =
        toml::from_str(&std::fs::read_to_string(&plane.govctl_config).expect("read govctl.toml"))
            .expect("parse govctl.toml");
    let text = |key: &str| settings[key].as_str().expect("a string").to_owned();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for der in pem_certificates(&std::fs::read(text("ca")).expect("read the CA")) {
        roots.add(der).expect("a CA certificate");
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .expect("an HTTPS client");
    (client, text("server"), text("token"))
}

/// Issues a certificate for `router` through the controller's API with local mode's operations
/// token, and writes the agent's files and configuration (observing `netns`, reporting every
/// `interval` seconds, `extra` appended); returns the configuration's path.
pub async fn enroll(
    plane: &LocalControlPlane,
    dir: &Path,
    router: &str,
    netns: &str,
    interval: u64,
    extra: &str,
) -> PathBuf {
    let (client, server, token) = api_client(plane);
    let issued: IssuedRouterCertificate = client
        .post(format!("{server}/v1/routers/{router}/certificates"))
        .bearer_auth(token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("enroll")
        .error_for_status()
        .expect("enrolled")
        .json()
        .await
        .expect("the issued certificate");
    let home = dir.join(router);
    std::fs::create_dir_all(&home).expect("agent directory");
    std::fs::write(home.join("router.crt"), &issued.certificate).expect("write the certificate");
    std::fs::write(
        home.join("router.key"),
        issued.private_key.expect("a server-generated key"),
    )
    .expect("write the key");
    std::fs::write(home.join("ca.crt"), &issued.ca).expect("write the CA");
    let config = home.join("agent.toml");
    let text = format!(
        "controller_url = \"{}\"\nrouter = \"{router}\"\ncertificate = \"router.crt\"\nkey = \"router.key\"\nca = \"ca.crt\"\ninterval_seconds = {interval}\nstate_dir = \"state\"\nnetns = \"/run/netns/{netns}\"\n{extra}",
        plane.operator.agent_api.url
    );
    std::fs::write(&config, text).expect("write the configuration");
    config
}

/// The certificates of a PEM file.
pub fn pem_certificates(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM certificates")
}

/// Starts `govcloud-agent run --config CONFIG`, its log in `log`.
pub fn spawn_agent(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_govcloud-agent"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("agent log"))
        .spawn()
        .expect("start an agent")
}
