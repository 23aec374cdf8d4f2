//! Sends reports to the controller's agent listener over mutual TLS: the router's client
//! certificate proves who is reporting, and only the configured CA is trusted for the
//! controller. One send is one `POST /v1/telemetry` of a spooled report's bytes; the outcome
//! says whether to drop the report from the spool (stored, or refused for good) or to keep it
//! and try again later (the controller is unreachable or busy).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Config;

/// The path reports are posted to.
pub const TELEMETRY_PATH: &str = "/v1/telemetry";
/// Longest a send may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the reporter cannot be built from the configured files.
#[derive(Debug, thiserror::Error)]
pub enum ReporterError {
    #[error("failed to read the {what} in {path}: {message}")]
    Pem {
        what: &'static str,
        path: String,
        message: String,
    },
    #[error("failed to build the TLS configuration: {source}")]
    Tls {
        #[source]
        source: rustls::Error,
    },
    #[error("failed to build the HTTPS client: {source}")]
    Client {
        #[source]
        source: reqwest::Error,
    },
}

/// What became of one send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// The controller has the report (now or from an earlier send).
    Stored,
    /// The controller refused it for good (it does not parse, names another router, …); the
    /// message is the controller's.
    Refused { status: u16, message: String },
    /// Not delivered; try again later.
    Unreachable { message: String },
}

/// The HTTPS client of one agent.
#[derive(Clone, Debug)]
pub struct Reporter {
    client: reqwest::Client,
    url: String,
}

fn pem_error(
    what: &'static str,
    path: &std::path::Path,
    message: impl std::fmt::Display,
) -> ReporterError {
    ReporterError::Pem {
        what,
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// The agent's HTTPS client towards the controller: the configuration's client certificate and
/// key, only its CA trusted, HTTPS only, no proxy, no redirects. Reports and configuration
/// fetches share it (and its connections); a request may set a longer timeout than the default
/// (a long poll does).
pub fn client(config: &Config) -> Result<reqwest::Client, ReporterError> {
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&config.certificate)
            .and_then(Iterator::collect)
            .map_err(|e| pem_error("client certificate", &config.certificate, e))?;
    if certificates.is_empty() {
        return Err(pem_error(
            "client certificate",
            &config.certificate,
            "no certificate found",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&config.key)
        .map_err(|e| pem_error("private key", &config.key, e))?;
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(&config.ca)
        .map_err(|e| pem_error("CA certificate", &config.ca, e))?
    {
        let ca = ca.map_err(|e| pem_error("CA certificate", &config.ca, e))?;
        roots
            .add(ca)
            .map_err(|e| pem_error("CA certificate", &config.ca, e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| ReporterError::Tls { source })?
        .with_root_certificates(roots)
        .with_client_auth_cert(certificates, key)
        .map_err(|source| ReporterError::Tls { source })?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(true)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(SEND_TIMEOUT)
        .user_agent(concat!("govcloud-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| ReporterError::Client { source })
}

impl Reporter {
    /// A reporter with the configuration's client certificate, key and CA.
    pub fn new(config: &Config) -> Result<Self, ReporterError> {
        Ok(Self::with_client(client(config)?, config))
    }

    /// A reporter sending through `client` (from [`client`]).
    pub fn with_client(client: reqwest::Client, config: &Config) -> Self {
        Self {
            client,
            url: format!("{}{TELEMETRY_PATH}", config.controller_url),
        }
    }

    /// Posts one report (its JSON bytes).
    pub async fn send(&self, body: Vec<u8>) -> Sent {
        let response = match self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => {
                return Sent::Unreachable {
                    message: describe(&error),
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            return Sent::Stored;
        }
        let text = response.text().await.unwrap_or_default();
        let message = problem_detail(&text);
        let retry = status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS;
        if retry {
            Sent::Unreachable {
                message: format!("{status}: {message}"),
            }
        } else {
            Sent::Refused {
                status: status.as_u16(),
                message,
            }
        }
    }
}

/// The `detail` of a problem+json answer, else the start of the answer's text.
pub(crate) fn problem_detail(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(200).collect())
}

/// The error and its causes on one line (reqwest hides the TLS reason in the source chain).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
