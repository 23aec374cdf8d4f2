//! The configuration task of a real `govcloud-agent run`, against a stub controller
//! that speaks the agent listener's contract over mutual TLS (`GET /v1/config` with `ETag`,
//! `If-None-Match` and `waitSeconds`; `POST /v1/telemetry`), in fresh network namespaces: the
//! agent converges the observed namespace to generation 1 and reports it applied with its probes;
//! a route deleted by hand is drift, and put back; a generation that does not parse is reported
//! with the field named and leaves the kernel as it is; restarted while the controller is away,
//! the agent converges again to its cached configuration. The real controller's side is the
//! lab's. Needs root (skips with a reason otherwise, fails under `GOVCLOUD_REQUIRE_ALL=1`).

#![allow(clippy::too_many_lines)]

use crate::support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum_server::tls_rustls::RustlsConfig;
use govcloud_controller::agents::ca::{AgentCa, KeySource};
use govcloud_crds::api::{ConfigReport, TelemetryReport};
use rustls::RootCertStore;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use support::Namespace;

const ROUTER: &str = "lab-county";

/// What the stub controller serves and what it was sent.
#[derive(Debug, Default)]
struct Stub {
    body: String,
    etag: String,
    /// `(If-None-Match, query)` of every fetch.
    fetches: Vec<(Option<String>, Option<String>)>,
    reports: Vec<TelemetryReport>,
}

type Shared = Arc<Mutex<Stub>>;

async fn serve_config(
    State(stub): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let wait = query
        .as_deref()
        .and_then(|q| q.strip_prefix("waitSeconds="))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    stub.lock()
        .expect("stub")
        .fetches
        .push((if_none_match.clone(), query));
    let deadline = Instant::now() + Duration::from_secs(wait);
    loop {
        let (body, etag) = {
            let stub = stub.lock().expect("stub");
            (stub.body.clone(), stub.etag.clone())
        };
        if if_none_match.as_deref() != Some(etag.as_str()) {
            return (
                StatusCode::OK,
                [
                    (header::ETAG, etag),
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                ],
                body,
            )
                .into_response();
        }
        if Instant::now() >= deadline {
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn take_report(State(stub): State<Shared>, body: axum::body::Bytes) -> StatusCode {
    let report: TelemetryReport = serde_json::from_slice(&body).expect("a report");
    stub.lock().expect("stub").reports.push(report);
    StatusCode::OK
}

/// Starts the stub on a free port of 127.0.0.1, requiring client certificates of `ca`.
fn start_stub(runtime: &tokio::runtime::Runtime, ca: &AgentCa, stub: Shared) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.ca_der().clone()).expect("root");
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .expect("verifier");
    let (chain, key) = ca
        .issue_serving(&["127.0.0.1".to_owned()])
        .expect("serving certificate");
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
        .expect("server config");
    let app = axum::Router::new()
        .route("/v1/config", axum::routing::get(serve_config))
        .route("/v1/telemetry", axum::routing::post(take_report))
        .with_state(stub);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("address").port();
    let _entered = runtime.enter();
    let server = axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(Arc::new(tls)))
        .expect("server");
    runtime.spawn(async move { server.serve(app.into_make_service()).await });
    port
}

/// The agent's files in `dir` and its configuration; returns the configuration's path.
fn write_agent(dir: &Path, ca: &AgentCa, port: u16, netns: &str) -> std::path::PathBuf {
    let issued = ca
        .issue_router(ROUTER, KeySource::Generate)
        .expect("router certificate");
    std::fs::write(dir.join("router.crt"), issued.certificate_pem).expect("write");
    std::fs::write(dir.join("router.key"), issued.private_key_pem.expect("key")).expect("write");
    std::fs::write(dir.join("ca.crt"), ca.ca_pem()).expect("write");
    let path = dir.join("agent.toml");
    std::fs::write(
        &path,
        format!(
            r#"controller_url = "https://127.0.0.1:{port}"
router = "{ROUTER}"
certificate = "router.crt"
key = "router.key"
ca = "ca.crt"
interval_seconds = 1
state_dir = "state"
netns = "/run/netns/{netns}"

[config]
enabled = true
poll_seconds = 2
probe_timeout_ms = 300
probe_attempts = 2
"#
        ),
    )
    .expect("write the configuration");
    path
}

/// A running agent, killed when dropped.
struct Agent(Child);

