//! The HTTPS client of `Webhook` migration steps: one exchange with a migration tool, classified.
//!
//! The reconciler drives retries and polling itself, one exchange per reconcile, and records
//! each attempt in the `SystemMigration`'s status, so a restarted controller carries on where
//! the previous one stopped. This module only performs an exchange and says what it means:
//!
//! - [`WebhookClient::call`] sends the step as JSON (`POST` or `PUT`) with a bearer token and an
//!   `Idempotency-Key` header (the same key for every retry of one attempt, so the tool can
//!   recognise a call that a crashed controller repeats) and classifies the answer as
//!   [`CallOutcome::Succeeded`] (2xx), [`CallOutcome::Retryable`] (network or TLS error,
//!   timeout, 408, 429, 5xx) or [`CallOutcome::Failed`] (any other 4xx, a redirect, an
//!   unusable request);
//! - [`WebhookClient::poll`] reads a step's `statusUrl`. The status-URL protocol: a `GET` with
//!   the same bearer token, answered with `2xx` and a JSON document
//!   `{"state": "Running" | "Succeeded" | "Failed", "message": "…"}` (`message` optional).
//!   A body that is not such a document fails the step; network errors, 408, 429 and 5xx are
//!   retryable.
//!
//! Only `https://` is used; redirects are never followed; without a `ca.crt` in the step's
//! credentials Mozilla's roots (webpki-roots) are trusted, with one only that CA is. Messages are
//! short, cap any echoed response text and never contain the token.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use govcloud_crds::common::HttpsUrl;
use govcloud_crds::migration::step::{WebhookAction, WebhookMethod};
use k8s_openapi::ByteString;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, LOCATION};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::report::error_chain;
use crate::retry::RetryPolicy;

/// Header carrying the idempotency key of a call.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Longest response text echoed in a message, in characters.
pub const MAX_ECHOED_CHARS: usize = 200;
/// Longest message of an outcome, in characters.
pub const MAX_MESSAGE_CHARS: usize = 400;
/// Longest delay between two attempts.
pub const MAX_RETRY_DELAY: Duration = RetryPolicy::WEBHOOK.max;
/// Most response bytes read; the rest is ignored.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most clients kept for distinct CAs; the cache starts over beyond (a CA rotates rarely).
const MAX_CACHED_CLIENTS: usize = 64;

/// The credentials of a webhook step, read from its `credentialsSecret`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// PEM certificates of the CA(s) to trust instead of the public roots.
    pub ca_pem: Option<Vec<u8>>,
}

impl Credentials {
    /// The Secret key holding the bearer token.
    pub const TOKEN_KEY: &str = "token";
    /// The Secret key holding the CA certificate(s), PEM.
    pub const CA_KEY: &str = "ca.crt";

    /// Reads a Secret's `data`: `token` (UTF-8, surrounding whitespace trimmed) and `ca.crt`
    /// (PEM certificates), each optional. The error names the key, never its value.
    pub fn from_secret_data(data: &BTreeMap<String, ByteString>) -> Result<Self, CredentialsError> {
        let token = data
            .get(Self::TOKEN_KEY)
            .map(|value| parse_token(&value.0))
            .transpose()?;
        let ca_pem = match data.get(Self::CA_KEY) {
            Some(value) => {
                parse_ca(&value.0)?;
                Some(value.0.clone())
            }
            None => None,
        };
        Ok(Self { token, ca_pem })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field(
                "ca_pem",
                &self
                    .ca_pem
                    .as_ref()
                    .map(|pem| format!("{} bytes", pem.len())),
            )
            .finish()
    }
}

/// Why a credentials Secret cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// A key's value is not UTF-8 text.
    #[error("failed to read key `{key}` of the credentials secret: it is not UTF-8 text")]
    NotUtf8 { key: &'static str },
    /// The token is empty.
    #[error("failed to read key `{key}` of the credentials secret: it is empty")]
    Empty { key: &'static str },
    /// The token holds characters an HTTP header cannot carry.
    #[error(
        "failed to read key `{key}` of the credentials secret: it holds characters an HTTP \
         header cannot carry"
    )]
    NotHeaderValue { key: &'static str },
    /// `ca.crt` is not PEM certificates.
    #[error("failed to read key `{key}` of the credentials secret: {reason}")]
    InvalidCa { key: &'static str, reason: String },
}

/// Why a [`WebhookClient`] cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// rustls refused the configuration.
    #[error("failed to build the TLS configuration: {source}")]
    Tls { source: rustls::Error },
    /// reqwest refused the configuration.
    #[error("failed to build the HTTPS client: {source}")]
    Client { source: reqwest::Error },
    /// The credentials' CA cannot be used.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

/// One call of a webhook step.
#[derive(Clone, Debug)]
pub struct CallRequest<'a> {
    /// The step's action: URL, method, timeout.
    pub action: &'a WebhookAction,
    /// The JSON body (system namespace, name and uid, step, `run` or `rollback`, attempt).
    pub body: serde_json::Value,
    /// Sent as `Idempotency-Key`; the same for every retry of one attempt.
    pub idempotency_key: String,
    /// Token and CA.
    pub credentials: &'a Credentials,
}

