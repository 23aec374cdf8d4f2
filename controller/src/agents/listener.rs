//! The agent listener: HTTPS on its own port, mutual TLS. The serving certificate and the client
//! certificates come from the agent CA; rustls's `WebPkiClientVerifier` refuses a handshake
//! without a client certificate chaining to that CA (counted as `handshake` refusals). The
//! routes: `POST /v1/telemetry` and `GET /v1/config` ([`super::config`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use rustls::RootCertStore;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::ca::{AgentCa, CaError};
use super::config::{CONFIG_PATH, serve_config};
use super::report::MAX_REPORT_BYTES;
use super::state::AgentState;
use super::telemetry::receive_telemetry;
use crate::api::problem::{self, ApiProblem, ProblemKind};
use crate::metrics::TelemetryMetrics;
use crate::storage::Storage;

/// The path agents post their reports to.
pub const TELEMETRY_PATH: &str = "/v1/telemetry";
/// How long open requests may finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to listen, and the CA.
#[derive(Clone, Debug)]
pub struct AgentApiConfig {
    /// Address to listen on; port 0 picks a free port.
    pub address: SocketAddr,
    /// The agent CA: signs the serving certificate, verifies the client certificates.
    pub ca: AgentCa,
    /// Names and addresses agents use to reach the listener, for the serving certificate, on
    /// top of `localhost`, `127.0.0.1`, `::1` and the listening address when it is not a
    /// wildcard.
    pub server_names: Vec<String>,
}

/// Errors of starting the listener.
#[derive(Debug, thiserror::Error)]
pub enum AgentApiError {
    /// The telemetry metrics could not be registered (already registered in this registry?).
    #[error("failed to register the telemetry metrics")]
    Metrics(#[source] prometheus::Error),
    /// The serving certificate could not be issued.
    #[error("failed to issue the agent listener's serving certificate")]
    Certificate(#[source] CaError),
    /// rustls refused the configuration.
    #[error("failed to configure TLS for the agent listener: {0}")]
    Tls(String),
    /// The address could not be bound.
    #[error("failed to listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: io::Error,
    },
}

/// A running agent listener.
#[derive(Debug)]
pub struct RunningAgentApi {
    /// The bound address.
    pub address: SocketAddr,
    /// `https://ADDRESS`.
    pub url: String,
    handle: axum_server::Handle<SocketAddr>,
    serving: JoinHandle<io::Result<()>>,
}

impl RunningAgentApi {
    /// Stops accepting and lets open requests finish briefly.
    pub async fn shutdown(self) {
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        match self.serving.await {
            Ok(Err(error)) => tracing::warn!(%error, "the agent listener stopped with an error"),
            Err(error) if error.is_panic() => tracing::error!("the agent listener panicked"),
            _ => {}
        }
    }
}

/// The agent listener's routes, with problem answers for anything else.
pub fn router(state: AgentState) -> Router {
    Router::new()
        .route(TELEMETRY_PATH, post(receive_telemetry))
        .route(CONFIG_PATH, get(serve_config))
        .fallback(unknown_path)
        .method_not_allowed_fallback(unknown_method)
        .layer(DefaultBodyLimit::max(MAX_REPORT_BYTES))
        .layer(middleware::from_fn(problem::add_instance))
        .with_state(state)
}

async fn unknown_path() -> ApiProblem {
    ApiProblem::new(
        ProblemKind::NotFound,
        format!("the agent listener serves POST {TELEMETRY_PATH} and GET {CONFIG_PATH} only"),
    )
}

async fn unknown_method() -> ApiProblem {
    ApiProblem::new(
        ProblemKind::MethodNotAllowed,
        format!("the agent listener serves POST {TELEMETRY_PATH} and GET {CONFIG_PATH} only"),
    )
}

/// Starts the listener on `config.address`: registers the telemetry metrics in `registry`,
/// watches the `Router` objects, and serves until [`RunningAgentApi::shutdown`].
pub async fn serve(
    config: AgentApiConfig,
    client: kube::Client,
    storage: Storage,
    registry: &prometheus::Registry,
) -> Result<RunningAgentApi, AgentApiError> {
    let metrics = TelemetryMetrics::register(registry).map_err(AgentApiError::Metrics)?;
    let bind_error = |source| AgentApiError::Bind {
        address: config.address,
        source,
    };
    let listener = std::net::TcpListener::bind(config.address).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let address = listener.local_addr().map_err(bind_error)?;
    let tls = server_config(&config.ca, &server_names(address, &config.server_names))?;

    let state = AgentState::new(storage, client, metrics.clone());
    let acceptor = CountingAcceptor {
        inner: RustlsAcceptor::new(tls).handshake_timeout(HANDSHAKE_TIMEOUT),
        metrics,
    };
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp(listener)
        .map_err(bind_error)?
        .acceptor(acceptor)
        .handle(handle.clone());
    let serving = tokio::spawn(server.serve(router(state).into_make_service()));
    let url = format!("https://{address}");
    tracing::info!(%url, "agent listener ready (mutual TLS)");
    Ok(RunningAgentApi {
        address,
        url,
        handle,
        serving,
    })
}

/// The serving certificate's names: the loopback names, the listening address unless it is a
/// wildcard, and `extra`.
fn server_names(address: SocketAddr, extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    if !address.ip().is_unspecified() {
        names.push(address.ip().to_string());
    }
    names.extend(extra.iter().cloned());
    names.sort();
    names.dedup();
    names
}

/// TLS 1.2+ (ring), ALPN `h2` and `http/1.1`, a serving certificate for `names` from the agent
/// CA, and a client certificate required, chaining to the agent CA.
fn server_config(ca: &AgentCa, names: &[String]) -> Result<RustlsConfig, AgentApiError> {
    let tls_error = |error: rustls::Error| AgentApiError::Tls(error.to_string());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.ca_der().clone()).map_err(tls_error)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|error| AgentApiError::Tls(error.to_string()))?;
    let (chain, key) = ca
        .issue_serving(names)
        .map_err(AgentApiError::Certificate)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(RustlsConfig::from_config(Arc::new(config)))
}

