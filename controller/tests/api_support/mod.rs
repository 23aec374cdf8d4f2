//! The harness of the API suites (`api.rs`, `api_security.rs`, the agent listener's): the
//! embedded Kubernetes API server with the CRDs and the Ankang tenants and quota requests,
//! storage on a fresh SQLite file or PostgreSQL database, the controller API on a free loopback
//! port with the local CA, an HTTPS client trusting that CA, and a root operations token.
//!
//! `on_both_backends!` turns each suite function into a `sqlite::` and a `postgres::` test, each
//! on a database of its own from `govcloud_tests::database`: the PostgreSQL one skips (with a
//! printed reason) when `GOVCLOUD_TEST_DATABASE_URL` is unset, and fails instead when
//! `GOVCLOUD_REQUIRE_ALL=1`.
//!
//! The controller API and the agent listener use a client of their own, built as a replica
//! builds its plain client (`operator::cluster::clients`), whose user agent names
//! [`API_IDENTITY`]; the API server writes an audit log, and a test that passed fails at the end
//! with every request of that client the controller's RBAC
//! (`govcloud_controller::permissions::CONTROLLER`) does not allow.

#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use govcloud_apiserver::server::{RunningServer, ServerConfig};
use govcloud_controller::api::{self, ApiConfig, RunningApi};
use govcloud_controller::storage::Storage;
/// The storage backend of a run.
pub use govcloud_tests::database::Backend;
use govcloud_tests::database::TestDatabase;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// The tenant of the root operations token.
pub const ROOT: &str = "ankang";
/// Tenant A of the isolation tests (a department).
pub const TENANT_A: &str = "city-finance";
/// Tenant B of the isolation tests (a county).
pub const TENANT_B: &str = "hanbin";
/// A quota request of tenant B in the seed.
pub const B_REQUEST: &str = "hanbin-memory-2025q2";
/// The identity in the user agent of the client of the controller API and the agent listener.
pub const API_IDENTITY: &str = "test-api";

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// One answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> &str {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a problem answer of `status` and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.content_type(), "application/problem+json");
        let body = self.json();
        assert_eq!(body["status"], status);
        assert!(body["type"].as_str().unwrap().starts_with("https://"));
        assert!(!body["title"].as_str().unwrap().is_empty());
        assert!(!body["detail"].as_str().unwrap().is_empty());
        body
    }
}

/// A running environment.
pub struct Env {
    pub backend: Backend,
    pub kube_dir: tempfile::TempDir,
    pub kube_server: RunningServer,
    /// An administrator's client, for the tests' own reads and writes.
    pub client: kube::Client,
    /// The client of the controller API and the agent listener (announces [`API_IDENTITY`]).
    pub api_client: kube::Client,
    pub storage: Storage,
    database: TestDatabase,
    pub api: Option<RunningApi>,
    pub registry: prometheus::Registry,
    pub http: reqwest::Client,
    pub url: String,
    pub ca_pem: String,
    /// The agent CA (under the API server's `pki` directory), which enrollment signs with.
    pub agent_ca: govcloud_controller::agents::AgentCa,
    /// An operations token of the root tenant, from `bootstrap_operations_token`.
    pub root_ops: String,
}

impl Env {
    /// Starts everything, or returns `None` when PostgreSQL is asked for and not configured.
    pub async fn start(backend: Backend, test: &str) -> Option<Self> {
        let database = TestDatabase::create(backend, test).await?;
        let storage = Storage::open(database.url()).await.unwrap();
        let kube_dir = tempfile::tempdir().unwrap();
        let kube_server = govcloud_apiserver::server::start(ServerConfig {
            data_dir: kube_dir.path().to_path_buf(),
            address: "127.0.0.1:0".parse().unwrap(),
            audit_log: Some(kube_dir.path().join("audit.log")),
        })
        .await
        .unwrap();
        let client = govcloud_controller::local::client_for(&kube_server)
            .await
            .unwrap();
        let config = govcloud_controller::local::config_for(&kube_server)
            .await
            .unwrap();
        let api_client = govcloud_controller::operator::cluster::clients(
            &config,
            API_IDENTITY,
            &govcloud_controller::leader::Fence::new(),
        )
        .unwrap()
        .plain;
        govcloud_controller::local::install(&client).await.unwrap();
        let seed = tempfile::tempdir().unwrap();
        for file in ["10-tenants.yaml", "20-quota-requests.yaml"] {
            std::fs::copy(
                workspace_root().join("examples/ankang").join(file),
                seed.path().join(file),
            )
            .unwrap();
        }
        govcloud_controller::local::apply_seed(&client, seed.path(), "test-seed")
            .await
            .unwrap();
        // Local mode shares the embedded API server's CA and serving certificate.
        let certificates =
            govcloud_apiserver::tls::load_or_create(kube_dir.path(), &["127.0.0.1", "localhost"])
                .unwrap();
        let ca_pem = certificates.ca_pem.clone();
        let agent_ca =
            govcloud_controller::agents::AgentCa::load_or_create(&kube_dir.path().join("pki"))
                .unwrap();
        let root_ops = api::bootstrap_operations_token(&storage, ROOT)
            .await
            .unwrap();
        let registry = prometheus::Registry::new();
        let running = api::serve(
            ApiConfig {
                address: "127.0.0.1:0".parse().unwrap(),
                certificates,
                agent_ca: Some(agent_ca.clone()),
            },
            api_client.clone(),
            storage.clone(),
            &registry,
        )
        .await
        .unwrap();
        let url = running.url.clone();
        Some(Self {
            backend,
            kube_dir,
            kube_server,
            client,
            api_client,
            storage,
            database,
            api: Some(running),
            registry,
            http: https_client(&ca_pem),
            url,
            ca_pem,
            agent_ca,
            root_ops,
        })
    }