/// What a call came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// 2xx; the message is the body's `message` field, else the status line.
    Succeeded { message: String },
    /// Worth retrying: network or TLS error, timeout, 408, 429 or 5xx.
    Retryable { message: String },
    /// Not worth retrying: another 4xx, a redirect, an unusable request or response.
    Failed { message: String },
}

impl CallOutcome {
    /// The outcome's message.
    pub fn message(&self) -> &str {
        match self {
            Self::Succeeded { message }
            | Self::Retryable { message }
            | Self::Failed { message } => message,
        }
    }
}

/// What a poll of a status URL came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PollOutcome {
    /// The tool reports the operation still running.
    Running { message: String },
    /// The tool reports the operation done.
    Succeeded { message: String },
    /// The tool reports the operation failed, or answered something unusable.
    Failed { message: String },
    /// Worth polling again: network or TLS error, timeout, 408, 429 or 5xx.
    Retryable { message: String },
}

impl PollOutcome {
    /// The outcome's message.
    pub fn message(&self) -> &str {
        match self {
            Self::Running { message }
            | Self::Succeeded { message }
            | Self::Failed { message }
            | Self::Retryable { message } => message,
        }
    }
}

/// The document a status URL answers.
#[derive(Deserialize)]
struct StatusReport {
    state: ReportedState,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
enum ReportedState {
    Running,
    Succeeded,
    Failed,
}

/// The delay before retrying after `attempt` failed calls (1 after the first): 2 s, 4 s, 8 s …
/// doubling up to [`MAX_RETRY_DELAY`] (5 minutes), the controller's one retry policy
/// ([`RetryPolicy::WEBHOOK`]). Deterministic, so the reconciler can compute the next attempt's
/// time from its status alone.
pub fn retry_delay(attempt: u32) -> Duration {
    RetryPolicy::WEBHOOK.delay(attempt)
}

/// The HTTPS client of webhook steps: rustls with the ring provider, no redirects, one
/// connection pool per trusted CA. Cheap to clone.
#[derive(Clone, Debug)]
pub struct WebhookClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    provider: Arc<CryptoProvider>,
    env_proxy: bool,
    /// Trusts Mozilla's roots.
    public: reqwest::Client,
    /// Trusts one CA each, by the SHA-256 of its PEM.
    by_ca: Mutex<HashMap<[u8; 32], reqwest::Client>>,
}

/// Why an exchange did not produce an answer.
enum Trouble {
    Retryable(String),
    Failed(String),
}

/// A response, its body read (up to [`MAX_BODY_BYTES`]), the token blanked out of its text.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

/// A request about to be sent: its client, URL and authorisation.
struct Prepared {
    client: reqwest::Client,
    url: Url,
    host: String,
    authorization: Option<HeaderValue>,
}

impl Prepared {
    fn request(&self, method: Method) -> RequestBuilder {
        let builder = self
            .client
            .request(method, self.url.clone())
            .header(ACCEPT, "application/json");
        match &self.authorization {
            Some(value) => builder.header(AUTHORIZATION, value.clone()),
            None => builder,
        }
    }
}

impl WebhookClient {
    /// A client honouring the `HTTPS_PROXY`/`NO_PROXY` environment variables.
    pub fn new() -> Result<Self, WebhookError> {
        Self::with_env_proxy(true)
    }