/// axum-server's rustls acceptor, counting and logging the handshakes it refuses (no client
/// certificate, one of another CA, an expired one; also probes that hang up).
#[derive(Clone)]
struct CountingAcceptor {
    inner: RustlsAcceptor,
    metrics: TelemetryMetrics,
}

type AcceptFuture<T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send>>;

impl<S> Accept<TcpStream, S> for CountingAcceptor
where
    RustlsAcceptor: Accept<TcpStream, S>,
    <RustlsAcceptor as Accept<TcpStream, S>>::Future: Send + 'static,
{
    type Stream = <RustlsAcceptor as Accept<TcpStream, S>>::Stream;
    type Service = <RustlsAcceptor as Accept<TcpStream, S>>::Service;
    type Future = AcceptFuture<(Self::Stream, Self::Service)>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let peer = stream.peer_addr().ok();
        let handshake = self.inner.accept(stream, service);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let accepted = handshake.await;
            if let Err(error) = &accepted {
                metrics.refused("handshake");
                tracing::info!(
                    peer = %peer.map_or_else(|| "(unknown)".to_owned(), |peer| peer.to_string()),
                    %error,
                    "agent TLS handshake refused"
                );
            }
            accepted
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serving_certificate_covers_loopback_and_the_bound_address() {
        let names = server_names("10.1.2.3:8444".parse().expect("address"), &[]);
        assert!(names.contains(&"10.1.2.3".to_owned()));
        assert!(names.contains(&"127.0.0.1".to_owned()));
        let names = server_names(
            "0.0.0.0:8444".parse().expect("address"),
            &["controller.lab".to_owned(), "localhost".to_owned()],
        );
        assert_eq!(names, ["127.0.0.1", "::1", "controller.lab", "localhost"]);
    }
}