impl Agent {
    fn start(config: &Path) -> Self {
        Self(
            Command::new(env!("CARGO_BIN_EXE_govcloud-agent"))
                .args(["run", "--config"])
                .arg(config)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the agent"),
        )
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (up to 30 s) for a report whose `config` satisfies `check`.
fn wait_for_report(
    stub: &Shared,
    what: &str,
    check: impl Fn(&ConfigReport) -> bool,
) -> ConfigReport {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = stub
            .lock()
            .expect("stub")
            .reports
            .iter()
            .rev()
            .find_map(|report| report.config.clone().filter(|config| check(config)));
        if let Some(found) = found {
            return found;
        }
        let last = stub.lock().expect("stub").reports.last().cloned();
        assert!(
            Instant::now() < deadline,
            "no report with {what}; last: {last:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn generation_1() -> String {
    serde_json::json!({
        "router": ROUTER,
        "generation": 1,
        "addresses": [{"interface": "veth0", "address": "2001:db8:7:1::1/64"}],
        "routes": [{
            "destination": "2001:db8:99::/48",
            "nextHops": [{"via": "2001:db8:7::2", "interface": "veth0"}],
        }],
        "probes": [
            {"name": "far", "target": "2001:db8:7::2", "source": "2001:db8:7::1"},
            {"name": "nobody", "target": "2001:db8:7::99"},
        ],
    })
    .to_string()
}

fn has_address(namespace: &Namespace, address: &str) -> bool {
    namespace
        .ip(&["-6", "address", "show", "dev", "veth0"])
        .contains(address)
}

#[test]
fn the_agent_converges_reports_drift_refuses_a_bad_generation_and_restarts_from_its_cache() {
    if !support::can_make_namespaces(
        "the_agent_converges_reports_drift_refuses_a_bad_generation_and_restarts_from_its_cache",
    ) {
        return;
    }
    let near = Namespace::create("gccfg");
    let far = Namespace::create("gccfg");
    near.ip(&[
        "link",
        "add",
        "veth0",
        "type",
        "veth",
        "peer",
        "name",
        "veth1",
        "netns",
        far.name(),
    ]);
    near.ip(&[
        "address",
        "add",
        "2001:db8:7::1/64",
        "dev",
        "veth0",
        "nodad",
    ]);
    far.ip(&[
        "address",
        "add",
        "2001:db8:7::2/64",
        "dev",
        "veth1",
        "nodad",
    ]);
    near.ip(&["link", "set", "veth0", "up"]);
    far.ip(&["link", "set", "veth1", "up"]);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ca = AgentCa::generate().expect("CA");
    let stub: Shared = Arc::new(Mutex::new(Stub {
        body: generation_1(),
        etag: "\"g1\"".to_owned(),
        ..Stub::default()
    }));
    let port = start_stub(&runtime, &ca, stub.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_agent(dir.path(), &ca, port, near.name());
    let agent = Agent::start(&config);

    // Generation 1 applied, probes run from the router's namespace.
    let report = wait_for_report(&stub, "generation 1 applied and probed", |config| {
        config.applied_generation == Some(1)
            && config.probes.iter().any(|p| p.name == "far" && p.reachable)
    });
    assert_eq!(report.attempted_generation, Some(1));
    assert!(report.errors.is_empty(), "{report:?}");
    assert!(report.drift.is_empty(), "{report:?}");
    let nobody = report
        .probes
        .iter()
        .find(|p| p.name == "nobody")
        .expect("the second probe");
    assert!(!nobody.reachable);
    assert!(has_address(&near, "2001:db8:7:1::1/64"));
    let route = near.ip(&["-6", "route", "show", "2001:db8:99::/48"]);
    assert!(route.contains("proto 241"), "{route}");
    assert!(dir.path().join("state/config.json").exists(), "cached");
    // The long poll is the fetcher's, apart from the report: wait for it as well.
    let long_poll = (Some("\"g1\"".to_owned()), Some("waitSeconds=2".to_owned()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stub.lock().expect("stub").fetches.contains(&long_poll) {
        assert!(
            Instant::now() < deadline,
            "no long poll after the first fetch"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    {
        let stub = stub.lock().expect("stub");
        assert_eq!(
            stub.fetches[0],
            (None, Some("waitSeconds=0".to_owned())),
            "the first fetch asks at once"
        );
        assert!(
            stub.fetches.iter().any(
                |fetch| *fetch == (Some("\"g1\"".to_owned()), Some("waitSeconds=2".to_owned()))
            ),
            "then long polls for a change: {:?}",
            stub.fetches
        );
    }

    // Someone deletes the route by hand: drift, though the configuration did not change, and
    // the agent puts the route back at its next check.
    near.ip(&["-6", "route", "del", "2001:db8:99::/48"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !near
        .ip(&["-6", "route", "show", "2001:db8:99::/48", "proto", "241"])
        .contains("2001:db8:99::/48")
    {
        assert!(
            Instant::now() < deadline,
            "the route deleted by hand was not put back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = wait_for_report(&stub, "no drift once repaired", |config| {
        config.drift.is_empty() && config.applied_generation == Some(1)
    });
    assert!(report.errors.is_empty(), "{report:?}");

    // Generation 2 does not parse: reported, naming the field; the kernel is left as it is.
    {
        let mut stub = stub.lock().expect("stub");
        stub.body = generation_1()
            .replace("\"generation\":1", "\"generation\":2")
            .replace("2001:db8:7:1::1/64", "2001:db8:7:2::1");
        stub.etag = "\"g2\"".to_owned();
    }
    let report = wait_for_report(&stub, "generation 2 refused", |config| {
        config.attempted_generation == Some(2)
    });
    assert_eq!(report.applied_generation, Some(1), "{report:?}");
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("addresses[0].address")),
        "names the field: {report:?}"
    );
    assert!(has_address(&near, "2001:db8:7:1::1/64"), "left as it is");
    assert!(!has_address(&near, "2001:db8:7:2::1"));
    drop(agent);

    // Restarted with the controller away: converges to the cached generation 1 again.
    near.ip(&["-6", "address", "del", "2001:db8:7:1::1/64", "dev", "veth0"]);
    let away = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let away_port = away.local_addr().expect("address").port();
    drop(away);
    let config = write_agent(dir.path(), &ca, away_port, near.name());
    let _agent = Agent::start(&config);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !has_address(&near, "2001:db8:7:1::1/64") {
        assert!(
            Instant::now() < deadline,
            "the cached configuration was not applied"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