    fn with_env_proxy(env_proxy: bool) -> Result<Self, WebhookError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let public = build_client(&provider, roots, env_proxy)?;
        Ok(Self {
            inner: Arc::new(Inner {
                provider,
                env_proxy,
                public,
                by_ca: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Calls the step's URL once and classifies the answer. The whole exchange (connection,
    /// TLS, request, response) is bounded by the step's `timeoutSeconds`.
    pub async fn call(&self, request: &CallRequest<'_>) -> CallOutcome {
        let action = request.action;
        let token = request.credentials.token.as_deref();
        let timeout = Duration::from_secs(u64::from(action.timeout_seconds.max(1)));
        let outcome = match self.prepare(action.url.as_str(), request.credentials) {
            Err(message) => CallOutcome::Failed { message },
            Ok(prepared) => match HeaderValue::from_str(&request.idempotency_key) {
                Err(_) => CallOutcome::Failed {
                    message: "failed to send the idempotency key: it holds characters an HTTP \
                              header cannot carry"
                        .to_owned(),
                },
                Ok(key) => {
                    let method = match action.method {
                        WebhookMethod::Post => Method::POST,
                        WebhookMethod::Put => Method::PUT,
                    };
                    let builder = prepared
                        .request(method)
                        .header(IDEMPOTENCY_KEY_HEADER, key)
                        .json(&request.body);
                    match exchange(builder, &prepared.host, timeout, token).await {
                        Ok(answer) => classify_call(&answer),
                        Err(Trouble::Retryable(message)) => CallOutcome::Retryable { message },
                        Err(Trouble::Failed(message)) => CallOutcome::Failed { message },
                    }
                }
            },
        };
        match outcome {
            CallOutcome::Succeeded { message } => CallOutcome::Succeeded {
                message: tidy(&message, token),
            },
            CallOutcome::Retryable { message } => CallOutcome::Retryable {
                message: tidy(&message, token),
            },
            CallOutcome::Failed { message } => CallOutcome::Failed {
                message: tidy(&message, token),
            },
        }
    }

    /// Reads a status URL once (`GET`, bounded by `timeout`, at least a second) and classifies
    /// the answer; see the module's documentation for the protocol.
    pub async fn poll(
        &self,
        url: &HttpsUrl,
        credentials: &Credentials,
        timeout: Duration,
    ) -> PollOutcome {
        let token = credentials.token.as_deref();
        let timeout = timeout.max(Duration::from_secs(1));
        let outcome = match self.prepare(url.as_str(), credentials) {
            Err(message) => PollOutcome::Failed { message },
            Ok(prepared) => {
                let builder = prepared.request(Method::GET);
                match exchange(builder, &prepared.host, timeout, token).await {
                    Ok(answer) => classify_poll(&answer),
                    Err(Trouble::Retryable(message)) => PollOutcome::Retryable { message },
                    Err(Trouble::Failed(message)) => PollOutcome::Failed { message },
                }
            }
        };
        match outcome {
            PollOutcome::Running { message } => PollOutcome::Running {
                message: tidy(&message, token),
            },
            PollOutcome::Succeeded { message } => PollOutcome::Succeeded {
                message: tidy(&message, token),
            },
            PollOutcome::Failed { message } => PollOutcome::Failed {
                message: tidy(&message, token),
            },
            PollOutcome::Retryable { message } => PollOutcome::Retryable {
                message: tidy(&message, token),
            },
        }
    }

    /// The client, URL and authorisation of a request, or why it cannot be sent.
    fn prepare(&self, url: &str, credentials: &Credentials) -> Result<Prepared, String> {
        let url = Url::parse(url).map_err(|error| format!("failed to parse the URL: {error}"))?;
        if url.scheme() != "https" {
            return Err(format!(
                "refusing to call a {}:// URL: only https:// is allowed",
                url.scheme()
            ));
        }
        let host = match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            _ => return Err("failed to call the URL: it names no host".to_owned()),
        };
        let authorization = match &credentials.token {
            Some(token) => {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                        CredentialsError::NotHeaderValue {
                            key: Credentials::TOKEN_KEY,
                        }
                        .to_string()
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let client = self
            .client_for(credentials.ca_pem.as_deref())
            .map_err(|error| error_chain(&error))?;
        Ok(Prepared {
            client,
            url,
            host,
            authorization,
        })
    }

    /// The client trusting `ca_pem` only (built once per CA), or Mozilla's roots.
    fn client_for(&self, ca_pem: Option<&[u8]>) -> Result<reqwest::Client, WebhookError> {
        let Some(pem) = ca_pem else {
            return Ok(self.inner.public.clone());
        };
        let key: [u8; 32] = Sha256::digest(pem).into();
        let cached = self
            .inner
            .by_ca
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(client) = cached {
            return Ok(client);
        }
        let client = build_client(&self.inner.provider, parse_ca(pem)?, self.inner.env_proxy)?;
        let mut cache = self
            .inner
            .by_ca
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED_CLIENTS {
            cache.clear();
        }
        Ok(cache.entry(key).or_insert(client).clone())
    }

    #[cfg(test)]
    fn cached_clients(&self) -> usize {
        self.inner
            .by_ca
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A client trusting `roots` only: rustls on `provider`, HTTPS only, no redirects.
fn build_client(
    provider: &Arc<CryptoProvider>,
    roots: RootCertStore,
    env_proxy: bool,
) -> Result<reqwest::Client, WebhookError> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::clone(provider))
        .with_safe_default_protocol_versions()
        .map_err(|source| WebhookError::Tls { source })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("govcloud-controller/", env!("CARGO_PKG_VERSION")));
    let builder = if env_proxy {
        builder
    } else {
        builder.no_proxy()
    };
    builder
        .build()
        .map_err(|source| WebhookError::Client { source })
}

/// Sends the request and reads the response, all within `timeout`.
async fn exchange(
    builder: RequestBuilder,
    host: &str,
    timeout: Duration,
    token: Option<&str>,
) -> Result<Answer, Trouble> {
    let work = async {
        let mut response = builder
            .timeout(timeout)
            .send()
            .await
            .map_err(|error| transport_trouble(error, host, timeout))?;
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|value| redact(&String::from_utf8_lossy(value.as_bytes()), token));
        let body = read_body(&mut response).await;
        Ok(Answer {
            status,
            location,
            body: redact(&String::from_utf8_lossy(&body), token),
        })
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(Trouble::Retryable(timed_out(host, timeout))))
}

/// The first [`MAX_BODY_BYTES`] of the body; a body cut short by an error is kept as read.
async fn read_body(response: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_BODY_BYTES.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_BODY_BYTES {
                    break;
                }
            }
            Ok(None) => break,
            Err(error) => {
                tracing::debug!(error = %error_chain(&error), "failed to read a webhook's response body");
                break;
            }
        }
    }
    body
}