    /// Stops everything and drops the database, then re-raises the test's panic, if any.
    pub async fn finish(mut self, outcome: std::thread::Result<()>) {
        if let Some(api) = self.api.take() {
            api.shutdown().await;
        }
        self.storage.close().await;
        self.database.remove().await;
        self.kube_server.shutdown().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
        let log = std::fs::read_to_string(self.kube_dir.path().join("audit.log")).unwrap();
        let agent = govcloud_controller::operator::cluster::user_agent(API_IDENTITY);
        let refused = govcloud_controller::permissions::unpermitted(
            govcloud_controller::permissions::CONTROLLER,
            &log,
            &agent,
            "govcloud-system",
        )
        .unwrap();
        assert!(
            refused.is_empty(),
            "the controller API and agent listener made requests permissions::CONTROLLER does \
             not allow:\n  {}",
            refused.join("\n  ")
        );
    }

    /// Sends a request; `token` goes in `Authorization: Bearer`, `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    /// `GET path` with `token`.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// `POST path` with `token` and a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Issues a token through the API with the root operations token; returns the secret and
    /// the token's id.
    pub async fn issue(&self, tenant: &str, role: &str) -> (String, i64) {
        let reply = self
            .post(
                "/v1/tokens",
                &self.root_ops,
                &serde_json::json!({
                    "tenant": tenant,
                    "role": role,
                    "description": format!("{role} of {tenant}"),
                }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let body = reply.json();
        (
            body["token"].as_str().unwrap().to_owned(),
            body["id"].as_i64().unwrap(),
        )
    }

    /// Creates a quota request through the API; returns its name.
    pub async fn request_quota(&self, tenant: &str, token: &str, cpu: &str) -> String {
        let reply = self
            .post(
                &format!("/v1/tenants/{tenant}/quota-requests"),
                token,
                &serde_json::json!({
                    "requested": {"cpu": cpu},
                    "justification": "the new tax system needs more cores",
                }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        reply.json()["name"].as_str().unwrap().to_owned()
    }

    /// The names of the quota requests in Kubernetes.
    pub async fn quota_request_names(&self) -> Vec<String> {
        let api: kube::Api<govcloud_crds::QuotaRequest> = kube::Api::all(self.client.clone());
        let mut names: Vec<String> = api
            .list(&kube::api::ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|r| r.metadata.name)
            .collect();
        names.sort();
        names
    }

    /// A quota request as Kubernetes holds it.
    pub async fn quota_request(&self, name: &str) -> govcloud_crds::QuotaRequest {
        let api: kube::Api<govcloud_crds::QuotaRequest> = kube::Api::all(self.client.clone());
        api.get(name).await.unwrap()
    }

    /// The value of a metric without labels in the registry, read from the text exposition.
    /// The agent listener of this environment (its agent CA, storage and metrics) on a free
    /// loopback port.
    pub async fn agent_listener(&self) -> govcloud_controller::agents::RunningAgentApi {
        govcloud_controller::agents::serve(
            govcloud_controller::agents::AgentApiConfig {
                address: "127.0.0.1:0".parse().unwrap(),
                ca: self.agent_ca.clone(),
                server_names: Vec::new(),
            },
            self.api_client.clone(),
            self.storage.clone(),
            &self.registry,
        )
        .await
        .unwrap()
    }

    pub fn metric(&self, name: &str) -> f64 {
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
            .trim()
            .parse()
            .unwrap()
    }
}

/// An HTTPS client that trusts `ca_pem` only, on rustls with the ring provider.
pub fn https_client(ca_pem: &str) -> reqwest::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .no_proxy()
        .build()
        .unwrap()
}

/// For each suite function `name(&Env)`, a `sqlite::name` and a `postgres::name` test.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::api_support::run(
                        $crate::api_support::Backend::Sqlite,
                        stringify!($name),
                        |env| Box::pin(super::$name(env)),
                    )
                    .await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::api_support::run(
                        $crate::api_support::Backend::Postgres,
                        stringify!($name),
                        |env| Box::pin(super::$name(env)),
                    )
                    .await;
                }
            )+
        }
    };
}

/// Runs `test` in a fresh environment and cleans up whatever happens.
pub async fn run<F>(backend: Backend, name: &str, test: F)
where
    F: for<'a> FnOnce(
        &'a Env,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>,
{
    use futures::FutureExt as _;
    let Some(env) = Env::start(backend, name).await else {
        return;
    };
    let outcome = std::panic::AssertUnwindSafe(test(&env))
        .catch_unwind()
        .await;
    env.finish(outcome).await;
}