fn transport_trouble(error: reqwest::Error, host: &str, timeout: Duration) -> Trouble {
    if error.is_timeout() {
        return Trouble::Retryable(timed_out(host, timeout));
    }
    let builder = error.is_builder();
    let connect = error.is_connect();
    let chain = causes(error);
    if builder {
        Trouble::Failed(format!("failed to build the request to {host}: {chain}"))
    } else if connect {
        Trouble::Retryable(format!("failed to connect to {host}: {chain}"))
    } else {
        Trouble::Retryable(format!("failed to exchange with {host}: {chain}"))
    }
}

/// The causes of a reqwest error, without reqwest's and hyper's generic wrappers ("error
/// sending request", "client error (Connect)") that the caller's own words replace.
fn causes(error: reqwest::Error) -> String {
    let mut line = String::new();
    let mut cause = std::error::Error::source(&error);
    while let Some(current) = cause {
        let text = current.to_string();
        if !text.starts_with("client error (") && !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        cause = current.source();
    }
    if line.is_empty() {
        // No cause: reqwest's own message, without the URL.
        return error.without_url().to_string();
    }
    line
}

fn timed_out(host: &str, timeout: Duration) -> String {
    let seconds = timeout.as_secs_f64();
    format!("timed out after {seconds}s waiting for {host}")
}

/// How a status code is treated.
enum StatusClass {
    Success,
    Retryable,
    Redirect,
    Failed,
}

fn status_class(status: StatusCode) -> StatusClass {
    if status.is_success() {
        StatusClass::Success
    } else if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        StatusClass::Retryable
    } else if status.is_redirection() {
        StatusClass::Redirect
    } else {
        StatusClass::Failed
    }
}

fn classify_call(answer: &Answer) -> CallOutcome {
    let detail = || describe(answer);
    match status_class(answer.status) {
        StatusClass::Success => CallOutcome::Succeeded {
            message: json_message(&answer.body).unwrap_or_else(|| answer.status.to_string()),
        },
        StatusClass::Retryable => CallOutcome::Retryable { message: detail() },
        StatusClass::Redirect => CallOutcome::Failed {
            message: redirected(answer),
        },
        StatusClass::Failed => CallOutcome::Failed { message: detail() },
    }
}

fn classify_poll(answer: &Answer) -> PollOutcome {
    match status_class(answer.status) {
        StatusClass::Success => match serde_json::from_str::<StatusReport>(&answer.body) {
            Ok(report) => {
                let message = report.message.filter(|text| !text.trim().is_empty());
                match report.state {
                    ReportedState::Running => PollOutcome::Running {
                        message: message.unwrap_or_else(|| "the tool reports Running".to_owned()),
                    },
                    ReportedState::Succeeded => PollOutcome::Succeeded {
                        message: message.unwrap_or_else(|| "the tool reports Succeeded".to_owned()),
                    },
                    ReportedState::Failed => PollOutcome::Failed {
                        message: message.unwrap_or_else(|| "the tool reports Failed".to_owned()),
                    },
                }
            }
            Err(error) => {
                let what = if answer.body.trim().is_empty() {
                    "an empty body".to_owned()
                } else {
                    excerpt(&answer.body)
                };
                let error = error.to_string();
                let error = error.split(" at line ").next().unwrap_or(&error);
                PollOutcome::Failed {
                    message: format!("status URL answered {what}: {error}"),
                }
            }
        },
        StatusClass::Retryable => PollOutcome::Retryable {
            message: format!("status URL answered {}", describe(answer)),
        },
        StatusClass::Redirect => PollOutcome::Failed {
            message: format!("status URL answered {}", redirected(answer)),
        },
        StatusClass::Failed => PollOutcome::Failed {
            message: format!("status URL answered {}", describe(answer)),
        },
    }
}

/// `503 Service Unavailable: <the body's message, or the body>`.
fn describe(answer: &Answer) -> String {
    let detail = json_message(&answer.body).unwrap_or_else(|| excerpt(&answer.body));
    if detail.is_empty() {
        answer.status.to_string()
    } else {
        format!("{}: {detail}", answer.status)
    }
}

fn redirected(answer: &Answer) -> String {
    match &answer.location {
        Some(location) => format!(
            "{} to {}: redirects are not followed",
            answer.status,
            excerpt(location)
        ),
        None => format!(
            "{} without a Location: redirects are not followed",
            answer.status
        ),
    }
}

/// The `message` string of a JSON object body, if any.
fn json_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let message = excerpt(value.get("message")?.as_str()?);
    (!message.is_empty()).then_some(message)
}

/// Text on one line, whitespace and control characters collapsed, at most
/// [`MAX_ECHOED_CHARS`] characters.
fn excerpt(text: &str) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect();
    cap(&words.join(" "), MAX_ECHOED_CHARS)
}

/// The message with the token blanked out and its length capped.
fn tidy(message: &str, token: Option<&str>) -> String {
    cap(&redact(message, token), MAX_MESSAGE_CHARS)
}

/// The text with every occurrence of the token replaced by `<redacted>`.
fn redact(text: &str, token: Option<&str>) -> String {
    match token {
        Some(token) if !token.is_empty() => text.replace(token, "<redacted>"),
        _ => text.to_owned(),
    }
}

fn cap(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn parse_token(bytes: &[u8]) -> Result<String, CredentialsError> {
    let key = Credentials::TOKEN_KEY;
    let text = std::str::from_utf8(bytes).map_err(|_| CredentialsError::NotUtf8 { key })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(CredentialsError::Empty { key });
    }
    if HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
        return Err(CredentialsError::NotHeaderValue { key });
    }
    Ok(token.to_owned())
}

/// The certificates of a PEM `ca.crt`, at least one.
fn parse_ca(pem: &[u8]) -> Result<RootCertStore, CredentialsError> {
    let invalid = |reason: String| CredentialsError::InvalidCa {
        key: Credentials::CA_KEY,
        reason,
    };
    let mut roots = RootCertStore::empty();
    for (index, certificate) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let number = index + 1;
        let certificate = certificate
            .map_err(|error| invalid(format!("PEM certificate {number} is malformed: {error}")))?;
        roots
            .add(certificate)
            .map_err(|error| invalid(format!("certificate {number} is unusable: {error}")))?;
    }
    if roots.is_empty() {
        return Err(invalid("it holds no PEM certificate".to_owned()));
    }
    Ok(roots)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use axum::Router;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode as HttpStatus};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::routing::{get, post};
    use govcloud_apiserver::tls::{ServerCertificates, load_or_create, rustls_config};
    use serde_json::{Value, json};

    use super::*;

    const TOKEN: &str = "s3cr3t-t0ken-value";

    /// What the tool received.
    #[derive(Clone, Debug, Default)]
    struct Received {
        method: String,
        authorization: Option<String>,
        idempotency_key: Option<String>,
        content_type: Option<String>,
        body: Value,
    }

    #[derive(Clone, Default)]
    struct Tool {
        received: Arc<Mutex<Vec<Received>>>,
        flaky_calls: Arc<AtomicUsize>,
    }

    impl Tool {
        fn received(&self) -> Vec<Received> {
            self.received.lock().unwrap().clone()
        }
    }

    fn header(headers: &HeaderMap, name: &str) -> Option<String> {
        headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    }

    async fn record(
        State(tool): State<Tool>,
        method: axum::http::Method,
        headers: HeaderMap,
        body: String,
    ) -> Response {
        tool.received.lock().unwrap().push(Received {
            method: method.to_string(),
            authorization: header(&headers, "authorization"),
            idempotency_key: header(&headers, "idempotency-key"),
            content_type: header(&headers, "content-type"),
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
        });
        axum::Json(json!({ "message": "migrated 12 tables", "tables": 12 })).into_response()
    }

    async fn flaky(State(tool): State<Tool>) -> Response {
        if tool.flaky_calls.fetch_add(1, Ordering::SeqCst) == 0 {
            (HttpStatus::SERVICE_UNAVAILABLE, "database busy, try later").into_response()
        } else {
            (HttpStatus::ACCEPTED, "queued").into_response()
        }
    }

    async fn status(Path(state): Path<String>) -> Response {
        match state.as_str() {
            "running" => {
                axum::Json(json!({ "state": "Running", "message": "copied 40%" })).into_response()
            }
            "done" => axum::Json(json!({ "state": "Succeeded" })).into_response(),
            "failed" => axum::Json(json!({ "state": "Failed", "message": "checksum mismatch" }))
                .into_response(),
            "garbage" => axum::Json(json!({ "x": 1 })).into_response(),
            "unknown" => axum::Json(json!({ "state": "Paused" })).into_response(),
            "html" => "<html><body>It works!</body></html>".into_response(),
            _ => (HttpStatus::BAD_GATEWAY, "upstream down").into_response(),
        }
    }

    fn tool_router(tool: Tool) -> Router {
        Router::new()
            .route("/run", post(record).put(record))
            .route("/flaky", post(flaky))
            .route(
                "/bad",
                post(|| async { (HttpStatus::BAD_REQUEST, "x".repeat(1000)) }),
            )
            .route(
                "/slow",
                post(|| async {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    "late"
                }),
            )
            .route(
                "/redirect",
                post(|| async { Redirect::temporary("https://elsewhere.example/run") }),
            )
            .route(
                "/echo",
                post(|headers: HeaderMap| async move {
                    let seen = header(&headers, "authorization").unwrap_or_default();
                    (
                        HttpStatus::INTERNAL_SERVER_ERROR,
                        format!("rejected {seen}"),
                    )
                }),
            )
            .route("/status/{state}", get(status))
            .with_state(tool)
    }

    /// A CA and a serving certificate for 127.0.0.1, generated once.
    fn certificates() -> &'static ServerCertificates {
        static CERTS: OnceLock<ServerCertificates> = OnceLock::new();
        CERTS.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            load_or_create(dir.path(), &["127.0.0.1"]).unwrap()
        })
    }

    /// Serves the tool over HTTPS on 127.0.0.1; returns its base URL.
    async fn serve(tool: Tool) -> String {
        let rustls = rustls_config(certificates()).await.unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let server = axum_server::from_tcp_rustls(listener, rustls).unwrap();
        tokio::spawn(server.serve(tool_router(tool).into_make_service()));
        format!("https://{address}")
    }

    fn trusted() -> Credentials {
        Credentials {
            token: Some(TOKEN.to_owned()),
            ca_pem: Some(certificates().ca_pem.clone().into_bytes()),
        }
    }

    fn action(url: &str, timeout_seconds: u32) -> WebhookAction {
        WebhookAction {
            url: HttpsUrl(url.to_owned()),
            method: WebhookMethod::Post,
            timeout_seconds,
            retries: 3,
            status_url: None,
            poll_interval_seconds: 30,
            credentials_secret: Some("tool-credentials".to_owned()),
        }
    }

    fn client() -> WebhookClient {
        WebhookClient::with_env_proxy(false).unwrap()
    }

    async fn call(
        client: &WebhookClient,
        action: &WebhookAction,
        credentials: &Credentials,
    ) -> CallOutcome {
        let request = CallRequest {
            action,
            body: json!({ "system": { "namespace": "finance", "name": "payroll" }, "step": "copy", "action": "run", "attempt": 1 }),
            idempotency_key: "payroll-copy-run-1".to_owned(),
            credentials,
        };
        client.call(&request).await
    }

    #[tokio::test]
    async fn success_sends_token_key_and_body() {
        let tool = Tool::default();
        let base = serve(tool.clone()).await;
        let client = client();
        let outcome = call(&client, &action(&format!("{base}/run"), 5), &trusted()).await;
        assert_eq!(
            outcome,
            CallOutcome::Succeeded {
                message: "migrated 12 tables".to_owned()
            }
        );
        let received = tool.received();
        assert_eq!(received.len(), 1);
        let seen = &received[0];
        assert_eq!(seen.method, "POST");
        assert_eq!(
            seen.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(seen.idempotency_key.as_deref(), Some("payroll-copy-run-1"));
        assert_eq!(seen.content_type.as_deref(), Some("application/json"));
        assert_eq!(seen.body["step"], "copy");
        assert_eq!(seen.body["system"]["name"], "payroll");

        // PUT, without a token; the client for this CA is reused.
        let mut put = action(&format!("{base}/run"), 5);
        put.method = WebhookMethod::Put;
        let anonymous = Credentials {
            token: None,
            ..trusted()
        };
        assert!(matches!(
            call(&client, &put, &anonymous).await,
            CallOutcome::Succeeded { .. }
        ));
        let received = tool.received();
        assert_eq!(received[1].method, "PUT");
        assert_eq!(received[1].authorization, None);
        assert_eq!(client.cached_clients(), 1);
    }

    #[tokio::test]
    async fn unavailable_then_accepted() {
        let base = serve(Tool::default()).await;
        let client = client();
        let flaky = action(&format!("{base}/flaky"), 5);
        assert_eq!(
            call(&client, &flaky, &trusted()).await,
            CallOutcome::Retryable {
                message: "503 Service Unavailable: database busy, try later".to_owned()
            }
        );
        // No JSON message: the status line.
        assert_eq!(
            call(&client, &flaky, &trusted()).await,
            CallOutcome::Succeeded {
                message: "202 Accepted".to_owned()
            }
        );
    }

    #[tokio::test]
    async fn client_error_fails_with_capped_body() {
        let base = serve(Tool::default()).await;
        let outcome = call(&client(), &action(&format!("{base}/bad"), 5), &trusted()).await;
        let CallOutcome::Failed { message } = outcome else {
            panic!("expected Failed, got {outcome:?}");
        };
        assert!(message.starts_with("400 Bad Request: xxx"), "{message}");
        assert!(message.chars().count() < 230, "{message}");
        assert!(message.ends_with('…'), "{message}");
    }

    #[tokio::test]
    async fn slow_tool_times_out() {
        let base = serve(Tool::default()).await;
        let started = Instant::now();
        let outcome = call(&client(), &action(&format!("{base}/slow"), 1), &trusted()).await;
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "{:?}",
            started.elapsed()
        );
        let CallOutcome::Retryable { message } = outcome else {
            panic!("expected Retryable, got {outcome:?}");
        };
        assert!(message.contains("timed out after 1s"), "{message}");
    }

    #[tokio::test]
    async fn untrusted_certificate_is_a_tls_error() {
        let base = serve(Tool::default()).await;
        let public_roots = Credentials {
            token: Some(TOKEN.to_owned()),
            ca_pem: None,
        };
        let outcome = call(&client(), &action(&format!("{base}/run"), 5), &public_roots).await;
        let CallOutcome::Retryable { message } = outcome else {
            panic!("expected Retryable, got {outcome:?}");
        };
        assert!(message.contains("invalid peer certificate"), "{message}");
        assert!(!message.contains("client error"), "{message}");
        assert!(!message.contains(TOKEN), "{message}");
    }

    #[tokio::test]
    async fn redirect_is_not_followed() {
        let base = serve(Tool::default()).await;
        let outcome = call(
            &client(),
            &action(&format!("{base}/redirect"), 5),
            &trusted(),
        )
        .await;
        let CallOutcome::Failed { message } = outcome else {
            panic!("expected Failed, got {outcome:?}");
        };
        assert!(
            message.contains("https://elsewhere.example/run"),
            "{message}"
        );
        assert!(message.contains("not followed"), "{message}");
    }

    #[tokio::test]
    async fn echoed_token_is_redacted() {
        let base = serve(Tool::default()).await;
        let outcome = call(&client(), &action(&format!("{base}/echo"), 5), &trusted()).await;
        assert_eq!(
            outcome,
            CallOutcome::Retryable {
                message: "500 Internal Server Error: rejected Bearer <redacted>".to_owned()
            }
        );
    }

    #[tokio::test]
    async fn plain_http_and_bad_ca_are_refused() {
        let client = client();
        let outcome = call(&client, &action("http://127.0.0.1:9/run", 5), &trusted()).await;
        let CallOutcome::Failed { message } = outcome else {
            panic!("expected Failed, got {outcome:?}");
        };
        assert!(message.contains("only https:// is allowed"), "{message}");

        let bad_ca = Credentials {
            token: None,
            ca_pem: Some(b"not a certificate".to_vec()),
        };
        let outcome = call(&client, &action("https://127.0.0.1:9/run", 5), &bad_ca).await;
        let CallOutcome::Failed { message } = outcome else {
            panic!("expected Failed, got {outcome:?}");
        };
        assert!(message.contains("`ca.crt`"), "{message}");
    }

    #[tokio::test]
    async fn connection_refused_is_retryable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let outcome = call(
            &client(),
            &action(&format!("https://{address}/run"), 5),
            &trusted(),
        )
        .await;
        let CallOutcome::Retryable { message } = outcome else {
            panic!("expected Retryable, got {outcome:?}");
        };
        assert!(
            message.starts_with(&format!("failed to connect to {address}")),
            "{message}"
        );
    }

    #[tokio::test]
    async fn poll_reads_the_state() {
        let base = serve(Tool::default()).await;
        let client = client();
        let poll = |state: &str| {
            let url = HttpsUrl(format!("{base}/status/{state}"));
            let client = client.clone();
            async move { client.poll(&url, &trusted(), Duration::from_secs(5)).await }
        };
        assert_eq!(
            poll("running").await,
            PollOutcome::Running {
                message: "copied 40%".to_owned()
            }
        );
        assert_eq!(
            poll("done").await,
            PollOutcome::Succeeded {
                message: "the tool reports Succeeded".to_owned()
            }
        );
        assert_eq!(
            poll("failed").await,
            PollOutcome::Failed {
                message: "checksum mismatch".to_owned()
            }
        );
        assert_eq!(
            poll("garbage").await,
            PollOutcome::Failed {
                message: r#"status URL answered {"x":1}: missing field `state`"#.to_owned()
            }
        );
        let PollOutcome::Failed { message } = poll("unknown").await else {
            panic!("an unknown state fails");
        };
        assert!(message.contains("unknown variant `Paused`"), "{message}");
        let PollOutcome::Failed { message } = poll("html").await else {
            panic!("HTML fails");
        };
        assert!(
            message.starts_with("status URL answered <html><body>It works!"),
            "{message}"
        );
        assert_eq!(
            poll("elsewhere").await,
            PollOutcome::Retryable {
                message: "status URL answered 502 Bad Gateway: upstream down".to_owned()
            }
        );
    }

    #[test]
    fn credentials_from_secret_data() {
        let ca = certificates().ca_pem.clone();
        let data = |pairs: &[(&str, &[u8])]| -> BTreeMap<String, ByteString> {
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), ByteString(value.to_vec())))
                .collect()
        };
        let credentials =
            Credentials::from_secret_data(&data(&[("token", b"abc\n"), ("ca.crt", ca.as_bytes())]))
                .unwrap();
        assert_eq!(credentials.token.as_deref(), Some("abc"));
        assert_eq!(credentials.ca_pem.as_deref(), Some(ca.as_bytes()));
        assert_eq!(
            Credentials::from_secret_data(&data(&[])).unwrap(),
            Credentials::default()
        );

        let error = Credentials::from_secret_data(&data(&[("token", &[0xff, 0xfe])])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to read key `token` of the credentials secret: it is not UTF-8 text"
        );
        let error = Credentials::from_secret_data(&data(&[("token", b"  \n")])).unwrap_err();
        assert!(error.to_string().contains("`token`"), "{error}");
        let error =
            Credentials::from_secret_data(&data(&[("ca.crt", b"s3cr3t junk")])).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("failed to read key `ca.crt`"), "{text}");
        assert!(!text.contains("junk"), "{text}");
        let broken = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let error =
            Credentials::from_secret_data(&data(&[("ca.crt", broken.as_bytes())])).unwrap_err();
        assert!(
            error.to_string().starts_with("failed to read key `ca.crt`"),
            "{error}"
        );
    }

    #[test]
    fn debug_hides_the_token() {
        let text = format!("{:?}", trusted());
        assert!(!text.contains(TOKEN), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
        let request = CallRequest {
            action: &action("https://tool.example/run", 5),
            body: Value::Null,
            idempotency_key: "k".to_owned(),
            credentials: &trusted(),
        };
        assert!(!format!("{request:?}").contains(TOKEN));
    }

    #[test]
    fn retry_delay_doubles_up_to_five_minutes() {
        let seconds: Vec<u64> = (0..=10)
            .map(|attempt| retry_delay(attempt).as_secs())
            .collect();
        assert_eq!(seconds, [2, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY_DELAY);
    }

    #[test]
    fn excerpts_are_one_line_and_capped() {
        assert_eq!(excerpt("a\n\tb\r\n  c\u{0}d"), "a b c d");
        let long = "é".repeat(500);
        let short = excerpt(&long);
        assert_eq!(short.chars().count(), MAX_ECHOED_CHARS + 1);
        assert_eq!(tidy("token=abc", Some("abc")), "token=<redacted>");
    }
}
